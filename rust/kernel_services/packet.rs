// SPDX-License-Identifier: GPL-2.0

//! A packet seen by a netfilter hook, read where it lies: the `sk_buff`,
//! the hook's `nf_hook_state`, its device and socket, and the sending task,
//! each field read only when asked for, at the offset and with the size the
//! C compiler gives ([`super::layout`]); then the IP and TCP/UDP header
//! fields the accounting needs. The rules that use them (direction,
//! protocol class, the connection's key, segments and bytes, who sent it)
//! are in `crate::packet` and `crate::sockkey`.

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use kernel::bindings;
use kernel::ffi::{c_int, c_void};

use super::layout as l;

/// The kernel's protocol numbers, from its headers.
pub(crate) const IPPROTO_ICMP: u8 = l::byte(l::IPPROTO_ICMP);
/// `IPPROTO_TCP`.
pub(crate) const IPPROTO_TCP: u8 = l::byte(l::IPPROTO_TCP);
/// `IPPROTO_UDP`.
pub(crate) const IPPROTO_UDP: u8 = l::byte(l::IPPROTO_UDP);
/// `IPPROTO_ICMPV6`.
pub(crate) const IPPROTO_ICMPV6: u8 = l::byte(l::IPPROTO_ICMPV6);
/// `NFPROTO_IPV6`.
pub(crate) const NFPROTO_IPV6: u8 = l::byte(l::NFPROTO_IPV6);
/// `NFPROTO_IPV4`.
pub(crate) const NFPROTO_IPV4: u8 = l::byte(l::NFPROTO_IPV4);
// A connection's family goes to user space (GETCNT_CONNS) as the `AF_*`
// number: netfilter's are the same.
const _: () = assert!(l::NFPROTO_IPV4 == l::AF_INET && l::NFPROTO_IPV6 == l::AF_INET6);

/// IPv4 header: offsets of the fields read.
const IPV4_FRAG_OFF: usize = 6;
const IPV4_PROTOCOL: usize = 9;
const IPV4_SADDR: usize = 12;
const IPV4_DADDR: usize = 16;
/// IPv6 header: bytes, offsets of the fields read.
const IPV6_HEADER: usize = 40;
const IPV6_NEXTHDR: usize = 6;
const IPV6_SADDR: usize = 8;
const IPV6_DADDR: usize = 24;
/// Bytes of a TCP header without options, and of a UDP header.
const TCP_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
/// Offset of the TCP data offset (header length in words, high nibble).
const TCP_DOFF: usize = 12;

extern "C" {
    /// `ipv6_skip_exthdr()` (`net/ipv6.h`, which the kernel crate does not
    /// bind): the offset of the header after IPv6's extension headers, or
    /// -1; the protocol of that header in `*nexthdrp`, a fragment's offset
    /// in `*frag_offp`.
    fn ipv6_skip_exthdr(
        skb: *const bindings::sk_buff,
        start: c_int,
        nexthdrp: *mut u8,
        frag_offp: *mut u16,
    ) -> c_int;
}

/// Reads the `size_of::<T>()`-byte field at `offset` of the structure at
/// `base` as `T`.
///
/// # Safety
///
/// `base` points to a live structure with a field of `size_of::<T>()`
/// bytes at `offset`, valid for reads of a `T`.
#[inline(always)]
unsafe fn field<T: Copy>(base: *const u8, offset: usize) -> T {
    // SAFETY: the function's safety requirements.
    unsafe { core::ptr::read_unaligned(base.add(offset).cast::<T>()) }
}

/// As [`field`], read once (`READ_ONCE`): a field another CPU may write.
///
/// # Safety
///
/// As [`field`], and the field is naturally aligned.
#[inline(always)]
unsafe fn field_once<T: Copy>(base: *const u8, offset: usize) -> T {
    // SAFETY: the function's safety requirements.
    unsafe { core::ptr::read_volatile(base.add(offset).cast::<T>()) }
}

// The sizes the reads below assume, checked against the C compiler's.
const _: () = {
    use core::mem::size_of;
    assert!(l::sk_buff__len__SIZE == size_of::<u32>());
    assert!(l::sk_buff__data_len__SIZE == size_of::<u32>());
    assert!(l::sk_buff__head__SIZE == size_of::<*const u8>());
    assert!(l::sk_buff__data__SIZE == size_of::<*const u8>());
    // 64-bit kernels keep `end` as an offset from `head`.
    assert!(l::sk_buff__end__SIZE == size_of::<u32>());
    assert!(l::sk_buff__network_header__SIZE == size_of::<u16>());
    assert!(l::sk_buff__sk__SIZE == size_of::<*const u8>());
    assert!(l::sk_buff__dev__SIZE == size_of::<*const u8>());
    assert!(l::skb_shared_info__gso_size__SIZE == size_of::<u16>());
    assert!(l::skb_shared_info__gso_segs__SIZE == size_of::<u16>());
    assert!(l::nf_hook_state__in__SIZE == size_of::<*const u8>());
    assert!(l::nf_hook_state__out__SIZE == size_of::<*const u8>());
    assert!(l::nf_hook_state__net__SIZE == size_of::<*const u8>());
    assert!(l::net__net_cookie__SIZE == size_of::<u64>());
    assert!(l::net_device__mtu__SIZE == size_of::<u32>());
    assert!(l::net_device__hard_header_len__SIZE == size_of::<u16>());
    assert!(l::sock__skc_state__SIZE == size_of::<u8>());
    assert!(l::task_struct__flags__SIZE == size_of::<u32>());
    assert!(l::task_struct__pid__SIZE == size_of::<i32>());
    assert!(l::task_struct__tgid__SIZE == size_of::<i32>());
    assert!(l::task_struct__group_leader__SIZE == size_of::<*const u8>());
    assert!(l::task_struct__start_boottime__SIZE == size_of::<u64>());
};

/// The `sk_buff` of a packet seen by a hook, and its family: two words,
/// which the packet path's out-of-line functions take by value.
///
/// # Invariants
///
/// `skb` is the `sk_buff` of one hook call, alive and unchanged in the
/// fields read here for `'a` (the hook runs under `rcu_read_lock`, with
/// the skb its own); its IP header, of `family`, is in its linear area, as
/// netfilter's hooks find it.
#[derive(Clone, Copy)]
pub(crate) struct Skb<'a> {
    skb: *const u8,
    /// The hook's family (`NFPROTO_IPV4` or `NFPROTO_IPV6`).
    family: u8,
    _hook: PhantomData<&'a ()>,
}

/// A packet seen by a hook.
///
/// # Invariants
///
/// `skb` is the hook call's, `state` and `task` its `nf_hook_state` and
/// current task, alive for `'a`; of the fields read here, those that may
/// change meanwhile (a device's MTU, a task's flags and leader) are read
/// once (`READ_ONCE`), the others do not change.
#[derive(Clone, Copy)]
pub(crate) struct Packet<'a> {
    skb: Skb<'a>,
    state: *const u8,
    task: *const u8,
    context: u32,
    /// The hook is `LOCAL_OUT`'s (else `LOCAL_IN`'s).
    out: bool,
}

/// A packet's transport header, as far as the accounting reads it.
#[derive(Clone, Copy)]
pub(crate) enum Transport<'a> {
    /// TCP, with its header's ports (`None`: the packet is too short for
    /// a TCP header).
    Tcp(Option<Ports<'a>>),
    /// UDP, with its header's ports (`None`: too short for a UDP header).
    Udp(Option<Ports<'a>>),
    /// ICMP or ICMPv6.
    Icmp,
    /// Any other protocol, or no transport header to read: a non-first
    /// fragment, IPv6 extension headers that cannot be parsed.
    Other,
}

/// The ports of a TCP or UDP header, and the IP header they follow.
///
/// # Invariants
///
/// `ip` points to the IP header of the hook call's skb (of its family),
/// readable for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Ports<'a> {
    /// The source port.
    pub(crate) source: u16,
    /// The destination port.
    pub(crate) dest: u16,
    ip: *const u8,
    _hook: PhantomData<&'a ()>,
}

impl<'a> Packet<'a> {
    /// The packet of a hook call, of `family` (`NFPROTO_IPV4` or
    /// `NFPROTO_IPV6`), outgoing (`LOCAL_OUT`) if `out`, else incoming
    /// (`LOCAL_IN`).
    ///
    /// # Safety
    ///
    /// `skb`, `state` and `task` are those of the hook call that runs this,
    /// valid for `'a` (see the type invariants); the hook is that of
    /// `family` and `out`.
    #[inline(always)]
    pub(super) unsafe fn new(
        skb: *const c_void,
        state: *const c_void,
        task: *const c_void,
        context: u32,
        out: bool,
        family: u8,
    ) -> Self {
        // INVARIANT: the function's safety requirements.
        Self {
            skb: Skb {
                skb: skb.cast(),
                family,
                _hook: PhantomData,
            },
            state: state.cast(),
            task: task.cast(),
            context,
            out,
        }
    }

    /// Its skb (for out-of-line code: two words).
    #[inline(always)]
    pub(crate) fn skb(&self) -> Skb<'a> {
        self.skb
    }

    /// Whether the packet is being sent (`LOCAL_OUT`), else received.
    #[inline(always)]
    pub(crate) fn outgoing(&self) -> bool {
        self.out
    }

    /// Whether the hook runs in interrupt context (`in_interrupt()`:
    /// softirq, or bottom halves disabled), not in a task's own call.
    #[inline(always)]
    pub(crate) fn in_interrupt(&self) -> bool {
        self.context & super::glue::CX_INTERRUPT != 0
    }

    /// The address family (`NFPROTO_IPV4` or `NFPROTO_IPV6`).
    #[inline(always)]
    pub(crate) fn family(&self) -> u8 {
        self.skb.family
    }

    /// `net_cookie` of the hook's network namespace.
    #[inline(always)]
    pub(crate) fn netns(&self) -> u64 {
        // SAFETY: `state` is the hook's and its `net` lives while the hook
        // runs (type invariants); the sizes are checked above.
        unsafe {
            let net = field::<*const u8>(self.state, l::nf_hook_state__net);
            field::<u64>(net, l::net__net_cookie)
        }
    }

    /// The device the packet leaves by (`LOCAL_OUT`) or came in by, else
    /// the skb's; null without one.
    #[inline(always)]
    fn device(&self) -> *const u8 {
        let at = if self.out {
            l::nf_hook_state__out
        } else {
            l::nf_hook_state__in
        };
        // SAFETY: `state` and `skb` are the hook's (type invariants).
        let dev = unsafe { field::<*const u8>(self.state, at) };
        if dev.is_null() {
            // SAFETY: as above.
            unsafe { field::<*const u8>(self.skb.skb, l::sk_buff__dev) }
        } else {
            dev
        }
    }

    /// The MTU and the link-layer header length of the device, `(0, 0)`
    /// without one.
    #[inline(always)]
    pub(crate) fn link(&self) -> (u32, u16) {
        let dev = self.device();
        if dev.is_null() {
            return (0, 0);
        }
        // SAFETY: a device the hook or the skb holds lives while the hook
        // runs; `mtu` may change at any time (`READ_ONCE`).
        unsafe {
            (
                field_once::<u32>(dev, l::net_device__mtu),
                field::<u16>(dev, l::net_device__hard_header_len),
            )
        }
    }

    /// The current task's facts, at `LOCAL_OUT` (`None` at `LOCAL_IN`).
    #[inline(always)]
    pub(crate) fn sender(&self) -> Option<Sender<'a>> {
        // INVARIANT: the hook's current task.
        self.out.then_some(Sender {
            task: self.task,
            _hook: PhantomData,
        })
    }

    /// The IP length (header and payload): `skb->len`.
    #[inline(always)]
    pub(crate) fn len(&self) -> u32 {
        self.skb.len()
    }

    /// `gso_size`: non-zero for a GSO/GRO skb.
    #[inline(always)]
    pub(crate) fn gso_size(&self) -> u16 {
        self.skb.gso_size()
    }

    /// The TCP state of the skb's socket, 0 without one.
    #[inline(always)]
    pub(crate) fn tcp_state(&self) -> u8 {
        self.skb.tcp_state()
    }

    /// The source address of the IP header `ports` follow (see
    /// `Skb::address`).
    #[inline(always)]
    pub(crate) fn source_words(&self, ports: &Ports<'a>) -> [u64; 2] {
        self.skb.address(ports, IPV4_SADDR, IPV6_SADDR)
    }

    /// The destination address of the IP header `ports` follow (see
    /// `Skb::address`).
    #[inline(always)]
    pub(crate) fn destination_words(&self, ports: &Ports<'a>) -> [u64; 2] {
        self.skb.address(ports, IPV4_DADDR, IPV6_DADDR)
    }

    /// The IPv6 source address of the IP header `ports` follow, read when
    /// asked (`None` for IPv4).
    #[inline(always)]
    pub(crate) fn source6(&self, ports: &Ports<'a>) -> Option<Address6<'a>> {
        self.skb.address6(ports, IPV6_SADDR)
    }

    /// The IPv6 destination address of the IP header `ports` follow, read
    /// when asked (`None` for IPv4).
    #[inline(always)]
    pub(crate) fn destination6(&self, ports: &Ports<'a>) -> Option<Address6<'a>> {
        self.skb.address6(ports, IPV6_DADDR)
    }

    /// The transport protocol and header (see [`Skb::transport`]).
    #[inline(always)]
    pub(crate) fn transport(&self) -> Transport<'a> {
        self.skb.transport()
    }
}

impl<'a> Skb<'a> {
    /// The address family (`NFPROTO_IPV4` or `NFPROTO_IPV6`).
    #[inline(always)]
    pub(crate) fn family(&self) -> u8 {
        self.family
    }

    /// The IP length (header and payload): `skb->len`.
    #[inline(always)]
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: `skb` is the hook's (type invariants).
        unsafe { field::<u32>(self.skb, l::sk_buff__len) }
    }

    /// `skb_shinfo(skb)`: `head + end` on 64-bit kernels.
    #[inline(always)]
    fn shinfo(&self) -> *const u8 {
        // SAFETY: `skb` is the hook's (type invariants); the shared info
        // lies at `head + end` (checked above: `end` is an offset).
        unsafe {
            let head = field::<*const u8>(self.skb, l::sk_buff__head);
            let end = field::<u32>(self.skb, l::sk_buff__end);
            head.add(end as usize)
        }
    }

    /// `gso_size`: non-zero for a GSO/GRO skb.
    #[inline(always)]
    pub(crate) fn gso_size(&self) -> u16 {
        // SAFETY: the skb's shared info (see `shinfo`).
        unsafe { field::<u16>(self.shinfo(), l::skb_shared_info__gso_size) }
    }

    /// `gso_segs` (0 if a GSO sender left it unset).
    #[inline(always)]
    pub(crate) fn gso_segs(&self) -> u16 {
        // SAFETY: the skb's shared info (see `shinfo`).
        unsafe { field::<u16>(self.shinfo(), l::skb_shared_info__gso_segs) }
    }

    /// The TCP state of the skb's socket, 0 without one.
    #[inline(always)]
    pub(crate) fn tcp_state(&self) -> u8 {
        // SAFETY: `skb` is the hook's; its socket, if any (a full, request
        // or timewait socket: each begins with `sock_common`), lives while
        // the skb holds it, by a reference or, for one without, until an
        // RCU grace period the hook is inside; the state changes at any
        // time (`READ_ONCE`).
        unsafe {
            let sk = field::<*const u8>(self.skb, l::sk_buff__sk);
            if sk.is_null() {
                0
            } else {
                field_once::<u8>(sk, l::sock__skc_state)
            }
        }
    }

    /// The IP header.
    #[inline(always)]
    fn network_header(&self) -> *const u8 {
        // SAFETY: `skb` is the hook's (type invariants).
        unsafe {
            let head = field::<*const u8>(self.skb, l::sk_buff__head);
            head.add(field::<u16>(self.skb, l::sk_buff__network_header).into())
        }
    }

    /// An address of the IP header `ports` follow (IPv4 at `v4_at`, IPv6
    /// at `v6_at`) as two native-endian words of its 16 bytes (IPv4: its 4
    /// bytes as the first word's low 32 bits; the rest 0).
    ///
    /// The header is the one [`Self::transport`] found, kept in `ports`
    /// rather than computed again from the skb.
    #[inline(always)]
    fn address(&self, ports: &Ports<'a>, v4_at: usize, v6_at: usize) -> [u64; 2] {
        // `Ports`' invariant: the IP header of this hook call's skb.
        let nh = ports.ip;
        if self.family == NFPROTO_IPV6 {
            // SAFETY: the IPv6 header's 40 bytes (type invariants) hold
            // both addresses.
            unsafe { [field::<u64>(nh, v6_at), field::<u64>(nh, v6_at + 8)] }
        } else {
            // SAFETY: the IPv4 header's 20 bytes (type invariants) hold
            // both addresses.
            [u64::from(unsafe { field::<u32>(nh, v4_at) }), 0]
        }
    }

    /// The IPv6 address at `at` of the IP header `ports` follow (as in
    /// [`Self::address`]), not read yet (`None` for IPv4).
    #[inline(always)]
    fn address6(&self, ports: &Ports<'a>, at: usize) -> Option<Address6<'a>> {
        // `Ports`' invariant: the IP header of this hook call's skb.
        let nh = ports.ip;
        // INVARIANT: the IPv6 header's 40 bytes (type invariants) hold the
        // address at `at`, for as long as the hook runs.
        (self.family == NFPROTO_IPV6).then(|| Address6 {
            // SAFETY: within the IPv6 header.
            at: unsafe { nh.add(at) },
            _hook: PhantomData,
        })
    }

    /// The transport header: its protocol and, for TCP and UDP, its ports
    /// (read from the skb's linear area, else copied out of the skb first).
    #[inline(always)]
    pub(crate) fn transport(&self) -> Transport<'a> {
        let nh = self.network_header();
        let (proto, offset) = if self.family == NFPROTO_IPV4 {
            // SAFETY: the IPv4 header's 20 bytes (type invariants).
            let (vihl, frag, proto) = unsafe {
                (
                    *nh,
                    u16::from_be_bytes([*nh.add(IPV4_FRAG_OFF), *nh.add(IPV4_FRAG_OFF + 1)]),
                    *nh.add(IPV4_PROTOCOL),
                )
            };
            if frag & l::half(l::IP_OFFSET) != 0 {
                return Transport::Other;
            }
            (proto, u32::from(vihl & 0xf) << 2)
        } else {
            // SAFETY: the IPv6 header's 40 bytes (type invariants).
            let next = unsafe { *nh.add(IPV6_NEXTHDR) };
            // Without extension headers (the common case) the next header
            // is the transport's: one dispatch, not two.
            match next {
                IPPROTO_UDP => {
                    return Transport::Udp(self.ports(nh, IPV6_HEADER as u32, UDP_HEADER as u32))
                }
                IPPROTO_TCP => {
                    return Transport::Tcp(self.ports(nh, IPV6_HEADER as u32, TCP_HEADER as u32))
                }
                IPPROTO_ICMPV6 => return Transport::Icmp,
                _ => match self.ipv6_extensions(nh) {
                    Some(found) => found,
                    None => return Transport::Other,
                },
            }
        };
        match proto {
            IPPROTO_TCP => Transport::Tcp(self.ports(nh, offset, TCP_HEADER as u32)),
            IPPROTO_UDP => Transport::Udp(self.ports(nh, offset, UDP_HEADER as u32)),
            IPPROTO_ICMP | IPPROTO_ICMPV6 => Transport::Icmp,
            _ => Transport::Other,
        }
    }

    /// The ports of the `len`-byte TCP or UDP header at `offset` from the
    /// IP header `nh`; `None` if the packet is shorter.
    #[inline(always)]
    fn ports(&self, nh: *const u8, offset: u32, len: u32) -> Option<Ports<'a>> {
        let mut buf = MaybeUninit::<[u8; TCP_HEADER]>::uninit();
        let th = self.header_pointer(nh, offset, len, &mut buf);
        if th.is_null() {
            return None;
        }
        // SAFETY: `th` points to `len` readable bytes (at least 8: the
        // ports), in the skb or in `buf`.
        unsafe {
            // INVARIANT: `nh` is the skb's IP header (the caller's).
            Some(Ports {
                source: u16::from_be_bytes([*th, *th.add(1)]),
                dest: u16::from_be_bytes([*th.add(2), *th.add(3)]),
                ip: nh,
                _hook: PhantomData,
            })
        }
    }

    /// Bytes of the IP (with extension) and TCP or UDP headers, 0 without a
    /// transport header (only GSO/GRO skbs need it: read again there).
    #[cold]
    pub(crate) fn header_len(self) -> u16 {
        let nh = self.network_header();
        let (proto, offset) = if self.family == NFPROTO_IPV4 {
            // SAFETY: the IPv4 header's 20 bytes (type invariants).
            let (vihl, proto) = unsafe { (*nh, *nh.add(IPV4_PROTOCOL)) };
            (proto, u32::from(vihl & 0xf) << 2)
        } else {
            // SAFETY: the IPv6 header's 40 bytes (type invariants).
            let next = unsafe { *nh.add(IPV6_NEXTHDR) };
            match next {
                IPPROTO_TCP | IPPROTO_UDP => (next, IPV6_HEADER as u32),
                _ => match self.ipv6_extensions(nh) {
                    Some(found) => found,
                    None => return 0,
                },
            }
        };
        let len = match proto {
            IPPROTO_TCP => TCP_HEADER as u32,
            IPPROTO_UDP => UDP_HEADER as u32,
            _ => return 0,
        };
        let mut buf = MaybeUninit::<[u8; TCP_HEADER]>::uninit();
        let th = self.header_pointer(nh, offset, len, &mut buf);
        if th.is_null() {
            return 0;
        }
        let transport = if proto == IPPROTO_TCP {
            // SAFETY: a TCP header's 20 bytes, in the skb or in `buf`.
            u32::from(unsafe { *th.add(TCP_DOFF) } >> 4) << 2
        } else {
            UDP_HEADER as u32
        };
        // IPv6's extensions are bounded by the skb's length.
        u16::try_from(offset.saturating_add(transport)).unwrap_or(u16::MAX)
    }

    /// The protocol after IPv6's extension headers and its offset from the
    /// IP header; `None` for a non-first fragment or headers that cannot
    /// be parsed.
    #[cold]
    fn ipv6_extensions(self, nh: *const u8) -> Option<(u8, u32)> {
        // SAFETY: the IPv6 header's 40 bytes (type invariants).
        let mut next = unsafe { *nh.add(IPV6_NEXTHDR) };
        let mut frag: u16 = 0;
        // SAFETY: the IP header and the data pointer are in the same skb.
        let nh_off = unsafe { nh.offset_from(field::<*const u8>(self.skb, l::sk_buff__data)) };
        // Checked: no overflow panic in the packet path.
        let start = c_int::try_from(nh_off.checked_add(IPV6_HEADER as isize)?).ok()?;
        // SAFETY: `skb` is a live sk_buff (type invariants); `next` and
        // `frag` are locals the call writes.
        let at = unsafe { ipv6_skip_exthdr(self.skb.cast(), start, &mut next, &mut frag) };
        // A fragment other than the first has no transport header.
        if at < 0 || frag & u16::to_be(!0x7) != 0 {
            return None;
        }
        let offset = u32::try_from(isize::try_from(at).ok()?.checked_sub(nh_off)?).ok()?;
        Some((next, offset))
    }

    /// `skb_header_pointer()`: `len` bytes at `offset` from the IP header
    /// `nh` (at most [`TCP_HEADER`]), in the skb's linear area, else copied
    /// to `buf`; null if the packet is shorter.
    #[inline(always)]
    fn header_pointer(
        &self,
        nh: *const u8,
        offset: u32,
        len: u32,
        buf: &mut MaybeUninit<[u8; TCP_HEADER]>,
    ) -> *const u8 {
        // SAFETY: `skb` is the hook's (type invariants).
        let (data, skb_len, data_len) = unsafe {
            (
                field::<*const u8>(self.skb, l::sk_buff__data),
                field::<u32>(self.skb, l::sk_buff__len),
                field::<u32>(self.skb, l::sk_buff__data_len),
            )
        };
        // SAFETY: the IP header and the data pointer are in the skb's head
        // buffer; the header lies at or after the data pointer
        // (`skb_network_offset()`, a small non-negative number where the
        // hooks run).
        let nh_off = unsafe { nh.offset_from(data) } as u64;
        let end = nh_off
            .wrapping_add(u64::from(offset))
            .wrapping_add(u64::from(len));
        let headlen = u64::from(skb_len.wrapping_sub(data_len));
        if end <= headlen {
            // SAFETY: within the linear area, checked just above.
            return unsafe { nh.add(offset as usize) };
        }
        self.copy_header(nh_off.wrapping_add(u64::from(offset)), len, buf)
    }

    /// The slow half of [`Self::header_pointer`]: `skb_copy_bits()`.
    #[cold]
    fn copy_header(
        self,
        from_data: u64,
        len: u32,
        buf: &mut MaybeUninit<[u8; TCP_HEADER]>,
    ) -> *const u8 {
        let (Ok(offset), Ok(n)) = (
            c_int::try_from(from_data),
            c_int::try_from(len.min(TCP_HEADER as u32)),
        ) else {
            return core::ptr::null();
        };
        // SAFETY: `skb` is a live sk_buff (type invariants); `buf` has room
        // for `n` bytes.
        let r =
            unsafe { bindings::skb_copy_bits(self.skb.cast(), offset, buf.as_mut_ptr().cast(), n) };
        if r < 0 {
            core::ptr::null()
        } else {
            buf.as_ptr().cast()
        }
    }
}

/// An IPv6 address in a packet's IP header, read when asked: holding it
/// costs one register, not two.
///
/// # Invariants
///
/// `at` points to the 16 bytes of an address in the IP header of the
/// hook call's skb, readable for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Address6<'a> {
    at: *const u8,
    _hook: PhantomData<&'a ()>,
}

impl Address6<'_> {
    /// The address as two native-endian words of its 16 bytes.
    #[inline(always)]
    pub(crate) fn words(&self) -> [u64; 2] {
        // SAFETY: 16 readable bytes (type invariants).
        unsafe { [field::<u64>(self.at, 0), field::<u64>(self.at, 8)] }
    }
}

/// The current task when a packet was sent (`LOCAL_OUT`).
///
/// # Invariants
///
/// `task` is the current task of the hook call, alive for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Sender<'a> {
    task: *const u8,
    _hook: PhantomData<&'a ()>,
}

impl Sender<'_> {
    /// Its tgid (initial pid namespace).
    #[inline(always)]
    pub(crate) fn tgid(&self) -> i32 {
        // SAFETY: the current task (type invariants); its ids never change.
        unsafe { field::<i32>(self.task, l::task_struct__tgid) }
    }

    /// Its pid (initial pid namespace).
    #[inline(always)]
    pub(crate) fn pid(&self) -> i32 {
        // SAFETY: as above.
        unsafe { field::<i32>(self.task, l::task_struct__pid) }
    }

    /// Its start, ns since boot.
    #[inline(always)]
    pub(crate) fn thread_start(&self) -> u64 {
        // SAFETY: as above; set at fork.
        unsafe { field::<u64>(self.task, l::task_struct__start_boottime) }
    }

    /// Start of its thread-group leader, ns since boot.
    #[inline(always)]
    pub(crate) fn leader_start(&self) -> u64 {
        // SAFETY: the current task's leader cannot be freed while the hook
        // runs under `rcu_read_lock`; it may change on exec (`READ_ONCE`).
        unsafe {
            let leader = field_once::<*const u8>(self.task, l::task_struct__group_leader);
            field::<u64>(leader, l::task_struct__start_boottime)
        }
    }

    /// Whether it is exiting (`PF_EXITING`, which it sets itself).
    #[inline(always)]
    pub(crate) fn exiting(&self) -> bool {
        // SAFETY: the current task; `flags` read once.
        let flags = unsafe { field_once::<u32>(self.task, l::task_struct__flags) };
        flags & l::word(l::PF_EXITING) != 0
    }
}
