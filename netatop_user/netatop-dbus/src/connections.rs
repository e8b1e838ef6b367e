//! `GetConnections`'s answer (`a(utssssqsqsbtttt)`), built once per
//! `NETATOP_GETCNT_CONNS` snapshot: one structure per connection, which
//! each call then filters by the caller's scope
//! ([`Snapshot::visible`](crate::snapshot::Snapshot::visible)).

use std::collections::HashMap;

use netatop::{ConnInfo, Connection, ProcInfo};
use serde::{Deserialize, Serialize};
use zbus::zvariant::{serialized::Context, serialized_size, Type, LE};

use crate::service::Error;
use crate::snapshot::Owned;

/// The D-Bus signature of `GetConnections`'s answer.
pub const GET_CONNECTIONS_SIGNATURE: &str = "a(utssssqsqsbtttt)";

/// `GetConnections`'s answer.
pub type Connections = Vec<ConnectionStats>;

/// One connection in `GetConnections`'s answer: the D-Bus structure
/// `(utssssqsqsbtttt)`, fields in this order. The names are those of
/// `netatop connections --json` where it has the field (it writes `local`
/// and `remote` as one `addr:port` string each).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ConnectionStats {
    /// `u`: the process (tgid) the connection is charged to; 0 for a
    /// connection of no process yet (nothing local has sent on it, e.g. a
    /// receive-only UDP port).
    pub pid: u32,
    /// `t`: the process's start time, seconds since the epoch (as in
    /// `GetProcessStats`); 0 when `pid` is 0.
    pub start_time: u64,
    /// `s`: the process's command name (`comm`, at most 15 bytes); empty
    /// when `pid` is 0 or the process finished before it was read.
    pub comm: String,
    /// `s`: `tcp` or `udp`.
    pub protocol: String,
    /// `s`: `ipv4` or `ipv6`; for UDP, the family of the last remote end,
    /// empty if none was seen.
    pub family: String,
    /// `s`: the local address (`127.0.0.1`, `::1`). UDP: the unspecified
    /// address of the family (`0.0.0.0`, `::`): the module counts a UDP
    /// port whatever the local address.
    pub local_address: String,
    /// `q`: the local port.
    pub local_port: u16,
    /// `s`: the remote address; for UDP the last remote end seen; empty if
    /// none was.
    pub remote_address: String,
    /// `q`: the remote port; 0 if there is no remote end.
    pub remote_port: u16,
    /// `s`: TCP: the last state seen, as netstat(8) names it
    /// (`ESTABLISHED`, `TIME_WAIT`, ...); empty for UDP and while unknown.
    pub state: String,
    /// `b`: UDP: more than one remote end was seen (the remote end is the
    /// last of them); false for TCP.
    pub peers_many: bool,
    /// `t`: packets sent.
    pub sent_packets: u64,
    /// `t`: bytes sent.
    pub sent_bytes: u64,
    /// `t`: packets received.
    pub received_packets: u64,
    /// `t`: bytes received.
    pub received_bytes: u64,
}

impl ConnectionStats {
    /// The answer's structure for connection `c`, whose process's command
    /// is `comm`; `None` for a connection whose pid is negative (the module
    /// never reports one).
    pub fn new(c: &Connection, comm: String) -> Option<Self> {
        Some(Self {
            pid: u32::try_from(c.pid).ok()?,
            start_time: if c.pid == 0 { 0 } else { c.btime },
            comm,
            protocol: c.protocol.name().to_owned(),
            family: c.family.map(|f| f.name().to_owned()).unwrap_or_default(),
            local_address: c.local.ip().to_string(),
            local_port: c.local.port(),
            remote_address: c.remote.map(|r| r.ip().to_string()).unwrap_or_default(),
            remote_port: c.remote.map_or(0, |r| r.port()),
            state: c.state.map(|s| s.name().to_owned()).unwrap_or_default(),
            peers_many: c.peers_many,
            sent_packets: c.sent_packets,
            sent_bytes: c.sent_bytes,
            received_packets: c.received_packets,
            received_bytes: c.received_bytes,
        })
    }
}

/// A connection is its process's; one of no process (pid 0) is nobody's.
impl Owned for ConnectionStats {
    fn process(&self) -> Option<(i32, u64)> {
        let pid = i32::try_from(self.pid).ok().filter(|&p| p > 0)?;
        Some((pid, self.start_time))
    }
}

/// The structures of connections `conns`, each with the command of its
/// process among `procs` (the same pid and start time; empty if it is not
/// there), sorted by pid, protocol, local end and remote end. An entry the
/// ABI does not describe (a protocol or family this version does not know)
/// is left out.
pub fn connection_stats(conns: &[ConnInfo], procs: &[ProcInfo]) -> Connections {
    let commands: HashMap<(i32, u64), String> = procs
        .iter()
        .map(|p| ((p.id, p.btime), p.command()))
        .collect();
    let mut typed: Vec<Connection> = conns
        .iter()
        .filter_map(|c| Connection::from_info(c).ok())
        .collect();
    typed.sort_by_key(|c| (c.pid, c.protocol, c.local, c.remote, c.tid));
    typed
        .iter()
        .filter_map(|c| {
            let comm = if c.pid == 0 {
                String::new()
            } else {
                commands.get(&(c.pid, c.btime)).cloned().unwrap_or_default()
            };
            ConnectionStats::new(c, comm)
        })
        .collect()
}

/// `answer` if it takes no more than `max` bytes on the wire, else
/// [`Error::Failed`] (too many connections for one message).
pub fn at_most(answer: Connections, max: usize) -> Result<Connections, Error> {
    let ctxt = Context::new_dbus(LE, 0);
    let size = serialized_size(ctxt, &answer)
        .map_err(|e| Error::Failed(format!("cannot encode the answer: {e}")))?
        .size();
    if size > max {
        return Err(Error::Failed(format!(
            "{} connections: the answer ({} bytes) would exceed the largest \
             message the bus takes ({max} bytes)",
            answer.len(),
            size
        )));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{BootClock, Scope};
    use crate::snapshot::Snapshot;
    use netatop::TaskCount;
    use zbus::zvariant::to_bytes;

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&a);
        b
    }

    fn v6(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    /// A TCP connection over IPv4 of process `tgid`, started at `btime`.
    fn tcp4(tgid: i32, btime: u64, lport: u16) -> ConnInfo {
        ConnInfo {
            netns: 4026531840,
            tgid,
            pid: tgid,
            btime,
            proto: 6,
            family: 2,
            state: 1,
            flags: 0,
            lport,
            rport: 80,
            laddr: v4([127, 0, 0, 1]),
            raddr: v4([192, 0, 2, 7]),
            sndpacks: 5,
            sndbytes: 500,
            rcvpacks: 6,
            rcvbytes: 600,
        }
    }

    /// A UDP port of process `tgid` (0: none) that talked to `[raddr]:rport`
    /// (`family` 0: to nobody yet).
    fn udp(tgid: i32, btime: u64, lport: u16, family: u8, raddr: [u8; 16]) -> ConnInfo {
        ConnInfo {
            proto: 17,
            family,
            state: 0,
            lport,
            rport: if family == 0 { 0 } else { 53 },
            laddr: [0; 16],
            raddr,
            ..tcp4(tgid, btime, 0)
        }
    }

    fn proc_info(id: i32, btime: u64, command: &str) -> ProcInfo {
        let mut c = [0u8; 16];
        c[..command.len()].copy_from_slice(command.as_bytes());
        ProcInfo {
            id,
            pad: 0,
            btime,
            command: c,
            cgroup: 0,
            tc: TaskCount::default(),
        }
    }

    #[test]
    fn signature() {
        assert_eq!(
            Connections::SIGNATURE.to_string(),
            GET_CONNECTIONS_SIGNATURE
        );
        assert_eq!(ConnectionStats::SIGNATURE.to_string(), "(utssssqsqsbtttt)");
    }

    /// Each kind of entry, as the answer has it: a TCP connection over IPv4
    /// and one over IPv6, a UDP port that talked to several peers, one that
    /// talked to none, and one of no process.
    #[test]
    fn every_kind_of_connection() {
        let procs = [
            proc_info(7, 1_700_000_007, "curl"),
            proc_info(9, 1_700_000_009, "dig"),
        ];
        let conns = [
            ConnInfo {
                family: 10,
                state: 6,
                laddr: v6("::1"),
                raddr: v6("2001:db8::5"),
                ..tcp4(7, 1_700_000_007, 40001)
            },
            tcp4(7, 1_700_000_007, 40000),
            ConnInfo {
                flags: netatop::CONN_PEERS,
                ..udp(9, 1_700_000_009, 5353, 10, v6("fe80::1"))
            },
            udp(9, 1_700_000_009, 68, 0, [0; 16]),
            udp(0, 0, 514, 2, v4([10, 0, 0, 1])),
        ];
        let got = connection_stats(&conns, &procs);
        let counters = ConnectionStats {
            sent_packets: 5,
            sent_bytes: 500,
            received_packets: 6,
            received_bytes: 600,
            ..ConnectionStats::default()
        };
        let want = [
            ConnectionStats {
                pid: 0,
                start_time: 0,
                comm: "".into(),
                protocol: "udp".into(),
                family: "ipv4".into(),
                local_address: "0.0.0.0".into(),
                local_port: 514,
                remote_address: "10.0.0.1".into(),
                remote_port: 53,
                state: "".into(),
                peers_many: false,
                ..counters.clone()
            },
            ConnectionStats {
                pid: 7,
                start_time: 1_700_000_007,
                comm: "curl".into(),
                protocol: "tcp".into(),
                family: "ipv4".into(),
                local_address: "127.0.0.1".into(),
                local_port: 40000,
                remote_address: "192.0.2.7".into(),
                remote_port: 80,
                state: "ESTABLISHED".into(),
                peers_many: false,
                ..counters.clone()
            },
            ConnectionStats {
                pid: 7,
                start_time: 1_700_000_007,
                comm: "curl".into(),
                protocol: "tcp".into(),
                family: "ipv6".into(),
                local_address: "::1".into(),
                local_port: 40001,
                remote_address: "2001:db8::5".into(),
                remote_port: 80,
                state: "TIME_WAIT".into(),
                peers_many: false,
                ..counters.clone()
            },
            ConnectionStats {
                pid: 9,
                start_time: 1_700_000_009,
                comm: "dig".into(),
                protocol: "udp".into(),
                family: "".into(),
                local_address: "0.0.0.0".into(),
                local_port: 68,
                remote_address: "".into(),
                remote_port: 0,
                state: "".into(),
                peers_many: false,
                ..counters.clone()
            },
            ConnectionStats {
                pid: 9,
                start_time: 1_700_000_009,
                comm: "dig".into(),
                protocol: "udp".into(),
                family: "ipv6".into(),
                local_address: "::".into(),
                local_port: 5353,
                remote_address: "fe80::1".into(),
                remote_port: 53,
                state: "".into(),
                peers_many: true,
                ..counters.clone()
            },
        ];
        assert_eq!(got, want);
    }

    /// The command comes from the process with the same pid and start
    /// time: a process that is not (or no longer) there has none; entries
    /// the ABI does not describe are left out.
    #[test]
    fn commands_by_pid_and_start_time_and_unknown_entries() {
        let procs = [proc_info(7, 1_700_000_007, "curl")];
        let conns = [
            tcp4(7, 1_700_000_007, 1),
            // Another process under pid 7 (reused), and one not listed.
            tcp4(7, 1_700_000_099, 2),
            tcp4(8, 1_700_000_008, 3),
            // ICMP, and TCP without a family: not connections this
            // version describes.
            ConnInfo {
                proto: 1,
                ..tcp4(7, 1_700_000_007, 4)
            },
            ConnInfo {
                family: 0,
                ..tcp4(7, 1_700_000_007, 5)
            },
            // A negative pid: never a process.
            tcp4(-3, 1, 6),
        ];
        let got = connection_stats(&conns, &procs);
        let ports_and_commands: Vec<(u16, &str)> = got
            .iter()
            .map(|c| (c.local_port, c.comm.as_str()))
            .collect();
        assert_eq!(ports_and_commands, [(1, "curl"), (2, ""), (3, "")]);
    }

    /// The per-uid rule of `GetStats`: a caller sees the connections of the
    /// processes it owns (this test process, as the snapshot saw it), not
    /// those of a reused pid, of a process that does not exist, or of no
    /// process; root and the admin group see all.
    #[test]
    fn a_caller_sees_the_connections_of_its_own_processes() {
        let clock = BootClock::read().unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        let start = crate::access::stat_start_ticks(me).unwrap();
        let btime = clock.epoch_secs(start);
        let conns = [
            tcp4(me, btime, 1),
            udp(me, btime, 2, 2, v4([127, 0, 0, 1])),
            tcp4(me, btime + 1, 3),
            tcp4(i32::MAX, btime, 4),
            udp(0, 0, 5, 0, [0; 16]),
        ];
        let snap = Snapshot::new(
            connection_stats(&conns, &[proc_info(me, btime, "me")]),
            clock,
            clock.ticks_now().unwrap() + 1,
        );
        let ports =
            |scope| -> Vec<u16> { snap.visible(scope).iter().map(|c| c.local_port).collect() };
        assert_eq!(ports(Scope::All), [5, 1, 3, 2, 4]);
        // SAFETY: getuid has no arguments and cannot fail.
        let uid = unsafe { libc::getuid() };
        assert_eq!(ports(Scope::Uid(uid)), [1, 2]);
        assert_eq!(snap.owners(), [None, Some(uid), None, Some(uid), None]);
        assert!(ports(Scope::Uid(uid.wrapping_add(1))).is_empty());
        // Nobody owns a connection of no process, whatever the uid (0
        // included: root sees it as Scope::All, not as its owner).
        assert!(!ports(Scope::Uid(0)).contains(&5));
        assert_eq!(
            snap.visible(Scope::Uid(uid))[0].comm,
            "me",
            "the command of the caller's process"
        );
    }

    /// The wire encoding of one structure, laid out as the D-Bus
    /// specification says, and the round trip of an answer.
    #[test]
    fn wire_encoding() {
        let c = ConnectionStats {
            pid: 7,
            start_time: 9,
            comm: "a".into(),
            protocol: "tcp".into(),
            family: "ipv4".into(),
            local_address: "127.0.0.1".into(),
            local_port: 80,
            remote_address: "".into(),
            remote_port: 0x1234,
            state: "".into(),
            peers_many: true,
            sent_packets: 1,
            sent_bytes: 2,
            received_packets: 3,
            received_bytes: 4,
        };
        let ctxt = Context::new_dbus(LE, 0);
        let bytes = to_bytes(ctxt, &c).unwrap();
        let mut want = Vec::new();
        let string = |w: &mut Vec<u8>, s: &str| {
            while w.len() % 4 != 0 {
                w.push(0);
            }
            w.extend_from_slice(&u32::try_from(s.len()).unwrap().to_le_bytes());
            w.extend_from_slice(s.as_bytes());
            w.push(0);
        };
        want.extend_from_slice(&7u32.to_le_bytes());
        want.extend_from_slice(&[0; 4]); // pad to the uint64
        want.extend_from_slice(&9u64.to_le_bytes());
        for s in ["a", "tcp", "ipv4", "127.0.0.1"] {
            string(&mut want, s);
        }
        want.extend_from_slice(&80u16.to_le_bytes());
        string(&mut want, "");
        want.push(0); // pad to the uint16
        want.extend_from_slice(&0x1234u16.to_le_bytes());
        string(&mut want, "");
        while want.len() % 4 != 0 {
            want.push(0);
        }
        want.extend_from_slice(&1u32.to_le_bytes()); // boolean: 4 bytes
        while want.len() % 8 != 0 {
            want.push(0);
        }
        for n in [1u64, 2, 3, 4] {
            want.extend_from_slice(&n.to_le_bytes());
        }
        assert_eq!(&*bytes, &want[..]);

        let answer: Connections = vec![c.clone(), ConnectionStats::default(), c];
        let bytes = to_bytes(ctxt, &answer).unwrap();
        let (back, _): (Connections, _) = bytes.deserialize().unwrap();
        assert_eq!(back, answer);
    }

    /// An answer larger than the limit is an error, not a message the bus
    /// would refuse (dbus-daemon disconnects the sender of one).
    #[test]
    fn an_answer_too_large_for_one_message_is_an_error() {
        let one = ConnectionStats {
            protocol: "udp".into(),
            ..ConnectionStats::default()
        };
        let answer: Connections = vec![one; 100];
        let ctxt = Context::new_dbus(LE, 0);
        let size = serialized_size(ctxt, &answer).unwrap().size();
        assert_eq!(at_most(answer.clone(), size).unwrap(), answer);
        match at_most(answer, size - 1) {
            Err(Error::Failed(text)) => {
                assert!(text.starts_with("100 connections: "), "{text}")
            }
            other => panic!("{other:?}"),
        }
    }
}
