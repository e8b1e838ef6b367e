//! GC pass time and kernel memory per sockinfo and per taskinfo.
//!
//! Needs netatop.ko loaded with a sockinfo cap above the entries created
//! (e.g. `sockinfo_limit_kb=65536`) and a long `gc_interval_ms`, so that no
//! periodic collection runs in between.
//!
//! 1. Times NETATOP_FORCE_GC on the (nearly) empty tables.
//! 2. In each of NAMESPACES fresh network namespaces a process sends one
//!    64-byte UDP datagram from port 65000 to each of PORTS ports of
//!    127.0.0.1 (nobody listens): LOCAL_IN creates one UDP sockinfo per
//!    destination port. The flooders stay alive, so the collection deletes
//!    nothing (the entries are unbound, fresh and not of a finished
//!    process): it is a pure scan.
//! 3. Times NETATOP_FORCE_GC over them: the pass of a collector that only
//!    visits buckets with something due (here none) is what atop's
//!    FORCE_GC every interval and the 15 s timer cost on a steady table.
//! 4. Memory: slab snapshots before and after the flood (the namespaces
//!    already exist in both), and around TASKS forked processes that each
//!    send one datagram on an inherited, already known socket (so they add
//!    only one process and one thread entry each).
//! 5. Those TASKS processes finish: times the next pass, which moves them to
//!    the exit list and visits the buckets their connections are in. Then a
//!    process with sockets in more buckets than the module remembers per
//!    process (3) finishes: times the next pass, which sweeps the whole
//!    sockinfo table (the most a pass walks without deleting).
//! 6. Once the flood entries are idle for more than 16 s: times the pass
//!    that deletes all of them.

use std::fs::File;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use netatop::{Netatop, ProcCounters};

use crate::proc_util::{collect, die_with_parent, fork_child, post, Pipe, SigSet};
use crate::slab::Slab;

/// Destination ports start here; the flooder's own port is above the range.
const FIRST_PORT: u16 = 10000;
/// The flooder's source port.
const SOURCE_PORT: u16 = 65000;
/// The module starts a collection at most every 500 ms.
const GC_SPACING: Duration = Duration::from_millis(600);
/// How long the children may take.
const SLOW: Duration = Duration::from_secs(600);

fn out(key: &str, value: impl std::fmt::Display) {
    println!("{key} {value}");
}

/// Runs the measurement and prints "key value" lines.
pub fn run(namespaces: usize, ports: u16, tasks: usize, passes: usize) -> Result<()> {
    if u32::from(FIRST_PORT) + u32::from(ports) > u32::from(SOURCE_PORT) {
        bail!(
            "gc: at most {} ports per namespace",
            SOURCE_PORT - FIRST_PORT
        );
    }
    let nt = Netatop::open().context("open the netatop socket (root needed)")?;
    nt.probe()
        .context("netatop.ko does not answer (not loaded?)")?;
    let passes = passes.max(1);

    let pc = ProcCounters::read()?;
    out("gc_empty_sockinfo", pc.sockinfo);
    let empty = timed_gcs(&nt, passes)?;
    out("gc_empty_ms", median(&empty));

    // Flooders: one per namespace, set up before the first slab snapshot.
    let sigs = SigSet::of(&[libc::SIGUSR1, libc::SIGTERM]);
    sigs.block()?;
    let mut pipe = Pipe::new()?;
    let mut flooders = Vec::with_capacity(namespaces);
    for _ in 0..namespaces {
        let (w, sigs) = (&pipe.w, &sigs);
        flooders.push(fork_child(move || flooder(ports, w, sigs))?);
    }
    collect(&mut pipe.r, namespaces, SLOW, "gc: namespaces")?;
    let slab0 = Slab::read()?;
    let pc0 = ProcCounters::read()?;
    let t = Instant::now();
    for f in &flooders {
        f.signal(libc::SIGUSR1)?;
    }
    collect(&mut pipe.r, namespaces, SLOW, "gc: flood")?;
    let flood_s = t.elapsed().as_secs_f64();
    let slab1 = Slab::read()?;
    let pc1 = ProcCounters::read()?;
    let entries = pc1.sockinfo.saturating_sub(pc0.sockinfo);
    out("gc_sockinfo", pc1.sockinfo);
    out("gc_sockinfo_created", entries);
    out("gc_sockinfo_overflow", pc1.sockinfo_overflow);
    out("gc_flood_s", format!("{flood_s:.2}"));
    if pc1.sockinfo_overflow > pc0.sockinfo_overflow {
        eprintln!("gc: the sockinfo cap was hit; load netatop.ko with a larger sockinfo_limit_kb");
    }
    memory("sockinfo", entries, &slab0, &slab1);

    let full = timed_gcs(&nt, passes)?;
    out("gc_full_ms", median(&full));
    out(
        "gc_full_ms_all",
        full.iter()
            .map(|v| format!("{v:.2}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    out("gc_full_age_s", format!("{:.2}", t.elapsed().as_secs_f64()));
    let pc2 = ProcCounters::read()?;
    out("gc_sockinfo_after", pc2.sockinfo);
    out(
        "gc_sockinfo_deleted",
        pc1.sockinfo.saturating_sub(pc2.sockinfo),
    );

    taskinfo(tasks, &sigs)?;

    // The TASKS processes have finished: this pass visits their buckets.
    let pc3 = ProcCounters::read()?;
    let exits = timed_gcs(&nt, 1)?;
    let pc4 = ProcCounters::read()?;
    out("gc_exits_ms", median(&exits));
    out("gc_exits_exited", pc4.taskexit.saturating_sub(pc3.taskexit));

    // A process with 8 sockets finishes: this pass sweeps the whole table.
    fork_child(|| {
        for _ in 0..8 {
            let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("bind")?;
            s.send_to(&[0u8; 16], (Ipv4Addr::LOCALHOST, 9))
                .context("sendto")?;
        }
        Ok(())
    })?
    .wait()?;
    let pc3 = ProcCounters::read()?;
    let sweep = timed_gcs(&nt, 1)?;
    let pc4 = ProcCounters::read()?;
    out("gc_sweep_ms", median(&sweep));
    out("gc_sweep_exited", pc4.taskexit.saturating_sub(pc3.taskexit));
    out("gc_sweep_sockinfo", pc3.sockinfo);

    // Every flood entry idle for more than 16 s: this pass deletes them.
    let idle = Duration::from_millis(17_500);
    if let Some(rest) = idle.checked_sub(t.elapsed()) {
        std::thread::sleep(rest);
    }
    let expire = timed_gcs(&nt, 1)?;
    let pc5 = ProcCounters::read()?;
    out("gc_expire_ms", median(&expire));
    out(
        "gc_expire_deleted",
        pc4.sockinfo.saturating_sub(pc5.sockinfo),
    );

    for f in &flooders {
        f.signal(libc::SIGTERM)?;
    }
    for f in flooders {
        f.wait()?;
    }
    sigs.unblock()?;
    Ok(())
}

/// Prints the memory per entry of `what` between two snapshots.
fn memory(what: &str, entries: u64, before: &Slab, after: &Slab) {
    if entries == 0 {
        out(&format!("{what}_bytes_kmalloc"), "nan");
        return;
    }
    // CAST: byte counts far below 2^53.
    let per = |a: u64, b: u64| (b as f64 - a as f64) / entries as f64;
    out(
        &format!("{what}_bytes_kmalloc"),
        format!(
            "{:.1}",
            per(before.bytes("kmalloc-"), after.bytes("kmalloc-"))
        ),
    );
    out(
        &format!("{what}_bytes_slab"),
        format!("{:.1}", per(before.bytes(""), after.bytes(""))),
    );
    out(
        &format!("{what}_bytes_meminfo"),
        format!("{:.1}", per(before.meminfo_slab, after.meminfo_slab)),
    );
    let grown: Vec<String> = after
        .growth_since(before)
        .iter()
        .take(3)
        .map(|g| format!("{}:{:+}", g.name, g.objects))
        .collect();
    out(&format!("{what}_caches"), grown.join(","));
}

/// `passes` forced collections, each at least [`GC_SPACING`] after the
/// previous one; their wall times in ms.
fn timed_gcs(nt: &Netatop, passes: usize) -> Result<Vec<f64>> {
    let mut v = Vec::with_capacity(passes);
    for _ in 0..passes {
        std::thread::sleep(GC_SPACING);
        let t = Instant::now();
        nt.force_gc().context("NETATOP_FORCE_GC")?;
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(v)
}

/// The median of `v` (0 if empty).
fn median(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    };
    format!("{m:.2}")
}

/// A flooder: new network namespace, then on SIGUSR1 one datagram to each
/// port; stays alive until SIGTERM.
fn flooder(ports: u16, done: &File, sigs: &SigSet) -> Result<()> {
    die_with_parent(libc::SIGTERM)?;
    let mut done = done.try_clone()?;
    // SAFETY: unshare(2) of the network namespace of this single-threaded process.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error()).context("unshare(CLONE_NEWNET)");
    }
    loopback_up()?;
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, SOURCE_PORT)).context("bind")?;
    post(&mut done)?;
    if sigs.wait()? != libc::SIGUSR1 {
        return Ok(());
    }
    let buf = [0u8; 64];
    for p in 0..ports {
        // Port unreachable errors do not reach an unconnected socket
        // without IP_RECVERR; anything else is a real failure.
        if let Err(e) = s.send_to(&buf, (Ipv4Addr::LOCALHOST, FIRST_PORT + p)) {
            if e.raw_os_error() != Some(libc::ECONNREFUSED) {
                return Err(e).context("sendto");
            }
        }
    }
    post(&mut done)?;
    while sigs.wait()? != libc::SIGTERM {}
    Ok(())
}

/// Sets `lo` up in the current network namespace (it then gets 127.0.0.1
/// and ::1).
fn loopback_up() -> Result<()> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).context("socket for ioctl")?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
    // SAFETY: a zeroed ifreq is valid; the name fits (3 of IFNAMSIZ bytes);
    // SIOCGIFFLAGS/SIOCSIFFLAGS read and write ifr_ifru.ifru_flags only.
    unsafe {
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, s) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
            // CAST: ASCII byte to c_char.
            *d = *s as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) != 0 {
            return Err(std::io::Error::last_os_error()).context("SIOCGIFFLAGS lo");
        }
        // CAST: IFF_UP (1) fits in c_short.
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) != 0 {
            return Err(std::io::Error::last_os_error()).context("SIOCSIFFLAGS lo up");
        }
    }
    Ok(())
}

/// Memory per taskinfo: `tasks` processes send one datagram each on a
/// socket netatop already knows.
fn taskinfo(tasks: usize, sigs: &SigSet) -> Result<()> {
    if tasks == 0 {
        return Ok(());
    }
    let sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("bind sink")?;
    sink.set_nonblocking(true)?;
    let shared = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("bind shared")?;
    let dst = sink.local_addr()?;
    // Creates the sockinfo of both ports before the snapshots.
    shared.send_to(&[0u8; 16], dst)?;
    drain(&sink);

    let mut pipe = Pipe::new()?;
    let mut children = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let (w, shared) = (&pipe.w, &shared);
        children.push(fork_child(move || {
            die_with_parent(libc::SIGTERM)?;
            let mut done = w.try_clone()?;
            post(&mut done)?;
            if sigs.wait()? != libc::SIGUSR1 {
                return Ok(());
            }
            shared.send_to(&[0u8; 16], dst).context("sendto")?;
            post(&mut done)?;
            while sigs.wait()? != libc::SIGTERM {}
            Ok(())
        })?);
    }
    collect(&mut pipe.r, tasks, SLOW, "taskinfo: start")?;
    let slab0 = Slab::read()?;
    let pc0 = ProcCounters::read()?;
    for c in &children {
        c.signal(libc::SIGUSR1)?;
    }
    collect(&mut pipe.r, tasks, SLOW, "taskinfo: send")?;
    drain(&sink);
    let slab1 = Slab::read()?;
    let pc1 = ProcCounters::read()?;
    let entries = pc1.taskinfo.saturating_sub(pc0.taskinfo);
    out("taskinfo_processes", tasks);
    out("taskinfo_created", entries);
    out("taskinfo_overflow", pc1.taskinfo_overflow);
    out(
        "taskinfo_sockinfo_created",
        pc1.sockinfo.saturating_sub(pc0.sockinfo),
    );
    memory("taskinfo", entries, &slab0, &slab1);
    for c in &children {
        c.signal(libc::SIGTERM)?;
    }
    for c in children {
        c.wait()?;
    }
    Ok(())
}

/// Reads everything queued on a non-blocking socket.
fn drain(s: &UdpSocket) {
    let mut b = [0u8; 64];
    while s.recv(&mut b).is_ok() {}
}
