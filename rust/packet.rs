// SPDX-License-Identifier: GPL-2.0

//! A packet as summarised by the C hook (`struct netatop_pkt`).

use core::mem::size_of;

/// `IPPROTO_ICMP`.
const IPPROTO_ICMP: u8 = 1;
/// `IPPROTO_TCP`.
const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
const IPPROTO_UDP: u8 = 17;
/// `IPPROTO_ICMPV6`.
const IPPROTO_ICMPV6: u8 = 58;
/// `NETATOP_DIR_OUT`.
const DIR_OUT: u8 = 0;

/// Bytes added per packet for the link layer beyond the device's header: the
/// frame check sequence (the original's `+ 4`).
const LINK_TRAILER: u64 = 4;
/// `NFPROTO_IPV6`.
const NFPROTO_IPV6: u8 = 10;
/// Header bytes repeated in every further IP fragment: the IPv4 header, or
/// the IPv6 header plus its fragment header.
const IPV4_FRAG_HEADER: u64 = 20;
const IPV6_FRAG_HEADER: u64 = 40 + 8;

/// The plain summary of one packet that the hook hands over; no pointers.
///
/// Mirrors `struct netatop_pkt` in `netatop_glue.h` field by field: every
/// field's offset is asserted below, and `make check` compares them with
/// the C layout (tests/host/check-abi.py).
#[repr(C)]
pub(crate) struct Packet {
    /// `net_cookie` of the network namespace.
    pub(crate) netns: u64,
    /// `jiffies_64` when the hook ran.
    pub(crate) now: u64,
    /// Start of the sender's thread-group leader, ns since boot (if `in_task`).
    pub(crate) leader_start: u64,
    /// Start of the sending thread, ns since boot (if `in_task`).
    pub(crate) thread_start: u64,
    /// Source address, network byte order (IPv4: first 4 bytes).
    pub(crate) saddr: [u8; 16],
    /// Destination address.
    pub(crate) daddr: [u8; 16],
    /// IP length (header and payload) of the skb.
    pub(crate) len: u32,
    /// MTU of the device.
    pub(crate) mtu: u32,
    /// Sending process (if `in_task`), initial pid namespace.
    pub(crate) tgid: i32,
    /// Sending thread (if `in_task`), initial pid namespace.
    pub(crate) pid: i32,
    /// Source port (TCP and UDP).
    pub(crate) sport: u16,
    /// Destination port (TCP and UDP).
    pub(crate) dport: u16,
    /// Link-layer header length of the device.
    pub(crate) hh_len: u16,
    /// Wire segments this skb stands for (GSO/GRO), at least 1.
    pub(crate) segs: u16,
    /// `NFPROTO_IPV4` or `NFPROTO_IPV6`.
    pub(crate) family: u8,
    /// Transport protocol.
    pub(crate) proto: u8,
    /// `NETATOP_DIR_OUT` or `NETATOP_DIR_IN`.
    pub(crate) dir: u8,
    /// Non-zero when sent in process context (bottom halves enabled, task
    /// not exiting): the sender is `tgid`/`pid`.
    pub(crate) in_task: u8,
    /// TCP state of the skb's socket, 0 without one.
    pub(crate) tcp_state: u8,
    /// Non-zero in hard interrupt context or with interrupts disabled,
    /// where the table locks must not be taken.
    pub(crate) irqs_off: u8,
    /// IP plus transport header bytes (TCP and UDP).
    pub(crate) hdr_len: u16,
}

// Every field where `struct netatop_pkt` has it; tests/host/check-abi.py
// compares this list with the C compiler's layout of the struct.
const _: () = {
    assert!(size_of::<Packet>() == 96);
    assert!(core::mem::offset_of!(Packet, netns) == 0);
    assert!(core::mem::offset_of!(Packet, now) == 8);
    assert!(core::mem::offset_of!(Packet, leader_start) == 16);
    assert!(core::mem::offset_of!(Packet, thread_start) == 24);
    assert!(core::mem::offset_of!(Packet, saddr) == 32);
    assert!(core::mem::offset_of!(Packet, daddr) == 48);
    assert!(core::mem::offset_of!(Packet, len) == 64);
    assert!(core::mem::offset_of!(Packet, mtu) == 68);
    assert!(core::mem::offset_of!(Packet, tgid) == 72);
    assert!(core::mem::offset_of!(Packet, pid) == 76);
    assert!(core::mem::offset_of!(Packet, sport) == 80);
    assert!(core::mem::offset_of!(Packet, dport) == 82);
    assert!(core::mem::offset_of!(Packet, hh_len) == 84);
    assert!(core::mem::offset_of!(Packet, segs) == 86);
    assert!(core::mem::offset_of!(Packet, family) == 88);
    assert!(core::mem::offset_of!(Packet, proto) == 89);
    assert!(core::mem::offset_of!(Packet, dir) == 90);
    assert!(core::mem::offset_of!(Packet, in_task) == 91);
    assert!(core::mem::offset_of!(Packet, tcp_state) == 92);
    assert!(core::mem::offset_of!(Packet, irqs_off) == 93);
    assert!(core::mem::offset_of!(Packet, hdr_len) == 94);
};

/// Direction of a packet, seen from this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Sent by a local socket (`NF_INET_LOCAL_OUT`).
    Send,
    /// Delivered to a local socket (`NF_INET_LOCAL_IN`).
    Receive,
}

/// What the accounting does with a packet, by transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proto {
    /// TCP: keyed by quintuple.
    Tcp,
    /// UDP: keyed by local port.
    Udp,
    /// ICMP and ICMPv6: global counters only.
    Icmp,
    /// Anything else: counted nowhere visible.
    Other,
}

impl Packet {
    /// The packet's direction.
    pub(crate) fn direction(&self) -> Direction {
        if self.dir == DIR_OUT {
            Direction::Send
        } else {
            Direction::Receive
        }
    }

    /// The packet's transport protocol class.
    pub(crate) fn proto(&self) -> Proto {
        match self.proto {
            IPPROTO_TCP => Proto::Tcp,
            IPPROTO_UDP => Proto::Udp,
            IPPROTO_ICMP | IPPROTO_ICMPV6 => Proto::Icmp,
            _ => Proto::Other,
        }
    }

    /// Whether the sending task is known (`tgid`, `pid`, start times).
    pub(crate) fn in_task(&self) -> bool {
        self.in_task != 0
    }

    /// Whether the hook ran where the tables' bottom-half locks must not be
    /// taken (hard interrupt context, interrupts disabled).
    pub(crate) fn irqs_off(&self) -> bool {
        self.irqs_off != 0
    }

    /// Wire segments, at least 1.
    pub(crate) fn segments(&self) -> u64 {
        u64::from(self.segs.max(1))
    }

    /// Bytes on the wire: the IP length plus, per wire segment, the
    /// link-layer header and trailer (`hard_header_len + 4`).
    ///
    /// - A GSO/GRO super-packet of `n` segments carries its IP and transport
    ///   headers once; the `n - 1` further copies are added, which makes the
    ///   count exact (the sender's GSO skb and the receiver's segments agree).
    /// - Otherwise netatop 3.2.2's estimate applies: a packet longer than the
    ///   MTU (IP fragmentation) gets an IP header (IPv6: with its fragment
    ///   header) and a link-layer header and trailer for every further
    ///   MTU-sized piece.
    pub(crate) fn wire_bytes(&self) -> u64 {
        let len = u64::from(self.len);
        let link = u64::from(self.hh_len) + LINK_TRAILER;
        let segs = self.segments();
        if segs > 1 {
            return len + (segs - 1) * u64::from(self.hdr_len) + segs * link;
        }
        let mtu = u64::from(self.mtu);
        let extra_pieces = if mtu > 0 && len > mtu { len / mtu } else { 0 };
        let ip_header = if self.family == NFPROTO_IPV6 {
            IPV6_FRAG_HEADER
        } else {
            IPV4_FRAG_HEADER
        };
        len + extra_pieces * (ip_header + link) + link
    }

    /// (local address, local port, remote address, remote port).
    pub(crate) fn local_remote(&self) -> ([u8; 16], u16, [u8; 16], u16) {
        match self.direction() {
            Direction::Send => (self.saddr, self.sport, self.daddr, self.dport),
            Direction::Receive => (self.daddr, self.dport, self.saddr, self.sport),
        }
    }
}
