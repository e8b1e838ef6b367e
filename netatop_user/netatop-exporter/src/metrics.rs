//! The metrics of a snapshot, encoded by `prometheus-client`.
//!
//! A [`Metrics`] is a `prometheus-client` collector over one
//! [`ScrapeData`]; [`encode`] registers it in a registry made for that
//! scrape and encodes it, in the Prometheus text format (0.0.4) or in
//! OpenMetrics text. Every counter of the module is a Prometheus counter;
//! sizes are gauges.

use std::fmt;

use netatop::{CgroupCount, ProcInfo, TaskCount};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::collect::{top_indices, ScrapeData};

/// The text formats the exporter speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text exposition format, version 0.0.4.
    Prometheus,
    /// OpenMetrics text 1.0.0.
    OpenMetrics,
}

impl Format {
    /// The format a scraper asks for in its `Accept` header: OpenMetrics if
    /// it names `application/openmetrics-text`, else the Prometheus format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// How to get one (packets, bytes) pair out of a `struct taskcount`.
type Pair = fn(&TaskCount) -> (u64, u64);

/// The protocol and direction labels of the eight counters of a
/// `struct taskcount`, and how to get each pair.
const TRAFFIC: [(&str, &str, Pair); 4] = [
    ("tcp", "sent", |t| (t.tcpsndpacks, t.tcpsndbytes)),
    ("tcp", "received", |t| (t.tcprcvpacks, t.tcprcvbytes)),
    ("udp", "sent", |t| (t.udpsndpacks, t.udpsndbytes)),
    ("udp", "received", |t| (t.udprcvpacks, t.udprcvbytes)),
];

/// How a cgroup is labelled: its path (kept while the module counts a
/// removed cgroup, see [`crate::collect::stable_paths`]); `None` for a
/// cgroup that has none, which has no series of its own (and an empty
/// `cgroup` label on a process's series).
pub fn cgroup_label(data: &ScrapeData, id: u64) -> Option<&str> {
    data.paths.get(&id).map(String::as_str)
}

/// The metrics of one scrape: a `prometheus-client` collector.
#[derive(Debug)]
pub struct Metrics {
    data: ScrapeData,
    /// Indices into `data.processes` of the processes exported one by one.
    top: Vec<usize>,
}

impl Metrics {
    /// The metrics of `data`, with the `top` processes that sent and
    /// received the most bytes exported one by one.
    pub fn new(data: ScrapeData, top: usize) -> Self {
        let top = data
            .processes
            .as_ref()
            .map(|snap| top_indices(&snap.entries, top))
            .unwrap_or_default();
        Self { data, top }
    }

    /// The processes exported one by one, most bytes first.
    pub fn top(&self) -> impl Iterator<Item = &ProcInfo> {
        let entries = self.data.processes.as_ref().map(|s| &s.entries[..]);
        self.top
            .iter()
            .filter_map(move |&i| entries.and_then(|e| e.get(i)))
    }
}

/// Encodes one metric family of constant values: `samples` gives each
/// sample's labels and value, `make` the metric of a value.
fn family<L, V, M>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric_type: MetricType,
    samples: impl IntoIterator<Item = (L, V)>,
    make: impl Fn(V) -> M,
) -> fmt::Result
where
    L: prometheus_client::encoding::EncodeLabelSet,
    M: EncodeMetric,
{
    let mut metric = enc.encode_descriptor(name, help, None, metric_type)?;
    for (labels, value) in samples {
        make(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn gauge(v: u64) -> ConstGauge<u64> {
    ConstGauge::new(v)
}

/// One unlabelled sample.
fn single(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: &dyn EncodeMetric,
) -> fmt::Result {
    let m = enc.encode_descriptor(name, help, None, metric.metric_type())?;
    metric.encode(m)
}

type Labels3<'a> = [(&'static str, &'a str); 3];
type Labels5<'a> = [(&'static str, &'a str); 5];

impl Collector for Metrics {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let d = &self.data;
        single(
            &mut enc,
            "netatop_up",
            "Whether the netatop module answered this scrape (1) or not (0).",
            &ConstGauge::new(i64::from(d.up)),
        )?;
        single(
            &mut enc,
            "netatop_scrape_duration_seconds",
            "Time taken to read the module's counters for this scrape.",
            &ConstGauge::new(d.duration.as_secs_f64()),
        )?;

        if let Some(g) = &d.global {
            family(
                &mut enc,
                "netatop_module_info",
                "The netatop module's version (/proc/netatop).",
                MetricType::Gauge,
                [([("version", g.modversion.as_str())], 1)],
                gauge,
            )?;
            let all: [([(&str, &str); 2], u64); 6] = [
                ([("protocol", "tcp"), ("direction", "sent")], g.tcpsndpacks),
                (
                    [("protocol", "tcp"), ("direction", "received")],
                    g.tcprcvpacks,
                ),
                ([("protocol", "udp"), ("direction", "sent")], g.udpsndpacks),
                (
                    [("protocol", "udp"), ("direction", "received")],
                    g.udprcvpacks,
                ),
                (
                    [("protocol", "icmp"), ("direction", "sent")],
                    g.icmpsndpacks,
                ),
                (
                    [("protocol", "icmp"), ("direction", "received")],
                    g.icmprcvpacks,
                ),
            ];
            family(
                &mut enc,
                "netatop_packets",
                "Packets seen by the module, identified or not (/proc/netatop).",
                MetricType::Counter,
                all,
                counter,
            )?;
            let unident: [([(&str, &str); 2], u64); 4] = [
                (
                    [("protocol", "tcp"), ("direction", "sent")],
                    g.unident_tcpsndpacks,
                ),
                (
                    [("protocol", "tcp"), ("direction", "received")],
                    g.unident_tcprcvpacks,
                ),
                (
                    [("protocol", "udp"), ("direction", "sent")],
                    g.unident_udpsndpacks,
                ),
                (
                    [("protocol", "udp"), ("direction", "received")],
                    g.unident_udprcvpacks,
                ),
            ];
            family(
                &mut enc,
                "netatop_unidentified_packets",
                "Packets the module could not charge to a process (/proc/netatop).",
                MetricType::Counter,
                unident,
                counter,
            )?;
            if let Some(r) = &g.refused {
                let refused = [
                    ([("table", "sockinfo"), ("cause", "full")], r.sockinfo_full),
                    (
                        [("table", "sockinfo"), ("cause", "nomem")],
                        r.sockinfo_nomem,
                    ),
                    ([("table", "taskinfo"), ("cause", "full")], r.taskinfo_full),
                    (
                        [("table", "taskinfo"), ("cause", "nomem")],
                        r.taskinfo_nomem,
                    ),
                ];
                family(
                    &mut enc,
                    "netatop_refused_entries",
                    "Entries the module's tables refused, by cause: the table was full, or an \
                     allocation failed (netatop-rs's lines of /proc/netatop; they add up to the \
                     overflows).",
                    MetricType::Counter,
                    refused,
                    counter,
                )?;
            }
            for (name, help, value, kind) in [
                (
                    "netatop_sockinfo_entries",
                    "Connections the module tracks now (#sockinfo).",
                    g.sockinfo,
                    MetricType::Gauge,
                ),
                (
                    "netatop_sockinfo_overflows",
                    "Connections not tracked because the module's table was full.",
                    g.sockinfo_overflow,
                    MetricType::Counter,
                ),
                (
                    "netatop_taskinfo_entries",
                    "Processes and threads the module tracks now (#taskinfo).",
                    g.taskinfo,
                    MetricType::Gauge,
                ),
                (
                    "netatop_taskinfo_overflows",
                    "Processes and threads not tracked because the module's table was full.",
                    g.taskinfo_overflow,
                    MetricType::Counter,
                ),
                (
                    "netatop_taskexit_entries",
                    "Finished processes waiting on the module's exit list (#taskexit).",
                    g.taskexit,
                    MetricType::Gauge,
                ),
            ] {
                match kind {
                    MetricType::Counter => single(&mut enc, name, help, &counter(value))?,
                    _ => single(&mut enc, name, help, &gauge(value))?,
                }
            }
        }

        if let Some(c) = &d.cgroups {
            single(
                &mut enc,
                "netatop_cgroups",
                "Cgroups the module has counters for.",
                &gauge(u64::from(c.total)),
            )?;
            single(
                &mut enc,
                "netatop_cgroup_overflows",
                "Finished processes whose totals the module's cgroup table could not keep.",
                &counter(c.overflow),
            )?;
            // Only cgroups with a path: a label never changes, and a
            // cgroup without one has no series rather than another name.
            let labelled: Vec<(&CgroupCount, &str)> = c
                .entries
                .iter()
                .filter_map(|e| Some((e, cgroup_label(d, e.id)?)))
                .collect();
            family(
                &mut enc,
                "netatop_cgroup_processes",
                "Live processes counted for the cgroup.",
                MetricType::Gauge,
                labelled
                    .iter()
                    .map(|&(e, l)| ([("cgroup", l)], u64::from(e.nprocs))),
                gauge,
            )?;
            for (name, help, bytes) in [
                (
                    "netatop_cgroup_packets",
                    "Packets of the cgroup's processes, live and finished.",
                    false,
                ),
                (
                    "netatop_cgroup_bytes",
                    "Bytes of the cgroup's processes, live and finished.",
                    true,
                ),
            ] {
                let samples = labelled.iter().flat_map(|&(e, l)| {
                    TRAFFIC.iter().map(move |(proto, dir, get)| {
                        let (packs, byts) = get(&e.tc);
                        let labels: Labels3 =
                            [("cgroup", l), ("protocol", proto), ("direction", dir)];
                        (labels, if bytes { byts } else { packs })
                    })
                });
                family(&mut enc, name, help, MetricType::Counter, samples, counter)?;
            }
        }

        if let Some(p) = &d.processes {
            single(
                &mut enc,
                "netatop_processes",
                "Live processes the module has counters for.",
                &gauge(u64::from(p.total)),
            )?;
            let rows: Vec<(String, String, &str, &TaskCount)> = self
                .top()
                .map(|p| {
                    (
                        p.id.to_string(),
                        p.command(),
                        cgroup_label(d, p.cgroup).unwrap_or(""),
                        &p.tc,
                    )
                })
                .collect();
            for (name, help, bytes) in [
                (
                    "netatop_process_packets",
                    "Packets of the process since it started (the top processes by bytes only).",
                    false,
                ),
                (
                    "netatop_process_bytes",
                    "Bytes of the process since it started (the top processes by bytes only).",
                    true,
                ),
            ] {
                let samples = rows.iter().flat_map(|(pid, comm, cg, tc)| {
                    TRAFFIC.iter().map(move |(proto, dir, get)| {
                        let (packs, byts) = get(tc);
                        let labels: Labels5 = [
                            ("pid", pid.as_str()),
                            ("comm", comm.as_str()),
                            ("cgroup", cg),
                            ("protocol", proto),
                            ("direction", dir),
                        ];
                        (labels, if bytes { byts } else { packs })
                    })
                });
                family(&mut enc, name, help, MetricType::Counter, samples, counter)?;
            }
        }
        Ok(())
    }
}

/// The text of one scrape: the metrics of `data` (with the `top` processes
/// with the most bytes one by one) in `format`. (Writing into a `String`
/// does not fail; an error would come from the encoder.)
pub fn encode(data: ScrapeData, top: usize, format: Format) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Metrics::new(data, top)));
    let mut text = String::new();
    match format {
        Format::Prometheus => {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?
        }
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut text, &registry)?,
    }
    Ok(text)
}
