// SPDX-License-Identifier: GPL-2.0

//! The user ABI shared with atop. Its one source is `include/netatop.h`:
//! every struct here is checked against the C compiler's layout of it, and
//! every constant taken from it, at build time.

use kernel::ffi::c_int;

use crate::kernel_services::layout::{self, check_layout};
use crate::kernel_services::mem::as_bytes;

/// The module's version, as printed in `/proc/netatop` ("modversion") and by
/// modinfo: `rust/VERSION`, the one source (Kbuild hands it to the glue as
/// `NETATOP_RS_VERSION`; a guest test checks that both agree).
pub(crate) const VERSION: &str = include_str!("VERSION");

/// A getsockopt command of the netatop ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `NETATOP_PROBE`: is the module loaded?
    Probe,
    /// `NETATOP_FORCE_GC`: run the garbage collector now.
    ForceGc,
    /// `NETATOP_EMPTY_EXIT`: wait until the exit list is empty.
    EmptyExit,
    /// `NETATOP_GETCNT_EXIT`: take the oldest finished process.
    GetcntExit,
    /// `NETATOP_GETCNT_TGID`: counters of a process.
    GetcntTgid,
    /// `NETATOP_GETCNT_PID`: counters of a thread.
    GetcntPid,
    /// `NETATOP_GETCNT_CGROUP` (netatop-rs): counters of a cgroup.
    GetcntCgroup,
    /// `NETATOP_GETCNT_TASKS` (netatop-rs): every live process in one call.
    GetcntTasks,
    /// `NETATOP_GETCNT_CGROUPS` (netatop-rs): every cgroup in one call.
    GetcntCgroups,
    /// `NETATOP_GETCNT_CONNS` (netatop-rs): every connection in one call.
    GetcntConns,
}

impl Command {
    /// Decodes a getsockopt option name; `None` outside the netatop range.
    pub(crate) fn from_raw(cmd: c_int) -> Option<Self> {
        let cmd = usize::try_from(cmd).ok()?;
        Some(match cmd {
            layout::NETATOP_PROBE => Self::Probe,
            layout::NETATOP_FORCE_GC => Self::ForceGc,
            layout::NETATOP_EMPTY_EXIT => Self::EmptyExit,
            layout::NETATOP_GETCNT_EXIT => Self::GetcntExit,
            layout::NETATOP_GETCNT_TGID => Self::GetcntTgid,
            layout::NETATOP_GETCNT_PID => Self::GetcntPid,
            layout::NETATOP_GETCNT_CGROUP => Self::GetcntCgroup,
            layout::NETATOP_GETCNT_TASKS => Self::GetcntTasks,
            layout::NETATOP_GETCNT_CGROUPS => Self::GetcntCgroups,
            layout::NETATOP_GETCNT_CONNS => Self::GetcntConns,
            _ => return None,
        })
    }
}

// The glue registers the getsockopt range NETATOP_BASE_CTL ..
// NETATOP_BASE_CTL + NETATOP_NR_CMDS: the commands decoded above are
// exactly those numbers, consecutive in this order (netatop 3.2.2's six,
// then netatop-rs's four).
const _: () = {
    let commands = [
        layout::NETATOP_PROBE,
        layout::NETATOP_FORCE_GC,
        layout::NETATOP_EMPTY_EXIT,
        layout::NETATOP_GETCNT_EXIT,
        layout::NETATOP_GETCNT_TGID,
        layout::NETATOP_GETCNT_PID,
        layout::NETATOP_GETCNT_CGROUP,
        layout::NETATOP_GETCNT_TASKS,
        layout::NETATOP_GETCNT_CGROUPS,
        layout::NETATOP_GETCNT_CONNS,
    ];
    assert!(commands.len() == layout::NETATOP_NR_CMDS);
    let mut i = 0;
    while i < commands.len() {
        assert!(commands[i] == layout::NETATOP_BASE_CTL + i);
        i += 1;
    }
};

/// Length of a command name (`COMLEN`), including the terminating NUL.
pub(crate) const COMLEN: usize = layout::COMLEN;

/// The counters of one process, thread or cgroup (`struct taskcount`):
/// TCP and UDP packets and bytes, each way.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TaskCount {
    /// TCP packets sent.
    pub(crate) tcp_snd_packets: u64,
    /// TCP bytes sent.
    pub(crate) tcp_snd_bytes: u64,
    /// TCP packets received.
    pub(crate) tcp_rcv_packets: u64,
    /// TCP bytes received.
    pub(crate) tcp_rcv_bytes: u64,
    /// UDP packets sent.
    pub(crate) udp_snd_packets: u64,
    /// UDP bytes sent.
    pub(crate) udp_snd_bytes: u64,
    /// UDP packets received.
    pub(crate) udp_rcv_packets: u64,
    /// UDP bytes received.
    pub(crate) udp_rcv_bytes: u64,
}

check_layout!(TaskCount, taskcount, [
    tcp_snd_packets: tcpsndpacks, tcp_snd_bytes: tcpsndbytes,
    tcp_rcv_packets: tcprcvpacks, tcp_rcv_bytes: tcprcvbytes,
    udp_snd_packets: udpsndpacks, udp_snd_bytes: udpsndbytes,
    udp_rcv_packets: udprcvpacks, udp_rcv_bytes: udprcvbytes,
]);

impl TaskCount {
    /// Adds `other`, counter by counter (wrapping, as the C counters do).
    pub(crate) fn add(&mut self, other: &TaskCount) {
        let add = |a: &mut u64, b: u64| *a = a.wrapping_add(b);
        add(&mut self.tcp_snd_packets, other.tcp_snd_packets);
        add(&mut self.tcp_snd_bytes, other.tcp_snd_bytes);
        add(&mut self.tcp_rcv_packets, other.tcp_rcv_packets);
        add(&mut self.tcp_rcv_bytes, other.tcp_rcv_bytes);
        add(&mut self.udp_snd_packets, other.udp_snd_packets);
        add(&mut self.udp_snd_bytes, other.udp_snd_bytes);
        add(&mut self.udp_rcv_packets, other.udp_rcv_packets);
        add(&mut self.udp_rcv_bytes, other.udp_rcv_bytes);
    }

    /// Whether every counter is zero.
    pub(crate) fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// The answer to GETCNT_EXIT, GETCNT_TGID and GETCNT_PID
/// (`struct netpertask`, 96 bytes on 64-bit).
///
/// Every byte is a named field (the C struct's implicit padding after `id`
/// is `pad` here and always zero), so no uninitialised byte can reach user
/// space.
#[repr(C)]
pub(crate) struct NetPerTask {
    /// tgid or tid.
    pub(crate) id: i32,
    /// Padding, zero.
    pub(crate) pad: [u8; 4],
    /// Start time, seconds since the epoch (`unsigned long`).
    pub(crate) btime: u64,
    /// Command name, NUL-terminated.
    pub(crate) command: [u8; COMLEN],
    /// Its counters.
    pub(crate) tc: TaskCount,
}

check_layout!(NetPerTask, netpertask, [id: id, btime: btime, command: command, tc: tc]);

/// The answer to GETCNT_CGROUP and an entry of GETCNT_CGROUPS
/// (`struct netatop_cgroupcount`, 80 bytes).
#[repr(C)]
pub(crate) struct CgroupCount {
    /// cgroup v2 id (the caller's question for GETCNT_CGROUP).
    pub(crate) id: u64,
    /// Live processes counted for it.
    pub(crate) nprocs: u32,
    /// Padding, zero.
    pub(crate) pad: u32,
    /// Its live and finished processes' counters.
    pub(crate) tc: TaskCount,
}

check_layout!(CgroupCount, netatop_cgroupcount, [id: id, nprocs: nprocs, pad: pad, tc: tc]);

/// The header of the GETCNT_TASKS, GETCNT_CGROUPS and GETCNT_CONNS answers
/// (`struct netatop_listhdr`, 16 bytes); the entries follow it.
#[repr(C)]
pub(crate) struct ListHeader {
    /// Entries that exist.
    pub(crate) total: u32,
    /// Entries written after the header.
    pub(crate) count: u32,
    /// The overflow counter of the table listed.
    pub(crate) overflow: u64,
}

check_layout!(ListHeader, netatop_listhdr, [total: total, count: count, overflow: overflow]);

/// An entry of GETCNT_TASKS (`struct netatop_procinfo`, 104 bytes).
#[repr(C)]
pub(crate) struct ProcInfo {
    /// tgid.
    pub(crate) id: i32,
    /// Padding, zero.
    pub(crate) pad: u32,
    /// Start time, seconds since the epoch.
    pub(crate) btime: u64,
    /// Command name, NUL-padded.
    pub(crate) command: [u8; COMLEN],
    /// The cgroup v2 id it is counted for.
    pub(crate) cgroup: u64,
    /// Its counters.
    pub(crate) tc: TaskCount,
}

check_layout!(ProcInfo, netatop_procinfo, [
    id: id, pad: pad, btime: btime, command: command, cgroup: cgroup, tc: tc,
]);

/// An entry of GETCNT_CONNS (`struct netatop_conninfo`, 96 bytes): one
/// connection, its owner and its own counters.
#[repr(C)]
pub(crate) struct ConnInfo {
    /// Network namespace cookie.
    pub(crate) netns: u64,
    /// The process it is charged to; 0: none yet.
    pub(crate) tgid: i32,
    /// The thread it is charged to; 0: none.
    pub(crate) pid: i32,
    /// The process's start, seconds since the epoch; 0: none.
    pub(crate) btime: u64,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub(crate) proto: u8,
    /// `AF_INET` or `AF_INET6` (UDP: of the last remote end; 0: none).
    pub(crate) family: u8,
    /// TCP: the last state seen; 0: unknown.
    pub(crate) state: u8,
    /// `NETATOP_CONN_*`.
    pub(crate) flags: u8,
    /// Local port.
    pub(crate) lport: u16,
    /// Remote port (UDP: the last one).
    pub(crate) rport: u16,
    /// Local address, network byte order (IPv4: the first 4 bytes).
    pub(crate) laddr: [u8; 16],
    /// Remote address, as `laddr`.
    pub(crate) raddr: [u8; 16],
    /// Packets sent.
    pub(crate) sndpacks: u64,
    /// Bytes sent.
    pub(crate) sndbytes: u64,
    /// Packets received.
    pub(crate) rcvpacks: u64,
    /// Bytes received.
    pub(crate) rcvbytes: u64,
}

check_layout!(ConnInfo, netatop_conninfo, [
    netns: netns, tgid: tgid, pid: pid, btime: btime, proto: proto, family: family,
    state: state, flags: flags, lport: lport, rport: rport, laddr: laddr, raddr: raddr,
    sndpacks: sndpacks, sndbytes: sndbytes, rcvpacks: rcvpacks, rcvbytes: rcvbytes,
]);

/// `NETATOP_CONN_PEERS`: UDP, more than one remote end was seen.
pub(crate) const CONN_PEERS: u8 = layout::byte(layout::NETATOP_CONN_PEERS);

as_bytes! {
    TaskCount {
        tcp_snd_packets: u64, tcp_snd_bytes: u64, tcp_rcv_packets: u64, tcp_rcv_bytes: u64,
        udp_snd_packets: u64, udp_snd_bytes: u64, udp_rcv_packets: u64, udp_rcv_bytes: u64,
    };
    NetPerTask { id: i32, pad: [u8; 4], btime: u64, command: [u8; COMLEN], tc: TaskCount };
    CgroupCount { id: u64, nprocs: u32, pad: u32, tc: TaskCount };
    ListHeader { total: u32, count: u32, overflow: u64 };
    ProcInfo { id: i32, pad: u32, btime: u64, command: [u8; COMLEN], cgroup: u64, tc: TaskCount };
    ConnInfo {
        netns: u64, tgid: i32, pid: i32, btime: u64, proto: u8, family: u8, state: u8, flags: u8,
        lport: u16, rport: u16, laddr: [u8; 16], raddr: [u8; 16],
        sndpacks: u64, sndbytes: u64, rcvpacks: u64, rcvbytes: u64,
    };
}
