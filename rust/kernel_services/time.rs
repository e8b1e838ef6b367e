// SPDX-License-Identifier: GPL-2.0

//! Time, in jiffies.

use kernel::bindings;

/// `jiffies_64`.
pub(crate) fn jiffies() -> u64 {
    // SAFETY: `jiffies_64` is a static that always exists; 64-bit kernels
    // (the only ones the module builds for) read it in one access, which
    // is what `get_jiffies_64()` does there.
    unsafe { core::ptr::read_volatile(&raw const bindings::jiffies_64) }
}

/// `ms` milliseconds in jiffies.
pub(crate) fn jiffies_of_ms(ms: u32) -> u64 {
    // CAST: Jiffies is an unsigned long, at most 64 bits.
    kernel::time::msecs_to_jiffies(ms) as u64
}
