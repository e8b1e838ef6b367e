// SPDX-License-Identifier: GPL-2.0

//! Global counters, as shown in `/proc/netatop`.
//!
//! They are per-CPU counters kept by the glue (`netatop_stats`): the packet
//! path writes only its own CPU's line, with no atomic and no call (the hook
//! adds the packet to the slots [`Charge`] names when the accounting
//! returns), and a reader sums the CPUs. This file decides what the slots
//! mean.

use crate::glue;
use crate::packet::{Direction, Proto};

/// Number of per-CPU counter slots (`NETATOP_NR_STATS`): packets by protocol
/// class and direction (8), then unidentified packets by TCP/UDP and
/// direction (4).
pub(crate) const NR_SLOTS: usize = 12;
/// First slot of the unidentified packets.
const UNIDENT_BASE: u32 = 8;
/// `NETATOP_STAT_NONE`: no second slot.
const NO_SLOT: u32 = 0xff;

/// A copy of the global counters plus the table sizes, for `/proc/netatop`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) tcpsndpacks: u64,
    pub(crate) tcprcvpacks: u64,
    pub(crate) udpsndpacks: u64,
    pub(crate) udprcvpacks: u64,
    pub(crate) unident_tcpsndpacks: u64,
    pub(crate) unident_tcprcvpacks: u64,
    pub(crate) unident_udpsndpacks: u64,
    pub(crate) unident_udprcvpacks: u64,
    pub(crate) icmpsndpacks: u64,
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

/// The slot of packets of `proto` in direction `dir`.
fn packets_slot(proto: Proto, dir: Direction) -> u32 {
    let p = match proto {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp => 2,
        Proto::Other => 3,
    };
    p * 2 + dir_index(dir)
}

/// The slot of unidentified packets of `proto` in direction `dir`, if the
/// protocol has one (TCP and UDP).
fn unident_slot(proto: Proto, dir: Direction) -> Option<u32> {
    let p = match proto {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp | Proto::Other => return None,
    };
    Some(UNIDENT_BASE + p * 2 + dir_index(dir))
}

fn dir_index(dir: Direction) -> u32 {
    match dir {
        Direction::Send => 0,
        Direction::Receive => 1,
    }
}

/// What one packet adds to the global counters: the value the packet entry
/// point returns to the hook, which adds the packet's segments to the slot
/// in bits 0-7 and, unless it is [`NO_SLOT`], to the one in bits 8-15.
///
/// # Invariants
///
/// Both slots are below [`NR_SLOTS`] (or the second is [`NO_SLOT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Charge(u32);

impl Charge {
    /// A packet of `proto` in direction `dir`.
    pub(crate) fn packet(proto: Proto, dir: Direction) -> Self {
        // INVARIANT: `packets_slot` is below 8.
        Self(packets_slot(proto, dir) | (NO_SLOT << 8))
    }

    /// The same packet, also counted as unidentified (no process will ever
    /// be charged for it).
    pub(crate) fn unidentified(proto: Proto, dir: Direction) -> Self {
        let second = unident_slot(proto, dir).unwrap_or(NO_SLOT);
        // INVARIANT: `unident_slot` is below 12.
        Self(packets_slot(proto, dir) | (second << 8))
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
            glue::stat_add(slot, packets);
        }
    }
}

/// Reads every counter; the table sizes are left at zero for the caller.
pub(crate) fn snapshot() -> Snapshot {
    let v = glue::stats_read();
    let u = |proto, dir| unident_slot(proto, dir).map_or(0, |s| v[s as usize]);
    let p = |proto, dir| v[packets_slot(proto, dir) as usize];
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
