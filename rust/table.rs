// SPDX-License-Identifier: GPL-2.0

//! The bucket array both hash tables are built on: a power-of-two number of
//! buckets (each with its own lock, defined by the table), the seeded hash
//! that picks one, and the memory cap on the entries.

use kernel::alloc::KVBox;
use kernel::prelude::*;

use crate::hash::Hasher;
use crate::kernel_services::context::Process;
use crate::limits::{Limit, Refused};

/// Buckets visited between two chances for other tasks to run.
const RESCHED_EVERY: usize = 1024;

/// A key the tables hash: it hands its words to the table's hasher.
pub(crate) trait Hashed {
    /// `hash` of the key's words.
    fn hash_with(&self, hash: impl Fn(&[u64]) -> u64) -> u64;
}

impl Hashed for crate::sockkey::SockKey {
    #[inline(always)]
    fn hash_with(&self, hash: impl Fn(&[u64]) -> u64) -> u64 {
        crate::sockkey::SockKey::hash_with(self, hash)
    }
}

/// `1 << bits` buckets of type `B` and the cap of their entries.
///
/// # Invariants
///
/// `buckets.len() == 1 << (64 - shift)`, and `shift` is at least 44 (at
/// most 2^20 buckets).
pub(crate) struct BucketTable<B> {
    buckets: Pin<KVBox<[B]>>,
    shift: u32,
    hasher: Hasher,
    limit: Limit,
}

impl<B> BucketTable<B> {
    /// `1 << bits` buckets made by `init`, holding at most `max` entries.
    pub(crate) fn new<I: PinInit<B, Error>>(
        bits: u32,
        max: usize,
        hasher: Hasher,
        init: impl Fn() -> I,
    ) -> Result<Self> {
        if !(1..=20).contains(&bits) {
            return Err(EINVAL);
        }
        let n = 1usize << bits;
        let buckets = KVBox::pin_slice(|_| init(), n, GFP_KERNEL)?;
        // INVARIANT: `n` buckets, 2^bits with bits at most 20.
        Ok(Self {
            buckets,
            shift: 64 - bits,
            hasher,
            limit: Limit::new(max),
        })
    }

    /// The bucket of `key`, and its index: the high bits of its hash.
    /// Always `Some` (the type invariants keep the index in range): a
    /// checked lookup rather than indexing, which could panic.
    #[inline(always)]
    pub(crate) fn bucket_of(&self, key: &impl Hashed) -> Option<(usize, &B)> {
        let hash = key.hash_with(|words| self.hasher.hash(words));
        // CAST: at most 20 bits (type invariants), which fit in usize.
        let index = hash.wrapping_shr(self.shift) as usize;
        self.buckets.get(index).map(|bucket| (index, bucket))
    }

    /// The bucket at `index`, if there is one (indices come back from
    /// hints and rings).
    pub(crate) fn get(&self, index: usize) -> Option<&B> {
        self.buckets.get(index)
    }

    /// Calls `f` with each bucket and its index in turn, letting other tasks
    /// run every [`RESCHED_EVERY`] buckets (`f` gets the context to lock
    /// with, and releases what it locks before it returns: its guards
    /// borrow the context).
    pub(crate) fn visit(&self, cx: &mut Process, mut f: impl FnMut(&Process, usize, &B)) {
        for (i, bucket) in self.buckets.iter().enumerate() {
            if i % RESCHED_EVERY == RESCHED_EVERY - 1 {
                cx.cond_resched();
            }
            f(cx, i, bucket);
        }
    }

    /// Number of buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// The cap of the entries.
    pub(crate) fn limit(&self) -> &Limit {
        &self.limit
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> u64 {
        self.limit.used()
    }

    /// Entries refused, by cause.
    pub(crate) fn refused(&self) -> Refused {
        self.limit.refused()
    }
}
