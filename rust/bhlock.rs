// SPDX-License-Identifier: GPL-2.0

//! A spinlock that disables bottom halves while held (`spin_lock_bh`): the
//! lock of every table the packet path touches.
//!
//! The netfilter hooks run in softirq context (`LOCAL_IN`, and `LOCAL_OUT`
//! for packets the stack sends on its own) or in process context
//! (`LOCAL_OUT` from a system call); never in hard interrupt context (the
//! glue flags such a packet and the accounting then leaves the tables
//! alone). Disabling bottom halves is therefore enough to keep a softirq on
//! the same CPU from spinning on a lock its own CPU holds, and it is what
//! the kernel's own networking code does. Unlike `spin_lock_irqsave`,
//! which netatop 3.2.2 used, it leaves hard interrupts on: no interrupt
//! latency added, and it is cheaper (no flags register round trip). Where
//! bottom halves are off already (every `LOCAL_IN` packet), the plain lock
//! is taken, which saves the `local_bh_enable` on unlock.
//!
//! The kernel crate has no such backend (Linux 7.3), so this file provides
//! one on top of the kernel's generic [`Lock`].

use kernel::bindings;
use kernel::sync::lock::{Backend, Lock};

use crate::ffi;

/// The backend of [`SpinLockBh`].
pub(crate) struct SpinLockBhBackend;

/// A `spinlock_t` taken with `spin_lock_bh`.
pub(crate) type SpinLockBh<T> = Lock<T, SpinLockBhBackend>;

/// Creates a [`SpinLockBh`] initialiser with a lockdep class of its own.
#[macro_export]
macro_rules! new_spinlock_bh {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::bhlock::SpinLockBh::new(
            $inner,
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
        )
    };
}

// SAFETY: the underlying `spinlock_t` provides mutual exclusion; `unlock`
// undoes what `lock` or `try_lock` did (the guard state records whether
// bottom halves were disabled), and `relock` uses the default implementation
// (the same `lock`, which records it again).
unsafe impl Backend for SpinLockBhBackend {
    type State = bindings::spinlock_t;
    /// Whether taking the lock disabled bottom halves.
    type GuardState = bool;

    #[inline]
    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: the trait's contract: `ptr` is valid for writes, `name` and
        // `key` valid for reads for ever.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    #[inline]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: the trait's contract: `ptr` is an initialised lock.
        unsafe { ffi::spin_lock_bh(ptr) }
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: the trait's contract: the caller owns the lock, taken by
        // `lock` (or `try_lock`) above, which returned `guard_state`; guards
        // are not `Send`, so this is the same context.
        unsafe { ffi::spin_unlock_bh(ptr, *guard_state) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: the trait's contract: `ptr` is an initialised lock.
        unsafe { ffi::spin_trylock_bh(ptr) }
    }

    #[inline]
    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // Every guard creation asks; without lockdep the answer is a call
        // that does nothing, which the packet path need not pay for.
        #[cfg(CONFIG_LOCKDEP)]
        // SAFETY: the trait's contract: `ptr` is an initialised lock.
        unsafe {
            bindings::spin_assert_is_held(ptr)
        }
        #[cfg(not(CONFIG_LOCKDEP))]
        let _ = ptr;
    }
}
