//! The user ABI of the module (`include/netatop.h`), byte for byte.

use std::ffi::c_ulong;
use std::mem::{offset_of, size_of};

/// Length of a command name, including its terminating NUL.
pub const COMLEN: usize = 16;

/// First getsockopt command number.
pub const NETATOP_BASE_CTL: i32 = 15661;

/// Counters of one process or thread (`struct taskcount`, 64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TaskCount {
    /// TCP packets sent.
    pub tcpsndpacks: u64,
    /// TCP bytes sent (IP length plus link-layer estimate).
    pub tcpsndbytes: u64,
    /// TCP packets received.
    pub tcprcvpacks: u64,
    /// TCP bytes received.
    pub tcprcvbytes: u64,
    /// UDP packets sent.
    pub udpsndpacks: u64,
    /// UDP bytes sent.
    pub udpsndbytes: u64,
    /// UDP packets received.
    pub udprcvpacks: u64,
    /// UDP bytes received.
    pub udprcvbytes: u64,
}

/// One answer of the module (`struct netpertask`, 96 bytes on 64-bit Linux).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NetPerTask {
    /// Process id (tgid) or thread id, depending on the command.
    pub id: i32,
    /// Explicit padding; the module always zeroes it.
    pub pad: [u8; 4],
    /// Start time of the process or thread, seconds since the epoch.
    pub btime: c_ulong,
    /// Command name, NUL-terminated.
    pub command: [u8; COMLEN],
    /// The counters.
    pub tc: TaskCount,
}

const _: () = assert!(size_of::<TaskCount>() == 64);
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<NetPerTask>() == 96);
    assert!(offset_of!(NetPerTask, id) == 0);
    assert!(offset_of!(NetPerTask, btime) == 8);
    assert!(offset_of!(NetPerTask, command) == 16);
    assert!(offset_of!(NetPerTask, tc) == 32);
};

impl NetPerTask {
    /// The command name up to its first NUL, lossily decoded.
    pub fn command(&self) -> String {
        let end = self.command.iter().position(|&b| b == 0).unwrap_or(COMLEN);
        String::from_utf8_lossy(&self.command[..end]).into_owned()
    }

    /// The start time in seconds since the epoch, as a `u64` whatever the
    /// width of `c_ulong` on the target.
    pub fn btime_secs(&self) -> u64 {
        // CAST: c_ulong is u64 on 64-bit Linux (a no-op) and u32 on 32-bit
        // targets (widening).
        #[allow(clippy::unnecessary_cast)]
        let secs = self.btime as u64;
        secs
    }
}

/// The getsockopt commands of the netatop ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Command {
    /// `NETATOP_PROBE`: succeeds when the module is loaded.
    Probe = NETATOP_BASE_CTL,
    /// `NETATOP_FORCE_GC`: run the module's garbage collector now.
    ForceGc = NETATOP_BASE_CTL + 1,
    /// `NETATOP_EMPTY_EXIT`: block until the exit list is empty.
    EmptyExit = NETATOP_BASE_CTL + 2,
    /// `NETATOP_GETCNT_EXIT`: take the oldest finished process (blocks).
    GetcntExit = NETATOP_BASE_CTL + 3,
    /// `NETATOP_GETCNT_TGID`: counters of a process.
    GetcntTgid = NETATOP_BASE_CTL + 4,
    /// `NETATOP_GETCNT_PID`: counters of a thread.
    GetcntPid = NETATOP_BASE_CTL + 5,
}

impl Command {
    /// Every command, in numeric order.
    pub const ALL: [Command; 6] = [
        Command::Probe,
        Command::ForceGc,
        Command::EmptyExit,
        Command::GetcntExit,
        Command::GetcntTgid,
        Command::GetcntPid,
    ];

    /// The getsockopt option name.
    pub fn raw(self) -> i32 {
        self as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_numbers_match_netatop_3_2_2() {
        let raw: Vec<i32> = Command::ALL.iter().map(|c| c.raw()).collect();
        assert_eq!(raw, [15661, 15662, 15663, 15664, 15665, 15666]);
    }

    #[test]
    fn command_name_stops_at_nul() {
        let mut npt = NetPerTask::default();
        npt.command[..5].copy_from_slice(b"atop\0");
        npt.command[5] = b'x';
        assert_eq!(npt.command(), "atop");
        npt.command = [b'a'; COMLEN];
        assert_eq!(npt.command(), "a".repeat(COMLEN));
    }

    #[test]
    fn btime_in_seconds() {
        let npt = NetPerTask {
            btime: 1_717_200_000,
            ..NetPerTask::default()
        };
        assert_eq!(npt.btime_secs(), 1_717_200_000u64);
    }
}
