// SPDX-License-Identifier: GPL-2.0

//! A ring of bucket indices where entries that can make room were noted: a
//! full table (or a full share of it) tries those buckets first instead of
//! searching the whole table.

use kernel::sync::atomic::{Atomic, Relaxed};

/// Slots of a ring.
const RING: usize = 256;
/// How many noted buckets one search tries before it gives up.
const TRIES: usize = 32;

/// What a noted bucket gave.
pub(crate) enum Offer<T> {
    /// Its lock was busy: skipped, the note kept.
    Busy,
    /// Nothing to take: the note is forgotten.
    Empty,
    /// Nothing to take yet, but maybe later: the note is kept.
    Later,
    /// An entry was freed; the search ends, the note forgotten (each entry
    /// that can make room is noted on its own).
    Freed(T),
}

/// The last [`RING`] bucket indices noted (`usize::MAX`: none), oldest
/// first; a hint, overwritten round robin, written and read lock-free.
pub(crate) struct BucketRing {
    slots: [Atomic<usize>; RING],
    /// Slots written so far.
    next: Atomic<usize>,
}

impl BucketRing {
    /// An empty ring.
    pub(crate) const fn new() -> Self {
        Self {
            slots: [const { Atomic::new(usize::MAX) }; RING],
            next: Atomic::new(0),
        }
    }

    /// Notes bucket `index`.
    pub(crate) fn note(&self, index: usize) {
        let slot = self.next.fetch_add(1, Relaxed) % RING;
        self.slots[slot].store(index, Relaxed);
    }

    /// Offers the noted buckets, oldest note first, to `take` until it frees
    /// an entry (what it returns then), or [`TRIES`] buckets gave nothing.
    pub(crate) fn search<T>(&self, mut take: impl FnMut(usize) -> Offer<T>) -> Option<T> {
        // The slot written next holds the oldest note.
        let oldest = self.next.load(Relaxed);
        let mut tries = 0;
        for n in 0..RING {
            let slot = &self.slots[oldest.wrapping_add(n) % RING];
            let index = slot.load(Relaxed);
            if index == usize::MAX {
                continue;
            }
            match take(index) {
                Offer::Busy => continue,
                Offer::Freed(t) => {
                    // A note stands for one entry: this one.
                    slot.store(usize::MAX, Relaxed);
                    return Some(t);
                }
                Offer::Empty => slot.store(usize::MAX, Relaxed),
                Offer::Later => {}
            }
            tries += 1;
            if tries == TRIES {
                break;
            }
        }
        None
    }
}
