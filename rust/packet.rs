// SPDX-License-Identifier: GPL-2.0

//! The rules of a packet: its direction, its protocol class, the wire
//! segments and bytes it stands for, and who sent it. The packet's facts
//! and headers come from the hook ([`Packet`], [`Sender`]).

use core::num::NonZeroU64;

pub(crate) use crate::kernel_services::packet::{Address6, Packet, Ports, Sender, Skb, Transport};

pub(crate) use crate::kernel_services::packet::NFPROTO_IPV6;

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

impl Proto {
    /// The class of a packet's transport: a TCP or UDP packet whose header
    /// could not be read has no connection: "other".
    #[inline]
    pub(crate) fn of(t: &Transport<'_>) -> Self {
        match t {
            Transport::Tcp(Some(_)) => Proto::Tcp,
            Transport::Udp(Some(_)) => Proto::Udp,
            Transport::Icmp => Proto::Icmp,
            Transport::Tcp(None) | Transport::Udp(None) | Transport::Other => Proto::Other,
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

    /// Wire segments this skb stands for: `gso_segs` of a GSO/GRO skb
    /// (estimated from `gso_size` when an untrusted sender left it unset),
    /// else 1; between 1 and 65535.
    #[inline]
    pub(crate) fn segments(&self) -> u64 {
        let size = self.gso_size();
        if size == 0 {
            return 1;
        }
        gso_segments(self.skb(), size)
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
        let (mtu, link) = self.link();
        // Cannot overflow: 32- and 16-bit quantities.
        let (mtu, link) = (u64::from(mtu), u64::from(link).wrapping_add(LINK_TRAILER));
        // `len <= mtu || mtu == 0` in one comparison (`len` is at least an
        // IP header, never 0).
        if segs == 1 && len.wrapping_sub(1) <= mtu.wrapping_sub(1) {
            return len.wrapping_add(link);
        }
        wire_bytes_long(self.skb(), segs, len, link, mtu)
    }
}

/// [`Packet::segments`] of a GSO/GRO skb of `gso_size` `size` (out of line,
/// with the skb by value: the hot path keeps it in registers).
#[cold]
fn gso_segments(skb: Skb<'_>, size: u16) -> u64 {
    let mut segs = u64::from(skb.gso_segs());
    let hdr = u64::from(skb.header_len());
    let len = u64::from(skb.len());
    if let Some(size) = NonZeroU64::new(u64::from(size)) {
        if segs == 0 && len > hdr {
            segs = (len - hdr).div_ceil(size.get());
        }
    }
    segs.clamp(1, u64::from(u16::MAX))
}

/// [`Packet::wire_bytes`] of a GSO/GRO skb or of a packet longer than the
/// MTU.
#[cold]
fn wire_bytes_long(skb: Skb<'_>, segs: u64, len: u64, link: u64, mtu: u64) -> u64 {
    if segs > 1 {
        let hdr = u64::from(skb.header_len());
        return len + (segs - 1) * hdr + segs * link;
    }
    let ip_header = if skb.family() == NFPROTO_IPV6 {
        IPV6_FRAG_HEADER
    } else {
        IPV4_FRAG_HEADER
    };
    // `mtu` is not 0 here (see `wire_bytes`).
    len + len.checked_div(mtu).unwrap_or(0) * (ip_header + link) + link
}

impl Sender<'_> {
    /// Whether this task (the current one at `LOCAL_OUT`) sent `pkt`, the
    /// rule of netatop 3.2.2: it was sent in a task's own context (not
    /// `in_interrupt()`: process context with bottom halves enabled), by a
    /// task that is not exiting. Tunnel devices re-enter LOCAL_OUT from the
    /// transmit path with bottom halves disabled (the sender would be
    /// charged twice), and an exiting task closing its sockets must not be
    /// registered again.
    #[inline]
    pub(crate) fn sent(&self, pkt: &Packet<'_>) -> bool {
        !pkt.in_interrupt() && !self.exiting()
    }
}
