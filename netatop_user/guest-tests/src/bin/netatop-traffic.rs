//! Traffic generator for the in-guest tests: each mode makes a known amount
//! of traffic, prints `ready ...` lines with what the test needs (pids, tids,
//! ports), then `done`, and waits for its stdin to close before exiting, so
//! that the test can read the counters of a live process.
//!
//! Modes:
//! - `udp-echo-server ADDR COUNT [PORT]`: bind ADDR:PORT (default: any
//!   port), print the port, answer COUNT datagrams.
//! - `udp-client ADDR PORT COUNT SIZE [LPORT]`: COUNT ping-pongs of SIZE
//!   bytes, from local port LPORT (default: any).
//! - `udp-sink ADDR PORT COUNT`: receive COUNT datagrams, never send.
//! - `udp-blast ADDR PORT COUNT SIZE`: sendto COUNT datagrams, expect nothing back.
//! - `tcp-server ADDR [close]`: accept one connection, read the announced
//!   length, reply "ok" (then close the connection with `close`).
//! - `tcp-client ADDR PORT BYTES [close]`: connect, send BYTES, read the
//!   reply (then close with `close`).
//! - `threads ADDR PORT N1 N2 SIZE`: two threads, each its own socket, sending N1 and N2.
//! - `shared-socket ADDR PORT ROUNDS SIZE`: two threads take turns on one
//!   socket, the first sending 1 datagram and the second 2 per round.
//! - `shared-race ADDR PORT N SIZE`: two threads on one socket, `ready pid=
//!   tid1= tid2=`, then, after a line on stdin, both at once: the first
//!   sends N datagrams and the second 2N, with no turns; the threads stay
//!   alive until the test has read the counters.
//! - `fork ADDR PORT N1 N2 SIZE`: send N1 on a socket, fork; the child sends N2 on it.
//! - `udp-once ADDR PORT SIZE`: one datagram, then exit without waiting.
//! - `udp-sockets ADDR PORT N SIZE`: N sockets, one datagram from each.
//! - `udp-client-slow ADDR PORT COUNT SIZE GAP_MS`: ping-pongs spaced by GAP_MS
//!   (`ready` after the first one).
//! - `udp-flood ADDR FIRST NPORTS SECS [COUNT]`: one-byte datagrams to NPORTS
//!   ports until COUNT are sent or SECS have passed.
//! - `tcp-stall ADDR PORT N`: N threads each connect to ADDR:PORT, whose
//!   SYNs go unanswered, until connect() gives up; `ready pid= timedout=`
//!   (how many gave up with ETIMEDOUT).
//! - `udp-client-gated ADDR PORT COUNT SIZE`: one ping-pong, `ready`, then the
//!   rest after a line on stdin.
//! - `serve ADDR UDP_COUNT TCP_CONNS`: a UDP echo server (one thread,
//!   UDP_COUNT datagrams) and a TCP server for TCP_CONNS connections, one
//!   at a time: read the announced length, reply "ok", read until the
//!   client's FIN, close; `ready pid= udp= tcp=`.
//! - `visit ADDR UDP_PORT TCP_PORT PINGS SIZE BYTES`: PINGS UDP ping-pongs of
//!   SIZE bytes with a `serve`, then one TCP connection sending BYTES, read
//!   "ok", shut down the sending side and wait for the server's FIN (so the
//!   last ACK has left), then exit at once (a short-lived process; no
//!   `ready`, nothing on stdin).
//! - `conns TCP6_PORT TCP4_PORT UDP_PORT1 UDP_PORT2 BYTES PINGS SIZE`: one
//!   TCP connection to [::1]:TCP6_PORT and one to 127.0.0.1:TCP4_PORT (each
//!   as `tcp-client` with BYTES, kept open), then one UDP socket doing PINGS
//!   ping-pongs of SIZE bytes with 127.0.0.1:UDP_PORT1, then PINGS with
//!   127.0.0.1:UDP_PORT2; `ready pid= tcp6= tcp4= udp=` (its local ports).
//! - `talk UDP_ADDR UDP_PORT PINGS SIZE TCP_ADDR TCP_PORT BYTES [LPORT]`:
//!   PINGS UDP ping-pongs of SIZE bytes with a `udp-echo-server` from local
//!   port LPORT (default: any), then one TCP connection to a `tcp-server`
//!   sending BYTES and reading "ok", kept open; `ready pid= udp= tcp=` (its
//!   local ports).

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::str::FromStr;

use netatop_guest_tests::gettid;

fn arg<T: FromStr>(args: &[String], i: usize, what: &str) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {i} ({what}) missing or invalid: {args:?}"))
}

/// Prints `done` and waits until the test closes our stdin.
fn done_and_wait() {
    println!("done");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
        line.clear();
    }
}

fn ready(what: &str) {
    println!("ready {what}");
    std::io::stdout().flush().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("");
    let addr = || -> std::net::IpAddr { arg(&args, 1, "address") };
    match mode {
        "udp-echo-server" => {
            let count: usize = arg(&args, 2, "count");
            let port = args.get(3).map_or(0, |_| arg(&args, 3, "port"));
            let sock = UdpSocket::bind(SocketAddr::new(addr(), port)).unwrap();
            ready(&format!(
                "pid={} port={}",
                std::process::id(),
                sock.local_addr().unwrap().port()
            ));
            let mut buf = vec![0u8; 65536];
            for _ in 0..count {
                let (n, peer) = sock.recv_from(&mut buf).unwrap();
                sock.send_to(&buf[..n], peer).unwrap();
            }
            done_and_wait();
        }
        "udp-client" => {
            let (port, count, size): (u16, usize, usize) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "count"),
                arg(&args, 4, "size"),
            );
            let server = SocketAddr::new(addr(), port);
            let bind = SocketAddr::new(
                if server.is_ipv4() {
                    "0.0.0.0".parse().unwrap()
                } else {
                    "::".parse().unwrap()
                },
                args.get(5).map_or(0, |_| arg(&args, 5, "local port")),
            );
            let sock = UdpSocket::bind(bind).unwrap();
            ready(&format!(
                "pid={} port={}",
                std::process::id(),
                sock.local_addr().unwrap().port()
            ));
            let payload = vec![0x5au8; size];
            let mut buf = vec![0u8; 65536];
            for _ in 0..count {
                sock.send_to(&payload, server).unwrap();
                let (n, _) = sock.recv_from(&mut buf).unwrap();
                assert_eq!(n, size);
            }
            done_and_wait();
        }
        "udp-sink" => {
            let (port, count): (u16, usize) = (arg(&args, 2, "port"), arg(&args, 3, "count"));
            let sock = UdpSocket::bind(SocketAddr::new(addr(), port)).unwrap();
            ready(&format!(
                "pid={} port={}",
                std::process::id(),
                sock.local_addr().unwrap().port()
            ));
            let mut buf = vec![0u8; 65536];
            for _ in 0..count {
                sock.recv_from(&mut buf).unwrap();
            }
            done_and_wait();
        }
        "udp-blast" => {
            let (port, count, size): (u16, usize, usize) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "count"),
                arg(&args, 4, "size"),
            );
            let to = SocketAddr::new(addr(), port);
            let sock = UdpSocket::bind(SocketAddr::new(
                if to.is_ipv4() {
                    "0.0.0.0".parse().unwrap()
                } else {
                    "::".parse().unwrap()
                },
                0,
            ))
            .unwrap();
            ready(&format!(
                "pid={} port={}",
                std::process::id(),
                sock.local_addr().unwrap().port()
            ));
            let payload = vec![0x5au8; size];
            for _ in 0..count {
                sock.send_to(&payload, to).unwrap();
            }
            done_and_wait();
        }
        "tcp-server" => {
            let listener = TcpListener::bind(SocketAddr::new(addr(), 0)).unwrap();
            ready(&format!(
                "pid={} port={}",
                std::process::id(),
                listener.local_addr().unwrap().port()
            ));
            let (mut conn, _) = listener.accept().unwrap();
            let mut len = [0u8; 8];
            conn.read_exact(&mut len).unwrap();
            let mut left = u64::from_be_bytes(len);
            let mut buf = vec![0u8; 65536];
            while left > 0 {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "early EOF");
                left -= n as u64;
            }
            conn.write_all(b"ok").unwrap();
            if args.get(2).is_some_and(|a| a == "close") {
                drop(conn);
                drop(listener);
            }
            done_and_wait();
        }
        "tcp-client" => {
            let (port, bytes): (u16, u64) = (arg(&args, 2, "port"), arg(&args, 3, "bytes"));
            let mut conn = TcpStream::connect(SocketAddr::new(addr(), port)).unwrap();
            ready(&format!(
                "pid={} port={}",
                std::process::id(),
                conn.local_addr().unwrap().port()
            ));
            conn.write_all(&bytes.to_be_bytes()).unwrap();
            let chunk = vec![0xa5u8; 65536];
            let mut left = bytes;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                conn.write_all(&chunk[..n]).unwrap();
                left -= n as u64;
            }
            let mut reply = [0u8; 2];
            conn.read_exact(&mut reply).unwrap();
            assert_eq!(&reply, b"ok");
            if args.get(4).is_some_and(|a| a == "close") {
                drop(conn);
            }
            done_and_wait();
        }
        "threads" => {
            let (port, n1, n2, size): (u16, usize, usize, usize) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "n1"),
                arg(&args, 4, "n2"),
                arg(&args, 5, "size"),
            );
            let to = SocketAddr::new(addr(), port);
            let (tx, rx) = std::sync::mpsc::channel();
            let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
            let go_rx = std::sync::Arc::new(std::sync::Mutex::new(go_rx));
            let mut handles = Vec::new();
            for n in [n1, n2] {
                let tx = tx.clone();
                let go_rx = go_rx.clone();
                handles.push(std::thread::spawn(move || {
                    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
                    let payload = vec![1u8; size];
                    for _ in 0..n {
                        sock.send_to(&payload, to).unwrap();
                    }
                    tx.send(gettid()).unwrap();
                    // Stay alive until the test has read the counters.
                    let _ = go_rx.lock().unwrap().recv();
                }));
            }
            let tids: Vec<i32> = (0..2).map(|_| rx.recv().unwrap()).collect();
            ready(&format!(
                "pid={} tid1={} tid2={}",
                std::process::id(),
                tids[0],
                tids[1]
            ));
            done_and_wait();
            drop(go_tx);
            for h in handles {
                h.join().unwrap();
            }
        }
        "shared-socket" => {
            let (port, rounds, size): (u16, usize, usize) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "rounds"),
                arg(&args, 4, "size"),
            );
            let to = SocketAddr::new(addr(), port);
            let sock = std::sync::Arc::new(UdpSocket::bind("0.0.0.0:0").unwrap());
            let payload = std::sync::Arc::new(vec![6u8; size]);
            // Each thread sends its share of a round, then hands the turn
            // over: the socket's sender changes twice per round.
            let (to_2, turn_2) = std::sync::mpsc::channel::<()>();
            let (to_1, turn_1) = std::sync::mpsc::channel::<()>();
            let (s2, p2) = (sock.clone(), payload.clone());
            let second = std::thread::spawn(move || {
                for _ in 0..rounds {
                    turn_2.recv().unwrap();
                    for _ in 0..2 {
                        s2.send_to(&p2, to).unwrap();
                    }
                    to_1.send(()).unwrap();
                }
                gettid()
            });
            for _ in 0..rounds {
                sock.send_to(&payload, to).unwrap();
                to_2.send(()).unwrap();
                turn_1.recv().unwrap();
            }
            let tid2 = second.join().unwrap();
            ready(&format!(
                "pid={} tid1={} tid2={tid2}",
                std::process::id(),
                gettid()
            ));
            done_and_wait();
        }
        "shared-race" => {
            let (port, n, size): (u16, usize, usize) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "n"),
                arg(&args, 4, "size"),
            );
            let to = SocketAddr::new(addr(), port);
            let sock = std::sync::Arc::new(UdpSocket::bind("0.0.0.0:0").unwrap());
            // Both threads and the go-ahead from stdin meet here.
            let start = std::sync::Arc::new(std::sync::Barrier::new(3));
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            let (sent_tx, sent_rx) = std::sync::mpsc::channel();
            let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
            let go_rx = std::sync::Arc::new(std::sync::Mutex::new(go_rx));
            let senders: Vec<_> = [n, 2 * n]
                .into_iter()
                .map(|count| {
                    let (sock, start, tid_tx) = (sock.clone(), start.clone(), tid_tx.clone());
                    let (sent_tx, go_rx) = (sent_tx.clone(), go_rx.clone());
                    std::thread::spawn(move || {
                        let payload = vec![7u8; size];
                        tid_tx.send((count, gettid())).unwrap();
                        start.wait();
                        for _ in 0..count {
                            sock.send_to(&payload, to).unwrap();
                        }
                        sent_tx.send(()).unwrap();
                        // Alive until the test has read the counters: a
                        // finished thread's counters go at a collection.
                        let _ = go_rx.lock().unwrap().recv();
                    })
                })
                .collect();
            let mut tids: Vec<(usize, i32)> = (0..2).map(|_| tid_rx.recv().unwrap()).collect();
            tids.sort();
            ready(&format!(
                "pid={} tid1={} tid2={}",
                std::process::id(),
                tids[0].1,
                tids[1].1
            ));
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).unwrap();
            start.wait();
            for _ in 0..2 {
                sent_rx.recv().unwrap();
            }
            done_and_wait();
            drop(go_tx);
            for s in senders {
                s.join().unwrap();
            }
        }
        "fork" => {
            let (port, n1, n2, size): (u16, usize, usize, usize) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "n1"),
                arg(&args, 4, "n2"),
                arg(&args, 5, "size"),
            );
            let to = SocketAddr::new(addr(), port);
            let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
            let payload = vec![2u8; size];
            for _ in 0..n1 {
                sock.send_to(&payload, to).unwrap();
            }
            ready(&format!("parent={}", std::process::id()));
            // SAFETY: single-threaded process; the child continues normally.
            let child = unsafe { libc::fork() };
            assert!(child >= 0);
            if child == 0 {
                for _ in 0..n2 {
                    sock.send_to(&payload, to).unwrap();
                }
                ready(&format!("child={}", std::process::id()));
                done_and_wait();
                std::process::exit(0);
            }
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(child, &mut status, 0) };
        }
        "udp-sockets" => {
            let (port, n, size): (u16, usize, usize) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "sockets"),
                arg(&args, 4, "size"),
            );
            let to = SocketAddr::new(addr(), port);
            let socks: Vec<UdpSocket> = (0..n)
                .map(|_| UdpSocket::bind(SocketAddr::new(to.ip(), 0)).unwrap())
                .collect();
            for sock in &socks {
                sock.send_to(&vec![4u8; size], to).unwrap();
            }
            ready(&format!("pid={}", std::process::id()));
            done_and_wait();
        }
        "udp-once" => {
            // One datagram, then exit at once (process churn).
            let (port, size): (u16, usize) = (arg(&args, 2, "port"), arg(&args, 3, "size"));
            let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
            sock.send_to(&vec![3u8; size], SocketAddr::new(addr(), port))
                .unwrap();
        }
        "udp-client-gated" => {
            // One ping-pong, `ready`, then wait for a line on stdin, then
            // COUNT - 1 more ping-pongs and `done`.
            let (port, count, size): (u16, usize, usize) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "count"),
                arg(&args, 4, "size"),
            );
            let server = SocketAddr::new(addr(), port);
            let sock = UdpSocket::bind(SocketAddr::new(server.ip(), 0)).unwrap();
            let payload = vec![0x5au8; size];
            let mut buf = vec![0u8; 65536];
            let mut ping = || {
                sock.send_to(&payload, server).unwrap();
                let (n, _) = sock.recv_from(&mut buf).unwrap();
                assert_eq!(n, size);
            };
            ping();
            ready(&format!("pid={}", std::process::id()));
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).unwrap();
            for _ in 1..count {
                ping();
            }
            done_and_wait();
        }
        "udp-client-slow" => {
            let (port, count, size, gap_ms): (u16, usize, usize, u64) = (
                arg(&args, 2, "port"),
                arg(&args, 3, "count"),
                arg(&args, 4, "size"),
                arg(&args, 5, "gap_ms"),
            );
            let server = SocketAddr::new(addr(), port);
            let sock = UdpSocket::bind(SocketAddr::new(server.ip(), 0)).unwrap();
            let payload = vec![0x5au8; size];
            let mut buf = vec![0u8; 65536];
            for i in 0..count {
                sock.send_to(&payload, server).unwrap();
                let (n, _) = sock.recv_from(&mut buf).unwrap();
                assert_eq!(n, size);
                if i == 0 {
                    ready(&format!(
                        "pid={} port={}",
                        std::process::id(),
                        sock.local_addr().unwrap().port()
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(gap_ms));
            }
            done_and_wait();
        }
        "tcp-stall" => {
            let (port, n): (u16, usize) = (arg(&args, 2, "port"), arg(&args, 3, "connections"));
            let to = SocketAddr::new(addr(), port);
            let threads: Vec<_> = (0..n)
                .map(|_| {
                    std::thread::Builder::new()
                        .stack_size(64 * 1024)
                        .spawn(move || TcpStream::connect(to).map(drop))
                        .unwrap()
                })
                .collect();
            let timedout = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|r| {
                    r.as_ref()
                        .is_err_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
                })
                .count();
            ready(&format!("pid={} timedout={timedout}", std::process::id()));
            done_and_wait();
        }
        "udp-flood" => {
            // Datagrams to NPORTS destination ports from FIRST on, until COUNT
            // are sent or SECS seconds passed: a flood of tuples nobody answers.
            let (first, nports, secs): (u16, u16, u64) = (
                arg(&args, 2, "first port"),
                arg(&args, 3, "ports"),
                arg(&args, 4, "seconds"),
            );
            let count: u64 = args.get(5).and_then(|c| c.parse().ok()).unwrap_or(u64::MAX);
            let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
            let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
            let mut sent = 0u64;
            let mut p = 0u16;
            ready(&format!("pid={}", std::process::id()));
            while std::time::Instant::now() < end && sent < count {
                for _ in 0..256 {
                    let _ = sock.send_to(b"x", SocketAddr::new(addr(), first.wrapping_add(p)));
                    p = (p + 1) % nports;
                    sent += 1;
                }
            }
            println!("ready sent={sent}");
            done_and_wait();
        }
        "serve" => {
            let (udp_count, conns): (usize, usize) =
                (arg(&args, 2, "udp count"), arg(&args, 3, "tcp connections"));
            let udp = UdpSocket::bind(SocketAddr::new(addr(), 0)).unwrap();
            let listener = TcpListener::bind(SocketAddr::new(addr(), 0)).unwrap();
            ready(&format!(
                "pid={} udp={} tcp={}",
                std::process::id(),
                udp.local_addr().unwrap().port(),
                listener.local_addr().unwrap().port()
            ));
            let echo = std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                for _ in 0..udp_count {
                    let (n, peer) = udp.recv_from(&mut buf).unwrap();
                    udp.send_to(&buf[..n], peer).unwrap();
                }
            });
            let mut buf = vec![0u8; 65536];
            for _ in 0..conns {
                let (mut conn, _) = listener.accept().unwrap();
                let mut len = [0u8; 8];
                conn.read_exact(&mut len).unwrap();
                let mut left = u64::from_be_bytes(len);
                while left > 0 {
                    let n = conn.read(&mut buf).unwrap();
                    assert!(n > 0, "early EOF");
                    left -= n as u64;
                }
                conn.write_all(b"ok").unwrap();
                assert_eq!(conn.read(&mut buf).unwrap(), 0, "FIN after the data");
            }
            echo.join().unwrap();
            done_and_wait();
        }
        "visit" => {
            let (udp_port, tcp_port, pings, size, bytes): (u16, u16, usize, usize, u64) = (
                arg(&args, 2, "udp port"),
                arg(&args, 3, "tcp port"),
                arg(&args, 4, "pings"),
                arg(&args, 5, "size"),
                arg(&args, 6, "bytes"),
            );
            let server = SocketAddr::new(addr(), udp_port);
            let sock = UdpSocket::bind(SocketAddr::new(
                if server.is_ipv4() {
                    "0.0.0.0".parse().unwrap()
                } else {
                    "::".parse().unwrap()
                },
                0,
            ))
            .unwrap();
            let payload = vec![0x5au8; size];
            let mut buf = vec![0u8; 65536];
            for _ in 0..pings {
                sock.send_to(&payload, server).unwrap();
                let (n, _) = sock.recv_from(&mut buf).unwrap();
                assert_eq!(n, size);
            }
            let mut conn = TcpStream::connect(SocketAddr::new(addr(), tcp_port)).unwrap();
            conn.write_all(&bytes.to_be_bytes()).unwrap();
            conn.write_all(&vec![0xa5u8; bytes as usize]).unwrap();
            let mut reply = [0u8; 2];
            conn.read_exact(&mut reply).unwrap();
            assert_eq!(&reply, b"ok");
            conn.shutdown(std::net::Shutdown::Write).unwrap();
            // The server closes on our FIN; its FIN ends this read, and the
            // kernel has acknowledged it by then.
            assert_eq!(conn.read(&mut buf).unwrap(), 0, "server's FIN");
        }
        "conns" => {
            let (p6, p4, u1, u2): (u16, u16, u16, u16) = (
                arg(&args, 1, "tcp6 port"),
                arg(&args, 2, "tcp4 port"),
                arg(&args, 3, "udp port 1"),
                arg(&args, 4, "udp port 2"),
            );
            let (bytes, pings, size): (u64, usize, usize) = (
                arg(&args, 5, "bytes"),
                arg(&args, 6, "pings"),
                arg(&args, 7, "size"),
            );
            let mut tcp = Vec::new();
            for to in [
                SocketAddr::new("::1".parse().unwrap(), p6),
                SocketAddr::new("127.0.0.1".parse().unwrap(), p4),
            ] {
                let mut conn = TcpStream::connect(to).unwrap();
                conn.write_all(&bytes.to_be_bytes()).unwrap();
                conn.write_all(&vec![0xa5u8; bytes as usize]).unwrap();
                let mut reply = [0u8; 2];
                conn.read_exact(&mut reply).unwrap();
                assert_eq!(&reply, b"ok");
                tcp.push(conn);
            }
            let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
            let payload = vec![0x5au8; size];
            let mut buf = vec![0u8; 65536];
            for port in [u1, u2] {
                let server = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
                for _ in 0..pings {
                    sock.send_to(&payload, server).unwrap();
                    let (n, _) = sock.recv_from(&mut buf).unwrap();
                    assert_eq!(n, size);
                }
            }
            ready(&format!(
                "pid={} tcp6={} tcp4={} udp={}",
                std::process::id(),
                tcp[0].local_addr().unwrap().port(),
                tcp[1].local_addr().unwrap().port(),
                sock.local_addr().unwrap().port()
            ));
            done_and_wait();
        }
        "talk" => {
            let (udp_port, pings, size): (u16, usize, usize) = (
                arg(&args, 2, "udp port"),
                arg(&args, 3, "pings"),
                arg(&args, 4, "size"),
            );
            let (tcp_addr, tcp_port, bytes): (std::net::IpAddr, u16, u64) = (
                arg(&args, 5, "tcp address"),
                arg(&args, 6, "tcp port"),
                arg(&args, 7, "bytes"),
            );
            let server = SocketAddr::new(addr(), udp_port);
            let sock = UdpSocket::bind(SocketAddr::new(
                if server.is_ipv4() {
                    "0.0.0.0".parse().unwrap()
                } else {
                    "::".parse().unwrap()
                },
                args.get(8).map_or(0, |_| arg(&args, 8, "local port")),
            ))
            .unwrap();
            let payload = vec![0x5au8; size];
            let mut buf = vec![0u8; 65536];
            for _ in 0..pings {
                sock.send_to(&payload, server).unwrap();
                let (n, _) = sock.recv_from(&mut buf).unwrap();
                assert_eq!(n, size);
            }
            let mut conn = TcpStream::connect(SocketAddr::new(tcp_addr, tcp_port)).unwrap();
            conn.write_all(&bytes.to_be_bytes()).unwrap();
            conn.write_all(&vec![0xa5u8; bytes as usize]).unwrap();
            let mut reply = [0u8; 2];
            conn.read_exact(&mut reply).unwrap();
            assert_eq!(&reply, b"ok");
            ready(&format!(
                "pid={} udp={} tcp={}",
                std::process::id(),
                sock.local_addr().unwrap().port(),
                conn.local_addr().unwrap().port()
            ));
            done_and_wait();
        }
        _ => {
            eprintln!("unknown mode {mode:?}; see the source for the modes");
            std::process::exit(2);
        }
    }
}
