//! `netatop-exporter`: serves the netatop module's counters at `/metrics`.
//!
//! See netatop-exporter(8). Exit status: 0 after `--help`/`--version`, 1 if
//! the address cannot be listened on, 2 for a bad command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use netatop_exporter::collect::Source;
use netatop_exporter::{http, DEFAULT_LISTEN_ADDRESS, DEFAULT_TOP_PROCESSES};

/// Prometheus exporter of the netatop kernel module.
#[derive(Debug, Parser)]
#[command(
    name = "netatop-exporter",
    version,
    long_about = "Serves the network counters of the netatop kernel module as Prometheus \
                  metrics at /metrics: per cgroup v2, for the processes with the most \
                  traffic, and the module's global counters.\n\n\
                  The module's commands need CAP_NET_ADMIN; without it (or without the \
                  module) scrapes still succeed, with netatop_up 0."
)]
struct Args {
    /// Address to listen on for HTTP (HOST:PORT; [::]:9661 for every address).
    #[arg(long = "web.listen-address", value_name = "ADDR", default_value = DEFAULT_LISTEN_ADDRESS)]
    listen_address: String,
    /// Number of processes exported one by one: those with the most bytes
    /// since they started (0: none).
    #[arg(long = "process.top", value_name = "N", default_value_t = DEFAULT_TOP_PROCESSES)]
    process_top: usize,
    /// Mount point of the cgroup2 hierarchy (default: the first cgroup2
    /// mount in /proc/self/mountinfo).
    #[arg(long = "cgroup.root", value_name = "DIR")]
    cgroup_root: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let server = match tiny_http::Server::http(&args.listen_address) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "netatop-exporter: cannot listen on {}: {e}",
                args.listen_address
            );
            return ExitCode::from(1);
        }
    };
    match server.server_addr().to_ip() {
        Some(addr) => eprintln!("netatop-exporter: listening on http://{addr}/metrics"),
        None => eprintln!("netatop-exporter: listening on {}", args.listen_address),
    }
    let mut source = Source::new(args.cgroup_root);
    http::serve(&server, &mut source, args.process_top);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("netatop-exporter").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_and_options() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.listen_address, "127.0.0.1:9661");
        assert_eq!(a.process_top, 20);
        assert_eq!(a.cgroup_root, None);
        let a = parse(&[
            "--web.listen-address",
            "[::]:9100",
            "--process.top",
            "0",
            "--cgroup.root=/mnt/cg",
        ])
        .unwrap();
        assert_eq!(a.listen_address, "[::]:9100");
        assert_eq!(a.process_top, 0);
        assert_eq!(a.cgroup_root, Some(PathBuf::from("/mnt/cg")));
        assert!(parse(&["--process.top", "-1"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
