// SPDX-License-Identifier: GPL-2.0

//! Global counters, as shown in `/proc/netatop`: what each of the per-CPU
//! slots the glue keeps means (see `kernel_services::stats`). The packet
//! path hands the hook a [`Charge`], which it adds on its own CPU with no
//! atomic and no call (a refused packet's second slot is added at once);
//! a reader sums the CPUs.

use crate::kernel_services::stats::{self as slots, Charge, Slot};
use crate::limits::Refused;
use crate::packet::{Direction, Proto};

/// The packets by protocol class and direction ([`Proto::index`] * 2 +
/// [`Direction::index`]): 8 slots, then the unidentified TCP and UDP
/// packets by direction: 4.
const UNIDENT_BASE: usize = 8;
const _: () = assert!(UNIDENT_BASE + 4 == crate::kernel_services::stats::NR_STATS);

/// A copy of the global counters plus the table sizes, for `/proc/netatop`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Snapshot {
    /// Packets (wire segments) by protocol class and direction, indexed by
    /// [`Proto::index`] and [`Direction::index`].
    pub(crate) packets: [[u64; 2]; 4],
    /// Of those, the TCP and UDP packets no process will ever be charged for.
    pub(crate) unident: [[u64; 2]; 2],
    /// Sockinfo entries.
    pub(crate) sockinfo: u64,
    /// Sockinfo entries refused, by cause.
    pub(crate) sockinfo_refused: Refused,
    /// Live taskinfo entries.
    pub(crate) taskinfo: u64,
    /// Taskinfo entries refused, by cause.
    pub(crate) taskinfo_refused: Refused,
    /// Finished processes on the exit list.
    pub(crate) exits: u64,
}

/// The slot of packets of `proto` in direction `dir`.
const fn packets_slot(proto: Proto, dir: Direction) -> Slot {
    Slot::new(proto.index() * 2 + dir.index())
}

/// The slot of unidentified packets of `proto` in direction `dir`, if the
/// protocol has one (TCP and UDP).
const fn unident_slot(proto: Proto, dir: Direction) -> Option<Slot> {
    match proto {
        Proto::Tcp | Proto::Udp => Some(Slot::new(UNIDENT_BASE + proto.index() * 2 + dir.index())),
        Proto::Icmp | Proto::Other => None,
    }
}

/// A packet count as the hook adds it (segments are at most 65535).
fn count(segs: u64) -> u16 {
    u16::try_from(segs).unwrap_or(u16::MAX)
}

/// `segs` packets of `proto` in direction `dir`.
#[inline(always)]
pub(crate) fn packet(proto: Proto, dir: Direction, segs: u64) -> Charge {
    Charge {
        slot: packets_slot(proto, dir),
        count: count(segs),
    }
}

/// The same packets, counted as unidentified (no process will ever be
/// charged for them) at once.
#[inline(always)]
pub(crate) fn unidentified(proto: Proto, dir: Direction, segs: u64) -> Charge {
    unident(proto, dir, segs);
    packet(proto, dir, segs)
}

/// Counts `packets` that no process will ever be charged for (the packet
/// path's refused packets, the collector, a full table making room).
#[cold]
pub(crate) fn unident(proto: Proto, dir: Direction, packets: u64) {
    if let Some(slot) = unident_slot(proto, dir) {
        if packets > 0 {
            slots::add(slot, packets);
        }
    }
}

/// Reads every counter; the table sizes are left at zero for the caller.
pub(crate) fn snapshot() -> Snapshot {
    let v = slots::read();
    let read = |slot: Slot| v.get(slot.index()).copied().unwrap_or(0);
    let mut s = Snapshot::default();
    for proto in [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Other] {
        for dir in [Direction::Send, Direction::Receive] {
            s.packets[proto.index()][dir.index()] = read(packets_slot(proto, dir));
            if let Some(slot) = unident_slot(proto, dir) {
                s.unident[proto.index()][dir.index()] = read(slot);
            }
        }
    }
    s
}
