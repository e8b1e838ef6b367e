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
    /// TCP packets sent (wire segments).
    pub(crate) tcpsndpacks: u64,
    /// TCP packets received.
    pub(crate) tcprcvpacks: u64,
    /// UDP packets sent.
    pub(crate) udpsndpacks: u64,
    /// UDP packets received.
    pub(crate) udprcvpacks: u64,
    /// Of the TCP packets sent, those no process will ever be charged for.
    pub(crate) unident_tcpsndpacks: u64,
    /// Of the TCP packets received, those no process will be charged for.
    pub(crate) unident_tcprcvpacks: u64,
    /// Of the UDP packets sent, those no process will be charged for.
    pub(crate) unident_udpsndpacks: u64,
    /// Of the UDP packets received, those no process will be charged for.
    pub(crate) unident_udprcvpacks: u64,
    /// ICMP and ICMPv6 packets sent.
    pub(crate) icmpsndpacks: u64,
    /// ICMP and ICMPv6 packets received.
    pub(crate) icmprcvpacks: u64,
    /// Number of sockinfo entries.
    pub(crate) nrs: u64,
    /// Sockinfo entries refused because of the memory cap.
    pub(crate) nrs_ovf: u64,
    /// Number of live taskinfo entries.
    pub(crate) nrt: u64,
    /// Taskinfo entries refused because of the memory cap.
    pub(crate) nrt_ovf: u64,
    /// Number of finished processes on the exit list.
    pub(crate) nre: u64,
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
    let u = |proto, dir| unident_slot(proto, dir).map_or(0, |s| v[s]);
    let p = |proto, dir| v[packets_slot(proto, dir)];
    use Direction::{Receive, Send};
    Snapshot {
        tcpsndpacks: p(Proto::Tcp, Send),
        tcprcvpacks: p(Proto::Tcp, Receive),
        udpsndpacks: p(Proto::Udp, Send),
        udprcvpacks: p(Proto::Udp, Receive),
        icmpsndpacks: p(Proto::Icmp, Send),
        icmprcvpacks: p(Proto::Icmp, Receive),
        unident_tcpsndpacks: u(Proto::Tcp, Send),
        unident_tcprcvpacks: u(Proto::Tcp, Receive),
        unident_udpsndpacks: u(Proto::Udp, Send),
        unident_udprcvpacks: u(Proto::Udp, Receive),
        ..Snapshot::default()
    }
}
