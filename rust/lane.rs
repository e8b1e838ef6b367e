// SPDX-License-Identifier: GPL-2.0

//! A bucket's lane: the one connection of a sockinfo bucket whose packets
//! are counted without the bucket lock.
//!
//! The lane holds a copy of what the packet path checks of that connection
//! (its key, for UDP its last remote end, its last TCP state, the thread it
//! is bound to) and, per direction, one word that packs the packets and
//! bytes counted in the lane since the bucket was last locked with a
//! generation. A packet that matches the copy is counted by one
//! compare-and-exchange of its direction's word, from the value it loaded
//! before reading the copy; anything else takes the bucket lock.
//!
//! Whoever takes the bucket lock seals the lane first ([`Lane::seal`]): both
//! words are exchanged for [`SEALED`], which no lane packet can count on,
//! and what they held is added to the connection under the lock. So while
//! the lock is held nothing is counted in the lane, and everything counted
//! in it is in the connection's entry, where readers, the collector and a
//! new binding find it. At the unlock, the lane is opened again with a new
//! generation ([`Lane::unseal`]), for the connection the packet path just
//! counted if that connection's traffic waits in its entry anyway (bound
//! and batched, or not bound yet), or left sealed.
//!
//! Why a lane packet is exact: its exchange succeeds only if the word has
//! not changed since it was loaded. A lock taken in between would have
//! sealed the word, and a new opening would carry another generation; the
//! copy read after the load was written before the opening that the load
//! saw (release and acquire), and a copy rewritten under a later lock
//! makes the exchange fail (the sealing exchange precedes the rewrite, whose
//! release the reader's acquire load then orders before its exchange). So a
//! packet counted in the lane was counted for the connection, the thread
//! and the state it checked, and before anything under the lock could
//! change them. The generation has [`GEN_BITS`] bits: an exchange could
//! only succeed on a stale load if the bucket were locked a multiple of
//! 2^27 times, with the same counts in the word each time, between one
//! packet's load and its exchange a few dozen instructions later.
//!
//! The lane's atomics are `core`'s: they compile to the same instructions
//! as the kernel's (plain loads and stores, `lock cmpxchg`, `xchg` on
//! x86-64) but in line, where the kernel crate's call a C helper each on
//! kernels built without helper inlining (every distribution kernel).

use core::sync::atomic::{
    AtomicU64,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};

use crate::packet::{Direction, Sender};
use crate::sockkey::{Peer, SockKey};

/// What the per-packet update needs of a packet, read before the lock.
#[derive(Clone, Copy)]
pub(crate) struct Hit<'a> {
    /// `jiffies_64` when the hook ran.
    pub(crate) now: u64,
    /// Its direction.
    pub(crate) dir: Direction,
    /// Its wire segments.
    pub(crate) segs: u64,
    /// Its bytes on the wire.
    pub(crate) bytes: u64,
    /// The TCP state of its socket; 0 without one, and for UDP.
    pub(crate) tcp_state: u8,
    /// UDP: its remote end.
    pub(crate) peer: Option<Peer<'a>>,
}

/// A word's bytes, bits 0-23 (the top one a guard: see [`GUARDS`]).
const BYTES_BITS: u32 = 24;
/// A word's packets, bits 24-35 (the top one a guard).
const PACKETS_SHIFT: u32 = BYTES_BITS;
const PACKETS_BITS: u32 = 12;
/// A word's generation, bits 36-62.
const GEN_SHIFT: u32 = PACKETS_SHIFT + PACKETS_BITS;
const GEN_BITS: u32 = 27;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;
/// A sealed word: nothing counts on it.
const SEALED: u64 = 1 << 63;
/// The top bit of each count. A word in which a lane packet counted has
/// them clear, and a packet counts in the lane only if it has fewer than
/// 2^11 segments and 2^23 bytes: so adding it cannot carry out of a count,
/// and a sum with a guard set goes to the lock instead (which empties the
/// word).
const GUARDS: u64 = SEALED | 1 << (BYTES_BITS - 1) | 1 << (PACKETS_SHIFT + PACKETS_BITS - 1);
/// A packet counted in the lane has less than this of each.
const MAX_BYTES: u64 = 1 << (BYTES_BITS - 1);
const MAX_SEGS: u64 = 1 << (PACKETS_BITS - 1);

// The layout fills the word exactly.
const _: () = assert!(GEN_SHIFT + GEN_BITS == 63);

/// `who`: the bound thread's pid (bits 0-31), its TCP state (32-39), and
/// whether it has a thread.
const WHO_STATE_SHIFT: u32 = 32;
const WHO_THREAD: u64 = 1 << 40;

/// The lane of one bucket.
///
/// # Invariants
///
/// While the bucket lock is held, both `words` are [`SEALED`] exactly (its
/// holder keeps their generations: see [`Seal`]); otherwise a word is
/// either `SEALED` with its generation, or open (`SEALED` clear): then its
/// counts are traffic of the connection `key` names, in its direction,
/// counted since the opening, not yet in the connection's entry; `who`,
/// `start` and `key` describe that connection as it was at the opening,
/// and the connection has stayed so since (only the lock holder changes
/// it). `lastact` is at least the entry's `lastact` at the opening, and at
/// most the time of the last packet counted in the lane since.
pub(crate) struct Lane {
    words: [AtomicU64; 2],
    key: [AtomicU64; 6],
    who: AtomicU64,
    start: AtomicU64,
    lastact: AtomicU64,
}

/// What the lock holder keeps of a sealed lane: the words' generations.
pub(crate) struct Seal {
    gens: [u64; 2],
}

/// What a sealed lane held: traffic counted in it for the connection `key`
/// names, to be added to its entry.
pub(crate) struct Drained {
    /// The connection's key.
    pub(crate) key: SockKey,
    /// Packets and bytes, by [`Direction::index`].
    pub(crate) counts: [(u64, u64); 2],
    /// The latest time a lane packet noted.
    pub(crate) lastact: u64,
}

/// A connection to open a lane for: what a packet of it must match.
pub(crate) struct Opening {
    key: [u64; 6],
    who: u64,
    start: u64,
    lastact: u64,
}

impl Opening {
    /// The connection `key`, last TCP state `state` (0 for UDP), bound to
    /// the thread `thread` (pid and start time) if any, its last packet at
    /// `lastact`.
    #[inline(always)]
    pub(crate) fn new(key: &SockKey, state: u8, thread: Option<(i32, u64)>, lastact: u64) -> Self {
        let (who, start) = match thread {
            // CAST: the pid's 32 bits, as they are.
            Some((pid, start)) => (u64::from(pid as u32) | WHO_THREAD, start),
            None => (0, 0),
        };
        Self {
            key: key.words(),
            who: who | u64::from(state) << WHO_STATE_SHIFT,
            start,
            lastact,
        }
    }
}

impl Lane {
    /// A sealed lane.
    pub(crate) const fn new() -> Self {
        // INVARIANT: sealed.
        Self {
            words: [AtomicU64::new(SEALED), AtomicU64::new(SEALED)],
            key: [const { AtomicU64::new(0) }; 6],
            who: AtomicU64::new(0),
            start: AtomicU64::new(0),
            lastact: AtomicU64::new(0),
        }
    }

    /// Counts a packet of connection `key` (described by `hit`, sent by
    /// `sender` if a local task did) in the lane, if the lane is open for
    /// that connection and nothing under the lock is needed: the packet
    /// matches the lane's copy (for UDP, the same remote end as the last;
    /// for TCP, no new state), its sender is the bound thread, and it is
    /// small enough. `false` if it was not counted.
    #[inline(always)]
    pub(crate) fn count(&self, key: &SockKey, hit: &Hit<'_>, sender: Option<Sender<'_>>) -> bool {
        if hit.segs >= MAX_SEGS || hit.bytes >= MAX_BYTES {
            return false;
        }
        let word = &self.words[hit.dir.index()];
        let old = word.load(Acquire);
        // The checks read the copy after the word (acquire): see the
        // module documentation.
        if !key.same_as(hit.peer.as_ref(), |i| self.key[i].load(Acquire)) {
            return false;
        }
        // Read only when there is something to check (UDP, received).
        let who = || self.who.load(Acquire);
        // CAST: the state's 8 bits.
        if hit.tcp_state != 0 && hit.tcp_state != (who() >> WHO_STATE_SHIFT) as u8 {
            return false;
        }
        if let Some(s) = sender {
            // CAST: the pid's 32 bits, as they are.
            let thread = u64::from(s.pid() as u32) | WHO_THREAD;
            if who() & (WHO_THREAD | 0xffff_ffff) != thread
                || self.start.load(Acquire) != s.thread_start()
            {
                return false;
            }
        }
        if hit.now > self.lastact.load(Relaxed) {
            // Two CPUs may store out of order: a jiffy lost at most.
            self.lastact.store(hit.now, Relaxed);
        }
        // No carry past a count (see `GUARDS`), nor out of the word.
        let new = old
            .wrapping_add(hit.segs << PACKETS_SHIFT)
            .wrapping_add(hit.bytes);
        if new & GUARDS != 0 {
            // Sealed, or a count half full: the lock empties the word.
            return false;
        }
        word.compare_exchange(old, new, AcqRel, Relaxed).is_ok()
    }

    /// Seals the lane (the bucket lock just taken): returns the
    /// generations, and what the lane held if it was open and a packet was
    /// counted in it (else its `lastact` is no counted packet's: a packet
    /// that raised it and then took the lock noted its time there).
    #[inline(always)]
    pub(crate) fn seal(&self) -> (Seal, Option<Drained>) {
        let olds = [
            self.words[0].swap(SEALED, AcqRel),
            self.words[1].swap(SEALED, AcqRel),
        ];
        // INVARIANT: both words sealed exactly, their generations kept.
        let seal = Seal {
            gens: olds.map(|w| (w >> GEN_SHIFT) & GEN_MASK),
        };
        // Both words open and close together; a sealed word's counts are 0.
        if olds.iter().all(|w| w & ((1 << GEN_SHIFT) - 1) == 0) {
            return (seal, None);
        }
        let counts = olds.map(|w| {
            (
                (w >> PACKETS_SHIFT) & ((1 << PACKETS_BITS) - 1),
                w & ((1 << BYTES_BITS) - 1),
            )
        });
        let drained = Drained {
            key: SockKey::from_words(self.key.each_ref().map(|k| k.load(Relaxed))),
            counts,
            lastact: self.lastact.load(Relaxed),
        };
        (seal, Some(drained))
    }

    /// Ends the seal (before the bucket lock is dropped): opens the lane
    /// for `opening` if any, with new generations, else leaves it sealed.
    #[inline(always)]
    pub(crate) fn unseal(&self, seal: Seal, opening: Option<Opening>) {
        let gens = seal
            .gens
            .map(|g| (g.wrapping_add(1) & GEN_MASK) << GEN_SHIFT);
        let Some(o) = opening else {
            self.words[0].store(SEALED | gens[0], Relaxed);
            self.words[1].store(SEALED | gens[1], Relaxed);
            return;
        };
        for (slot, w) in self.key.iter().zip(o.key) {
            slot.store(w, Release);
        }
        self.who.store(o.who, Release);
        self.start.store(o.start, Release);
        self.lastact.store(o.lastact, Relaxed);
        // INVARIANT: the copy, written above, describes the connection the
        // caller counted under the lock (see `Opening`).
        self.words[0].store(gens[0], Release);
        self.words[1].store(gens[1], Release);
    }
}
