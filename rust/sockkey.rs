// SPDX-License-Identifier: GPL-2.0

//! The identity of a connection: a TCP quintuple or a local UDP port, each
//! within its network namespace, so identical tuples in two containers
//! never collide.

use crate::packet::{Packet, Proto};

/// Identity of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SockKey {
    /// A TCP connection.
    Tcp {
        /// Network namespace cookie.
        netns: u64,
        /// Local address.
        local: [u8; 16],
        /// Remote address.
        remote: [u8; 16],
        /// Local port.
        lport: u16,
        /// Remote port.
        rport: u16,
        /// Address family (`NFPROTO_*`).
        family: u8,
    },
    /// A local UDP port (any address, any family, as in netatop 3.2.2).
    Udp {
        /// Network namespace cookie.
        netns: u64,
        /// Local port.
        lport: u16,
    },
}

impl SockKey {
    /// The key of a packet whose class is `proto` (its [`Packet::proto`]):
    /// `None` unless TCP or UDP (with a readable header).
    #[inline]
    pub(crate) fn of(pkt: &Packet<'_>, proto: Proto) -> Option<Self> {
        let out = pkt.outgoing();
        let (sport, dport) = (pkt.source_port(), pkt.dest_port());
        match proto {
            Proto::Tcp => {
                let (src, dst) = (pkt.source(), pkt.destination());
                let (local, remote) = if out { (src, dst) } else { (dst, src) };
                let (lport, rport) = if out {
                    (sport?, dport?)
                } else {
                    (dport?, sport?)
                };
                Some(SockKey::Tcp {
                    netns: pkt.netns(),
                    local,
                    remote,
                    lport,
                    rport,
                    family: pkt.family(),
                })
            }
            Proto::Udp => Some(SockKey::Udp {
                netns: pkt.netns(),
                lport: if out { sport? } else { dport? },
            }),
            Proto::Icmp | Proto::Other => None,
        }
    }

    /// The words hashed to pick the key's bucket (the first `n`).
    pub(crate) fn words(&self) -> ([u64; 4], usize) {
        match *self {
            SockKey::Tcp {
                netns,
                local,
                remote,
                lport,
                rport,
                family,
            } => {
                let half = |a: [u8; 16], i: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&a[i..i + 8]);
                    u64::from_ne_bytes(w)
                };
                let words = [
                    netns,
                    half(local, 0) ^ half(remote, 0).rotate_left(32),
                    half(local, 8) ^ half(remote, 8).rotate_left(32),
                    (u64::from(lport) << 32) | (u64::from(rport) << 16) | u64::from(family),
                ];
                (words, 4)
            }
            SockKey::Udp { netns, lport } => ([netns, u64::from(lport) | (1 << 40), 0, 0], 2),
        }
    }

    /// The protocol whose counters this connection feeds.
    pub(crate) fn proto(&self) -> Proto {
        match self {
            SockKey::Tcp { .. } => Proto::Tcp,
            SockKey::Udp { .. } => Proto::Udp,
        }
    }
}
