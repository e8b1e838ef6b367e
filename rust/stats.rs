// SPDX-License-Identifier: GPL-2.0

//! Global counters, as shown in `/proc/netatop`.
//!
//! They are per-CPU counters kept by the glue (`netatop_stats`): the packet
//! path writes only its own CPU's line, with no atomic and no call (the hook
//! adds the packet to the slots [`Charge`] names when the accounting
//! returns), and a reader sums the CPUs. This file decides what the slots
//! mean.

use crate::ffi;
use crate::packet::{Direction, Proto};

/// First slot of the unidentified packets: the [`ffi::NR_STATS`] slots are
/// packets by protocol class and direction (8), then unidentified packets
/// by TCP/UDP and direction (4).
const UNIDENT_BASE: usize = 8;
const _: () = assert!(UNIDENT_BASE + 4 == ffi::NR_STATS);
/// `NETATOP_STAT_NONE`: no second slot.
const NO_SLOT: u32 = 0xff;

/// A copy of the global counters plus the table sizes, for `/proc/netatop`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Snapshot {
    /// Packets (wire segments) by protocol class and direction, indexed by
    /// [`Proto::index`] and [`Direction::index`].
    pub(crate) packets: [[u64; 2]; 4],
    /// Of those, the TCP and UDP packets no process will ever be charged for.
    pub(crate) unident: [[u64; 2]; 2],
    /// Sockinfo entries, and the entries refused (cap or failed allocation).
    pub(crate) sockinfo: [u64; 2],
    /// Live taskinfo entries, and the entries refused.
    pub(crate) taskinfo: [u64; 2],
    /// Finished processes on the exit list.
    pub(crate) exits: u64,
}

/// The slot of packets of `proto` in direction `dir` (below 8).
fn packets_slot(proto: Proto, dir: Direction) -> usize {
    proto.index() * 2 + dir.index()
}

/// The slot of unidentified packets of `proto` in direction `dir`, if the
/// protocol has one (TCP and UDP; below 12).
fn unident_slot(proto: Proto, dir: Direction) -> Option<usize> {
    match proto {
        Proto::Tcp | Proto::Udp => Some(UNIDENT_BASE + proto.index() * 2 + dir.index()),
        Proto::Icmp | Proto::Other => None,
    }
}

/// What one packet adds to the global counters: the value the packet entry
/// point returns to the hook, which adds the count in bits 16-31 (the
/// packet's wire segments) to the slot in bits 0-7 and, unless it is
/// [`NO_SLOT`], to the one in bits 8-15.
///
/// # Invariants
///
/// Both slots are below [`ffi::NR_STATS`] (or the second is [`NO_SLOT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Charge(u32);

/// A packet count in bits 16-31 (segments are at most 65535).
fn count(segs: u64) -> u32 {
    // CAST: clamped to 16 bits.
    (segs.min(0xffff) as u32) << 16
}

/// A slot number as the glue takes it.
fn slot(s: usize) -> u32 {
    // CAST: slots are below `ffi::NR_STATS` (12).
    s as u32
}

impl Charge {
    /// `segs` packets of `proto` in direction `dir`.
    pub(crate) fn packet(proto: Proto, dir: Direction, segs: u64) -> Self {
        // INVARIANT: `packets_slot` is below 8.
        Self(slot(packets_slot(proto, dir)) | (NO_SLOT << 8) | count(segs))
    }

    /// The same packets, also counted as unidentified (no process will ever
    /// be charged for them).
    pub(crate) fn unidentified(proto: Proto, dir: Direction, segs: u64) -> Self {
        let second = unident_slot(proto, dir).map_or(NO_SLOT, slot);
        // INVARIANT: `unident_slot` is below 12.
        Self(slot(packets_slot(proto, dir)) | (second << 8) | count(segs))
    }

    /// The value handed to the glue.
    pub(crate) fn raw(self) -> u32 {
        self.0
    }
}

/// Counts `packets` that no process will ever be charged for, outside the
/// packet path (the collector, a full table making room).
pub(crate) fn unident(proto: Proto, dir: Direction, packets: u64) {
    if let Some(slot) = unident_slot(proto, dir) {
        if packets > 0 {
            ffi::stat_add(slot, packets);
        }
    }
}

/// Reads every counter; the table sizes are left at zero for the caller.
pub(crate) fn snapshot() -> Snapshot {
    let v = ffi::stats_read();
    let mut s = Snapshot::default();
    for proto in [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Other] {
        for dir in [Direction::Send, Direction::Receive] {
            s.packets[proto.index()][dir.index()] = v[packets_slot(proto, dir)];
            if let Some(slot) = unident_slot(proto, dir) {
                s.unident[proto.index()][dir.index()] = v[slot];
            }
        }
    }
    s
}
