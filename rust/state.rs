// SPDX-License-Identifier: GPL-2.0

//! The module's shared state.

use kernel::prelude::*;
use kernel::sync::{CondVar, Mutex};
use kernel::{new_condvar, new_mutex};

use kernel::sync::Arc;

use crate::cgroup::Cgroups;
use crate::exitlist::ExitList;
use crate::hash::Hasher;
use crate::kernel_services::mem::slab_size;
use crate::kernel_services::time::jiffies_of_ms;
use crate::limits::entries;
use crate::sockinfo::{IdleLimits, SockTable};
use crate::stats::{self, Snapshot};
use crate::taskinfo::{TaskInfo, TaskTable};

/// The collector's bookkeeping (see `gc.rs`), under its mutex (held for a
/// whole collection).
pub(crate) struct GcState {
    /// Number of collections completed so far.
    pub(crate) completed: u64,
    /// `jiffies_64` at the start of the last collection.
    pub(crate) last_start: Option<u64>,
}

impl GcState {
    /// No collection yet.
    pub(crate) const fn new() -> Self {
        Self {
            completed: 0,
            last_start: None,
        }
    }
}

/// Sizing of the tables, from the module parameters.
pub(crate) struct Config {
    /// log2 of the number of sockinfo buckets.
    pub(crate) sock_hash_bits: u32,
    /// log2 of the number of taskinfo buckets.
    pub(crate) task_hash_bits: u32,
    /// Memory cap of the sockinfo table, in KiB.
    pub(crate) sockinfo_limit_kb: u32,
    /// Memory cap of the taskinfo table and exit list, in KiB.
    pub(crate) taskinfo_limit_kb: u32,
    /// Seed of the table hashes.
    pub(crate) seed: u64,
    /// Interval of the periodic collection.
    pub(crate) gc_interval_ms: u32,
    /// Memory cap of the finished processes' per-cgroup totals, in KiB.
    pub(crate) cgroup_limit_kb: u32,
}

/// Everything the module knows; one instance per loaded module, shared by the
/// hooks, the collector, the getsockopt commands and `/proc`.
///
/// Lock order: `gc`, then `cgroups`' mutex, then `exits`' mutex or a
/// sockinfo bucket, then a taskinfo bucket. The hooks take only bucket
/// locks (sockinfo before taskinfo); counters of a task and the global
/// counters are atomics.
/// Dropping the state (after unregistration) frees every entry, including
/// finished processes nobody read.
#[pin_data]
pub(crate) struct Netatop {
    pub(crate) socks: SockTable,
    pub(crate) tasks: TaskTable,
    #[pin]
    pub(crate) exits: ExitList,
    /// Per-cgroup totals of finished processes.
    #[pin]
    pub(crate) cgroups: Cgroups,
    /// Interval of the periodic collection, in jiffies.
    pub(crate) gc_interval: u64,
    /// Serialises collections.
    #[pin]
    pub(crate) gc: Mutex<GcState>,
    /// Where NETATOP_FORCE_GC callers wait for the rate limit.
    #[pin]
    pub(crate) gc_wait: CondVar,
    pub(crate) idle: IdleLimits,
}

/// Bytes of the allocation that holds one taskinfo: the `Arc`'s own
/// allocation, its header up to the value (`Arc::DATA_OFFSET`, the kernel
/// crate's) and the value. The bucket vectors' pointer slots are
/// per-bucket storage, like the bucket arrays, and are not counted.
const TASKINFO_BYTES: usize = Arc::<TaskInfo>::DATA_OFFSET + core::mem::size_of::<TaskInfo>();

impl Netatop {
    /// Creates the empty state.
    pub(crate) fn new(cfg: &Config) -> Result<impl PinInit<Self, Error>> {
        let hasher = Hasher::new(cfg.seed);
        let socks = SockTable::new(cfg.sock_hash_bits, cfg.sockinfo_limit_kb, hasher)?;
        let tasks = TaskTable::new(
            cfg.task_hash_bits,
            entries(cfg.taskinfo_limit_kb, slab_size(TASKINFO_BYTES)),
            hasher,
        )?;
        let cgroup_limit_kb = cfg.cgroup_limit_kb;
        let gc_interval = jiffies_of_ms(cfg.gc_interval_ms);
        Ok(try_pin_init!(Self {
            socks,
            tasks,
            exits <- ExitList::new(),
            cgroups <- Cgroups::new(cgroup_limit_kb),
            gc_interval,
            gc <- new_mutex!(GcState::new(), "netatop_gc"),
            gc_wait <- new_condvar!("netatop_gc_wait"),
            idle: IdleLimits::reference(),
        }? Error))
    }

    /// The global counters and table sizes.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let nre = self.exits.len();
        Snapshot {
            sockinfo: self.socks.len(),
            sockinfo_refused: self.socks.refused(),
            // The cap counts live and finished tasks; /proc shows them apart.
            taskinfo: self.tasks.len().saturating_sub(nre),
            taskinfo_refused: self.tasks.refused(),
            exits: nre,
            ..stats::snapshot()
        }
    }
}
