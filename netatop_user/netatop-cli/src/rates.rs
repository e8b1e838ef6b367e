//! Rates from two samples.
//!
//! The first sample is a baseline: it shows cumulative counters only. From
//! the second on, a task's rate is (counters now − counters before) ÷ the
//! time between the two samples. A task that was not in the previous sample
//! (it started, or sent its first packet, in between) counts from zero; so
//! does a task whose start time changed (pid reused) or whose counters went
//! backwards (module reloaded): all its counts are then recent ones.

use std::collections::HashMap;

use netatop::{ProcCounters, TaskCount};
use serde::Serialize;

use crate::sample::{Sample, TaskSample};

/// Per-second rates of one task, or a sum of tasks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rates {
    /// TCP bytes sent per second.
    pub tcp_snd_bytes_per_sec: f64,
    /// TCP packets sent per second.
    pub tcp_snd_packets_per_sec: f64,
    /// TCP bytes received per second.
    pub tcp_rcv_bytes_per_sec: f64,
    /// TCP packets received per second.
    pub tcp_rcv_packets_per_sec: f64,
    /// UDP bytes sent per second.
    pub udp_snd_bytes_per_sec: f64,
    /// UDP packets sent per second.
    pub udp_snd_packets_per_sec: f64,
    /// UDP bytes received per second.
    pub udp_rcv_bytes_per_sec: f64,
    /// UDP packets received per second.
    pub udp_rcv_packets_per_sec: f64,
    /// All bytes per second (the four byte rates summed).
    pub total_bytes_per_sec: f64,
    /// All packets per second (the four packet rates summed).
    pub total_packets_per_sec: f64,
}

impl Rates {
    /// The rates of `now - before` over `secs` seconds (`before` must be
    /// covered by `now`, see [`TaskCount::covers`]).
    pub fn between(before: &TaskCount, now: &TaskCount, secs: f64) -> Self {
        let d = |a: u64, b: u64| (a - b) as f64 / secs;
        let mut r = Rates {
            tcp_snd_bytes_per_sec: d(now.tcpsndbytes, before.tcpsndbytes),
            tcp_snd_packets_per_sec: d(now.tcpsndpacks, before.tcpsndpacks),
            tcp_rcv_bytes_per_sec: d(now.tcprcvbytes, before.tcprcvbytes),
            tcp_rcv_packets_per_sec: d(now.tcprcvpacks, before.tcprcvpacks),
            udp_snd_bytes_per_sec: d(now.udpsndbytes, before.udpsndbytes),
            udp_snd_packets_per_sec: d(now.udpsndpacks, before.udpsndpacks),
            udp_rcv_bytes_per_sec: d(now.udprcvbytes, before.udprcvbytes),
            udp_rcv_packets_per_sec: d(now.udprcvpacks, before.udprcvpacks),
            ..Rates::default()
        };
        r.update_totals();
        r
    }

    fn update_totals(&mut self) {
        self.total_bytes_per_sec = self.tcp_snd_bytes_per_sec
            + self.tcp_rcv_bytes_per_sec
            + self.udp_snd_bytes_per_sec
            + self.udp_rcv_bytes_per_sec;
        self.total_packets_per_sec = self.tcp_snd_packets_per_sec
            + self.tcp_rcv_packets_per_sec
            + self.udp_snd_packets_per_sec
            + self.udp_rcv_packets_per_sec;
    }

    /// Field-wise sum.
    pub fn add(&self, o: &Rates) -> Rates {
        let mut r = Rates {
            tcp_snd_bytes_per_sec: self.tcp_snd_bytes_per_sec + o.tcp_snd_bytes_per_sec,
            tcp_snd_packets_per_sec: self.tcp_snd_packets_per_sec + o.tcp_snd_packets_per_sec,
            tcp_rcv_bytes_per_sec: self.tcp_rcv_bytes_per_sec + o.tcp_rcv_bytes_per_sec,
            tcp_rcv_packets_per_sec: self.tcp_rcv_packets_per_sec + o.tcp_rcv_packets_per_sec,
            udp_snd_bytes_per_sec: self.udp_snd_bytes_per_sec + o.udp_snd_bytes_per_sec,
            udp_snd_packets_per_sec: self.udp_snd_packets_per_sec + o.udp_snd_packets_per_sec,
            udp_rcv_bytes_per_sec: self.udp_rcv_bytes_per_sec + o.udp_rcv_bytes_per_sec,
            udp_rcv_packets_per_sec: self.udp_rcv_packets_per_sec + o.udp_rcv_packets_per_sec,
            ..Rates::default()
        };
        r.update_totals();
        r
    }
}

/// Packets per second of the module's global counters (`/proc/netatop`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct GlobalRates {
    /// All TCP packets sent per second.
    pub tcp_snd_packets_per_sec: f64,
    /// All TCP packets received per second.
    pub tcp_rcv_packets_per_sec: f64,
    /// All UDP packets sent per second.
    pub udp_snd_packets_per_sec: f64,
    /// All UDP packets received per second.
    pub udp_rcv_packets_per_sec: f64,
    /// Unidentified TCP packets sent per second.
    pub unident_tcp_snd_packets_per_sec: f64,
    /// Unidentified TCP packets received per second.
    pub unident_tcp_rcv_packets_per_sec: f64,
    /// Unidentified UDP packets sent per second.
    pub unident_udp_snd_packets_per_sec: f64,
    /// Unidentified UDP packets received per second.
    pub unident_udp_rcv_packets_per_sec: f64,
}

impl GlobalRates {
    /// The rates between two readings of `/proc/netatop`; `None` if a
    /// counter went backwards (module reloaded).
    pub fn between(before: &ProcCounters, now: &ProcCounters, secs: f64) -> Option<Self> {
        let d = |a: u64, b: u64| a.checked_sub(b).map(|x| x as f64 / secs);
        Some(GlobalRates {
            tcp_snd_packets_per_sec: d(now.tcpsndpacks, before.tcpsndpacks)?,
            tcp_rcv_packets_per_sec: d(now.tcprcvpacks, before.tcprcvpacks)?,
            udp_snd_packets_per_sec: d(now.udpsndpacks, before.udpsndpacks)?,
            udp_rcv_packets_per_sec: d(now.udprcvpacks, before.udprcvpacks)?,
            unident_tcp_snd_packets_per_sec: d(
                now.unident_tcpsndpacks,
                before.unident_tcpsndpacks,
            )?,
            unident_tcp_rcv_packets_per_sec: d(
                now.unident_tcprcvpacks,
                before.unident_tcprcvpacks,
            )?,
            unident_udp_snd_packets_per_sec: d(
                now.unident_udpsndpacks,
                before.unident_udpsndpacks,
            )?,
            unident_udp_rcv_packets_per_sec: d(
                now.unident_udprcvpacks,
                before.unident_udprcvpacks,
            )?,
        })
    }
}

/// One line of the table: a task, its rates and its cumulative counters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Process or thread id.
    pub id: i32,
    /// Command name.
    pub command: String,
    /// Start time, seconds since the epoch.
    pub btime: u64,
    /// Rates over the last interval; `None` in the baseline sample.
    pub rates: Option<Rates>,
    /// Counters since the task started.
    pub counters: TaskCount,
}

/// Everything one refresh of `netatop top` shows.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// When the sample was taken, seconds since the epoch.
    pub time: u64,
    /// Seconds since the previous sample; `None` for the baseline.
    pub interval: Option<f64>,
    /// Whether the rows are threads.
    pub threads: bool,
    /// One row per task with counters (unsorted: see `table::sort_rows`).
    pub rows: Vec<Row>,
    /// Sum of the rows' rates; `None` for the baseline.
    pub totals: Option<Rates>,
    /// Sum of the rows' cumulative counters.
    pub cumulative: TaskCount,
    /// Rates of `/proc/netatop`; `None` for the baseline or when unreadable.
    pub global: Option<GlobalRates>,
}

/// What a view shows under its rows, from each row's rates and counters:
/// the sum of the rates (`None` without an interval), the sum of the
/// counters, and the rates of `/proc/netatop` between `before` and `now`.
pub fn summarise<'a>(
    rows: impl Iterator<Item = (Option<&'a Rates>, TaskCount)>,
    before: Option<&ProcCounters>,
    now: Option<&ProcCounters>,
    secs: Option<f64>,
) -> (Option<Rates>, TaskCount, Option<GlobalRates>) {
    let mut totals = Rates::default();
    let mut cumulative = TaskCount::default();
    for (rates, counters) in rows {
        if let Some(r) = rates {
            totals = totals.add(r);
        }
        cumulative = cumulative.saturating_add(counters);
    }
    let global = match (before, now, secs) {
        (Some(b), Some(n), Some(s)) => GlobalRates::between(b, n, s),
        _ => None,
    };
    (secs.map(|_| totals), cumulative, global)
}

impl View {
    /// The view of sample `now`, with rates against `before` when given
    /// (and when it is of the same kind: processes or threads).
    pub fn build(before: Option<&Sample>, now: &Sample) -> View {
        let before = before.filter(|b| b.threads == now.threads);
        let secs = before
            .map(|b| now.at.saturating_duration_since(b.at).as_secs_f64())
            .filter(|&s| s > 0.0);
        let earlier: HashMap<i32, &TaskSample> = before
            .map(|b| b.tasks.iter().map(|t| (t.id, t)).collect())
            .unwrap_or_default();
        let zero = TaskCount::default();
        let rows: Vec<Row> = now
            .tasks
            .iter()
            .map(|t| {
                let rates = secs.map(|s| {
                    let base = earlier
                        .get(&t.id)
                        .filter(|e| e.btime == t.btime && t.counters.covers(&e.counters))
                        .map_or(&zero, |e| &e.counters);
                    Rates::between(base, &t.counters, s)
                });
                Row {
                    id: t.id,
                    command: t.command.clone(),
                    btime: t.btime,
                    rates,
                    counters: t.counters,
                }
            })
            .collect();
        let (totals, cumulative, global) = summarise(
            rows.iter().map(|r| (r.rates.as_ref(), r.counters)),
            before.and_then(|b| b.global.as_ref()),
            now.global.as_ref(),
            secs,
        );
        View {
            time: now.wall,
            interval: secs,
            threads: now.threads,
            rows,
            totals,
            cumulative,
            global,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    pub(crate) fn counters(c: [u64; 8]) -> TaskCount {
        TaskCount::from_array(c)
    }

    pub(crate) fn task(id: i32, btime: u64, command: &str, c: [u64; 8]) -> TaskSample {
        TaskSample {
            id,
            btime,
            command: command.into(),
            counters: counters(c),
        }
    }

    pub(crate) fn sample(at: Instant, wall: u64, tasks: Vec<TaskSample>) -> Sample {
        Sample {
            at,
            wall,
            threads: false,
            tasks,
            global: None,
        }
    }

    #[test]
    fn the_first_sample_is_a_baseline() {
        let s = sample(
            Instant::now(),
            100,
            vec![task(1, 5, "a", [1, 2, 3, 4, 5, 6, 7, 8])],
        );
        let v = View::build(None, &s);
        assert_eq!(v.interval, None);
        assert_eq!(v.totals, None);
        assert_eq!(v.global, None);
        assert_eq!(v.rows.len(), 1);
        assert_eq!(v.rows[0].rates, None);
        assert_eq!(v.cumulative.to_array(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(v.time, 100);
    }

    #[test]
    fn rates_are_differences_over_the_measured_time() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        let a = sample(
            t0,
            100,
            vec![task(1, 5, "a", [10, 1000, 4, 400, 0, 0, 0, 0])],
        );
        let b = sample(
            t1,
            102,
            vec![task(1, 5, "a", [20, 3048, 8, 912, 2, 100, 1, 50])],
        );
        let v = View::build(Some(&a), &b);
        assert_eq!(v.interval, Some(2.0));
        let r = v.rows[0].rates.unwrap();
        assert_eq!(
            r,
            Rates {
                tcp_snd_bytes_per_sec: 1024.0,
                tcp_snd_packets_per_sec: 5.0,
                tcp_rcv_bytes_per_sec: 256.0,
                tcp_rcv_packets_per_sec: 2.0,
                udp_snd_bytes_per_sec: 50.0,
                udp_snd_packets_per_sec: 1.0,
                udp_rcv_bytes_per_sec: 25.0,
                udp_rcv_packets_per_sec: 0.5,
                total_bytes_per_sec: 1355.0,
                total_packets_per_sec: 8.5,
            }
        );
        assert_eq!(v.totals, Some(r));
        assert_eq!(
            v.rows[0].counters.to_array(),
            [20, 3048, 8, 912, 2, 100, 1, 50]
        );
    }

    #[test]
    fn new_reused_or_reset_tasks_count_from_zero() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(4);
        let a = sample(
            t0,
            0,
            vec![
                task(1, 5, "reused", [100; 8]),
                task(2, 5, "reset", [100; 8]),
                task(3, 5, "steady", [100; 8]),
            ],
        );
        let b = sample(
            t1,
            4,
            vec![
                task(1, 6, "reused", [4; 8]), // another btime: a new process
                task(2, 5, "reset", [8; 8]),  // counters went backwards
                task(3, 5, "steady", [104; 8]),
                task(4, 9, "new", [40; 8]), // not in the previous sample
            ],
        );
        let v = View::build(Some(&a), &b);
        let bytes: Vec<(i32, f64)> = v
            .rows
            .iter()
            .map(|r| (r.id, r.rates.unwrap().tcp_snd_bytes_per_sec))
            .collect();
        assert_eq!(bytes, [(1, 1.0), (2, 2.0), (3, 1.0), (4, 10.0)]);
        assert_eq!(
            v.totals.unwrap().total_bytes_per_sec,
            4.0 * (1.0 + 2.0 + 1.0 + 10.0)
        );
        assert_eq!(v.totals.unwrap().total_packets_per_sec, 4.0 * 14.0);
    }

    #[test]
    fn switching_between_processes_and_threads_restarts_the_baseline() {
        let t0 = Instant::now();
        let a = sample(t0, 0, vec![task(1, 5, "a", [1; 8])]);
        let mut b = sample(
            t0 + Duration::from_secs(1),
            1,
            vec![task(1, 5, "a", [2; 8])],
        );
        b.threads = true;
        let v = View::build(Some(&a), &b);
        assert_eq!(v.rows[0].rates, None);
        assert_eq!(v.interval, None);
        assert!(v.threads);
    }

    fn proc_counters(all: [u64; 4], unident: [u64; 4]) -> ProcCounters {
        ProcCounters {
            tcpsndpacks: all[0],
            tcprcvpacks: all[1],
            udpsndpacks: all[2],
            udprcvpacks: all[3],
            unident_tcpsndpacks: unident[0],
            unident_tcprcvpacks: unident[1],
            unident_udpsndpacks: unident[2],
            unident_udprcvpacks: unident[3],
            ..ProcCounters::default()
        }
    }

    #[test]
    fn global_and_unidentified_rates() {
        let t0 = Instant::now();
        let mut a = sample(t0, 0, vec![]);
        let mut b = sample(t0 + Duration::from_secs(2), 2, vec![]);
        a.global = Some(proc_counters([100, 200, 300, 400], [1, 2, 3, 4]));
        b.global = Some(proc_counters([110, 220, 330, 440], [1, 4, 7, 5]));
        let v = View::build(Some(&a), &b);
        assert_eq!(
            v.global,
            Some(GlobalRates {
                tcp_snd_packets_per_sec: 5.0,
                tcp_rcv_packets_per_sec: 10.0,
                udp_snd_packets_per_sec: 15.0,
                udp_rcv_packets_per_sec: 20.0,
                unident_tcp_snd_packets_per_sec: 0.0,
                unident_tcp_rcv_packets_per_sec: 1.0,
                unident_udp_snd_packets_per_sec: 2.0,
                unident_udp_rcv_packets_per_sec: 0.5,
            })
        );
        // A reloaded module (counters back to small values): no rates.
        b.global = Some(proc_counters([1, 1, 1, 1], [0, 0, 0, 0]));
        assert_eq!(View::build(Some(&a), &b).global, None);
        assert_eq!(v.totals, Some(Rates::default()));
    }
}
