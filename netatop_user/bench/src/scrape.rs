//! The cost of reading every process at once: `tasks` processes that each
//! sent one datagram, then the median time of GETCNT_TASKS and of a scrape
//! of the Prometheus exporter (`netatop-exporter`, started by the driver);
//! and of reading every connection at once ([`conns`]: GETCNT_CONNS with
//! the connections `hold` keeps open).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use netatop::Netatop;

use crate::proc_util::{collect, die_with_parent, fork_child, post, Pipe, SigSet};

/// Deadline for the processes to start and send.
const SLOW: Duration = Duration::from_secs(900);

fn out(key: &str, value: impl std::fmt::Display) {
    println!("{key} {value}");
}

/// Runs the measurement: `tasks` senders, `scrapes` timed reads of each
/// kind, the exporter at `addr` (host:port) and, with `dbus`, netatop-dbus
/// on the bus at that address (GetStats as root, through a D-Bus client
/// library, next to a call of the no-op InitCapture).
pub fn run(tasks: usize, scrapes: usize, addr: &str, dbus: Option<&str>) -> Result<()> {
    let nt = Netatop::open().context("open the netatop socket (root needed)")?;
    nt.probe()
        .context("netatop.ko does not answer (not loaded?)")?;
    let sigs = SigSet::of(&[libc::SIGUSR1, libc::SIGTERM]);
    sigs.block()?;

    let sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("bind sink")?;
    sink.set_nonblocking(true)?;
    let shared = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("bind shared")?;
    let dst = sink.local_addr()?;
    let mut pipe = Pipe::new()?;
    let mut children = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let (w, shared, sigs) = (&pipe.w, &shared, &sigs);
        children.push(fork_child(move || {
            die_with_parent(libc::SIGTERM)?;
            let mut done = w.try_clone()?;
            shared.send_to(&[0u8; 16], dst).context("sendto")?;
            post(&mut done)?;
            while sigs.wait()? != libc::SIGTERM {}
            Ok(())
        })?);
    }
    collect(&mut pipe.r, tasks, SLOW, "scrape: senders")?;
    let mut b = [0u8; 64];
    while sink.recv(&mut b).is_ok() {}

    let snap = nt.processes().context("GETCNT_TASKS")?;
    out("scrape_processes", snap.entries.len());
    let mut calls = Vec::with_capacity(scrapes);
    for _ in 0..scrapes {
        let t = Instant::now();
        let s = nt.processes()?;
        calls.push(t.elapsed().as_secs_f64() * 1e3);
        if s.entries.len() < tasks {
            bail!(
                "GETCNT_TASKS returned {} processes, {tasks} sent",
                s.entries.len()
            );
        }
    }
    out("scrape_tasks_call_ms", median(&mut calls));

    let mut times = Vec::with_capacity(scrapes);
    let mut series = 0;
    let mut size = 0;
    for _ in 0..scrapes {
        let t = Instant::now();
        let body = get(addr, "/metrics")?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        series = body.lines().filter(|l| l.starts_with("netatop_")).count();
        size = body.len();
        if !body.lines().any(|l| l == "netatop_up 1") {
            bail!("the exporter does not report netatop_up 1");
        }
    }
    let max = times.iter().cloned().fold(0.0, f64::max);
    out("scrape_ms", median(&mut times));
    out("scrape_max_ms", format!("{max:.2}"));
    out("scrape_series", series);
    out("scrape_bytes", size);

    if let Some(bus) = dbus {
        let conn = zbus::blocking::connection::Builder::address(bus)
            .and_then(|b| b.build())
            .with_context(|| format!("connect to the bus at {bus}"))?;
        let call = |method: &str| {
            conn.call_method(
                Some("org.gnome.GTopNetStats"),
                "/org/gnome/GTopNetStats",
                Some("org.gnome.GTopNetStats"),
                method,
                &(),
            )
            .with_context(|| format!("D-Bus call {method}"))
        };
        let mut get = Vec::with_capacity(scrapes);
        let mut noop = Vec::with_capacity(scrapes);
        let mut pids = 0;
        for _ in 0..scrapes {
            let t = Instant::now();
            let reply = call("GetStats")?;
            let stats: std::collections::HashMap<u32, (u64, u64)> =
                reply.body().deserialize().context("GetStats reply")?;
            get.push(t.elapsed().as_secs_f64() * 1e3);
            pids = stats.len();
            let t = Instant::now();
            call("InitCapture")?;
            noop.push(t.elapsed().as_secs_f64() * 1e3);
        }
        if pids < tasks {
            bail!("GetStats listed {pids} processes, {tasks} sent");
        }
        out("dbus_getstats_processes", pids);
        out("dbus_getstats_ms", median(&mut get));
        out("dbus_initcapture_ms", median(&mut noop));
    }

    for c in &children {
        c.signal(libc::SIGTERM)?;
    }
    for c in children {
        c.wait()?;
    }
    Ok(())
}

/// With at least `min` connections tracked (the driver holds them open
/// with `hold` and touches them, so both ends of each are bound): the
/// median time of `calls` NETATOP_GETCNT_CONNS snapshots
/// (`Netatop::connections`, its buffer's size remembered from the first
/// call, as a refreshing reader has it), and of the same decoded into
/// typed `Connection`s.
pub fn conns(min: usize, calls: usize) -> Result<()> {
    let nt = Netatop::open().context("open the netatop socket (root needed)")?;
    nt.probe()
        .context("netatop.ko does not answer (not loaded?)")?;
    let first = nt.connections().context("GETCNT_CONNS")?;
    if first.entries.len() < min {
        bail!(
            "GETCNT_CONNS listed {} connections, {min} held open (overflow {})",
            first.entries.len(),
            first.overflow
        );
    }
    out("scrape_conns", first.entries.len());
    out("scrape_conns_overflow", first.overflow);
    let mut raw = Vec::with_capacity(calls);
    let mut typed = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        let s = nt.connections()?;
        raw.push(t.elapsed().as_secs_f64() * 1e3);
        let list = s.connections()?;
        typed.push(t.elapsed().as_secs_f64() * 1e3);
        if !s.is_complete() || list.len() < min {
            bail!("GETCNT_CONNS listed {} of {}", list.len(), s.total);
        }
    }
    out("scrape_conns_call_ms", median(&mut raw));
    out("scrape_conns_typed_ms", median(&mut typed));
    Ok(())
}

/// The body of `GET path` from `addr` (the exporter answers HTTP/1.1 and
/// closes the connection when asked).
fn get(addr: &str, path: &str) -> Result<String> {
    let mut s = TcpStream::connect(addr).with_context(|| format!("connect {addr}"))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let Some((head, body)) = resp.split_once("\r\n\r\n") else {
        bail!("no HTTP header in the answer of {addr}{path}");
    };
    if !head.starts_with("HTTP/1.1 200") {
        bail!("{addr}{path}: {}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_string())
}

/// Median of `v`, in ms with two decimals.
fn median(v: &mut [f64]) -> String {
    v.sort_by(|a, b| a.total_cmp(b));
    format!("{:.2}", v.get(v.len() / 2).copied().unwrap_or(f64::NAN))
}
