// SPDX-License-Identifier: GPL-2.0

//! The user ABI shared with atop (see `include/netatop.h`).

use kernel::prelude::*;

/// The module's version, as printed in `/proc/netatop` ("modversion") and by
/// modinfo: `rust/VERSION`, the one source (Kbuild hands it to the glue as
/// `NETATOP_RS_VERSION`; a guest test checks that both agree).
pub(crate) const VERSION: &str = include_str!("VERSION");

/// First getsockopt command number (`NETATOP_BASE_CTL`).
const NETATOP_BASE_CTL: c_int = 15661;

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
}

impl Command {
    /// Decodes a getsockopt option name; `None` outside the netatop range.
    pub(crate) fn from_raw(cmd: c_int) -> Option<Self> {
        Some(match cmd.checked_sub(NETATOP_BASE_CTL)? {
            0 => Self::Probe,
            1 => Self::ForceGc,
            2 => Self::EmptyExit,
            3 => Self::GetcntExit,
            4 => Self::GetcntTgid,
            5 => Self::GetcntPid,
            6 => Self::GetcntCgroup,
            7 => Self::GetcntTasks,
            8 => Self::GetcntCgroups,
            _ => return None,
        })
    }
}

/// Length of a command name (`COMLEN`), including the terminating NUL.
pub(crate) const COMLEN: usize = 16;

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
    /// `struct taskcount`: tcp snd packs/bytes, tcp rcv packs/bytes, then udp.
    pub(crate) tc: [u64; 8],
}

const _: () = {
    assert!(core::mem::size_of::<NetPerTask>() == 96);
    assert!(core::mem::offset_of!(NetPerTask, btime) == 8);
    assert!(core::mem::offset_of!(NetPerTask, command) == 16);
    assert!(core::mem::offset_of!(NetPerTask, tc) == 32);
};

// SAFETY: `NetPerTask` is `repr(C)` with only integer and byte-array fields
// whose sizes add up to its size (asserted above): it has no padding, so all
// of its bytes are initialised.
unsafe impl kernel::transmute::AsBytes for NetPerTask {}

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
    /// Its live and finished processes' counters, as `struct taskcount`.
    pub(crate) tc: [u64; 8],
}

/// The header of the GETCNT_TASKS and GETCNT_CGROUPS answers
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
    /// `struct taskcount`.
    pub(crate) tc: [u64; 8],
}

const _: () = {
    assert!(core::mem::size_of::<CgroupCount>() == 80);
    assert!(core::mem::offset_of!(CgroupCount, nprocs) == 8);
    assert!(core::mem::offset_of!(CgroupCount, pad) == 12);
    assert!(core::mem::offset_of!(CgroupCount, tc) == 16);
    assert!(core::mem::size_of::<ListHeader>() == 16);
    assert!(core::mem::offset_of!(ListHeader, count) == 4);
    assert!(core::mem::offset_of!(ListHeader, overflow) == 8);
    assert!(core::mem::size_of::<ProcInfo>() == 104);
    assert!(core::mem::offset_of!(ProcInfo, pad) == 4);
    assert!(core::mem::offset_of!(ProcInfo, btime) == 8);
    assert!(core::mem::offset_of!(ProcInfo, command) == 16);
    assert!(core::mem::offset_of!(ProcInfo, cgroup) == 32);
    assert!(core::mem::offset_of!(ProcInfo, tc) == 40);
};

// SAFETY: `repr(C)`, integer fields only, sizes adding up to the size
// (asserted above): no padding, every byte initialised.
unsafe impl kernel::transmute::AsBytes for CgroupCount {}
// SAFETY: as above.
unsafe impl kernel::transmute::AsBytes for ListHeader {}
// SAFETY: as above.
unsafe impl kernel::transmute::AsBytes for ProcInfo {}
