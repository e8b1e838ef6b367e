//! TCP request/response (netperf TCP_RR) and connect/request/response/close
//! (TCP_CRR) rates over loopback, client and server in two processes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::proc_util::fork_child;
use crate::Family;

/// A stuck peer ends the run instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

fn tune(s: &TcpStream) -> Result<()> {
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(())
}

/// TCP_RR: one connection, 1-byte request, 1-byte response; transactions/s.
pub fn rr(family: Family, duration: Duration) -> Result<f64> {
    let listener = TcpListener::bind(family.loopback(0)).context("bind")?;
    let addr = listener.local_addr()?;
    let server = fork_child(move || {
        let (mut s, _) = listener.accept().context("accept")?;
        tune(&s)?;
        let mut b = [0u8; 1];
        loop {
            match s.read(&mut b).context("server read")? {
                0 => return Ok(()),
                _ => s.write_all(&b).context("server write")?,
            }
        }
    })?;
    let mut c = TcpStream::connect(addr).context("connect")?;
    tune(&c)?;
    let mut b = [0u8; 1];
    let start = Instant::now();
    let end = start + duration;
    let mut n = 0u64;
    loop {
        for _ in 0..16 {
            c.write_all(&[7]).context("client write")?;
            c.read_exact(&mut b).context("client read")?;
        }
        n += 16;
        if Instant::now() >= end {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(c);
    server.wait()?;
    // CAST: a count far below 2^53.
    Ok(n as f64 / secs)
}

/// TCP_CRR: per transaction, connect, send 1 byte, receive 1 byte, then the
/// server closes and the client closes on EOF (so TIME_WAIT stays on the
/// server's side, as with HTTP/1.0); transactions/s.
pub fn crr(family: Family, duration: Duration) -> Result<f64> {
    let listener = TcpListener::bind(family.loopback(0)).context("bind")?;
    let addr = listener.local_addr()?;
    let server = fork_child(move || {
        let mut b = [0u8; 1];
        loop {
            let (mut s, _) = listener.accept().context("accept")?;
            tune(&s)?;
            if s.read(&mut b).context("server read")? == 1 {
                s.write_all(&b).context("server write")?;
            }
        }
    })?;
    let mut b = [0u8; 1];
    let start = Instant::now();
    let end = start + duration;
    let mut n = 0u64;
    loop {
        for _ in 0..4 {
            let mut c = TcpStream::connect(addr).context("connect")?;
            tune(&c)?;
            c.write_all(&[7]).context("client write")?;
            c.read_exact(&mut b).context("client read")?;
            if c.read(&mut b).context("client read (EOF)")? != 0 {
                bail!("crr: the server sent more than one byte");
            }
        }
        n += 4;
        if Instant::now() >= end {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    server.kill()?;
    // CAST: a count far below 2^53.
    Ok(n as f64 / secs)
}
