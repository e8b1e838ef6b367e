// SPDX-License-Identifier: GPL-2.0

//! `/proc/netatop`: global counters in the exact text format of netatop 3.2.2.

use kernel::seq_file::{seq_print, SeqFile};

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

impl Netatop {
    /// Prints `/proc/netatop`: the global counters with the widths of the
    /// original's `%12lu`, `%9lu`, `%8lu` and `%14s`.
    pub(crate) fn proc_show(&self, m: &SeqFile) {
        let s = self.snapshot();
        packets(m, "tcpsndpacks", s.tcpsndpacks, s.unident_tcpsndpacks);
        packets(m, "tcprcvpacks", s.tcprcvpacks, s.unident_tcprcvpacks);
        packets(m, "udpsndpacks", s.udpsndpacks, s.unident_udpsndpacks);
        packets(m, "udprcvpacks", s.udprcvpacks, s.unident_udprcvpacks);
        seq_print!(m, "\n");
        seq_print!(m, "icmpsndpacks: {:>12}\n", s.icmpsndpacks);
        seq_print!(m, "icmprcvpacks: {:>12}\n", s.icmprcvpacks);
        seq_print!(m, "\n");
        entries(m, "#sockinfo", s.nrs, s.nrs_ovf);
        entries(m, "#taskinfo", s.nrt, s.nrt_ovf);
        seq_print!(m, "#taskexit:    {:>12}\n", s.nre);
        seq_print!(m, "\n");
        seq_print!(m, "modversion: {:>14}\n", VERSION);
    }
}
