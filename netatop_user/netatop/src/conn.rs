//! Connections as typed values: [`Connection`], made of the module's
//! `struct netatop_conninfo` ([`ConnInfo`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::abi::{Command, ConnInfo, CONN_PEERS};
use crate::client::Snapshot;
use crate::error::{Error, Result};

/// The transport protocol of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Protocol {
    /// TCP (`IPPROTO_TCP`): one connection, its quintuple.
    Tcp,
    /// UDP (`IPPROTO_UDP`): one local port, any local address.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The address family of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// `ipv4` or `ipv6`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// The state of a TCP connection, as the kernel names it
/// (`include/net/tcp_states.h`): the last one the module saw on a packet
/// of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TcpState {
    /// `TCP_ESTABLISHED` (1).
    Established,
    /// `TCP_SYN_SENT` (2).
    SynSent,
    /// `TCP_SYN_RECV` (3).
    SynRecv,
    /// `TCP_FIN_WAIT1` (4).
    FinWait1,
    /// `TCP_FIN_WAIT2` (5).
    FinWait2,
    /// `TCP_TIME_WAIT` (6).
    TimeWait,
    /// `TCP_CLOSE` (7).
    Close,
    /// `TCP_CLOSE_WAIT` (8).
    CloseWait,
    /// `TCP_LAST_ACK` (9).
    LastAck,
    /// `TCP_LISTEN` (10).
    Listen,
    /// `TCP_CLOSING` (11).
    Closing,
    /// `TCP_NEW_SYN_RECV` (12).
    NewSynRecv,
    /// `TCP_BOUND_INACTIVE` (13).
    BoundInactive,
}

impl TcpState {
    /// The state of the kernel's number; `None` for 0 (unknown) and numbers
    /// the kernel does not define.
    pub fn from_raw(state: u8) -> Option<TcpState> {
        Some(match state {
            1 => TcpState::Established,
            2 => TcpState::SynSent,
            3 => TcpState::SynRecv,
            4 => TcpState::FinWait1,
            5 => TcpState::FinWait2,
            6 => TcpState::TimeWait,
            7 => TcpState::Close,
            8 => TcpState::CloseWait,
            9 => TcpState::LastAck,
            10 => TcpState::Listen,
            11 => TcpState::Closing,
            12 => TcpState::NewSynRecv,
            13 => TcpState::BoundInactive,
            _ => return None,
        })
    }

    /// The kernel's number (`TCP_ESTABLISHED` is 1).
    pub fn raw(self) -> u8 {
        match self {
            TcpState::Established => 1,
            TcpState::SynSent => 2,
            TcpState::SynRecv => 3,
            TcpState::FinWait1 => 4,
            TcpState::FinWait2 => 5,
            TcpState::TimeWait => 6,
            TcpState::Close => 7,
            TcpState::CloseWait => 8,
            TcpState::LastAck => 9,
            TcpState::Listen => 10,
            TcpState::Closing => 11,
            TcpState::NewSynRecv => 12,
            TcpState::BoundInactive => 13,
        }
    }

    /// The name netstat(8) gives the state (`ESTABLISHED`, `TIME_WAIT`,
    /// ...; the kernel's own name without `TCP_` for the two netstat does
    /// not know).
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
            TcpState::NewSynRecv => "NEW_SYN_RECV",
            TcpState::BoundInactive => "BOUND_INACTIVE",
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Serialized as its name ([`TcpState::name`]).
#[cfg(feature = "serde")]
impl serde::Serialize for TcpState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One connection the module tracks, as typed values (made of a
/// [`ConnInfo`] by [`Connection::from_info`]): a TCP connection, or a
/// local UDP port with the last remote end it talked to.
///
/// Addresses serialize as `addr:port` strings (`127.0.0.1:80`,
/// `[::1]:8080`), as [`SocketAddr`]'s `Display` writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Connection {
    /// The process (tgid) the connection is charged to; 0 while it is
    /// bound to none (nothing local has sent on it: a receive-only port).
    pub pid: i32,
    /// The thread it is charged to; 0: none.
    pub tid: i32,
    /// The process's start time, seconds since the epoch; 0: none.
    pub btime: u64,
    /// The network namespace's cookie (as `SO_NETNS_COOKIE` gives it).
    pub netns: u64,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// IPv4 or IPv6; for UDP, the family of the last remote end, `None` if
    /// none was seen.
    pub family: Option<Family>,
    /// The local end. UDP: the unspecified address of the family (the
    /// module keys UDP by port: any local address), `0.0.0.0` if no remote
    /// end was seen.
    pub local: SocketAddr,
    /// The remote end; UDP: the last one seen, `None` if none was.
    pub remote: Option<SocketAddr>,
    /// TCP: the last state seen; `None` for UDP and while unknown.
    pub state: Option<TcpState>,
    /// UDP: more than one remote end was seen (`remote` is the last one).
    pub peers_many: bool,
    /// Packets (wire segments) sent.
    pub sent_packets: u64,
    /// Bytes sent (IP length plus the link-layer estimate, as the process
    /// counters).
    pub sent_bytes: u64,
    /// Packets received.
    pub received_packets: u64,
    /// Bytes received.
    pub received_bytes: u64,
}

/// `AF_INET` and `AF_INET6`.
const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;
/// `IPPROTO_TCP` and `IPPROTO_UDP`.
const IPPROTO_TCP: u8 = libc::IPPROTO_TCP as u8;
const IPPROTO_UDP: u8 = libc::IPPROTO_UDP as u8;

fn address(family: Family, bytes: &[u8; 16]) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::from(*bytes)),
    }
}

impl Connection {
    /// The connection of a module entry; [`Error::BadAnswer`] for a
    /// protocol or family the ABI does not have (a TCP entry always has a
    /// family).
    pub fn from_info(c: &ConnInfo) -> Result<Connection> {
        let bad = |detail: String| Error::BadAnswer {
            command: Command::GetcntConns.name(),
            detail,
        };
        let protocol = match c.proto {
            IPPROTO_TCP => Protocol::Tcp,
            IPPROTO_UDP => Protocol::Udp,
            p => return Err(bad(format!("protocol {p} (neither TCP nor UDP)"))),
        };
        let family = match (c.family, protocol) {
            (AF_INET, _) => Some(Family::Ipv4),
            (AF_INET6, _) => Some(Family::Ipv6),
            (0, Protocol::Udp) => None,
            (f, _) => return Err(bad(format!("address family {f} for {protocol}"))),
        };
        let (local, remote) = match (protocol, family) {
            (Protocol::Tcp, Some(f)) => (
                SocketAddr::new(address(f, &c.laddr), c.lport),
                Some(SocketAddr::new(address(f, &c.raddr), c.rport)),
            ),
            (_, f) => {
                let any = match f {
                    Some(Family::Ipv6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                    _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                };
                (
                    SocketAddr::new(any, c.lport),
                    f.map(|f| SocketAddr::new(address(f, &c.raddr), c.rport)),
                )
            }
        };
        Ok(Connection {
            pid: c.tgid,
            tid: c.pid,
            btime: c.btime,
            netns: c.netns,
            protocol,
            family,
            local,
            remote,
            state: match protocol {
                Protocol::Tcp => TcpState::from_raw(c.state),
                Protocol::Udp => None,
            },
            peers_many: protocol == Protocol::Udp && c.flags & CONN_PEERS != 0,
            sent_packets: c.sndpacks,
            sent_bytes: c.sndbytes,
            received_packets: c.rcvpacks,
            received_bytes: c.rcvbytes,
        })
    }

    /// Whether the connection is charged to a process ([`Connection::pid`]
    /// is not 0).
    pub fn is_bound(&self) -> bool {
        self.pid != 0
    }

    /// Bytes sent and received (saturating at `u64::MAX`).
    pub fn total_bytes(&self) -> u64 {
        self.sent_bytes.saturating_add(self.received_bytes)
    }
}

impl TryFrom<&ConnInfo> for Connection {
    type Error = Error;
    fn try_from(c: &ConnInfo) -> Result<Connection> {
        Connection::from_info(c)
    }
}

impl Snapshot<ConnInfo> {
    /// The entries as [`Connection`]s, in the module's order; the first
    /// entry the ABI cannot describe gives [`Error::BadAnswer`].
    pub fn connections(&self) -> Result<Vec<Connection>> {
        self.entries.iter().map(Connection::from_info).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::tests::conninfo_bytes;
    use crate::abi::Decode;

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&a);
        b
    }

    fn tcp4() -> ConnInfo {
        ConnInfo {
            netns: 4096,
            tgid: 100,
            pid: 101,
            btime: 1_717_200_000,
            proto: 6,
            family: 2,
            state: 1,
            flags: 0,
            lport: 40000,
            rport: 80,
            laddr: v4([127, 0, 0, 1]),
            raddr: v4([192, 0, 2, 7]),
            sndpacks: 5,
            sndbytes: 500,
            rcvpacks: 6,
            rcvbytes: 600,
        }
    }

    /// Decoded from the module's bytes, then typed.
    fn typed(c: &ConnInfo) -> Result<Connection> {
        Connection::from_info(&ConnInfo::decode(&conninfo_bytes(c)))
    }

    #[test]
    fn a_tcp_ipv4_connection() {
        let c = typed(&tcp4()).unwrap();
        assert_eq!(
            c,
            Connection {
                pid: 100,
                tid: 101,
                btime: 1_717_200_000,
                netns: 4096,
                protocol: Protocol::Tcp,
                family: Some(Family::Ipv4),
                local: "127.0.0.1:40000".parse().unwrap(),
                remote: Some("192.0.2.7:80".parse().unwrap()),
                state: Some(TcpState::Established),
                peers_many: false,
                sent_packets: 5,
                sent_bytes: 500,
                received_packets: 6,
                received_bytes: 600,
            }
        );
        assert!(c.is_bound());
        assert_eq!(c.total_bytes(), 1100);
    }

    #[test]
    fn a_tcp_ipv6_connection() {
        let mut laddr = [0u8; 16];
        laddr[15] = 1;
        let raddr: [u8; 16] = "2001:db8::5".parse::<Ipv6Addr>().unwrap().octets();
        let c = typed(&ConnInfo {
            family: 10,
            laddr,
            raddr,
            state: 6,
            lport: 8080,
            rport: 51000,
            ..tcp4()
        })
        .unwrap();
        assert_eq!(c.local.to_string(), "[::1]:8080");
        assert_eq!(c.remote.unwrap().to_string(), "[2001:db8::5]:51000");
        assert_eq!(c.family, Some(Family::Ipv6));
        assert_eq!(c.state, Some(TcpState::TimeWait));
        assert_eq!(c.state.unwrap().name(), "TIME_WAIT");
        // State 0 is unknown.
        let c = typed(&ConnInfo { state: 0, ..tcp4() }).unwrap();
        assert_eq!(c.state, None);
    }

    #[test]
    fn udp_ports_with_and_without_a_remote_end() {
        let udp = ConnInfo {
            proto: 17,
            family: 0,
            state: 0,
            tgid: 0,
            pid: 0,
            btime: 0,
            lport: 53,
            rport: 0,
            laddr: [0; 16],
            raddr: [0; 16],
            ..tcp4()
        };
        let c = typed(&udp).unwrap();
        assert_eq!(c.protocol, Protocol::Udp);
        assert_eq!(c.family, None);
        assert_eq!(c.local.to_string(), "0.0.0.0:53");
        assert_eq!(c.remote, None);
        assert_eq!(c.state, None);
        assert!(!c.is_bound() && !c.peers_many);

        let mut raddr = [0u8; 16];
        raddr[15] = 1;
        let c = typed(&ConnInfo {
            family: 10,
            rport: 5353,
            raddr,
            flags: CONN_PEERS,
            // A UDP entry never has a state; ignored if one came.
            state: 1,
            ..udp
        })
        .unwrap();
        assert_eq!(c.local.to_string(), "[::]:53");
        assert_eq!(c.remote.unwrap().to_string(), "[::1]:5353");
        assert_eq!(c.family, Some(Family::Ipv6));
        assert!(c.peers_many);
        assert_eq!(c.state, None);

        let c = typed(&ConnInfo {
            family: 2,
            rport: 9,
            raddr: v4([10, 0, 0, 1]),
            ..udp
        })
        .unwrap();
        assert_eq!(c.local.to_string(), "0.0.0.0:53");
        assert_eq!(c.remote.unwrap().to_string(), "10.0.0.1:9");
    }

    #[test]
    fn entries_the_abi_cannot_describe_are_errors() {
        for (bad, what) in [
            (ConnInfo { proto: 1, ..tcp4() }, "protocol 1"),
            (
                ConnInfo {
                    family: 0,
                    ..tcp4()
                },
                "address family 0 for tcp",
            ),
            (
                ConnInfo {
                    proto: 17,
                    family: 7,
                    ..tcp4()
                },
                "address family 7 for udp",
            ),
        ] {
            match typed(&bad) {
                Err(Error::BadAnswer { command, detail }) => {
                    assert_eq!(command, "NETATOP_GETCNT_CONNS");
                    assert!(detail.contains(what), "{detail}");
                }
                other => panic!("{other:?}"),
            }
        }
        let snap = Snapshot {
            total: 2,
            overflow: 0,
            entries: vec![tcp4(), ConnInfo { proto: 1, ..tcp4() }],
        };
        assert!(snap.connections().is_err());
        let snap = Snapshot {
            total: 1,
            overflow: 0,
            entries: vec![tcp4()],
        };
        assert_eq!(snap.connections().unwrap()[0].local.port(), 40000);
    }

    #[test]
    fn tcp_states_round_trip() {
        assert_eq!(TcpState::from_raw(0), None);
        assert_eq!(TcpState::from_raw(14), None);
        for raw in 1..=13 {
            let s = TcpState::from_raw(raw).unwrap();
            assert_eq!(s.raw(), raw);
            assert_eq!(s.to_string(), s.name());
        }
        assert_eq!(TcpState::Listen.name(), "LISTEN");
        assert_eq!(Protocol::Udp.to_string(), "udp");
        assert_eq!(Family::Ipv6.name(), "ipv6");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serializes_addresses_as_strings_and_names() {
        let c = typed(&tcp4()).unwrap();
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"pid":100,"tid":101,"btime":1717200000,"netns":4096,"protocol":"tcp","family":"ipv4","local":"127.0.0.1:40000","remote":"192.0.2.7:80","state":"ESTABLISHED","peers_many":false,"sent_packets":5,"sent_bytes":500,"received_packets":6,"received_bytes":600}"#
        );
        let udp = typed(&ConnInfo {
            proto: 17,
            family: 0,
            ..tcp4()
        })
        .unwrap();
        let j = serde_json::to_value(udp).unwrap();
        assert_eq!(j["protocol"], "udp");
        assert_eq!(j["family"], serde_json::Value::Null);
        assert_eq!(j["local"], "0.0.0.0:40000");
        assert_eq!(j["remote"], serde_json::Value::Null);
        assert_eq!(j["state"], serde_json::Value::Null);
    }
}
