// SPDX-License-Identifier: GPL-2.0

//! Tasks, as far as the accounting needs them: whether one still runs,
//! what a new taskinfo is named, which cgroup it counts for, and the
//! caller's privilege. The glue reads these (through `get_task_comm()`,
//! `task_dfl_cgroup()` and other macros and inline functions); a packet's
//! sender is read in [`super::packet`].

use kernel::bindings;
use kernel::ffi::c_int;

use super::glue::{self, RawCurrent, RawTask};

/// Length of a task's command name (`TASK_COMM_LEN`, checked in the glue),
/// including the NUL.
pub(crate) const TASK_COMM_LEN: usize = 16;

/// Whether the task with id `nr` in the initial pid namespace that started
/// at `start` (ns since boot) still runs: a process (`group`) while any of
/// its threads has not exited, a thread until it starts exiting. A reused id
/// with another start time is another task. Any context.
pub(crate) fn task_alive(nr: i32, start: u64, group: bool) -> bool {
    let mut t = RawTask { start: 0, live: 0 };
    // SAFETY: `t` is a local the glue fills when it returns true.
    let found = unsafe { glue::netatop_glue_task(nr, group, &mut t) };
    found && t.start == start && t.live != 0
}

/// Names and start of the current task, read when it is first seen.
pub(crate) struct TaskNames {
    /// comm of the thread-group leader, NUL-padded.
    pub(crate) leader_comm: [u8; TASK_COMM_LEN],
    /// comm of the current thread, NUL-padded.
    pub(crate) thread_comm: [u8; TASK_COMM_LEN],
    /// Wall-clock time of boot, seconds since the epoch (as /proc/stat's
    /// btime; 0 if the clock was set before the boot).
    pub(crate) boot_sec: u64,
    /// Id of the current thread's cgroup in the default (v2) hierarchy.
    pub(crate) cgroup: u64,
}

/// The current task's names, the boot time and its cgroup. Task context
/// (a sender's own call, not an interrupt).
pub(crate) fn current_names() -> TaskNames {
    let mut c = RawCurrent {
        leader_comm: [0; TASK_COMM_LEN],
        thread_comm: [0; TASK_COMM_LEN],
        boot_sec: 0,
        cgroup: 0,
    };
    // SAFETY: `c` is a local the glue fills.
    unsafe { glue::netatop_glue_current(&mut c) };
    TaskNames {
        leader_comm: c.leader_comm,
        thread_comm: c.thread_comm,
        boot_sec: c.boot_sec,
        cgroup: c.cgroup,
    }
}

/// Whether the cgroup with this id still exists in the default hierarchy
/// (and is visible from the caller's cgroup namespace: the collector calls
/// it from a kernel worker, in the initial one). Process context.
pub(crate) fn cgroup_exists(id: u64) -> bool {
    // SAFETY: callable with any id, from process context.
    unsafe { glue::netatop_glue_cgroup_exists(id) }
}

/// Whether the caller holds `CAP_NET_ADMIN` in the initial user namespace.
pub(crate) fn capable_net_admin() -> bool {
    // CAST: CAP_NET_ADMIN (12) fits in a c_int.
    let cap = bindings::CAP_NET_ADMIN as c_int;
    // SAFETY: `capable` may be called from any process context.
    unsafe { bindings::capable(cap) }
}

/// A random seed for the table hashes.
pub(crate) fn random_seed() -> u64 {
    // SAFETY: `get_random_u64` may be called from any context.
    unsafe { bindings::get_random_u64() }
}
