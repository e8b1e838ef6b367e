// SPDX-License-Identifier: GPL-2.0

//! Memory caps on the tables, as entry counts.

use kernel::sync::atomic::{Atomic, Relaxed};

/// Entries that fit in `kb` KiB when each takes `object` bytes (the slab
/// object it really occupies).
pub(crate) fn entries(kb: u32, object: usize) -> usize {
    // CAST: u32 fits in usize on every Linux target.
    (kb as usize).saturating_mul(1024) / object.max(1)
}

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
    /// Entries refused because the cap was reached (and no room made).
    full: Atomic<u64>,
    /// Entries refused because their allocation failed.
    nomem: Atomic<u64>,
}

impl Limit {
    /// A limit of `max` entries.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            used: Atomic::new(0),
            // CAST: usize is at most 64 bits on every Linux target.
            max: max as u64,
            full: Atomic::new(0),
            nomem: Atomic::new(0),
        }
    }

    /// Takes one entry; `false` (and one more refused as full) when full.
    pub(crate) fn reserve(&self) -> bool {
        if self.try_reserve() {
            return true;
        }
        self.refuse_full();
        false
    }

    /// Takes one entry; `false` when full, without counting a refusal (the
    /// caller may make room, then [`Limit::refuse_full`] if it cannot).
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

    /// Counts one entry refused because the cap was reached.
    pub(crate) fn refuse_full(&self) {
        self.full.add(1, Relaxed);
    }

    /// Gives back the entry just reserved because its allocation failed
    /// (atomic context, `__GFP_NOWARN`: nothing is printed), and counts it
    /// as refused for want of memory.
    pub(crate) fn release_nomem(&self) {
        self.release(1);
        self.nomem.add(1, Relaxed);
    }

    /// Gives back `n` entries.
    pub(crate) fn release(&self, n: u64) {
        self.used.fetch_sub(n, Relaxed);
    }

    /// Entries in use.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Relaxed)
    }

    /// Entries refused so far: past the cap, and because their allocation
    /// failed.
    pub(crate) fn refused(&self) -> Refused {
        Refused {
            full: self.full.load(Relaxed),
            nomem: self.nomem.load(Relaxed),
        }
    }
}

/// Entries a table refused, by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The cap was reached and no room could be made.
    pub(crate) full: u64,
    /// The allocation failed.
    pub(crate) nomem: u64,
}

impl Refused {
    /// All of them: netatop 3.2.2's "overflow".
    pub(crate) fn total(self) -> u64 {
        self.full.wrapping_add(self.nomem)
    }
}
