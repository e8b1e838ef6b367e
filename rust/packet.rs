// SPDX-License-Identifier: GPL-2.0

//! The rules of a packet: its direction, its protocol class, the wire
//! segments and bytes it stands for, and who sent it. The packet's facts
//! and headers come from the hook ([`Packet`], [`Sender`]).

use core::num::NonZeroU64;

pub(crate) use crate::kernel_services::packet::{Packet, Sender};

use crate::kernel_services::packet::{IPPROTO_TCP, NFPROTO_IPV6};

/// `IPPROTO_ICMP`, `IPPROTO_UDP` and `IPPROTO_ICMPV6`: the kernel's UAPI
/// values, fixed for good (not every supported kernel's bindings have
/// them; the glue asserts them against the kernel's headers).
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;

/// Bytes added per packet for the link layer beyond the device's header: the
/// frame check sequence (the original's `+ 4`).
const LINK_TRAILER: u64 = 4;
/// Header bytes repeated in every further IP fragment: the IPv4 header, or
/// the IPv6 header plus its fragment header.
const IPV4_FRAG_HEADER: u64 = 20;
const IPV6_FRAG_HEADER: u64 = 40 + 8;

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
    /// array (global counters).
    pub(crate) const fn index(self) -> usize {
        match self {
            Direction::Send => 0,
            Direction::Receive => 1,
        }
    }
}

impl Proto {
    /// 0 to 3 for TCP, UDP, ICMP, other: the order of every per-protocol
    /// array (global counters).
    pub(crate) const fn index(self) -> usize {
        match self {
            Proto::Tcp => 0,
            Proto::Udp => 1,
            Proto::Icmp => 2,
            Proto::Other => 3,
        }
    }
}

impl Packet<'_> {
    /// The packet's direction.
    #[inline]
    pub(crate) fn direction(&self) -> Direction {
        if self.outgoing() {
            Direction::Send
        } else {
            Direction::Receive
        }
    }

    /// The packet's transport protocol class. A non-first fragment, or a
    /// TCP/UDP packet whose header could not be read, has no connection:
    /// "other".
    #[inline]
    pub(crate) fn proto(&self) -> Proto {
        match self.protocol() {
            Some(IPPROTO_TCP) => Proto::Tcp,
            Some(IPPROTO_UDP) => Proto::Udp,
            Some(IPPROTO_ICMP | IPPROTO_ICMPV6) => Proto::Icmp,
            _ => Proto::Other,
        }
    }

    /// Wire segments this skb stands for: `gso_segs` of a GSO/GRO skb
    /// (estimated from `gso_size` when an untrusted sender left it unset),
    /// else 1; between 1 and 65535.
    #[inline]
    pub(crate) fn segments(&self) -> u64 {
        if self.gso_size() == 0 {
            return 1;
        }
        self.gso_segments()
    }

    /// [`Self::segments`] of a GSO/GRO skb.
    #[cold]
    fn gso_segments(&self) -> u64 {
        let mut segs = u64::from(self.gso_segs());
        let (len, hdr) = (u64::from(self.len()), u64::from(self.header_len()));
        if let Some(size) = NonZeroU64::new(u64::from(self.gso_size())) {
            if segs == 0 && len > hdr {
                segs = (len - hdr).div_ceil(size.get());
            }
        }
        segs.clamp(1, u64::from(u16::MAX))
    }

    /// Bytes on the wire, for a packet of `segs` [`Self::segments`]: the IP
    /// length plus, per wire segment, the link-layer header and trailer
    /// (`hard_header_len + 4`).
    ///
    /// - A GSO/GRO super-packet of `n` segments carries its IP and transport
    ///   headers once; the `n - 1` further copies are added, which makes the
    ///   count exact (the sender's GSO skb and the receiver's segments agree).
    /// - Otherwise netatop 3.2.2's estimate applies: a packet longer than the
    ///   MTU (IP fragmentation) gets an IP header (IPv6: with its fragment
    ///   header) and a link-layer header and trailer for every further
    ///   MTU-sized piece.
    #[inline]
    pub(crate) fn wire_bytes(&self, segs: u64) -> u64 {
        let len = u64::from(self.len());
        let link = u64::from(self.link_header()) + LINK_TRAILER;
        let mtu = u64::from(self.mtu());
        if segs == 1 && (len <= mtu || mtu == 0) {
            return len + link;
        }
        self.wire_bytes_long(segs, len, link, mtu)
    }

    /// [`Self::wire_bytes`] of a GSO/GRO skb or of a packet longer than the
    /// MTU.
    #[cold]
    fn wire_bytes_long(&self, segs: u64, len: u64, link: u64, mtu: u64) -> u64 {
        if segs > 1 {
            return len + (segs - 1) * u64::from(self.header_len()) + segs * link;
        }
        let ip_header = if self.family() == NFPROTO_IPV6 {
            IPV6_FRAG_HEADER
        } else {
            IPV4_FRAG_HEADER
        };
        // `mtu` is not 0 here (see `wire_bytes`).
        len + len.checked_div(mtu).unwrap_or(0) * (ip_header + link) + link
    }
}

impl Sender<'_> {
    /// Whether this task sent `pkt`, the rule of netatop 3.2.2: it was sent
    /// in a task's own context (not `in_interrupt()`: process context with
    /// bottom halves enabled), by a task that is not exiting. Tunnel
    /// devices re-enter LOCAL_OUT from the transmit path with bottom halves
    /// disabled (the sender would be charged twice), and an exiting task
    /// closing its sockets must not be registered again.
    #[inline]
    pub(crate) fn sent(&self, pkt: &Packet<'_>) -> bool {
        !pkt.in_interrupt() && !self.exiting()
    }
}
