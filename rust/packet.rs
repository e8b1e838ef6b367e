// SPDX-License-Identifier: GPL-2.0

//! A packet as summarised by the C hook (`struct netatop_pkt`).

use core::mem::size_of;

// The protocol numbers the summary carries: the kernel's UAPI values
// (`uapi/linux/in.h`, `in6.h`, `netfilter.h`), fixed for good. Not every
// supported kernel's bindings have them, so they are written here, and
// `netatop_glue.c` asserts each against the kernel's own headers at build
// time.
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;
const NFPROTO_IPV6: u8 = 10;
/// `NETATOP_DIR_OUT` (the glue's own constant).
const DIR_OUT: u8 = 0;

/// Bytes added per packet for the link layer beyond the device's header: the
/// frame check sequence (the original's `+ 4`).
const LINK_TRAILER: u64 = 4;
/// Header bytes repeated in every further IP fragment: the IPv4 header, or
/// the IPv6 header plus its fragment header.
const IPV4_FRAG_HEADER: u64 = 20;
const IPV6_FRAG_HEADER: u64 = 40 + 8;

/// The plain summary of one packet that the hook hands over: raw facts
/// read from the skb and the hook, no pointers and no decisions (every rule
/// is in the methods below). The glue writes every field once per packet.
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
    /// Source address, network byte order (IPv4: first 4 bytes, then 0).
    pub(crate) saddr: [u8; 16],
    /// Destination address.
    pub(crate) daddr: [u8; 16],
    /// IP length (header and payload) of the skb.
    pub(crate) len: u32,
    /// MTU of the device (0 without one).
    pub(crate) mtu: u32,
    /// Source port (0 unless `transport`).
    pub(crate) sport: u16,
    /// Destination port (0 unless `transport`).
    pub(crate) dport: u16,
    /// Link-layer header length of the device.
    pub(crate) hh_len: u16,
    /// `gso_segs` of the skb (0 if a GSO sender left it unset).
    pub(crate) gso_segs: u16,
    /// `gso_size` of the skb.
    pub(crate) gso_size: u16,
    /// IP plus transport header bytes (0 unless `transport`).
    pub(crate) hdr_len: u16,
    /// `NFPROTO_IPV4` or `NFPROTO_IPV6`.
    pub(crate) family: u8,
    /// Transport protocol number (after IPv6 extension headers).
    pub(crate) proto: u8,
    /// `NETATOP_DIR_OUT` or `NETATOP_DIR_IN`.
    pub(crate) dir: u8,
    /// Non-zero for a GSO/GRO skb.
    pub(crate) gso: u8,
    /// Non-zero for a non-first IP fragment, or IPv6 extension headers that
    /// could not be parsed: no transport header.
    pub(crate) frag: u8,
    /// Non-zero when a TCP or UDP header was read (ports and `hdr_len`).
    pub(crate) transport: u8,
    /// TCP state of the skb's socket, 0 without one.
    pub(crate) tcp_state: u8,
    /// Non-zero in hard interrupt context or with interrupts disabled,
    /// where the table locks must not be taken.
    pub(crate) irqs_off: u8,
}

// Every field where `struct netatop_pkt` has it; tests/host/check-abi.py
// compares this list with the C compiler's layout of the struct.
const _: () = {
    assert!(size_of::<Packet>() == 80);
    assert!(core::mem::offset_of!(Packet, netns) == 0);
    assert!(core::mem::offset_of!(Packet, now) == 8);
    assert!(core::mem::offset_of!(Packet, saddr) == 16);
    assert!(core::mem::offset_of!(Packet, daddr) == 32);
    assert!(core::mem::offset_of!(Packet, len) == 48);
    assert!(core::mem::offset_of!(Packet, mtu) == 52);
    assert!(core::mem::offset_of!(Packet, sport) == 56);
    assert!(core::mem::offset_of!(Packet, dport) == 58);
    assert!(core::mem::offset_of!(Packet, hh_len) == 60);
    assert!(core::mem::offset_of!(Packet, gso_segs) == 62);
    assert!(core::mem::offset_of!(Packet, gso_size) == 64);
    assert!(core::mem::offset_of!(Packet, hdr_len) == 66);
    assert!(core::mem::offset_of!(Packet, family) == 68);
    assert!(core::mem::offset_of!(Packet, proto) == 69);
    assert!(core::mem::offset_of!(Packet, dir) == 70);
    assert!(core::mem::offset_of!(Packet, gso) == 71);
    assert!(core::mem::offset_of!(Packet, frag) == 72);
    assert!(core::mem::offset_of!(Packet, transport) == 73);
    assert!(core::mem::offset_of!(Packet, tcp_state) == 74);
    assert!(core::mem::offset_of!(Packet, irqs_off) == 75);
};

/// The current task when the hook ran at `NF_INET_LOCAL_OUT` (the glue
/// fills it only there): who may have sent the packet.
///
/// Mirrors `struct netatop_sender` in `netatop_glue.h`, checked like
/// [`Packet`].
#[repr(C)]
pub(crate) struct Sender {
    /// Start of the task's thread-group leader, ns since boot.
    pub(crate) leader_start: u64,
    /// Start of the task, ns since boot.
    pub(crate) thread_start: u64,
    /// The task's tgid (initial pid namespace).
    pub(crate) tgid: i32,
    /// The task's pid (initial pid namespace).
    pub(crate) pid: i32,
    /// Non-zero in interrupt context or with bottom halves off
    /// (`in_interrupt()`).
    pub(crate) in_interrupt: u8,
    /// Non-zero when the task is exiting.
    pub(crate) exiting: u8,
}

// As for `Packet`.
const _: () = {
    assert!(size_of::<Sender>() == 32);
    assert!(core::mem::offset_of!(Sender, leader_start) == 0);
    assert!(core::mem::offset_of!(Sender, thread_start) == 8);
    assert!(core::mem::offset_of!(Sender, tgid) == 16);
    assert!(core::mem::offset_of!(Sender, pid) == 20);
    assert!(core::mem::offset_of!(Sender, in_interrupt) == 24);
    assert!(core::mem::offset_of!(Sender, exiting) == 25);
};

impl Sender {
    /// Whether this task sent the packet, the rule of netatop 3.2.2: it was
    /// sent in process context with bottom halves enabled, by a task that
    /// is not exiting. Tunnel devices re-enter LOCAL_OUT from the transmit
    /// path with bottom halves disabled (the sender would be charged
    /// twice), and an exiting task closing its sockets must not be
    /// registered again.
    pub(crate) fn sent_it(&self) -> bool {
        self.in_interrupt == 0 && self.exiting == 0
    }
}

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

impl Direction {
    /// 0 for sending, 1 for receiving: the order of every per-direction
    /// array (global counters, `struct taskcount`).
    pub(crate) fn index(self) -> usize {
        match self {
            Direction::Send => 0,
            Direction::Receive => 1,
        }
    }
}

impl Proto {
    /// 0 to 3 for TCP, UDP, ICMP, other: the order of every per-protocol
    /// array (global counters; `struct taskcount` has TCP and UDP).
    pub(crate) fn index(self) -> usize {
        match self {
            Proto::Tcp => 0,
            Proto::Udp => 1,
            Proto::Icmp => 2,
            Proto::Other => 3,
        }
    }
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

    /// The packet's transport protocol class. A fragment without the
    /// transport header, or a TCP/UDP packet whose header could not be
    /// read, has no connection: "other".
    pub(crate) fn proto(&self) -> Proto {
        if self.frag != 0 {
            return Proto::Other;
        }
        match self.proto {
            IPPROTO_TCP | IPPROTO_UDP if self.transport == 0 => Proto::Other,
            IPPROTO_TCP => Proto::Tcp,
            IPPROTO_UDP => Proto::Udp,
            IPPROTO_ICMP | IPPROTO_ICMPV6 => Proto::Icmp,
            _ => Proto::Other,
        }
    }

    /// Whether the hook ran where the tables' bottom-half locks must not be
    /// taken (hard interrupt context, interrupts disabled).
    pub(crate) fn irqs_off(&self) -> bool {
        self.irqs_off != 0
    }

    /// Wire segments this skb stands for: `gso_segs` of a GSO/GRO skb
    /// (estimated from `gso_size` when an untrusted sender left it unset),
    /// else 1; between 1 and 65535.
    pub(crate) fn segments(&self) -> u64 {
        if self.gso == 0 {
            return 1;
        }
        let mut segs = u64::from(self.gso_segs);
        let (len, hdr) = (u64::from(self.len), u64::from(self.hdr_len));
        if segs == 0 && self.gso_size > 0 && len > hdr {
            segs = (len - hdr).div_ceil(u64::from(self.gso_size));
        }
        segs.clamp(1, u64::from(u16::MAX))
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
        if mtu == 0 || len <= mtu {
            return len + link;
        }
        let ip_header = if self.family == NFPROTO_IPV6 {
            IPV6_FRAG_HEADER
        } else {
            IPV4_FRAG_HEADER
        };
        len + len / mtu * (ip_header + link) + link
    }

    /// (local address, local port, remote address, remote port).
    pub(crate) fn local_remote(&self) -> ([u8; 16], u16, [u8; 16], u16) {
        match self.direction() {
            Direction::Send => (self.saddr, self.sport, self.daddr, self.dport),
            Direction::Receive => (self.daddr, self.dport, self.saddr, self.sport),
        }
    }
}
