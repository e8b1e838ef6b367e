// SPDX-License-Identifier: GPL-2.0

//! The exit list: finished processes waiting to be read by netatopd (or
//! atop) with GETCNT_EXIT, and the EMPTY_EXIT handshake.
//!
//! Only process context touches it (the collector and getsockopt callers),
//! so it is guarded by a mutex and may allocate with `GFP_KERNEL`.

use kernel::prelude::*;
use kernel::sync::{Arc, CondVar, Mutex};
use kernel::time::Jiffies;
use kernel::{new_condvar, new_mutex};

use crate::fifo::Fifo;
use crate::kernel_services::context::Process;
use crate::kernel_services::time::{jiffies, jiffies_of_ms};
use crate::limits::Limit;
use crate::taskinfo::TaskInfo;

/// How long a consumer that took a record may take to come back for the next
/// one before EMPTY_EXIT stops waiting for it (it may have died).
const HANDOFF_MS: u32 = 2000;

/// A finished process.
struct ExitEntry {
    task: Arc<TaskInfo>,
    /// `jiffies_64` when it was put on the list.
    exittime: u64,
}

struct Inner {
    /// Oldest first (by `exittime`).
    entries: Fifo<ExitEntry>,
    /// `jiffies_64` when GETCNT_EXIT last handed out a record whose reader
    /// has not come back yet for the next one.
    handed_out: Option<u64>,
}

/// The FIFO of finished processes.
///
/// # Invariants
///
/// Every entry holds one reservation of the taskinfo [`Limit`] given to the
/// methods; it is released when the entry leaves the list.
#[pin_data]
pub(crate) struct ExitList {
    #[pin]
    inner: Mutex<Inner>,
    /// Signalled when entries are added.
    #[pin]
    filled: CondVar,
    /// Signalled when the list may have become empty with its reader back.
    #[pin]
    empty: CondVar,
}

/// `a - b` in jiffies, 0 if `b` is later.
fn since(now: u64, then: u64) -> u64 {
    now.saturating_sub(then)
}

impl ExitList {
    /// An empty list.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- new_mutex!(Inner { entries: Fifo::new(), handed_out: None }, "netatop_exitlist"),
            filled <- new_condvar!("netatop_exit_filled"),
            empty <- new_condvar!("netatop_exit_empty"),
        })
    }

    /// Number of finished processes waiting.
    pub(crate) fn len(&self) -> u64 {
        // CAST: a length fits in u64.
        self.inner.lock().entries.len() as u64
    }

    /// Appends finished processes (each already holding a reservation of the
    /// taskinfo limit), calling `queued` for each one queued. Returns the
    /// ones that could not be queued (out of memory); the caller keeps them
    /// for the next collection.
    pub(crate) fn push_all(
        &self,
        tasks: KVec<Arc<TaskInfo>>,
        now: u64,
        mut queued: impl FnMut(&TaskInfo),
    ) -> KVec<Arc<TaskInfo>> {
        if tasks.is_empty() {
            return tasks;
        }
        let mut inner = self.inner.lock();
        if inner.entries.reserve_back(tasks.len()).is_err() {
            return tasks;
        }
        for task in tasks {
            queued(&task);
            // Cannot fail: capacity reserved above.
            let _ = inner.entries.push_back_within_capacity(ExitEntry {
                task,
                exittime: now,
            });
        }
        drop(inner);
        self.filled.notify_all();
        KVec::new()
    }

    /// Frees the entries older than `ttl_ms` (nobody read them in time):
    /// the oldest ones, so O(expired).
    pub(crate) fn expire(&self, now: u64, ttl_ms: u32, limit: &Limit) {
        let ttl = jiffies_of_ms(ttl_ms);
        let mut inner = self.inner.lock();
        let mut expired = 0u64;
        while inner
            .entries
            .front()
            .is_some_and(|e| since(now, e.exittime) >= ttl)
        {
            drop(inner.entries.pop_front());
            expired += 1;
        }
        limit.release(expired);
        let empty = inner.entries.is_empty();
        drop(inner);
        if expired > 0 && empty {
            self.empty.notify_all();
        }
    }

    /// GETCNT_EXIT: hands the oldest finished process to `write`, blocking
    /// until there is one. A signal gives `ERESTARTSYS` (EINTR for the
    /// caller).
    ///
    /// The entry is taken off the list before `write` runs without the
    /// mutex (a slow user page cannot stall the collector), so no other
    /// reader can get it too; if `write` fails it goes back to the head, so
    /// nothing is lost. From the moment it leaves the list until this
    /// reader comes back, the record counts as handed out: EMPTY_EXIT waits
    /// for it (the list alone looks empty while it is being copied).
    pub(crate) fn take(
        &self,
        _cx: &mut Process,
        limit: &Limit,
        write: impl Fn(&TaskInfo) -> Result,
    ) -> Result {
        let mut inner = self.inner.lock();
        // The reader is back: the previous record, if any, is dealt with.
        inner.handed_out = None;
        let entry = loop {
            if let Some(entry) = inner.entries.pop_front() {
                inner.handed_out = Some(jiffies());
                break entry;
            }
            // Empty, and the reader that drained it is here: the handshake
            // atop's EMPTY_EXIT waits for.
            self.empty.notify_all();
            if self.filled.wait_interruptible(&mut inner) {
                return Err(ERESTARTSYS);
            }
        };
        drop(inner);

        let written = write(&entry.task);
        let mut inner = self.inner.lock();
        match written {
            Ok(()) => {
                limit.release(1);
                // Handed out until this reader comes back for the next one.
                inner.handed_out = Some(jiffies());
                Ok(())
            }
            Err(e) => {
                // Nothing reached the reader.
                inner.handed_out = None;
                if inner.entries.push_front(entry).is_err() {
                    // Out of memory: the record is dropped, the cap released.
                    limit.release(1);
                    pr_warn!("out of memory: an exit record was lost\n");
                }
                let empty = inner.entries.is_empty();
                drop(inner);
                if empty {
                    self.empty.notify_all();
                }
                Err(e)
            }
        }
    }

    /// EMPTY_EXIT: blocks until the list is empty and the reader of the last
    /// record has come back for the next one (so that record is in
    /// netatopd's log), or has not come back within `HANDOFF_MS`.
    pub(crate) fn wait_empty(&self, _cx: &mut Process) -> Result {
        let handoff = jiffies_of_ms(HANDOFF_MS);
        let mut inner = self.inner.lock();
        loop {
            let now = jiffies();
            let pending = inner.handed_out.filter(|&t| since(now, t) < handoff);
            if inner.entries.is_empty() && pending.is_none() {
                return Ok(());
            }
            // Re-check when the handoff would time out at the latest.
            let timeout = pending.map_or(handoff, |t| handoff - since(now, t)).max(1);
            // CAST: bounded by `handoff`, which came from a Jiffies.
            let timeout = timeout as Jiffies;
            if let kernel::sync::CondVarTimeoutResult::Signal { .. } =
                self.empty.wait_interruptible_timeout(&mut inner, timeout)
            {
                return Err(ERESTARTSYS);
            }
        }
    }
}
