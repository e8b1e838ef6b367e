//! UDP small-packet rate over loopback.
//!
//! Each flow is one thread with two sockets: it sends a datagram with
//! `sendto(2)` and receives it with `recv(2)`, one at a time, so the rate is
//! the inverse of the CPU time one datagram costs (send path, LOCAL_OUT
//! hook, loopback, LOCAL_IN hook, socket queue, receive). Nothing is dropped
//! and no thread waits for another.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::Family;

/// Datagrams per clock check.
const BATCH: u64 = 64;

/// Runs `flows` flows for `duration`; returns the total datagram rate (/s)
/// and the number of datagrams sent.
pub fn run(family: Family, size: usize, duration: Duration, flows: usize) -> Result<(f64, u64)> {
    if flows == 0 || size > 65000 {
        bail!("udp: need at least one flow and a payload up to 65000 bytes");
    }
    let handles: Vec<_> = (0..flows)
        .map(|_| std::thread::spawn(move || flow(family, size, duration)))
        .collect();
    let (mut rate, mut sent) = (0.0, 0);
    for h in handles {
        let (r, n) = h
            .join()
            .map_err(|_| anyhow::anyhow!("udp flow thread panicked"))??;
        rate += r;
        sent += n;
    }
    Ok((rate, sent))
}

/// With netatop loaded, checks that this process was charged exactly
/// `sent` datagrams of `size` bytes (its receiving sockets never send, so
/// nothing received), as netatop counts them on loopback.
pub fn check_exact(family: Family, size: usize, sent: u64) -> Result<()> {
    if netatop::ProcCounters::read().is_err() {
        return Ok(());
    }
    // CAST: a pid fits in i32.
    let me = netatop::Netatop::open()?
        .process(std::process::id() as i32)?
        .tc;
    let ip = match family {
        Family::V4 => 20,
        Family::V6 => 40,
    };
    // Loopback's link-layer header (14) and netatop's trailer (4).
    // CAST: the payload is at most 65000 bytes.
    let per = ip + 8 + size as u64 + 14 + 4;
    let got = (me.udpsndpacks, me.udpsndbytes, me.udprcvpacks);
    if got != (sent, sent * per, 0) {
        bail!(
            "netatop charged (sent, bytes, received) {got:?}, expected ({sent}, {}, 0)",
            sent * per
        );
    }
    eprintln!(
        "udp: netatop's counts exact: {sent} datagrams, {} bytes",
        sent * per
    );
    Ok(())
}

/// Sends one-byte datagrams to `ports` consecutive ports from `first` at
/// `dst` for `duration`, as fast as it can (a flood of new tuples nobody
/// answers); returns the number sent.
pub fn flood(dst: std::net::IpAddr, first: u16, ports: u16, duration: Duration) -> Result<u64> {
    let sock = UdpSocket::bind(std::net::SocketAddr::new(
        if dst.is_ipv4() {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv6Addr::UNSPECIFIED.into()
        },
        0,
    ))
    .context("bind flooder")?;
    sock.set_nonblocking(true)?;
    let end = Instant::now() + duration;
    let (mut sent, mut p) = (0u64, 0u16);
    while Instant::now() < end {
        for _ in 0..BATCH {
            let to = std::net::SocketAddr::new(dst, first.wrapping_add(p));
            // A full queue or an ICMP error only means fewer datagrams.
            if sock.send_to(b"x", to).is_ok() {
                sent += 1;
            }
            p = (p + 1) % ports.max(1);
        }
    }
    Ok(sent)
}

/// One flow; returns its rate and the datagrams it sent.
fn flow(family: Family, size: usize, duration: Duration) -> Result<(f64, u64)> {
    let rx = UdpSocket::bind(family.loopback(0)).context("bind receiver")?;
    let tx = UdpSocket::bind(family.loopback(0)).context("bind sender")?;
    // A lost datagram must end the run, not hang it.
    rx.set_read_timeout(Some(Duration::from_secs(5)))?;
    let dst = rx.local_addr()?;
    let buf = vec![0x5au8; size];
    let mut rbuf = vec![0u8; size + 1];
    let start = Instant::now();
    let end = start + duration;
    let mut n = 0u64;
    loop {
        for _ in 0..BATCH {
            tx.send_to(&buf, dst).context("sendto")?;
            let got = rx.recv(&mut rbuf).context("recv")?;
            if got != size {
                bail!("received {got} bytes, sent {size}");
            }
        }
        n += BATCH;
        if Instant::now() >= end {
            break;
        }
    }
    // CAST: a count of datagrams, far below 2^53.
    Ok((n as f64 / start.elapsed().as_secs_f64(), n))
}
