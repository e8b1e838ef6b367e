// SPDX-License-Identifier: GPL-2.0

//! Seeded hashing of table keys.

/// The multipliers of xxHash64's rounds (odd, well-mixing 64-bit primes).
const PRIME1: u64 = 0x9e37_79b1_85eb_ca87;
const PRIME2: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// murmur3's 64-bit finaliser: every input bit flips each output bit with
/// probability close to 1/2, so the low bits the tables mask are as good
/// as the high ones.
#[inline]
fn fmix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// A keyed 64-bit hash of a few words: an xxHash64 round per word (four
/// instructions) from a random seed, then one murmur3 finaliser.
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

    /// Hashes a sequence of words.
    #[inline]
    pub(crate) fn hash(&self, words: &[u64]) -> u64 {
        let state = words.iter().fold(self.seed, |h, &w| {
            (h ^ w.wrapping_mul(PRIME2))
                .rotate_left(31)
                .wrapping_mul(PRIME1)
        });
        fmix(state)
    }
}
