// SPDX-License-Identifier: GPL-2.0

//! Memory caps on the tables, as entry counts.

use kernel::sync::atomic::{Atomic, Relaxed};

/// Counts the entries of a table against a maximum, lock-free.
///
/// # Invariants
///
/// `used` is the number of reservations taken and not given back; it
/// exceeds `max` only by [`Limit::force_reserve`]s (or for an instant in
/// [`Limit::try_reserve`], which takes one back at once when over).
pub(crate) struct Limit {
    used: Atomic<u64>,
    max: u64,
    overflows: Atomic<u64>,
}

impl Limit {
    /// A limit of `max` entries.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            used: Atomic::new(0),
            // CAST: usize is at most 64 bits on every Linux target.
            max: max as u64,
            overflows: Atomic::new(0),
        }
    }

    /// Takes one entry; `false` (and one more overflow) when full.
    pub(crate) fn reserve(&self) -> bool {
        if self.try_reserve() {
            return true;
        }
        self.refuse();
        false
    }

    /// Takes one entry; `false` when full, without counting an overflow
    /// (the caller may make room and try again, then [`Limit::refuse`]).
    pub(crate) fn try_reserve(&self) -> bool {
        if self.used.fetch_add(1, Relaxed) >= self.max {
            self.used.fetch_sub(1, Relaxed);
            return false;
        }
        true
    }

    /// Takes one entry even past the maximum (it is given back soon).
    pub(crate) fn force_reserve(&self) {
        self.used.add(1, Relaxed);
    }

    /// Counts one entry refused.
    pub(crate) fn refuse(&self) {
        self.overflows.add(1, Relaxed);
    }

    /// Gives back the entry just reserved because its allocation failed
    /// (atomic context, `__GFP_NOWARN`: nothing is printed); it counts as
    /// refused, like an entry past the cap.
    pub(crate) fn refuse_reserved(&self) {
        self.release(1);
        self.refuse();
    }

    /// Gives back `n` entries.
    pub(crate) fn release(&self, n: u64) {
        self.used.fetch_sub(n, Relaxed);
    }

    /// Entries in use.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Relaxed)
    }

    /// Entries refused so far: past the cap, or their allocation failed.
    pub(crate) fn overflows(&self) -> u64 {
        self.overflows.load(Relaxed)
    }
}
