// SPDX-License-Identifier: GPL-2.0

//! The identity of a connection: a TCP quintuple or a local UDP port, each
//! within its network namespace, so identical tuples in two containers
//! never collide.

use crate::packet::{Address6, Packet, Ports, Proto, NFPROTO_IPV6};

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
/// `meta` is [`meta`] of the key's ports, family and kind. A UDP key's
/// remote port and family in `meta` are zero, and its addresses are not
/// part of its identity ([`SockKey::matches`] and [`SockKey::hash_with`]
/// skip them): they hold the last remote end seen ([`SockKey::note_peer`]):
/// `local[0]` its [`Peer`] tag, `remote` its IPv6 address (zero for IPv4),
/// `local[1]` 1 once a second remote end was seen; all zero before the
/// first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SockKey {
    /// Network namespace cookie.
    netns: u64,
    /// The local port, remote port (TCP), address family (`NFPROTO_*`;
    /// TCP) and kind, in one word: compared and hashed as one.
    meta: u64,
    /// Local address (TCP), as two native-endian words of its 16 bytes
    /// (IPv4: its 4 bytes as the first word's low 32 bits, the rest 0).
    local: [u64; 2],
    /// Remote address (TCP; UDP: the last remote end's, if IPv6), as
    /// `local`.
    remote: [u64; 2],
}

/// The remote end of a UDP packet, which its key does not name but keeps
/// the last of.
///
/// # Invariants
///
/// `tag` is the end's port (bits 32-47), family (48-55) and, for IPv4, its
/// address (0-31): never 0, and for IPv4 the whole end; `addr` is the IPv6
/// address, in the packet until compared (`None` for IPv4).
#[derive(Clone, Copy)]
pub(crate) struct Peer<'a> {
    tag: u64,
    addr: Option<Address6<'a>>,
}

/// A connection's ends as [`SockKey::ends`] gives them.
pub(crate) struct Ends {
    /// `NFPROTO_IPV4` or `NFPROTO_IPV6`; 0 for a UDP port that has seen no
    /// remote end.
    pub(crate) family: u8,
    /// Local port.
    pub(crate) lport: u16,
    /// Remote port (UDP: the last one seen).
    pub(crate) rport: u16,
    /// Local address as the IP header has it (IPv4: the first 4 bytes);
    /// zero for UDP (any address).
    pub(crate) laddr: [u8; 16],
    /// Remote address, as `laddr` (UDP: the last one seen).
    pub(crate) raddr: [u8; 16],
    /// UDP: more than one remote end was seen.
    pub(crate) peers: bool,
}

/// The ports, family and kind of a key in one word.
#[inline(always)]
const fn meta(lport: u16, rport: u16, family: u8, kind: Kind) -> u64 {
    ((lport as u64) << 48) | ((rport as u64) << 32) | ((family as u64) << 8) | kind as u64
}

impl SockKey {
    /// The key of a TCP packet with header `ports`.
    #[inline(always)]
    pub(crate) fn tcp(pkt: &Packet<'_>, ports: Ports<'_>) -> Self {
        let (src, dst) = (pkt.source_words(&ports), pkt.destination_words(&ports));
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
    pub(crate) fn udp(pkt: &Packet<'_>, ports: Ports<'_>) -> Self {
        let lport = if pkt.outgoing() {
            ports.source
        } else {
            ports.dest
        };
        // INVARIANT: `meta` of its fields, the TCP-only ones zero; no
        // remote end seen.
        SockKey {
            netns: pkt.netns(),
            meta: meta(lport, 0, 0, Kind::Udp),
            local: [0; 2],
            remote: [0; 2],
        }
    }

    /// The remote end of a UDP packet with header `ports`.
    #[inline(always)]
    pub(crate) fn udp_peer<'a>(pkt: &Packet<'a>, ports: Ports<'a>) -> Peer<'a> {
        let out = pkt.outgoing();
        let (port, addr) = if out {
            (ports.dest, pkt.destination6(&ports))
        } else {
            (ports.source, pkt.source6(&ports))
        };
        // IPv4's address is its words' first, low 32 bits; IPv6's is read
        // when compared.
        let v4 = match (addr, out) {
            (Some(_), _) => 0,
            (None, true) => pkt.destination_words(&ports)[0],
            (None, false) => pkt.source_words(&ports)[0],
        };
        // INVARIANT: the family is never 0.
        Peer {
            tag: (u64::from(pkt.family()) << 48) | (u64::from(port) << 32) | v4,
            addr,
        }
    }

    /// UDP: notes `peer` as the last remote end seen (see the type
    /// invariants); a different one than before marks the port as talking
    /// to more than one.
    #[inline(always)]
    pub(crate) fn note_peer(&mut self, peer: &Peer<'_>) {
        // The same tag is the same family, and for IPv4 the same end (the
        // IPv6 address aside, zero then).
        if self.local[0] != peer.tag || peer.addr.is_some_and(|a| self.remote != a.words()) {
            self.note_new_peer(peer);
        }
    }

    /// The key as six words (for [`crate::lane::Lane`]'s copy).
    #[inline(always)]
    pub(crate) fn words(&self) -> [u64; 6] {
        let [l0, l1] = self.local;
        let [r0, r1] = self.remote;
        [self.netns, self.meta, l0, l1, r0, r1]
    }

    /// The key whose [`Self::words`] are `w`.
    pub(crate) fn from_words(w: [u64; 6]) -> Self {
        let [netns, meta, l0, l1, r0, r1] = w;
        Self {
            netns,
            meta,
            local: [l0, l1],
            remote: [r0, r1],
        }
    }

    /// Whether this key (a packet's, with its UDP remote end `peer`) names
    /// the connection whose [`Self::words`] `stored` gives one by one, and
    /// for UDP whether `peer` is that connection's last remote end (so that
    /// [`Self::note_peer`] would change nothing).
    #[inline(always)]
    pub(crate) fn same_as(&self, peer: Option<&Peer<'_>>, stored: impl Fn(usize) -> u64) -> bool {
        if stored(0) != self.netns || stored(1) != self.meta {
            return false;
        }
        if self.is_udp() {
            // A UDP packet always has a peer: `None` is never a match.
            return peer.is_some_and(|p| {
                stored(2) == p.tag
                    && p.addr.is_none_or(|a| {
                        let [a0, a1] = a.words();
                        stored(4) == a0 && stored(5) == a1
                    })
            });
        }
        stored(2) == self.local[0]
            && stored(3) == self.local[1]
            && stored(4) == self.remote[0]
            && stored(5) == self.remote[1]
    }

    /// [`Self::note_peer`] for a remote end other than the last one.
    #[cold]
    fn note_new_peer(&mut self, peer: &Peer<'_>) {
        // INVARIANT: a tag is never 0, so a non-zero one is an end seen
        // before.
        if self.local[0] != 0 {
            self.local[1] = 1;
        }
        self.local[0] = peer.tag;
        self.remote = peer.addr.map_or([0; 2], |a| a.words());
    }

    /// Its network namespace's cookie.
    pub(crate) fn netns(&self) -> u64 {
        self.netns
    }

    /// The connection's ends (UDP: the local port, the last remote end).
    pub(crate) fn ends(&self) -> Ends {
        // The address bytes as the header had them (see `Packet`'s
        // address words: IPv4's 4 bytes are the first word's low 32 bits).
        let bytes = |family: u8, w: [u64; 2]| {
            let mut b = [0u8; 16];
            if family == NFPROTO_IPV6 {
                b[..8].copy_from_slice(&w[0].to_ne_bytes());
                b[8..].copy_from_slice(&w[1].to_ne_bytes());
            } else {
                // CAST: an IPv4 address is the low 32 bits.
                b[..4].copy_from_slice(&(w[0] as u32).to_ne_bytes());
            }
            b
        };
        if self.is_udp() {
            let tag = self.local[0];
            // CAST: bits 48-55 and 32-47 of the tag.
            let family = (tag >> 48) as u8;
            let addr = if family == NFPROTO_IPV6 {
                self.remote
            } else {
                // CAST: bits 0-31: the IPv4 address.
                [u64::from(tag as u32), 0]
            };
            Ends {
                family,
                lport: self.lport(),
                rport: (tag >> 32) as u16,
                laddr: [0; 16],
                raddr: bytes(family, addr),
                peers: self.local[1] != 0,
            }
        } else {
            // CAST: bits 8-15 of `meta`.
            let family = (self.meta >> 8) as u8;
            Ends {
                family,
                lport: self.lport(),
                // CAST: bits 32-47 of `meta`.
                rport: (self.meta >> 32) as u16,
                laddr: bytes(family, self.local),
                raddr: bytes(family, self.remote),
                peers: false,
            }
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

    /// The words hashed to pick the key's bucket: 1 for UDP (the namespace
    /// cookie in the low bits, the port in the top 16 of one word: distinct
    /// keys give distinct words while cookies, one per namespace ever made,
    /// stay below 2^48), 4 for TCP (the addresses folded into 2).
    #[inline(always)]
    pub(crate) fn hash_with(&self, hash: impl Fn(&[u64]) -> u64) -> u64 {
        if self.is_udp() {
            return hash(&[self.netns ^ self.meta]);
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
