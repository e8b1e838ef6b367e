//! The accounting engine: exact per-process and per-thread counts for
//! traffic these tests generate themselves, IPv4 and IPv6, across network
//! namespaces, checked against nftables counters where the kernel has them.
//!
//! Runs as root inside the test VM with netatop.ko loaded (make check).

use netatop::{NetPerTask, Netatop, ProcCounters, TaskCount};
use netatop_guest_tests::{
    force_gc, module_exclusive, module_loaded, nft_wire_counter, proc_counters, run, sockinfo_cap,
    start_time, tcp_echo_server, ModuleParams, Netns, Traffic, LINK_BYTES,
};

fn counters(pid: i32) -> TaskCount {
    Netatop::open()
        .unwrap()
        .process(pid)
        .unwrap_or_else(|e| panic!("GETCNT_TGID {pid}: {e}"))
        .tc
}

fn thread_counters(tid: i32) -> NetPerTask {
    Netatop::open()
        .unwrap()
        .thread(tid)
        .unwrap_or_else(|e| panic!("GETCNT_PID {tid}: {e}"))
}

/// UDP ping-pong between two processes: every count is exact, and every
/// byte count is `count * (IP length + link-layer bytes)`.
fn udp_ping_pong(netns: &Netns, addr: &str, ip_header: u64) {
    const COUNT: u64 = 25;
    const SIZE: u64 = 64;
    let server = Traffic::start(
        Some(&netns.name),
        &["udp-echo-server", addr, &COUNT.to_string()],
    );
    let port = server.get("port").to_string();
    let mut client = Traffic::start(
        Some(&netns.name),
        &[
            "udp-client",
            addr,
            &port,
            &COUNT.to_string(),
            &SIZE.to_string(),
        ],
    );
    client.wait_done();
    let mut server = server;
    server.wait_done();

    let per_packet = ip_header + 8 + SIZE + LINK_BYTES;
    let expected = TaskCount {
        udpsndpacks: COUNT,
        udpsndbytes: COUNT * per_packet,
        udprcvpacks: COUNT,
        udprcvbytes: COUNT * per_packet,
        ..Default::default()
    };
    assert_eq!(counters(client.get("pid")), expected, "client over {addr}");
    assert_eq!(counters(server.get("pid")), expected, "server over {addr}");
    client.finish();
    server.finish();
}

#[test]
fn udp_ipv4_exact_counts_both_processes() {
    let _m = module_loaded();
    let ns = Netns::new("acct-udp4");
    udp_ping_pong(&ns, "127.0.0.1", 20);
}

#[test]
fn udp_ipv6_exact_counts_both_processes() {
    let _m = module_loaded();
    let ns = Netns::new("acct-udp6");
    udp_ping_pong(&ns, "::1", 40);
}

/// nftables packet counter of the rule with `comment`.
fn nft_packets(ns: &Netns, comment: &str) -> u64 {
    let out = ns.exec("nft", &["list", "table", "inet", "acct"]);
    let line = out
        .lines()
        .find(|l| l.contains(&format!("comment \"{comment}\"")))
        .unwrap_or_else(|| panic!("no rule {comment} in\n{out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "packets").unwrap();
    words[i + 1].parse().unwrap()
}

/// A TCP transfer of known size; packet counts per direction equal the
/// nftables counters on the same port, and bytes cover the payload.
///
/// TCP always hands GSO super-packets to LOCAL_OUT; with offload off on the
/// device they are cut into wire packets before they come back in, so the
/// input-side nftables counters count wire packets and the output-side ones
/// count skbs (never more than wire packets).
fn tcp_transfer(ns_name: &str, addr: &str, ip_header: u64) {
    const BYTES: u64 = 300_000;
    let ns = Netns::new(ns_name);
    ns.one_skb_per_packet();
    let server = Traffic::start(Some(&ns.name), &["tcp-server", addr]);
    let port = server.get("port").to_string();
    let nft = format!(
        "table inet acct {{
           chain out {{ type filter hook output priority 0; tcp dport {port} counter comment \"to-out\"; tcp sport {port} counter comment \"from-out\"; }}
           chain in {{ type filter hook input priority 0; tcp dport {port} counter comment \"to-in\"; tcp sport {port} counter comment \"from-in\"; }}
         }}"
    );
    ns.exec("nft", &[&nft]);
    let mut client = Traffic::start(
        Some(&ns.name),
        &["tcp-client", addr, &port, &BYTES.to_string()],
    );
    client.wait_done();
    let mut server = server;
    server.wait_done();
    // Let delayed ACKs go out before comparing.
    std::thread::sleep(std::time::Duration::from_millis(600));

    let c = counters(client.get("pid"));
    let s = counters(server.get("pid"));
    let (to_out, to_in) = (nft_packets(&ns, "to-out"), nft_packets(&ns, "to-in"));
    let (from_out, from_in) = (nft_packets(&ns, "from-out"), nft_packets(&ns, "from-in"));
    assert!(
        to_out <= to_in && from_out <= from_in,
        "skbs out <= wire packets in"
    );
    assert!(
        to_in > BYTES / 1500,
        "{to_in} wire packets for {BYTES} bytes"
    );
    assert_eq!(c.tcpsndpacks, to_in, "client sent, {addr}");
    assert_eq!(s.tcprcvpacks, to_in, "server received, {addr}");
    assert_eq!(s.tcpsndpacks, from_in, "server sent, {addr}");
    assert_eq!(c.tcprcvpacks, from_in, "client received, {addr}");
    assert!(
        c.tcpsndbytes >= BYTES + 8,
        "client bytes {} < payload",
        c.tcpsndbytes
    );
    assert_eq!(c.tcpsndbytes, s.tcprcvbytes, "same packets, same bytes");
    assert_eq!(s.tcpsndbytes, c.tcprcvbytes);
    // Headers of every packet are included (20 IP + at least 20 TCP + link).
    assert!(c.tcpsndbytes >= BYTES + 8 + c.tcpsndpacks * (ip_header + 20 + LINK_BYTES));
    assert_eq!(
        (c.udpsndpacks, c.udprcvpacks, s.udpsndpacks, s.udprcvpacks),
        (0, 0, 0, 0)
    );
    client.finish();
    server.finish();
}

#[test]
fn tcp_ipv4_matches_nftables() {
    let _m = module_loaded();
    tcp_transfer("acct-tcp4", "127.0.0.1", 20);
}

#[test]
fn tcp_ipv6_matches_nftables() {
    let _m = module_loaded();
    tcp_transfer("acct-tcp6", "::1", 40);
}

/// With offload on, one skb carries many segments: netatop counts wire
/// segments, nftables counts skbs.
#[test]
fn tcp_gso_counts_segments_not_skbs() {
    let _m = module_loaded();
    const BYTES: u64 = 1_000_000;
    let ns = Netns::new("acct-gso");
    ns.ip(&["link", "set", "lo", "mtu", "1500"]);
    ns.exec("ethtool", &["-K", "lo", "tso", "on", "gso", "on"]);
    let server = Traffic::start(Some(&ns.name), &["tcp-server", "127.0.0.1"]);
    let port = server.get("port").to_string();
    let nft = format!(
        "table inet acct {{
           chain out {{ type filter hook output priority 0; tcp dport {port} counter comment \"to-out\"; }}
         }}"
    );
    ns.exec("nft", &[&nft]);
    let mut client = Traffic::start(
        Some(&ns.name),
        &["tcp-client", "127.0.0.1", &port, &BYTES.to_string()],
    );
    client.wait_done();
    let mut server = server;
    server.wait_done();
    let c = counters(client.get("pid"));
    let skbs = nft_packets(&ns, "to-out");
    // MSS is at most 1460 with a 1500-byte MTU: at least this many segments.
    let min_segments = BYTES.div_ceil(1460);
    assert!(
        c.tcpsndpacks >= min_segments,
        "{} segments < {min_segments}",
        c.tcpsndpacks
    );
    assert!(
        skbs < c.tcpsndpacks,
        "offload was expected to merge segments ({skbs} skbs)"
    );
    client.finish();
    server.finish();
}

/// Two threads of one process, each with its own socket: exact per-thread
/// counts, and the process total is their sum.
#[test]
fn threads_are_counted_separately_and_sum_to_the_process() {
    let _m = module_loaded();
    let ns = Netns::new("acct-threads");
    let mut t = Traffic::start(
        Some(&ns.name),
        &["threads", "127.0.0.1", "9", "7", "19", "100"],
    );
    t.wait_done();
    let per_packet = 20 + 8 + 100 + LINK_BYTES;
    let (t1, t2) = (
        thread_counters(t.get("tid1")),
        thread_counters(t.get("tid2")),
    );
    assert_eq!(t1.tc.udpsndpacks + t2.tc.udpsndpacks, 26);
    let mut sends = [t1.tc.udpsndpacks, t2.tc.udpsndpacks];
    sends.sort();
    assert_eq!(sends, [7, 19], "each thread's own sends");
    assert_eq!(t1.tc.udpsndbytes, t1.tc.udpsndpacks * per_packet);
    assert_eq!(t2.tc.udpsndbytes, t2.tc.udpsndpacks * per_packet);
    assert_eq!(t1.id, t.get("tid1"));
    let p = counters(t.get("pid"));
    assert_eq!(p.udpsndpacks, t1.tc.udpsndpacks + t2.tc.udpsndpacks);
    assert_eq!(p.udpsndbytes, t1.tc.udpsndbytes + t2.tc.udpsndbytes);
    t.finish();
}

/// Two threads taking turns on one socket: each thread gets exactly its own
/// sends although the socket's sender changes twice per round, and the
/// process gets them all.
#[test]
fn threads_sharing_a_socket_each_get_their_own_sends() {
    let _m = module_loaded();
    let ns = Netns::new("acct-shared");
    let mut t = Traffic::start(
        Some(&ns.name),
        &["shared-socket", "127.0.0.1", "9", "13", "30"],
    );
    t.wait_done();
    let per_packet = 20 + 8 + 30 + LINK_BYTES;
    let t1 = thread_counters(t.get("tid1")).tc;
    let t2 = thread_counters(t.get("tid2")).tc;
    assert_eq!((t1.udpsndpacks, t1.udpsndbytes), (13, 13 * per_packet));
    assert_eq!((t2.udpsndpacks, t2.udpsndbytes), (26, 26 * per_packet));
    let p = counters(t.get("pid"));
    assert_eq!((p.udpsndpacks, p.udpsndbytes), (39, 39 * per_packet));
    t.finish();
}

/// Two threads sending on one socket at the same time, while a reader
/// keeps flushing the socket's bucket: the socket's binding changes at
/// every turn the scheduler takes, packets counted without the bucket lock
/// (the bucket's lane) race with the lock that rebinds the socket and with
/// the reader's, and still each thread gets exactly its own sends, and the
/// process's count never goes down from one read to the next.
#[test]
fn threads_racing_on_a_socket_each_get_their_own_sends() {
    const N: u64 = 3000;
    let _m = module_loaded();
    let ns = Netns::new("acct-race");
    let mut t = Traffic::start(
        Some(&ns.name),
        &["shared-race", "127.0.0.1", "9", &N.to_string(), "20"],
    );
    let (pid, tid1, tid2) = (t.get("pid"), t.get("tid1"), t.get("tid2"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let nat = Netatop::open().unwrap();
            let (mut reads, mut last) = (0u64, 0u64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // No taskinfo until the first send.
                let sent = match nat.process(pid) {
                    Ok(c) => c.tc.udpsndpacks,
                    Err(netatop::Error::NoSuchTask(_)) => 0,
                    Err(e) => panic!("GETCNT_TGID {pid}: {e}"),
                };
                assert!(sent >= last, "read {sent} after {last}");
                assert!(sent <= 3 * N, "read {sent}: more than was sent");
                last = sent;
                // A thread's read flushes the same bucket.
                match nat.thread(tid1) {
                    Ok(_) | Err(netatop::Error::NoSuchTask(_)) => {}
                    Err(e) => panic!("GETCNT_PID {tid1}: {e}"),
                }
                reads += 1;
            }
            reads
        })
    };
    t.send_line("go");
    t.wait_done();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 0, "the reader never read");
    let per_packet = 20 + 8 + 20 + LINK_BYTES;
    let t1 = thread_counters(tid1).tc;
    let t2 = thread_counters(tid2).tc;
    assert_eq!((t1.udpsndpacks, t1.udpsndbytes), (N, N * per_packet));
    assert_eq!(
        (t2.udpsndpacks, t2.udpsndbytes),
        (2 * N, 2 * N * per_packet)
    );
    let p = counters(pid);
    assert_eq!((p.udpsndpacks, p.udpsndbytes), (3 * N, 3 * N * per_packet));
    t.finish();
}

/// A live process with sockets in few and in many buckets (more than a
/// task remembers): a read right after the traffic returns every packet.
#[test]
fn live_counts_are_exact_with_sockets_in_many_buckets() {
    let _m = module_loaded();
    let ns = Netns::new("acct-buckets");
    let per_packet = 20 + 8 + 10 + LINK_BYTES;
    for sockets in [2u64, 40] {
        let mut p = Traffic::start(
            Some(&ns.name),
            &["udp-sockets", "127.0.0.1", "9", &sockets.to_string(), "10"],
        );
        p.wait_done();
        let c = counters(p.get("pid"));
        assert_eq!(
            (c.udpsndpacks, c.udpsndbytes),
            (sockets, sockets * per_packet),
            "{sockets} sockets"
        );
        p.finish();
    }
}

/// The same UDP ports used by different processes in two namespaces joined
/// by a veth pair: each namespace's processes get exactly their own traffic.
#[test]
fn identical_tuples_in_two_namespaces_do_not_collide() {
    let _m = module_loaded();
    let a = Netns::new("acct-nsa");
    let b = Netns::new("acct-nsb");
    let _ = std::process::Command::new("ip")
        .args(["link", "del", "acct-va"])
        .status();
    run(
        "ip",
        &[
            "link", "add", "acct-va", "netns", &a.name, "type", "veth", "peer", "name", "acct-vb",
            "netns", &b.name,
        ],
    );
    a.ip(&["addr", "add", "10.199.0.1/24", "dev", "acct-va"]);
    b.ip(&["addr", "add", "10.199.0.2/24", "dev", "acct-vb"]);
    a.ip(&["link", "set", "acct-va", "up"]);
    b.ip(&["link", "set", "acct-vb", "up"]);

    // In each namespace a sink on port 5000 and a blaster from port 6000-ish
    // towards the other namespace's sink: same local ports on both sides.
    let sink_a = Traffic::start(Some(&a.name), &["udp-sink", "10.199.0.1", "5000", "3"]);
    let sink_b = Traffic::start(Some(&b.name), &["udp-sink", "10.199.0.2", "5000", "11"]);
    let mut blast_a = Traffic::start(
        Some(&a.name),
        &["udp-blast", "10.199.0.2", "5000", "11", "50"],
    );
    let mut blast_b = Traffic::start(
        Some(&b.name),
        &["udp-blast", "10.199.0.1", "5000", "3", "50"],
    );
    blast_a.wait_done();
    blast_b.wait_done();
    let (mut sink_a, mut sink_b) = (sink_a, sink_b);
    sink_a.wait_done();
    sink_b.wait_done();

    let per_packet = 20 + 8 + 50 + LINK_BYTES;
    let ca = counters(blast_a.get("pid"));
    let cb = counters(blast_b.get("pid"));
    assert_eq!((ca.udpsndpacks, ca.udpsndbytes), (11, 11 * per_packet));
    assert_eq!((cb.udpsndpacks, cb.udpsndbytes), (3, 3 * per_packet));
    assert_eq!((ca.udprcvpacks, cb.udprcvpacks), (0, 0));
    // The sinks never send, so they are never charged for what they receive.
    for sink in [&sink_a, &sink_b] {
        let r = Netatop::open().unwrap().process(sink.get("pid"));
        assert!(
            matches!(r, Err(netatop::Error::NoSuchTask(_))),
            "receive-only sink charged: {r:?}"
        );
    }
    for t in [blast_a, blast_b, sink_a, sink_b] {
        t.finish();
    }
}

/// A socket created by a parent and used by its forked child: the counts
/// follow the last sender.
#[test]
fn forked_child_using_parent_socket_gets_its_own_sends() {
    let _m = module_loaded();
    let ns = Netns::new("acct-fork");
    let mut t = Traffic::start(Some(&ns.name), &["fork", "127.0.0.1", "9", "4", "9", "10"]);
    t.wait_done();
    let per_packet = 20 + 8 + 10 + LINK_BYTES;
    let parent = counters(t.get("parent"));
    let child = counters(t.get("child"));
    assert_eq!(
        (parent.udpsndpacks, parent.udpsndbytes),
        (4, 4 * per_packet)
    );
    assert_eq!((child.udpsndpacks, child.udpsndbytes), (9, 9 * per_packet));
    t.finish();
}

/// btime and command of a process come from its group leader, like `ps`.
#[test]
fn process_identity_matches_proc() {
    let _m = module_loaded();
    let ns = Netns::new("acct-ident");
    let mut t = Traffic::start(
        Some(&ns.name),
        &["threads", "127.0.0.1", "9", "1", "1", "10"],
    );
    t.wait_done();
    let pid = t.get("pid");
    let npt = Netatop::open().unwrap().process(pid).unwrap();
    assert_eq!(npt.id, pid);
    assert_eq!(npt.command(), "netatop-traffic"[..15].to_string());
    // Start time as ps computes it: boot time + starttime ticks / HZ.
    assert_eq!(npt.btime, start_time(pid), "btime to the second");
    t.finish();
}

/// Counter commands: exact errno for every bad input, optlen clamped and
/// written back, padding zeroed, nothing written past optlen.
#[test]
fn counter_commands_validate_their_input() {
    let _m = module_loaded();
    let ns = Netns::new("acct-errno");
    let mut t = Traffic::start(Some(&ns.name), &["udp-blast", "127.0.0.1", "9", "2", "10"]);
    t.wait_done();
    let pid = t.get("pid");
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    assert!(fd >= 0);
    let call = |cmd: i32, buf: *mut u8, len: i32| -> (i32, i32) {
        let mut l = len as libc::socklen_t;
        // SAFETY: the buffers passed below are valid for `len` bytes, or
        // deliberately invalid (the kernel checks them).
        let rc = unsafe { libc::getsockopt(fd, libc::SOL_IP, cmd, buf.cast(), &mut l) };
        let errno = if rc == 0 {
            0
        } else {
            std::io::Error::last_os_error().raw_os_error().unwrap()
        };
        (errno, l as i32)
    };
    for cmd in [15665, 15666] {
        let mut buf = [0xaau8; 200];
        buf[..4].copy_from_slice(&pid.to_ne_bytes());
        assert_eq!(call(cmd, buf.as_mut_ptr(), 3).0, libc::EINVAL, "optlen 3");
        assert_eq!(call(cmd, buf.as_mut_ptr(), 0).0, libc::EINVAL, "optlen 0");
        assert_eq!(call(cmd, buf.as_mut_ptr(), -1).0, libc::EINVAL, "optlen -1");
        assert_eq!(
            call(cmd, std::ptr::null_mut(), 96).0,
            libc::EFAULT,
            "NULL buffer"
        );
        assert_eq!(
            call(cmd, 8 as *mut u8, 96).0,
            libc::EFAULT,
            "unmapped buffer"
        );
        let mut unknown = [0u8; 96];
        unknown[..4].copy_from_slice(&999_999i32.to_ne_bytes());
        assert_eq!(
            call(cmd, unknown.as_mut_ptr(), 96).0,
            libc::ESRCH,
            "unknown id"
        );

        // Oversized optlen: clamped to 96 and written back; nothing past 96.
        assert_eq!(call(cmd, buf.as_mut_ptr(), 200), (0, 96));
        assert!(buf[96..].iter().all(|&b| b == 0xaa), "wrote past 96 bytes");
        assert_eq!(&buf[4..8], &[0, 0, 0, 0], "padding zeroed");
        assert_eq!(
            u64::from_ne_bytes(buf[64..72].try_into().unwrap()),
            2,
            "udpsndpacks"
        );

        // Short optlen: exactly that many bytes are written.
        let mut short = [0xaau8; 96];
        short[..4].copy_from_slice(&pid.to_ne_bytes());
        assert_eq!(call(cmd, short.as_mut_ptr(), 10), (0, 10));
        assert_eq!(&short[4..8], &[0, 0, 0, 0]);
        assert!(
            short[10..].iter().all(|&b| b == 0xaa),
            "wrote past optlen 10"
        );
    }
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(fd) };
    t.finish();
}

/// On an otherwise idle guest the global counters move by exactly the
/// traffic generated: UDP both ways, plus one ICMP port-unreachable.
#[test]
fn proc_counters_move_by_exactly_the_generated_traffic() {
    let _m = module_exclusive();
    // No periodic collection during the test (on slow kernels one could
    // drop earlier tests' entries and change the table sizes).
    let _params = ModuleParams::load(&["gc_interval_ms=3600000"]);
    let ns = Netns::new("acct-proc");
    let before = ProcCounters::read().unwrap();
    let server = Traffic::start(Some(&ns.name), &["udp-echo-server", "127.0.0.1", "5"]);
    let port = server.get("port").to_string();
    let mut client = Traffic::start(
        Some(&ns.name),
        &["udp-client", "127.0.0.1", &port, "5", "32"],
    );
    client.wait_done();
    let mut server = server;
    server.wait_done();
    // One datagram to a closed port: one ICMP port unreachable back.
    let mut probe = Traffic::start(Some(&ns.name), &["udp-blast", "127.0.0.1", "9", "1", "1"]);
    probe.wait_done();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let after = ProcCounters::read().unwrap();
    assert_eq!(after.udpsndpacks - before.udpsndpacks, 11);
    assert_eq!(after.udprcvpacks - before.udprcvpacks, 11);
    assert_eq!(after.tcpsndpacks - before.tcpsndpacks, 0);
    assert_eq!(after.tcprcvpacks - before.tcprcvpacks, 0);
    assert_eq!(after.icmpsndpacks - before.icmpsndpacks, 1);
    assert_eq!(after.icmprcvpacks - before.icmprcvpacks, 1);
    // All of it was attributed: the echo, the client and the probe all sent.
    assert_eq!(after.unident_udpsndpacks, before.unident_udpsndpacks);
    assert_eq!(after.unident_udprcvpacks, before.unident_udprcvpacks);
    // Three UDP ports (server, client, probe) and, for the closed port 9,
    // one more receive-only port entry; three processes and three threads.
    assert_eq!(after.sockinfo - before.sockinfo, 4);
    assert_eq!(after.taskinfo - before.taskinfo, 6);
    for t in [client, server, probe] {
        t.finish();
    }
}

/// A full table makes room by dropping connections that have ended: with a
/// 16 KiB cap (107 entries of 152 bytes) and no periodic collection, 300 TCP connections
/// opened and closed one after the other (two entries each, 600 in all) are
/// all counted and none is refused; after a collection the ledger balances
/// exactly: this process's packets plus the unidentified ones (the last
/// ACKs of connections whose entry already went) are the global counts.
#[test]
fn ended_connections_make_room_in_a_full_table() {
    use std::io::{Read, Write};

    let _m = module_exclusive();
    let _params = ModuleParams::load(&["sockinfo_limit_kb=16", "gc_interval_ms=3600000"]);
    let cap = sockinfo_cap(16);
    const CONNECTIONS: usize = 300;
    let (port, server) = tcp_echo_server(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(&[7u8; 100]).unwrap();
        let mut b = [0u8; 100];
        c.read_exact(&mut b).unwrap();
    }
    server.join().unwrap();
    let full = proc_counters();
    assert_eq!(full.sockinfo_overflow, 0, "{full:?}");
    assert!(full.sockinfo <= cap, "{full:?}");
    // The closing handshakes' last packets, then every ended entry goes.
    std::thread::sleep(std::time::Duration::from_millis(300));
    force_gc();
    let p = proc_counters();
    let me = counters(std::process::id() as i32);
    assert_eq!(p.sockinfo_overflow, 0, "{p:?}");
    assert!(me.tcpsndpacks >= 3 * CONNECTIONS as u64, "{me:?} {p:?}");
    assert_eq!(
        me.tcpsndpacks + p.unident_tcpsndpacks,
        p.tcpsndpacks,
        "{me:?} {p:?}"
    );
    assert_eq!(
        me.tcprcvpacks + p.unident_tcprcvpacks,
        p.tcprcvpacks,
        "{me:?} {p:?}"
    );
}

/// A full table makes room by dropping connections stuck in their
/// handshake too: with a 16 KiB cap (107 entries of 152 bytes) and no
/// periodic collection, three times as many connects to a port whose SYNs
/// nftables drops on output (after the module's hook has seen them;
/// `tcp_syn_retries=1`: connect() gives up after about 3 s, and the entries
/// stay in SYN_SENT) fill the table with bound entries only; once they have
/// given up, a new connection is counted whole, refused nowhere: its
/// process's counters equal the namespace's nftables counts.
#[test]
fn stalled_handshakes_make_room_in_a_full_table() {
    let _m = module_exclusive();
    // 2^20 buckets: the full path's scan (1024 buckets from a cursor) meets
    // one of the 107 entries one time in ten; the buckets of local
    // connects are noted for it (as those of ended connections are).
    let _params = ModuleParams::load(&[
        "sockinfo_limit_kb=16",
        "gc_interval_ms=3600000",
        "sock_hash_bits=20",
    ]);
    let cap = sockinfo_cap(16);
    let ns = Netns::new("acct-stall");
    ns.exec("sysctl", &["-qw", "net.ipv4.tcp_syn_retries=1"]);
    let mut server = Traffic::start(Some(&ns.name), &["tcp-server", "127.0.0.1"]);
    let port = server.get("port");
    let nft = format!(
        "table inet stall {{ chain out {{ type filter hook output priority 0; tcp dport 9 drop; }};
           chain in {{ type filter hook input priority 0;
           tcp dport {port} counter comment \"to\"; tcp sport {port} counter comment \"from\"; }}; }}"
    );
    ns.exec("nft", &[&nft]);
    let n = 3 * cap;
    let mut stall = Traffic::start(
        Some(&ns.name),
        &["tcp-stall", "127.0.0.1", "9", &n.to_string()],
    );
    assert_eq!(stall.get("timedout") as u64, n, "every connect gave up");
    stall.wait_done();
    let full = proc_counters();
    assert_eq!(
        full.sockinfo, cap,
        "the stalled handshakes fill the table: {full:?}"
    );

    let mut client = Traffic::start(
        Some(&ns.name),
        &["tcp-client", "127.0.0.1", &port.to_string(), "3000"],
    );
    client.wait_done();
    server.wait_done();
    // Let delayed ACKs go out before comparing.
    std::thread::sleep(std::time::Duration::from_millis(600));
    let after = proc_counters();
    assert_eq!(
        after.sockinfo_overflow, full.sockinfo_overflow,
        "nothing refused: {after:?}"
    );
    let (to, from) = (
        nft_wire_counter(&ns, "stall", "to"),
        nft_wire_counter(&ns, "stall", "from"),
    );
    let me = counters(client.get("pid"));
    assert_eq!(
        [
            me.tcpsndpacks,
            me.tcpsndbytes,
            me.tcprcvpacks,
            me.tcprcvbytes
        ],
        [to.0, to.1, from.0, from.1],
        "the new connection, counted whole"
    );
    for t in [client, server, stall] {
        t.finish();
    }
}
