// SPDX-License-Identifier: GPL-2.0

//! Kernel services the crate needs beyond the kernel crate: the calls into
//! the C glue (`netatop_glue.c`, which has the registrations, the
//! `spin_lock_bh` family and the per-CPU counters) and a few reads of kernel
//! structures.
//!
//! A leaf: it uses no other module of the crate. Together with the entry
//! points in the crate root and the lock backend in `bhlock`, it holds every
//! `unsafe` block that calls C or reads kernel memory.

use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::rcu;

/// Length of a task's command name (`TASK_COMM_LEN`), including the NUL.
pub(crate) const TASK_COMM_LEN: usize = 16;
// CAST: a small enum constant.
const _: () = assert!(TASK_COMM_LEN == bindings::TASK_COMM_LEN as usize);

/// Number of per-CPU global counter slots the glue keeps
/// (`NETATOP_NR_STATS`; `make check` compares the two).
pub(crate) const NR_STATS: usize = 12;

extern "C" {
    fn netatop_glue_register(ctx: *const c_void) -> c_int;
    fn netatop_glue_unregister();
    fn netatop_glue_start_gc(interval_ms: c_uint);
    fn netatop_glue_cond_resched();
    fn netatop_glue_spin_lock_bh(lock: *mut bindings::spinlock_t) -> bool;
    fn netatop_glue_spin_unlock_bh(lock: *mut bindings::spinlock_t, bh: bool);
    fn netatop_glue_spin_trylock_bh(lock: *mut bindings::spinlock_t, bh: *mut bool) -> bool;
    fn netatop_glue_stat_add(slot: c_uint, n: u64);
    fn netatop_glue_stats_read(sum: *mut u64);
    /// `struct cgroup *`, opaque here (bindgen's has a zero-sized field).
    fn netatop_glue_cgroup_put(cgrp: *mut c_void);
}

/// Registers the hooks, `/proc/netatop` and the getsockopt range; the glue
/// hands `ctx` to every entry point. Errors as the kernel returned them.
///
/// # Safety
///
/// `ctx` must stay valid for the entry points until [`unregister`] has
/// returned.
pub(crate) unsafe fn register(ctx: *const c_void) -> Result {
    // SAFETY: the function's safety requirements.
    kernel::error::to_result(unsafe { netatop_glue_register(ctx) })
}

/// Undoes [`register`]: on return no entry point runs or will run.
///
/// # Safety
///
/// [`register`] must have succeeded, and this is called once.
pub(crate) unsafe fn unregister() {
    // SAFETY: the function's safety requirements.
    unsafe { netatop_glue_unregister() }
}

/// Starts the periodic collection (the `gc` entry point every
/// `interval_ms`); [`unregister`] stops it.
///
/// # Safety
///
/// [`register`] must have succeeded, and [`unregister`] not been called.
pub(crate) unsafe fn start_gc(interval_ms: u32) {
    // SAFETY: the function's safety requirements.
    unsafe { netatop_glue_start_gc(interval_ms) }
}

/// Takes `lock` with bottom halves off: `spin_lock_bh`, or the plain
/// `spin_lock` where they are off already (softirq context). Returns whether
/// bottom halves were disabled here, for [`spin_unlock_bh`].
///
/// # Safety
///
/// `lock` must point to an initialised `spinlock_t`, and the caller must not
/// be in hard interrupt context or have interrupts disabled.
pub(crate) unsafe fn spin_lock_bh(lock: *mut bindings::spinlock_t) -> bool {
    // SAFETY: the function's safety requirements.
    unsafe { netatop_glue_spin_lock_bh(lock) }
}

/// Releases `lock`; `bh` is what [`spin_lock_bh`] or [`spin_trylock_bh`]
/// returned for it.
///
/// # Safety
///
/// `lock` must be held by the caller, taken by [`spin_lock_bh`] or
/// [`spin_trylock_bh`] in this same context, which returned `bh`.
pub(crate) unsafe fn spin_unlock_bh(lock: *mut bindings::spinlock_t, bh: bool) {
    // SAFETY: the function's safety requirements.
    unsafe { netatop_glue_spin_unlock_bh(lock, bh) }
}

/// As [`spin_lock_bh`] without waiting: `None` if the lock is busy.
///
/// # Safety
///
/// As for [`spin_lock_bh`].
pub(crate) unsafe fn spin_trylock_bh(lock: *mut bindings::spinlock_t) -> Option<bool> {
    let mut bh = false;
    // SAFETY: the function's safety requirements; `bh` is a local.
    unsafe { netatop_glue_spin_trylock_bh(lock, &mut bh) }.then_some(bh)
}

/// Lets other tasks run during a long loop.
///
/// # Safety
///
/// Process context, no spinlock held, no RCU read-side section (it may
/// sleep).
pub(crate) unsafe fn cond_resched() {
    // SAFETY: the function's safety requirements.
    unsafe { netatop_glue_cond_resched() }
}

/// Adds `n` to the per-CPU global counter `slot` on this CPU; any context.
pub(crate) fn stat_add(slot: usize, n: u64) {
    if let Ok(slot) = c_uint::try_from(slot) {
        if (slot as usize) < NR_STATS {
            // SAFETY: the slot is in range; callable in any context.
            unsafe { netatop_glue_stat_add(slot, n) }
        }
    }
}

/// The per-CPU global counters, summed over the CPUs.
pub(crate) fn stats_read() -> [u64; NR_STATS] {
    let mut sum = [0u64; NR_STATS];
    // SAFETY: `sum` has room for the `NETATOP_NR_STATS` (== `NR_STATS`)
    // counters the glue adds to (from zero, set here).
    unsafe { netatop_glue_stats_read(sum.as_mut_ptr()) };
    sum
}

/// `jiffies_64`.
pub(crate) fn jiffies() -> u64 {
    // SAFETY: `jiffies_64` is a static that always exists; 64-bit kernels
    // (the only ones the module builds for) read it in one access, which
    // is what `get_jiffies_64()` does there.
    unsafe { core::ptr::read_volatile(&raw const bindings::jiffies_64) }
}

/// `ms` milliseconds in jiffies.
pub(crate) fn jiffies_of_ms(ms: u32) -> u64 {
    // CAST: Jiffies is an unsigned long, at most 64 bits.
    kernel::time::msecs_to_jiffies(ms) as u64
}

/// Whether the task with id `nr` in the initial pid namespace that started
/// at `start` (ns since boot) still runs: a process (`group`) while any of
/// its threads has not exited, a thread until it starts exiting. A reused id
/// with another start time is another task. Any context.
pub(crate) fn task_alive(nr: i32, start: u64, group: bool) -> bool {
    let _rcu = rcu::read_lock();
    let kind = if group {
        bindings::pid_type_PIDTYPE_TGID
    } else {
        bindings::pid_type_PIDTYPE_PID
    };
    // SAFETY: `init_pid_ns` is a static that always exists; the lookups
    // need the RCU read lock, held above.
    let task = unsafe {
        bindings::pid_task(
            bindings::find_pid_ns(nr, &raw mut bindings::init_pid_ns),
            kind,
        )
    };
    if task.is_null() {
        return false;
    }
    // SAFETY: `task` is valid under the RCU read lock; its start time never
    // changes after fork.
    if unsafe { (*task).start_boottime } != start {
        return false;
    }
    if group {
        // SAFETY: a task found by pid has its signal struct until it is
        // freed after an RCU grace period; `live` is an `atomic_t`.
        let live = unsafe { Atomic::from_ptr(&raw mut (*(*task).signal).live.counter) };
        live.load(Relaxed) > 0
    } else {
        // SAFETY: as above; `flags` is read once (`READ_ONCE`), its
        // `PF_EXITING` bit set by the task itself when it exits.
        let flags = unsafe { core::ptr::read_volatile(&raw const (*task).flags) };
        flags & bindings::PF_EXITING == 0
    }
}

/// Names and start time of the task sending a packet, read when it is first
/// seen.
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

/// The command name of `task`, NUL-padded (`strscpy_pad` of `comm`, which
/// its task may rename at any time: read byte by byte, once each).
///
/// # Safety
///
/// `task` must point to a live `task_struct`.
unsafe fn comm_of(task: *const bindings::task_struct) -> [u8; TASK_COMM_LEN] {
    let mut out = [0u8; TASK_COMM_LEN];
    // SAFETY: the function's safety requirements.
    let comm = unsafe { (&raw const (*task).comm).cast::<u8>() };
    // The last byte stays NUL.
    for (i, o) in out.iter_mut().take(TASK_COMM_LEN - 1).enumerate() {
        // SAFETY: `comm` has `TASK_COMM_LEN` bytes.
        let c = unsafe { core::ptr::read_volatile(comm.add(i)) };
        if c == 0 {
            break;
        }
        *o = c;
    }
    out
}

/// The current task's names and the boot time. Process context.
pub(crate) fn current_names() -> TaskNames {
    let current = kernel::current!();
    let leader = current.group_leader();
    let mut boot = bindings::timespec64 {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `boot` is a local the call fills.
    unsafe { bindings::getboottime64(&mut boot) };
    TaskNames {
        // SAFETY: the current task and its group leader live while it runs.
        leader_comm: unsafe { comm_of(leader.as_ptr()) },
        // SAFETY: as above.
        thread_comm: unsafe { comm_of(current.as_ptr()) },
        boot_sec: u64::try_from(boot.tv_sec).unwrap_or(0),
        cgroup: current_cgroup(),
    }
}

/// The id of the current thread's cgroup in the default (v2) hierarchy, as
/// `cgroup_id(task_dfl_cgroup(current))`: the inode number of its directory
/// in cgroupfs. Any context.
fn current_cgroup() -> u64 {
    let _rcu = rcu::read_lock();
    let current = kernel::current!();
    // SAFETY: `cgroups` is an RCU-protected pointer of the running task
    // (read once, as `rcu_dereference` does), valid under the RCU read lock
    // held above; a css_set always has its default-hierarchy cgroup, which
    // it pins, and a cgroup pins its kernfs node, whose `id` never changes.
    unsafe {
        let cset = core::ptr::read_volatile(&raw const (*current.as_ptr()).cgroups);
        (*(*(*cset).dfl_cgrp).kn).id
    }
}

/// Whether the cgroup with this id still exists in the default hierarchy
/// (and is visible from the caller's cgroup namespace: the collector calls
/// it from a kernel worker, in the initial one). Process context.
pub(crate) fn cgroup_exists(id: u64) -> bool {
    // SAFETY: `cgroup_get_from_id` may be called from process context; it
    // returns a referenced cgroup or an error pointer.
    let cgrp = unsafe { bindings::cgroup_get_from_id(id) };
    match kernel::error::from_err_ptr(cgrp) {
        Ok(cgrp) => {
            // SAFETY: `cgrp` holds the reference taken above, dropped once.
            unsafe { netatop_glue_cgroup_put(cgrp.cast()) };
            true
        }
        Err(_) => false,
    }
}

/// A random seed for the table hashes.
pub(crate) fn random_seed() -> u64 {
    // SAFETY: `get_random_u64` may be called from any context.
    unsafe { bindings::get_random_u64() }
}

/// Whether the caller holds `CAP_NET_ADMIN` in the initial user namespace.
pub(crate) fn capable_net_admin() -> bool {
    // CAST: CAP_NET_ADMIN (12) fits in a c_int.
    let cap = bindings::CAP_NET_ADMIN as c_int;
    // SAFETY: `capable` may be called from any process context.
    unsafe { bindings::capable(cap) }
}
