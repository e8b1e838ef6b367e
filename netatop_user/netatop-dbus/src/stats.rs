//! The answers of the service, built from one `NETATOP_GETCNT_TASKS`
//! snapshot: `GetStats` (`a{u(tt)}`) and `GetProcessStats`
//! (`a{u(sttstttttttt)}`).

use std::collections::HashMap;

use netatop::{ProcInfo, TaskCount};
use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

/// The D-Bus signature of `GetStats`'s answer: pid -> (bytes sent, bytes
/// received).
pub const GET_STATS_SIGNATURE: &str = "a{u(tt)}";

/// The D-Bus signature of `GetProcessStats`'s answer.
pub const GET_PROCESS_STATS_SIGNATURE: &str = "a{u(sttstttttttt)}";

/// `GetStats`'s answer.
pub type Stats = HashMap<u32, (u64, u64)>;

/// `GetProcessStats`'s answer.
pub type ProcessStatsMap = HashMap<u32, ProcessStats>;

/// One process in `GetProcessStats`'s answer: the D-Bus structure
/// `(sttstttttttt)`, fields in this order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ProcessStats {
    /// `s`: the command name (`comm`, at most 15 bytes; invalid UTF-8
    /// replaced by U+FFFD).
    pub command: String,
    /// `t`: start time of the process, seconds since the epoch.
    pub start_time: u64,
    /// `t`: the cgroup v2 id the process is counted for (the inode number of
    /// its cgroup's directory); 0 when none.
    pub cgroup_id: u64,
    /// `s`: that cgroup's path, as in `/proc/PID/cgroup` (`/` is the root,
    /// e.g. `/user.slice/user-1000.slice/session-2.scope`); empty when
    /// unknown (the cgroup was removed, or no cgroup2 is mounted).
    pub cgroup: String,
    /// `t`: TCP packets sent.
    pub tcp_sent_packets: u64,
    /// `t`: TCP bytes sent.
    pub tcp_sent_bytes: u64,
    /// `t`: TCP packets received.
    pub tcp_received_packets: u64,
    /// `t`: TCP bytes received.
    pub tcp_received_bytes: u64,
    /// `t`: UDP packets sent.
    pub udp_sent_packets: u64,
    /// `t`: UDP bytes sent.
    pub udp_sent_bytes: u64,
    /// `t`: UDP packets received.
    pub udp_received_packets: u64,
    /// `t`: UDP bytes received.
    pub udp_received_bytes: u64,
}

/// (bytes sent, bytes received), TCP plus UDP ([`TaskCount::bytes_sent`],
/// [`TaskCount::bytes_received`]).
pub fn totals(tc: &TaskCount) -> (u64, u64) {
    (tc.bytes_sent(), tc.bytes_received())
}

/// The pid of an entry as the dictionary key (the module never reports a
/// negative tgid; such an entry is left out).
fn key(p: &ProcInfo) -> Option<u32> {
    u32::try_from(p.id).ok()
}

/// `GetStats`'s answer for these processes.
pub fn get_stats(procs: &[ProcInfo]) -> Stats {
    procs
        .iter()
        .filter_map(|p| Some((key(p)?, totals(&p.tc))))
        .collect()
}

/// `GetProcessStats`'s answer for these processes; `cgroup_path` maps a
/// cgroup id to its path.
pub fn get_process_stats(
    procs: &[ProcInfo],
    cgroup_path: impl Fn(u64) -> Option<String>,
) -> ProcessStatsMap {
    procs
        .iter()
        .filter_map(|p| {
            let tc = &p.tc;
            let stats = ProcessStats {
                command: p.command(),
                start_time: p.btime,
                cgroup_id: p.cgroup,
                cgroup: if p.cgroup == 0 {
                    String::new()
                } else {
                    cgroup_path(p.cgroup).unwrap_or_default()
                },
                tcp_sent_packets: tc.tcpsndpacks,
                tcp_sent_bytes: tc.tcpsndbytes,
                tcp_received_packets: tc.tcprcvpacks,
                tcp_received_bytes: tc.tcprcvbytes,
                udp_sent_packets: tc.udpsndpacks,
                udp_sent_bytes: tc.udpsndbytes,
                udp_received_packets: tc.udprcvpacks,
                udp_received_bytes: tc.udprcvbytes,
            };
            Some((key(p)?, stats))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::zvariant::{serialized::Context, to_bytes, Type, LE};

    fn proc_info(id: i32, command: &str, cgroup: u64, n: u64) -> ProcInfo {
        let mut c = [0u8; 16];
        c[..command.len()].copy_from_slice(command.as_bytes());
        ProcInfo {
            id,
            pad: 0,
            btime: 1_700_000_000 + n,
            command: c,
            cgroup,
            tc: TaskCount {
                tcpsndpacks: n,
                tcpsndbytes: 10 * n,
                tcprcvpacks: 2 * n,
                tcprcvbytes: 20 * n,
                udpsndpacks: 3 * n,
                udpsndbytes: 30 * n,
                udprcvpacks: 4 * n,
                udprcvbytes: 40 * n,
            },
        }
    }

    #[test]
    fn signatures() {
        assert_eq!(Stats::SIGNATURE.to_string(), GET_STATS_SIGNATURE);
        assert_eq!(
            ProcessStatsMap::SIGNATURE.to_string(),
            GET_PROCESS_STATS_SIGNATURE
        );
        assert_eq!(ProcessStats::SIGNATURE.to_string(), "(sttstttttttt)");
    }

    #[test]
    fn get_stats_adds_tcp_and_udp_bytes() {
        let procs = [proc_info(7, "curl", 5, 1), proc_info(9, "dig", 5, 2)];
        let s = get_stats(&procs);
        assert_eq!(s.len(), 2);
        assert_eq!(s[&7], (10 + 30, 20 + 40));
        assert_eq!(s[&9], (20 + 60, 40 + 80));
        // Saturating, never wrapping.
        let mut big = proc_info(1, "x", 0, 1);
        big.tc.tcpsndbytes = u64::MAX;
        assert_eq!(totals(&big.tc).0, u64::MAX);
        // A negative id is not a pid.
        assert!(get_stats(&[proc_info(-1, "x", 0, 1)]).is_empty());
    }

    #[test]
    fn get_process_stats_has_every_counter_and_the_cgroup() {
        let procs = [proc_info(7, "curl", 5, 1), proc_info(8, "gone", 6, 3)];
        let paths = |id| (id == 5).then(|| "/user.slice".to_owned());
        let s = get_process_stats(&procs, paths);
        assert_eq!(
            s[&7],
            ProcessStats {
                command: "curl".into(),
                start_time: 1_700_000_001,
                cgroup_id: 5,
                cgroup: "/user.slice".into(),
                tcp_sent_packets: 1,
                tcp_sent_bytes: 10,
                tcp_received_packets: 2,
                tcp_received_bytes: 20,
                udp_sent_packets: 3,
                udp_sent_bytes: 30,
                udp_received_packets: 4,
                udp_received_bytes: 40,
            }
        );
        assert_eq!(s[&8].cgroup, "");
        assert_eq!(s[&8].cgroup_id, 6);
        assert_eq!(s[&8].command, "gone");
    }

    /// The wire encoding of `GetStats`'s answer: a dictionary of uint32 to a
    /// structure of two uint64, laid out as the D-Bus specification says.
    #[test]
    fn get_stats_wire_encoding() {
        let mut s = Stats::new();
        s.insert(42, (1000, 2000));
        let ctxt = Context::new_dbus(LE, 0);
        let bytes = to_bytes(ctxt, &s).unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&24u32.to_le_bytes()); // array length
        want.extend_from_slice(&[0; 4]); // pad to the 8-byte dict entry
        want.extend_from_slice(&42u32.to_le_bytes()); // key
        want.extend_from_slice(&[0; 4]); // pad to the 8-byte struct
        want.extend_from_slice(&1000u64.to_le_bytes());
        want.extend_from_slice(&2000u64.to_le_bytes());
        assert_eq!(&*bytes, &want[..]);
        let (back, _): (Stats, _) = bytes.deserialize().unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn process_stats_round_trip() {
        let procs = [proc_info(7, "curl", 5, 1)];
        let s = get_process_stats(&procs, |_| Some("/a b".to_owned()));
        let ctxt = Context::new_dbus(LE, 0);
        let bytes = to_bytes(ctxt, &s).unwrap();
        let (back, _): (ProcessStatsMap, _) = bytes.deserialize().unwrap();
        assert_eq!(back, s);
    }
}
