//! One task's counters as `show` and `exited` print them (text and JSON).

use std::fmt::Write as _;

use netatop::{NetPerTask, TaskCount};
use serde::Serialize;

use crate::conns::{conn_table, ConnRecord};
use crate::format::{fit, iso_time};

/// What kind of id a record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A process (thread group): `NETATOP_GETCNT_TGID` or `GETCNT_EXIT`.
    Process,
    /// A thread: `NETATOP_GETCNT_PID`.
    Thread,
}

/// One task's record: the module's answer, or a known task without traffic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskRecord {
    /// Process or thread id.
    pub id: i32,
    /// Process or thread.
    pub kind: Kind,
    /// Command name.
    pub command: String,
    /// Start time, seconds since the epoch (`null` when unknown).
    pub btime: Option<u64>,
    /// The same, as ISO 8601 UTC.
    pub btime_iso: Option<String>,
    /// `false` for a live task the module has no counters for (no traffic
    /// yet); absent for finished processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracked: Option<bool>,
    /// The counters.
    pub counters: TaskCount,
    /// `show`: the connections charged to the process (or thread); absent
    /// elsewhere and from a module without `NETATOP_GETCNT_CONNS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<ConnRecord>>,
}

impl TaskRecord {
    /// The record of a module answer.
    pub fn from_npt(npt: &NetPerTask, kind: Kind) -> Self {
        let btime = npt.btime_secs();
        Self {
            id: npt.id,
            kind,
            command: npt.command(),
            btime: Some(btime),
            btime_iso: Some(iso_time(btime)),
            tracked: None,
            counters: npt.tc,
            connections: None,
        }
    }

    /// The text block `netatop show` prints for one task.
    pub fn to_block(&self) -> String {
        let c = &self.counters;
        let what = match self.kind {
            Kind::Process => "process",
            Kind::Thread => "thread",
        };
        let mut s = format!("{what} {} ({})", self.id, self.command);
        match (&self.btime, &self.btime_iso) {
            (Some(b), Some(iso)) => {
                let _ = write!(s, ", started {iso} (btime {b})");
            }
            _ => s.push_str(", start time unknown"),
        }
        if self.tracked == Some(false) {
            s.push_str(", no traffic recorded");
        }
        s.push('\n');
        s.push_str(&counter_lines(c));
        match self.connections.as_deref() {
            None => {}
            Some([]) => s.push_str("  no connections tracked\n"),
            Some(conns) => {
                let _ = writeln!(s, "  connections:");
                s.push_str(&conn_table(conns, false, "    "));
            }
        }
        s
    }
}

/// The packets and bytes table of a text block (`show`): a header line,
/// then TCP and UDP, sent and received.
pub fn counter_lines(c: &TaskCount) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "  {:<12} {:>14} {:>16}", "", "packets", "bytes");
    for (label, packs, bytes) in [
        ("TCP sent", c.tcpsndpacks, c.tcpsndbytes),
        ("TCP received", c.tcprcvpacks, c.tcprcvbytes),
        ("UDP sent", c.udpsndpacks, c.udpsndbytes),
        ("UDP received", c.udprcvpacks, c.udprcvbytes),
    ] {
        let _ = writeln!(s, "  {label:<12} {packs:>14} {bytes:>16}");
    }
    s
}

/// One cgroup's record as `show --cgroup` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupRecord {
    /// The cgroup path (as in `/proc/PID/cgroup`).
    pub path: String,
    /// The cgroup v2 id.
    pub id: u64,
    /// Live processes counted for it.
    pub processes: u32,
    /// Counters of its processes, live and finished.
    pub counters: TaskCount,
}

impl CgroupRecord {
    /// The text block `netatop show --cgroup` prints.
    pub fn to_block(&self) -> String {
        let plural = if self.processes == 1 { "" } else { "es" };
        let mut s = format!(
            "cgroup {} (id {}), {} live process{plural}\n",
            self.path, self.id, self.processes
        );
        s.push_str(&counter_lines(&self.counters));
        s
    }
}

/// The column header of [`exit_line`].
pub fn exit_header() -> String {
    format!(
        "{:>7} {:<15} {:<20} {:>10} {:>12} {:>10} {:>12} {:>10} {:>12} {:>10} {:>12}",
        "PID",
        "COMMAND",
        "START",
        "TCPSND",
        "TCPSNDBYTES",
        "TCPRCV",
        "TCPRCVBYTES",
        "UDPSND",
        "UDPSNDBYTES",
        "UDPRCV",
        "UDPRCVBYTES"
    )
}

/// One line of `netatop exited`: id, command, start, then the eight
/// counters (packets and bytes, TCP then UDP, sent then received).
pub fn exit_line(rec: &TaskRecord) -> String {
    let c = rec.counters.to_array();
    format!(
        "{:>7} {:<15} {:<20} {:>10} {:>12} {:>10} {:>12} {:>10} {:>12} {:>10} {:>12}",
        rec.id,
        fit(&rec.command, 15),
        rec.btime_iso.as_deref().unwrap_or("-"),
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        c[5],
        c[6],
        c[7]
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A module answer for tests.
    pub(crate) fn npt(id: i32, btime: u64, command: &str, tc: [u64; 8]) -> NetPerTask {
        let mut n = NetPerTask {
            id,
            btime: btime as std::ffi::c_ulong,
            ..NetPerTask::default()
        };
        n.command[..command.len()].copy_from_slice(command.as_bytes());
        n.tc = TaskCount::from_array(tc);
        n
    }

    #[test]
    fn json_shape_of_a_record() {
        let rec = TaskRecord::from_npt(
            &npt(1234, 1_717_200_000, "curl", [1, 2, 3, 4, 5, 6, 7, 8]),
            Kind::Process,
        );
        assert_eq!(
            serde_json::to_string(&rec).unwrap(),
            r#"{"id":1234,"kind":"process","command":"curl","btime":1717200000,"btime_iso":"2024-06-01T00:00:00Z","counters":{"tcpsndpacks":1,"tcpsndbytes":2,"tcprcvpacks":3,"tcprcvbytes":4,"udpsndpacks":5,"udpsndbytes":6,"udprcvpacks":7,"udprcvbytes":8}}"#
        );
        let untracked = TaskRecord {
            id: 5,
            kind: Kind::Thread,
            command: "sh".into(),
            btime: None,
            btime_iso: None,
            tracked: Some(false),
            counters: TaskCount::default(),
            connections: None,
        };
        assert_eq!(
            serde_json::to_string(&untracked).unwrap(),
            r#"{"id":5,"kind":"thread","command":"sh","btime":null,"btime_iso":null,"tracked":false,"counters":{"tcpsndpacks":0,"tcpsndbytes":0,"tcprcvpacks":0,"tcprcvbytes":0,"udpsndpacks":0,"udpsndbytes":0,"udprcvpacks":0,"udprcvbytes":0}}"#
        );
    }

    #[test]
    fn text_block_of_a_record() {
        let rec = TaskRecord::from_npt(
            &npt(
                1234,
                1_717_200_000,
                "curl",
                [12, 3400, 10, 15000, 0, 0, 2, 220],
            ),
            Kind::Process,
        );
        assert_eq!(
            rec.to_block(),
            "process 1234 (curl), started 2024-06-01T00:00:00Z (btime 1717200000)\n\
             \x20                     packets            bytes\n\
             \x20 TCP sent                 12             3400\n\
             \x20 TCP received             10            15000\n\
             \x20 UDP sent                  0                0\n\
             \x20 UDP received              2              220\n"
        );
    }

    #[test]
    fn cgroup_record_text_and_json() {
        let rec = CgroupRecord {
            path: "/system.slice/nginx.service".into(),
            id: 4242,
            processes: 3,
            counters: npt(0, 0, "", [12, 3400, 10, 15000, 0, 0, 2, 220]).tc,
        };
        assert_eq!(
            rec.to_block(),
            "cgroup /system.slice/nginx.service (id 4242), 3 live processes\n\
             \x20                     packets            bytes\n\
             \x20 TCP sent                 12             3400\n\
             \x20 TCP received             10            15000\n\
             \x20 UDP sent                  0                0\n\
             \x20 UDP received              2              220\n"
        );
        assert_eq!(
            serde_json::to_string(&rec).unwrap(),
            r#"{"path":"/system.slice/nginx.service","id":4242,"processes":3,"counters":{"tcpsndpacks":12,"tcpsndbytes":3400,"tcprcvpacks":10,"tcprcvbytes":15000,"udpsndpacks":0,"udpsndbytes":0,"udprcvpacks":2,"udprcvbytes":220}}"#
        );
        let one = CgroupRecord {
            processes: 1,
            ..rec
        };
        assert!(one
            .to_block()
            .starts_with("cgroup /system.slice/nginx.service (id 4242), 1 live process\n"));
    }

    #[test]
    fn exit_lines_line_up_with_their_header() {
        let rec = TaskRecord::from_npt(
            &npt(
                77,
                1_717_200_000,
                "a-very-long-comm",
                [1, 110, 0, 0, 3, 330, 4, 440],
            ),
            Kind::Process,
        );
        let line = exit_line(&rec);
        assert_eq!(
            line,
            "     77 a-very-long-com 2024-06-01T00:00:00Z          1          110          0            0          3          330          4          440"
        );
        assert_eq!(line.len(), exit_header().len());
        assert!(
            exit_header().starts_with("    PID COMMAND         START                    TCPSND")
        );
    }

    #[test]
    fn counter_arithmetic() {
        let a = npt(1, 0, "", [1, 2, 3, 4, 5, 6, 7, 8]).tc;
        let b = npt(1, 0, "", [1, 2, 3, 5, 5, 6, 7, 8]).tc;
        assert!(b.covers(&a));
        assert!(!a.covers(&b));
        assert_eq!(a.total_bytes(), 2 + 4 + 6 + 8);
        assert_eq!(a.saturating_add(b).to_array(), [2, 4, 6, 9, 10, 12, 14, 16]);
        let max = npt(1, 0, "", [u64::MAX; 8]).tc;
        assert_eq!(max.total_bytes(), u64::MAX);
        assert_eq!(max.saturating_add(a).to_array(), [u64::MAX; 8]);
    }
}
