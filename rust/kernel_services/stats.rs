// SPDX-License-Identifier: GPL-2.0

//! The per-CPU global counters the glue keeps: slots whose meaning
//! `crate::stats` decides. The packet path hands the hook a [`Charge`],
//! which the hook adds on its own CPU with no atomic and no call; other
//! counts go through [`add`]; readers sum the CPUs.

use super::glue::{self, RawCharge};

pub(crate) use super::glue::NR_STATS;

/// A global counter slot.
///
/// # Invariants
///
/// Below [`NR_STATS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot(u8);

impl Slot {
    /// Slot `n`; a build error where `n` is a constant out of range.
    pub(crate) const fn new(n: usize) -> Self {
        assert!(n < NR_STATS);
        // CAST: below NR_STATS (12).
        // INVARIANT: checked just above.
        Self(n as u8)
    }

    /// Its number.
    pub(crate) fn index(self) -> usize {
        self.0.into()
    }
}

/// What one packet adds to the global counters: `count` to `slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Charge {
    /// The slot of the packet's class and direction.
    pub(crate) slot: Slot,
    /// The packet's wire segments.
    pub(crate) count: u16,
}

impl Charge {
    /// The value the hook gets, which it adds on its CPU.
    #[inline(always)]
    pub(super) fn raw(self) -> RawCharge {
        RawCharge {
            slot: self.slot.0,
            count: self.count,
        }
    }
}

/// Adds `n` to `slot` on this CPU; any context.
pub(crate) fn add(slot: Slot, n: u64) {
    // SAFETY: the slot is below NR_STATS (type invariant); callable in any
    // context.
    unsafe { glue::netatop_glue_stat_add(slot.0.into(), n) }
}

/// Every slot, summed over the CPUs.
pub(crate) fn read() -> [u64; NR_STATS] {
    let mut sum = [0u64; NR_STATS];
    // SAFETY: `sum` has room for the NR_STATS counters the glue adds to.
    unsafe { glue::netatop_glue_stats_read(sum.as_mut_ptr()) };
    sum
}
