// SPDX-License-Identifier: GPL-2.0

//! The identity of a connection: a TCP quintuple or a local UDP port, each
//! within its network namespace, so identical tuples in two containers
//! never collide.

use crate::packet::{Packet, Ports, Proto};

/// The kind of connection a key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    /// A TCP connection: the whole quintuple.
    Tcp = 1,
    /// A local UDP port (any address, any family, as in netatop 3.2.2):
    /// the addresses, the remote port and the family are 0.
    Udp = 2,
}

/// Identity of a connection.
///
/// # Invariants
///
/// `meta` is [`meta`] of the key's ports, family and kind; a UDP key's
/// remote port, family, `local` and `remote` are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SockKey {
    /// Network namespace cookie.
    netns: u64,
    /// The local port, remote port (TCP), address family (`NFPROTO_*`;
    /// TCP) and kind, in one word: compared and hashed as one.
    meta: u64,
    /// Local address (TCP), as two native-endian words of its 16 bytes
    /// (IPv4: the first 4, the rest 0).
    local: [u64; 2],
    /// Remote address (TCP), as `local`.
    remote: [u64; 2],
}

/// The ports, family and kind of a key in one word.
#[inline(always)]
const fn meta(lport: u16, rport: u16, family: u8, kind: Kind) -> u64 {
    ((lport as u64) << 48) | ((rport as u64) << 32) | ((family as u64) << 8) | kind as u64
}

impl SockKey {
    /// The key of a TCP packet with header `ports`.
    #[inline(always)]
    pub(crate) fn tcp(pkt: &Packet<'_>, ports: Ports) -> Self {
        let (src, dst) = (pkt.source_words(), pkt.destination_words());
        let (sport, dport) = (ports.source, ports.dest);
        let (local, remote, lport, rport) = if pkt.outgoing() {
            (src, dst, sport, dport)
        } else {
            (dst, src, dport, sport)
        };
        // INVARIANT: `meta` of its fields.
        SockKey {
            netns: pkt.netns(),
            meta: meta(lport, rport, pkt.family(), Kind::Tcp),
            local,
            remote,
        }
    }

    /// The key of a UDP packet with header `ports`: its local port.
    #[inline(always)]
    pub(crate) fn udp(pkt: &Packet<'_>, ports: Ports) -> Self {
        let lport = if pkt.outgoing() {
            ports.source
        } else {
            ports.dest
        };
        // INVARIANT: `meta` of its fields, the TCP-only ones zero.
        SockKey {
            netns: pkt.netns(),
            meta: meta(lport, 0, 0, Kind::Udp),
            local: [0; 2],
            remote: [0; 2],
        }
    }

    /// Whether it is a UDP key (else TCP).
    #[inline(always)]
    fn is_udp(&self) -> bool {
        self.meta & 0xff == Kind::Udp as u64
    }

    /// The local port.
    fn lport(&self) -> u16 {
        // CAST: the top 16 bits.
        (self.meta >> 48) as u16
    }

    /// Whether `self` and `other` name the same connection: `==`, with the
    /// addresses compared only for TCP (a UDP key's are zero).
    #[inline(always)]
    pub(crate) fn matches(&self, other: &SockKey) -> bool {
        self.netns == other.netns
            && self.meta == other.meta
            && (self.is_udp() || (self.local == other.local && self.remote == other.remote))
    }

    /// The words hashed to pick the key's bucket: 2 for UDP, 4 for TCP
    /// (the addresses folded into 2).
    #[inline(always)]
    pub(crate) fn hash_with(&self, hash: impl Fn(&[u64]) -> u64) -> u64 {
        if self.is_udp() {
            return hash(&[self.netns, self.meta]);
        }
        hash(&[
            self.netns,
            self.meta,
            self.local[0] ^ self.remote[0].rotate_left(32),
            self.local[1] ^ self.remote[1].rotate_left(32),
        ])
    }

    /// The protocol whose counters this connection feeds.
    pub(crate) fn proto(&self) -> Proto {
        if self.is_udp() {
            Proto::Udp
        } else {
            Proto::Tcp
        }
    }

    /// The local port of a UDP key (`None` for TCP).
    pub(crate) fn udp_port(&self) -> Option<u16> {
        self.is_udp().then(|| self.lport())
    }
}
