// SPDX-License-Identifier: GPL-2.0

//! The boundary with the C glue (`netatop_glue.c`, `netatop_glue.h`).
//!
//! This is the only module that dereferences raw pointers handed over by C.
//! Errors cross it as negative errno values, converted here and nowhere else.

use kernel::error::{from_result, to_result};
use kernel::prelude::*;
use kernel::seq_file::SeqFile;
use kernel::sync::Arc;
use kernel::uaccess::UserPtr;

use crate::packet::Packet;
use crate::state::Netatop;
use crate::uapi::COMLEN;
use crate::{procfs, sockopt, stats};

extern "C" {
    fn netatop_glue_register(ctx: *const c_void) -> c_int;
    fn netatop_glue_unregister();
    fn netatop_glue_current_names(names: *mut TaskNames);
    fn netatop_glue_task_alive(nr: c_int, start: u64, group: bool) -> bool;
    fn netatop_glue_jiffies() -> u64;
    fn netatop_glue_start_gc(interval_ms: c_uint);
    fn netatop_glue_cond_resched();
    fn netatop_glue_spin_lock_bh(lock: *mut kernel::bindings::spinlock_t) -> bool;
    fn netatop_glue_spin_unlock_bh(lock: *mut kernel::bindings::spinlock_t, bh: bool);
    fn netatop_glue_spin_trylock_bh(lock: *mut kernel::bindings::spinlock_t, bh: *mut bool)
        -> bool;
    fn netatop_glue_stat_add(slot: c_uint, n: u64);
    fn netatop_glue_stats_read(sum: *mut u64);
}

/// Adds `n` to the global counter `slot` (see [`crate::stats`]) on this CPU.
pub(crate) fn stat_add(slot: u32, n: u64) {
    if (slot as usize) < stats::NR_SLOTS {
        // SAFETY: the slot is in range; callable in any context.
        unsafe { netatop_glue_stat_add(slot, n) }
    }
}

/// The global counters, summed over the CPUs.
pub(crate) fn stats_read() -> [u64; stats::NR_SLOTS] {
    let mut sum = [0u64; stats::NR_SLOTS];
    // SAFETY: `sum` has room for the `NETATOP_NR_STATS` counters the glue
    // writes (the same number, asserted in C).
    unsafe { netatop_glue_stats_read(sum.as_mut_ptr()) };
    sum
}

/// Takes `lock` with bottom halves off: `spin_lock_bh`, or the plain
/// `spin_lock` where they are off already (softirq context). Returns whether
/// bottom halves were disabled here, for [`spin_unlock_bh`]. Not for hard
/// interrupt context or with interrupts disabled (a kernel warning, not
/// memory unsafety).
///
/// # Safety
///
/// `lock` must point to an initialised `spinlock_t`.
pub(crate) unsafe fn spin_lock_bh(lock: *mut kernel::bindings::spinlock_t) -> bool {
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
pub(crate) unsafe fn spin_unlock_bh(lock: *mut kernel::bindings::spinlock_t, bh: bool) {
    // SAFETY: the function's safety requirements.
    unsafe { netatop_glue_spin_unlock_bh(lock, bh) }
}

/// As [`spin_lock_bh`] without waiting: `None` if the lock is busy.
///
/// # Safety
///
/// As for [`spin_lock_bh`].
pub(crate) unsafe fn spin_trylock_bh(lock: *mut kernel::bindings::spinlock_t) -> Option<bool> {
    let mut bh = false;
    // SAFETY: the function's safety requirements; `bh` is a local.
    unsafe { netatop_glue_spin_trylock_bh(lock, &mut bh) }.then_some(bh)
}

/// Lets other tasks run during a long loop (process context only).
pub(crate) fn cond_resched() {
    // SAFETY: called only from process context without spinlocks held (the
    // collector, between buckets).
    unsafe { netatop_glue_cond_resched() }
}

/// Whether the task `nr` (initial pid namespace) that started at `start` is
/// still running (see `netatop_glue_task_alive`).
pub(crate) fn task_alive(nr: i32, start: u64, group: bool) -> bool {
    // SAFETY: plain values; callable in any context.
    unsafe { netatop_glue_task_alive(nr, start, group) }
}

/// `jiffies_64`.
pub(crate) fn jiffies() -> u64 {
    // SAFETY: no arguments; callable in any context.
    unsafe { netatop_glue_jiffies() }
}

/// Names and boot time for a task seen for the first time
/// (`struct netatop_task_names`).
#[repr(C)]
pub(crate) struct TaskNames {
    /// comm of the thread-group leader, NUL-padded.
    pub(crate) leader_comm: [u8; COMLEN],
    /// comm of the current thread, NUL-padded.
    pub(crate) thread_comm: [u8; COMLEN],
    /// Wall-clock time of boot, seconds since the epoch.
    pub(crate) boot_sec: u64,
}

// Every field where `struct netatop_task_names` has it (checked against the
// C layout by tests/host/check-abi.py).
const _: () = {
    assert!(core::mem::size_of::<TaskNames>() == 40);
    assert!(core::mem::offset_of!(TaskNames, leader_comm) == 0);
    assert!(core::mem::offset_of!(TaskNames, thread_comm) == 16);
    assert!(core::mem::offset_of!(TaskNames, boot_sec) == 32);
};

// The state is shared by every CPU through the raw context pointer, which
// erases the compiler's check: make it explicit.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Netatop>();
};

/// The current task's names and the boot time. Process context only (the
/// packet path calls it only for packets sent in process context).
pub(crate) fn current_names() -> TaskNames {
    let mut names = TaskNames {
        leader_comm: [0; COMLEN],
        thread_comm: [0; COMLEN],
        boot_sec: 0,
    };
    // SAFETY: `names` is a live, exclusively borrowed value with the layout
    // of `struct netatop_task_names` (size asserted on both sides).
    unsafe { netatop_glue_current_names(&mut names) };
    names
}

/// A random seed for the table hashes.
pub(crate) fn random_seed() -> u64 {
    // SAFETY: `get_random_u64` may be called from any context.
    unsafe { kernel::bindings::get_random_u64() }
}

/// Whether the caller holds `CAP_NET_ADMIN` in the initial user namespace.
pub(crate) fn capable_net_admin() -> bool {
    // CAST: CAP_NET_ADMIN (12) fits in a c_int.
    let cap = kernel::bindings::CAP_NET_ADMIN as c_int;
    // SAFETY: `capable` may be called from any process context.
    unsafe { kernel::bindings::capable(cap) }
}

/// The module's registration with the kernel (getsockopt range, `/proc`).
///
/// # Invariants
///
/// From [`Registration::register`] until `drop` returns, the C glue holds a
/// pointer to the [`Netatop`] owned by `_state` and passes it to the entry
/// points below; `drop` unregisters before `_state` is released.
pub(crate) struct Registration {
    _state: Arc<Netatop>,
}

impl Registration {
    /// Registers `state` with the kernel and starts the periodic collection
    /// every `gc_interval_ms`.
    pub(crate) fn register(state: Arc<Netatop>, gc_interval_ms: u32) -> Result<Self> {
        // SAFETY: the pointer stays valid until `netatop_glue_unregister` is
        // called in `drop`, since `Self` keeps the `Arc` until then.
        to_result(unsafe { netatop_glue_register(Arc::as_ptr(&state).cast()) })?;
        // SAFETY: registered just above; the glue stops the work in
        // `netatop_glue_unregister`.
        unsafe { netatop_glue_start_gc(gc_interval_ms) };
        // INVARIANT: registered above with a pointer into `state`.
        Ok(Self { _state: state })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `register` (type invariant); after this call
        // no entry point runs, so `self._state` may be released.
        unsafe { netatop_glue_unregister() };
    }
}

/// Recovers the state from the context pointer of a glue callback.
///
/// # Safety
///
/// `ctx` must be the pointer given to `netatop_glue_register`, and the
/// registration must not have been dropped yet.
unsafe fn state<'a>(ctx: *const c_void) -> &'a Netatop {
    // SAFETY: by the function's safety requirements `ctx` points to the live
    // `Netatop` of the registration (see `Registration`'s invariants), which
    // is `Sync` (checked above), so sharing it between CPUs is sound.
    unsafe { &*ctx.cast::<Netatop>() }
}

/// getsockopt entry point (`netatop_rs_getsockopt` in `netatop_glue.h`).
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from
/// `netatop_glue_register` and `len` pointing to the kernel's optlen copy.
#[no_mangle]
unsafe extern "C" fn netatop_rs_getsockopt(
    ctx: *const c_void,
    cmd: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state(ctx) };
    // SAFETY: `len` points to `nf_getsockopt`'s caller's local `int`, valid
    // and exclusively ours for the duration of the call.
    let len = unsafe { &mut *len };
    from_result(|| {
        sockopt::getsockopt(state, cmd, UserPtr::from_ptr(user), len)?;
        Ok(0)
    })
}

/// Packet entry point of the netfilter hooks (`netatop_rs_packet`): returns
/// the global counter slots the hook adds the packet to (see
/// [`crate::stats::Charge`]).
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from
/// `netatop_glue_register` and `pkt` pointing to a summary valid for the
/// duration of the call.
#[no_mangle]
unsafe extern "C" fn netatop_rs_packet(ctx: *const c_void, pkt: *const Packet) -> u32 {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state(ctx) };
    // SAFETY: `pkt` points to the hook's local summary, alive during the call.
    let pkt = unsafe { &*pkt };
    state.packet(pkt).raw()
}

/// Periodic collection entry point (`netatop_rs_gc`), from a workqueue.
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from
/// `netatop_glue_register`.
#[no_mangle]
unsafe extern "C" fn netatop_rs_gc(ctx: *const c_void) {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state(ctx) };
    state.periodic_gc();
}

/// `/proc/netatop` entry point (`netatop_rs_proc_show` in `netatop_glue.h`).
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from
/// `netatop_glue_register` and `m` the seq_file being filled by this thread.
#[no_mangle]
unsafe extern "C" fn netatop_rs_proc_show(
    ctx: *const c_void,
    m: *mut kernel::bindings::seq_file,
) -> c_int {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state(ctx) };
    // SAFETY: `m` is valid and used by this thread only during the call.
    let m = unsafe { SeqFile::from_raw(m) };
    procfs::show(state, m);
    0
}
