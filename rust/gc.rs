// SPDX-License-Identifier: GPL-2.0

//! The garbage collector: expires unread exit-list entries, moves finished
//! processes to the exit list, frees finished threads and idle or closed
//! connections.
//!
//! Runs in process context only: every 15 s (module parameter
//! `gc_interval_ms`) from a workqueue, and on NETATOP_FORCE_GC. Collections
//! are serialised by the `gc` mutex of [`Netatop`]; FORCE_GC starts at most
//! two a second.

use kernel::prelude::*;
use kernel::sync::CondVarTimeoutResult;
use kernel::time::Jiffies;

use crate::kernel_services::context::Process;
use crate::kernel_services::task;
use crate::kernel_services::time::{jiffies, jiffies_of_ms};
use crate::state::Netatop;

/// Minimum time between the starts of two collections.
const GC_MIN_GAP_MS: u32 = 500;
/// Unread exit-list entries are freed this long after the process finished
/// (so they live 15 to 30 s with a 15 s collection interval).
const EXIT_TTL_MS: u32 = 15_000;

impl Netatop {
    /// NETATOP_FORCE_GC: returns once a collection that started after this
    /// call has completed. Callers arriving together share one collection; a
    /// collection starts at most every 500 ms, so a caller may wait that long
    /// (interruptibly: a signal gives `ERESTARTSYS`, and nothing is lost).
    pub(crate) fn force_gc(&self, cx: &mut Process) -> Result {
        let gap = jiffies_of_ms(GC_MIN_GAP_MS);
        let mut gc = self.gc.lock();
        // No collection is running while we hold the mutex: any collection
        // completed from now on started after this call.
        let arrived = gc.completed;
        loop {
            if gc.completed > arrived {
                // Another caller's collection covers ours.
                return Ok(());
            }
            let now = jiffies();
            match gc.last_start {
                Some(last) if now.saturating_sub(last) < gap => {
                    // CAST: less than `gap`, which came from a Jiffies.
                    let wait = (gap - now.saturating_sub(last)) as Jiffies;
                    if let CondVarTimeoutResult::Signal { .. } =
                        self.gc_wait.wait_interruptible_timeout(&mut gc, wait)
                    {
                        return Err(ERESTARTSYS);
                    }
                }
                _ => break,
            }
        }
        gc.last_start = Some(jiffies());
        self.collect(cx, false);
        gc.completed += 1;
        drop(gc);
        self.gc_wait.notify_all();
        Ok(())
    }

    /// The periodic collection; the only one that also drops the totals of
    /// removed cgroups (a kernel worker sees every cgroup, while a
    /// FORCE_GC caller in a cgroup namespace would see only its own).
    pub(crate) fn periodic_gc(&self, cx: &mut Process) {
        let mut gc = self.gc.lock();
        gc.last_start = Some(jiffies());
        self.collect(cx, true);
        gc.completed += 1;
        drop(gc);
        self.gc_wait.notify_all();
    }

    /// One collection. Caller holds the collector mutex.
    ///
    /// The sockinfo table is not walked entry by entry: each bucket knows
    /// when its first entry expires (closed TCP at once), and only due
    /// buckets are visited. The connections of a process found finished are
    /// in the buckets its [`crate::taskinfo::BucketHints`] name, which are
    /// made due; a process that had connections in more buckets than those
    /// remember makes this collection sweep the whole table. Either way they
    /// go in this collection, as in 3.2.2, before the processes reach the
    /// exit list, and their counters, final then, are added to their
    /// cgroup's totals as they leave the task table for the exit list.
    fn collect(&self, cx: &mut Process, prune_cgroups: bool) {
        let now = jiffies();
        // Held until the finished processes' counters are in their cgroups'
        // totals (see `Cgroups`).
        let mut cgroups = self.cgroups.lock();
        if prune_cgroups {
            cgroups.prune(now, self.gc_interval, task::cgroup_exists);
        }
        self.exits.expire(now, EXIT_TTL_MS, self.tasks.limit());
        // A finished thread's bindings are cleared where its hints point.
        let finished = self.tasks.collect_finished(cx, |cx, thread| {
            if let Some(buckets) = thread.hints().buckets() {
                buckets.for_each(|i| self.socks.make_due(cx, i));
            }
        });
        let mut sweep = false;
        for t in finished.iter() {
            match t.hints().buckets() {
                Some(buckets) => buckets.for_each(|i| self.socks.make_due(cx, i)),
                None => sweep = true,
            }
        }
        // The finished processes' connections go now, their waiting traffic
        // charged (see `SockInfo::keep`): the exit records are final before
        // a reader can see them.
        self.socks.collect(cx, now, sweep, &self.idle);
        let unqueued = self.exits.push_all(finished, now, |t| {
            cgroups.retire(t.cgroup(), &t.counters().snapshot());
        });
        // Back in the task table before a cgroup reader can look.
        self.tasks.requeue(cx, unqueued);
        drop(cgroups);
    }
}
