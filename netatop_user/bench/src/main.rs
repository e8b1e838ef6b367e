//! `netatop-bench`: the load generators and the report of `make bench`.
//!
//! The guest driver (`tests/bench/guest-bench.sh`) runs the generators as
//! root in the test VM, once per variant (no module, the empty netfilter
//! hook, netatop.ko) and repetition. Each generator prints one number, its
//! rate, on stdout; diagnostics go to stderr. `report` runs on the host and
//! turns the driver's raw result lines into the table and `summary.json`.
//!
//! The processes fork (servers, holders, namespace flooders) only while they
//! are single-threaded.

mod gc;
mod hold;
mod proc_util;
mod report;
mod scrape;
mod slab;
mod tcp;
mod udp;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand, ValueEnum};

/// Command line.
#[derive(Parser)]
#[command(
    name = "netatop-bench",
    version,
    about = "netatop-rs benchmark: load generators (run in the test VM) and report"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Address family of a loopback benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Family {
    /// IPv4, 127.0.0.1.
    #[value(name = "4")]
    V4,
    /// IPv6, ::1.
    #[value(name = "6")]
    V6,
}

impl Family {
    /// The loopback address with `port`.
    pub fn loopback(self, port: u16) -> std::net::SocketAddr {
        use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
        match self {
            Family::V4 => SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Family::V6 => SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// UDP sendto+recv rate (datagrams/s) over loopback: each datagram is
    /// sent and then received by the same thread, so it crosses LOCAL_OUT
    /// and LOCAL_IN once each.
    Udp {
        /// Address family.
        #[arg(long, value_enum, default_value = "4")]
        family: Family,
        /// Payload bytes.
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 3.0)]
        duration: f64,
        /// Parallel flows (threads), each with its own pair of sockets.
        #[arg(long, default_value_t = 1)]
        flows: usize,
        /// With netatop loaded: fail unless it charged this process exactly
        /// the datagrams it sent.
        #[arg(long)]
        exact: bool,
    },
    /// A flood of new tuples nobody answers: one-byte UDP datagrams to PORTS
    /// consecutive ports, as fast as one thread can send them. Prints the
    /// number sent.
    Flood {
        /// Destination address.
        #[arg(long)]
        dst: std::net::IpAddr,
        /// First destination port.
        #[arg(long, default_value_t = 1025)]
        first: u16,
        /// Destination ports.
        #[arg(long, default_value_t = 30000)]
        ports: u16,
        /// Seconds to run.
        #[arg(long, default_value_t = 3.0)]
        duration: f64,
    },
    /// TCP request/response rate (transactions/s) on one connection, 1-byte
    /// request and response, client and server in two processes (netperf
    /// TCP_RR).
    Rr {
        /// Address family.
        #[arg(long, value_enum, default_value = "4")]
        family: Family,
        /// Seconds to run.
        #[arg(long, default_value_t = 3.0)]
        duration: f64,
        /// Pin client and server to this CPU (default: wherever the
        /// scheduler puts them).
        #[arg(long)]
        cpu: Option<usize>,
    },
    /// TCP connect/request/response/close rate (transactions/s), 1-byte
    /// request and response (netperf TCP_CRR).
    Crr {
        /// Address family.
        #[arg(long, value_enum, default_value = "4")]
        family: Family,
        /// Seconds to run.
        #[arg(long, default_value_t = 3.0)]
        duration: f64,
        /// Pin client and server to this CPU.
        #[arg(long)]
        cpu: Option<usize>,
    },
    /// Holds open TCP loopback connections in many processes. Prints
    /// "ready" once they are established, then reads commands from stdin:
    /// "touch" makes every connection exchange one byte each way (so
    /// netatop has an entry for both ends, bound to the holder) and prints
    /// "touched MS"; "quit" or EOF ends the holders.
    Hold {
        /// Connections in total.
        #[arg(long)]
        conns: usize,
        /// Holder processes (the connections are spread over them).
        #[arg(long, default_value_t = 1000)]
        procs: usize,
    },
    /// With netatop.ko loaded (with a large sockinfo_limit_kb): creates
    /// NAMESPACES x PORTS UDP sockinfo entries, times NETATOP_FORCE_GC over
    /// them and derives the kernel memory per sockinfo and per taskinfo from
    /// /proc/slabinfo. Prints "key value" lines.
    Gc {
        /// Network namespaces to flood (one flooding process each).
        #[arg(long, default_value_t = 2)]
        namespaces: usize,
        /// Destination UDP ports per namespace (from 10000 on).
        #[arg(long, default_value_t = 50000)]
        ports: u16,
        /// Processes used to measure the memory per taskinfo.
        #[arg(long, default_value_t = 1000)]
        tasks: usize,
        /// Timed collections (median reported).
        #[arg(long, default_value_t = 3)]
        passes: usize,
    },
    /// With netatop.ko and netatop-exporter running: TASKS processes that
    /// each sent one datagram, then times GETCNT_TASKS and a scrape of the
    /// exporter. Prints "key value" lines.
    Scrape {
        /// Processes.
        #[arg(long, default_value_t = 10000)]
        tasks: usize,
        /// Timed reads of each kind (median reported).
        #[arg(long, default_value_t = 20)]
        scrapes: usize,
        /// The exporter's address.
        #[arg(long, default_value = "127.0.0.1:9661")]
        addr: String,
        /// Also time netatop-dbus's GetStats on the bus at this address.
        #[arg(long)]
        dbus: Option<String>,
    },
    /// With netatop.ko loaded and at least MIN connections tracked (held
    /// open by `hold`, touched): times NETATOP_GETCNT_CONNS snapshots (raw
    /// and decoded into typed connections). Prints "key value" lines.
    Conns {
        /// Connections that must be listed.
        #[arg(long, default_value_t = 20000)]
        min: usize,
        /// Timed snapshots (median reported).
        #[arg(long, default_value_t = 20)]
        calls: usize,
    },
    /// Prints netatop's table sizes and refusals from /proc/netatop as
    /// "key=value" words (the refusals by cause only if the module prints
    /// them).
    Counters,
    /// Turns the driver's raw result lines into the table (stdout) and a
    /// JSON summary.
    Report {
        /// Raw result lines (the driver's "BENCH" lines without the prefix).
        raw: PathBuf,
        /// Where to write the JSON summary.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

/// A duration in seconds from the command line.
fn seconds(s: f64) -> Result<Duration> {
    if !(s.is_finite() && s > 0.0) {
        bail!("duration must be a positive number of seconds, not {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Udp {
            family,
            size,
            duration,
            flows,
            exact,
        } => {
            let (rate, sent) = udp::run(family, size, seconds(duration)?, flows)?;
            if exact {
                udp::check_exact(family, size, sent)?;
            }
            println!("{rate:.1}");
        }
        Cmd::Flood {
            dst,
            first,
            ports,
            duration,
        } => {
            let sent = udp::flood(dst, first, ports, seconds(duration)?)?;
            println!("{sent}");
        }
        Cmd::Rr {
            family,
            duration,
            cpu,
        } => {
            if let Some(cpu) = cpu {
                proc_util::pin_to_cpu(cpu)?;
            }
            let rate = tcp::rr(family, seconds(duration)?)?;
            println!("{rate:.1}");
        }
        Cmd::Crr {
            family,
            duration,
            cpu,
        } => {
            if let Some(cpu) = cpu {
                proc_util::pin_to_cpu(cpu)?;
            }
            let rate = tcp::crr(family, seconds(duration)?)?;
            println!("{rate:.1}");
        }
        Cmd::Hold { conns, procs } => hold::run(conns, procs)?,
        Cmd::Gc {
            namespaces,
            ports,
            tasks,
            passes,
        } => gc::run(namespaces, ports, tasks, passes)?,
        Cmd::Scrape {
            tasks,
            scrapes,
            addr,
            dbus,
        } => scrape::run(tasks, scrapes.max(1), &addr, dbus.as_deref())?,
        Cmd::Conns { min, calls } => scrape::conns(min, calls.max(1))?,
        Cmd::Counters => {
            let c = netatop::ProcCounters::read()?;
            print!(
                "sockinfo={} sockinfo_overflow={} taskinfo={} taskinfo_overflow={} unident={}",
                c.sockinfo,
                c.sockinfo_overflow,
                c.taskinfo,
                c.taskinfo_overflow,
                c.unident_tcpsndpacks
                    + c.unident_tcprcvpacks
                    + c.unident_udpsndpacks
                    + c.unident_udprcvpacks
            );
            if let Some(r) = c.refused {
                print!(
                    " sockinfo_full={} sockinfo_nomem={} taskinfo_full={} taskinfo_nomem={}",
                    r.sockinfo_full, r.sockinfo_nomem, r.taskinfo_full, r.taskinfo_nomem
                );
            }
            println!();
        }
        Cmd::Report { raw, json } => report::run(&raw, json.as_deref())?,
    }
    Ok(())
}
