// SPDX-License-Identifier: GPL-2.0

//! A packet as the hook hands it over (`struct netatop_pkt`), and the
//! current task at `LOCAL_OUT` (`struct netatop_sender`): their facts, and
//! the fields of the IP and TCP/UDP headers, read from the packet only when
//! asked for. The rules that use them (direction, protocol class, the
//! connection's key, segments and bytes, who sent it) are in
//! `crate::packet` and `crate::sockkey`.

use super::glue::{RawPacket, RawSender, CX_INTERRUPT, DIR_OUT, NO_TRANSPORT};

/// IPv4 header offsets of the source and destination addresses.
const IPV4_SADDR: usize = 12;
const IPV4_DADDR: usize = 16;
/// IPv6 header offsets of the source and destination addresses.
const IPV6_SADDR: usize = 8;
const IPV6_DADDR: usize = 24;
/// `NFPROTO_IPV6` (asserted against the kernel's in the glue).
pub(crate) const NFPROTO_IPV6: u8 = 10;
/// Offset of the TCP data offset (header length in words, high nibble).
const TCP_DOFF: usize = 12;
/// Bytes of a UDP header.
const UDP_HEADER: u16 = 8;
/// `IPPROTO_TCP` (asserted against the kernel's in the glue).
pub(crate) const IPPROTO_TCP: u8 = 6;

/// A packet seen by a hook.
///
/// # Invariants
///
/// `raw` is a summary the glue wrote in full for this hook call: `nh`
/// points to the packet's IP header (at least 20 bytes for IPv4, 40 for
/// IPv6), and `th` is null or points to its TCP (20 bytes) or UDP (8
/// bytes) header as `proto` says, all readable for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Packet<'a> {
    raw: &'a RawPacket,
}

impl<'a> Packet<'a> {
    /// The packet of a hook call.
    ///
    /// # Safety
    ///
    /// `raw` is the summary the glue wrote for this hook call (see the type
    /// invariants), valid for `'a`.
    pub(super) unsafe fn new(raw: &'a RawPacket) -> Self {
        // INVARIANT: the function's safety requirements.
        Self { raw }
    }

    /// Whether the packet is being sent (`LOCAL_OUT`), else received.
    #[inline]
    pub(crate) fn outgoing(&self) -> bool {
        self.raw.dir == DIR_OUT
    }

    /// Whether the hook runs in interrupt context (`in_interrupt()`:
    /// softirq, or bottom halves disabled), not in a task's own call.
    #[inline]
    pub(crate) fn in_interrupt(&self) -> bool {
        self.raw.context & CX_INTERRUPT != 0
    }

    /// `net_cookie` of the network namespace.
    #[inline]
    pub(crate) fn netns(&self) -> u64 {
        self.raw.netns
    }

    /// `jiffies_64` when the hook ran.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.raw.now
    }

    /// Whether it is IPv6 (else IPv4).
    #[inline]
    pub(crate) fn ipv6(&self) -> bool {
        self.raw.family == NFPROTO_IPV6
    }

    /// The address family (`NFPROTO_IPV4` or `NFPROTO_IPV6`).
    #[inline]
    pub(crate) fn family(&self) -> u8 {
        self.raw.family
    }

    /// The transport protocol number, `None` for a TCP or UDP packet whose
    /// header cannot be read or a non-first fragment.
    #[inline]
    pub(crate) fn protocol(&self) -> Option<u8> {
        (self.raw.proto != NO_TRANSPORT).then_some(self.raw.proto)
    }

    /// The IP length (header and payload).
    #[inline]
    pub(crate) fn len(&self) -> u32 {
        self.raw.len
    }

    /// The MTU of the device, 0 without one.
    #[inline]
    pub(crate) fn mtu(&self) -> u32 {
        self.raw.mtu
    }

    /// The link-layer header length of the device.
    #[inline]
    pub(crate) fn link_header(&self) -> u16 {
        self.raw.hh_len
    }

    /// `gso_size`: non-zero for a GSO/GRO skb.
    #[inline]
    pub(crate) fn gso_size(&self) -> u16 {
        self.raw.gso_size
    }

    /// `gso_segs` (0 if a GSO sender left it unset).
    #[inline]
    pub(crate) fn gso_segs(&self) -> u16 {
        self.raw.gso_segs
    }

    /// The TCP state of the skb's socket, 0 without one.
    #[inline]
    pub(crate) fn tcp_state(&self) -> u8 {
        self.raw.tcp_state
    }

    /// Byte `i` of the TCP or UDP header, if there is one and it is that
    /// long.
    #[inline]
    fn transport_byte(&self, i: usize) -> Option<u8> {
        if self.raw.th.is_null() {
            return None;
        }
        let len = if self.raw.proto == IPPROTO_TCP { 20 } else { 8 };
        if i >= len {
            return None;
        }
        // SAFETY: `th` points to `len` readable bytes (type invariants).
        Some(unsafe { self.raw.th.add(i).read() })
    }

    /// The source port (TCP or UDP, with a header).
    #[inline]
    pub(crate) fn source_port(&self) -> Option<u16> {
        Some(u16::from_be_bytes([
            self.transport_byte(0)?,
            self.transport_byte(1)?,
        ]))
    }

    /// The destination port (TCP or UDP, with a header).
    #[inline]
    pub(crate) fn dest_port(&self) -> Option<u16> {
        Some(u16::from_be_bytes([
            self.transport_byte(2)?,
            self.transport_byte(3)?,
        ]))
    }

    /// Bytes of the IP (with extension) and TCP or UDP headers, 0 without a
    /// transport header.
    pub(crate) fn header_len(&self) -> u16 {
        let transport = if self.raw.proto == IPPROTO_TCP {
            self.transport_byte(TCP_DOFF)
                .map_or(0, |b| u16::from(b >> 4) * 4)
        } else {
            self.transport_byte(0).map_or(0, |_| UDP_HEADER)
        };
        if transport == 0 {
            return 0;
        }
        self.raw.th_off.saturating_add(transport)
    }

    /// `n` bytes of the IP header from `at`, in the first `n` of 16.
    #[inline]
    fn address(&self, at: usize, n: usize) -> [u8; 16] {
        let mut a = [0u8; 16];
        // SAFETY: `nh` points to at least 20 (IPv4) or 40 (IPv6) readable
        // bytes (type invariants), and the callers read within them.
        let src = unsafe { core::slice::from_raw_parts(self.raw.nh.add(at), n) };
        a[..n].copy_from_slice(src);
        a
    }

    /// The source address (IPv4: in the first 4 bytes, the rest 0).
    #[inline]
    pub(crate) fn source(&self) -> [u8; 16] {
        if self.ipv6() {
            self.address(IPV6_SADDR, 16)
        } else {
            self.address(IPV4_SADDR, 4)
        }
    }

    /// The destination address (IPv4: in the first 4 bytes, the rest 0).
    #[inline]
    pub(crate) fn destination(&self) -> [u8; 16] {
        if self.ipv6() {
            self.address(IPV6_DADDR, 16)
        } else {
            self.address(IPV4_DADDR, 4)
        }
    }
}

/// The current task when a packet was sent (`LOCAL_OUT`).
///
/// # Invariants
///
/// `raw` was written in full by the glue for this hook call.
#[derive(Clone, Copy)]
pub(crate) struct Sender<'a> {
    raw: &'a RawSender,
}

impl<'a> Sender<'a> {
    /// The current task of a `LOCAL_OUT` hook call.
    ///
    /// # Safety
    ///
    /// `raw` is what the glue wrote for this hook call, valid for `'a`.
    pub(super) unsafe fn new(raw: &'a RawSender) -> Self {
        // INVARIANT: the function's safety requirements.
        Self { raw }
    }

    /// Its tgid (initial pid namespace).
    #[inline]
    pub(crate) fn tgid(&self) -> i32 {
        self.raw.tgid
    }

    /// Its pid (initial pid namespace).
    #[inline]
    pub(crate) fn pid(&self) -> i32 {
        self.raw.pid
    }

    /// Start of its thread-group leader, ns since boot.
    #[inline]
    pub(crate) fn leader_start(&self) -> u64 {
        self.raw.leader_start
    }

    /// Its start, ns since boot.
    #[inline]
    pub(crate) fn thread_start(&self) -> u64 {
        self.raw.thread_start
    }

    /// Whether it is exiting.
    #[inline]
    pub(crate) fn exiting(&self) -> bool {
        self.raw.exiting != 0
    }
}
