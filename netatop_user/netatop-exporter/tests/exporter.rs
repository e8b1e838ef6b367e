//! The exporter on the build host: the text of a fixed snapshot, parsed
//! back, and HTTP round trips against a real listener (without the module).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use netatop::{CgroupCount, ProcCounters, ProcInfo, Refused, Snapshot, TaskCount};
use netatop_exporter::collect::{counted_ids, stable_paths, ScrapeData, Source};
use netatop_exporter::http;
use netatop_exporter::metrics::{encode, Format};

/// One sample: metric name and labels (sorted).
type Key = (String, BTreeMap<String, String>);

/// Parses exposition text (either format) into samples, checking that
/// every sample's family has `# HELP` and `# TYPE` lines before it.
fn parse(text: &str) -> HashMap<Key, f64> {
    let mut samples = HashMap::new();
    let mut typed: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.push(rest.split(' ').next().unwrap().to_owned());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match name_labels.split_once('{') {
            Some((n, rest)) => (n, parse_labels(rest.strip_suffix('}').unwrap())),
            None => (name_labels, BTreeMap::new()),
        };
        assert!(
            typed
                .iter()
                .any(|t| name == t || name.strip_suffix("_total") == Some(t)),
            "{name} has no TYPE line before it"
        );
        let key = (name.to_owned(), labels);
        assert!(!samples.contains_key(&key), "duplicate sample {key:?}");
        samples.insert(key, value.parse().unwrap());
    }
    samples
}

/// `a="x",b="y"` with `\\`, `\"` and `\n` escapes in the values.
fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    (
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn tc(first: u64) -> TaskCount {
    TaskCount {
        tcpsndpacks: first,
        tcpsndbytes: first + 1,
        tcprcvpacks: first + 2,
        tcprcvbytes: first + 3,
        udpsndpacks: first + 4,
        udpsndbytes: first + 5,
        udprcvpacks: first + 6,
        udprcvbytes: first + 7,
    }
}

fn proc_info(id: i32, comm: &str, cgroup: u64, tc: TaskCount) -> ProcInfo {
    let mut p = ProcInfo {
        id,
        btime: 1_717_200_000,
        cgroup,
        tc,
        ..ProcInfo::default()
    };
    p.command[..comm.len()].copy_from_slice(comm.as_bytes());
    p
}

fn fixed() -> ScrapeData {
    let mut paths = HashMap::new();
    paths.insert(100, "/system.slice/nginx.service".to_owned());
    paths.insert(1, "/".to_owned());
    ScrapeData {
        up: true,
        processes: Some(Snapshot {
            total: 3,
            overflow: 0,
            entries: vec![
                proc_info(4242, "nginx", 100, tc(1000)),
                proc_info(7, "we\"ird\\comm", 1, tc(10)),
                proc_info(99, "idle", 200, tc(0)),
            ],
        }),
        cgroups: Some(Snapshot {
            total: 3,
            overflow: 5,
            entries: vec![
                CgroupCount {
                    id: 100,
                    nprocs: 2,
                    pad: 0,
                    tc: tc(2000),
                },
                CgroupCount {
                    id: 1,
                    nprocs: 1,
                    pad: 0,
                    tc: tc(10),
                },
                CgroupCount {
                    id: 200,
                    nprocs: 0,
                    pad: 0,
                    tc: tc(300),
                },
            ],
        }),
        global: Some(ProcCounters {
            tcpsndpacks: 11,
            unident_tcpsndpacks: 1,
            tcprcvpacks: 12,
            unident_tcprcvpacks: 2,
            udpsndpacks: 13,
            unident_udpsndpacks: 3,
            udprcvpacks: 14,
            unident_udprcvpacks: 4,
            icmpsndpacks: 15,
            icmprcvpacks: 16,
            sockinfo: 17,
            sockinfo_overflow: 18,
            taskinfo: 19,
            taskinfo_overflow: 20,
            taskexit: 21,
            modversion: "0.1.0".into(),
            refused: Some(Refused {
                sockinfo_full: 10,
                sockinfo_nomem: 8,
                taskinfo_full: 20,
                taskinfo_nomem: 0,
            }),
        }),
        paths,
        duration: Duration::from_millis(3),
    }
}

const TRAFFIC: [(&str, &str); 4] = [
    ("tcp", "sent"),
    ("tcp", "received"),
    ("udp", "sent"),
    ("udp", "received"),
];

#[test]
fn a_fixed_snapshot_parses_back_exactly() {
    let text = encode(fixed(), 2, Format::Prometheus).unwrap();
    let s = parse(&text);
    let get = |name: &str, labels: &[(&str, &str)]| {
        *s.get(&key(name, labels))
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    assert_eq!(get("netatop_up", &[]), 1.0);
    assert_eq!(get("netatop_scrape_duration_seconds", &[]), 0.003);
    assert_eq!(get("netatop_module_info", &[("version", "0.1.0")]), 1.0);

    // Globals of /proc/netatop.
    for (proto, dir, all, unident) in [
        ("tcp", "sent", 11.0, Some(1.0)),
        ("tcp", "received", 12.0, Some(2.0)),
        ("udp", "sent", 13.0, Some(3.0)),
        ("udp", "received", 14.0, Some(4.0)),
        ("icmp", "sent", 15.0, None),
        ("icmp", "received", 16.0, None),
    ] {
        let l = [("protocol", proto), ("direction", dir)];
        assert_eq!(get("netatop_packets_total", &l), all);
        if let Some(u) = unident {
            assert_eq!(get("netatop_unidentified_packets_total", &l), u);
        }
    }
    assert_eq!(get("netatop_sockinfo_entries", &[]), 17.0);
    assert_eq!(get("netatop_sockinfo_overflows_total", &[]), 18.0);
    assert_eq!(get("netatop_taskinfo_entries", &[]), 19.0);
    assert_eq!(get("netatop_taskinfo_overflows_total", &[]), 20.0);
    assert_eq!(get("netatop_taskexit_entries", &[]), 21.0);
    for (table, cause, n) in [
        ("sockinfo", "full", 10.0),
        ("sockinfo", "nomem", 8.0),
        ("taskinfo", "full", 20.0),
        ("taskinfo", "nomem", 0.0),
    ] {
        let l = [("table", table), ("cause", cause)];
        assert_eq!(get("netatop_refused_entries_total", &l), n);
    }
    assert_eq!(get("netatop_cgroup_overflows_total", &[]), 5.0);
    assert_eq!(get("netatop_cgroups", &[]), 3.0);
    assert_eq!(get("netatop_processes", &[]), 3.0);

    // Cgroups: by path; an id without one (removed before it was ever
    // seen with a path) has no series.
    for (path, nprocs, first) in [
        ("/system.slice/nginx.service", 2.0, 2000u64),
        ("/", 1.0, 10),
    ] {
        assert_eq!(get("netatop_cgroup_processes", &[("cgroup", path)]), nprocs);
        for (i, (proto, dir)) in TRAFFIC.iter().enumerate() {
            let l = [("cgroup", path), ("protocol", proto), ("direction", dir)];
            let packs = first + 2 * i as u64;
            assert_eq!(get("netatop_cgroup_packets_total", &l), packs as f64);
            assert_eq!(get("netatop_cgroup_bytes_total", &l), (packs + 1) as f64);
        }
    }

    // The top 2 processes by bytes: nginx and the odd one (its name
    // escaped in the text, intact once parsed); "idle" is left out.
    for (pid, comm, cgroup, first) in [
        ("4242", "nginx", "/system.slice/nginx.service", 1000u64),
        ("7", "we\"ird\\comm", "/", 10),
    ] {
        for (i, (proto, dir)) in TRAFFIC.iter().enumerate() {
            let l = [
                ("pid", pid),
                ("comm", comm),
                ("cgroup", cgroup),
                ("protocol", proto),
                ("direction", dir),
            ];
            let packs = first + 2 * i as u64;
            assert_eq!(get("netatop_process_packets_total", &l), packs as f64);
            assert_eq!(get("netatop_process_bytes_total", &l), (packs + 1) as f64);
        }
    }
    assert!(text.contains(r#"comm="we\"ird\\comm""#), "{text}");
    let processes = s
        .keys()
        .filter(|(n, _)| n.starts_with("netatop_process_"))
        .count();
    assert_eq!(processes, 2 * 2 * 4);
    assert!(!text.contains("idle"));
    assert!(!text.contains("removed") && !text.contains("300"), "{text}");
    // A process whose cgroup has no path: an empty cgroup label.
    let three = encode(fixed(), 3, Format::Prometheus).unwrap();
    assert!(
        three.contains(
            "netatop_process_bytes_total{pid=\"99\",comm=\"idle\",cgroup=\"\",\
             protocol=\"tcp\",direction=\"sent\"} 1\n"
        ),
        "{three}"
    );
    // Nothing else: 3 + 6 + 4 + 4 + 5 globals; the cgroup count and
    // overflow and 2 x (1 + 8) cgroup samples; the process count and 2 x 8
    // process samples.
    assert_eq!(s.len(), 3 + 6 + 4 + 4 + 5 + 2 + 18 + 1 + 16, "{text}");
}

/// One scrape of the cgroup list `cgroups` ((id, live processes, first
/// counter)) while the hierarchy has `hierarchy`, labelled as the exporter
/// labels them across scrapes (`known`): the text, without the process
/// metrics and the globals.
fn cgroup_scrape(
    known: &mut HashMap<u64, String>,
    hierarchy: &[(u64, &str)],
    cgroups: &[(u64, u32, u64)],
) -> String {
    let now = hierarchy
        .iter()
        .map(|&(id, p)| (id, p.to_owned()))
        .collect();
    let mut data = ScrapeData {
        up: true,
        cgroups: Some(Snapshot {
            total: u32::try_from(cgroups.len()).unwrap(),
            overflow: 0,
            entries: cgroups
                .iter()
                .map(|&(id, nprocs, first)| CgroupCount {
                    id,
                    nprocs,
                    pad: 0,
                    tc: tc(first),
                })
                .collect(),
        }),
        duration: Duration::from_millis(2),
        ..ScrapeData::default()
    };
    data.paths = stable_paths(now, known, &counted_ids(&data));
    encode(data, 0, Format::Prometheus).unwrap()
}

const HEAD: &str = "\
# HELP netatop_up Whether the netatop module answered this scrape (1) or not (0).
# TYPE netatop_up gauge
netatop_up 1
# HELP netatop_scrape_duration_seconds Time taken to read the module's counters for this scrape.
# TYPE netatop_scrape_duration_seconds gauge
netatop_scrape_duration_seconds 0.002
";

/// A cgroup keeps its series, under its path, while the module counts it,
/// also after its directory was removed (its last traffic is exported);
/// once the module has forgotten it its series are gone, never renamed.
#[test]
fn a_removed_cgroup_keeps_its_series_then_they_disappear() {
    let mut known = HashMap::new();
    // The service runs.
    let text = cgroup_scrape(
        &mut known,
        &[(1, "/"), (100, "/a.service")],
        &[(100, 2, 10)],
    );
    let a_service = |nprocs: u32, first: u64| {
        format!(
            "\
# HELP netatop_cgroups Cgroups the module has counters for.
# TYPE netatop_cgroups gauge
netatop_cgroups 1
# HELP netatop_cgroup_overflows_total Finished processes whose totals the module's cgroup table could not keep.
# TYPE netatop_cgroup_overflows_total counter
netatop_cgroup_overflows_total 0
# HELP netatop_cgroup_processes Live processes counted for the cgroup.
# TYPE netatop_cgroup_processes gauge
netatop_cgroup_processes{{cgroup=\"/a.service\"}} {nprocs}
# HELP netatop_cgroup_packets_total Packets of the cgroup's processes, live and finished.
# TYPE netatop_cgroup_packets_total counter
netatop_cgroup_packets_total{{cgroup=\"/a.service\",protocol=\"tcp\",direction=\"sent\"}} {}
netatop_cgroup_packets_total{{cgroup=\"/a.service\",protocol=\"tcp\",direction=\"received\"}} {}
netatop_cgroup_packets_total{{cgroup=\"/a.service\",protocol=\"udp\",direction=\"sent\"}} {}
netatop_cgroup_packets_total{{cgroup=\"/a.service\",protocol=\"udp\",direction=\"received\"}} {}
# HELP netatop_cgroup_bytes_total Bytes of the cgroup's processes, live and finished.
# TYPE netatop_cgroup_bytes_total counter
netatop_cgroup_bytes_total{{cgroup=\"/a.service\",protocol=\"tcp\",direction=\"sent\"}} {}
netatop_cgroup_bytes_total{{cgroup=\"/a.service\",protocol=\"tcp\",direction=\"received\"}} {}
netatop_cgroup_bytes_total{{cgroup=\"/a.service\",protocol=\"udp\",direction=\"sent\"}} {}
netatop_cgroup_bytes_total{{cgroup=\"/a.service\",protocol=\"udp\",direction=\"received\"}} {}
",
            first,
            first + 2,
            first + 4,
            first + 6,
            first + 1,
            first + 3,
            first + 5,
            first + 7
        )
    };
    assert_eq!(text, format!("{HEAD}{}", a_service(2, 10)));
    // Stopped, its directory removed; the module still has its totals,
    // with the traffic of its last moments: same series, same label.
    let text = cgroup_scrape(&mut known, &[(1, "/")], &[(100, 0, 20)]);
    assert_eq!(text, format!("{HEAD}{}", a_service(0, 20)));
    // The module has forgotten it: no series at all.
    let text = cgroup_scrape(&mut known, &[(1, "/")], &[]);
    assert_eq!(
        text,
        format!(
            "{HEAD}\
# HELP netatop_cgroups Cgroups the module has counters for.
# TYPE netatop_cgroups gauge
netatop_cgroups 0
# HELP netatop_cgroup_overflows_total Finished processes whose totals the module's cgroup table could not keep.
# TYPE netatop_cgroup_overflows_total counter
netatop_cgroup_overflows_total 0
# HELP netatop_cgroup_processes Live processes counted for the cgroup.
# TYPE netatop_cgroup_processes gauge
# HELP netatop_cgroup_packets_total Packets of the cgroup's processes, live and finished.
# TYPE netatop_cgroup_packets_total counter
# HELP netatop_cgroup_bytes_total Bytes of the cgroup's processes, live and finished.
# TYPE netatop_cgroup_bytes_total counter
"
        )
    );
    // A cgroup that came and went between two scrapes never had a path:
    // it has no series (nothing is exported under another name).
    let text = cgroup_scrape(&mut known, &[(1, "/")], &[(300, 0, 5)]);
    assert!(!text.contains("netatop_cgroup_bytes_total{"), "{text}");
    assert!(text.contains("netatop_cgroups 1\n"), "{text}");
}

#[test]
fn openmetrics_text_when_asked_for() {
    assert_eq!(Format::from_accept(None), Format::Prometheus);
    assert_eq!(
        Format::from_accept(Some("text/plain;version=0.0.4;q=0.5,*/*;q=0.1")),
        Format::Prometheus
    );
    let accept = "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5";
    assert_eq!(Format::from_accept(Some(accept)), Format::OpenMetrics);

    let om = encode(fixed(), 2, Format::OpenMetrics).unwrap();
    assert!(om.ends_with("# EOF\n"));
    assert!(om.contains("# TYPE netatop_cgroup_bytes counter\n"));
    let prom = encode(fixed(), 2, Format::Prometheus).unwrap();
    assert!(!prom.contains("# EOF"));
    assert!(prom.contains("# TYPE netatop_cgroup_bytes_total counter\n"));
    // The same samples either way.
    assert_eq!(parse(&om), parse(&prom));
}

#[test]
fn a_scrape_without_data_has_only_up_and_duration() {
    let text = encode(ScrapeData::default(), 20, Format::Prometheus).unwrap();
    let s = parse(&text);
    assert_eq!(s.len(), 2, "{text}");
    assert_eq!(s[&key("netatop_up", &[])], 0.0);
}

/// Encoding a scrape of 10,000 processes and 1,000 cgroups is far below
/// the 100 ms a scrape may take (even in a debug build).
#[test]
fn ten_thousand_processes_encode_quickly() {
    let mut data = fixed();
    let entries: Vec<ProcInfo> = (1..=10_000)
        .map(|i| proc_info(i, "worker", 100, tc(u64::try_from(i).unwrap() % 977)))
        .collect();
    data.processes = Some(Snapshot {
        total: 10_000,
        overflow: 0,
        entries,
    });
    let cgroups: Vec<CgroupCount> = (1..=1000)
        .map(|id| CgroupCount {
            id,
            nprocs: 10,
            pad: 0,
            tc: tc(id),
        })
        .collect();
    for c in &cgroups {
        data.paths
            .insert(c.id, format!("/kubepods.slice/pod{}.slice", c.id));
    }
    data.cgroups = Some(Snapshot {
        total: 1000,
        overflow: 0,
        entries: cgroups,
    });
    let start = Instant::now();
    let text = encode(data, 20, Format::Prometheus).unwrap();
    let took = start.elapsed();
    let s = parse(&text);
    assert_eq!(
        s.keys()
            .filter(|(n, _)| n == "netatop_process_bytes_total")
            .count(),
        20 * 4
    );
    assert_eq!(
        s.keys()
            .filter(|(n, _)| n == "netatop_cgroup_bytes_total")
            .count(),
        1000 * 4
    );
    assert!(took < Duration::from_millis(100), "took {took:?}");
}

/// Sends one raw HTTP/1.0 request and reads the whole answer.
fn request(addr: std::net::SocketAddr, req: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

#[test]
fn http_round_trip_without_the_module() {
    let module_absent = !std::path::Path::new(netatop::PROC_PATH).exists();
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let requests = 5;
    let worker = std::thread::spawn(move || {
        let mut source = Source::new(None);
        for _ in 0..requests {
            let r = server.recv().unwrap();
            http::handle(r, &mut source, 20);
        }
    });

    let (status, head, body) = request(addr, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    let s = parse(&body);
    if module_absent {
        assert_eq!(s[&key("netatop_up", &[])], 0.0, "{body}");
        assert_eq!(s.len(), 2, "{body}");
    }
    assert!(s.contains_key(&key("netatop_scrape_duration_seconds", &[])));

    let (status, head, body) = request(
        addr,
        "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(
        head.contains("Content-Type: application/openmetrics-text"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"));

    let (status, _, body) = request(addr, "GET / HTTP/1.0\r\n\r\n");
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/metrics\""));
    let (status, _, _) = request(addr, "GET /nothing HTTP/1.0\r\n\r\n");
    assert_eq!(status, 404);
    let (status, head, _) = request(addr, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status, 405);
    assert!(head.contains("Allow: GET, HEAD"), "{head}");
    worker.join().unwrap();
}

/// The binary itself: it listens, answers and reports a bad address.
#[test]
fn the_binary_serves_and_fails_cleanly() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_netatop-exporter"))
        .args(["--web.listen-address", "127.0.0.1:0", "--process.top", "3"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
    let url = first
        .strip_prefix("netatop-exporter: listening on http://")
        .and_then(|r| r.strip_suffix("/metrics\n"))
        .unwrap_or_else(|| panic!("{first}"));
    let addr: std::net::SocketAddr = url.parse().unwrap();
    let (status, _, body) = request(addr, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_eq!(status, 200);
    assert!(parse(&body).contains_key(&key("netatop_up", &[])));
    child.kill().unwrap();
    child.wait().unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netatop-exporter"))
        .args(["--web.listen-address", "256.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("netatop-exporter: cannot listen on 256.0.0.1:1: "),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netatop-exporter"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("netatop-exporter {}\n", env!("CARGO_PKG_VERSION"))
    );
}
