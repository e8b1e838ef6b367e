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

/// Runs `flows` flows for `duration` and returns the total datagram rate (/s).
pub fn run(family: Family, size: usize, duration: Duration, flows: usize) -> Result<f64> {
    if flows == 0 || size > 65000 {
        bail!("udp: need at least one flow and a payload up to 65000 bytes");
    }
    let handles: Vec<_> = (0..flows)
        .map(|_| std::thread::spawn(move || flow(family, size, duration)))
        .collect();
    let mut total = 0.0;
    for h in handles {
        total += h
            .join()
            .map_err(|_| anyhow::anyhow!("udp flow thread panicked"))??;
    }
    Ok(total)
}

/// One flow; returns its rate.
fn flow(family: Family, size: usize, duration: Duration) -> Result<f64> {
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
    Ok(n as f64 / start.elapsed().as_secs_f64())
}
