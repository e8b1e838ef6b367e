//! The lifecycle: garbage collection, the exit list of finished processes,
//! the blocking commands and their signals, PID reuse, unloading.
//!
//! These tests read the exit list, which is global: each holds the exclusive
//! lock, so no other test consumes records or makes processes meanwhile.
//! Runs as root inside the test VM with netatop.ko loaded (make check).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use netatop::{Error, NetPerTask, Netatop, TaskCount};
use netatop_guest_tests::{
    drain_exits, force_gc, gettid, install_sigusr1, module_exclusive, module_path, proc_counters,
    reload_module, run, start_time, Cgroup, ModuleParams, Netns, Traffic, LINK_BYTES,
};

fn find(records: &[NetPerTask], pid: i32) -> Vec<NetPerTask> {
    records.iter().filter(|r| r.id == pid).copied().collect()
}

fn udp_sends(packets: u64, payload: u64) -> TaskCount {
    TaskCount {
        udpsndpacks: packets,
        udpsndbytes: packets * (20 + 8 + payload + LINK_BYTES),
        ..Default::default()
    }
}

/// A process that sent known traffic and exited: after FORCE_GC the exit
/// list holds its pid, command, start time and exact counters; it has left
/// the live table; EMPTY_EXIT then returns.
#[test]
fn finished_process_reaches_the_exit_list_with_exact_counts() {
    let _m = module_exclusive();
    let ns = Netns::new("life-exit");
    force_gc();
    drain_exits();

    let mut child = Traffic::start(Some(&ns.name), &["udp-blast", "127.0.0.1", "9", "5", "20"]);
    child.wait_done();
    let pid = child.get("pid");
    let btime = start_time(pid);
    child.finish();

    force_gc();
    let n = Netatop::open().unwrap();
    assert!(
        matches!(n.process(pid), Err(Error::NoSuchTask(_))),
        "left the live table"
    );
    assert!(
        matches!(n.thread(pid), Err(Error::NoSuchTask(_))),
        "thread freed"
    );
    let records = drain_exits();
    let mine = find(&records, pid);
    assert_eq!(mine.len(), 1, "exactly one record for {pid} in {records:?}");
    let r = mine[0];
    assert_eq!(r.command(), "netatop-traffic");
    assert_eq!(r.btime, btime, "start time to the second");
    assert_eq!(r.pad, [0; 4]);
    assert_eq!(r.tc, udp_sends(5, 20));

    // We were the reader: EMPTY_EXIT waits at most the 2 s hand-off time.
    let t = Instant::now();
    n.wait_exit_list_empty().expect("EMPTY_EXIT");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "EMPTY_EXIT took {:?}",
        t.elapsed()
    );
}

/// The connections of a finished process go in the collection that finds
/// it finished, whether the collector finds them through the buckets the
/// process remembers (up to three) or by sweeping the whole table (more).
#[test]
fn connections_of_a_finished_process_go_with_it() {
    let _m = module_exclusive();
    // No periodic collection: the forced ones below are the only ones.
    let _params = ModuleParams::load(&["gc_interval_ms=3600000"]);
    let ns = Netns::new("life-orphans");
    let addr = "127.0.0.1";

    for sockets in [1, 2, 3, 4, 12] {
        let sink = Traffic::start(
            Some(&ns.name),
            &["udp-sink", addr, "600", &sockets.to_string()],
        );
        let mut p = Traffic::start(
            Some(&ns.name),
            &["udp-sockets", addr, "600", &sockets.to_string(), "10"],
        );
        p.wait_done();
        let pid = p.get("pid");
        let mut sink = sink;
        sink.wait_done();
        force_gc();
        drain_exits();
        let before = proc_counters();
        p.finish();
        force_gc();
        let after = proc_counters();
        assert_eq!(
            before.sockinfo - after.sockinfo,
            sockets,
            "{sockets} sockets: each connection went with the process: {before:?} -> {after:?}"
        );
        let records = drain_exits();
        let mine = find(&records, pid);
        assert_eq!(mine.len(), 1, "{records:?}");
        assert_eq!(mine[0].tc, udp_sends(sockets, 10));
        sink.finish();
    }
}

/// Threads that had connections finish while their process lives and
/// another thread keeps sending: the collection frees exactly their
/// taskinfo entries (visiting the buckets of their connections), their
/// counters stay in the process, and their sockets, used again by another
/// thread, count for that thread.
///
/// The collector frees a thread and then visits its buckets; it must not
/// hold a taskinfo bucket lock while it takes a sockinfo bucket lock, the
/// packet path taking them in the other order (lockdep reported it on the
/// debug kernel before the fix; `make check-debug` fails on such a report).
#[test]
fn finished_threads_are_freed_while_their_process_sends() {
    use std::net::UdpSocket;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    const WORKERS: usize = 8;
    const SOCKETS: usize = 3;
    const SENDS: u64 = 4;
    const SIZE: u64 = 16;
    let _m = module_exclusive();
    let _params = ModuleParams::load(&["gc_interval_ms=3600000"]);
    let tgid = std::process::id() as i32;
    let n = Netatop::open().unwrap();
    let to = "127.0.0.1:9";

    // Workers: SOCKETS sockets each, SENDS datagrams from each.
    let (tx, rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Arc::new(std::sync::Mutex::new(go_rx));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (tx, go_rx) = (tx.clone(), go_rx.clone());
            std::thread::spawn(move || {
                let socks: Vec<UdpSocket> = (0..SOCKETS)
                    .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
                    .collect();
                for s in &socks {
                    for _ in 0..SENDS {
                        s.send_to(&[5; SIZE as usize], to).unwrap();
                    }
                }
                tx.send(gettid()).unwrap();
                let _ = go_rx.lock().unwrap().recv();
                socks
            })
        })
        .collect();
    let tids: Vec<i32> = (0..WORKERS).map(|_| rx.recv().unwrap()).collect();
    for &tid in &tids {
        assert_eq!(
            n.thread(tid).unwrap().tc,
            udp_sends(SOCKETS as u64 * SENDS, SIZE)
        );
    }

    // A thread sending all the time, from before the workers finish until
    // after the collections.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let (first_tx, first_rx) = mpsc::channel();
    let sender = {
        let (stop, sent) = (stop.clone(), sent.clone());
        std::thread::spawn(move || {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            while !stop.load(Ordering::Relaxed) {
                s.send_to(&[6; SIZE as usize], to).unwrap();
                if sent.fetch_add(1, Ordering::Relaxed) == 0 {
                    first_tx.send(()).unwrap();
                }
            }
        })
    };
    first_rx.recv().unwrap();
    let tasks_before = proc_counters().taskinfo;

    drop(go_tx);
    let socks: Vec<UdpSocket> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    for _ in 0..3 {
        force_gc();
    }
    let tasks_after = proc_counters().taskinfo;
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();

    for &tid in &tids {
        assert!(
            matches!(n.thread(tid), Err(Error::NoSuchTask(_))),
            "thread {tid} freed"
        );
    }
    assert_eq!(
        tasks_before - tasks_after,
        WORKERS as u64,
        "exactly the finished threads were freed"
    );
    // The module was loaded afresh: everything this process sent since.
    let workers_sent = (WORKERS * SOCKETS) as u64 * SENDS;
    assert_eq!(
        n.process(tgid).unwrap().tc,
        udp_sends(workers_sent + sent.load(Ordering::Relaxed), SIZE),
        "the finished threads' and the sender's datagrams stay with the process"
    );

    // The finished workers' sockets, used by this thread, count for it.
    let me = gettid();
    let mine = n.thread(me).map(|t| t.tc).unwrap_or_default();
    let group = n.process(tgid).unwrap().tc;
    for s in &socks {
        s.send_to(&[7; SIZE as usize], to).unwrap();
    }
    let k = socks.len() as u64;
    assert_eq!(
        n.thread(me).unwrap().tc.udpsndpacks - mine.udpsndpacks,
        k,
        "rebound to the thread sending now"
    );
    assert_eq!(
        n.process(tgid).unwrap().tc.udpsndpacks - group.udpsndpacks,
        k
    );
}

/// GETCNT_EXIT into a fresh anonymous page (so that copying the record
/// faults); returns whether a record was copied (`false`: interrupted by a
/// signal).
fn getcnt_exit_into_fresh_page(sock: libc::c_int) -> bool {
    // SAFETY: a new private anonymous mapping, unmapped below.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(page, libc::MAP_FAILED);
    let mut len = 96 as libc::socklen_t;
    // SAFETY: `page` is 4096 writable bytes; `len` is a valid socklen_t.
    let rc = unsafe {
        libc::getsockopt(
            sock,
            libc::SOL_IP,
            netatop::Command::GetcntExit as libc::c_int,
            page,
            &mut len,
        )
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: mapped above, not used after this.
    unsafe { libc::munmap(page, 4096) };
    if rc != 0 {
        assert_eq!(err.raw_os_error(), Some(libc::EINTR), "GETCNT_EXIT: {err}");
        return false;
    }
    true
}

/// EMPTY_EXIT (atop: "netatopd has logged every finished process") never
/// returns while a record is still being copied to the reader: the record
/// counts as handed out from the moment it leaves the list until the reader
/// comes back for the next one. Each round makes one finished process,
/// forces a collection (which wakes our reader) and calls EMPTY_EXIT after
/// a delay that varies from round to round, so that some calls land while
/// the reader is copying.
#[test]
fn empty_exit_waits_for_a_record_being_copied() {
    let _m = module_exclusive();
    install_sigusr1();
    force_gc();
    drain_exits();
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (tid_tx, tid_rx) = mpsc::channel();
    let reader = {
        let received = received.clone();
        std::thread::spawn(move || {
            // SAFETY: plain socket(2) and pthread_self(3) calls.
            let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
            assert!(sock >= 0);
            tid_tx.send(unsafe { libc::pthread_self() }).unwrap();
            while getcnt_exit_into_fresh_page(sock) {
                received.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            // SAFETY: our socket.
            unsafe { libc::close(sock) };
        })
    };
    let reader_thread = tid_rx.recv().unwrap();
    let n = Netatop::open().unwrap();
    const ROUNDS: usize = 24;
    for round in 0..ROUNDS {
        let status = std::process::Command::new(netatop_guest_tests::traffic_bin())
            .args(["udp-once", "127.0.0.1", "9", "10"])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(!reader.is_finished(), "the reader stopped");
        force_gc();
        std::thread::sleep(Duration::from_micros(20 * (round as u64 % 4)));
        let t = Instant::now();
        n.wait_exit_list_empty().expect("EMPTY_EXIT");
        let got = received.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            got == round + 1 || t.elapsed() >= Duration::from_millis(1900),
            "round {round}: EMPTY_EXIT returned after {:?} with {got} of {} records copied",
            t.elapsed(),
            round + 1
        );
    }
    // Interrupt the reader's next (blocking) GETCNT_EXIT; a signal that
    // arrives between two calls is simply sent again.
    while !reader.is_finished() {
        // SAFETY: the thread is still running (not joined yet).
        unsafe { libc::pthread_kill(reader_thread, libc::SIGUSR1) };
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap();
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), ROUNDS);
}

/// GETCNT_EXIT blocks while the list is empty; EMPTY_EXIT returns at once
/// when a reader is waiting (the netatopd hand-shake); the reader wakes up
/// when a process finishes and is collected.
#[test]
fn getcnt_exit_blocks_until_a_process_finishes() {
    let _m = module_exclusive();
    let ns = Netns::new("life-block");
    force_gc();
    drain_exits();

    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        tx.send(Netatop::open().unwrap().next_exited()).unwrap();
    });
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        rx.try_recv().is_err(),
        "GETCNT_EXIT returned on an empty list"
    );

    let t = Instant::now();
    Netatop::open().unwrap().wait_exit_list_empty().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "EMPTY_EXIT with a waiting reader took {:?}",
        t.elapsed()
    );

    let mut child = Traffic::start(Some(&ns.name), &["udp-blast", "127.0.0.1", "9", "2", "10"]);
    child.wait_done();
    let pid = child.get("pid");
    child.finish();
    force_gc();
    let record = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the blocked reader did not wake up")
        .expect("GETCNT_EXIT");
    assert_eq!(record.id, pid);
    assert_eq!(record.tc, udp_sends(2, 10));
    reader.join().unwrap();
}

/// Runs `f` in a thread, interrupts it with a signal after 400 ms and returns
/// what `f` returned.
fn interrupted<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (res_tx, res_rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tid_tx.send(unsafe { libc::pthread_self() }).unwrap();
        res_tx.send(f()).unwrap();
    });
    let thread = tid_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(res_rx.try_recv().is_err(), "returned before the signal");
    // SAFETY: the thread is alive (it has not sent its result yet).
    assert_eq!(unsafe { libc::pthread_kill(thread, libc::SIGUSR1) }, 0);
    let r = res_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("signal did not interrupt");
    h.join().unwrap();
    r
}

/// A signal interrupts GETCNT_EXIT and EMPTY_EXIT with EINTR; no record is
/// lost: the next read returns it.
#[test]
fn signals_interrupt_blocking_commands_without_losing_records() {
    let _m = module_exclusive();
    let ns = Netns::new("life-signal");
    install_sigusr1();
    force_gc();
    drain_exits();

    let r = interrupted(|| Netatop::open().unwrap().next_exited());
    assert!(matches!(r, Err(Error::Interrupted)), "GETCNT_EXIT: {r:?}");

    let mut child = Traffic::start(Some(&ns.name), &["udp-blast", "127.0.0.1", "9", "3", "10"]);
    child.wait_done();
    let pid = child.get("pid");
    child.finish();
    force_gc();
    // The list is not empty: EMPTY_EXIT blocks until the signal.
    let r = interrupted(|| Netatop::open().unwrap().wait_exit_list_empty());
    assert!(matches!(r, Err(Error::Interrupted)), "EMPTY_EXIT: {r:?}");

    let records = drain_exits();
    assert_eq!(
        find(&records, pid).len(),
        1,
        "record kept across the signals"
    );
    assert_eq!(find(&records, pid)[0].tc, udp_sends(3, 10));
}

/// A new process that gets the pid of a finished one never sees, nor
/// changes, the old one's counters.
#[test]
fn pid_reuse_never_mixes_counters() {
    let _m = module_exclusive();
    force_gc();
    drain_exits();

    let mut old = Traffic::start(None, &["udp-blast", "127.0.0.1", "9", "3", "10"]);
    old.wait_done();
    let pid = old.get("pid");
    old.finish();

    // Not collected yet: the next process is given the same pid.
    std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1)).unwrap();
    let mut new = Traffic::start(None, &["udp-blast", "127.0.0.1", "9", "11", "10"]);
    new.wait_done();
    assert_eq!(new.get("pid"), pid, "could not force pid reuse");
    let btime = start_time(pid);

    let live = Netatop::open().unwrap().process(pid).unwrap();
    assert_eq!(
        live.tc,
        udp_sends(11, 10),
        "new process sees only its own traffic"
    );
    assert_eq!(live.btime, btime);

    force_gc();
    let records = drain_exits();
    let old_records = find(&records, pid);
    assert_eq!(
        old_records.len(),
        1,
        "the finished process, and only it: {records:?}"
    );
    assert_eq!(
        old_records[0].tc,
        udp_sends(3, 10),
        "old counters untouched"
    );
    assert_eq!(
        Netatop::open().unwrap().process(pid).unwrap().tc,
        udp_sends(11, 10)
    );

    new.finish();
    force_gc();
    let records = drain_exits();
    assert_eq!(find(&records, pid).len(), 1);
    assert_eq!(find(&records, pid)[0].tc, udp_sends(11, 10));
}

/// One minute of life on a fresh module: closed TCP connections go at the
/// next collection, idle UDP ports after 16 s, a receive-only port after
/// 60 s (its traffic becoming unidentified), an unread finished process
/// after 15 s, and every table is empty once the processes are gone.
///
/// The collections are the forced ones below, at known times: a periodic
/// one could come while the processes are set up (which takes more than
/// the 15 s interval on the debug kernel).
#[test]
fn collection_timeline() {
    let _m = module_exclusive();
    let _params = ModuleParams::load(&["gc_interval_ms=3600000"]);
    let ns = Netns::new("life-timeline");
    let addr = "127.0.0.1";

    // Every server first; then the traffic, the UDP ping-pong last: a port
    // above 1024 is dropped after 16 s without a packet, and setting up a
    // process takes seconds on the debug kernel, so the ports that must
    // still be there at the first collection get their packets just before
    // it. All processes but `gone` stay alive.
    let echo = Traffic::start(Some(&ns.name), &["udp-echo-server", addr, "3"]);
    let port = echo.get("port").to_string();
    let tcp_server = Traffic::start(Some(&ns.name), &["tcp-server", addr, "close"]);
    let tport = tcp_server.get("port").to_string();
    // Receive-only: a sink on port 500 (ports up to 1024 are exempt from the
    // UDP idle rule) that never sends gets 7 datagrams.
    let sink = Traffic::start(Some(&ns.name), &["udp-sink", addr, "500", "7"]);
    let setup = Instant::now();
    // A TCP pair that closes its connection.
    let mut tcp_client = Traffic::start(
        Some(&ns.name),
        &["tcp-client", addr, &tport, "1000", "close"],
    );
    tcp_client.wait_done();
    let mut tcp_server = tcp_server;
    tcp_server.wait_done();
    // A process that finishes and is never read.
    let mut gone = Traffic::start(Some(&ns.name), &["udp-blast", addr, "5001", "1", "10"]);
    gone.wait_done();
    gone.finish();
    let mut blast = Traffic::start(Some(&ns.name), &["udp-blast", addr, "500", "7", "10"]);
    blast.wait_done();
    let mut sink = sink;
    sink.wait_done();
    let mut client = Traffic::start(Some(&ns.name), &["udp-client", addr, &port, "3", "16"]);
    client.wait_done();
    let mut echo = echo;
    echo.wait_done();
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    // Said should the first collection find fewer ports than the 5 below.
    let took = t0 - setup;

    // UDP: echo, client, sink (500), blaster, gone's port, port 5001 (receive
    // only); TCP: client side and server side.
    let c = proc_counters();
    assert_eq!(c.sockinfo, 8, "{c:?}");
    force_gc();
    // That collection queued the finished process's record: its 15 s count
    // from between `t0` and now (seconds apart on a slow debug kernel).
    let queued = Instant::now();
    let c = proc_counters();
    assert_eq!(
        c.sockinfo, 5,
        "closed TCP and the finished process's port go at once (the traffic took {took:?}; \
         a port idle for 16 s would go too): {c:?}"
    );
    assert_eq!(c.taskexit, 1, "{c:?}");
    assert_eq!(
        c.taskinfo,
        2 * 5,
        "five live processes (the sink never sent), each with one thread: {c:?}"
    );

    sleep_until(t0, 14);
    force_gc();
    assert_eq!(
        proc_counters().taskexit,
        1,
        "unread exit record kept at least 15 s"
    );
    sleep_until(queued, 17);
    force_gc();
    let c = proc_counters();
    assert_eq!(c.taskexit, 0, "unread exit record freed: {c:?}");
    assert_eq!(
        c.sockinfo, 1,
        "UDP ports above 1024 idle for 16 s dropped: {c:?}"
    );
    assert_eq!(
        c.unident_udprcvpacks, 1,
        "port 5001's datagram, never claimed"
    );

    sleep_until(t0, 61);
    force_gc();
    let c = proc_counters();
    assert_eq!(c.sockinfo, 0, "{c:?}");
    assert_eq!(c.unident_udprcvpacks, 7 + 1, "and now the sink's datagrams");
    assert_eq!(c.unident_udpsndpacks, 0);
    assert!(matches!(
        Netatop::open().unwrap().process(sink.get("pid")),
        Err(Error::NoSuchTask(_))
    ));

    for t in [echo, client, tcp_server, tcp_client, sink, blast] {
        t.finish();
    }
    force_gc();
    let c = proc_counters();
    assert_eq!((c.sockinfo, c.taskinfo, c.taskexit), (0, 0, 5), "{c:?}");
    assert_eq!(drain_exits().len(), 5);
    assert_eq!(proc_counters().taskexit, 0);
}

fn sleep_until(t0: Instant, secs: u64) {
    let target = t0 + Duration::from_secs(secs);
    if let Some(d) = target.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

/// A reader blocked in GETCNT_EXIT pins the module: rmmod fails cleanly,
/// and succeeds once the reader has returned.
#[test]
fn blocked_reader_keeps_the_module_loaded() {
    let _m = module_exclusive();
    install_sigusr1();
    force_gc();
    drain_exits();
    let (tid_tx, tid_rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tid_tx.send(unsafe { libc::pthread_self() }).unwrap();
        Netatop::open().unwrap().next_exited()
    });
    let thread = tid_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let out = std::process::Command::new("rmmod")
        .arg("netatop")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "rmmod succeeded under a blocked reader"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{out:?}"
    );
    // SAFETY: the thread is blocked in getsockopt.
    unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
    assert!(matches!(h.join().unwrap(), Err(Error::Interrupted)));
    reload_module();
}

/// 20 unload/reload cycles while processes come and go exchanging UDP and
/// the collector runs every 20 ms; afterwards the tables empty out.
#[test]
fn load_unload_cycles_under_traffic() {
    let _m = module_exclusive();
    let ns = Netns::new("life-cycles");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        let ns = ns.name.clone();
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let echo = Traffic::start(Some(&ns), &["udp-echo-server", "127.0.0.1", "20"]);
                let port = echo.get("port").to_string();
                let mut client =
                    Traffic::start(Some(&ns), &["udp-client", "127.0.0.1", &port, "20", "100"]);
                client.wait_done();
                let mut echo = echo;
                echo.wait_done();
                client.finish();
                echo.finish();
                rounds += 1;
            }
            rounds
        })
    };
    let _defaults_afterwards = netatop_guest_tests::ModuleParams;
    for _ in 0..20 {
        run("rmmod", &["netatop"]);
        std::thread::sleep(Duration::from_millis(50));
        run("insmod", &[&module_path(), "gc_interval_ms=20"]);
        std::thread::sleep(Duration::from_millis(150));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds = traffic.join().unwrap();
    assert!(rounds > 0, "no traffic ran during the cycles");

    force_gc();
    let c = proc_counters();
    assert_eq!(
        (c.sockinfo, c.taskinfo),
        (0, 0),
        "tables empty once traffic stopped: {c:?}"
    );
    drain_exits();
    reload_module();
}

/// The taskinfo cap counts what a taskinfo really takes: one 128-byte slab
/// object (the `Arc`'s refcount and the entry). With `taskinfo_limit_kb=8`
/// the table holds exactly 64 tasks; 50 processes sending one datagram each
/// fill it with the first 32 (a process and its thread) and the other 18
/// are refused, one overflow each (a connection whose process is refused
/// binds no thread either), each as refused by a full table.
#[test]
fn taskinfo_cap_counts_128_byte_entries() {
    let _m = module_exclusive();
    let _params = ModuleParams::load(&["taskinfo_limit_kb=8"]);
    const CAP: u64 = 8 * 1024 / 128;
    const PROCESSES: u64 = 50;
    let ns = Netns::new("life-cap");
    let before = proc_counters();
    assert_eq!(
        (before.taskinfo, before.taskinfo_overflow),
        (0, 0),
        "{before:?}"
    );
    let mut senders = Vec::new();
    for _ in 0..PROCESSES {
        let mut t = Traffic::start(Some(&ns.name), &["udp-blast", "127.0.0.1", "9", "1", "20"]);
        t.wait_done();
        senders.push(t);
    }
    let after = proc_counters();
    assert_eq!(after.taskinfo, CAP, "{after:?}");
    assert_eq!(after.taskinfo_overflow, PROCESSES - CAP / 2, "{after:?}");
    // All refused by the cap, none for want of memory.
    let refused = after.refused.expect("refusals by cause");
    assert_eq!(
        (refused.taskinfo_full, refused.taskinfo_nomem),
        (PROCESSES - CAP / 2, 0),
        "{after:?}"
    );
    for t in senders {
        t.finish();
    }
}

/// A removed cgroup's totals (here only a finished process's) stay readable
/// for at least one collection interval after the removal, then go: the
/// periodic collection (every 3 s here) first notes the cgroup gone and
/// drops it one interval later. FORCE_GC never drops them.
///
/// The interval is long enough for the read right after the removal to
/// come within it: FORCE_GC alone may wait 500 ms for its collection, so
/// with 300 ms two periodic collections could pass first (and did, on the
/// debug kernel of a loaded host).
#[test]
fn removed_cgroup_totals_stay_one_interval_then_go() {
    const INTERVAL: Duration = Duration::from_secs(3);
    let _m = module_exclusive();
    let _p = ModuleParams::load(&["gc_interval_ms=3000"]);
    let cg = Cgroup::new("life-removed");
    let id = cg.id();
    let mut child = Traffic::start_in(None, Some(&cg), &["udp-blast", "127.0.0.1", "9", "5", "20"]);
    child.wait_done();
    child.finish();
    force_gc();
    drain_exits();
    let n = Netatop::open().unwrap();
    let before = n.cgroup(id).expect("the finished process's totals");
    assert_eq!((before.nprocs, before.tc), (0, udp_sends(5, 20)));

    let removed = Instant::now();
    cg.remove();
    force_gc();
    let kept = n
        .cgroup(id)
        .expect("kept right after the removal and a FORCE_GC");
    assert_eq!(kept.tc, udp_sends(5, 20));

    let deadline = removed + 20 * INTERVAL;
    let gone = loop {
        match n.cgroup(id) {
            Ok(c) => assert_eq!(c.tc, udp_sends(5, 20), "unchanged while kept"),
            Err(Error::NoSuchCgroup(got)) => {
                assert_eq!(got, id);
                break removed.elapsed();
            }
            Err(e) => panic!("GETCNT_CGROUP {id}: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "cgroup {id} still there 20 intervals after removal"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        gone >= INTERVAL,
        "dropped {gone:?} after the removal, before one interval"
    );
    assert!(
        n.cgroups().unwrap().entries.iter().all(|c| c.id != id),
        "gone from GETCNT_CGROUPS too"
    );
}
