// SPDX-License-Identifier: GPL-2.0

//! Per-process (`tgid`) and per-thread (`pid`) counters: *taskinfo*.

use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
use kernel::sync::Arc;

use crate::hash::Hasher;
use crate::kernel_services::context::{LockContext, Process};
use crate::kernel_services::lock::BhLock;
use crate::kernel_services::task;
use crate::limits::{Limit, Refused};
use crate::packet::{Direction, Proto};
use crate::table::{BucketTable, Hashed};
use crate::uapi::{NetPerTask, TaskCount, COMLEN};

/// Whether a taskinfo describes a whole process or one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskKind {
    /// A thread group (process), identified by its tgid.
    Group,
    /// A thread, identified by its pid (tid).
    Thread,
}

/// A task's counters ([`TaskCount`]), shared: each an atomic, added to
/// from any CPU.
pub(crate) struct Counters {
    tcp_snd_packets: Atomic<u64>,
    tcp_snd_bytes: Atomic<u64>,
    tcp_rcv_packets: Atomic<u64>,
    tcp_rcv_bytes: Atomic<u64>,
    udp_snd_packets: Atomic<u64>,
    udp_snd_bytes: Atomic<u64>,
    udp_rcv_packets: Atomic<u64>,
    udp_rcv_bytes: Atomic<u64>,
}

impl Counters {
    /// All zero.
    pub(crate) const fn new() -> Self {
        Self {
            tcp_snd_packets: Atomic::new(0),
            tcp_snd_bytes: Atomic::new(0),
            tcp_rcv_packets: Atomic::new(0),
            tcp_rcv_bytes: Atomic::new(0),
            udp_snd_packets: Atomic::new(0),
            udp_snd_bytes: Atomic::new(0),
            udp_rcv_packets: Atomic::new(0),
            udp_rcv_bytes: Atomic::new(0),
        }
    }

    /// The packet and byte counters of `proto` in direction `dir` (TCP and
    /// UDP have them).
    fn pair(&self, proto: Proto, dir: Direction) -> Option<(&Atomic<u64>, &Atomic<u64>)> {
        Some(match (proto, dir) {
            (Proto::Tcp, Direction::Send) => (&self.tcp_snd_packets, &self.tcp_snd_bytes),
            (Proto::Tcp, Direction::Receive) => (&self.tcp_rcv_packets, &self.tcp_rcv_bytes),
            (Proto::Udp, Direction::Send) => (&self.udp_snd_packets, &self.udp_snd_bytes),
            (Proto::Udp, Direction::Receive) => (&self.udp_rcv_packets, &self.udp_rcv_bytes),
            (Proto::Icmp | Proto::Other, _) => return None,
        })
    }

    /// Adds `packets` and `bytes`; lock-free, callable from any context.
    pub(crate) fn add(&self, proto: Proto, dir: Direction, packets: u64, bytes: u64) {
        if packets == 0 && bytes == 0 {
            return;
        }
        if let Some((p, b)) = self.pair(proto, dir) {
            p.add(packets, Relaxed);
            b.add(bytes, Relaxed);
        }
    }

    /// A copy.
    pub(crate) fn snapshot(&self) -> TaskCount {
        TaskCount {
            tcp_snd_packets: self.tcp_snd_packets.load(Relaxed),
            tcp_snd_bytes: self.tcp_snd_bytes.load(Relaxed),
            tcp_rcv_packets: self.tcp_rcv_packets.load(Relaxed),
            tcp_rcv_bytes: self.tcp_rcv_bytes.load(Relaxed),
            udp_snd_packets: self.udp_snd_packets.load(Relaxed),
            udp_snd_bytes: self.udp_snd_bytes.load(Relaxed),
            udp_rcv_packets: self.udp_rcv_packets.load(Relaxed),
            udp_rcv_bytes: self.udp_rcv_bytes.load(Relaxed),
        }
    }
}

/// Where the connections bound to a task are: up to [`HINT_SLOTS`] sockinfo
/// bucket indices, or "more than that". When a process finishes, the
/// collector visits just those buckets, or sweeps the whole table; when a
/// thread finishes, just those buckets (or none: a binding to a finished
/// thread is harmless and goes when its bucket is next visited).
///
/// Packed in one word, updated lock-free from any CPU: indices in bits 0-19,
/// 20-39 and 40-59 (bucket indices are below 2^20: `sock_hash_bits` is at
/// most 20), their number in bits 60-61, overflow in bit 62.
///
/// # Invariants
///
/// The number only grows and a slot, once written, never changes: a bucket
/// remembered stays remembered for the task's lifetime (readers that
/// flush a task's batched connections rely on it, see `sockinfo.rs`).
/// Overflow, once set, stays set.
pub(crate) struct BucketHints(Atomic<u64>);

/// Bucket indices a [`BucketHints`] remembers.
pub(crate) const HINT_SLOTS: usize = 3;
const HINT_BITS: u64 = 20;
const HINT_MASK: u64 = (1 << HINT_BITS) - 1;
const HINT_COUNT_SHIFT: u64 = 60;
const HINT_OVERFLOW: u64 = 1 << 62;

impl BucketHints {
    const fn new() -> Self {
        Self(Atomic::new(0))
    }

    /// Notes that a connection in bucket `index` is bound to the task.
    /// Returns whether `index` is one of the buckets remembered (now or
    /// before): the buckets noted first stay remembered for the task's
    /// lifetime, so a reader of its counters that visits them finds every
    /// connection whose traffic waits there (see [`crate::sockinfo`]).
    pub(crate) fn note(&self, index: usize) -> bool {
        // CAST: bucket indices are below 2^20 (see above).
        let index = index as u64 & HINT_MASK;
        let mut cur = self.0.load(Relaxed);
        loop {
            let n = (cur >> HINT_COUNT_SHIFT) & 3;
            if (0..n).any(|i| (cur >> (i * HINT_BITS)) & HINT_MASK == index) {
                return true;
            }
            let (new, remembered) = if n < HINT_SLOTS as u64 {
                let count = (cur & !(3 << HINT_COUNT_SHIFT)) | ((n + 1) << HINT_COUNT_SHIFT);
                (count | (index << (n * HINT_BITS)), true)
            } else if cur & HINT_OVERFLOW != 0 {
                return false;
            } else {
                (cur | HINT_OVERFLOW, false)
            };
            match self.0.cmpxchg(cur, new, Relaxed) {
                Ok(_) => return remembered,
                Err(now) => cur = now,
            }
        }
    }

    /// The buckets remembered (at most [`HINT_SLOTS`]), whether or not the
    /// task had connections in further buckets.
    pub(crate) fn remembered(&self) -> impl Iterator<Item = usize> {
        let v = self.0.load(Relaxed);
        let n = (v >> HINT_COUNT_SHIFT) & 3;
        // CAST: 20-bit values.
        (0..n).map(move |i| ((v >> (i * HINT_BITS)) & HINT_MASK) as usize)
    }

    /// The buckets noted, or `None` if there were more than [`HINT_SLOTS`].
    pub(crate) fn buckets(&self) -> Option<impl Iterator<Item = usize>> {
        let v = self.0.load(Relaxed);
        if v & HINT_OVERFLOW != 0 {
            return None;
        }
        let n = (v >> HINT_COUNT_SHIFT) & 3;
        // CAST: 20-bit values.
        Some((0..n).map(move |i| ((v >> (i * HINT_BITS)) & HINT_MASK) as usize))
    }
}

/// Who a task is, as far as netatop is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskId {
    /// tgid or pid in the initial pid namespace.
    pub(crate) id: i32,
    /// Process or thread.
    pub(crate) kind: TaskKind,
    /// Start time, ns since boot: tells a reused pid from its predecessor.
    pub(crate) start: u64,
}

/// The counters of one process or thread.
pub(crate) struct TaskInfo {
    /// tgid or pid (initial pid namespace).
    id: i32,
    /// Process or thread.
    kind: TaskKind,
    /// Set by the collector when it finds the task finished; never cleared.
    finished: Atomic<bool>,
    /// Start time, ns since boot: tells a reused pid from its predecessor.
    start: u64,
    /// Start time in seconds since the epoch (as `ps` and atop compute it).
    btime: u64,
    /// Command name at the time the task was first seen, NUL-padded.
    command: [u8; COMLEN],
    /// Packets and bytes.
    counters: Counters,
    /// Buckets of the connections bound to this task.
    hints: BucketHints,
    /// The cgroup (v2, default hierarchy) id the process is counted for:
    /// that of the thread whose send created this taskinfo. A later move to
    /// another cgroup does not change it (see `cgroup.rs`).
    cgroup: u64,
}

// With the `Arc`'s refcount, a taskinfo fills a 128-byte slab object
// (`state.rs` counts the real allocation, `Arc::DATA_OFFSET` included).
const _: () = assert!(Arc::<TaskInfo>::DATA_OFFSET + core::mem::size_of::<TaskInfo>() <= 128);

impl TaskInfo {
    /// Who the task is.
    pub(crate) fn who(&self) -> TaskId {
        TaskId {
            id: self.id,
            kind: self.kind,
            start: self.start,
        }
    }

    /// Whether it is `who`.
    #[inline(always)]
    pub(crate) fn is(&self, who: TaskId) -> bool {
        self.id == who.id && self.kind == who.kind && self.start == who.start
    }

    /// Its packet and byte counters (not counting what waits in batched
    /// connections: see [`crate::sockinfo`]).
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The buckets of its connections.
    pub(crate) fn hints(&self) -> &BucketHints {
        &self.hints
    }

    /// Whether the collector found the task finished.
    pub(crate) fn is_dead(&self) -> bool {
        self.finished.load(Acquire)
    }

    /// The cgroup id it is counted for.
    pub(crate) fn cgroup(&self) -> u64 {
        self.cgroup
    }

    /// The start time, seconds since the epoch.
    pub(crate) fn btime(&self) -> u64 {
        self.btime
    }

    /// The command name, NUL-padded.
    pub(crate) fn command(&self) -> [u8; COMLEN] {
        self.command
    }

    /// The `netpertask` answer for this task.
    pub(crate) fn netpertask(&self) -> NetPerTask {
        NetPerTask {
            id: self.id,
            pad: [0; 4],
            btime: self.btime,
            command: self.command,
            tc: self.counters.snapshot(),
        }
    }
}

/// What a new taskinfo is made of, read from the current task.
pub(crate) struct NewTask {
    /// Start time, seconds since the epoch.
    pub(crate) btime: u64,
    /// Command name, NUL-padded.
    pub(crate) command: [u8; COMLEN],
    /// cgroup id.
    pub(crate) cgroup: u64,
}

/// The words a task's bucket is hashed from: its id and kind.
struct TaskKey([u64; 2]);

impl Hashed for TaskKey {
    fn hash_with(&self, hash: impl Fn(&[u64]) -> u64) -> u64 {
        hash(&self.0)
    }
}

/// One bucket: the taskinfos whose (id, kind) hash here, under a lock.
#[pin_data]
pub(crate) struct Bucket {
    #[pin]
    tasks: BhLock<KVec<Arc<TaskInfo>>>,
}

/// All taskinfos, hashed by (id, kind).
///
/// Locking: a bucket's lock may be taken with a sockinfo bucket lock held
/// (sockinfo before taskinfo), never the other way round.
pub(crate) struct TaskTable {
    table: BucketTable<Bucket>,
}

impl TaskTable {
    /// An empty table of `1 << bits` buckets holding at most `max` entries.
    pub(crate) fn new(bits: u32, max: usize, hasher: Hasher) -> Result<Self> {
        let table = BucketTable::new(bits, max, hasher, || {
            try_pin_init!(Bucket {
                tasks <- crate::new_bhlock!(KVec::new(), "netatop_task_bucket"),
            }? Error)
        })?;
        Ok(Self { table })
    }

    /// The bucket of the tasks with `id` and `kind` (always `Some`: see
    /// [`BucketTable::bucket_of`]).
    fn bucket(&self, id: i32, kind: TaskKind) -> Option<&BhLock<KVec<Arc<TaskInfo>>>> {
        let kind = match kind {
            TaskKind::Group => 1,
            TaskKind::Thread => 2,
        };
        // CAST: the id's bit pattern is hashed.
        let (_, bucket) = self
            .table
            .bucket_of(&TaskKey([u64::from(id as u32), kind]))?;
        Some(&bucket.tasks)
    }

    /// Finds the taskinfo of `who`, or creates it with `make`. Called from
    /// the packet path (atomic context): allocates with `GFP_ATOMIC`.
    ///
    /// `None` when the cap is reached or allocation fails (both counted as
    /// overflow, and nothing printed).
    pub(crate) fn get_or_create(
        &self,
        cx: &impl LockContext,
        who: TaskId,
        make: impl FnOnce() -> NewTask,
    ) -> Option<Arc<TaskInfo>> {
        let mut bucket = self.bucket(who.id, who.kind)?.lock(cx);
        if let Some(t) = bucket.iter().find(|t| t.is(who)) {
            return Some(t.clone());
        }
        if !self.table.limit().reserve() {
            return None;
        }
        let new = make();
        let info = TaskInfo {
            id: who.id,
            kind: who.kind,
            finished: Atomic::new(false),
            start: who.start,
            btime: new.btime,
            command: new.command,
            counters: Counters::new(),
            hints: BucketHints::new(),
            cgroup: new.cgroup,
        };
        let created = Arc::new(info, GFP_ATOMIC | __GFP_NOWARN)
            .ok()
            .and_then(|t| {
                bucket
                    .push(t.clone(), GFP_ATOMIC | __GFP_NOWARN)
                    .ok()
                    .map(|()| t)
            });
        if created.is_none() {
            self.table.limit().release_nomem();
        }
        created
    }

    /// The newest taskinfo with this id and kind (for GETCNT_TGID/PID).
    pub(crate) fn lookup(&self, cx: &Process, id: i32, kind: TaskKind) -> Option<Arc<TaskInfo>> {
        let bucket = self.bucket(id, kind)?.lock(cx);
        bucket
            .iter()
            .filter(|t| t.id == id && t.kind == kind)
            .max_by_key(|t| t.start)
            .cloned()
    }

    /// The cap, shared with the exit list (finished processes count too).
    pub(crate) fn limit(&self) -> &Limit {
        self.table.limit()
    }

    /// Removes the tasks that have finished: threads are freed (after
    /// `freeing_thread` has seen each), processes are returned for the exit
    /// list, each keeping its reservation of the cap (which the exit list
    /// then holds: see [`crate::exitlist::ExitList`]). Takes each bucket
    /// lock in turn.
    ///
    /// `freeing_thread` runs with no task bucket lock held, so it may take a
    /// sockinfo bucket lock: the packet path takes a sockinfo bucket lock
    /// and then a task bucket lock, never the other way round. It lets
    /// other tasks run between buckets.
    pub(crate) fn collect_finished(
        &self,
        cx: &mut Process,
        mut freeing_thread: impl FnMut(&Process, &TaskInfo),
    ) -> KVec<Arc<TaskInfo>> {
        let mut finished = KVec::new();
        let mut threads = KVec::new();
        let visit = |cx: &Process, _, bucket: &Bucket| {
            let mut tasks = bucket.tasks.lock(cx);
            tasks.retain(|t| {
                let group = t.kind == TaskKind::Group;
                if task::task_alive(t.id, t.start, group) {
                    return true;
                }
                t.finished.store(true, Release);
                // Keep it for the next collection if there is no memory.
                let list = if group { &mut finished } else { &mut threads };
                list.push(t.clone(), GFP_ATOMIC | __GFP_NOWARN).is_err()
            });
            drop(tasks);
            if threads.is_empty() {
                return;
            }
            // CAST: a length fits in u64.
            let freed = threads.len() as u64;
            for t in threads.drain_all() {
                freeing_thread(cx, &t);
            }
            self.table.limit().release(freed);
        };
        self.table.visit(cx, visit);
        finished
    }

    /// Clones every process (thread group) in the table into `out`, as far
    /// as its spare capacity goes (no allocation under the bucket locks);
    /// returns how many there are. Finished processes the exit list could
    /// not take yet are included (see [`Self::requeue`]): until they reach
    /// it, their counters are only here. Takes each bucket lock in turn,
    /// letting other tasks run between buckets.
    pub(crate) fn groups(&self, cx: &mut Process, out: &mut KVVec<Arc<TaskInfo>>) -> usize {
        let mut total = 0;
        let visit = |cx: &Process, _, bucket: &Bucket| {
            let tasks = bucket.tasks.lock(cx);
            for t in tasks.iter().filter(|t| t.kind == TaskKind::Group) {
                total += 1;
                // Past the capacity the caller only learns the number.
                let _ = out.push_within_capacity(t.clone());
            }
        };
        self.table.visit(cx, visit);
        total
    }

    /// Puts back finished processes the exit list could not take (out of
    /// memory), to be retried by the next collection; drops them if even that
    /// fails.
    pub(crate) fn requeue(&self, cx: &Process, tasks: KVec<Arc<TaskInfo>>) {
        for t in tasks {
            let pushed = self
                .bucket(t.id, t.kind)
                .is_some_and(|bucket| bucket.lock(cx).push(t, GFP_ATOMIC | __GFP_NOWARN).is_ok());
            if !pushed {
                self.table.limit().release(1);
            }
        }
    }

    /// Number of entries, including finished processes on the exit list.
    pub(crate) fn len(&self) -> u64 {
        self.table.len()
    }

    /// Entries refused, by cause.
    pub(crate) fn refused(&self) -> Refused {
        self.table.refused()
    }
}
