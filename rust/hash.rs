// SPDX-License-Identifier: GPL-2.0

//! Seeded hashing of table keys.

/// The multipliers of xxHash64's rounds (odd, well-mixing 64-bit primes).
const PRIME1: u64 = 0x9e37_79b1_85eb_ca87;
const PRIME2: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// A keyed 64-bit hash of a few words: an xxHash64 round per word (four
/// instructions) from a random seed. Its high bits are the well-mixed ones
/// (each round ends with a multiplication, whose high bits depend on every
/// bit of the state): a table takes its index from them, as the kernel's
/// `hash_64()` does, with no finaliser.
///
/// Each round is a bijection of the state for a given word, and the state
/// starts at the secret seed, random per module load: a remote peer who
/// does not know the seed cannot tell which of its tuples share a bucket,
/// so it cannot aim packets at one chain.
#[derive(Clone, Copy)]
pub(crate) struct Hasher {
    seed: u64,
}

impl Hasher {
    /// A hasher with the given seed.
    pub(crate) const fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// Hashes a sequence of words; use the high bits.
    #[inline]
    pub(crate) fn hash(&self, words: &[u64]) -> u64 {
        words.iter().fold(self.seed, |h, &w| {
            (h ^ w.wrapping_mul(PRIME2))
                .rotate_left(31)
                .wrapping_mul(PRIME1)
        })
    }
}
