// SPDX-License-Identifier: GPL-2.0

//! Per-cgroup totals of finished processes.
//!
//! A process is counted for one cgroup (v2, default hierarchy): the one its
//! sending thread was in when its taskinfo was made (see
//! [`crate::taskinfo::TaskInfo::cgroup`]). A cgroup's totals are the
//! counters of its processes in the task table, summed when read, plus what
//! its finished processes left here when they moved to the exit list. No
//! packet touches this table: it changes in the collector and is read by
//! the getsockopt commands, both in process context, under its mutex.
//!
//! A removed cgroup's totals are kept while the periodic collection sees it
//! gone for less than one collection interval, then dropped.

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;

use crate::uapi::TaskCount;

/// The finished processes' totals of one cgroup.
struct Entry {
    /// cgroup id.
    id: u64,
    /// Their counters.
    tc: TaskCount,
    /// `jiffies_64` when the collector first found the cgroup gone.
    gone_since: Option<u64>,
}

/// The table under the mutex.
///
/// # Invariants
///
/// `entries` is sorted by `id`, without duplicates, and holds at most
/// `max` entries.
pub(crate) struct Totals {
    entries: KVec<Entry>,
    max: usize,
    overflows: u64,
}

/// The finished processes' totals of every cgroup, under a mutex.
///
/// Lock order: after the collector's mutex, before the exit list's mutex and
/// every bucket lock. A reader that sums a cgroup holds it while it visits
/// the task table, and the collector holds it from taking finished processes
/// out of the task table until their totals are here, so no reader sees a
/// process in both places or in neither.
#[pin_data]
pub(crate) struct Cgroups {
    #[pin]
    totals: Mutex<Totals>,
}

impl Cgroups {
    /// An empty table holding at most the cgroups whose entries fit in
    /// `kb` KiB.
    pub(crate) fn new(kb: u32) -> impl PinInit<Self> {
        // CAST: u32 fits in usize on every Linux target.
        let max = (kb as usize).saturating_mul(1024) / core::mem::size_of::<Entry>();
        pin_init!(Self {
            // INVARIANT: empty.
            totals <- new_mutex!(
                Totals { entries: KVec::new(), max, overflows: 0 },
                "netatop_cgroups"
            ),
        })
    }

    /// Locks the table.
    pub(crate) fn lock(&self) -> kernel::sync::MutexGuard<'_, Totals> {
        self.totals.lock()
    }
}

impl Totals {
    /// Adds a finished process's counters to its cgroup's totals. A process
    /// that never counted a packet leaves nothing. Past the cap (or out of
    /// memory) the counters are lost and an overflow counted.
    pub(crate) fn retire(&mut self, id: u64, tc: &TaskCount) {
        if tc.is_zero() {
            return;
        }
        match self.entries.binary_search_by_key(&id, |e| e.id) {
            Ok(i) => {
                if let Some(e) = self.entries.get_mut(i) {
                    e.tc.add(tc);
                }
            }
            Err(i) => {
                let entry = Entry {
                    id,
                    tc: *tc,
                    gone_since: None,
                };
                if self.entries.len() >= self.max
                    || self.entries.reserve(1, GFP_KERNEL).is_err()
                    || self.entries.insert_within_capacity(i, entry).is_err()
                {
                    self.overflows += 1;
                }
                // INVARIANT: inserted at its sorted place, under the cap.
            }
        }
    }

    /// The finished processes' totals of cgroup `id`, if any are kept.
    pub(crate) fn get(&self, id: u64) -> Option<TaskCount> {
        let i = self.entries.binary_search_by_key(&id, |e| e.id).ok()?;
        self.entries.get(i).map(|e| e.tc)
    }

    /// Every kept cgroup and its totals, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &TaskCount)> {
        self.entries.iter().map(|e| (e.id, &e.tc))
    }

    /// Finished processes whose counters were lost to the cap.
    pub(crate) fn overflows(&self) -> u64 {
        self.overflows
    }

    /// Drops the totals of cgroups that `exists` has said are gone for at
    /// least `grace` jiffies (so for at least one collection interval when
    /// called by every periodic collection with that interval).
    pub(crate) fn prune(&mut self, now: u64, grace: u64, exists: impl Fn(u64) -> bool) {
        // INVARIANT: removing entries keeps the order.
        self.entries.retain(|e| {
            if exists(e.id) {
                e.gone_since = None;
                return true;
            }
            let since = *e.gone_since.get_or_insert(now);
            now.saturating_sub(since) < grace
        });
    }
}
