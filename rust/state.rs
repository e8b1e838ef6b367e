// SPDX-License-Identifier: GPL-2.0

//! The module's shared state.

use kernel::prelude::*;

use crate::hash::Hasher;
use crate::sockinfo::{SockInfo, SockTable};
use crate::stats::{Snapshot, Stats};
use crate::taskinfo::{TaskInfo, TaskTable};

/// Sizing of the tables, from the module parameters.
pub(crate) struct Config {
    /// log2 of the number of sockinfo buckets.
    pub(crate) sock_hash_bits: u32,
    /// log2 of the number of taskinfo buckets.
    pub(crate) task_hash_bits: u32,
    /// Memory cap of the sockinfo table, in KiB.
    pub(crate) sockinfo_limit_kb: u32,
    /// Memory cap of the taskinfo table, in KiB.
    pub(crate) taskinfo_limit_kb: u32,
    /// Seed of the table hashes.
    pub(crate) seed: u64,
}

/// Everything the module knows; one instance per loaded module, shared by the
/// hooks, the getsockopt commands and `/proc`.
///
/// Lock order: a sockinfo bucket, then a taskinfo bucket. Counters of a task
/// and the global counters are atomics and take no lock.
pub(crate) struct Netatop {
    pub(crate) stats: Stats,
    pub(crate) socks: SockTable,
    pub(crate) tasks: TaskTable,
}

/// Entries that fit in `kb` KiB.
fn entries(kb: u32, entry: usize) -> usize {
    // CAST: u32 fits in usize on every Linux target.
    (kb as usize).saturating_mul(1024) / entry
}

impl Netatop {
    /// Creates the empty state.
    pub(crate) fn new(cfg: &Config) -> Result<Self> {
        let hasher = Hasher::new(cfg.seed);
        Ok(Self {
            stats: Stats::new(),
            socks: SockTable::new(
                cfg.sock_hash_bits,
                entries(cfg.sockinfo_limit_kb, core::mem::size_of::<SockInfo>()),
                hasher,
            )?,
            tasks: TaskTable::new(
                cfg.task_hash_bits,
                entries(cfg.taskinfo_limit_kb, core::mem::size_of::<TaskInfo>()),
                hasher,
            )?,
        })
    }

    /// The global counters and table sizes.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            nrs: self.socks.len(),
            nrs_ovf: self.socks.overflows(),
            nrt: self.tasks.len(),
            nrt_ovf: self.tasks.overflows(),
            nre: 0,
            ..self.stats.snapshot()
        }
    }
}
