// SPDX-License-Identifier: GPL-2.0

//! Global counters, as shown in `/proc/netatop`.

use kernel::sync::atomic::{Atomic, Relaxed};

use crate::packet::{Direction, Proto};

/// Global packet counters, updated lock-free from every CPU.
pub(crate) struct Stats {
    /// Packets by protocol class and direction: TCP, UDP, ICMP, other.
    packets: [[Atomic<u64>; 2]; 4],
    /// Packets never attributed to a process: TCP, UDP.
    unident: [[Atomic<u64>; 2]; 2],
}

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

fn proto_index(proto: Proto) -> usize {
    match proto {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp => 2,
        Proto::Other => 3,
    }
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::Send => 0,
        Direction::Receive => 1,
    }
}

impl Stats {
    /// All counters at zero.
    pub(crate) const fn new() -> Self {
        Self {
            packets: [const { [const { Atomic::new(0) }; 2] }; 4],
            unident: [const { [const { Atomic::new(0) }; 2] }; 2],
        }
    }

    /// Counts `packets` of `proto` in direction `dir`.
    pub(crate) fn packets(&self, proto: Proto, dir: Direction, packets: u64) {
        self.packets[proto_index(proto)][dir_index(dir)].add(packets, Relaxed);
    }

    /// Counts `packets` that no process will ever be charged for.
    pub(crate) fn unident(&self, proto: Proto, dir: Direction, packets: u64) {
        let p = match proto {
            Proto::Tcp => 0,
            Proto::Udp => 1,
            Proto::Icmp | Proto::Other => return,
        };
        self.unident[p][dir_index(dir)].add(packets, Relaxed);
    }

    /// Reads every counter; the table sizes are left at zero for the caller.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let p = |i: usize, d: usize| self.packets[i][d].load(Relaxed);
        let u = |i: usize, d: usize| self.unident[i][d].load(Relaxed);
        Snapshot {
            tcpsndpacks: p(0, 0),
            tcprcvpacks: p(0, 1),
            udpsndpacks: p(1, 0),
            udprcvpacks: p(1, 1),
            icmpsndpacks: p(2, 0),
            icmprcvpacks: p(2, 1),
            unident_tcpsndpacks: u(0, 0),
            unident_tcprcvpacks: u(0, 1),
            unident_udpsndpacks: u(1, 0),
            unident_udprcvpacks: u(1, 1),
            ..Snapshot::default()
        }
    }
}
