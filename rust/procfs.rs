// SPDX-License-Identifier: GPL-2.0

//! `/proc/netatop`: global counters in the exact text format of netatop
//! 3.2.2, then netatop-rs's own lines: the entries refused, by cause.

use kernel::seq_file::{seq_print, SeqFile};

use crate::limits::Refused;
use crate::packet::{Direction, Proto};
use crate::state::Netatop;
use crate::uapi::VERSION;

/// `<name>:  %12lu (unident: %9lu)`
fn packets(m: &SeqFile, name: &str, packs: u64, unident: u64) {
    seq_print!(m, "{}:  {:>12} (unident: {:>9})\n", name, packs, unident);
}

/// `<name>:    %12lu (overflow: %8lu)`
fn entries(m: &SeqFile, name: &str, count: u64, overflow: u64) {
    seq_print!(
        m,
        "{}:    {:>12} (overflow: {:>8})\n",
        name,
        count,
        overflow
    );
}

/// `#<name> full:  %12lu (nomem: %8lu)`: entries refused because the table
/// was full, and because their allocation failed.
fn refused(m: &SeqFile, name: &str, r: Refused) {
    seq_print!(
        m,
        "#{} full:  {:>12} (nomem: {:>8})\n",
        name,
        r.full,
        r.nomem
    );
}

impl Netatop {
    /// Prints `/proc/netatop`: the global counters with the widths of the
    /// original's `%12lu`, `%9lu`, `%8lu` and `%14s`.
    pub(crate) fn proc_show(&self, m: &SeqFile) {
        let s = self.snapshot();
        let (tcp, udp, icmp) = (Proto::Tcp.index(), Proto::Udp.index(), Proto::Icmp.index());
        let (snd, rcv) = (Direction::Send.index(), Direction::Receive.index());
        packets(m, "tcpsndpacks", s.packets[tcp][snd], s.unident[tcp][snd]);
        packets(m, "tcprcvpacks", s.packets[tcp][rcv], s.unident[tcp][rcv]);
        packets(m, "udpsndpacks", s.packets[udp][snd], s.unident[udp][snd]);
        packets(m, "udprcvpacks", s.packets[udp][rcv], s.unident[udp][rcv]);
        seq_print!(m, "\n");
        seq_print!(m, "icmpsndpacks: {:>12}\n", s.packets[icmp][snd]);
        seq_print!(m, "icmprcvpacks: {:>12}\n", s.packets[icmp][rcv]);
        seq_print!(m, "\n");
        entries(m, "#sockinfo", s.sockinfo, s.sockinfo_refused.total());
        entries(m, "#taskinfo", s.taskinfo, s.taskinfo_refused.total());
        seq_print!(m, "#taskexit:    {:>12}\n", s.exits);
        seq_print!(m, "\n");
        seq_print!(m, "modversion: {:>14}\n", VERSION);
        // netatop-rs's own: why entries were refused ("overflow" above is
        // their sum).
        seq_print!(m, "\n");
        refused(m, "sockinfo", s.sockinfo_refused);
        refused(m, "taskinfo", s.taskinfo_refused);
    }
}
