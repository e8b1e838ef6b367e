// SPDX-License-Identifier: GPL-2.0

//! Global counters, as shown in `/proc/netatop`.

use kernel::sync::atomic::{Atomic, Relaxed};

/// Counters shared by every CPU; updated with relaxed atomics, read as a
/// snapshot that is exact per counter (not across counters).
pub(crate) struct Stats {
    tcpsndpacks: Atomic<u64>,
    tcprcvpacks: Atomic<u64>,
    udpsndpacks: Atomic<u64>,
    udprcvpacks: Atomic<u64>,
    unident_tcpsndpacks: Atomic<u64>,
    unident_tcprcvpacks: Atomic<u64>,
    unident_udpsndpacks: Atomic<u64>,
    unident_udprcvpacks: Atomic<u64>,
    icmpsndpacks: Atomic<u64>,
    icmprcvpacks: Atomic<u64>,
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

impl Stats {
    /// All counters at zero.
    pub(crate) const fn new() -> Self {
        Self {
            tcpsndpacks: Atomic::new(0),
            tcprcvpacks: Atomic::new(0),
            udpsndpacks: Atomic::new(0),
            udprcvpacks: Atomic::new(0),
            unident_tcpsndpacks: Atomic::new(0),
            unident_tcprcvpacks: Atomic::new(0),
            unident_udpsndpacks: Atomic::new(0),
            unident_udprcvpacks: Atomic::new(0),
            icmpsndpacks: Atomic::new(0),
            icmprcvpacks: Atomic::new(0),
        }
    }

    /// Reads every counter; the table sizes are left at zero for the caller.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            tcpsndpacks: self.tcpsndpacks.load(Relaxed),
            tcprcvpacks: self.tcprcvpacks.load(Relaxed),
            udpsndpacks: self.udpsndpacks.load(Relaxed),
            udprcvpacks: self.udprcvpacks.load(Relaxed),
            unident_tcpsndpacks: self.unident_tcpsndpacks.load(Relaxed),
            unident_tcprcvpacks: self.unident_tcprcvpacks.load(Relaxed),
            unident_udpsndpacks: self.unident_udpsndpacks.load(Relaxed),
            unident_udprcvpacks: self.unident_udprcvpacks.load(Relaxed),
            icmpsndpacks: self.icmpsndpacks.load(Relaxed),
            icmprcvpacks: self.icmprcvpacks.load(Relaxed),
            ..Snapshot::default()
        }
    }
}
