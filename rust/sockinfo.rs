// SPDX-License-Identifier: GPL-2.0

//! Connections as seen in packets: *sockinfo*.
//!
//! A TCP sockinfo is keyed by its quintuple, a UDP one by its local port;
//! both also by network namespace, so identical tuples in two containers
//! never collide.

use kernel::alloc::KVBox;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::Arc;

use crate::bhlock::SpinLockBh;

use crate::gc::IdleLimits;
use crate::glue;
use crate::hash::Hasher;
use crate::limits::Limit;
use crate::packet::{Direction, Packet, Proto};
use crate::stats::Stats;
use crate::taskinfo::TaskInfo;

/// `TCP_ESTABLISHED`.
const TCP_ESTABLISHED: u8 = 1;
/// `TCP_LISTEN`.
const TCP_LISTEN: u8 = 10;

/// Whether a TCP socket in `state` has seen its connection end (FIN or RST):
/// `FIN_WAIT1` to `LAST_ACK` and `CLOSING` (`include/net/tcp_states.h`;
/// the enum is not in the kernel crate's bindings).
fn tcp_ended(state: u8) -> bool {
    matches!(state, 4..=9 | 11)
}

/// Slots of the ring of buckets in which a TCP connection recently ended.
const ENDED_RING: usize = 256;
/// How many of those buckets a packet that finds the table full tries.
const RECLAIM_TRIES: usize = 32;
/// UDP ports up to this one are never dropped for idleness (as in 3.2.2).
const UDP_KEEP_PORTS: u16 = 1024;

/// Identity of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SockKey {
    /// A TCP connection.
    Tcp {
        /// Network namespace cookie.
        netns: u64,
        /// Local address.
        local: [u8; 16],
        /// Remote address.
        remote: [u8; 16],
        /// Local port.
        lport: u16,
        /// Remote port.
        rport: u16,
        /// Address family (`NFPROTO_*`).
        family: u8,
    },
    /// A local UDP port (any address, any family, as in netatop 3.2.2).
    Udp {
        /// Network namespace cookie.
        netns: u64,
        /// Local port.
        lport: u16,
    },
}

impl SockKey {
    /// The key of a TCP or UDP packet; `None` for other protocols.
    pub(crate) fn of(pkt: &Packet) -> Option<Self> {
        let (local, lport, remote, rport) = pkt.local_remote();
        match pkt.proto() {
            Proto::Tcp => Some(SockKey::Tcp {
                netns: pkt.netns,
                local,
                remote,
                lport,
                rport,
                family: pkt.family,
            }),
            Proto::Udp => Some(SockKey::Udp {
                netns: pkt.netns,
                lport,
            }),
            Proto::Icmp | Proto::Other => None,
        }
    }

    fn hash(&self, hasher: &Hasher) -> u64 {
        match *self {
            SockKey::Tcp {
                netns,
                local,
                remote,
                lport,
                rport,
                family,
            } => {
                let half = |a: [u8; 16], i: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&a[i..i + 8]);
                    u64::from_ne_bytes(w)
                };
                hasher.hash(&[
                    netns,
                    half(local, 0) ^ half(remote, 0).rotate_left(32),
                    half(local, 8) ^ half(remote, 8).rotate_left(32),
                    (u64::from(lport) << 32) | (u64::from(rport) << 16) | u64::from(family),
                ])
            }
            SockKey::Udp { netns, lport } => hasher.hash(&[netns, u64::from(lport) | (1 << 40)]),
        }
    }

    /// The protocol whose counters this connection feeds.
    pub(crate) fn proto(&self) -> Proto {
        match self {
            SockKey::Tcp { .. } => Proto::Tcp,
            SockKey::Udp { .. } => Proto::Udp,
        }
    }
}

/// Traffic of a connection not yet bound to a task.
#[derive(Default)]
pub(crate) struct Unbound {
    /// Packets sent.
    pub(crate) sndpacks: u64,
    /// Bytes sent.
    pub(crate) sndbytes: u64,
    /// Packets received.
    pub(crate) rcvpacks: u64,
    /// Bytes received.
    pub(crate) rcvbytes: u64,
}

/// One connection.
pub(crate) struct SockInfo {
    /// Identity.
    pub(crate) key: SockKey,
    /// The process it is bound to (the last one that sent on it).
    pub(crate) group: Option<Arc<TaskInfo>>,
    /// The thread it is bound to.
    pub(crate) thread: Option<Arc<TaskInfo>>,
    /// Traffic seen before any binding.
    pub(crate) unbound: Unbound,
    /// `jiffies_64` of the last packet.
    pub(crate) lastact: u64,
    /// Last TCP state seen on the sending or receiving socket.
    last_state: u8,
    next: Option<KBox<SockInfo>>,
}

impl SockInfo {
    /// The first `jiffies_64` at which the collector drops this entry if no
    /// further packet arrives (finished tasks aside); `u64::MAX` for never.
    ///
    /// The rules of netatop 3.2.2: a TCP connection not `ESTABLISHED` or
    /// `LISTEN` at once, an established one after 1800 s without packets; a
    /// UDP port above 1024 after 16 s; an entry never bound to a process
    /// after 60 s.
    pub(crate) fn drop_at(&self, idle: &IdleLimits) -> u64 {
        // Kept while `now - lastact <= limit`.
        let after = |limit: u64| self.lastact.saturating_add(limit).saturating_add(1);
        let by_kind = match self.key {
            SockKey::Tcp { .. } => {
                if self.last_state == TCP_ESTABLISHED || self.last_state == TCP_LISTEN {
                    after(idle.tcp)
                } else {
                    0
                }
            }
            SockKey::Udp { lport, .. } if lport <= UDP_KEEP_PORTS => u64::MAX,
            SockKey::Udp { .. } => after(idle.udp),
        };
        if self.group.is_some() {
            by_kind
        } else {
            by_kind.min(after(idle.unbound))
        }
    }

    /// Decides whether the collector keeps this entry. A dropped entry that
    /// was never bound has its traffic counted as unidentified; a bound one's
    /// traffic is already with its process. Drops the thread binding of a
    /// finished thread.
    fn keep(&mut self, now: u64, idle: &IdleLimits, stats: &Stats) -> bool {
        if self.group.as_ref().is_some_and(|g| g.is_dead()) {
            return false;
        }
        if self.thread.as_ref().is_some_and(|t| t.is_dead()) {
            self.thread = None;
        }
        let keep = now < self.drop_at(idle);
        if !keep {
            self.charge_unbound(stats);
        }
        keep
    }

    /// Counts the traffic of an entry that goes without ever having been
    /// bound as unidentified (a bound entry's is with its process already).
    fn charge_unbound(&self, stats: &Stats) {
        if self.group.is_none() {
            let proto = self.key.proto();
            stats.unident(proto, Direction::Send, self.unbound.sndpacks);
            stats.unident(proto, Direction::Receive, self.unbound.rcvpacks);
        }
    }

    /// Records the TCP state of the socket a packet came from; `true` when
    /// this packet shows the connection has just ended.
    pub(crate) fn set_tcp_state(&mut self, state: u8) -> bool {
        let ended = tcp_ended(state) && !tcp_ended(self.last_state);
        self.last_state = state;
        ended
    }

    /// Whether the entry may go at once to make room for a new one: its TCP
    /// connection has ended, its process has finished, or (UDP) the
    /// collector would drop it now. A connection still being set up is not.
    fn reclaimable(&self, now: u64, idle: &IdleLimits) -> bool {
        if self.group.as_ref().is_some_and(|g| g.is_dead()) {
            return true;
        }
        match self.key {
            SockKey::Tcp { .. } => tcp_ended(self.last_state),
            SockKey::Udp { .. } => now >= self.drop_at(idle),
        }
    }

    /// Adds a packet to the unbound counters.
    pub(crate) fn add_unbound(&mut self, dir: Direction, packets: u64, bytes: u64) {
        let u = &mut self.unbound;
        match dir {
            // Wrapping, as the C counters of the ABI do.
            Direction::Send => {
                u.sndpacks = u.sndpacks.wrapping_add(packets);
                u.sndbytes = u.sndbytes.wrapping_add(bytes);
            }
            Direction::Receive => {
                u.rcvpacks = u.rcvpacks.wrapping_add(packets);
                u.rcvbytes = u.rcvbytes.wrapping_add(bytes);
            }
        }
    }
}

/// A bucket: a singly linked chain of connections.
///
/// # Invariants
///
/// `due` is at most the [`SockInfo::drop_at`] of every entry: the collector
/// has nothing to do here before `due`, unless a task has finished.
pub(crate) struct Chain {
    head: Option<KBox<SockInfo>>,
    due: u64,
}

impl Chain {
    const fn new() -> Self {
        // INVARIANT: no entry.
        Self {
            head: None,
            due: u64::MAX,
        }
    }

    /// Finds `key`, or appends a new entry made by `make` (which may refuse).
    /// One walk of the chain either way. The caller must call
    /// [`Due::lower`] with the entry's [`SockInfo::drop_at`] once done with
    /// it, so that the collector looks at the bucket in time.
    pub(crate) fn find_or_insert(
        &mut self,
        key: &SockKey,
        make: impl FnOnce() -> Option<KBox<SockInfo>>,
    ) -> Option<(&mut SockInfo, Due<'_>)> {
        let mut cur = &mut self.head;
        while cur.as_ref().is_some_and(|n| n.key != *key) {
            cur = &mut cur.as_mut()?.next;
        }
        if cur.is_none() {
            *cur = Some(make()?);
        }
        Some((cur.as_deref_mut()?, Due(&mut self.due)))
    }
}

/// The `due` time of a chain, lent out with one of its entries.
pub(crate) struct Due<'a>(&'a mut u64);

impl Due<'_> {
    /// Makes the bucket due no later than `at` (the [`SockInfo::drop_at`] of
    /// an entry just created or changed), publishing it in `hint`.
    pub(crate) fn lower(self, at: u64, hint: &Atomic<u64>) {
        if at < *self.0 {
            // INVARIANT: lowered to the changed entry's time.
            *self.0 = at;
            hint.store(at, Relaxed);
        }
    }
}

impl Chain {
    /// Drops the entries the collector does not keep (see
    /// [`SockInfo::keep`]) and recomputes `due`; returns how many were
    /// dropped. A kept entry's own link is left alone.
    fn collect(&mut self, now: u64, idle: &IdleLimits, stats: &Stats) -> u64 {
        let mut dropped = 0;
        let mut due = u64::MAX;
        let mut cur = &mut self.head;
        while let Some(mut node) = cur.take() {
            if node.keep(now, idle, stats) {
                due = due.min(node.drop_at(idle));
                cur = &mut cur.insert(node).next;
            } else {
                *cur = node.next.take();
                dropped += 1;
            }
        }
        // INVARIANT: the minimum over the entries left.
        self.due = due;
        dropped
    }
}

impl Chain {
    /// Unlinks the first reclaimable entry (see [`SockInfo::reclaimable`]),
    /// charging its traffic as the collector would; `None` if there is none.
    /// `due` stays a lower bound of what is left.
    fn reclaim_one(&mut self, now: u64, idle: &IdleLimits, stats: &Stats) -> Option<()> {
        let mut cur = &mut self.head;
        while cur.as_ref().is_some_and(|n| !n.reclaimable(now, idle)) {
            cur = &mut cur.as_mut()?.next;
        }
        let mut node = cur.take()?;
        *cur = node.next.take();
        node.charge_unbound(stats);
        Some(())
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        // Iteratively, so that a long chain cannot exhaust the stack.
        let mut cur = self.head.take();
        while let Some(mut node) = cur {
            cur = node.next.take();
        }
    }
}

/// A bucket's lock and chain.
#[pin_data]
pub(crate) struct Bucket {
    /// The chain.
    #[pin]
    pub(crate) chain: SpinLockBh<Chain>,
    /// A copy of the chain's `due`, written under the lock and read without
    /// it by the collector to skip buckets with nothing to do. A stale read
    /// only postpones the bucket to the next collection.
    pub(crate) due_hint: Atomic<u64>,
}

/// All connections, hashed by key.
///
/// Locking: a bucket lock is taken first on the packet path; taskinfo bucket
/// locks nest inside it. Making room in a full table takes other bucket
/// locks with `try_lock` only (never waiting, so in no order).
pub(crate) struct SockTable {
    buckets: Pin<KVBox<[Bucket]>>,
    mask: usize,
    hasher: Hasher,
    limit: Limit,
    /// Buckets in which a TCP connection recently ended (`usize::MAX`: none),
    /// where a full table finds room; a hint, overwritten round robin.
    ended: [Atomic<usize>; ENDED_RING],
    /// Slots of `ended` written so far.
    ended_next: Atomic<usize>,
}

impl SockTable {
    /// An empty table of `1 << bits` buckets holding at most `max` entries.
    pub(crate) fn new(bits: u32, max: usize, hasher: Hasher) -> Result<Self> {
        let n = 1usize << bits;
        let buckets = KVBox::pin_slice(
            |_| {
                try_pin_init!(Bucket {
                    chain <- crate::new_spinlock_bh!(Chain::new(), "netatop_sock_bucket"),
                    due_hint: Atomic::new(u64::MAX),
                }? Error)
            },
            n,
            GFP_KERNEL,
        )?;
        Ok(Self {
            buckets,
            mask: n - 1,
            hasher,
            limit: Limit::new(max),
            ended: [const { Atomic::new(usize::MAX) }; ENDED_RING],
            ended_next: Atomic::new(0),
        })
    }

    /// The bucket of `key` and its index.
    pub(crate) fn bucket(&self, key: &SockKey) -> (usize, &Bucket) {
        // CAST: masked to the table size, which fits in usize.
        let index = (key.hash(&self.hasher) as usize) & self.mask;
        (index, &self.buckets[index])
    }

    /// Makes the collection about to run visit bucket `index` (which holds a
    /// connection of a finished process). Under the bucket lock, so that a
    /// packet cannot raise the hint again before the visit.
    pub(crate) fn make_due(&self, index: usize) {
        if let Some(bucket) = self.buckets.get(index) {
            let mut chain = bucket.chain.lock();
            // INVARIANT: 0 is at most every entry's `drop_at`.
            chain.due = 0;
            bucket.due_hint.store(0, Relaxed);
        }
    }

    /// Notes that a TCP connection in bucket `index` has just ended: its
    /// entry is the first to go when the table is full.
    pub(crate) fn note_ended(&self, index: usize) {
        let slot = self.ended_next.fetch_add(1, Relaxed) % ENDED_RING;
        self.ended[slot].store(index, Relaxed);
    }

    /// Frees one reclaimable entry (see [`SockInfo::reclaimable`]) from the
    /// buckets where connections ended, oldest note first; `false` if none
    /// was found in [`RECLAIM_TRIES`] of them. A noted bucket with nothing
    /// left to take is forgotten. Called with one bucket lock held (atomic
    /// context): the others are only tried, and a bucket whose lock is busy
    /// (the caller's own among them) is skipped.
    fn reclaim(&self, now: u64, idle: &IdleLimits, stats: &Stats) -> bool {
        // The slot written next holds the oldest note.
        let oldest = self.ended_next.load(Relaxed);
        let mut tries = 0;
        for n in 0..ENDED_RING {
            let slot = &self.ended[oldest.wrapping_add(n) % ENDED_RING];
            let Some(bucket) = self.buckets.get(slot.load(Relaxed)) else {
                continue;
            };
            let Some(mut chain) = bucket.chain.try_lock() else {
                continue;
            };
            let freed = chain.reclaim_one(now, idle, stats).is_some();
            drop(chain);
            if freed {
                self.limit.release(1);
                return true;
            }
            slot.store(usize::MAX, Relaxed);
            tries += 1;
            if tries == RECLAIM_TRIES {
                break;
            }
        }
        false
    }

    /// A new, unbound entry for `key`, counted against the cap; when the
    /// table is full, an entry whose connection has ended makes room for it.
    /// `None` when there is no room or the allocation fails (both counted as
    /// overflow).
    pub(crate) fn make(
        &self,
        key: SockKey,
        now: u64,
        idle: &IdleLimits,
        stats: &Stats,
    ) -> Option<KBox<SockInfo>> {
        let room = self.limit.try_reserve()
            || (self.reclaim(now, idle, stats) && self.limit.try_reserve());
        if !room {
            self.limit.refuse();
            return None;
        }
        let node = KBox::new(
            SockInfo {
                key,
                group: None,
                thread: None,
                unbound: Unbound::default(),
                lastact: now,
                last_state: 0,
                next: None,
            },
            GFP_ATOMIC | __GFP_NOWARN,
        )
        .ok();
        if node.is_none() {
            self.limit.refuse_reserved();
        }
        node
    }

    /// Drops closed, idle and orphaned connections (see [`SockInfo::keep`]).
    /// Visits only the buckets that are due, or all of them when `sweep`. Process context;
    /// takes the lock of each bucket visited in turn.
    pub(crate) fn collect(&self, now: u64, sweep: bool, idle: &IdleLimits, stats: &Stats) {
        for (i, bucket) in self.buckets.iter().enumerate() {
            if i % 1024 == 1023 {
                glue::cond_resched();
            }
            if !sweep && bucket.due_hint.load(Relaxed) > now {
                continue;
            }
            let mut chain = bucket.chain.lock();
            let dropped = chain.collect(now, idle, stats);
            bucket.due_hint.store(chain.due, Relaxed);
            drop(chain);
            if dropped > 0 {
                self.limit.release(dropped);
            }
        }
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> u64 {
        self.limit.used()
    }

    /// Number of entries refused because of the cap.
    pub(crate) fn overflows(&self) -> u64 {
        self.limit.overflows()
    }
}
