// SPDX-License-Identifier: GPL-2.0

//! The per-packet algorithm: find the connection, bind it to the sender,
//! count.
//!
//! Runs in the netfilter hooks, in softirq or process context, under
//! `rcu_read_lock`: it never sleeps, allocates only with
//! `GFP_ATOMIC | __GFP_NOWARN`, and a failed allocation or a full table only
//! makes the packet "unidentified" (and counts an overflow; nothing is
//! printed). The tables' locks keep bottom halves off, and take the hook's
//! context token (see `kernel_services::lock`).

use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::kernel_services::context::{Hook, Process};
use crate::kernel_services::stats::Charge;
use crate::kernel_services::{task, time};
use crate::lane::Hit;
use crate::packet::{Packet, Proto, Sender, Transport};
use crate::sockinfo::{Binder, SockInfo};
use crate::sockkey::{Peer, SockKey};
use crate::state::Netatop;
use crate::stats;
use crate::taskinfo::{NewTask, TaskId, TaskInfo, TaskKind};

/// Nanoseconds per second.
const NSEC_PER_SEC: u64 = 1_000_000_000;

impl Netatop {
    /// Accounts one packet; `cx` is the hook's context (`None` with
    /// interrupts off, where no table lock may be taken). Returns what the
    /// hook adds to the global counters.
    ///
    /// Inlined into each hook's entry point, whose direction and family are
    /// constants there, and split by protocol at once: each path is
    /// straight-line code with no branch on what it already knows.
    #[inline(always)]
    pub(crate) fn packet(&self, pkt: &Packet<'_>, cx: Option<Hook>) -> Charge {
        match pkt.transport() {
            Transport::Udp(Some(ports)) => {
                let key = SockKey::udp(pkt, ports);
                let peer = SockKey::udp_peer(pkt, ports);
                self.connection(pkt, cx, Proto::Udp, key, Some(peer))
            }
            Transport::Tcp(Some(ports)) => {
                let key = SockKey::tcp(pkt, ports);
                self.connection(pkt, cx, Proto::Tcp, key, None)
            }
            th => stats::packet(Proto::of(&th), pkt.direction(), pkt.segments()),
        }
    }

    /// Accounts a TCP or UDP packet of connection `key` (UDP: from or to
    /// `peer`).
    #[inline(always)]
    fn connection(
        &self,
        pkt: &Packet<'_>,
        cx: Option<Hook>,
        proto: Proto,
        key: SockKey,
        peer: Option<Peer<'_>>,
    ) -> Charge {
        let dir = pkt.direction();
        let segs = pkt.segments();
        let Some(cx) = cx else {
            // No stock kernel path gets here: count it, charge nobody.
            return stats::unidentified(proto, dir, segs);
        };
        let hit = Hit {
            now: time::jiffies(),
            dir,
            segs,
            bytes: pkt.wire_bytes(segs),
            tcp_state: if proto == Proto::Tcp {
                pkt.tcp_state()
            } else {
                0
            },
            peer,
        };
        let sender = pkt.sender().filter(|s| s.sent(pkt));
        if self
            .socks
            .count_packet(&cx, key, &hit, sender, self, &self.idle)
        {
            stats::packet(proto, dir, segs)
        } else {
            // Table full or out of memory: nobody can ever be charged.
            stats::unidentified(proto, dir, segs)
        }
    }
}

impl Binder for Netatop {
    /// The last sender wins; the traffic seen before any binding goes to
    /// the process. Out of line: once per connection and sender.
    #[cold]
    #[inline(never)]
    fn rebind(&self, cx: &Hook, si: &mut SockInfo, sender: Sender<'_>, index: usize) {
        self.bind(cx, si, sender, index);
    }
}

impl Netatop {
    /// Binds `si` (in bucket `index`) to the sending process and thread
    /// (the last sender wins); the traffic seen before any binding goes to
    /// the process. Only a new sender needs more than two comparisons.
    #[inline]
    fn bind(&self, cx: &Hook, si: &mut SockInfo, sender: Sender<'_>, index: usize) {
        let group = TaskId {
            id: sender.tgid(),
            kind: TaskKind::Group,
            start: sender.leader_start(),
        };
        if si.group().is_none_or(|g| g.who() != group) && !self.bind_group(cx, si, group, index) {
            return;
        }
        let thread = TaskId {
            id: sender.pid(),
            kind: TaskKind::Thread,
            start: sender.thread_start(),
        };
        if si.thread().is_none_or(|t| t.who() != thread) {
            self.bind_thread(cx, si, thread, index);
        }
    }

    /// Binds `si` to the process `group` (`current`'s), making its taskinfo
    /// if needed; `false` if it cannot be made. Out of line: once per
    /// connection and sender, not per packet.
    #[cold]
    #[inline(never)]
    fn bind_group(&self, cx: &Hook, si: &mut SockInfo, group: TaskId, index: usize) -> bool {
        let Some(g) = self.tasks.get_or_create(cx, group, || {
            let names = task::current_names();
            NewTask {
                btime: names.boot_sec.saturating_add(group.start / NSEC_PER_SEC),
                command: names.leader_comm,
                cgroup: names.cgroup,
            }
        }) else {
            return false;
        };
        // The collector and readers find this connection through it.
        let sees = g.hints().note(index);
        self.socks.bind_group(si, g, sees);
        true
    }

    /// Binds `si` to the thread `thread` (`current`), as
    /// [`Self::bind_group`]; without a taskinfo, to no thread.
    #[cold]
    #[inline(never)]
    fn bind_thread(&self, cx: &Hook, si: &mut SockInfo, thread: TaskId, index: usize) {
        let t = self.tasks.get_or_create(cx, thread, || {
            let names = task::current_names();
            NewTask {
                btime: names.boot_sec.saturating_add(thread.start / NSEC_PER_SEC),
                command: names.thread_comm,
                cgroup: names.cgroup,
            }
        });
        let sees = t.as_ref().is_some_and(|t| t.hints().note(index));
        si.bind_thread(t, sees);
    }

    /// Makes `task`'s counters exact: charges the traffic waiting in its
    /// connections (in the buckets it remembers). Process context; takes
    /// sockinfo bucket locks, so no taskinfo bucket lock may be held.
    pub(crate) fn settle(&self, cx: &Process, task: &TaskInfo) {
        for index in task.hints().remembered() {
            self.socks.flush_bound(cx, index, task);
        }
    }

    /// Makes the counters of all `tasks` exact, locking each bucket one of
    /// them remembers once (many processes often share buckets: a server's
    /// listening socket, a socket passed to children). Process context, as
    /// [`Self::settle`]; `ENOMEM` if the list of buckets cannot be made.
    pub(crate) fn settle_all(&self, cx: &Process, tasks: &[Arc<TaskInfo>]) -> Result {
        // One bit per sockinfo bucket: each is flushed once, in order.
        let words = self.socks.buckets().div_ceil(64);
        let mut seen = KVVec::from_elem(0u64, words, GFP_KERNEL)?;
        for t in tasks {
            for index in t.hints().remembered() {
                if let Some(w) = seen.get_mut(index / 64) {
                    *w |= 1 << (index % 64);
                }
            }
        }
        for (i, &word) in seen.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                // CAST: a bit number, below 64.
                let bit = bits.trailing_zeros() as usize;
                self.socks.flush_bucket(cx, i * 64 + bit);
                bits &= bits - 1;
            }
        }
        Ok(())
    }
}
