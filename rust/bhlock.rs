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
//! latency added, and it is cheaper (no flags register round trip).
//!
//! The kernel crate has no such backend (Linux 7.3), so this file provides
//! one on top of the kernel's generic [`Lock`].

use kernel::bindings;
use kernel::sync::lock::{Backend, Lock};

use crate::glue;

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

// SAFETY: the underlying `spinlock_t` provides mutual exclusion; `lock` and
// `unlock` are the matching `spin_lock_bh`/`spin_unlock_bh` pair, and
// `relock` uses the default implementation (the same `lock`).
unsafe impl Backend for SpinLockBhBackend {
    type State = bindings::spinlock_t;
    type GuardState = ();

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
        unsafe { glue::spin_lock_bh(ptr) }
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: the trait's contract: the caller owns the lock, taken by
        // `lock` (or `try_lock`) above with bottom halves disabled.
        unsafe { glue::spin_unlock_bh(ptr) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: the trait's contract: `ptr` is an initialised lock.
        unsafe { glue::spin_trylock_bh(ptr) }.then_some(())
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
