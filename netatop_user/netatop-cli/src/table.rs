//! The `netatop top` table: columns, sorting, and rendering as text (batch
//! mode) or JSON. The interactive screen (`tui`) uses the same columns,
//! cells and header lines.

use std::fmt::Write as _;

use netatop::TaskCount;
use serde::Serialize;

use crate::format::{fit, human_bytes, iso_time, kb_rate, pkt_rate, seconds};
use crate::rates::{GlobalRates, Rates, Row, View};

/// A column to sort the table by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SortKey {
    /// Process (or thread) id, ascending.
    Pid,
    /// Command name, ascending.
    Command,
    /// TCP bytes sent per second.
    TcpSnd,
    /// TCP packets sent per second.
    TcpSndPkt,
    /// TCP bytes received per second.
    TcpRcv,
    /// TCP packets received per second.
    TcpRcvPkt,
    /// UDP bytes sent per second.
    UdpSnd,
    /// UDP packets sent per second.
    UdpSndPkt,
    /// UDP bytes received per second.
    UdpRcv,
    /// UDP packets received per second.
    UdpRcvPkt,
    /// All bytes per second (the default).
    Total,
    /// All bytes since the task started.
    Cumulative,
    /// Cgroup path, ascending (`top --cgroups` only).
    Path,
    /// Live processes of the cgroup (`top --cgroups` only).
    Procs,
    /// Protocol, ascending (`top --connections` only).
    Proto,
    /// Bytes sent per second (`top --connections` only).
    Snd,
    /// Packets sent per second (`top --connections` only).
    SndPkt,
    /// Bytes received per second (`top --connections` only).
    Rcv,
    /// Packets received per second (`top --connections` only).
    RcvPkt,
    /// TCP state, ascending (`top --connections` only).
    State,
    /// Local address and port, ascending (`top --connections` only).
    Local,
    /// Remote address and port, ascending (`top --connections` only).
    Remote,
}

impl SortKey {
    /// Every key, in column order.
    pub const ALL: [SortKey; 12] = [
        SortKey::Pid,
        SortKey::Command,
        SortKey::TcpSnd,
        SortKey::TcpSndPkt,
        SortKey::TcpRcv,
        SortKey::TcpRcvPkt,
        SortKey::UdpSnd,
        SortKey::UdpSndPkt,
        SortKey::UdpRcv,
        SortKey::UdpRcvPkt,
        SortKey::Total,
        SortKey::Cumulative,
    ];

    /// The keys of the cgroup table (`top --cgroups`), in column order.
    pub const CGROUPS: [SortKey; 12] = [
        SortKey::Procs,
        SortKey::TcpSnd,
        SortKey::TcpSndPkt,
        SortKey::TcpRcv,
        SortKey::TcpRcvPkt,
        SortKey::UdpSnd,
        SortKey::UdpSndPkt,
        SortKey::UdpRcv,
        SortKey::UdpRcvPkt,
        SortKey::Total,
        SortKey::Cumulative,
        SortKey::Path,
    ];

    /// The keys of the connection table (`top --connections`), in column
    /// order.
    pub const CONNECTIONS: [SortKey; 12] = [
        SortKey::Pid,
        SortKey::Command,
        SortKey::Proto,
        SortKey::Snd,
        SortKey::SndPkt,
        SortKey::Rcv,
        SortKey::RcvPkt,
        SortKey::Total,
        SortKey::Cumulative,
        SortKey::State,
        SortKey::Local,
        SortKey::Remote,
    ];

    fn index_in(self, keys: &[SortKey]) -> usize {
        keys.iter().position(|&k| k == self).unwrap_or(0)
    }

    /// The key after this one in `keys` (wrapping around): the next column
    /// to the right of a table whose columns have these keys.
    pub fn next_in(self, keys: &[SortKey]) -> SortKey {
        keys[(self.index_in(keys) + 1) % keys.len()]
    }

    /// The key before this one in `keys` (wrapping around): the next column
    /// to the left.
    pub fn prev_in(self, keys: &[SortKey]) -> SortKey {
        keys[(self.index_in(keys) + keys.len() - 1) % keys.len()]
    }

    /// Whether the key is a column of the process (and thread) table.
    pub fn for_tasks(self) -> bool {
        Self::ALL.contains(&self)
    }

    /// Whether the key is a column of the cgroup table.
    pub fn for_cgroups(self) -> bool {
        Self::CGROUPS.contains(&self)
    }

    /// Whether the key is a column of the connection table.
    pub fn for_connections(self) -> bool {
        Self::CONNECTIONS.contains(&self)
    }

    /// The nearest key of the cgroup table: `pid` becomes `procs`,
    /// `command` becomes `path`, a connection column as in
    /// [`SortKey::to_tasks`].
    pub fn to_cgroups(self) -> SortKey {
        match self.to_tasks() {
            SortKey::Pid => SortKey::Procs,
            SortKey::Command => SortKey::Path,
            k => k,
        }
    }

    /// The nearest key of the process table: `procs` becomes `pid`, `path`
    /// becomes `command`; of the connection columns, a direction becomes
    /// its TCP column and the text columns become `total`.
    pub fn to_tasks(self) -> SortKey {
        match self {
            SortKey::Procs => SortKey::Pid,
            SortKey::Path => SortKey::Command,
            SortKey::Snd => SortKey::TcpSnd,
            SortKey::SndPkt => SortKey::TcpSndPkt,
            SortKey::Rcv => SortKey::TcpRcv,
            SortKey::RcvPkt => SortKey::TcpRcvPkt,
            SortKey::Proto | SortKey::State | SortKey::Local | SortKey::Remote => SortKey::Total,
            k => k,
        }
    }

    /// The nearest key of the connection table: a TCP or UDP column
    /// becomes its direction's, `procs` becomes `pid`, `path` becomes
    /// `command`.
    pub fn to_connections(self) -> SortKey {
        match self {
            SortKey::TcpSnd | SortKey::UdpSnd => SortKey::Snd,
            SortKey::TcpSndPkt | SortKey::UdpSndPkt => SortKey::SndPkt,
            SortKey::TcpRcv | SortKey::UdpRcv => SortKey::Rcv,
            SortKey::TcpRcvPkt | SortKey::UdpRcvPkt => SortKey::RcvPkt,
            SortKey::Procs => SortKey::Pid,
            SortKey::Path => SortKey::Command,
            k => k,
        }
    }

    /// The name used by `--sort` and in the header.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Pid => "pid",
            SortKey::Command => "command",
            SortKey::TcpSnd => "tcp-snd",
            SortKey::TcpSndPkt => "tcp-snd-pkt",
            SortKey::TcpRcv => "tcp-rcv",
            SortKey::TcpRcvPkt => "tcp-rcv-pkt",
            SortKey::UdpSnd => "udp-snd",
            SortKey::UdpSndPkt => "udp-snd-pkt",
            SortKey::UdpRcv => "udp-rcv",
            SortKey::UdpRcvPkt => "udp-rcv-pkt",
            SortKey::Total => "total",
            SortKey::Cumulative => "cumulative",
            SortKey::Path => "path",
            SortKey::Procs => "procs",
            SortKey::Proto => "proto",
            SortKey::Snd => "snd",
            SortKey::SndPkt => "snd-pkt",
            SortKey::Rcv => "rcv",
            SortKey::RcvPkt => "rcv-pkt",
            SortKey::State => "state",
            SortKey::Local => "local",
            SortKey::Remote => "remote",
        }
    }

    /// The numeric value of a row with these rates and counters (rates
    /// unknown: -1; the text keys and `procs`: 0). A direction's key (the
    /// connection table's) is TCP plus UDP.
    pub fn value_of(self, rates: Option<&Rates>, counters: &TaskCount) -> f64 {
        let rate = |f: fn(&Rates) -> f64| rates.map_or(-1.0, f);
        match self {
            SortKey::Pid
            | SortKey::Command
            | SortKey::Path
            | SortKey::Procs
            | SortKey::Proto
            | SortKey::State
            | SortKey::Local
            | SortKey::Remote => 0.0,
            SortKey::Snd => rate(|r| r.tcp_snd_bytes_per_sec + r.udp_snd_bytes_per_sec),
            SortKey::SndPkt => rate(|r| r.tcp_snd_packets_per_sec + r.udp_snd_packets_per_sec),
            SortKey::Rcv => rate(|r| r.tcp_rcv_bytes_per_sec + r.udp_rcv_bytes_per_sec),
            SortKey::RcvPkt => rate(|r| r.tcp_rcv_packets_per_sec + r.udp_rcv_packets_per_sec),
            SortKey::TcpSnd => rate(|r| r.tcp_snd_bytes_per_sec),
            SortKey::TcpSndPkt => rate(|r| r.tcp_snd_packets_per_sec),
            SortKey::TcpRcv => rate(|r| r.tcp_rcv_bytes_per_sec),
            SortKey::TcpRcvPkt => rate(|r| r.tcp_rcv_packets_per_sec),
            SortKey::UdpSnd => rate(|r| r.udp_snd_bytes_per_sec),
            SortKey::UdpSndPkt => rate(|r| r.udp_snd_packets_per_sec),
            SortKey::UdpRcv => rate(|r| r.udp_rcv_bytes_per_sec),
            SortKey::UdpRcvPkt => rate(|r| r.udp_rcv_packets_per_sec),
            SortKey::Total => rate(|r| r.total_bytes_per_sec),
            // CAST: ordering only; f64 orders u64 values correctly except
            // for ties between huge neighbours, which the id then breaks.
            SortKey::Cumulative => counters.total_bytes() as f64,
        }
    }

    /// The numeric value a row is sorted by (rates unknown: -1).
    fn value(self, row: &Row) -> f64 {
        self.value_of(row.rates.as_ref(), &row.counters)
    }
}

/// Sorts rows by `key`: pid and command ascending, every other column
/// descending (biggest first); ties by cumulative bytes, descending, then
/// by id, ascending. Rows without rates (baseline) sort after any rate.
pub fn sort_rows(rows: &mut [Row], key: SortKey) {
    let tie = |a: &Row, b: &Row| {
        b.counters
            .total_bytes()
            .cmp(&a.counters.total_bytes())
            .then(a.id.cmp(&b.id))
    };
    rows.sort_by(|a, b| match key {
        SortKey::Pid | SortKey::Procs => a.id.cmp(&b.id),
        SortKey::Command | SortKey::Path => a.command.cmp(&b.command).then(a.id.cmp(&b.id)),
        _ => key
            .value(b)
            .total_cmp(&key.value(a))
            .then_with(|| tie(a, b)),
    });
}

/// A column of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Title in the header line.
    pub title: &'static str,
    /// Width in characters.
    pub width: usize,
    /// Right-aligned (numbers) or left-aligned (text).
    pub right: bool,
    /// The sort key of this column.
    pub key: SortKey,
}

/// A column (a `const` constructor for the column tables).
pub(crate) const fn col(title: &'static str, width: usize, right: bool, key: SortKey) -> Column {
    Column {
        title,
        width,
        right,
        key,
    }
}

/// The columns, in order: id, command, eight rates (KB/s and packets/s
/// for TCP and UDP, sent and received), all bytes per second, and all
/// bytes since the task started.
pub const COLUMNS: [Column; 12] = [
    col("PID", 7, true, SortKey::Pid),
    col("COMMAND", 15, false, SortKey::Command),
    col("TCPSKB/s", 9, true, SortKey::TcpSnd),
    col("TCPSPK/s", 9, true, SortKey::TcpSndPkt),
    col("TCPRKB/s", 9, true, SortKey::TcpRcv),
    col("TCPRPK/s", 9, true, SortKey::TcpRcvPkt),
    col("UDPSKB/s", 9, true, SortKey::UdpSnd),
    col("UDPSPK/s", 9, true, SortKey::UdpSndPkt),
    col("UDPRKB/s", 9, true, SortKey::UdpRcv),
    col("UDPRPK/s", 9, true, SortKey::UdpRcvPkt),
    col("TOTKB/s", 9, true, SortKey::Total),
    col("BYTES", 8, true, SortKey::Cumulative),
];

/// The title of column `i`: the first says TID in thread mode.
pub fn title(i: usize, threads: bool) -> &'static str {
    if i == 0 && threads {
        "TID"
    } else {
        COLUMNS[i].title
    }
}

/// The text of each column for one row.
pub fn cells(row: &Row) -> [String; 12] {
    let r = row.rates.as_ref();
    let kb = |f: fn(&Rates) -> f64| kb_rate(r.map(f));
    let pk = |f: fn(&Rates) -> f64| pkt_rate(r.map(f));
    [
        row.id.to_string(),
        fit(&row.command, 15),
        kb(|r| r.tcp_snd_bytes_per_sec),
        pk(|r| r.tcp_snd_packets_per_sec),
        kb(|r| r.tcp_rcv_bytes_per_sec),
        pk(|r| r.tcp_rcv_packets_per_sec),
        kb(|r| r.udp_snd_bytes_per_sec),
        pk(|r| r.udp_snd_packets_per_sec),
        kb(|r| r.udp_rcv_bytes_per_sec),
        pk(|r| r.udp_rcv_packets_per_sec),
        kb(|r| r.total_bytes_per_sec),
        human_bytes(row.counters.total_bytes()),
    ]
}

fn pad(text: &str, c: &Column) -> String {
    if c.right {
        format!("{text:>w$}", w = c.width)
    } else {
        format!("{text:<w$}", w = c.width)
    }
}

/// One table line from its cells, columns separated by one space.
pub fn line(cells: &[impl AsRef<str>]) -> String {
    line_of(cells, &COLUMNS)
}

/// One line of a table with these columns, separated by one space.
pub fn line_of(cells: &[impl AsRef<str>], columns: &[Column]) -> String {
    let parts: Vec<String> = cells
        .iter()
        .zip(columns.iter())
        .map(|(t, c)| pad(t.as_ref(), c))
        .collect();
    parts.join(" ").trim_end().to_owned()
}

/// The header line of the table.
pub fn header_line(threads: bool) -> String {
    let titles: Vec<&str> = (0..COLUMNS.len()).map(|i| title(i, threads)).collect();
    line(&titles)
}

/// What the summary says about the interval of a view.
pub fn interval_text(interval: Option<f64>) -> String {
    match interval {
        Some(s) => format!("interval {}", seconds(s)),
        None => "first sample: rates from the next refresh".to_owned(),
    }
}

/// A table the interactive screen can show: processes (or threads), or
/// cgroups.
pub trait Table {
    /// The three summary lines above the table.
    fn summary(&self, sort: SortKey) -> [String; 3];
    /// The columns.
    fn columns(&self) -> &'static [Column];
    /// The title of column `i`.
    fn title(&self, i: usize) -> &'static str;
    /// The sort keys of the columns, in column order.
    fn keys(&self) -> &'static [SortKey];
    /// The number of rows.
    fn row_count(&self) -> usize;
    /// The cells of row `i`.
    fn row_cells(&self, i: usize) -> Vec<String>;
    /// Sorts the rows by `key`.
    fn sort(&mut self, key: SortKey);
    /// The table as `netatop top --batch` prints it.
    fn text(&self, sort: SortKey) -> String;
    /// The table as the JSON document of `netatop top --json`, on one line.
    fn json(&self, sort: SortKey) -> serde_json::Result<String>;
}

impl Table for View {
    fn summary(&self, sort: SortKey) -> [String; 3] {
        summary_lines(self, sort)
    }
    fn columns(&self) -> &'static [Column] {
        &COLUMNS
    }
    fn title(&self, i: usize) -> &'static str {
        title(i, self.threads)
    }
    fn keys(&self) -> &'static [SortKey] {
        &SortKey::ALL
    }
    fn row_count(&self) -> usize {
        self.rows.len()
    }
    fn row_cells(&self, i: usize) -> Vec<String> {
        cells(&self.rows[i]).to_vec()
    }
    fn sort(&mut self, key: SortKey) {
        sort_rows(&mut self.rows, key);
    }
    fn text(&self, sort: SortKey) -> String {
        render_text(self, sort)
    }
    fn json(&self, sort: SortKey) -> serde_json::Result<String> {
        serde_json::to_string(&TopJson::new(self, sort))
    }
}

/// The summary lines above the table.
pub fn summary_lines(view: &View, sort: SortKey) -> [String; 3] {
    let what = if view.threads { "threads" } else { "processes" };
    let interval = interval_text(view.interval);
    let first = format!(
        "netatop top  {}  {interval}  {} {what} with traffic, {} since start  sort: {}",
        iso_time(view.time),
        view.rows.len(),
        human_bytes(view.cumulative.total_bytes()),
        sort.name()
    );
    [
        first,
        totals_line(view.totals.as_ref()),
        global_line(view.global.as_ref()),
    ]
}

/// The second summary line: the sum of the rows' rates.
pub fn totals_line(t: Option<&Rates>) -> String {
    let kb = |f: fn(&Rates) -> f64| kb_rate(t.map(f));
    let pk = |f: fn(&Rates) -> f64| pkt_rate(t.map(f));
    format!(
        "Total:   TCP snd {} KB/s {} pk/s rcv {} KB/s {} pk/s  UDP snd {} KB/s {} pk/s rcv {} KB/s {} pk/s  all {} KB/s",
        kb(|r| r.tcp_snd_bytes_per_sec),
        pk(|r| r.tcp_snd_packets_per_sec),
        kb(|r| r.tcp_rcv_bytes_per_sec),
        pk(|r| r.tcp_rcv_packets_per_sec),
        kb(|r| r.udp_snd_bytes_per_sec),
        pk(|r| r.udp_snd_packets_per_sec),
        kb(|r| r.udp_rcv_bytes_per_sec),
        pk(|r| r.udp_rcv_packets_per_sec),
        kb(|r| r.total_bytes_per_sec),
    )
}

/// The third summary line: unidentified and all traffic of `/proc/netatop`.
pub fn global_line(g: Option<&GlobalRates>) -> String {
    let gp = |f: fn(&GlobalRates) -> f64| pkt_rate(g.map(f));
    format!(
        "Unident: TCP snd {} rcv {} pk/s  UDP snd {} rcv {} pk/s  (all traffic: TCP snd {} rcv {}  UDP snd {} rcv {} pk/s)",
        gp(|g| g.unident_tcp_snd_packets_per_sec),
        gp(|g| g.unident_tcp_rcv_packets_per_sec),
        gp(|g| g.unident_udp_snd_packets_per_sec),
        gp(|g| g.unident_udp_rcv_packets_per_sec),
        gp(|g| g.tcp_snd_packets_per_sec),
        gp(|g| g.tcp_rcv_packets_per_sec),
        gp(|g| g.udp_snd_packets_per_sec),
        gp(|g| g.udp_rcv_packets_per_sec),
    )
}

/// The whole batch-mode text of one refresh: summary, a blank line, the
/// column header and one line per row (in the order given).
pub fn render_text(view: &View, sort: SortKey) -> String {
    let mut s = String::new();
    for l in summary_lines(view, sort) {
        s.push_str(&l);
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&header_line(view.threads));
    s.push('\n');
    for row in &view.rows {
        let _ = writeln!(s, "{}", line(&cells(row)));
    }
    s
}

/// The JSON document of one refresh (`netatop top --batch --json`).
#[derive(Debug, Serialize)]
pub struct TopJson<'a> {
    /// When the sample was taken, seconds since the epoch.
    pub time: u64,
    /// The same as ISO 8601 UTC.
    pub time_iso: String,
    /// Seconds since the previous sample.
    pub interval: Option<f64>,
    /// Whether the tasks are threads.
    pub threads: bool,
    /// The sort order of `tasks`.
    pub sort: SortKey,
    /// Sum of the tasks' rates.
    pub totals: Option<&'a Rates>,
    /// Sum of the tasks' counters since they started.
    pub cumulative: &'a TaskCount,
    /// Rates of the module's global counters, unidentified traffic included.
    pub global: Option<&'a GlobalRates>,
    /// The tasks, sorted.
    pub tasks: &'a [Row],
}

impl<'a> TopJson<'a> {
    /// The document of a view whose rows are sorted by `sort`.
    pub fn new(view: &'a View, sort: SortKey) -> Self {
        Self {
            time: view.time,
            time_iso: iso_time(view.time),
            interval: view.interval,
            threads: view.threads,
            sort,
            totals: view.totals.as_ref(),
            cumulative: &view.cumulative,
            global: view.global.as_ref(),
            tasks: &view.rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rates::tests::{counters, sample, task};
    use std::time::{Duration, Instant};

    fn row(id: i32, command: &str, total_rate: Option<f64>, cumulative: u64) -> Row {
        Row {
            id,
            command: command.into(),
            btime: 0,
            rates: total_rate.map(|t| Rates {
                tcp_snd_bytes_per_sec: t,
                total_bytes_per_sec: t,
                tcp_rcv_packets_per_sec: 100.0 - t,
                ..Rates::default()
            }),
            counters: counters([0, cumulative, 0, 0, 0, 0, 0, 0]),
        }
    }

    fn ids(rows: &[Row]) -> Vec<i32> {
        rows.iter().map(|r| r.id).collect()
    }

    #[test]
    fn sorting() {
        let mut rows = vec![
            row(5, "b", Some(10.0), 1),
            row(3, "a", Some(30.0), 1),
            row(9, "c", Some(10.0), 7),
            row(1, "c", Some(0.0), 0),
            row(2, "a", Some(10.0), 7),
        ];
        sort_rows(&mut rows, SortKey::Total);
        assert_eq!(ids(&rows), [3, 2, 9, 5, 1]);
        sort_rows(&mut rows, SortKey::Pid);
        assert_eq!(ids(&rows), [1, 2, 3, 5, 9]);
        sort_rows(&mut rows, SortKey::Command);
        assert_eq!(ids(&rows), [2, 3, 5, 1, 9]);
        sort_rows(&mut rows, SortKey::TcpRcvPkt);
        assert_eq!(ids(&rows), [1, 2, 9, 5, 3]);
        sort_rows(&mut rows, SortKey::Cumulative);
        assert_eq!(ids(&rows), [2, 9, 3, 5, 1]);
        sort_rows(&mut rows, SortKey::UdpSnd); // all zero: ties only
        assert_eq!(ids(&rows), [2, 9, 3, 5, 1]);
    }

    #[test]
    fn baseline_rows_sort_by_cumulative_bytes() {
        let mut rows = vec![
            row(1, "a", None, 5),
            row(2, "b", None, 50),
            row(3, "c", Some(0.0), 0),
        ];
        sort_rows(&mut rows, SortKey::Total);
        assert_eq!(ids(&rows), [3, 2, 1]);
    }

    #[test]
    fn sort_keys_cycle_through_the_columns() {
        let all = &SortKey::ALL;
        assert_eq!(SortKey::Pid.next_in(all), SortKey::Command);
        assert_eq!(SortKey::Cumulative.next_in(all), SortKey::Pid);
        assert_eq!(SortKey::Pid.prev_in(all), SortKey::Cumulative);
        assert_eq!(SortKey::Total.prev_in(all), SortKey::UdpRcvPkt);
        for (k, c) in SortKey::ALL.iter().zip(COLUMNS.iter()) {
            assert_eq!(*k, c.key);
            assert_eq!(k.next_in(all).prev_in(all), *k);
            // The --sort name is clap's name for the value.
            let v = clap::ValueEnum::to_possible_value(k).unwrap();
            assert_eq!(v.get_name(), k.name());
        }
        for (k, c) in SortKey::CGROUPS
            .iter()
            .zip(crate::cgroups::CGROUP_COLUMNS.iter())
        {
            assert_eq!(*k, c.key);
            let v = clap::ValueEnum::to_possible_value(k).unwrap();
            assert_eq!(v.get_name(), k.name());
        }
        assert_eq!(SortKey::CONNECTIONS.len(), crate::conns::CONN_COLUMNS.len());
        for (k, c) in SortKey::CONNECTIONS
            .iter()
            .zip(crate::conns::CONN_COLUMNS.iter())
        {
            assert_eq!(*k, c.key);
            let v = clap::ValueEnum::to_possible_value(k).unwrap();
            assert_eq!(v.get_name(), k.name());
        }
        // Every key is a column of some table.
        for v in <SortKey as clap::ValueEnum>::value_variants() {
            assert!(
                v.for_tasks() || v.for_cgroups() || v.for_connections(),
                "{v:?}"
            );
        }
    }

    #[test]
    fn sort_keys_map_between_the_tables() {
        for v in <SortKey as clap::ValueEnum>::value_variants() {
            assert!(v.to_tasks().for_tasks(), "{v:?}");
            assert!(v.to_cgroups().for_cgroups(), "{v:?}");
            assert!(v.to_connections().for_connections(), "{v:?}");
        }
        assert_eq!(SortKey::UdpRcvPkt.to_connections(), SortKey::RcvPkt);
        assert_eq!(SortKey::Snd.to_tasks(), SortKey::TcpSnd);
        assert_eq!(SortKey::Local.to_cgroups(), SortKey::Total);
        assert_eq!(SortKey::Command.to_connections(), SortKey::Command);
    }

    fn two_samples() -> View {
        let t0 = Instant::now();
        let a = sample(
            t0,
            1_717_200_000,
            vec![
                task(10, 5, "sshd", [1, 100, 1, 100, 0, 0, 0, 0]),
                task(200, 5, "curl", [0, 0, 0, 0, 0, 0, 0, 0]),
            ],
        );
        let b = sample(
            t0 + Duration::from_secs(2),
            1_717_200_002,
            vec![
                task(10, 5, "sshd", [5, 2148, 3, 1124, 0, 0, 0, 0]),
                task(200, 5, "curl", [10, 20480, 20, 40960, 2, 200, 2, 200]),
            ],
        );
        let mut v = View::build(Some(&a), &b);
        sort_rows(&mut v.rows, SortKey::Total);
        v
    }

    #[test]
    fn batch_text_is_exact() {
        let v = two_samples();
        let text = render_text(&v, SortKey::Total);
        let expected = "\
netatop top  2024-06-01T00:00:02Z  interval 2s  2 processes with traffic, 63.6K since start  sort: total
Total:   TCP snd 11.0 KB/s 7.0 pk/s rcv 20.5 KB/s 11.0 pk/s  UDP snd 0.1 KB/s 1.0 pk/s rcv 0.1 KB/s 1.0 pk/s  all 31.7 KB/s
Unident: TCP snd - rcv - pk/s  UDP snd - rcv - pk/s  (all traffic: TCP snd - rcv -  UDP snd - rcv - pk/s)

    PID COMMAND          TCPSKB/s  TCPSPK/s  TCPRKB/s  TCPRPK/s  UDPSKB/s  UDPSPK/s  UDPRKB/s  UDPRPK/s   TOTKB/s    BYTES
    200 curl                 10.0       5.0      20.0      10.0       0.1       1.0       0.1       1.0      30.2    60.4K
     10 sshd                  1.0       2.0       0.5       1.0       0.0       0.0       0.0       0.0       1.5     3.2K
";
        assert_eq!(text, expected);
    }

    #[test]
    fn baseline_text_shows_dashes_and_thread_title() {
        let mut a = sample(
            Instant::now(),
            0,
            vec![task(7, 1, "x", [1, 2048, 0, 0, 0, 0, 0, 0])],
        );
        a.threads = true;
        let v = View::build(None, &a);
        let text = render_text(&v, SortKey::Pid);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "netatop top  1970-01-01T00:00:00Z  first sample: rates from the next refresh  1 threads with traffic, 2.0K since start  sort: pid"
        );
        assert_eq!(
            lines[1],
            "Total:   TCP snd - KB/s - pk/s rcv - KB/s - pk/s  UDP snd - KB/s - pk/s rcv - KB/s - pk/s  all - KB/s"
        );
        assert!(lines[4].starts_with("    TID COMMAND"));
        assert_eq!(
            lines[5],
            "      7 x                       -         -         -         -         -         -         -         -         -     2.0K"
        );
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn json_document_shape() {
        let v = two_samples();
        let doc = serde_json::to_value(TopJson::new(&v, SortKey::Total)).unwrap();
        assert_eq!(doc["time"], 1_717_200_002u64);
        assert_eq!(doc["time_iso"], "2024-06-01T00:00:02Z");
        assert_eq!(doc["interval"], 2.0);
        assert_eq!(doc["threads"], false);
        assert_eq!(doc["sort"], "total");
        assert_eq!(doc["global"], serde_json::Value::Null);
        assert_eq!(doc["totals"]["total_bytes_per_sec"], 32456.0);
        assert_eq!(doc["cumulative"]["tcpsndbytes"], 22628);
        let tasks = doc["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(
            serde_json::to_string(&v.rows[1]).unwrap(),
            r#"{"id":10,"command":"sshd","btime":5,"rates":{"tcp_snd_bytes_per_sec":1024.0,"tcp_snd_packets_per_sec":2.0,"tcp_rcv_bytes_per_sec":512.0,"tcp_rcv_packets_per_sec":1.0,"udp_snd_bytes_per_sec":0.0,"udp_snd_packets_per_sec":0.0,"udp_rcv_bytes_per_sec":0.0,"udp_rcv_packets_per_sec":0.0,"total_bytes_per_sec":1536.0,"total_packets_per_sec":3.0},"counters":{"tcpsndpacks":5,"tcpsndbytes":2148,"tcprcvpacks":3,"tcprcvbytes":1124,"udpsndpacks":0,"udpsndbytes":0,"udprcvpacks":0,"udprcvbytes":0}}"#
        );
        let text = serde_json::to_string(&TopJson::new(&v, SortKey::Total)).unwrap();
        assert!(
            text.starts_with(
                r#"{"time":1717200002,"time_iso":"2024-06-01T00:00:02Z","interval":2.0,"threads":false,"sort":"total","totals":{"tcp_snd_bytes_per_sec":11264.0,"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#""global":null,"tasks":[{"id":200,"#),
            "{text}"
        );
    }
}
