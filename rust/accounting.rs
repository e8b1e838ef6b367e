// SPDX-License-Identifier: GPL-2.0

//! The per-packet algorithm: find the connection, bind it to the sender,
//! count.
//!
//! Runs in the netfilter hooks, in softirq or process context, under
//! `rcu_read_lock`: it never sleeps, allocates only with
//! `GFP_ATOMIC | __GFP_NOWARN`, and a failed allocation or a full table only
//! makes the packet "unidentified" (and counts an overflow; nothing is
//! printed).
//! The tables' locks disable bottom halves (see [`crate::bhlock`]).

use crate::glue;
use crate::packet::{Direction, Packet, Proto};
use crate::sockinfo::{SockInfo, SockKey};
use crate::state::Netatop;
use crate::taskinfo::{TaskId, TaskKind};

/// Nanoseconds per second.
const NSEC_PER_SEC: u64 = 1_000_000_000;

impl Netatop {
    /// Accounts one packet.
    pub(crate) fn packet(&self, pkt: &Packet) {
        let dir = pkt.direction();
        let proto = pkt.proto();
        let segs = pkt.segments();
        self.stats.packets(proto, dir, segs);
        let Some(key) = SockKey::of(pkt) else {
            return;
        };
        if pkt.irqs_off() {
            // The bucket locks are bottom-half locks (see `bhlock`): not
            // here. No stock kernel path gets here; count it, charge nobody.
            self.stats.unident(proto, dir, segs);
            return;
        }
        let bytes = pkt.wire_bytes();

        let (index, bucket) = self.socks.bucket(&key);
        let mut chain = bucket.chain.lock();
        let make = || self.socks.make(key, pkt.now, &self.idle, &self.stats);
        let Some((si, due)) = chain.find_or_insert(&key, make) else {
            // Table full or out of memory: nobody can ever be charged.
            self.stats.unident(proto, dir, segs);
            return;
        };
        si.lastact = pkt.now;
        if proto == Proto::Tcp && pkt.tcp_state != 0 && si.set_tcp_state(pkt.tcp_state) {
            // Ended (FIN or RST): the first to go if the table fills up.
            self.socks.note_ended(index);
        }
        if pkt.in_task() {
            self.bind(si, pkt, index);
        }
        match &si.group {
            Some(group) => {
                group.counters.add(proto, dir, segs, bytes);
                if let Some(thread) = &si.thread {
                    thread.counters.add(proto, dir, segs, bytes);
                }
            }
            None => si.add_unbound(dir, segs, bytes),
        }
        // A new entry or a TCP state change can make the entry collectable
        // earlier than its bucket said.
        due.lower(si.drop_at(&self.idle), &bucket.due_hint);
    }

    /// Binds `si` (in bucket `index`) to the sending process and thread of
    /// `pkt` (the last sender wins), moving the traffic seen so far to the
    /// process.
    fn bind(&self, si: &mut SockInfo, pkt: &Packet, index: usize) {
        let group = TaskId {
            id: pkt.tgid,
            kind: TaskKind::Group,
            start: pkt.leader_start,
        };
        if si.group.as_ref().is_none_or(|g| g.who != group) {
            let Some(g) = self.tasks.get_or_create(group, || {
                let names = glue::current_names();
                (
                    names.boot_sec + group.start / NSEC_PER_SEC,
                    names.leader_comm,
                )
            }) else {
                return;
            };
            let proto = si.key.proto();
            let u = core::mem::take(&mut si.unbound);
            g.counters
                .add(proto, Direction::Send, u.sndpacks, u.sndbytes);
            g.counters
                .add(proto, Direction::Receive, u.rcvpacks, u.rcvbytes);
            // The collector finds this connection when the process finishes.
            g.hints.note(index);
            si.group = Some(g);
            si.thread = None;
        }

        let thread = TaskId {
            id: pkt.pid,
            kind: TaskKind::Thread,
            start: pkt.thread_start,
        };
        if si.thread.as_ref().is_none_or(|t| t.who != thread) {
            si.thread = self.tasks.get_or_create(thread, || {
                let names = glue::current_names();
                (
                    names.boot_sec + thread.start / NSEC_PER_SEC,
                    names.thread_comm,
                )
            });
            if let Some(t) = &si.thread {
                t.hints.note(index);
            }
        }
    }
}
