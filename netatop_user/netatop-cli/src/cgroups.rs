//! `netatop top --cgroups`: one row per cgroup v2, like systemd-cgtop.
//!
//! Each refresh is one `NETATOP_GETCNT_CGROUPS` call and one walk of the
//! cgroup2 hierarchy (ids to paths). A cgroup's counters are those of the
//! processes counted for it (live and finished; not those of its
//! sub-cgroups), so they only grow; rates are differences between two
//! refreshes, as in the process table.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use netatop::{ProcCounters, TaskCount};
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::format::{human_bytes, iso_time, kb_rate, pkt_rate};
use crate::rates::{summarise, GlobalRates, Rates};
use crate::sample::{now_secs, CounterSource};
use crate::table::{col, global_line, interval_text, line_of, totals_line, Column, SortKey, Table};

/// One cgroup in a sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupEntry {
    /// The cgroup v2 id.
    pub id: u64,
    /// Its path, `None` if no directory has this id any more (removed).
    pub path: Option<String>,
    /// Live processes counted for it.
    pub procs: u32,
    /// Its counters.
    pub counters: TaskCount,
}

/// The counters of every cgroup the module knows, at one moment.
#[derive(Clone, Debug)]
pub struct CgroupSample {
    /// When the sample was started (for rates).
    pub at: Instant,
    /// The same moment, seconds since the epoch (for display).
    pub wall: u64,
    /// The cgroups, by ascending id.
    pub cgroups: Vec<CgroupEntry>,
    /// Finished processes whose totals the module's cgroup table could not
    /// keep (the list header's overflow counter).
    pub overflow: u64,
    /// `/proc/netatop` at that moment, if readable.
    pub global: Option<ProcCounters>,
}

/// Takes one cgroup sample: one `NETATOP_GETCNT_CGROUPS` call, then the
/// paths of the hierarchy.
pub fn sample_cgroups<S: CounterSource>(source: &S) -> Result<CgroupSample> {
    let at = Instant::now();
    let wall = now_secs();
    let snap = source.cgroups()?;
    let paths: HashMap<u64, String> = source.cgroup_paths().map_err(|e| CliError::Io {
        what: "cannot read the cgroup2 hierarchy".into(),
        source: e,
    })?;
    let mut cgroups: Vec<CgroupEntry> = snap
        .entries
        .iter()
        .map(|c| CgroupEntry {
            id: c.id,
            path: paths.get(&c.id).cloned(),
            procs: c.nprocs,
            counters: c.tc,
        })
        .collect();
    cgroups.sort_by_key(|c| c.id);
    cgroups.dedup_by_key(|c| c.id);
    Ok(CgroupSample {
        at,
        wall,
        cgroups,
        overflow: snap.overflow,
        global: source.global(),
    })
}

/// How a cgroup is shown: its path, or `(removed ID)`.
pub fn display_path(id: u64, path: Option<&str>) -> String {
    match path {
        Some(p) => p.to_owned(),
        None => format!("(removed {id})"),
    }
}

/// One line of the cgroup table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CgroupRow {
    /// The cgroup v2 id.
    pub id: u64,
    /// Its path (as in `/proc/PID/cgroup`), or `(removed ID)`.
    pub path: String,
    /// Whether the cgroup's directory is gone (its totals are kept a while).
    pub removed: bool,
    /// Live processes counted for it.
    pub processes: u32,
    /// Rates over the last interval; `None` in the baseline sample.
    pub rates: Option<Rates>,
    /// Counters of its processes, live and finished.
    pub counters: TaskCount,
}

/// Everything one refresh of `netatop top --cgroups` shows.
#[derive(Clone, Debug, PartialEq)]
pub struct CgroupView {
    /// When the sample was taken, seconds since the epoch.
    pub time: u64,
    /// Seconds since the previous sample; `None` for the baseline.
    pub interval: Option<f64>,
    /// One row per cgroup (see [`sort_cgroup_rows`]).
    pub rows: Vec<CgroupRow>,
    /// Sum of the rows' rates; `None` for the baseline.
    pub totals: Option<Rates>,
    /// Sum of the rows' counters.
    pub cumulative: TaskCount,
    /// Rates of `/proc/netatop`; `None` for the baseline or when unreadable.
    pub global: Option<GlobalRates>,
    /// The module's cgroup table overflow counter.
    pub overflow: u64,
}

impl CgroupView {
    /// The view of sample `now`, with rates against `before` when given.
    /// A cgroup new since `before`, or whose counters went backwards (the
    /// module was reloaded), counts from zero.
    pub fn build(before: Option<&CgroupSample>, now: &CgroupSample) -> CgroupView {
        let secs = before
            .map(|b| now.at.saturating_duration_since(b.at).as_secs_f64())
            .filter(|&s| s > 0.0);
        let earlier: HashMap<u64, &TaskCount> = before
            .map(|b| b.cgroups.iter().map(|c| (c.id, &c.counters)).collect())
            .unwrap_or_default();
        let zero = TaskCount::default();
        let rows: Vec<CgroupRow> = now
            .cgroups
            .iter()
            .map(|c| {
                let rates = secs.map(|s| {
                    let base = earlier
                        .get(&c.id)
                        .copied()
                        .filter(|e| c.counters.covers(e))
                        .unwrap_or(&zero);
                    Rates::between(base, &c.counters, s)
                });
                CgroupRow {
                    id: c.id,
                    path: display_path(c.id, c.path.as_deref()),
                    removed: c.path.is_none(),
                    processes: c.procs,
                    rates,
                    counters: c.counters,
                }
            })
            .collect();
        let (totals, cumulative, global) = summarise(
            rows.iter().map(|r| (r.rates.as_ref(), r.counters)),
            before.and_then(|b| b.global.as_ref()),
            now.global.as_ref(),
            secs,
        );
        CgroupView {
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

/// Sorts cgroup rows by `key`: path ascending, every other column
/// descending (biggest first); ties by all bytes since start, descending,
/// then by path. Rows without rates (baseline) sort after any rate.
pub fn sort_cgroup_rows(rows: &mut [CgroupRow], key: SortKey) {
    let tie = |a: &CgroupRow, b: &CgroupRow| {
        b.counters
            .total_bytes()
            .cmp(&a.counters.total_bytes())
            .then_with(|| a.path.cmp(&b.path))
            .then(a.id.cmp(&b.id))
    };
    rows.sort_by(|a, b| match key {
        SortKey::Path | SortKey::Command => a.path.cmp(&b.path).then(a.id.cmp(&b.id)),
        SortKey::Procs | SortKey::Pid => b.processes.cmp(&a.processes).then_with(|| tie(a, b)),
        _ => key
            .value_of(b.rates.as_ref(), &b.counters)
            .total_cmp(&key.value_of(a.rates.as_ref(), &a.counters))
            .then_with(|| tie(a, b)),
    });
}

/// The columns of the cgroup table: live processes, the eight rates, all
/// bytes per second, all bytes since start, and the path last (as long as
/// it is: width 0).
pub const CGROUP_COLUMNS: [Column; 12] = [
    col("PROCS", 6, true, SortKey::Procs),
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
    col("CGROUP", 0, false, SortKey::Path),
];

/// The text of each column for one row.
pub fn cgroup_cells(row: &CgroupRow) -> [String; 12] {
    let r = row.rates.as_ref();
    let kb = |f: fn(&Rates) -> f64| kb_rate(r.map(f));
    let pk = |f: fn(&Rates) -> f64| pkt_rate(r.map(f));
    [
        row.processes.to_string(),
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
        row.path.clone(),
    ]
}

/// The summary lines above the cgroup table.
pub fn cgroup_summary_lines(view: &CgroupView, sort: SortKey) -> [String; 3] {
    let mut first = format!(
        "netatop top  {}  {}  {} cgroups with traffic, {} since start  sort: {}",
        iso_time(view.time),
        interval_text(view.interval),
        view.rows.len(),
        human_bytes(view.cumulative.total_bytes()),
        sort.name()
    );
    if view.overflow > 0 {
        let _ = write!(
            first,
            "  (cgroup table full: {} finished processes not kept)",
            view.overflow
        );
    }
    [
        first,
        totals_line(view.totals.as_ref()),
        global_line(view.global.as_ref()),
    ]
}

/// The whole batch-mode text of one refresh of the cgroup table.
pub fn render_cgroup_text(view: &CgroupView, sort: SortKey) -> String {
    let mut s = String::new();
    for l in cgroup_summary_lines(view, sort) {
        s.push_str(&l);
        s.push('\n');
    }
    s.push('\n');
    let titles: Vec<&str> = CGROUP_COLUMNS.iter().map(|c| c.title).collect();
    s.push_str(&line_of(&titles, &CGROUP_COLUMNS));
    s.push('\n');
    for row in &view.rows {
        let _ = writeln!(s, "{}", line_of(&cgroup_cells(row), &CGROUP_COLUMNS));
    }
    s
}

impl Table for CgroupView {
    fn summary(&self, sort: SortKey) -> [String; 3] {
        cgroup_summary_lines(self, sort)
    }
    fn columns(&self) -> &'static [Column] {
        &CGROUP_COLUMNS
    }
    fn title(&self, i: usize) -> &'static str {
        CGROUP_COLUMNS[i].title
    }
    fn keys(&self) -> &'static [SortKey] {
        &SortKey::CGROUPS
    }
    fn row_count(&self) -> usize {
        self.rows.len()
    }
    fn row_cells(&self, i: usize) -> Vec<String> {
        cgroup_cells(&self.rows[i]).to_vec()
    }
    fn sort(&mut self, key: SortKey) {
        sort_cgroup_rows(&mut self.rows, key);
    }
    fn text(&self, sort: SortKey) -> String {
        render_cgroup_text(self, sort)
    }
    fn json(&self, sort: SortKey) -> serde_json::Result<String> {
        serde_json::to_string(&CgroupTopJson::new(self, sort))
    }
}

/// The JSON document of one refresh (`netatop top --cgroups --json`).
#[derive(Debug, Serialize)]
pub struct CgroupTopJson<'a> {
    /// When the sample was taken, seconds since the epoch.
    pub time: u64,
    /// The same as ISO 8601 UTC.
    pub time_iso: String,
    /// Seconds since the previous sample.
    pub interval: Option<f64>,
    /// The sort order of `cgroups`.
    pub sort: SortKey,
    /// Sum of the cgroups' rates.
    pub totals: Option<&'a Rates>,
    /// Sum of the cgroups' counters.
    pub cumulative: &'a TaskCount,
    /// Rates of the module's global counters, unidentified traffic included.
    pub global: Option<&'a GlobalRates>,
    /// Finished processes whose totals the cgroup table could not keep.
    pub overflow: u64,
    /// The cgroups, sorted.
    pub cgroups: &'a [CgroupRow],
}

impl<'a> CgroupTopJson<'a> {
    /// The document of a view whose rows are sorted by `sort`.
    pub fn new(view: &'a CgroupView, sort: SortKey) -> Self {
        Self {
            time: view.time,
            time_iso: iso_time(view.time),
            interval: view.interval,
            sort,
            totals: view.totals.as_ref(),
            cumulative: &view.cumulative,
            global: view.global.as_ref(),
            overflow: view.overflow,
            cgroups: &view.rows,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rates::tests::counters;
    use crate::sample::tests::FakeModule;
    use netatop::CgroupCount;
    use std::time::Duration;

    fn entry(id: u64, path: Option<&str>, procs: u32, c: [u64; 8]) -> CgroupEntry {
        CgroupEntry {
            id,
            path: path.map(str::to_owned),
            procs,
            counters: counters(c),
        }
    }

    fn sample(at: Instant, wall: u64, cgroups: Vec<CgroupEntry>) -> CgroupSample {
        CgroupSample {
            at,
            wall,
            cgroups,
            overflow: 0,
            global: None,
        }
    }

    pub(crate) fn two_samples() -> CgroupView {
        let t0 = Instant::now();
        let a = sample(
            t0,
            1_717_200_000,
            vec![
                entry(
                    10,
                    Some("/system.slice/sshd.service"),
                    1,
                    [1, 100, 1, 100, 0, 0, 0, 0],
                ),
                entry(
                    20,
                    Some("/user.slice/user-1000.slice/session-1.scope"),
                    3,
                    [0; 8],
                ),
            ],
        );
        let b = sample(
            t0 + Duration::from_secs(2),
            1_717_200_002,
            vec![
                entry(
                    10,
                    Some("/system.slice/sshd.service"),
                    1,
                    [5, 2148, 3, 1124, 0, 0, 0, 0],
                ),
                entry(
                    20,
                    Some("/user.slice/user-1000.slice/session-1.scope"),
                    3,
                    [10, 20480, 20, 40960, 2, 200, 2, 200],
                ),
                entry(30, None, 0, [0, 0, 0, 0, 1, 1024, 0, 0]),
            ],
        );
        let mut v = CgroupView::build(Some(&a), &b);
        sort_cgroup_rows(&mut v.rows, SortKey::Total);
        v
    }

    fn paths(rows: &[CgroupRow]) -> Vec<&str> {
        rows.iter().map(|r| r.path.as_str()).collect()
    }

    #[test]
    fn rates_and_removed_cgroups() {
        let v = two_samples();
        assert_eq!(v.interval, Some(2.0));
        assert_eq!(
            paths(&v.rows),
            [
                "/user.slice/user-1000.slice/session-1.scope",
                "/system.slice/sshd.service",
                "(removed 30)"
            ]
        );
        let sshd = &v.rows[1];
        assert_eq!(sshd.rates.unwrap().tcp_snd_bytes_per_sec, 1024.0);
        assert_eq!(sshd.rates.unwrap().total_packets_per_sec, 3.0);
        // New since the previous sample: counted from zero.
        let removed = &v.rows[2];
        assert!(removed.removed);
        assert_eq!(removed.rates.unwrap().udp_snd_bytes_per_sec, 512.0);
        assert_eq!(
            v.totals.unwrap().total_bytes_per_sec,
            30920.0 + 1536.0 + 512.0
        );
        assert_eq!(v.cumulative.tcpsndbytes, 2148 + 20480);
    }

    #[test]
    fn counters_going_backwards_count_from_zero() {
        let t0 = Instant::now();
        let a = sample(t0, 0, vec![entry(1, Some("/a"), 1, [100; 8])]);
        let b = sample(
            t0 + Duration::from_secs(4),
            4,
            vec![entry(1, Some("/a"), 1, [8; 8])],
        );
        let v = CgroupView::build(Some(&a), &b);
        assert_eq!(v.rows[0].rates.unwrap().tcp_snd_bytes_per_sec, 2.0);
        let v = CgroupView::build(None, &b);
        assert_eq!(v.rows[0].rates, None);
        assert_eq!(v.totals, None);
    }

    #[test]
    fn sorting() {
        let mut v = two_samples();
        sort_cgroup_rows(&mut v.rows, SortKey::Path);
        assert_eq!(
            paths(&v.rows),
            [
                "(removed 30)",
                "/system.slice/sshd.service",
                "/user.slice/user-1000.slice/session-1.scope"
            ]
        );
        sort_cgroup_rows(&mut v.rows, SortKey::Procs);
        assert_eq!(
            v.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            [20, 10, 30]
        );
        sort_cgroup_rows(&mut v.rows, SortKey::UdpSnd);
        assert_eq!(
            v.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            [30, 20, 10]
        );
        sort_cgroup_rows(&mut v.rows, SortKey::Cumulative);
        assert_eq!(
            v.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            [20, 10, 30]
        );
    }

    #[test]
    fn batch_text_is_exact() {
        let mut v = two_samples();
        v.overflow = 4;
        let text = render_cgroup_text(&v, SortKey::Total);
        let expected = "\
netatop top  2024-06-01T00:00:02Z  interval 2s  3 cgroups with traffic, 64.6K since start  sort: total  (cgroup table full: 4 finished processes not kept)
Total:   TCP snd 11.0 KB/s 7.0 pk/s rcv 20.5 KB/s 11.0 pk/s  UDP snd 0.6 KB/s 1.5 pk/s rcv 0.1 KB/s 1.0 pk/s  all 32.2 KB/s
Unident: TCP snd - rcv - pk/s  UDP snd - rcv - pk/s  (all traffic: TCP snd - rcv -  UDP snd - rcv - pk/s)

 PROCS  TCPSKB/s  TCPSPK/s  TCPRKB/s  TCPRPK/s  UDPSKB/s  UDPSPK/s  UDPRKB/s  UDPRPK/s   TOTKB/s    BYTES CGROUP
     3      10.0       5.0      20.0      10.0       0.1       1.0       0.1       1.0      30.2    60.4K /user.slice/user-1000.slice/session-1.scope
     1       1.0       2.0       0.5       1.0       0.0       0.0       0.0       0.0       1.5     3.2K /system.slice/sshd.service
     0       0.0       0.0       0.0       0.0       0.5       0.5       0.0       0.0       0.5     1.0K (removed 30)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn json_document_shape() {
        let v = two_samples();
        let doc = serde_json::to_value(CgroupTopJson::new(&v, SortKey::Total)).unwrap();
        assert_eq!(doc["time"], 1_717_200_002u64);
        assert_eq!(doc["interval"], 2.0);
        assert_eq!(doc["sort"], "total");
        assert_eq!(doc["overflow"], 0);
        let cgroups = doc["cgroups"].as_array().unwrap();
        assert_eq!(cgroups.len(), 3);
        assert_eq!(
            serde_json::to_string(&v.rows[1]).unwrap(),
            r#"{"id":10,"path":"/system.slice/sshd.service","removed":false,"processes":1,"rates":{"tcp_snd_bytes_per_sec":1024.0,"tcp_snd_packets_per_sec":2.0,"tcp_rcv_bytes_per_sec":512.0,"tcp_rcv_packets_per_sec":1.0,"udp_snd_bytes_per_sec":0.0,"udp_snd_packets_per_sec":0.0,"udp_rcv_bytes_per_sec":0.0,"udp_rcv_packets_per_sec":0.0,"total_bytes_per_sec":1536.0,"total_packets_per_sec":3.0},"counters":{"tcpsndpacks":5,"tcpsndbytes":2148,"tcprcvpacks":3,"tcprcvbytes":1124,"udpsndpacks":0,"udpsndbytes":0,"udprcvpacks":0,"udprcvbytes":0}}"#
        );
        assert_eq!(cgroups[2]["path"], "(removed 30)");
        assert_eq!(cgroups[2]["removed"], true);
    }

    #[test]
    fn a_sample_maps_ids_to_paths() {
        let mut fake = FakeModule::default();
        let tc = TaskCount {
            udpsndpacks: 2,
            ..TaskCount::default()
        };
        fake.cgroups = vec![
            CgroupCount {
                id: 9,
                nprocs: 0,
                pad: 0,
                tc,
            },
            CgroupCount {
                id: 1,
                nprocs: 4,
                pad: 0,
                tc,
            },
        ];
        fake.cgroup_overflow = 3;
        fake.paths.insert(1, "/".into());
        let s = sample_cgroups(&fake).unwrap();
        assert_eq!(s.overflow, 3);
        assert_eq!(
            s.cgroups,
            [
                CgroupEntry {
                    id: 1,
                    path: Some("/".into()),
                    procs: 4,
                    counters: tc
                },
                CgroupEntry {
                    id: 9,
                    path: None,
                    procs: 0,
                    counters: tc
                }
            ]
        );
        let failing = FakeModule {
            fail: Some(|| netatop::Error::ModuleNotLoaded),
            ..FakeModule::default()
        };
        assert_eq!(sample_cgroups(&failing).unwrap_err().exit_code(), 3);
    }
}
