// SPDX-License-Identifier: GPL-2.0

//! The tables' lock: a `spinlock_t` that keeps bottom halves off while held
//! (`spin_lock_bh`), taken only with a context token.
//!
//! The netfilter hooks run in softirq context (`LOCAL_IN`, and `LOCAL_OUT`
//! for packets the stack sends on its own) or in process context
//! (`LOCAL_OUT` from a system call); never in hard interrupt context.
//! Keeping bottom halves off is therefore enough to keep a softirq on the
//! same CPU from spinning on a lock its own CPU holds, and it is what the
//! kernel's own networking code does; unlike `spin_lock_irqsave`, which
//! netatop 3.2.2 used, it leaves hard interrupts on. Where bottom halves
//! are off already (softirq context: every `LOCAL_IN` packet), the plain
//! lock is taken, which saves the `local_bh_enable` on unlock.
//!
//! [`BhLock::lock`] takes a [`LockContext`]: only a netfilter hook with
//! interrupts on ([`super::context::Hook`]) or process context
//! ([`super::context::Process`]) has one, so the lock cannot be taken
//! where `spin_lock_bh` is forbidden; and the guard borrows the token, so
//! process context cannot sleep while it holds the lock.
//!
//! The lock functions: where the kernel has the out-of-line
//! `_raw_spin_lock` family (not `PREEMPT_RT`, and none inlined by its
//! configuration: Kbuild sets `--cfg netatop_raw_spin` then), they are
//! called directly, one call per lock and unlock, which is what
//! `spin_lock()` and friends expand to there; otherwise the kernel crate's
//! helpers of `spin_lock()` and the glue's of `spin_lock_bh()` and friends
//! are called (`PREEMPT_RT`, where a `spinlock_t` is a sleeping
//! `rt_mutex`, included).

use core::cell::UnsafeCell;
use core::marker::{PhantomData, PhantomPinned};
use core::ops::{Deref, DerefMut};

use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::LockClassKey;
use kernel::types::Opaque;

use super::context::LockContext;

/// A value guarded by a bottom-half spinlock.
///
/// # Invariants
///
/// `raw` is an initialised `spinlock_t`; `data` is only accessed through a
/// [`BhGuard`], which holds the lock.
#[pin_data]
pub(crate) struct BhLock<T> {
    #[pin]
    raw: Opaque<bindings::spinlock_t>,
    data: UnsafeCell<T>,
    /// The kernel's lock must not move once initialised.
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: the lock hands out the data to one holder at a time, from any
// CPU: sending or sharing the lock is sending the data.
unsafe impl<T: Send> Send for BhLock<T> {}
// SAFETY: as above; `&BhLock` only gives `&mut T` under the lock.
unsafe impl<T: Send> Sync for BhLock<T> {}

/// Creates a [`BhLock`] initialiser with a lockdep class of its own.
#[macro_export]
macro_rules! new_bhlock {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::kernel_services::lock::BhLock::new(
            $inner,
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
        )
    };
}

impl<T> BhLock<T> {
    /// A lock around `data`, named `name` for lockdep, in class `key`.
    pub(crate) fn new(
        data: T,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            data: UnsafeCell::new(data),
            _pin: PhantomPinned,
            // SAFETY: `slot` is valid for writes and pinned; `name` and
            // `key` live for ever, as `__spin_lock_init` requires.
            raw <- Opaque::ffi_init(|slot| unsafe {
                bindings::__spin_lock_init(slot, name.as_char_ptr(), key.as_ptr())
            }),
        })
    }

    /// Takes the lock in context `cx`, waiting for it.
    #[inline]
    pub(crate) fn lock<'a>(&'a self, cx: &'a impl LockContext) -> BhGuard<'a, T> {
        let bh = !cx.bh_off();
        // SAFETY: `raw` is initialised (type invariant); the context token
        // proves interrupts are on, outside hard interrupt context, and
        // says whether bottom halves are off already: if not (`bh`), they
        // may be disabled here.
        unsafe { raw_lock(self.raw.get(), bh) };
        // INVARIANT: the lock is held until the guard drops.
        BhGuard {
            lock: self,
            bh,
            _ctx: PhantomData,
        }
    }

    /// Takes the lock in context `cx` if it is free.
    #[inline]
    pub(crate) fn try_lock<'a>(&'a self, cx: &'a impl LockContext) -> Option<BhGuard<'a, T>> {
        let bh = !cx.bh_off();
        // SAFETY: as in `lock`.
        if !unsafe { raw_trylock(self.raw.get(), bh) } {
            return None;
        }
        // INVARIANT: the lock is held until the guard drops.
        Some(BhGuard {
            lock: self,
            bh,
            _ctx: PhantomData,
        })
    }
}

/// The holder of a [`BhLock`]: the data, until it drops the lock.
///
/// # Invariants
///
/// The lock is held by this guard, taken with bottom halves disabled by it
/// exactly when `bh`.
pub(crate) struct BhGuard<'a, T> {
    lock: &'a BhLock<T>,
    bh: bool,
    /// Not `Send`: unlocked where it was locked.
    _ctx: PhantomData<*mut ()>,
}

impl<T> Deref for BhGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock (type invariant).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for BhGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock (type invariant), and `&mut
        // self` is the only way to the data.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for BhGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: held by this guard, taken with bottom halves disabled by
        // it exactly when `bh` (type invariant), in this context.
        unsafe { raw_unlock(self.lock.raw.get(), self.bh) };
    }
}

/// Whether the out-of-line `_raw_spin_*` functions exist and are what the
/// `spin_*` functions call for a `spinlock_t` (see the module
/// documentation).
#[cfg(netatop_raw_spin)]
mod raw {
    use kernel::bindings;

    /// The `raw_spinlock_t` of a `spinlock_t`: its first member when
    /// `PREEMPT_RT` is off.
    fn rlock(lock: *mut bindings::spinlock_t) -> *mut bindings::raw_spinlock_t {
        lock.cast()
    }

    /// # Safety
    ///
    /// As [`super::raw_lock`].
    #[inline]
    pub(super) unsafe fn lock(lock: *mut bindings::spinlock_t, bh: bool) {
        if bh {
            // SAFETY: the caller's contract; `spin_lock_bh()` is this.
            unsafe { bindings::_raw_spin_lock_bh(rlock(lock)) }
        } else {
            // SAFETY: the caller's contract; `spin_lock()` is this.
            unsafe { bindings::_raw_spin_lock(rlock(lock)) }
        }
    }

    /// # Safety
    ///
    /// As [`super::raw_lock`].
    #[inline]
    pub(super) unsafe fn trylock(lock: *mut bindings::spinlock_t, bh: bool) -> bool {
        if bh {
            // SAFETY: the caller's contract; `spin_trylock_bh()` is this.
            (unsafe { bindings::_raw_spin_trylock_bh(rlock(lock)) }) != 0
        } else {
            // SAFETY: the caller's contract; `spin_trylock()` is this.
            (unsafe { bindings::_raw_spin_trylock(rlock(lock)) }) != 0
        }
    }

    /// # Safety
    ///
    /// As [`super::raw_unlock`].
    #[inline]
    pub(super) unsafe fn unlock(lock: *mut bindings::spinlock_t, bh: bool) {
        if bh {
            // SAFETY: the caller's contract; `spin_unlock_bh()` is this.
            unsafe { bindings::_raw_spin_unlock_bh(rlock(lock)) }
        } else {
            // SAFETY: the caller's contract; `spin_unlock()` is this.
            unsafe { bindings::_raw_spin_unlock(rlock(lock)) }
        }
    }
}

/// The glue's `spin_lock()` family, on kernels whose lock functions are
/// inline or sleeping locks (see the module documentation).
#[cfg(not(netatop_raw_spin))]
mod raw {
    use kernel::bindings;

    /// The glue's wrappers of the `_bh` variants (`netatop_glue.h`); the
    /// kernel crate's helpers have the others.
    mod glue {
        use kernel::bindings::spinlock_t;

        extern "C" {
            pub(super) fn netatop_glue_spin_lock_bh(lock: *mut spinlock_t);
            pub(super) fn netatop_glue_spin_unlock_bh(lock: *mut spinlock_t);
            pub(super) fn netatop_glue_spin_trylock_bh(lock: *mut spinlock_t) -> bool;
        }
    }

    /// # Safety
    ///
    /// As [`super::raw_lock`].
    pub(super) unsafe fn lock(lock: *mut bindings::spinlock_t, bh: bool) {
        if bh {
            // SAFETY: the caller's contract.
            unsafe { glue::netatop_glue_spin_lock_bh(lock) }
        } else {
            // SAFETY: the caller's contract.
            unsafe { bindings::spin_lock(lock) }
        }
    }

    /// # Safety
    ///
    /// As [`super::raw_lock`].
    pub(super) unsafe fn trylock(lock: *mut bindings::spinlock_t, bh: bool) -> bool {
        if bh {
            // SAFETY: the caller's contract.
            unsafe { glue::netatop_glue_spin_trylock_bh(lock) }
        } else {
            // SAFETY: the caller's contract.
            (unsafe { bindings::spin_trylock(lock) }) != 0
        }
    }

    /// # Safety
    ///
    /// As [`super::raw_unlock`].
    pub(super) unsafe fn unlock(lock: *mut bindings::spinlock_t, bh: bool) {
        if bh {
            // SAFETY: the caller's contract.
            unsafe { glue::netatop_glue_spin_unlock_bh(lock) }
        } else {
            // SAFETY: the caller's contract.
            unsafe { bindings::spin_unlock(lock) }
        }
    }
}

/// Takes `lock`, with bottom halves disabled first if `bh`.
///
/// # Safety
///
/// `lock` is an initialised `spinlock_t`; interrupts are on and the caller
/// is not in hard interrupt context; if `!bh`, bottom halves are disabled
/// already.
#[inline]
unsafe fn raw_lock(lock: *mut bindings::spinlock_t, bh: bool) {
    // SAFETY: the function's safety requirements.
    unsafe { raw::lock(lock, bh) }
}

/// As [`raw_lock`], without waiting: whether the lock was taken.
///
/// # Safety
///
/// As [`raw_lock`].
#[inline]
unsafe fn raw_trylock(lock: *mut bindings::spinlock_t, bh: bool) -> bool {
    // SAFETY: the function's safety requirements.
    unsafe { raw::trylock(lock, bh) }
}

/// Releases `lock`, and enables bottom halves again if `bh`.
///
/// # Safety
///
/// The caller holds `lock`, taken by [`raw_lock`] or [`raw_trylock`] with
/// the same `bh`, in this context.
#[inline]
unsafe fn raw_unlock(lock: *mut bindings::spinlock_t, bh: bool) {
    // SAFETY: the function's safety requirements.
    unsafe { raw::unlock(lock, bh) }
}
