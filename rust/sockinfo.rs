// SPDX-License-Identifier: GPL-2.0

//! Connections as seen in packets: *sockinfo*.
//!
//! A TCP sockinfo is keyed by its quintuple, a UDP one by its local port;
//! both also by network namespace, so identical tuples in two containers
//! never collide.
//!
//! A connection's traffic is added to its process and thread through
//! [`SockInfo::count`]. When the connection's bucket is one that both tasks
//! remember (see [`crate::taskinfo::BucketHints::note`]), the traffic waits
//! in the entry, under the bucket lock the packet path holds anyway, and
//! reaches the tasks' shared counters only when they are read, when the
//! binding changes, or when the entry goes: a steady stream touches no
//! taskinfo and no atomic. Readers make the counters exact first with
//! [`SockTable::flush_bound`] on the task's remembered buckets. A task with
//! connections in more buckets than it remembers is charged directly for
//! those.
//!
//! Such a batched connection (or one never bound) can be its bucket's lane
//! connection ([`crate::lane`]): its packets are then counted without the
//! lock, and every lock of the bucket ([`Bucket::lock`]) first adds them to
//! the entry, so that under the lock the entries are exact.

use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::Arc;

use crate::hash::Hasher;
use crate::kernel_services::context::{Hook, LockContext, Process};
use crate::kernel_services::lock::{BhGuard, BhLock};
use crate::kernel_services::slab::{Slab, SlabBox};
use crate::kernel_services::time::jiffies_of_ms;
use crate::lane::{Drained, Hit, Lane, Opening, Seal};
use crate::limits::{entries, Limit, Refused};
use crate::packet::{Direction, Proto, Sender};
use crate::ring::{BucketRing, Offer};
use crate::sockkey::SockKey;
use crate::stats;
use crate::table::BucketTable;
use crate::taskinfo::{TaskId, TaskInfo, TaskKind};

/// `TCP_ESTABLISHED`.
const TCP_ESTABLISHED: u8 = 1;
/// `TCP_LISTEN`.
const TCP_LISTEN: u8 = 10;

/// Whether a TCP connection in `state` is still being set up: no state seen
/// yet (0: only packets without a socket, such as a SYN to a listener),
/// `SYN_SENT`, `SYN_RECV` or `NEW_SYN_RECV` (a request socket's SYN-ACK).
fn tcp_setup(state: u8) -> bool {
    matches!(state, 0 | 2 | 3 | 12)
}

/// Whether a TCP socket in `state` has seen its connection end (FIN or RST):
/// `FIN_WAIT1` to `LAST_ACK` and `CLOSING` (`include/net/tcp_states.h`;
/// the enum is not in the kernel crate's bindings).
fn tcp_ended(state: u8) -> bool {
    matches!(state, 4..=9 | 11)
}

/// Buckets a full table's scan for room visits at most, after the noted
/// ones, and of those the most it locks.
const SCAN_BUCKETS: usize = 1024;
const SCAN_LOCKED: usize = 64;

/// Entries no local process has sent on (never bound) may fill at most
/// 1/`UNBOUND_SHARE` of the table.
const UNBOUND_SHARE: usize = 4;
/// UDP ports up to this one are never dropped for idleness (as in 3.2.2).
const UDP_KEEP_PORTS: u16 = 1024;

/// Idle times after which connections are dropped.
pub(crate) struct IdleLimits {
    /// UDP port above 1024 with no packet for this long.
    udp: u64,
    /// TCP connection with no packet for this long.
    tcp: u64,
    /// Connection never bound to a process, idle for this long: its traffic
    /// becomes "unidentified".
    unbound: u64,
    /// TCP connection still being set up with no packet for this long:
    /// longer than the longest gap between two SYN (or SYN-ACK)
    /// retransmissions with the default `tcp_syn_retries` (32 s).
    setup: u64,
    /// TCP connection still being set up with no packet for this long: it
    /// waits on a retransmission (the first comes after 1 s), so a full
    /// table may take its place.
    stalled: u64,
}

impl IdleLimits {
    /// The limits of netatop 3.2.2: 16 s, 1800 s, 60 s; and 60 s for a
    /// handshake, which 3.2.2 dropped at the next collection.
    pub(crate) fn reference() -> Self {
        Self {
            udp: jiffies_of_ms(16_000),
            tcp: jiffies_of_ms(1_800_000),
            unbound: jiffies_of_ms(60_000),
            setup: jiffies_of_ms(60_000),
            stalled: jiffies_of_ms(1_000),
        }
    }
}

/// Packets and bytes of a connection, each way.
#[derive(Clone, Copy, Default)]
pub(crate) struct Traffic {
    /// Packets sent.
    pub(crate) sndpacks: u64,
    /// Bytes sent.
    pub(crate) sndbytes: u64,
    /// Packets received.
    pub(crate) rcvpacks: u64,
    /// Bytes received.
    pub(crate) rcvbytes: u64,
}

impl Traffic {
    /// Adds a packet (wrapping, as the C counters of the ABI do).
    #[inline(always)]
    fn add(&mut self, dir: Direction, packets: u64, bytes: u64) {
        match dir {
            Direction::Send => {
                self.sndpacks = self.sndpacks.wrapping_add(packets);
                self.sndbytes = self.sndbytes.wrapping_add(bytes);
            }
            Direction::Receive => {
                self.rcvpacks = self.rcvpacks.wrapping_add(packets);
                self.rcvbytes = self.rcvbytes.wrapping_add(bytes);
            }
        }
    }

    /// `self - earlier`, counter by counter (wrapping).
    fn since(&self, earlier: &Traffic) -> Traffic {
        Traffic {
            sndpacks: self.sndpacks.wrapping_sub(earlier.sndpacks),
            sndbytes: self.sndbytes.wrapping_sub(earlier.sndbytes),
            rcvpacks: self.rcvpacks.wrapping_sub(earlier.rcvpacks),
            rcvbytes: self.rcvbytes.wrapping_sub(earlier.rcvbytes),
        }
    }

    /// Adds everything to `task`'s counters for `proto`.
    fn charge(&self, task: &TaskInfo, proto: Proto) {
        let c = task.counters();
        c.add(proto, Direction::Send, self.sndpacks, self.sndbytes);
        c.add(proto, Direction::Receive, self.rcvpacks, self.rcvbytes);
    }
}

/// A sockinfo in its slab object: a link of a bucket's chain.
pub(crate) type Node = SlabBox<SockInfo>;

/// One connection.
///
/// # Invariants
///
/// `total` is all the traffic of the connection since the entry was made;
/// `charged` the part of it already in the tasks' counters (or counted as
/// unidentified). The rest, [`SockInfo::pending`], is in no task's
/// counters: with no `group`, all the traffic so far; with a `group`, what
/// was counted since the last [`SockInfo::flush`], and only while
/// [`SockInfo::batched`] (else it is nothing, and traffic goes straight to
/// the tasks as well). `group_sees` says that the group remembers this
/// entry's bucket, `thread_sees` that the thread does (or that there is no
/// thread), so that a reader of either visits the bucket and flushes the
/// entry.
///
/// `thread`, if any, is a thread of `group`'s process (both come from the
/// same sender: [`SockInfo::bind_group`] clears `thread`), so a sender
/// that is `thread` belongs to `group`.
pub(crate) struct SockInfo {
    /// Identity (and, for UDP, the last remote end: see [`SockKey`]).
    key: SockKey,
    /// The process it is bound to (the last one that sent on it).
    group: Option<Arc<TaskInfo>>,
    /// The thread it is bound to.
    thread: Option<Arc<TaskInfo>>,
    /// Everything counted on it.
    total: Traffic,
    /// What of `total` the tasks have (see the invariants).
    charged: Traffic,
    /// `jiffies_64` of the last packet.
    lastact: u64,
    /// Last TCP state seen on the sending or receiving socket.
    last_state: u8,
    /// The group remembers this entry's bucket.
    group_sees: bool,
    /// The thread remembers this entry's bucket, or there is no thread.
    thread_sees: bool,
    next: Option<Node>,
}

// A sockinfo is one 152-byte object of its own slab cache (the cap is
// computed from the cache's object size, and the bench measures it).
const _: () = assert!(core::mem::size_of::<SockInfo>() <= 152);

impl SockInfo {
    /// The process the connection is bound to.
    pub(crate) fn group(&self) -> Option<&Arc<TaskInfo>> {
        self.group.as_ref()
    }

    /// The thread the connection is bound to.
    pub(crate) fn thread(&self) -> Option<&Arc<TaskInfo>> {
        self.thread.as_ref()
    }

    /// Whether it is bound to `sender`'s process and thread: to its thread,
    /// whose process is then the bound one (see the invariants). A pid and
    /// a start time name one thread, which never changes process.
    #[inline(always)]
    pub(crate) fn bound_to(&self, sender: Sender<'_>) -> bool {
        self.thread.as_ref().is_some_and(|t| {
            t.is(TaskId {
                id: sender.pid(),
                kind: TaskKind::Thread,
                start: sender.thread_start(),
            })
        })
    }

    /// Notes a packet at `now` (`jiffies_64`, read before the bucket lock,
    /// so a packet from another CPU may have noted a later one).
    ///
    /// `lastact` only grows, and so does [`Self::drop_at`]: a packet never
    /// makes an entry collectable sooner by its time alone.
    #[inline(always)]
    pub(crate) fn touch(&mut self, now: u64) {
        // Written only when it changes: most packets leave the line clean.
        if now > self.lastact {
            self.lastact = now;
        }
    }

    /// Whether bound traffic waits in `pending` for a reader's flush.
    #[inline(always)]
    fn batched(&self) -> bool {
        self.group_sees && self.thread_sees
    }

    /// Counts a packet: in the entry, and for the bound tasks at once
    /// unless the traffic is batched (or, unbound, for whoever binds
    /// first).
    #[inline(always)]
    pub(crate) fn count(&mut self, dir: Direction, packets: u64, bytes: u64) {
        self.total.add(dir, packets, bytes);
        // The steady state, batched, decides on the flags alone.
        if self.batched() {
            return;
        }
        // (Never batched without a group: `group_sees` is false until the
        // first binding.)
        if let Some(group) = &self.group {
            let proto = self.key.proto();
            group.counters().add(proto, dir, packets, bytes);
            if let Some(thread) = &self.thread {
                thread.counters().add(proto, dir, packets, bytes);
            }
            // INVARIANT: charged as counted.
            self.charged.add(dir, packets, bytes);
        }
    }

    /// The traffic in no task's counters yet.
    fn pending(&self) -> Traffic {
        self.total.since(&self.charged)
    }

    /// Everything counted on the connection since the entry was made.
    pub(crate) fn total(&self) -> &Traffic {
        &self.total
    }

    /// The connection's key.
    pub(crate) fn key(&self) -> &SockKey {
        &self.key
    }

    /// The last TCP state seen, 0 for none (and for UDP).
    pub(crate) fn tcp_state(&self) -> u8 {
        self.last_state
    }

    /// Charges the traffic waiting in the entry to its group and thread.
    /// Nothing without a group (unbound traffic waits for a binding).
    pub(crate) fn flush(&mut self) {
        let Some(group) = &self.group else {
            return;
        };
        let pending = self.pending();
        let proto = self.key.proto();
        pending.charge(group, proto);
        if let Some(thread) = &self.thread {
            pending.charge(thread, proto);
        }
        // INVARIANT: nothing pending.
        self.charged = self.total;
    }

    /// Binds the entry to process `group` (the thread binding goes; the
    /// table's [`SockTable::bind_group`] keeps its share right): the
    /// traffic so far is charged to the previous process and thread, or, if
    /// there was none, to `group`. `sees`: `group` remembers the bucket.
    fn bind_group(&mut self, group: Arc<TaskInfo>, sees: bool) {
        if self.group.is_some() {
            self.flush();
        } else {
            self.pending().charge(&group, self.key.proto());
            self.charged = self.total;
        }
        // INVARIANT: nothing pending; the sees flags describe the new
        // binding.
        self.group = Some(group);
        self.thread = None;
        self.group_sees = sees;
        self.thread_sees = true;
    }

    /// Binds the entry to `thread` of its process (or to none when the
    /// thread could not be created); the traffic so far is charged to the
    /// previous binding. `sees`: `thread` remembers the bucket. `thread`
    /// must be a thread of the bound process (see the invariants).
    pub(crate) fn bind_thread(&mut self, thread: Option<Arc<TaskInfo>>, sees: bool) {
        self.flush();
        // INVARIANT: nothing pending (or unbound, and without group the
        // flags do not matter).
        self.thread_sees = thread.is_none() || sees;
        self.thread = thread;
    }

    /// The first `jiffies_64` at which the collector drops this entry if no
    /// further packet arrives (finished tasks aside); `u64::MAX` for never.
    ///
    /// The rules of netatop 3.2.2: a TCP connection `ESTABLISHED` or
    /// `LISTEN` after 1800 s without packets, one that has ended at once; a
    /// UDP port above 1024 after 16 s; an entry never bound to a process
    /// after 60 s. One change: a TCP connection still being set up goes
    /// after 60 s without packets, where 3.2.2 dropped it at once, so a
    /// collection between the SYN and the handshake's end no longer cuts
    /// the connection's own counters in two.
    pub(crate) fn drop_at(&self, idle: &IdleLimits) -> u64 {
        // Kept while `now - lastact <= limit`.
        let after = |limit: u64| self.lastact.saturating_add(limit).saturating_add(1);
        let by_kind = match self.key.udp_port() {
            None => {
                if self.last_state == TCP_ESTABLISHED || self.last_state == TCP_LISTEN {
                    after(idle.tcp)
                } else if tcp_setup(self.last_state) {
                    after(idle.setup)
                } else {
                    0
                }
            }
            Some(lport) if lport <= UDP_KEEP_PORTS => u64::MAX,
            Some(_) => after(idle.udp),
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
    fn keep(&mut self, now: u64, idle: &IdleLimits) -> bool {
        if self.group.as_ref().is_some_and(|g| g.is_dead()) {
            self.settle();
            return false;
        }
        if self.thread.as_ref().is_some_and(|t| t.is_dead()) {
            self.bind_thread(None, false);
        }
        let keep = now < self.drop_at(idle);
        if !keep {
            self.settle();
        }
        keep
    }

    /// Settles the traffic of an entry about to go: charged to its tasks,
    /// or, never bound, counted as unidentified.
    fn settle(&mut self) {
        if self.group.is_some() {
            self.flush();
        } else {
            let proto = self.key.proto();
            let pending = self.pending();
            stats::unident(proto, Direction::Send, pending.sndpacks);
            stats::unident(proto, Direction::Receive, pending.rcvpacks);
            self.charged = self.total;
        }
    }

    /// Records the TCP state of the socket a packet came from.
    #[inline(always)]
    pub(crate) fn set_tcp_state(&mut self, state: u8) -> StateChange {
        let change = StateChange {
            changed: state != self.last_state,
            ended: tcp_ended(state) && !tcp_ended(self.last_state),
        };
        self.last_state = state;
        change
    }

    /// Whether the entry may go at once to make room for a new one: its TCP
    /// connection has ended or has been in its handshake without a packet
    /// for a second (waiting on a retransmission: a connect flood to a
    /// silent peer must not fill the table for a minute), its process has
    /// finished, or (UDP) the collector would drop it now. A handshake
    /// under way is not.
    fn reclaimable(&self, now: u64, idle: &IdleLimits) -> bool {
        if self.group.as_ref().is_some_and(|g| g.is_dead()) {
            return true;
        }
        match self.key.proto() {
            Proto::Udp => now >= self.drop_at(idle),
            _ => {
                tcp_ended(self.last_state)
                    || (tcp_setup(self.last_state)
                        && now > self.lastact.saturating_add(idle.stalled))
            }
        }
    }
}

/// What a packet's TCP state did to a connection (see
/// [`SockInfo::set_tcp_state`]).
pub(crate) struct StateChange {
    /// The state differs from the last one seen: [`SockInfo::drop_at`] may
    /// have gone down.
    pub(crate) changed: bool,
    /// The connection has just ended (FIN or RST).
    pub(crate) ended: bool,
}

/// A bucket: a singly linked chain of connections.
///
/// # Invariants
///
/// `due` is at most the [`SockInfo::drop_at`] of every entry: the collector
/// has nothing to do here before `due`, unless a task has finished.
pub(crate) struct Chain {
    head: Option<Node>,
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
}

/// Finds `key` in the chain from `head`: the link that holds its entry, or
/// the empty link at the chain's end where a new one goes. One walk of the
/// chain. (`None` only in form: the walk stops at a `Some` link.)
#[inline(always)]
fn find<'a>(head: &'a mut Option<Node>, key: &SockKey) -> Option<&'a mut Option<Node>> {
    let mut cur = head;
    while cur.as_ref().is_some_and(|n| !n.key.matches(key)) {
        cur = &mut cur.as_mut()?.next;
    }
    Some(cur)
}

impl Chain {
    /// Drops the entries the collector does not keep (see
    /// [`SockInfo::keep`]) and recomputes `due`; returns how many were
    /// dropped, and how many of those were never bound. A kept entry's own
    /// link is left alone.
    fn collect(&mut self, now: u64, idle: &IdleLimits) -> (u64, u64) {
        let (mut dropped, mut unbound) = (0, 0);
        let mut due = u64::MAX;
        let mut cur = &mut self.head;
        while let Some(mut node) = cur.take() {
            if node.keep(now, idle) {
                due = due.min(node.drop_at(idle));
                cur = &mut cur.insert(node).next;
            } else {
                *cur = node.next.take();
                dropped += 1;
                unbound += u64::from(node.group.is_none());
            }
        }
        // INVARIANT: the minimum over the entries left.
        self.due = due;
        (dropped, unbound)
    }
}

impl Chain {
    /// Unlinks the first entry `pick` accepts, charging its traffic as the
    /// collector would, and returns it; `None` if there is none. `due`
    /// stays a lower bound of what is left.
    fn reclaim_one(&mut self, pick: impl Fn(&SockInfo) -> bool) -> Option<Node> {
        let mut cur = &mut self.head;
        while cur.as_ref().is_some_and(|n| !pick(n)) {
            cur = &mut cur.as_mut()?.next;
        }
        let mut node = cur.take()?;
        *cur = node.next.take();
        node.settle();
        Some(node)
    }

    /// Whether `f` holds for an entry of the chain.
    fn any(&self, f: impl Fn(&SockInfo) -> bool) -> bool {
        let mut cur = self.head.as_deref();
        while let Some(node) = cur {
            if f(node) {
                return true;
            }
            cur = node.next.as_deref();
        }
        false
    }

    /// Charges the waiting traffic of every bound entry.
    fn flush_all(&mut self) {
        let mut cur = self.head.as_deref_mut();
        while let Some(node) = cur {
            node.flush();
            cur = node.next.as_deref_mut();
        }
    }

    /// Charges the waiting traffic of every entry bound to `task` (as
    /// process or thread).
    fn flush_bound(&mut self, task: &TaskInfo) {
        let is = |t: &Option<Arc<TaskInfo>>| t.as_ref().is_some_and(|t| core::ptr::eq(&**t, task));
        let mut cur = self.head.as_deref_mut();
        while let Some(node) = cur {
            if is(&node.group) || is(&node.thread) {
                node.flush();
            }
            cur = node.next.as_deref_mut();
        }
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
    chain: BhLock<Chain>,
    /// A copy of the chain's `due`, written under the lock and read without
    /// it by the collector to skip buckets with nothing to do. A stale read
    /// only postpones the bucket to the next collection.
    due_hint: Atomic<u64>,
    /// The connection counted without the lock, if any.
    lane: Lane,
}

impl Bucket {
    /// Takes the bucket lock, waiting for it, and seals the lane.
    #[inline]
    fn lock<'a>(&'a self, cx: &'a impl LockContext) -> Locked<'a> {
        Locked::new(self.chain.lock(cx), &self.lane)
    }

    /// Takes the bucket lock if it is free, and seals the lane.
    fn try_lock<'a>(&'a self, cx: &'a impl LockContext) -> Option<Locked<'a>> {
        Some(Locked::new(self.chain.try_lock(cx)?, &self.lane))
    }
}

/// A bucket's chain under its lock, its lane sealed (see
/// [`crate::lane`]): what was counted in the lane is in its entry. When it
/// drops, the lane opens for the connection given to [`Locked::open`], or
/// stays sealed.
struct Locked<'a> {
    // Dropped after `drop` below unseals the lane: under the lock.
    chain: BhGuard<'a, Chain>,
    lane: &'a Lane,
    seal: Option<Seal>,
    opening: Option<Opening>,
}

impl<'a> Locked<'a> {
    /// Seals `lane`, adding what it held to its entry in `chain`.
    #[inline(always)]
    fn new(mut chain: BhGuard<'a, Chain>, lane: &'a Lane) -> Self {
        let (seal, drained) = lane.seal();
        if let Some(d) = drained {
            Self::drain(&mut chain, d);
        }
        Self {
            chain,
            lane,
            seal: Some(seal),
            opening: None,
        }
    }

    /// Adds what a lane held to its entry. Out of line: only after packets
    /// were counted in the lane.
    #[cold]
    #[inline(never)]
    fn drain(chain: &mut Chain, d: Drained) {
        // The lane's entry is in the chain: it leaves the chain only under
        // the lock, which sealed the lane first.
        if let Some(Some(si)) = find(&mut chain.head, &d.key) {
            for dir in [Direction::Send, Direction::Receive] {
                let (packets, bytes) = d.counts[dir.index()];
                if packets != 0 || bytes != 0 {
                    si.count(dir, packets, bytes);
                }
            }
            si.touch(d.lastact);
        }
    }

    /// The opening of the lane for `si` at the unlock (see
    /// [`Locked::opening`]): if its traffic waits in the entry (batched, or
    /// not bound yet), so that counting it there is all a packet does.
    #[inline]
    fn opening_for(si: &SockInfo) -> Option<Opening> {
        (si.batched() || si.group.is_none()).then(|| {
            let thread = si.thread.as_ref().map(|t| {
                let who = t.who();
                (who.id, who.start)
            });
            Opening::new(&si.key, si.last_state, thread, si.lastact)
        })
    }
}

impl core::ops::Deref for Locked<'_> {
    type Target = Chain;

    fn deref(&self) -> &Chain {
        &self.chain
    }
}

impl core::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Chain {
        &mut self.chain
    }
}

impl Drop for Locked<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(seal) = self.seal.take() {
            self.lane.unseal(seal, self.opening.take());
        }
    }
}

/// Where a packet's entry is: its bucket, the bucket's index and its
/// chain's `due`, under the bucket's lock.
struct Spot<'a> {
    index: usize,
    bucket: &'a Bucket,
    due: &'a mut u64,
}

/// Binds connections to their senders: the accounting, which owns the
/// task table (`accounting.rs`).
pub(crate) trait Binder {
    /// Binds `si` (in bucket `index`) to `sender`, which it is not bound to
    /// (see [`SockInfo::bound_to`]).
    fn rebind(&self, cx: &Hook, si: &mut SockInfo, sender: Sender<'_>, index: usize);
}

/// All connections, hashed by key.
///
/// # Invariants
///
/// `share` counts the entries without a group (never bound), and the
/// places [`SockTable::make`] holds for an entry it is making.
///
/// Locking: a bucket lock is taken first on the packet path; taskinfo bucket
/// locks nest inside it. Making room in a full table takes other bucket
/// locks with `try_lock` only (never waiting, so in no order).
pub(crate) struct SockTable {
    /// The buckets and their entries; declared before `slab`, which must
    /// outlive every entry (fields drop in order).
    table: BucketTable<Bucket>,
    /// The entries never bound, within their share of the table; an entry
    /// made for a local sender (bound at once) is counted past the share.
    share: Limit,
    /// Buckets in which a TCP connection recently ended.
    ended: BucketRing,
    /// Buckets in which a local process recently opened a TCP connection:
    /// its handshake may stall (see [`SockInfo::reclaimable`]).
    opened: BucketRing,
    /// Buckets in which an entry nobody local sent on was made.
    fresh: BucketRing,
    /// Where the next scan for room in a full table starts (a hint).
    cursor: Atomic<usize>,
    /// The entries' slab cache.
    slab: Slab<SockInfo>,
}

impl SockTable {
    /// An empty table of `1 << bits` buckets holding as many entries as fit
    /// in `limit_kb` KiB of their slab cache.
    pub(crate) fn new(bits: u32, limit_kb: u32, hasher: Hasher) -> Result<Self> {
        let slab = Slab::new(kernel::c_str!("netatop_sockinfo"))?;
        let max = entries(limit_kb, slab.object_size());
        let table = BucketTable::new(bits, max, hasher, || {
            try_pin_init!(Bucket {
                chain <- crate::new_bhlock!(Chain::new(), "netatop_sock_bucket"),
                due_hint: Atomic::new(u64::MAX),
                lane: Lane::new(),
            }? Error)
        })?;
        Ok(Self {
            table,
            // INVARIANT: no entry.
            share: Limit::new(max.div_ceil(UNBOUND_SHARE)),
            ended: BucketRing::new(),
            opened: BucketRing::new(),
            fresh: BucketRing::new(),
            cursor: Atomic::new(0),
            slab,
        })
    }

    /// The bucket of `key` and its index (always `Some`: see
    /// [`BucketTable::bucket_of`]).
    #[inline(always)]
    pub(crate) fn bucket(&self, key: &SockKey) -> Option<(usize, &Bucket)> {
        self.table.bucket_of(key)
    }

    /// The packet path: counts one packet of connection `key` (described by
    /// `hit`), under its bucket's lock: makes the entry if there is none
    /// (`false` if it cannot be made), notes its time and TCP state, binds
    /// it to `sender` through `binder` if it is bound to someone else, and
    /// counts the packet.
    ///
    /// Inlined into the packet path, where an existing entry is counted in
    /// line; a new entry and a new binding leave it.
    #[inline(always)]
    pub(crate) fn count_packet(
        &self,
        cx: &Hook,
        key: SockKey,
        hit: &Hit<'_>,
        sender: Option<Sender<'_>>,
        binder: &impl Binder,
        idle: &IdleLimits,
    ) -> bool {
        let Some((index, bucket)) = self.bucket(&key) else {
            return false;
        };
        if bucket.lane.count(&key, hit, sender) {
            return true;
        }
        self.count_locked(cx, index, bucket, key, *hit, sender, binder, idle)
    }

    /// [`Self::count_packet`] under the bucket lock; the lane opens for the
    /// connection counted, if it can.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn count_locked(
        &self,
        cx: &Hook,
        index: usize,
        bucket: &Bucket,
        key: SockKey,
        hit: Hit<'_>,
        sender: Option<Sender<'_>>,
        binder: &impl Binder,
        idle: &IdleLimits,
    ) -> bool {
        let mut locked = bucket.lock(cx);
        let Chain { head, due } = &mut *locked;
        let Some(link) = find(head, &key) else {
            return false;
        };
        let at = Spot { index, bucket, due };
        let si = match link {
            Some(si) => {
                self.count_in(cx, si, at, false, &hit, sender, binder, idle);
                si
            }
            None => match self.count_new(cx, link, key, at, hit, sender, binder, idle) {
                Some(si) => si,
                None => return false,
            },
        };
        let opening = Locked::opening_for(si);
        locked.opening = opening;
        true
    }

    /// [`Self::count_packet`] for a connection with no entry yet: makes it
    /// at `link` (`false` if it cannot be made), then counts. Takes its
    /// arguments by value, so that the hot path only copies them here.
    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn count_new<'l>(
        &self,
        cx: &Hook,
        link: &'l mut Option<Node>,
        key: SockKey,
        at: Spot<'_>,
        hit: Hit<'_>,
        sender: Option<Sender<'_>>,
        binder: &impl Binder,
        idle: &IdleLimits,
    ) -> Option<&'l mut SockInfo> {
        let node = self.make(cx, key, at.index, sender.is_some(), hit.now, idle)?;
        if sender.is_some() && tcp_setup(hit.tcp_state) && hit.peer.is_none() {
            // A local connect: should its handshake stall, it is the first
            // to make room in a full table after an ended connection.
            self.opened.note(at.index);
        }
        let si = &mut **link.insert(node);
        self.count_in(cx, si, at, true, &hit, sender, binder, idle);
        Some(si)
    }

    /// Counts a packet in `si`, in the bucket at `at` (a `new` entry if so):
    /// notes its time and TCP state, rebinds it to `sender`, counts.
    ///
    /// The packet's time ([`SockInfo::touch`]) and a first binding only
    /// postpone [`SockInfo::drop_at`], so only for a new entry or a TCP
    /// state change is the bucket's `due` computed again: afterwards it is
    /// no later than the entry's `drop_at`, as its invariant says.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn count_in(
        &self,
        cx: &Hook,
        si: &mut SockInfo,
        at: Spot<'_>,
        new: bool,
        hit: &Hit<'_>,
        sender: Option<Sender<'_>>,
        binder: &impl Binder,
        idle: &IdleLimits,
    ) {
        si.touch(hit.now);
        // Only a UDP packet has a peer, and its entry, found or made by its
        // key (whose kind `matches` compares), is a UDP one.
        if let Some(peer) = &hit.peer {
            si.key.note_peer(peer);
        }
        let mut sooner = new;
        if hit.tcp_state != 0 {
            let change = si.set_tcp_state(hit.tcp_state);
            if change.ended {
                // FIN or RST: the first to go if the table fills up.
                self.note_ended(at.index);
            }
            sooner |= change.changed;
        }
        if let Some(sender) = sender {
            if !si.bound_to(sender) {
                binder.rebind(cx, si, sender, at.index);
            }
        }
        si.count(hit.dir, hit.segs, hit.bytes);
        if sooner {
            let drop_at = si.drop_at(idle);
            if drop_at < *at.due {
                // INVARIANT: lowered to the changed entry's time.
                *at.due = drop_at;
                at.bucket.due_hint.store(drop_at, Relaxed);
            }
        }
    }

    /// Makes the collection about to run visit bucket `index` (which holds a
    /// connection of a finished process). Under the bucket lock, so that a
    /// packet cannot raise the hint again before the visit.
    pub(crate) fn make_due(&self, cx: &Process, index: usize) {
        if let Some(bucket) = self.table.get(index) {
            let mut chain = bucket.lock(cx);
            // INVARIANT: 0 is at most every entry's `drop_at`.
            chain.due = 0;
            bucket.due_hint.store(0, Relaxed);
        }
    }

    /// Notes that a TCP connection in bucket `index` has just ended: its
    /// entry is among the first to go when the table is full.
    pub(crate) fn note_ended(&self, index: usize) {
        self.ended.note(index);
    }

    /// Offers bucket `index` to `pick` (see [`Chain::reclaim_one`]): tried
    /// without waiting, since the caller holds another bucket lock (atomic
    /// context, and no lock order among buckets).
    fn offer(
        &self,
        cx: &impl LockContext,
        index: usize,
        pick: impl Fn(&SockInfo) -> bool,
    ) -> Offer<Node> {
        let Some(bucket) = self.table.get(index) else {
            return Offer::Empty;
        };
        let Some(mut chain) = bucket.try_lock(cx) else {
            return Offer::Busy;
        };
        match chain.reclaim_one(pick) {
            Some(node) => Offer::Freed(node),
            None => Offer::Empty,
        }
    }

    /// Offers bucket `index`, noted for a local connect, to
    /// [`SockInfo::reclaimable`], as [`Self::offer`] does; while it holds a
    /// handshake that has not stalled yet, its note is kept.
    fn offer_opened(
        &self,
        cx: &impl LockContext,
        index: usize,
        now: u64,
        idle: &IdleLimits,
    ) -> Offer<Node> {
        let Some(bucket) = self.table.get(index) else {
            return Offer::Empty;
        };
        let Some(mut chain) = bucket.try_lock(cx) else {
            return Offer::Busy;
        };
        if let Some(node) = chain.reclaim_one(|si| si.reclaimable(now, idle)) {
            return Offer::Freed(node);
        }
        if chain.any(|si| si.key.udp_port().is_none() && tcp_setup(si.last_state)) {
            Offer::Later
        } else {
            Offer::Empty
        }
    }

    /// Unlinks one entry never bound, the oldest noted first (its place
    /// in the table and in the share of entries never bound stay taken).
    fn evict_unbound(&self, cx: &impl LockContext) -> Option<Node> {
        self.fresh
            .search(|i| self.offer(cx, i, |si| si.group.is_none()))
    }

    /// Unlinks one entry to make room in a full table: one never bound,
    /// else one that [`SockInfo::reclaimable`] allows, looked for first in
    /// the buckets the rings noted, then in the buckets from a cursor that
    /// goes round the table ([`Self::scan`]) (the notes may all be stale: a
    /// collection just freed their entries, or a burst of new connections
    /// used them up). Its place in the table stays taken, for the caller's
    /// new entry; its place in the share of entries never bound, if it had
    /// one, is given back.
    fn reclaim(&self, cx: &impl LockContext, now: u64, idle: &IdleLimits) -> Option<Node> {
        let pick = |si: &SockInfo| si.group.is_none() || si.reclaimable(now, idle);
        let node = self
            .evict_unbound(cx)
            .or_else(|| {
                self.ended
                    .search(|i| self.offer(cx, i, |si| si.reclaimable(now, idle)))
            })
            .or_else(|| self.opened.search(|i| self.offer_opened(cx, i, now, idle)))
            .or_else(|| self.scan(cx, pick))?;
        if node.group.is_none() {
            self.share.release(1);
        }
        Some(node)
    }

    /// Offers the buckets from the scan cursor on to `pick`, at most
    /// [`SCAN_LOCKED`] of them, among the next [`SCAN_BUCKETS`]; the first
    /// entry freed. A bucket whose `due_hint` is `u64::MAX` is passed over
    /// unlocked: it is empty, or holds only entries that never expire,
    /// which `pick` (an entry never bound, or reclaimable: each expires)
    /// would not take, but for a bound entry of a low UDP port whose
    /// process has finished (the next collection makes its bucket due and
    /// drops it). The cursor moves on by as many buckets as were
    /// visited, so that successive scans cover the whole table.
    #[cold]
    fn scan(&self, cx: &impl LockContext, pick: impl Fn(&SockInfo) -> bool) -> Option<Node> {
        // A power of two (the table's invariant): the index wraps by mask.
        let mask = self.table.buckets().wrapping_sub(1);
        let start = self.cursor.load(Relaxed);
        let mut locked = 0;
        let mut visited = 0;
        let mut found = None;
        while visited < SCAN_BUCKETS && locked < SCAN_LOCKED {
            let index = start.wrapping_add(visited) & mask;
            visited += 1;
            let Some(bucket) = self.table.get(index) else {
                break;
            };
            if bucket.due_hint.load(Relaxed) == u64::MAX {
                continue;
            }
            locked += 1;
            if let Offer::Freed(node) = self.offer(cx, index, &pick) {
                found = Some(node);
                break;
            }
        }
        self.cursor.store(start.wrapping_add(visited), Relaxed);
        found
    }

    /// Takes a place in the share of entries never bound, if need be that of
    /// the oldest such entry, which is returned: its places in the table
    /// and in the share pass to the caller's new entry. Should none be found
    /// (their buckets busy or their notes gone), the place is taken past
    /// the share rather than the packet refused while the table has room:
    /// the new entry's own note lets the next one evict again, so the
    /// excess stays a few entries.
    fn reserve_unbound(&self, cx: &impl LockContext) -> Option<Node> {
        if self.share.try_reserve() {
            return None;
        }
        let evicted = self.evict_unbound(cx);
        if evicted.is_none() {
            self.share.force_reserve();
        }
        evicted
    }

    /// A place in the full table for a new entry: that of an entry it
    /// reclaims, whose memory is returned for reuse; `None` (counted) if
    /// none can go.
    fn room(&self, cx: &impl LockContext, now: u64, idle: &IdleLimits) -> Option<Node> {
        let node = self.reclaim(cx, now, idle);
        if node.is_none() {
            self.table.limit().refuse_full();
        }
        node
    }

    /// A new, unbound entry for `key` in bucket `index`, counted against the
    /// cap. `local`: made for a packet a local process sends (bound at once
    /// by the caller); otherwise it takes a place in the share of entries
    /// never bound, that of the oldest such entry if the share is full.
    /// When the table is full, an entry never bound or whose connection has
    /// ended makes room, and its memory is reused: a full table needs no
    /// allocation. `None` when there is no room or the allocation fails
    /// (each counted as refused, by cause).
    ///
    /// Out of line: the packet path only calls it for a new connection.
    #[inline(never)]
    pub(crate) fn make(
        &self,
        cx: &impl LockContext,
        key: SockKey,
        index: usize,
        local: bool,
        now: u64,
        idle: &IdleLimits,
    ) -> Option<Node> {
        let evicted = if local {
            self.share.force_reserve();
            None
        } else {
            self.reserve_unbound(cx)
        };
        // Places: the evicted entry's, a free one, or a reclaimed entry's.
        let reused = match evicted {
            Some(node) => Some(node),
            None if self.table.limit().try_reserve() => None,
            None => match self.room(cx, now, idle) {
                Some(node) => Some(node),
                None => {
                    self.share.release(1);
                    return None;
                }
            },
        };
        // INVARIANT: unbound, nothing counted; counted in `share`.
        let fresh = SockInfo {
            key,
            group: None,
            thread: None,
            total: Traffic::default(),
            charged: Traffic::default(),
            lastact: now,
            last_state: 0,
            group_sees: false,
            thread_sees: true,
            next: None,
        };
        let node = match reused {
            Some(mut node) => {
                *node = fresh;
                node
            }
            None => match self.slab.alloc_atomic(fresh) {
                Ok(node) => node,
                Err(_) => {
                    self.share.release(1);
                    self.table.limit().release_nomem();
                    return None;
                }
            },
        };
        if !local {
            self.fresh.note(index);
        }
        Some(node)
    }

    /// Binds `si` to process `group` (see [`SockInfo::bind_group`]); an
    /// entry bound for the first time leaves the share of entries never
    /// bound.
    pub(crate) fn bind_group(&self, si: &mut SockInfo, group: Arc<TaskInfo>, sees: bool) {
        if si.group.is_none() {
            self.share.release(1);
        }
        // INVARIANT: `si` has a group from now on.
        si.bind_group(group, sees);
    }

    /// Drops closed, idle and orphaned connections (see [`SockInfo::keep`]).
    /// Visits only the buckets that are due, or all of them when `sweep`,
    /// taking the lock of each in turn and letting other tasks run between
    /// buckets.
    pub(crate) fn collect(&self, cx: &mut Process, now: u64, sweep: bool, idle: &IdleLimits) {
        let visit = |cx: &Process, _, bucket: &Bucket| {
            if !sweep && bucket.due_hint.load(Relaxed) > now {
                return;
            }
            let mut chain = bucket.lock(cx);
            let (dropped, unbound) = chain.collect(now, idle);
            bucket.due_hint.store(chain.due, Relaxed);
            drop(chain);
            if dropped > 0 {
                self.table.limit().release(dropped);
                self.share.release(unbound);
            }
        };
        self.table.visit(cx, visit);
    }

    /// Charges the traffic waiting in bucket `index`, whoever it is bound
    /// to: a reader of many tasks calls it once for each bucket one of them
    /// remembers. Process context.
    pub(crate) fn flush_bucket(&self, cx: &Process, index: usize) {
        if let Some(bucket) = self.table.get(index) {
            bucket.lock(cx).flush_all();
        }
    }

    /// Charges the traffic waiting in bucket `index` for `task` (see the
    /// module documentation); a reader calls it for each bucket the task
    /// remembers before it reads the task's counters. Process context.
    pub(crate) fn flush_bound(&self, cx: &Process, index: usize, task: &TaskInfo) {
        if let Some(bucket) = self.table.get(index) {
            bucket.lock(cx).flush_bound(task);
        }
    }

    /// Calls `f` with every entry, one bucket at a time under its lock
    /// (process context; other tasks may run between buckets).
    pub(crate) fn for_each(&self, cx: &mut Process, mut f: impl FnMut(&SockInfo)) {
        self.table.visit(cx, |cx, _, bucket| {
            let chain = bucket.lock(cx);
            let mut cur = chain.head.as_deref();
            while let Some(node) = cur {
                f(node);
                cur = node.next.as_deref();
            }
        });
    }

    /// Number of buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.table.buckets()
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> u64 {
        self.table.len()
    }

    /// Entries refused, by cause.
    pub(crate) fn refused(&self) -> Refused {
        self.table.refused()
    }
}
