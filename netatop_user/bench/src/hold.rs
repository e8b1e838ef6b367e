//! Scale: many processes holding many open TCP loopback connections.
//!
//! Each holder process owns a listener and both ends of its connections. On
//! SIGUSR1 it exchanges one byte each way on every connection, so a freshly
//! loaded netatop.ko creates an entry for both ends, bound to the holder
//! (one process and one thread entry per holder). The parent forwards the
//! driver's stdin commands to the holders.

use std::io::{BufRead, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::proc_util::{collect, die_with_parent, fork_child, post, raise_nofile, Pipe, SigSet};

/// How long the holders may take to connect or to touch everything.
const SLOW: Duration = Duration::from_secs(600);

/// Runs `procs` holders with `conns` connections in total until "quit".
pub fn run(conns: usize, procs: usize) -> Result<()> {
    if conns == 0 || procs == 0 {
        bail!("hold: need at least one connection and one process");
    }
    let procs = procs.min(conns);
    let per = conns.div_ceil(procs);
    // CAST: usize to u64 is lossless on Linux targets.
    raise_nofile((2 * per as u64 + 64).max(4096))?;
    let sigs = SigSet::of(&[libc::SIGUSR1, libc::SIGTERM]);
    sigs.block()?;
    let mut pipe = Pipe::new()?;
    let start = Instant::now();
    let mut holders = Vec::with_capacity(procs);
    for i in 0..procs {
        let n = conns / procs + usize::from(i < conns % procs);
        let w = &pipe.w;
        let sigs = &sigs;
        holders.push(fork_child(move || holder(n, w, sigs))?);
    }
    sigs.unblock()?;
    collect(&mut pipe.r, procs, SLOW, "hold: connect")?;
    println!(
        "ready {procs} {conns} {:.0}",
        start.elapsed().as_secs_f64() * 1000.0
    );

    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        match line?.trim() {
            "touch" => {
                let t = Instant::now();
                for h in &holders {
                    h.signal(libc::SIGUSR1)?;
                }
                collect(&mut pipe.r, procs, SLOW, "hold: touch")?;
                println!("touched {:.0}", t.elapsed().as_secs_f64() * 1000.0);
            }
            "quit" => break,
            "" => {}
            other => bail!("hold: unknown command {other:?} (touch|quit)"),
        }
    }
    for h in &holders {
        h.signal(libc::SIGTERM)?;
    }
    for h in holders {
        h.wait()?;
    }
    Ok(())
}

/// One holder: `n` connections, then touch on SIGUSR1 until SIGTERM.
fn holder(n: usize, done: &std::fs::File, sigs: &SigSet) -> Result<()> {
    die_with_parent(libc::SIGTERM)?;
    let mut done = done.try_clone()?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("bind")?;
    let addr = listener.local_addr()?;
    let mut pairs = Vec::with_capacity(n);
    for _ in 0..n {
        let c = TcpStream::connect(addr).context("connect")?;
        let (s, _) = listener.accept().context("accept")?;
        for t in [&c, &s] {
            t.set_nodelay(true)?;
            t.set_read_timeout(Some(Duration::from_secs(60)))?;
        }
        pairs.push((c, s));
    }
    drop(listener);
    post(&mut done)?;
    loop {
        if sigs.wait()? != libc::SIGUSR1 {
            return Ok(());
        }
        touch(&mut pairs)?;
        post(&mut done)?;
    }
}

/// One byte each way on every connection; all writes of a direction first,
/// so no read waits for a wakeup.
fn touch(pairs: &mut [(TcpStream, TcpStream)]) -> Result<()> {
    let mut b = [0u8; 1];
    for (c, _) in pairs.iter_mut() {
        c.write_all(&[1]).context("touch: client write")?;
    }
    for (_, s) in pairs.iter_mut() {
        s.read_exact(&mut b).context("touch: server read")?;
        s.write_all(&b).context("touch: server write")?;
    }
    for (c, _) in pairs.iter_mut() {
        c.read_exact(&mut b).context("touch: client read")?;
    }
    Ok(())
}
