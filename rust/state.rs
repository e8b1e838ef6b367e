// SPDX-License-Identifier: GPL-2.0

//! The module's shared state.

use crate::stats::{Snapshot, Stats};

/// Everything the module knows; one instance per loaded module, shared by the
/// getsockopt and `/proc` entry points.
pub(crate) struct Netatop {
    stats: Stats,
}

impl Netatop {
    /// Creates the empty state.
    pub(crate) const fn new() -> Self {
        Self {
            stats: Stats::new(),
        }
    }

    /// The global counters and table sizes.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.stats.snapshot()
    }
}
