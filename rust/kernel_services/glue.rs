// SPDX-License-Identifier: GPL-2.0

//! The C glue's interface (`netatop_glue.h`, its one source): the functions
//! it provides and the plain structs it fills, each checked against the C
//! compiler's layout at build time. Only this layer uses them.

use kernel::ffi::{c_int, c_uint, c_void};

use super::layout::{self, check_layout};

/// `struct netatop_charge`: what the hook adds to the global counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawCharge {
    pub(super) slot: u8,
    pub(super) count: u16,
}

check_layout!(RawCharge, netatop_charge, [slot: slot, count: count]);

/// `struct netatop_task`: facts of a task.
#[repr(C)]
pub(super) struct RawTask {
    pub(super) start: u64,
    pub(super) live: u8,
}

check_layout!(RawTask, netatop_task, [start: start, live: live]);

/// `struct netatop_current`: facts of the current task.
#[repr(C)]
pub(super) struct RawCurrent {
    pub(super) leader_comm: [u8; 16],
    pub(super) thread_comm: [u8; 16],
    pub(super) boot_sec: u64,
    pub(super) cgroup: u64,
}

check_layout!(RawCurrent, netatop_current, [
    leader_comm: leader_comm, thread_comm: thread_comm, boot_sec: boot_sec, cgroup: cgroup,
]);

/// `NETATOP_CX_IRQS_OFF`.
pub(super) const CX_IRQS_OFF: u32 = layout::word(layout::NETATOP_CX_IRQS_OFF);
/// `NETATOP_CX_BH_OFF`.
pub(super) const CX_BH_OFF: u32 = layout::word(layout::NETATOP_CX_BH_OFF);
/// `NETATOP_CX_INTERRUPT`.
pub(super) const CX_INTERRUPT: u32 = layout::word(layout::NETATOP_CX_INTERRUPT);
/// `NETATOP_NR_STATS`: the per-CPU global counter slots.
pub(crate) const NR_STATS: usize = layout::NETATOP_NR_STATS;

// The glue's `spin_lock()` family is declared where it is used, on the
// kernels that need it (`lock.rs`).
extern "C" {
    pub(super) fn netatop_glue_register(ctx: *const c_void) -> c_int;
    pub(super) fn netatop_glue_unregister();
    pub(super) fn netatop_glue_start_gc(interval_ms: c_uint);
    pub(super) fn netatop_glue_cond_resched();
    pub(super) fn netatop_glue_stat_add(slot: c_uint, n: u64);
    pub(super) fn netatop_glue_stats_read(sum: *mut u64);
    pub(super) fn netatop_glue_task(nr: c_int, group: bool, out: *mut RawTask) -> bool;
    pub(super) fn netatop_glue_current(out: *mut RawCurrent);
    pub(super) fn netatop_glue_cgroup_exists(id: u64) -> bool;
}
