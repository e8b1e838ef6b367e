//! Connections: `netatop connections`, the connections of `netatop show`,
//! and `netatop top --connections` (the `c` key).
//!
//! Each listing is one `NETATOP_GETCNT_CONNS` call (every TCP connection
//! and every local UDP port the module tracks, with the process it is
//! charged to and its own counters) and one `NETATOP_GETCNT_TASKS` call for
//! the processes' names (`/proc/PID/comm` for a process it does not list).
//! In the live table a connection's rates are differences between two
//! refreshes, as in the process table; a connection is the same between
//! two samples if its network namespace, protocol and local end are, and
//! for TCP its remote end (a UDP port's remote end is only the last one
//! it talked to).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use netatop::{Connection, Family, ProcCounters, Protocol, TaskCount, TcpState};
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::format::{fit, human_bytes, iso_time, kb_rate, pkt_rate};
use crate::procfs::Proc;
use crate::rates::{summarise, GlobalRates, Rates};
use crate::sample::{now_secs, CounterSource};
use crate::table::{col, global_line, interval_text, line_of, totals_line, Column, SortKey, Table};

/// The names of the processes connections are charged to.
pub struct Owners {
    /// The module's live processes: start time and command, by pid.
    by_pid: HashMap<i32, (u64, String)>,
    proc: Proc,
}

impl Owners {
    /// The module's process list (none from a module without
    /// `NETATOP_GETCNT_TASKS`), and `proc` for the others.
    pub fn load<S: CounterSource>(source: &S, proc: &Proc) -> Result<Owners> {
        let by_pid = match source.tasks() {
            Ok(snap) => snap
                .entries
                .iter()
                .map(|p| (p.id, (p.btime, p.command())))
                .collect(),
            Err(netatop::Error::Unsupported(_)) => HashMap::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(Owners {
            by_pid,
            proc: proc.clone(),
        })
    }

    /// The command of process `pid` that started at `btime`: the module's
    /// name for it, or `/proc/PID/comm` if the module does not list the
    /// pid; `None` for no process (0), for a pid the module lists with
    /// another start time (reused), and for a pid that is gone.
    pub fn name(&self, pid: i32, btime: u64) -> Option<String> {
        if pid == 0 {
            return None;
        }
        match self.by_pid.get(&pid) {
            Some((b, command)) if *b == btime => Some(command.clone()),
            Some(_) => None,
            None => self.proc.comm(pid),
        }
    }
}

/// One connection as `netatop connections` (and `show`) prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnRecord {
    /// The process it is charged to; 0: none (nothing local sent on it).
    pub pid: i32,
    /// That process's command name, if known.
    pub comm: Option<String>,
    /// `tcp` or `udp`.
    pub protocol: Protocol,
    /// `ipv4` or `ipv6`; UDP: of the last remote end (`null`: none seen).
    pub family: Option<Family>,
    /// The local end, `addr:port` (UDP: any address of the family).
    pub local: SocketAddr,
    /// The remote end (UDP: the last one; `null`: none seen).
    pub remote: Option<SocketAddr>,
    /// TCP: the last state seen (`null` if unknown); UDP: `null`.
    pub state: Option<TcpState>,
    /// Packets sent.
    pub sent_packets: u64,
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Packets received.
    pub received_packets: u64,
    /// Bytes received.
    pub received_bytes: u64,
    /// The thread it is charged to; 0: none.
    pub tid: i32,
    /// The process's start time, seconds since the epoch; 0: none.
    pub btime: u64,
    /// The network namespace's cookie.
    pub netns: u64,
    /// UDP: more than one remote end was seen.
    pub peers: bool,
}

impl ConnRecord {
    /// The record of `c`, its owner named by `owners`.
    pub fn new(c: &Connection, owners: &Owners) -> Self {
        Self {
            pid: c.pid,
            comm: owners.name(c.pid, c.btime),
            protocol: c.protocol,
            family: c.family,
            local: c.local,
            remote: c.remote,
            state: c.state,
            sent_packets: c.sent_packets,
            sent_bytes: c.sent_bytes,
            received_packets: c.received_packets,
            received_bytes: c.received_bytes,
            tid: c.tid,
            btime: c.btime,
            netns: c.netns,
            peers: c.peers_many,
        }
    }

    /// Bytes sent and received.
    pub fn total_bytes(&self) -> u64 {
        self.sent_bytes.saturating_add(self.received_bytes)
    }

    /// The counters as a process's, in the protocol's four fields.
    pub fn counters(&self) -> TaskCount {
        let (a, b, c, d) = (
            self.sent_packets,
            self.sent_bytes,
            self.received_packets,
            self.received_bytes,
        );
        match self.protocol {
            Protocol::Tcp => TaskCount::from_array([a, b, c, d, 0, 0, 0, 0]),
            Protocol::Udp => TaskCount::from_array([0, 0, 0, 0, a, b, c, d]),
        }
    }

    /// What the STATE column says: the TCP state (`-` if unknown); for
    /// UDP, `peers` if it talked to more than one remote end, else `-`.
    pub fn state_text(&self) -> &'static str {
        match (self.protocol, self.state) {
            (Protocol::Tcp, Some(s)) => s.name(),
            (Protocol::Udp, _) if self.peers => "peers",
            _ => "-",
        }
    }

    /// The PID column: `-` for none.
    pub fn pid_text(&self) -> String {
        match self.pid {
            0 => "-".to_owned(),
            p => p.to_string(),
        }
    }

    /// The COMMAND column: `-` if unknown.
    pub fn comm_text(&self) -> String {
        fit(self.comm.as_deref().unwrap_or("-"), 15)
    }

    /// The REMOTE column: `-` for none.
    pub fn remote_text(&self) -> String {
        self.remote
            .map_or_else(|| "-".to_owned(), |r| r.to_string())
    }
}

/// The order of a listing: by process (unowned last), protocol, local and
/// remote end, namespace.
fn listing_order(a: &ConnRecord, b: &ConnRecord) -> std::cmp::Ordering {
    (a.pid == 0, a.pid, a.protocol, a.local, a.remote, a.netns).cmp(&(
        b.pid == 0,
        b.pid,
        b.protocol,
        b.local,
        b.remote,
        b.netns,
    ))
}

/// Every connection the module tracks, as records in listing order;
/// `None` from a module without `NETATOP_GETCNT_CONNS`.
pub fn connection_records<S: CounterSource>(
    source: &S,
    proc: &Proc,
) -> Result<Option<Vec<ConnRecord>>> {
    let snap = match source.connections() {
        Ok(s) => s,
        Err(netatop::Error::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let owners = Owners::load(source, proc)?;
    let mut records = snap
        .connections()?
        .iter()
        .map(|c| ConnRecord::new(c, &owners))
        .collect::<Vec<_>>();
    records.sort_by(listing_order);
    Ok(Some(records))
}

/// The text table of `records`: a header, then one line per connection;
/// with `owner`, the PID and COMMAND columns first. The address and state
/// columns are as wide as their longest value; each line starts with
/// `indent`.
pub fn conn_table(records: &[ConnRecord], owner: bool, indent: &str) -> String {
    let width = |title: &str, f: &dyn Fn(&ConnRecord) -> usize| {
        records.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let lw = width("LOCAL", &|r| r.local.to_string().len());
    let rw = width("REMOTE", &|r| r.remote_text().len());
    let sw = width("STATE", &|r| r.state_text().len());
    let line = |cells: [&str; 10]| {
        let mut s = String::from(indent);
        if owner {
            let _ = write!(s, "{:>7} {:<15} ", cells[0], cells[1]);
        }
        let _ = write!(
            s,
            "{:<5} {:<lw$} {:<rw$} {:<sw$} {:>10} {:>12} {:>10} {:>12}",
            cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8], cells[9]
        );
        s.push('\n');
        s
    };
    let mut s = line([
        "PID", "COMMAND", "PROTO", "LOCAL", "REMOTE", "STATE", "SNDPKTS", "SNDBYTES", "RCVPKTS",
        "RCVBYTES",
    ]);
    for r in records {
        s.push_str(&line([
            &r.pid_text(),
            &r.comm_text(),
            r.protocol.name(),
            &r.local.to_string(),
            &r.remote_text(),
            r.state_text(),
            &r.sent_packets.to_string(),
            &r.sent_bytes.to_string(),
            &r.received_packets.to_string(),
            &r.received_bytes.to_string(),
        ]));
    }
    s
}

/// `netatop connections`: every connection (of process `pid` only, if
/// given), as a table or a JSON array. A `pid` that has no connection
/// and no process gives exit status 5.
pub fn connections<S: CounterSource>(
    source: &S,
    proc: &Proc,
    pid: Option<i32>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let Some(mut records) = connection_records(source, proc)? else {
        return Err(netatop::Error::Unsupported(netatop::Command::GetcntConns.name()).into());
    };
    if let Some(pid) = pid {
        records.retain(|r| r.pid == pid);
        if records.is_empty() && !proc.exists(pid) {
            return Err(CliError::NoSuchProcess(pid));
        }
    }
    let text = if json {
        let mut t =
            serde_json::to_string_pretty(&records).map_err(|e| CliError::Output(e.into()))?;
        t.push('\n');
        t
    } else {
        conn_table(&records, true, "")
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)?;
    out.flush().map_err(CliError::Output)
}

// ------------------------------------------------------------------ top

/// The connections the module tracks, at one moment.
#[derive(Clone, Debug)]
pub struct ConnSample {
    /// When the sample was started (for rates).
    pub at: Instant,
    /// The same moment, seconds since the epoch (for display).
    pub wall: u64,
    /// The connections, in listing order.
    pub conns: Vec<ConnRecord>,
    /// The sockinfo overflow counter (connections not tracked).
    pub overflow: u64,
    /// `/proc/netatop` at that moment, if readable.
    pub global: Option<ProcCounters>,
}

/// Takes one sample: one `NETATOP_GETCNT_CONNS` call and the processes'
/// names.
pub fn sample_connections<S: CounterSource>(source: &S, proc: &Proc) -> Result<ConnSample> {
    let at = Instant::now();
    let wall = now_secs();
    let snap = source.connections()?;
    let owners = Owners::load(source, proc)?;
    let mut conns: Vec<ConnRecord> = snap
        .connections()?
        .iter()
        .map(|c| ConnRecord::new(c, &owners))
        .collect();
    conns.sort_by(listing_order);
    Ok(ConnSample {
        at,
        wall,
        conns,
        overflow: snap.overflow,
        global: source.global(),
    })
}

/// What makes a connection the same one in two samples: its namespace,
/// protocol and local port, and for TCP its local address and remote end
/// (a UDP entry is a port; its remote end is the last one it talked to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct ConnKey {
    netns: u64,
    protocol: Protocol,
    lport: u16,
    laddr: Option<IpAddr>,
    remote: Option<SocketAddr>,
}

fn conn_key(r: &ConnRecord) -> ConnKey {
    let tcp = r.protocol == Protocol::Tcp;
    ConnKey {
        netns: r.netns,
        protocol: r.protocol,
        lport: r.local.port(),
        laddr: tcp.then(|| r.local.ip()),
        remote: if tcp { r.remote } else { None },
    }
}

/// Per-second rates of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ConnRates {
    /// Bytes sent per second.
    pub sent_bytes_per_sec: f64,
    /// Packets sent per second.
    pub sent_packets_per_sec: f64,
    /// Bytes received per second.
    pub received_bytes_per_sec: f64,
    /// Packets received per second.
    pub received_packets_per_sec: f64,
    /// Bytes sent and received per second.
    pub total_bytes_per_sec: f64,
    /// Packets sent and received per second.
    pub total_packets_per_sec: f64,
}

impl ConnRates {
    /// The rates of `now - before` over `secs` seconds (`before`'s counters
    /// no larger than `now`'s).
    fn between(before: [u64; 4], now: [u64; 4], secs: f64) -> Self {
        // CAST: rates for display.
        let d = |i: usize| (now[i] - before[i]) as f64 / secs;
        ConnRates {
            sent_packets_per_sec: d(0),
            sent_bytes_per_sec: d(1),
            received_packets_per_sec: d(2),
            received_bytes_per_sec: d(3),
            total_bytes_per_sec: d(1) + d(3),
            total_packets_per_sec: d(0) + d(2),
        }
    }

    /// The same as a process's rates, in the protocol's fields.
    fn as_rates(&self, protocol: Protocol) -> Rates {
        let (sb, sp, rb, rp) = (
            self.sent_bytes_per_sec,
            self.sent_packets_per_sec,
            self.received_bytes_per_sec,
            self.received_packets_per_sec,
        );
        let mut r = match protocol {
            Protocol::Tcp => Rates {
                tcp_snd_bytes_per_sec: sb,
                tcp_snd_packets_per_sec: sp,
                tcp_rcv_bytes_per_sec: rb,
                tcp_rcv_packets_per_sec: rp,
                ..Rates::default()
            },
            Protocol::Udp => Rates {
                udp_snd_bytes_per_sec: sb,
                udp_snd_packets_per_sec: sp,
                udp_rcv_bytes_per_sec: rb,
                udp_rcv_packets_per_sec: rp,
                ..Rates::default()
            },
        };
        r.total_bytes_per_sec = self.total_bytes_per_sec;
        r.total_packets_per_sec = self.total_packets_per_sec;
        r
    }
}

fn counts(r: &ConnRecord) -> [u64; 4] {
    [
        r.sent_packets,
        r.sent_bytes,
        r.received_packets,
        r.received_bytes,
    ]
}

/// One line of the connection table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConnRow {
    /// The connection (its fields are the row's).
    #[serde(flatten)]
    pub conn: ConnRecord,
    /// Rates over the last interval; `None` in the baseline sample.
    pub rates: Option<ConnRates>,
}

/// Everything one refresh of `netatop top --connections` shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnView {
    /// When the sample was taken, seconds since the epoch.
    pub time: u64,
    /// Seconds since the previous sample; `None` for the baseline.
    pub interval: Option<f64>,
    /// One row per connection (see [`sort_conn_rows`]).
    pub rows: Vec<ConnRow>,
    /// Sum of the rows' rates, by protocol; `None` for the baseline.
    pub totals: Option<Rates>,
    /// Sum of the rows' counters, by protocol.
    pub cumulative: TaskCount,
    /// Rates of `/proc/netatop`; `None` for the baseline or when unreadable.
    pub global: Option<GlobalRates>,
    /// The sockinfo overflow counter.
    pub overflow: u64,
}

impl ConnView {
    /// The view of sample `now`, with rates against `before` when given. A
    /// connection new since `before`, or whose counters went backwards (a
    /// new entry for the same ends, or the module reloaded), counts from
    /// zero.
    pub fn build(before: Option<&ConnSample>, now: &ConnSample) -> ConnView {
        let secs = before
            .map(|b| now.at.saturating_duration_since(b.at).as_secs_f64())
            .filter(|&s| s > 0.0);
        let earlier: HashMap<ConnKey, [u64; 4]> = before
            .map(|b| b.conns.iter().map(|c| (conn_key(c), counts(c))).collect())
            .unwrap_or_default();
        let rows: Vec<ConnRow> = now
            .conns
            .iter()
            .map(|c| {
                let now_counts = counts(c);
                let rates = secs.map(|s| {
                    let base = earlier
                        .get(&conn_key(c))
                        .copied()
                        .filter(|e| e.iter().zip(now_counts).all(|(&a, b)| a <= b))
                        .unwrap_or([0; 4]);
                    ConnRates::between(base, now_counts, s)
                });
                ConnRow {
                    conn: c.clone(),
                    rates,
                }
            })
            .collect();
        let split: Vec<(Option<Rates>, TaskCount)> = rows
            .iter()
            .map(|r| {
                (
                    r.rates.map(|x| x.as_rates(r.conn.protocol)),
                    r.conn.counters(),
                )
            })
            .collect();
        let (totals, cumulative, global) = summarise(
            split.iter().map(|(r, c)| (r.as_ref(), *c)),
            before.and_then(|b| b.global.as_ref()),
            now.global.as_ref(),
            secs,
        );
        ConnView {
            time: now.wall,
            interval: secs,
            rows,
            totals,
            cumulative,
            global,
            overflow: now.overflow,
        }
    }
}

/// The numeric value of a row for `key` (rates unknown: -1; text keys: 0).
fn conn_value(key: SortKey, row: &ConnRow) -> f64 {
    let rate = |f: fn(&ConnRates) -> f64| row.rates.as_ref().map_or(-1.0, f);
    match key {
        SortKey::Snd | SortKey::TcpSnd | SortKey::UdpSnd => rate(|r| r.sent_bytes_per_sec),
        SortKey::SndPkt | SortKey::TcpSndPkt | SortKey::UdpSndPkt => {
            rate(|r| r.sent_packets_per_sec)
        }
        SortKey::Rcv | SortKey::TcpRcv | SortKey::UdpRcv => rate(|r| r.received_bytes_per_sec),
        SortKey::RcvPkt | SortKey::TcpRcvPkt | SortKey::UdpRcvPkt => {
            rate(|r| r.received_packets_per_sec)
        }
        SortKey::Total => rate(|r| r.total_bytes_per_sec),
        // CAST: ordering only (see SortKey::value_of).
        SortKey::Cumulative => row.conn.total_bytes() as f64,
        _ => 0.0,
    }
}

/// Sorts connection rows by `key`: pid (unowned last), command, protocol,
/// state, local and remote end ascending, every other column descending
/// (biggest first); ties by all bytes since the connection was first seen,
/// descending, then in listing order. Rows without rates (baseline) sort
/// after any rate.
pub fn sort_conn_rows(rows: &mut [ConnRow], key: SortKey) {
    let tie = |a: &ConnRow, b: &ConnRow| {
        b.conn
            .total_bytes()
            .cmp(&a.conn.total_bytes())
            .then_with(|| listing_order(&a.conn, &b.conn))
    };
    rows.sort_by(|a, b| {
        let (x, y) = (&a.conn, &b.conn);
        let first = match key {
            SortKey::Pid | SortKey::Procs => (x.pid == 0, x.pid).cmp(&(y.pid == 0, y.pid)),
            SortKey::Command | SortKey::Path => x.comm_text().cmp(&y.comm_text()),
            SortKey::Proto => x.protocol.cmp(&y.protocol),
            SortKey::State => x.state_text().cmp(y.state_text()),
            SortKey::Local => x.local.cmp(&y.local),
            SortKey::Remote => x.remote.cmp(&y.remote),
            _ => conn_value(key, b).total_cmp(&conn_value(key, a)),
        };
        first.then_with(|| tie(a, b))
    });
}

/// The columns of the connection table: process, command, protocol, the
/// four rates, all bytes per second and since first seen, then state and
/// the two ends, which take the rest of the line (width 0; in batch mode
/// the local end is as wide as the longest).
pub const CONN_COLUMNS: [Column; 12] = [
    col("PID", 7, true, SortKey::Pid),
    col("COMMAND", 15, false, SortKey::Command),
    col("PROTO", 5, false, SortKey::Proto),
    col("SNDKB/s", 9, true, SortKey::Snd),
    col("SNDPK/s", 9, true, SortKey::SndPkt),
    col("RCVKB/s", 9, true, SortKey::Rcv),
    col("RCVPK/s", 9, true, SortKey::RcvPkt),
    col("TOTKB/s", 9, true, SortKey::Total),
    col("BYTES", 8, true, SortKey::Cumulative),
    col("STATE", 11, false, SortKey::State),
    col("LOCAL", 0, false, SortKey::Local),
    col("REMOTE", 0, false, SortKey::Remote),
];

/// The text of each column for one row.
pub fn conn_cells(row: &ConnRow) -> [String; 12] {
    let r = row.rates.as_ref();
    let kb = |f: fn(&ConnRates) -> f64| kb_rate(r.map(f));
    let pk = |f: fn(&ConnRates) -> f64| pkt_rate(r.map(f));
    let c = &row.conn;
    [
        c.pid_text(),
        c.comm_text(),
        c.protocol.name().to_owned(),
        kb(|r| r.sent_bytes_per_sec),
        pk(|r| r.sent_packets_per_sec),
        kb(|r| r.received_bytes_per_sec),
        pk(|r| r.received_packets_per_sec),
        kb(|r| r.total_bytes_per_sec),
        human_bytes(c.total_bytes()),
        c.state_text().to_owned(),
        c.local.to_string(),
        c.remote_text(),
    ]
}

/// The summary lines above the connection table.
pub fn conn_summary_lines(view: &ConnView, sort: SortKey) -> [String; 3] {
    let mut first = format!(
        "netatop top  {}  {}  {} connections, {} since first seen  sort: {}",
        iso_time(view.time),
        interval_text(view.interval),
        view.rows.len(),
        human_bytes(view.cumulative.total_bytes()),
        sort.name()
    );
    if view.overflow > 0 {
        let _ = write!(first, "  ({} connections not tracked)", view.overflow);
    }
    [
        first,
        totals_line(view.totals.as_ref()),
        global_line(view.global.as_ref()),
    ]
}

/// The whole batch-mode text of one refresh of the connection table.
pub fn render_conn_text(view: &ConnView, sort: SortKey) -> String {
    let mut s = String::new();
    for l in conn_summary_lines(view, sort) {
        s.push_str(&l);
        s.push('\n');
    }
    s.push('\n');
    let cells: Vec<[String; 12]> = view.rows.iter().map(conn_cells).collect();
    // The local end as wide as its longest value; the remote end last.
    let mut columns = CONN_COLUMNS;
    columns[10].width = cells
        .iter()
        .map(|c| c[10].len())
        .max()
        .unwrap_or(0)
        .max(columns[10].title.len());
    let titles: Vec<&str> = columns.iter().map(|c| c.title).collect();
    s.push_str(&line_of(&titles, &columns));
    s.push('\n');
    for c in &cells {
        let _ = writeln!(s, "{}", line_of(c, &columns));
    }
    s
}

impl Table for ConnView {
    fn summary(&self, sort: SortKey) -> [String; 3] {
        conn_summary_lines(self, sort)
    }
    fn columns(&self) -> &'static [Column] {
        &CONN_COLUMNS
    }
    fn title(&self, i: usize) -> &'static str {
        CONN_COLUMNS[i].title
    }
    fn keys(&self) -> &'static [SortKey] {
        &SortKey::CONNECTIONS
    }
    fn row_count(&self) -> usize {
        self.rows.len()
    }
    fn row_cells(&self, i: usize) -> Vec<String> {
        conn_cells(&self.rows[i]).to_vec()
    }
    fn sort(&mut self, key: SortKey) {
        sort_conn_rows(&mut self.rows, key);
    }
    fn text(&self, sort: SortKey) -> String {
        render_conn_text(self, sort)
    }
    fn json(&self, sort: SortKey) -> serde_json::Result<String> {
        serde_json::to_string(&ConnTopJson::new(self, sort))
    }
}

/// The JSON document of one refresh (`netatop top --connections --json`).
#[derive(Debug, Serialize)]
pub struct ConnTopJson<'a> {
    /// When the sample was taken, seconds since the epoch.
    pub time: u64,
    /// The same as ISO 8601 UTC.
    pub time_iso: String,
    /// Seconds since the previous sample.
    pub interval: Option<f64>,
    /// The sort order of `connections`.
    pub sort: SortKey,
    /// Sum of the connections' rates, by protocol.
    pub totals: Option<&'a Rates>,
    /// Sum of the connections' counters, by protocol.
    pub cumulative: &'a TaskCount,
    /// Rates of the module's global counters, unidentified traffic included.
    pub global: Option<&'a GlobalRates>,
    /// The sockinfo overflow counter.
    pub overflow: u64,
    /// The connections, sorted.
    pub connections: &'a [ConnRow],
}

impl<'a> ConnTopJson<'a> {
    /// The document of a view whose rows are sorted by `sort`.
    pub fn new(view: &'a ConnView, sort: SortKey) -> Self {
        Self {
            time: view.time,
            time_iso: iso_time(view.time),
            interval: view.interval,
            sort,
            totals: view.totals.as_ref(),
            cumulative: &view.cumulative,
            global: view.global.as_ref(),
            overflow: view.overflow,
            connections: &view.rows,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sample::tests::{proc_info, FakeModule};
    use netatop::{ConnInfo, Snapshot};
    use std::time::Duration;

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&a);
        b
    }

    fn v6_loopback() -> [u8; 16] {
        let mut b = [0u8; 16];
        b[15] = 1;
        b
    }

    /// A TCP connection over 127.0.0.1 of `pid`, counters `c`.
    pub(crate) fn tcp(pid: i32, lport: u16, rport: u16, c: [u64; 4]) -> ConnInfo {
        ConnInfo {
            netns: 4096,
            tgid: pid,
            pid,
            btime: 1_717_200_000,
            proto: 6,
            family: 2,
            state: 1,
            flags: 0,
            lport,
            rport,
            laddr: v4([127, 0, 0, 1]),
            raddr: v4([127, 0, 0, 1]),
            sndpacks: c[0],
            sndbytes: c[1],
            rcvpacks: c[2],
            rcvbytes: c[3],
        }
    }

    /// A UDP port of `pid`, its last remote end [::1]:`rport` (none if 0).
    pub(crate) fn udp(pid: i32, lport: u16, rport: u16, c: [u64; 4]) -> ConnInfo {
        ConnInfo {
            proto: 17,
            family: if rport == 0 { 0 } else { 10 },
            state: 0,
            laddr: [0; 16],
            raddr: if rport == 0 { [0; 16] } else { v6_loopback() },
            ..tcp(pid, lport, rport, c)
        }
    }

    pub(crate) fn module(conns: Vec<ConnInfo>) -> FakeModule {
        FakeModule {
            tasks: Some(Snapshot {
                total: 2,
                overflow: 0,
                entries: vec![
                    proc_info(100, 1_717_200_000, "curl", [0; 8]),
                    // Another process than the connections' (another start).
                    proc_info(300, 5, "reused", [0; 8]),
                ],
            }),
            conns: Some(Snapshot {
                total: u32::try_from(conns.len()).unwrap(),
                overflow: 0,
                entries: conns,
            }),
            ..FakeModule::default()
        }
    }

    fn example() -> FakeModule {
        let mut peers = udp(300, 5353, 53, [4, 400, 4, 800]);
        peers.flags = netatop::CONN_PEERS;
        module(vec![
            udp(0, 53, 0, [0, 0, 7, 770]),
            tcp(100, 40000, 80, [12, 3400, 10, 15000]),
            udp(100, 5000, 6000, [1, 110, 0, 0]),
            peers,
            ConnInfo {
                family: 10,
                laddr: v6_loopback(),
                raddr: v6_loopback(),
                state: 0,
                ..tcp(100, 8080, 51000, [3, 300, 2, 200])
            },
        ])
    }

    fn no_proc() -> Proc {
        Proc::new("/nonexistent")
    }

    #[test]
    fn records_are_named_and_ordered() {
        let recs = connection_records(&example(), &no_proc()).unwrap().unwrap();
        let summary: Vec<(i32, Option<&str>, String, String, &str)> = recs
            .iter()
            .map(|r| {
                (
                    r.pid,
                    r.comm.as_deref(),
                    r.local.to_string(),
                    r.remote_text(),
                    r.state_text(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    100,
                    Some("curl"),
                    "127.0.0.1:40000".into(),
                    "127.0.0.1:80".into(),
                    "ESTABLISHED"
                ),
                (
                    100,
                    Some("curl"),
                    "[::1]:8080".into(),
                    "[::1]:51000".into(),
                    "-"
                ),
                (
                    100,
                    Some("curl"),
                    "[::]:5000".into(),
                    "[::1]:6000".into(),
                    "-"
                ),
                // Listed with another start time: not its name.
                (300, None, "[::]:5353".into(), "[::1]:53".into(), "peers"),
                (0, None, "0.0.0.0:53".into(), "-".into(), "-"),
            ]
        );
        // A module without the command: none.
        let old = FakeModule::default();
        assert_eq!(connection_records(&old, &no_proc()).unwrap(), None);
    }

    #[test]
    fn the_listing_as_text() {
        let mut out = Vec::new();
        connections(&example(), &no_proc(), None, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "\
\x20   PID COMMAND         PROTO LOCAL           REMOTE       STATE          SNDPKTS     SNDBYTES    RCVPKTS     RCVBYTES
    100 curl            tcp   127.0.0.1:40000 127.0.0.1:80 ESTABLISHED         12         3400         10        15000
    100 curl            tcp   [::1]:8080      [::1]:51000  -                    3          300          2          200
    100 curl            udp   [::]:5000       [::1]:6000   -                    1          110          0            0
    300 -               udp   [::]:5353       [::1]:53     peers                4          400          4          800
      - -               udp   0.0.0.0:53      -            -                    0            0          7          770
"
        );
    }

    #[test]
    fn the_listing_as_json_and_for_one_process() {
        let mut out = Vec::new();
        connections(&example(), &no_proc(), Some(300), true, &mut out).unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let a = j.as_array().unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(
            serde_json::to_string(&a[0]).unwrap(),
            r#"{"btime":1717200000,"comm":null,"family":"ipv6","local":"[::]:5353","netns":4096,"peers":true,"pid":300,"protocol":"udp","received_bytes":800,"received_packets":4,"remote":"[::1]:53","sent_bytes":400,"sent_packets":4,"state":null,"tid":300}"#
        );
        // The documented fields, in order.
        let recs = connection_records(&example(), &no_proc()).unwrap().unwrap();
        let text = serde_json::to_string(&recs[0]).unwrap();
        assert!(
            text.starts_with(
                r#"{"pid":100,"comm":"curl","protocol":"tcp","family":"ipv4","local":"127.0.0.1:40000","remote":"127.0.0.1:80","state":"ESTABLISHED","sent_packets":12,"sent_bytes":3400,"received_packets":10,"received_bytes":15000,"tid":100,"#
            ),
            "{text}"
        );
        let unowned = serde_json::to_value(&recs[4]).unwrap();
        assert_eq!(unowned["pid"], 0);
        assert_eq!(unowned["family"], serde_json::Value::Null);
        assert_eq!(unowned["remote"], serde_json::Value::Null);

        // A process that has none: an empty list if it exists.
        let me = i32::try_from(std::process::id()).unwrap();
        let mut out = Vec::new();
        connections(&example(), &Proc::default(), Some(me), true, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[]\n");
        let err =
            connections(&example(), &no_proc(), Some(77), false, &mut Vec::new()).unwrap_err();
        assert_eq!(err.exit_code(), 5);
        // Without the command in the module.
        let err = connections(
            &FakeModule::default(),
            &no_proc(),
            None,
            false,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("NETATOP_GETCNT_CONNS"), "{err}");
    }

    fn sample(at: Instant, wall: u64, conns: Vec<ConnInfo>) -> ConnSample {
        sample_connections(&module(conns), &no_proc())
            .map(|s| ConnSample { at, wall, ..s })
            .unwrap()
    }

    pub(crate) fn two_samples() -> ConnView {
        let t0 = Instant::now();
        let a = sample(
            t0,
            1_717_200_000,
            vec![
                tcp(100, 40000, 80, [10, 1000, 10, 1000]),
                udp(100, 5000, 6000, [1, 110, 0, 0]),
                // Reset between the samples: counts from zero.
                tcp(100, 40001, 80, [100, 100_000, 0, 0]),
            ],
        );
        let b = sample(
            t0 + Duration::from_secs(2),
            1_717_200_002,
            vec![
                tcp(100, 40000, 80, [20, 3048, 14, 1512]),
                // Another remote end: still the same UDP port.
                ConnInfo {
                    raddr: v4([10, 0, 0, 1]),
                    family: 2,
                    ..udp(100, 5000, 6001, [5, 550, 2, 220])
                },
                tcp(100, 40001, 80, [2, 2048, 0, 0]),
                udp(0, 53, 0, [0, 0, 2, 220]),
            ],
        );
        let mut v = ConnView::build(Some(&a), &b);
        sort_conn_rows(&mut v.rows, SortKey::Total);
        v
    }

    #[test]
    fn rates_between_samples() {
        let v = two_samples();
        assert_eq!(v.interval, Some(2.0));
        let by_port: Vec<(u16, ConnRates)> = v
            .rows
            .iter()
            .map(|r| (r.conn.local.port(), r.rates.unwrap()))
            .collect();
        assert_eq!(
            by_port.iter().map(|r| r.0).collect::<Vec<_>>(),
            [40000, 40001, 5000, 53]
        );
        assert_eq!(
            by_port[0].1,
            ConnRates {
                sent_bytes_per_sec: 1024.0,
                sent_packets_per_sec: 5.0,
                received_bytes_per_sec: 256.0,
                received_packets_per_sec: 2.0,
                total_bytes_per_sec: 1280.0,
                total_packets_per_sec: 7.0,
            }
        );
        assert_eq!(by_port[1].1.sent_bytes_per_sec, 1024.0);
        assert_eq!(by_port[2].1.sent_bytes_per_sec, 220.0);
        assert_eq!(by_port[3].1.received_bytes_per_sec, 110.0);
        let t = v.totals.unwrap();
        assert_eq!(t.tcp_snd_bytes_per_sec, 2048.0);
        assert_eq!(t.udp_snd_bytes_per_sec, 220.0);
        assert_eq!(t.udp_rcv_bytes_per_sec, 110.0 + 110.0);
        assert_eq!(v.cumulative.tcpsndbytes, 3048 + 2048);
        assert_eq!(v.cumulative.udprcvbytes, 220 + 220);
        // The baseline: no rates.
        let v = ConnView::build(None, &sample(Instant::now(), 0, vec![tcp(1, 1, 2, [1; 4])]));
        assert_eq!((v.interval, v.totals, v.rows[0].rates), (None, None, None));
    }

    #[test]
    fn sorting() {
        let mut v = two_samples();
        let ports = |v: &ConnView| {
            v.rows
                .iter()
                .map(|r| r.conn.local.port())
                .collect::<Vec<_>>()
        };
        sort_conn_rows(&mut v.rows, SortKey::Rcv);
        assert_eq!(ports(&v), [40000, 5000, 53, 40001]);
        sort_conn_rows(&mut v.rows, SortKey::Pid);
        assert_eq!(ports(&v), [40000, 40001, 5000, 53]);
        sort_conn_rows(&mut v.rows, SortKey::Local);
        assert_eq!(ports(&v), [53, 5000, 40000, 40001]);
        sort_conn_rows(&mut v.rows, SortKey::Proto);
        assert_eq!(ports(&v), [40000, 40001, 5000, 53]);
        sort_conn_rows(&mut v.rows, SortKey::Cumulative);
        assert_eq!(ports(&v), [40000, 40001, 5000, 53]);
        sort_conn_rows(&mut v.rows, SortKey::Remote);
        assert_eq!(ports(&v), [53, 5000, 40000, 40001]);
    }

    #[test]
    fn batch_text_is_exact() {
        let v = two_samples();
        let text = render_conn_text(&v, SortKey::Total);
        let expected = "\
netatop top  2024-06-01T00:00:02Z  interval 2s  4 connections, 7.4K since first seen  sort: total
Total:   TCP snd 2.0 KB/s 6.0 pk/s rcv 0.2 KB/s 2.0 pk/s  UDP snd 0.2 KB/s 2.0 pk/s rcv 0.2 KB/s 2.0 pk/s  all 2.7 KB/s
Unident: TCP snd - rcv - pk/s  UDP snd - rcv - pk/s  (all traffic: TCP snd - rcv -  UDP snd - rcv - pk/s)

    PID COMMAND         PROTO   SNDKB/s   SNDPK/s   RCVKB/s   RCVPK/s   TOTKB/s    BYTES STATE       LOCAL           REMOTE
    100 curl            tcp         1.0       5.0       0.2       2.0       1.2     4.5K ESTABLISHED 127.0.0.1:40000 127.0.0.1:80
    100 curl            tcp         1.0       1.0       0.0       0.0       1.0     2.0K ESTABLISHED 127.0.0.1:40001 127.0.0.1:80
    100 curl            udp         0.2       2.0       0.1       1.0       0.3     770B -           0.0.0.0:5000    10.0.0.1:6001
      - -               udp         0.0       0.0       0.1       1.0       0.1     220B -           0.0.0.0:53      -
";
        assert_eq!(text, expected);
    }

    #[test]
    fn json_document_shape() {
        let v = two_samples();
        let doc = serde_json::to_value(ConnTopJson::new(&v, SortKey::Total)).unwrap();
        assert_eq!(doc["sort"], "total");
        assert_eq!(doc["interval"], 2.0);
        let rows = doc["connections"].as_array().unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0]["pid"], 100);
        assert_eq!(rows[0]["comm"], "curl");
        assert_eq!(rows[0]["local"], "127.0.0.1:40000");
        assert_eq!(rows[0]["sent_bytes"], 3048);
        assert_eq!(rows[0]["rates"]["sent_bytes_per_sec"], 1024.0);
        assert_eq!(doc["totals"]["tcp_snd_bytes_per_sec"], 2048.0);
        assert_eq!(doc["cumulative"]["udprcvbytes"], 440);
    }
}
