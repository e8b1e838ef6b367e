// SPDX-License-Identifier: GPL-2.0

//! Seeded hashing of table keys.

/// A keyed 64-bit mixer (the murmur3 finaliser applied per word). The seed
/// is random per module load, so remote peers cannot aim packets at one
/// bucket without learning it.
#[derive(Clone, Copy)]
pub(crate) struct Hasher {
    seed: u64,
}

#[inline]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

impl Hasher {
    /// A hasher with the given seed.
    pub(crate) const fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// Hashes a sequence of words.
    #[inline]
    pub(crate) fn hash(&self, words: &[u64]) -> u64 {
        words.iter().fold(self.seed, |h, &w| mix(h ^ w))
    }
}
