// SPDX-License-Identifier: GPL-2.0

//! Tokens for the context a function runs in, so that the context rules
//! are checked by the compiler rather than by comments:
//!
//! - [`Hook`]: a netfilter hook whose packet came with interrupts enabled
//!   (softirq or process context): bottom-half spinlocks may be taken, and
//!   nothing may sleep. The only way to get one is the packet entry point,
//!   which refuses packets seen in hard interrupt context or with
//!   interrupts disabled (no stock kernel path sends one there).
//! - [`Process`]: process context outside any spinlock and RCU read-side
//!   section (the getsockopt commands, the collector's work, `/proc`):
//!   functions that may sleep take it as `&mut Process`. Locking a table
//!   borrows it shared for as long as the guard lives, so no code can sleep
//!   while it holds a table lock.
//!
//! Both say whether bottom halves are already disabled ([`LockContext`]),
//! which picks the lock functions (see [`super::lock`]).

use core::marker::PhantomData;

use super::glue;

/// A context in which the tables' bottom-half spinlocks may be taken.
pub(crate) trait LockContext {
    /// Whether bottom halves are disabled already (softirq context): the
    /// plain lock suffices, without a `local_bh_enable()` round trip.
    fn bh_off(&self) -> bool;
}

/// A netfilter hook with interrupts enabled (see the module documentation).
///
/// # Invariants
///
/// Created only for a hook call whose context the glue reported with
/// interrupts enabled and outside hard interrupt and NMI context; `bh_off`
/// says whether bottom halves were disabled (softirq context included).
#[derive(Clone, Copy)]
pub(crate) struct Hook {
    bh_off: bool,
    /// Not `Send`: valid for the hook call that made it.
    _not_send: PhantomData<*mut ()>,
}

impl Hook {
    /// The token of a hook call (see the type invariants).
    pub(super) fn new(bh_off: bool) -> Self {
        // INVARIANT: the caller checked the context the glue reported.
        Self {
            bh_off,
            _not_send: PhantomData,
        }
    }
}

impl LockContext for Hook {
    fn bh_off(&self) -> bool {
        self.bh_off
    }
}

/// Process context that may sleep (see the module documentation).
///
/// # Invariants
///
/// Created only by entry points that run in process context, with no
/// spinlock held and outside any RCU read-side section.
pub(crate) struct Process {
    /// Not `Send`: valid for the call that made it.
    _not_send: PhantomData<*mut ()>,
}

impl Process {
    /// The token of an entry point in process context (see the type
    /// invariants).
    pub(super) fn new() -> Self {
        Self {
            _not_send: PhantomData,
        }
    }
}

impl Process {
    /// Lets other tasks run, in a long loop.
    pub(crate) fn cond_resched(&mut self) {
        // SAFETY: process context, no spinlock held, outside any RCU
        // read-side section (type invariants; a lock guard would borrow
        // `self`).
        unsafe { glue::netatop_glue_cond_resched() }
    }
}

impl LockContext for Process {
    fn bh_off(&self) -> bool {
        false
    }
}
