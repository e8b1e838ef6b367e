//! The report: medians, ratios to "no module", derived costs and targets.
//!
//! Input: the guest driver's result lines (whitespace-separated words, the
//! "BENCH" prefix removed):
//!
//! - `I KEY VALUE`: run information (kernel, CPUs, repetitions, ...);
//! - `R WORKLOAD VARIANT REP VALUE`: one measured rate (VARIANT a, b or c);
//! - `N WORKLOAD REP key=value...`: netatop's table sizes after a (c) run;
//! - `G KEY VALUE`: a GC or memory figure;
//! - `P WORKLOAD HOOK CALLS NS CLOCK_NS OPS HIST...`: the profile build's
//!   time in one hook during a workload (see [`Profile`]);
//! - `F WORKLOAD REP key=value...`: counters after one repetition of a
//!   workload that keeps netatop.ko loaded throughout (the `refusals`
//!   workload: ab's requests and netatop's counters, cumulative since the
//!   load; REP 0 is the baseline right after the load; see [`refusals`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

/// The three variants, in run order.
pub const VARIANTS: [(&str, &str); 3] = [("a", "no module"), ("b", "empty hook"), ("c", "netatop")];

/// What `make bench` says about the numbers, in the table and the JSON.
pub const NOISE_NOTE: &str = "QEMU TCG guest on a shared host: absolute figures are emulated and \
noisy and not comparable across machines or runs; the ratios between variants measured in the \
same run are the result.";

/// Everything read from the raw file.
#[derive(Debug, Default)]
pub struct Raw {
    /// `I` lines.
    pub info: BTreeMap<String, String>,
    /// Workloads in order of first appearance.
    pub order: Vec<String>,
    /// Samples per workload and variant.
    pub samples: BTreeMap<(String, String), Vec<f64>>,
    /// Failed runs per workload and variant.
    pub failures: BTreeMap<(String, String), usize>,
    /// `N` lines: workload -> largest value seen per key.
    pub netatop: BTreeMap<String, BTreeMap<String, u64>>,
    /// `G` lines.
    pub gc: BTreeMap<String, String>,
    /// `P` lines: (workload, hook) -> profile.
    pub profile: BTreeMap<(String, String), Profile>,
    /// `F` lines: workload -> repetition -> key -> value (keys whose value
    /// is not a number are left out).
    pub runs: BTreeMap<String, BTreeMap<u32, BTreeMap<String, u64>>>,
}

/// Time spent inside one of netatop's hooks during one workload, measured by
/// the module's profile build (`NETATOP_PROFILE=y`): the packet summary and
/// the accounting, between two clock reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// Hook invocations.
    pub calls: u64,
    /// ns between the clock reads around the hook's work, summed.
    pub ns: u64,
    /// ns of an empty region between two clock reads, summed: the clock's
    /// own share of `ns`.
    pub clock_ns: u64,
    /// The workload's mean rate over the runs (operations per second).
    pub ops: f64,
    /// Runs added up.
    pub reps: u32,
    /// Calls per [`PROFILE_STEP_NS`] step of time (the last step open).
    pub hist: Vec<u64>,
}

/// Width of a step of the profile histogram.
pub const PROFILE_STEP_NS: f64 = 100.0;

impl Profile {
    /// Mean ns of netatop's own work per hook invocation, the clock's cost
    /// subtracted.
    pub fn ns_per_call(&self) -> Option<f64> {
        // CAST: counts far below 2^53.
        (self.calls > 0).then(|| (self.ns as f64 - self.clock_ns as f64) / self.calls as f64)
    }

    /// Median ns per hook invocation, interpolated within its histogram
    /// step, the clock's mean cost subtracted: unlike the mean, not moved by
    /// the few calls an interrupt or an emulator stall stretched.
    pub fn median_ns(&self) -> Option<f64> {
        let total: u64 = self.hist.iter().sum();
        if total == 0 {
            return None;
        }
        // CAST: counts far below 2^53.
        let half = total as f64 / 2.0;
        let mut below = 0.0;
        for (i, &n) in self.hist.iter().enumerate() {
            let n = n as f64;
            if n > 0.0 && below + n >= half {
                let at = (i as f64 + (half - below) / n) * PROFILE_STEP_NS;
                return Some(at - self.clock_ns as f64 / self.calls.max(1) as f64);
            }
            below += n;
        }
        None
    }
}

impl Raw {
    /// Parses the raw lines; unknown or malformed lines are skipped.
    pub fn parse(text: &str) -> Self {
        let mut raw = Raw::default();
        for line in text.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                ["I", key, rest @ ..] => {
                    raw.info.insert(key.to_string(), rest.join(" "));
                }
                ["G", key, rest @ ..] => {
                    raw.gc.insert(key.to_string(), rest.join(" "));
                }
                ["R", workload, variant, _rep, value] => {
                    if !raw.order.iter().any(|o| o == workload) {
                        raw.order.push(workload.to_string());
                    }
                    let key = (workload.to_string(), variant.to_string());
                    match value.parse::<f64>() {
                        Ok(v) if v.is_finite() && v > 0.0 => {
                            raw.samples.entry(key).or_default().push(v)
                        }
                        _ => *raw.failures.entry(key).or_default() += 1,
                    }
                }
                ["P", workload, hook, calls, ns, clock, ops, hist @ ..] => {
                    if let (Ok(calls), Ok(ns), Ok(clock_ns)) = (
                        calls.parse::<u64>(),
                        ns.parse::<u64>(),
                        clock.parse::<u64>(),
                    ) {
                        let ops = ops.parse().unwrap_or(0.0);
                        // Repetitions add up; the rate is their mean.
                        let p = raw
                            .profile
                            .entry((workload.to_string(), hook.to_string()))
                            .or_default();
                        p.reps += 1;
                        // CAST: a handful of repetitions.
                        p.ops += (ops - p.ops) / p.reps as f64;
                        p.calls += calls;
                        p.ns += ns;
                        p.clock_ns += clock_ns;
                        for (i, h) in hist.iter().enumerate() {
                            let h: u64 = h.parse().unwrap_or(0);
                            match p.hist.get_mut(i) {
                                Some(v) => *v += h,
                                None => p.hist.push(h),
                            }
                        }
                    }
                }
                ["F", workload, rep, kvs @ ..] => {
                    if let Ok(rep) = rep.parse::<u32>() {
                        let m = raw
                            .runs
                            .entry(workload.to_string())
                            .or_default()
                            .entry(rep)
                            .or_default();
                        for kv in kvs {
                            if let Some((k, v)) = kv.split_once('=') {
                                if let Ok(v) = v.parse::<u64>() {
                                    m.insert(k.to_string(), v);
                                }
                            }
                        }
                    }
                }
                ["N", workload, _rep, kvs @ ..] => {
                    let m = raw.netatop.entry(workload.to_string()).or_default();
                    for kv in kvs {
                        if let Some((k, v)) = kv.split_once('=') {
                            if let Ok(v) = v.parse::<u64>() {
                                let e = m.entry(k.to_string()).or_default();
                                *e = (*e).max(v);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        raw
    }

    /// Median of a workload's variant, if it has samples.
    pub fn median(&self, workload: &str, variant: &str) -> Option<f64> {
        self.samples
            .get(&(workload.to_string(), variant.to_string()))
            .and_then(|v| median(v))
    }

    /// median(variant) / median(a).
    pub fn ratio(&self, workload: &str, variant: &str) -> Option<f64> {
        Some(self.median(workload, variant)? / self.median(workload, "a")?)
    }

    /// Added time per operation of `variant` over (a), in ns:
    /// 1/median(variant) - 1/median(a).
    pub fn added_ns(&self, workload: &str, variant: &str) -> Option<f64> {
        Some((1.0 / self.median(workload, variant)? - 1.0 / self.median(workload, "a")?) * 1e9)
    }

    fn gc_f64(&self, key: &str) -> Option<f64> {
        self.gc
            .get(key)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    }

    /// Scale levels (connections) of a scale workload kind (`udp`, `rr`),
    /// ascending.
    pub fn scale_levels(&self, kind: &str) -> Vec<u64> {
        let prefix = format!("scale_{kind}_");
        let mut v: Vec<u64> = self
            .order
            .iter()
            .filter_map(|w| w.strip_prefix(&prefix)?.parse().ok())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Rate of `variant` at the largest scale level over the smallest:
    /// (raw, relative to (a) at each level).
    pub fn scale_flatness(&self, kind: &str, variant: &str) -> Option<(u64, u64, f64, f64)> {
        let levels = self.scale_levels(kind);
        let (lo, hi) = (*levels.first()?, *levels.last()?);
        if lo == hi {
            return None;
        }
        let (wlo, whi) = (format!("scale_{kind}_{lo}"), format!("scale_{kind}_{hi}"));
        let raw = self.median(&whi, variant)? / self.median(&wlo, variant)?;
        let rel = self.ratio(&whi, variant)? / self.ratio(&wlo, variant)?;
        Some((lo, hi, raw, rel))
    }
}

/// One repetition of the `refusals` workload: ab against nginx with
/// netatop.ko (default parameters) loaded once for all repetitions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefusalRep {
    /// Repetition, from 1.
    pub rep: u32,
    /// Requests asked of ab (`-n`).
    pub requests: Option<u64>,
    /// ab's "Complete requests".
    pub completed: Option<u64>,
    /// ab's "Failed requests".
    pub failed: Option<u64>,
    /// sockinfo entries in the table after the repetition.
    pub sockinfo: Option<u64>,
    /// sockinfo entries refused during this repetition (the difference of
    /// the 3.2.2 overflow counter): `full + nomem`.
    pub refused: Option<u64>,
    /// Of these, refused because the table was full.
    pub full: Option<u64>,
    /// Of these, refused because an allocation failed.
    pub nomem: Option<u64>,
    /// taskinfo entries refused during this repetition.
    pub taskinfo_refused: Option<u64>,
}

/// The `refusals` workload's repetitions in order, each with what it
/// refused: the differences of the cumulative counters from the previous
/// line (REP 0, the baseline after the load; zeros without it, as the
/// module was loaded fresh).
pub fn refusals(raw: &Raw) -> Vec<RefusalRep> {
    let Some(runs) = raw.runs.get("refusals") else {
        return Vec::new();
    };
    let empty = BTreeMap::new();
    let mut prev = runs.get(&0).unwrap_or(&empty);
    let mut out = Vec::new();
    for (&rep, m) in runs.range(1..) {
        let get = |k: &str| m.get(k).copied();
        let delta = |k: &str| Some(m.get(k)?.saturating_sub(prev.get(k).copied().unwrap_or(0)));
        out.push(RefusalRep {
            rep,
            requests: get("requests"),
            completed: get("completed"),
            failed: get("failed"),
            sockinfo: get("sockinfo"),
            refused: delta("sockinfo_overflow"),
            full: delta("sockinfo_full"),
            nomem: delta("sockinfo_nomem"),
            taskinfo_refused: delta("taskinfo_overflow"),
        });
        prev = m;
    }
    out
}

/// The target for the `refusals` workload: no sockinfo entry
/// refused in any repetition. `None` if a repetition's count is unknown or
/// there is none.
pub fn refusals_met(reps: &[RefusalRep]) -> Option<bool> {
    if reps.is_empty() {
        return None;
    }
    reps.iter()
        .map(|r| r.refused.map(|n| n == 0))
        .collect::<Option<Vec<bool>>>()
        .map(|v| v.into_iter().all(|ok| ok))
}

/// Median of the finite values (None if there are none).
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// Half the range relative to the median, in percent.
fn spread_pct(v: &[f64]) -> Option<f64> {
    let m = median(v)?;
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((hi - lo) / 2.0 / m * 100.0)
}

/// Human name and unit of a workload.
pub fn describe(workload: &str) -> (String, &'static str) {
    match workload {
        "udp4" => ("UDP 64 B sendto+recv, 127.0.0.1".into(), "pkt/s"),
        "udp6" => ("UDP 64 B sendto+recv, ::1".into(), "pkt/s"),
        "tcp_rr" => ("TCP_RR 1 B, 127.0.0.1".into(), "trans/s"),
        "tcp_crr" => ("TCP_CRR 1 B, 127.0.0.1".into(), "trans/s"),
        "ab" => ("nginx + ab, 127.0.0.1".into(), "req/s"),
        "flood_udp" => ("flood: UDP 64 B pair, exact".into(), "pkt/s"),
        "flood_rr" => ("flood: TCP_RR pair".into(), "trans/s"),
        w => {
            if let Some(n) = w.strip_prefix("scale_udp_") {
                (format!("scale: UDP 64 B, {n} conns"), "pkt/s")
            } else if let Some(n) = w.strip_prefix("scale_rr_") {
                (format!("scale: TCP_RR, {n} conns"), "trans/s")
            } else {
                (w.to_string(), "/s")
            }
        }
    }
}

/// One target of the issue.
#[derive(Debug)]
pub struct Target {
    /// What is compared.
    pub name: String,
    /// The measured value.
    pub value: Option<f64>,
    /// The bound.
    pub bound: f64,
    /// True: value must be at least `bound`; false: at most.
    pub at_least: bool,
    /// Unit shown after the numbers.
    pub unit: &'static str,
}

impl Target {
    /// `Some(true)` met, `Some(false)` missed, `None` not measured.
    pub fn met(&self) -> Option<bool> {
        self.value.map(|v| {
            if self.at_least {
                v >= self.bound
            } else {
                v <= self.bound
            }
        })
    }
}

/// The targets of the issue, evaluated on `raw`.
pub fn targets(raw: &Raw) -> Vec<Target> {
    let t = |name: &str, value, bound, at_least, unit| Target {
        name: name.to_string(),
        value,
        bound,
        at_least,
        unit,
    };
    let cost_ratio = |w: &str| {
        let (b, c) = (raw.added_ns(w, "b")?, raw.added_ns(w, "c")?);
        // An empty-hook cost lost in the noise gives no meaningful ratio.
        (b > 0.0).then_some(c / b)
    };
    let mut v = vec![
        t(
            "nginx/ab request rate, netatop/none",
            raw.ratio("ab", "c"),
            0.97,
            true,
            "",
        ),
        t(
            "UDP 64 B rate 127.0.0.1, netatop/none",
            raw.ratio("udp4", "c"),
            0.95,
            true,
            "",
        ),
        t(
            "UDP 64 B rate ::1, netatop/none",
            raw.ratio("udp6", "c"),
            0.95,
            true,
            "",
        ),
        t(
            "TCP_CRR rate, netatop/none",
            raw.ratio("tcp_crr", "c"),
            0.93,
            true,
            "",
        ),
        t(
            "added cost/packet 127.0.0.1, netatop/empty hook",
            cost_ratio("udp4"),
            1.5,
            false,
            "",
        ),
        t(
            "added cost/packet ::1, netatop/empty hook",
            cost_ratio("udp6"),
            1.5,
            false,
            "",
        ),
        t(
            "added cost/transaction TCP_RR, netatop/empty hook",
            cost_ratio("tcp_rr"),
            1.5,
            false,
            "",
        ),
        t(
            "added cost/transaction TCP_CRR, netatop/empty hook",
            cost_ratio("tcp_crr"),
            3.0,
            false,
            "",
        ),
        t(
            "UDP rate during a flood, netatop/none",
            raw.ratio("flood_udp", "c"),
            0.95,
            true,
            "",
        ),
        t(
            "refused sockinfo entries, most in one run of any workload",
            raw.netatop
                .values()
                .filter_map(|m| m.get("sockinfo_overflow"))
                .max()
                // CAST: a count of entries.
                .map(|&n| n as f64),
            0.0,
            false,
            "",
        ),
    ];
    let refused = refusals(raw);
    v.push(t(
        "ab refusals (issue #26): refused sockinfo, worst rep",
        if refusals_met(&refused).is_some() {
            refused
                .iter()
                .filter_map(|r| r.refused)
                .max()
                // CAST: a count of entries.
                .map(|n| n as f64)
        } else {
            None
        },
        0.0,
        false,
        "",
    ));
    for (kind, label) in [("udp", "UDP"), ("rr", "TCP_RR")] {
        let f = raw.scale_flatness(kind, "c");
        let (lo, hi) = f.map_or((0, 0), |(lo, hi, _, _)| (lo, hi));
        v.push(t(
            &format!("{label} rate (netatop) at {hi} / at {lo} conns"),
            f.map(|x| x.2),
            0.95,
            true,
            "",
        ));
        v.push(t(
            "  same, each relative to no module",
            f.map(|x| x.3),
            0.95,
            true,
            "",
        ));
    }
    let n = raw
        .gc
        .get("gc_sockinfo")
        .cloned()
        .unwrap_or_else(|| "?".into());
    v.push(t(
        &format!("GC pass over {n} sockinfo"),
        raw.gc_f64("gc_full_ms"),
        20.0,
        false,
        " ms",
    ));
    v.push(t(
        "kernel memory per sockinfo",
        raw.gc_f64("sockinfo_bytes_kmalloc"),
        160.0,
        false,
        " B",
    ));
    v
}

fn fmt_rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

/// The table as text.
pub fn render(raw: &Raw) -> String {
    let mut s = String::new();
    let i = |k: &str| raw.info.get(k).map_or("?", String::as_str);
    let _ = writeln!(s, "netatop-rs benchmark (make bench)");
    let _ = writeln!(
        s,
        "guest: Linux {}, {} vCPUs, {} MB, accel {}; {} repetitions per variant, runs of {} s; \
         TCP_RR/CRR client and server on CPU {}",
        i("kernel"),
        i("cpus"),
        i("mem_mb"),
        i("accel"),
        i("reps"),
        i("duration"),
        i("rr_cpu"),
    );
    let _ = writeln!(
        s,
        "nginx + ab: ab -c {} runs throughout; each sample is nginx's completed requests in a {} s \
         window (from its access log), {} s after the variant was loaded",
        i("ab_concurrency"),
        i("ab_duration"),
        i("ab_settle"),
    );
    let _ = writeln!(
        s,
        "variants, run alternately (a b c a b c ...): (a) no module, (b) nf_empty.ko: an empty \
         netfilter hook on the same 4 hooks, (c) netatop.ko"
    );
    let _ = writeln!(s, "NOTE: {NOISE_NOTE}");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<34} {:>7} {:>15} {:>15} {:>15} {:>6} {:>6}",
        "workload (median, ±half range)",
        "unit",
        "(a) none",
        "(b) empty",
        "(c) netatop",
        "b/a",
        "c/a"
    );
    for w in &raw.order {
        let (name, unit) = describe(w);
        let cell = |v: &str| -> String {
            let key = (w.clone(), v.to_string());
            match raw.samples.get(&key) {
                Some(x) if !x.is_empty() => format!(
                    "{} ±{:.0}%",
                    fmt_rate(median(x).unwrap_or(0.0)),
                    spread_pct(x).unwrap_or(0.0)
                ),
                _ => "failed".to_string(),
            }
        };
        let _ = writeln!(
            s,
            "{:<34} {:>7} {:>15} {:>15} {:>15} {:>6} {:>6}",
            name,
            unit,
            cell("a"),
            cell("b"),
            cell("c"),
            opt(raw.ratio(w, "b"), 3),
            opt(raw.ratio(w, "c"), 3)
        );
    }
    let fails: Vec<String> = raw
        .failures
        .iter()
        .map(|((w, v), n)| format!("{w}/{v}: {n}"))
        .collect();
    if !fails.is_empty() {
        let _ = writeln!(s, "FAILED RUNS: {}", fails.join(", "));
    }

    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "added time per operation, 1/rate(x) - 1/rate(a) (TCG time: compare the two, not the ns):"
    );
    for (w, what) in [
        (
            "udp4",
            "UDP packet, 127.0.0.1 (crosses LOCAL_OUT + LOCAL_IN)",
        ),
        ("udp6", "UDP packet, ::1 (crosses LOCAL_OUT + LOCAL_IN)"),
        ("tcp_rr", "TCP_RR transaction (2+ packets)"),
        ("tcp_crr", "TCP_CRR transaction (~10 packets)"),
    ] {
        let (b, c) = (raw.added_ns(w, "b"), raw.added_ns(w, "c"));
        if b.is_none() && c.is_none() {
            continue;
        }
        let ratio = match (b, c) {
            (Some(b), Some(c)) if b > 0.0 => format!("{:.2}", c / b),
            _ => "n/a".to_string(),
        };
        let _ = writeln!(
            s,
            "  {what:<52} empty hook {:>8} ns, netatop {:>8} ns, netatop/empty {ratio}",
            opt(b, 0),
            opt(c, 0)
        );
    }
    if let Some(r) = raw.ratio("ab", "c") {
        let _ = writeln!(
            s,
            "  nginx/ab time per request with netatop: {:+.1}% (published, bare metal: netatop 3.x \
             +27.9%, BPF tracepoint +3.4%)",
            (1.0 / r - 1.0) * 100.0
        );
    }

    let levels = raw.scale_levels("udp");
    if !levels.is_empty() {
        let _ = writeln!(s);
        let procs: Vec<String> = levels
            .iter()
            .map(|l| format!("{l} conns in {} procs", i(&format!("scale_procs_{l}"))))
            .collect();
        let _ = writeln!(
            s,
            "scale: TCP connections held open (both ends touched after each module load): {}; \
             netatop.ko parameters: {}",
            procs.join(", "),
            i("scale_netatop_params")
        );
        if let Some(b) = raw.gc_f64("sockinfo_bytes_kmalloc").filter(|b| *b > 0.0) {
            let _ = writeln!(
                s,
                "  (the default cap, sockinfo_limit_kb=4096, holds about {:.0} sockinfo entries: \
                 {:.0} loopback connections, which have an entry for each end)",
                4096.0 * 1024.0 / b,
                4096.0 * 1024.0 / b / 2.0
            );
        }
        for (kind, label) in [("udp", "UDP 64 B"), ("rr", "TCP_RR")] {
            for (v, vname) in VARIANTS {
                if let Some((lo, hi, r, rel)) = raw.scale_flatness(kind, v) {
                    let _ = writeln!(
                        s,
                        "  {label:<9} ({v}) {vname:<11} rate at {hi} / at {lo} conns: {r:.3} (relative to (a) at each level: {rel:.3})"
                    );
                }
            }
        }
    }

    if !raw.gc.is_empty() {
        let g = |k: &str| raw.gc.get(k).map_or("?", String::as_str);
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "GC (netatop.ko, sockinfo_limit_kb=65536): {} UDP sockinfo entries created in {} s \
             ({} namespaces); one forced pass: {} ms (passes: {}; empty tables: {} ms); entries \
             deleted by the pass: {}",
            g("gc_sockinfo"),
            g("gc_flood_s"),
            i("gc_namespaces"),
            g("gc_full_ms"),
            g("gc_full_ms_all"),
            g("gc_empty_ms"),
            g("gc_sockinfo_deleted")
        );
        let _ = writeln!(
            s,
            "    a pass visits only buckets with an entry due: after {} processes finished (their \
             buckets): {} ms; the worst cases: sweep of the whole table ({} sockinfo) for a \
             finished process with sockets in more than 3 buckets: {} ms; deleting {} entries \
             idle > 16 s: {} ms",
            g("gc_exits_exited"),
            g("gc_exits_ms"),
            g("gc_sweep_sockinfo"),
            g("gc_sweep_ms"),
            g("gc_expire_deleted"),
            g("gc_expire_ms")
        );
        let _ = writeln!(
            s,
            "memory: {} B per sockinfo (kmalloc objects; all slab caches {} B; slab pages {} B), \
             grown caches {}",
            g("sockinfo_bytes_kmalloc"),
            g("sockinfo_bytes_slab"),
            g("sockinfo_bytes_meminfo"),
            g("sockinfo_caches")
        );
        let _ = writeln!(
            s,
            "        {} B per taskinfo ({} entries for {} processes; all slab caches {} B), grown \
             caches {}",
            g("taskinfo_bytes_kmalloc"),
            g("taskinfo_created"),
            g("taskinfo_processes"),
            g("taskinfo_bytes_slab"),
            g("taskinfo_caches")
        );
    }

    if raw.gc.contains_key("scrape_ms") {
        let g = |k: &str| raw.gc.get(k).map_or("?", String::as_str);
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "exporter (target: a scrape well under 100 ms): {} processes; GETCNT_TASKS: {} ms \
             (median); a scrape of netatop-exporter: {} ms (median, max {} ms), {} netatop_ \
             series, {} bytes",
            g("scrape_processes"),
            g("scrape_tasks_call_ms"),
            g("scrape_ms"),
            g("scrape_max_ms"),
            g("scrape_series"),
            g("scrape_bytes")
        );
        if raw.gc.contains_key("scrape_conns_call_ms") {
            let _ = writeln!(
                s,
                "connections: a GETCNT_CONNS snapshot of {} connections: {} ms (median; decoded \
                 into typed connections: {} ms); refused sockinfo entries: {}",
                g("scrape_conns"),
                g("scrape_conns_call_ms"),
                g("scrape_conns_typed_ms"),
                g("scrape_conns_overflow")
            );
        }
        if raw.gc.contains_key("dbus_getstats_ms") {
            let _ = writeln!(
                s,
                "netatop-dbus (target: well under 100 ms): GetStats listing {} processes, as root \
                 through zbus: {} ms (median, reply decoded); a no-op InitCapture: {} ms",
                g("dbus_getstats_processes"),
                g("dbus_getstats_ms"),
                g("dbus_initcapture_ms")
            );
        }
    }

    render_refusals(raw, &mut s);

    // Every workload's refused sockinfo entries (the most in one run): with
    // the default caps this must read 0 everywhere (issue #14).
    let refused: Vec<String> = raw
        .netatop
        .iter()
        .map(|(w, m)| {
            format!(
                "{w} {} (table {})",
                m.get("sockinfo_overflow").copied().unwrap_or(0),
                m.get("sockinfo").copied().unwrap_or(0)
            )
        })
        .collect();
    if !refused.is_empty() {
        let _ = writeln!(
            s,
            "refused sockinfo entries per run, most in one run (packets counted unidentified; target 0): {}",
            refused.join(", ")
        );
    }
    if !raw.profile.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "profile build: median ns of netatop's own work per hook call (summary + accounting, \
             clock cost subtracted), and the mean ns per operation all calls added"
        );
        let _ = writeln!(
            s,
            "{:<10} {:>10} {:>10} {:>10} {:>10} {:>12}",
            "workload", "ipv4_out", "ipv4_in", "ipv6_out", "ipv6_in", "ns per op"
        );
        let mut workloads: Vec<&String> = raw.profile.keys().map(|(w, _)| w).collect();
        workloads.dedup();
        for w in workloads {
            let _ = write!(s, "{w:<10}");
            let mut total_ns = 0.0;
            let mut ops = 0.0;
            for hook in ["ipv4_out", "ipv4_in", "ipv6_out", "ipv6_in"] {
                let p = raw.profile.get(&(w.clone(), hook.to_string()));
                if let Some(mean) = p.and_then(Profile::ns_per_call) {
                    // CAST: counts far below 2^53.
                    total_ns += mean * p.map_or(0, |p| p.calls) as f64;
                    ops = p.map_or(0.0, |p| p.ops);
                }
                let _ = write!(s, " {:>10}", opt(p.and_then(Profile::median_ns), 1));
            }
            let dur = raw.info.get("duration").and_then(|d| d.parse::<f64>().ok());
            let reps = raw
                .profile
                .get(&(w.clone(), "ipv4_out".to_string()))
                .map_or(1.0, |p| f64::from(p.reps.max(1)));
            let per_op = dur
                .filter(|_| ops > 0.0)
                .map(|d| total_ns / (ops * d * reps));
            let _ = writeln!(s, " {:>12}", opt(per_op, 1));
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "targets (issue #14; a miss is a finding):");
    for t in targets(raw) {
        let verdict = match t.met() {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        let _ = writeln!(
            s,
            "  {:<52} {:>9}{} {} {}{}  {}",
            t.name,
            opt(t.value, if t.unit.is_empty() { 3 } else { 1 }),
            t.unit,
            if t.at_least { ">=" } else { "<=" },
            t.bound,
            t.unit,
            verdict
        );
    }
    s
}

/// Text of an optional count.
fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The `refusals` workload's section, if it ran.
fn render_refusals(raw: &Raw, s: &mut String) {
    let reps = refusals(raw);
    if reps.is_empty() && !raw.info.contains_key("refusals_requests") {
        return;
    }
    let i = |k: &str| raw.info.get(k).map_or("?", String::as_str);
    let _ = writeln!(s);
    // Older raw files have no refusals_params: the default caps.
    let params = raw
        .info
        .get("refusals_params")
        .filter(|p| p.as_str() != "default");
    let caps = params.map_or_else(|| "default caps".to_string(), |p| format!("netatop.ko {p}"));
    let _ = writeln!(
        s,
        "ab refusals ({} requests, concurrency {}, {caps})",
        i("refusals_requests"),
        i("refusals_concurrency")
    );
    let _ = writeln!(
        s,
        "  netatop.ko loaded once with {}, then {} repetitions of ab -n {} -c {} \
         against nginx; per repetition: ab's requests, the sockinfo entries in the table after it, \
         and the entries it refused (the differences of the cumulative counters of /proc/netatop \
         from the previous repetition; full: the table was full, nomem: an allocation failed)",
        params.map_or("its default parameters", String::as_str),
        i("reps"),
        i("refusals_requests"),
        i("refusals_concurrency")
    );
    let _ = writeln!(
        s,
        "  {:>3} {:>9} {:>7} {:>8} {:>8} {:>6} {:>6} {:>8}",
        "rep", "completed", "failed", "sockinfo", "refused", "full", "nomem", "taskinfo"
    );
    for r in &reps {
        let _ = writeln!(
            s,
            "  {:>3} {:>9} {:>7} {:>8} {:>8} {:>6} {:>6} {:>8}",
            r.rep,
            count(r.completed),
            count(r.failed),
            count(r.sockinfo),
            count(r.refused),
            count(r.full),
            count(r.nomem),
            count(r.taskinfo_refused)
        );
    }
    let _ = writeln!(
        s,
        "  (sockinfo: entries in the table after the repetition; refused, full, nomem: sockinfo \
         entries refused during it; taskinfo: taskinfo entries refused during it)"
    );
    let mut notes = Vec::new();
    let want: Option<usize> = raw.info.get("reps").and_then(|r| r.parse().ok());
    if let Some(want) = want.filter(|&w| w != reps.len()) {
        notes.push(format!("{} of {want} repetitions ran", reps.len()));
    }
    let short: Vec<String> = reps
        .iter()
        .filter(|r| r.completed.is_none() || r.completed != r.requests)
        .map(|r| r.rep.to_string())
        .collect();
    if !short.is_empty() {
        notes.push(format!(
            "ab did not complete every request in repetition {}",
            short.join(", ")
        ));
    }
    if i("refusals_requests") != "40000" || params.is_some() {
        notes.push(
            "the issue's target is for 40000 requests per repetition with the default caps"
                .to_string(),
        );
    }
    let verdict = match refusals_met(&reps) {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "not measured",
    };
    let _ = write!(s, "  target: 0 refused in every repetition: {verdict}");
    if !notes.is_empty() {
        let _ = write!(s, " ({})", notes.join("; "));
    }
    let _ = writeln!(s);
}

/// The `refusals` workload in the JSON summary (null if it did not run).
fn summary_refusals(raw: &Raw) -> Value {
    let reps = refusals(raw);
    if reps.is_empty() && !raw.info.contains_key("refusals_requests") {
        return Value::Null;
    }
    let num = |k: &str| raw.info.get(k).and_then(|v| v.parse::<u64>().ok());
    json!({
        "requests": num("refusals_requests"),
        "concurrency": num("refusals_concurrency"),
        "netatop_params": "defaults",
        "counts": "per repetition: sockinfo is the table's size after it; refused, \
                   refused_full, refused_nomem and taskinfo_refused are the entries refused \
                   during it (differences of /proc/netatop's cumulative counters; the module \
                   stays loaded across the repetitions)",
        "repetitions": reps.iter().map(|r| json!({
            "rep": r.rep,
            "requests": r.requests,
            "completed": r.completed,
            "failed": r.failed,
            "sockinfo": r.sockinfo,
            "refused": r.refused,
            "refused_full": r.full,
            "refused_nomem": r.nomem,
            "taskinfo_refused": r.taskinfo_refused,
        })).collect::<Vec<Value>>(),
        "target": "0 refused sockinfo entries in every repetition",
        "met": refusals_met(&reps),
    })
}

/// The machine-readable summary.
pub fn summary(raw: &Raw) -> Value {
    let mut workloads = Map::new();
    for w in &raw.order {
        let (name, unit) = describe(w);
        let mut variants = Map::new();
        for (v, vname) in VARIANTS {
            let samples = raw
                .samples
                .get(&(w.clone(), v.to_string()))
                .cloned()
                .unwrap_or_default();
            variants.insert(
                v.to_string(),
                json!({
                    "name": vname,
                    "samples": samples,
                    "median": median(&samples),
                    "ratio_to_a": raw.ratio(w, v),
                    "added_ns_per_op": if v == "a" { None } else { raw.added_ns(w, v) },
                    "failed_runs": raw.failures.get(&(w.clone(), v.to_string())).copied().unwrap_or(0),
                }),
            );
        }
        workloads.insert(
            w.clone(),
            json!({
                "name": name,
                "unit": unit,
                "variants": variants,
                "netatop_tables_max": raw.netatop.get(w),
            }),
        );
    }
    let mut scale = Map::new();
    for kind in ["udp", "rr"] {
        let mut per = Map::new();
        for (v, _) in VARIANTS {
            if let Some((lo, hi, r, rel)) = raw.scale_flatness(kind, v) {
                per.insert(
                    v.to_string(),
                    json!({"low": lo, "high": hi, "rate_high_over_low": r, "relative_to_a_high_over_low": rel}),
                );
            }
        }
        scale.insert(kind.to_string(), Value::Object(per));
    }
    let targets: Vec<Value> = targets(raw)
        .iter()
        .map(|t| {
            json!({
                "name": t.name.trim(),
                "value": t.value,
                "bound": t.bound,
                "comparison": if t.at_least { ">=" } else { "<=" },
                "unit": t.unit.trim(),
                "met": t.met(),
            })
        })
        .collect();
    let gc: Map<String, Value> = raw
        .gc
        .iter()
        .map(|(k, v)| {
            let val = v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map_or_else(|| Value::String(v.clone()), |x| json!(x));
            (k.clone(), val)
        })
        .collect();
    json!({
        "note": NOISE_NOTE,
        "variants": {"a": "no module", "b": "nf_empty.ko (empty netfilter hook, same 4 hooks)", "c": "netatop.ko"},
        "ratio_definition": "median(variant) / median(a), medians over the repetitions of one run",
        "info": raw.info,
        "workloads": workloads,
        "scale": scale,
        "refusals": summary_refusals(raw),
        "gc": gc,
        "profile": raw.profile.iter().map(|((w, h), p)| json!({
            "workload": w, "hook": h, "calls": p.calls, "ns": p.ns, "clock_ns": p.clock_ns,
            "ops_per_s": p.ops, "mean_ns_per_call": p.ns_per_call(),
            "median_ns_per_call": p.median_ns(), "histogram_100ns": p.hist,
        })).collect::<Vec<Value>>(),
        "targets": targets,
    })
}

/// Reads `raw`, prints the table and writes the JSON summary.
pub fn run(raw: &Path, json_out: Option<&Path>) -> Result<()> {
    let text = std::fs::read_to_string(raw).with_context(|| format!("read {}", raw.display()))?;
    let raw = Raw::parse(&text);
    print!("{}", render(&raw));
    if let Some(p) = json_out {
        let body = serde_json::to_string_pretty(&summary(&raw))?;
        std::fs::write(p, body + "\n").with_context(|| format!("write {}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "I kernel 7.3.4
I reps 3
R udp4 a 1 1000
R udp4 b 1 900
R udp4 c 1 800
R udp4 a 2 1000
R udp4 b 2 900
R udp4 c 2 800
R ab a 1 100
R ab c 1 fail
R scale_udp_10 a 1 1000
R scale_udp_10 c 1 800
R scale_udp_20000 a 1 990
R scale_udp_20000 c 1 780
N tcp_crr 1 sockinfo=20000 sockinfo_overflow=5
G gc_full_ms 12.5
G sockinfo_bytes_kmalloc 128.0
G gc_sockinfo 100002
G gc_exits_ms 3.5
G gc_exits_exited 1000
G gc_sweep_ms 30.5
G gc_sweep_exited 1
G gc_sweep_sockinfo 100002
G gc_expire_ms 40.1
G gc_expire_deleted 100000
";

    #[test]
    fn medians_and_ratios() {
        let r = Raw::parse(RAW);
        assert_eq!(r.median("udp4", "a"), Some(1000.0));
        assert!((r.ratio("udp4", "c").unwrap_or(0.0) - 0.8).abs() < 1e-9);
        // 1/900 - 1/1000 s = 111111 ns; 1/800 - 1/1000 s = 250000 ns.
        assert!((r.added_ns("udp4", "b").unwrap_or(0.0) - 111_111.1).abs() < 1.0);
        assert!((r.added_ns("udp4", "c").unwrap_or(0.0) - 250_000.0).abs() < 1.0);
        assert_eq!(r.failures.get(&("ab".into(), "c".into())), Some(&1));
        assert_eq!(r.ratio("ab", "c"), None);
    }

    #[test]
    fn median_even_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn scale_and_targets() {
        let r = Raw::parse(RAW);
        assert_eq!(r.scale_levels("udp"), vec![10, 20000]);
        let (lo, hi, raw, rel) = r.scale_flatness("udp", "c").unwrap_or_default();
        assert_eq!((lo, hi), (10, 20000));
        assert!((raw - 0.975).abs() < 1e-9);
        assert!((rel - 0.78 / 0.99 / 0.8).abs() < 1e-9);
        let t = targets(&r);
        let udp = t
            .iter()
            .find(|t| t.name.starts_with("UDP 64 B rate 127"))
            .map(Target::met);
        assert_eq!(udp, Some(Some(false)));
        let gc = t
            .iter()
            .find(|t| t.name.starts_with("GC pass"))
            .map(Target::met);
        assert_eq!(gc, Some(Some(true)));
        let ab = t
            .iter()
            .find(|t| t.name.starts_with("nginx"))
            .map(Target::met);
        assert_eq!(ab, Some(None));
        // added cost: 250000 / 111111 = 2.25 > 2.
        let cost = t
            .iter()
            .find(|t| t.name.starts_with("added cost/packet 127"))
            .map(Target::met);
        assert_eq!(cost, Some(Some(false)));
    }

    #[test]
    fn renders_and_summarises() {
        let r = Raw::parse(RAW);
        let text = render(&r);
        assert!(text.contains("NOTE: QEMU TCG"));
        assert!(text.contains("MISSED"));
        assert!(text.contains("target 0): tcp_crr 5 (table 20000)"));
        assert!(text.contains(
            "after 1000 processes finished (their buckets): 3.5 ms; the worst cases: sweep of the \
             whole table (100002 sockinfo) for a finished process with sockets in more than 3 \
             buckets: 30.5 ms; deleting 100000 entries idle > 16 s: 40.1 ms"
        ));
        let j = summary(&r);
        assert_eq!(
            j["workloads"]["udp4"]["variants"]["c"]["median"],
            json!(800.0)
        );
        assert_eq!(j["gc"]["gc_full_ms"], json!(12.5));
    }

    const REFUSALS: &str = "I reps 3
I refusals_requests 40000
I refusals_concurrency 50
F refusals 0 requests=0 completed=0 failed=0 sockinfo=2 sockinfo_overflow=0 taskinfo=5 \
taskinfo_overflow=0 unident=0 sockinfo_full=0 sockinfo_nomem=0 taskinfo_full=0 taskinfo_nomem=0
F refusals 1 requests=40000 completed=40000 failed=0 sockinfo=6559 sockinfo_overflow=0 \
taskinfo=60 taskinfo_overflow=0 unident=0 sockinfo_full=0 sockinfo_nomem=0 taskinfo_full=0 \
taskinfo_nomem=0
F refusals 2 requests=40000 completed=40000 failed=0 sockinfo=11747 sockinfo_overflow=4 \
taskinfo=61 taskinfo_overflow=0 unident=9 sockinfo_full=3 sockinfo_nomem=1 taskinfo_full=0 \
taskinfo_nomem=0
F refusals 3 requests=40000 completed=? failed=? sockinfo=3026 sockinfo_overflow=4 \
taskinfo=61 taskinfo_overflow=0 unident=9 sockinfo_full=3 sockinfo_nomem=1 taskinfo_full=0 \
taskinfo_nomem=0
";

    #[test]
    fn refusals_per_repetition() {
        let r = Raw::parse(REFUSALS);
        let reps = refusals(&r);
        assert_eq!(reps.len(), 3);
        assert_eq!(
            reps[1],
            RefusalRep {
                rep: 2,
                requests: Some(40000),
                completed: Some(40000),
                failed: Some(0),
                sockinfo: Some(11747),
                refused: Some(4),
                full: Some(3),
                nomem: Some(1),
                taskinfo_refused: Some(0),
            }
        );
        // Cumulative counters: repetition 3 refused nothing more.
        assert_eq!(
            (reps[2].refused, reps[2].full, reps[2].completed),
            (Some(0), Some(0), None)
        );
        assert_eq!(refusals_met(&reps), Some(false));
        assert_eq!(refusals_met(&reps[..1]), Some(true));
        assert_eq!(refusals_met(&[]), None);
        let text = render(&r);
        assert!(
            text.contains("ab refusals (40000 requests, concurrency 50, default caps)\n"),
            "{text}"
        );
        assert!(
            text.contains("\n    2     40000       0    11747        4      3      1        0\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  target: 0 refused in every repetition: NOT met (ab did not complete every \
                 request in repetition 3)\n"
            ),
            "{text}"
        );
        let worst = targets(&r)
            .into_iter()
            .find(|t| t.name.starts_with("ab refusals"))
            .and_then(|t| t.value);
        assert_eq!(worst, Some(4.0));
        let j = summary(&r);
        assert_eq!(j["refusals"]["repetitions"][1]["refused_full"], json!(3));
        assert_eq!(j["refusals"]["repetitions"][2]["completed"], Value::Null);
        assert_eq!(j["refusals"]["met"], json!(false));
        assert_eq!(summary(&Raw::parse(RAW))["refusals"], Value::Null);
    }

    #[test]
    fn refusals_with_module_parameters_say_so() {
        let r = Raw::parse(
            "I reps 1\nI refusals_requests 40000\nI refusals_concurrency 50\n\
             I refusals_params sockinfo_limit_kb=256\n\
             F refusals 1 requests=40000 completed=40000 failed=0 sockinfo=1700 \
             sockinfo_overflow=0 sockinfo_full=0 sockinfo_nomem=0\n",
        );
        let text = render(&r);
        assert!(
            text.contains(
                "ab refusals (40000 requests, concurrency 50, netatop.ko sockinfo_limit_kb=256)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("loaded once with sockinfo_limit_kb=256, then 1 repetitions"),
            "{text}"
        );
        assert!(text.contains("with the default caps)"), "{text}");
    }

    #[test]
    fn refusals_met_without_baseline() {
        // No REP 0 line: the module was loaded fresh, so the baseline is 0.
        let r = Raw::parse(
            "I reps 2\nI refusals_requests 2000\nI refusals_concurrency 50\n\
             F refusals 1 requests=2000 completed=2000 failed=0 sockinfo=10 sockinfo_overflow=0\n",
        );
        let text = render(&r);
        assert!(
            text.contains(
                "target: 0 refused in every repetition: met (1 of 2 repetitions ran; the issue's \
                 target is for 40000 requests per repetition with the default caps)"
            ),
            "{text}"
        );
        // Without the module's refusals by cause, full and nomem are unknown.
        assert!(text.contains("    1      2000       0       10        0      -      -        -"));
    }

    #[test]
    fn profile_subtracts_the_clock() {
        let r = Raw::parse(
            "I duration 2\nP udp4 ipv4_out 1000 500000 100000 250 0 0 0 0 500 400 100\n\
             P udp4 ipv4_in 1000 300000 100000 250 0 0 1000\nP udp4 ipv6_out 0 0 0 250\n",
        );
        let p = &r.profile[&("udp4".to_string(), "ipv4_out".to_string())];
        assert_eq!(p.ns_per_call(), Some(400.0));
        // Half of the calls are below 500 ns; the clock's 100 ns subtracted.
        assert_eq!(p.median_ns(), Some(400.0));
        assert_eq!(
            r.profile[&("udp4".to_string(), "ipv6_out".to_string())].ns_per_call(),
            None
        );
        // Means: (400 + 200) ns x 1000 calls over 250 op/s x 2 s = 1200 ns
        // per op; medians 400 and 150 ns.
        let text = render(&r);
        assert!(
            text.contains("udp4            400.0      150.0          -          -       1200.0"),
            "{text}"
        );
        assert_eq!(
            summary(&r)["profile"][0]["median_ns_per_call"],
            json!(150.0)
        );
    }
}
