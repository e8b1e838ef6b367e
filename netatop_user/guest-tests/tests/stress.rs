//! Stress: process and connection churn, floods of unanswered tuples,
//! unload cycles under blocked readers, concurrent blocking callers under
//! signals. Bounded in time; run by `make stress` and `make check-debug`
//! (not by `make check`). Runs as root in the test VM with netatop.ko loaded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use netatop::{Error, NetPerTask, Netatop};
use netatop_guest_tests::{
    drain_exits, force_gc, install_sigusr1, ledger_balance, ledger_traffic, module_exclusive,
    module_path, proc_counters, reload_module, run, sockinfo_cap, tcp_echo_server, ModuleParams,
    Netns, Traffic, LINK_BYTES,
};

/// A thread reading GETCNT_EXIT until told to stop (a signal unblocks it).
struct Reader {
    stop: Arc<AtomicBool>,
    thread: libc::pthread_t,
    handle: std::thread::JoinHandle<Vec<NetPerTask>>,
}

impl Reader {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            // SAFETY: no preconditions.
            tx.send(unsafe { libc::pthread_self() }).unwrap();
            let n = Netatop::open().unwrap();
            let mut got = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match n.next_exited() {
                    Ok(r) => got.push(r),
                    Err(Error::Interrupted) => {}
                    Err(e) => panic!("GETCNT_EXIT: {e}"),
                }
            }
            got
        });
        Reader {
            stop,
            thread: rx.recv().unwrap(),
            handle,
        }
    }

    fn finish(self) -> Vec<NetPerTask> {
        self.stop.store(true, Ordering::SeqCst);
        while !self.handle.is_finished() {
            // SAFETY: the thread is alive until it has finished.
            unsafe { libc::pthread_kill(self.thread, libc::SIGUSR1) };
            std::thread::sleep(Duration::from_millis(20));
        }
        self.handle.join().unwrap()
    }
}

/// Forks `processes` children (from `threads` threads) that each send one
/// 10-byte datagram to 127.0.0.1:9 and exit; returns their pids. The
/// children use raw system calls only (the parent is multi-threaded).
fn churn(processes: usize, threads: usize) -> Vec<i32> {
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut pids = Vec::new();
                let to = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 9u16.to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                for _ in 0..processes / threads {
                    // SAFETY: the child makes async-signal-safe system calls
                    // only, then _exit.
                    let pid = unsafe { libc::fork() };
                    assert!(pid >= 0, "fork");
                    if pid == 0 {
                        // SAFETY: as above.
                        unsafe {
                            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
                            let sent = libc::sendto(
                                fd,
                                [3u8; 10].as_ptr().cast(),
                                10,
                                0,
                                std::ptr::from_ref(&to).cast(),
                                std::mem::size_of::<libc::sockaddr_in>() as u32,
                            );
                            libc::_exit(if sent == 10 { 0 } else { 1 });
                        }
                    }
                    let mut status = 0;
                    // SAFETY: reaping our own child.
                    unsafe { libc::waitpid(pid, &mut status, 0) };
                    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
                    pids.push(pid);
                }
                pids
            })
        })
        .collect();
    workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect()
}

/// Thousands of short-lived processes each sending one datagram, while a
/// reader drains the exit list and pollers query random pids: every process
/// is delivered exactly once, with exact counters.
#[test]
fn process_churn_delivers_every_record_exactly_once() {
    let _m = module_exclusive();
    install_sigusr1();
    force_gc();
    drain_exits();
    let reader = Reader::start();
    let stop = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = (0..2)
        .map(|k| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let n = Netatop::open().unwrap();
                let mut x = 12345u32 + k;
                let mut calls = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let id = (x % 4000) as i32;
                    for r in [n.process(id), n.thread(id)] {
                        assert!(matches!(r, Ok(_) | Err(Error::NoSuchTask(_))), "{r:?}");
                    }
                    calls += 2;
                    // Racing, not spinning: two pollers busy on both CPUs
                    // starve the churn (under KASAN for half an hour).
                    std::thread::sleep(Duration::from_micros(200));
                }
                calls
            })
        })
        .collect();
    const PROCESSES: usize = 2000;
    let t = Instant::now();
    let pids = churn(PROCESSES, 2);
    let churn_time = t.elapsed();
    force_gc();
    // Wait until the reader has everything (it drains as the GC moves them).
    let deadline = Instant::now() + Duration::from_secs(30);
    while proc_counters().taskexit > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let records = reader.finish();
    stop.store(true, Ordering::Relaxed);
    let polls: u64 = pollers.into_iter().map(|p| p.join().unwrap()).sum();

    let mut seen: HashMap<i32, usize> = HashMap::new();
    for r in &records {
        *seen.entry(r.id).or_default() += 1;
    }
    let per_packet = 20 + 8 + 10 + LINK_BYTES;
    let missing: Vec<&i32> = pids.iter().filter(|p| seen.get(p) != Some(&1)).collect();
    if !missing.is_empty() {
        let n = Netatop::open().unwrap();
        let sample: Vec<String> = missing
            .iter()
            .take(5)
            .map(|&&p| {
                format!(
                    "{p}: seen {:?}, live {:?}",
                    seen.get(&p),
                    n.process(p).map(|r| r.tc)
                )
            })
            .collect();
        panic!(
            "{} of {} pids not delivered exactly once ({} records, churn {churn_time:?}, {:?}): {sample:?}",
            missing.len(),
            pids.len(),
            records.len(),
            proc_counters()
        );
    }
    for r in records.iter().filter(|r| pids.contains(&r.id)) {
        assert_eq!(
            (r.tc.udpsndpacks, r.tc.udpsndbytes),
            (1, per_packet),
            "{r:?}"
        );
    }
    println!(
        "stress: {} processes churned in {churn_time:?}, {} exit records, {polls} GETCNT polls",
        pids.len(),
        records.len()
    );
}

/// Many short TCP connections and UDP ports from two threads: the closed
/// connections disappear at the next collection, the UDP ports when idle
/// for 16 s; every packet counts for this process.
#[test]
fn connection_churn_is_collected() {
    use std::collections::{HashMap, HashSet};
    use std::time::Instant;

    let _m = module_exclusive();
    // A fresh module without periodic collection (on a debug kernel the
    // churn takes longer than the 15 s interval): the forced one below is
    // measured.
    let _params = ModuleParams::load(&["gc_interval_ms=3600000"]);
    const CONNECTIONS: usize = 1000;
    let (port, server) = tcp_echo_server(CONNECTIONS);
    let clients: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                // Each TCP client port and UDP port used, and when the
                // UDP port last sent.
                let (mut tcp, mut udp) = (Vec::new(), Vec::new());
                for _ in 0..CONNECTIONS / 2 {
                    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                    tcp.push(c.local_addr().unwrap().port());
                    c.write_all(&[7u8; 100]).unwrap();
                    let mut b = [0u8; 100];
                    c.read_exact(&mut b).unwrap();
                    let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                    u.send_to(b"x", "127.0.0.1:9").unwrap();
                    udp.push((u.local_addr().unwrap().port(), Instant::now()));
                }
                (tcp, udp)
            })
        })
        .collect();
    let mut tuples = HashSet::new();
    let mut last_send = HashMap::new();
    for c in clients {
        let (tcp, udp) = c.join().unwrap();
        tuples.extend(tcp);
        for (p, t) in udp {
            let e = last_send.entry(p).or_insert(t);
            *e = (*e).max(t);
        }
    }
    server.join().unwrap();
    // Ports come back (UDP ports once closed, TCP tuples in TIME_WAIT with
    // tcp_tw_reuse on loopback): one entry per distinct tuple or port.
    let (tuples, ports) = (tuples.len() as u64, last_send.len() as u64);
    let peak = proc_counters().sockinfo;
    std::thread::sleep(Duration::from_millis(500));
    let gc_at = Instant::now();
    force_gc();
    let after = proc_counters().sockinfo;
    println!(
        "stress: {CONNECTIONS} TCP connections over {tuples} tuples + {CONNECTIONS} UDP sends from {ports} ports: #sockinfo {peak} -> {after} after GC"
    );
    // One entry per end of each loopback TCP tuple, one per UDP port, and
    // port 9's receiving end.
    assert_eq!(peak, 2 * tuples + ports + 1, "peak");
    // Closed TCP goes at once, the UDP ports idle for more than 16 s too
    // (jiffies against this clock: a second of slack either way); port 9
    // (below 1024, receive-only for 60 s) stays.
    let idle_within = |secs: u64| {
        last_send
            .values()
            .filter(|&&t| gc_at.duration_since(t) < Duration::from_secs(secs))
            .count() as u64
    };
    let (least, most) = (idle_within(15) + 1, idle_within(17) + 1);
    assert!(
        (least..=most).contains(&after),
        "after GC: {after}, expected {least}..={most}"
    );
    let n = Netatop::open().unwrap();
    let me = n.process(std::process::id() as i32).unwrap();
    assert_eq!(me.tc.udpsndpacks, CONNECTIONS as u64, "{me:?}");
    assert!(me.tc.tcpsndpacks >= 2 * CONNECTIONS as u64, "{me:?}");
}

/// A flood of tuples nobody answers, from another namespace, with a small
/// cap: entries nobody local sent on stay within their share of the table
/// (a quarter; the oldest make room for new ones), memory within the cap,
/// and a process pair that starts talking while the flood fills the share
/// is counted exactly.
#[test]
fn flood_stays_within_the_caps_and_real_traffic_stays_exact() {
    let _m = module_exclusive();
    // 64 KiB of entries (431 of 152 bytes), a quarter of them (rounded up)
    // for entries never bound.
    let _params = ModuleParams::load(&["sockinfo_limit_kb=64"]);
    let cap = sockinfo_cap(64);
    let share = cap.div_ceil(4);
    let a = Netns::new("stress-fa");
    let b = Netns::new("stress-fb");
    let _ = std::process::Command::new("ip")
        .args(["link", "del", "stress-va"])
        .stderr(std::process::Stdio::null())
        .status();
    run(
        "ip",
        &[
            "link",
            "add",
            "stress-va",
            "netns",
            &a.name,
            "type",
            "veth",
            "peer",
            "name",
            "stress-vb",
            "netns",
            &b.name,
        ],
    );
    a.ip(&["addr", "add", "10.198.0.1/24", "dev", "stress-va"]);
    b.ip(&["addr", "add", "10.198.0.2/24", "dev", "stress-vb"]);
    a.ip(&["link", "set", "stress-va", "up"]);
    b.ip(&["link", "set", "stress-vb", "up"]);

    // 2048 ports below the ephemeral range, for 4 s.
    let t = Instant::now();
    let mut flood = Traffic::start(
        Some(&a.name),
        &["udp-flood", "10.198.0.2", "1025", "2048", "4"],
    );
    // The share is full once the flood has made that many entries.
    let deadline = Instant::now() + std::time::Duration::from_secs(4);
    let mut most = proc_counters().sockinfo;
    while most < share && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        most = most.max(proc_counters().sockinfo);
    }
    assert!(most >= share, "the flood did not fill its share: {most}");

    // The real pair, in a third namespace (the tables are global), opens
    // its sockets now.
    let c = Netns::new("stress-fc");
    const COUNT: u64 = 40;
    let echo = Traffic::start(
        Some(&c.name),
        &["udp-echo-server", "127.0.0.1", &COUNT.to_string()],
    );
    let port = echo.get("port").to_string();
    let mut client = Traffic::start(
        Some(&c.name),
        &["udp-client", "127.0.0.1", &port, &COUNT.to_string(), "16"],
    );
    client.wait_done();
    let mut echo = echo;
    echo.wait_done();
    let during = proc_counters();
    flood.wait_done();
    let end = proc_counters();

    let per_packet = 20 + 8 + 16 + LINK_BYTES;
    let cc = Netatop::open()
        .unwrap()
        .process(client.get("pid"))
        .unwrap()
        .tc;
    let sc = Netatop::open()
        .unwrap()
        .process(echo.get("pid"))
        .unwrap()
        .tc;
    for tc in [cc, sc] {
        assert_eq!((tc.udpsndpacks, tc.udprcvpacks), (COUNT, COUNT), "{tc:?}");
        assert_eq!(tc.udpsndbytes, COUNT * per_packet);
    }
    println!(
        "stress: flood sent {} datagrams in {:?}; #sockinfo {} during (share {share}, cap {cap}), {} after, overflow {}, unident rcv {}",
        flood.get("sent"),
        t.elapsed(),
        during.sockinfo,
        end.sockinfo,
        end.sockinfo_overflow,
        end.unident_udprcvpacks
    );
    // The flood's entries, the pair's two and the flooder's own socket; an
    // entry is admitted past the share when no older one could be evicted
    // (rare: busy bucket locks), hence a little slack.
    for p in [&during, &end] {
        assert!(p.sockinfo <= share + 3 + share / 32, "{p:?}");
    }
    // Entries that made room for newer ones were charged as unidentified.
    assert!(end.unident_udprcvpacks > 0, "{end:?}");
    for t in [flood, client, echo] {
        t.finish();
    }
}

/// 50 unload/reload cycles under traffic; every fifth one with a reader
/// blocked in GETCNT_EXIT, which makes rmmod fail cleanly until it returns.
#[test]
fn fifty_unload_cycles_with_blocked_readers() {
    let _m = module_exclusive();
    install_sigusr1();
    let ns = Netns::new("stress-cycles");
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        let ns = ns.name.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let echo = Traffic::start(Some(&ns), &["udp-echo-server", "::1", "10"]);
                let port = echo.get("port").to_string();
                let mut client =
                    Traffic::start(Some(&ns), &["udp-client", "::1", &port, "10", "200"]);
                client.wait_done();
                let mut echo = echo;
                echo.wait_done();
                client.finish();
                echo.finish();
            }
        })
    };
    let mut refused = 0;
    for cycle in 0..50 {
        let reader = (cycle % 5 == 0).then(Reader::start);
        if reader.is_some() {
            std::thread::sleep(Duration::from_millis(200));
            let out = std::process::Command::new("rmmod")
                .arg("netatop")
                .output()
                .unwrap();
            assert!(
                !out.status.success(),
                "rmmod succeeded under a blocked reader"
            );
            refused += 1;
        }
        if let Some(r) = reader {
            r.finish();
        }
        run("rmmod", &["netatop"]);
        run("insmod", &[&module_path(), "gc_interval_ms=10"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    traffic.join().unwrap();
    println!("stress: 50 unload cycles, {refused} refused under a blocked reader");
    reload_module();
}

/// Readers, FORCE_GC and EMPTY_EXIT callers at once, with signals arriving
/// at random, while processes finish: no record is lost or delivered twice.
#[test]
fn concurrent_blocking_callers_under_signals_lose_nothing() {
    let _m = module_exclusive();
    install_sigusr1();
    force_gc();
    drain_exits();
    let readers: Vec<Reader> = (0..3).map(|_| Reader::start()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let (tid_tx, tid_rx) = mpsc::channel();
    let others: Vec<_> = (0..4)
        .map(|k| {
            let stop = stop.clone();
            let tid_tx = tid_tx.clone();
            std::thread::spawn(move || {
                // SAFETY: no preconditions.
                tid_tx.send(unsafe { libc::pthread_self() }).unwrap();
                let n = Netatop::open().unwrap();
                let mut calls = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let r = if k % 2 == 0 {
                        n.force_gc()
                    } else {
                        n.wait_exit_list_empty()
                    };
                    assert!(matches!(r, Ok(()) | Err(Error::Interrupted)), "{r:?}");
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let mut targets: Vec<libc::pthread_t> = (0..4).map(|_| tid_rx.recv().unwrap()).collect();
    targets.extend(readers.iter().map(|r| r.thread));
    let signaller = {
        let stop = stop.clone();
        let targets = targets.clone();
        std::thread::spawn(move || {
            let mut x = 99u32;
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let t = targets[(x as usize) % targets.len()];
                // SAFETY: the target threads live until `stop` is set and
                // joined after this thread.
                unsafe { libc::pthread_kill(t, libc::SIGUSR1) };
                sent += 1;
                std::thread::sleep(Duration::from_millis(3));
            }
            sent
        })
    };
    let pids = churn(300, 2);
    force_gc();
    let deadline = Instant::now() + Duration::from_secs(30);
    while proc_counters().taskexit > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let signals = signaller.join().unwrap();
    let calls: u64 = others.into_iter().map(|o| o.join().unwrap()).sum();
    let mut seen: HashMap<i32, usize> = HashMap::new();
    for r in readers.into_iter().flat_map(Reader::finish) {
        *seen.entry(r.id).or_default() += 1;
    }
    for pid in &pids {
        assert_eq!(seen.get(pid), Some(&1), "pid {pid}");
    }
    println!(
        "stress: {} processes, {signals} signals, {calls} FORCE_GC/EMPTY_EXIT calls, 3 readers",
        pids.len()
    );
}

/// The ledger: after traffic and process churn, every TCP and UDP packet
/// the hooks saw is charged to a live process, to a finished one (its exit
/// record) or counted as unidentified, exactly.
#[test]
fn ledger_every_packet_is_charged_or_unidentified() {
    let _m = module_exclusive();
    // No periodic collection: it would expire exit records nobody read
    // within 15-30 s (a slow debug kernel takes longer than that).
    let _params = ModuleParams::load(&["gc_interval_ms=3600000"]);
    let ns = Netns::new("stress-ledger");
    let (echo4, echo6) = ledger_traffic(&ns, 4, 5);
    let records = ledger_balance(1);
    // 40 UDP clients and 4 TCP pairs finished.
    assert!(records >= 48, "{records} exit records");
    assert!(proc_counters().udpsndpacks >= 2 * 40 * 5);
    echo4.finish();
    echo6.finish();
}
