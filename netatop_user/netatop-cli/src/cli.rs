//! The command line.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::table::SortKey;

/// Per-process network counters of the netatop kernel module.
#[derive(Debug, Parser)]
#[command(
    name = "netatop",
    version,
    long_about = "Per-process and per-thread network counters of the netatop kernel module \
                  (TCP and UDP packets and bytes, sent and received).\n\n\
                  Reading counters needs CAP_NET_ADMIN (root). \
                  Exit status: 0 ok, 1 error, 2 usage, 3 module not loaded, \
                  4 permission denied, 5 no such process.",
    arg_required_else_help = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Is the module loaded and usable; its global counters (/proc/netatop)
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Counters of processes (or threads, or a cgroup)
    #[command(override_usage = "netatop show [--thread] [--json] <PID>...\n       \
                                netatop show --cgroup <PATH> [--json]")]
    Show {
        /// Process ids (thread ids with --thread).
        // Required, unless --cgroup (which conflicts with it) is given.
        #[arg(
            required = true,
            value_name = "PID",
            value_parser = parse_id,
            allow_negative_numbers = true
        )]
        ids: Vec<i32>,
        /// The ids are threads (NETATOP_GETCNT_PID) rather than processes.
        #[arg(short, long)]
        thread: bool,
        /// Show the counters of cgroup v2 PATH instead (as in /proc/PID/cgroup,
        /// e.g. /system.slice/nginx.service; / is the root cgroup).
        #[arg(
            long,
            value_name = "PATH",
            conflicts_with = "ids",
            conflicts_with = "thread"
        )]
        cgroup: Option<String>,
        /// Print JSON instead of text (an array for processes and threads).
        #[arg(long)]
        json: bool,
    },
    /// Print finished processes as the module reports them (consumes them)
    Exited {
        /// Print one JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Stop after N processes.
        #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Stop after SECS seconds (decimals allowed).
        #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
        timeout: Option<Duration>,
    },
    /// Every connection with its process, ends, state and counters
    #[command(override_usage = "netatop connections [--pid <PID>] [--json]")]
    Connections {
        /// Only the connections charged to process PID.
        #[arg(short, long, value_name = "PID", value_parser = parse_id)]
        pid: Option<i32>,
        /// Print a JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Live per-process (or per-cgroup, or per-connection) bandwidth table
    Top(TopArgs),
}

/// Options of `netatop top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Seconds between refreshes (decimals allowed, at least 0.1).
    #[arg(short = 'd', long, value_name = "SECS", default_value = "2", value_parser = parse_interval)]
    pub interval: Duration,
    /// Print the table as text to standard output instead of a live screen.
    #[arg(short, long)]
    pub batch: bool,
    /// Number of refreshes, then exit (batch mode: default 1).
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,
    /// Column to sort by (path and procs: with --cgroups only; proto, snd,
    /// snd-pkt, rcv, rcv-pkt, state, local and remote: with --connections
    /// only; pid and command: not with --cgroups).
    #[arg(short, long, value_enum, value_name = "COL", default_value_t = SortKey::Total)]
    pub sort: SortKey,
    /// Show threads instead of processes.
    #[arg(short, long)]
    pub threads: bool,
    /// Show one row per cgroup v2 instead of processes.
    #[arg(short, long, conflicts_with = "threads")]
    pub cgroups: bool,
    /// Show one row per connection (TCP connection or UDP port) instead of
    /// processes.
    #[arg(long, conflicts_with_all = ["threads", "cgroups"])]
    pub connections: bool,
    /// Batch mode, one JSON document per line and refresh (implies --batch).
    #[arg(long)]
    pub json: bool,
}

/// A process or thread id: a positive integer.
pub fn parse_id(s: &str) -> Result<i32, String> {
    match s.parse::<i32>() {
        Ok(id) if id > 0 => Ok(id),
        Ok(_) => Err("a process id is a positive number".into()),
        Err(_) => Err("not a process id (a positive number)".into()),
    }
}

fn parse_seconds(s: &str, min: f64) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: '{s}'"))?;
    if !secs.is_finite() || secs < min || secs > 1e9 {
        return Err(format!("must be between {min} and 1000000000 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `--interval`: seconds, at least 0.1.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    parse_seconds(s, 0.1)
}

/// `--timeout`: seconds, at least 0.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_seconds(s, 0.0)
}

/// A clap error as one line: its first line without the `error: ` prefix,
/// and where to get help.
pub fn usage_message(e: &clap::Error) -> String {
    // `render()` as plain text: no colour codes in the message.
    let text = e.render().to_string();
    // The message is the first paragraph (clap continues some messages,
    // like the missing arguments or the possible values, on more lines).
    let words: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let msg = words.join(" ");
    let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
    format!("{msg} (see 'netatop --help')")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("netatop").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn show_parses_ids_and_rejects_junk() {
        match parse(&["show", "1", "42", "--thread", "--json"])
            .unwrap()
            .command
        {
            Command::Show {
                ids,
                thread,
                cgroup,
                json,
            } => {
                assert_eq!(ids, [1, 42]);
                assert!(thread && json);
                assert_eq!(cgroup, None);
            }
            other => panic!("{other:?}"),
        }
        for bad in ["abc", "0", "-5", "99999999999", "1.5"] {
            let err = parse(&["show", bad]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad}");
            assert_eq!(err.exit_code(), 2);
        }
        assert_eq!(
            parse(&["show"]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn show_a_cgroup() {
        match parse(&["show", "--cgroup", "/system.slice/a.service", "--json"])
            .unwrap()
            .command
        {
            Command::Show {
                ids,
                thread,
                cgroup,
                json,
            } => {
                assert!(ids.is_empty() && !thread && json);
                assert_eq!(cgroup.as_deref(), Some("/system.slice/a.service"));
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &["show", "--cgroup", "/x", "1"][..],
            &["show", "--cgroup", "/x", "--thread"],
            &["show", "--cgroup"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn top_cgroups() {
        match parse(&["top", "--cgroups", "-b", "--sort", "path"])
            .unwrap()
            .command
        {
            Command::Top(t) => {
                assert!(t.cgroups && t.batch && !t.threads);
                assert_eq!(t.sort, SortKey::Path);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["top", "-c", "--json", "-s", "procs"])
            .unwrap()
            .command
        {
            Command::Top(t) => {
                assert!(t.cgroups && t.json);
                assert_eq!(t.sort, SortKey::Procs);
            }
            other => panic!("{other:?}"),
        }
        let err = parse(&["top", "--cgroups", "--threads"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn connections_options() {
        match parse(&["connections"]).unwrap().command {
            Command::Connections { pid, json } => assert_eq!((pid, json), (None, false)),
            other => panic!("{other:?}"),
        }
        match parse(&["connections", "--pid", "42", "--json"])
            .unwrap()
            .command
        {
            Command::Connections { pid, json } => assert_eq!((pid, json), (Some(42), true)),
            other => panic!("{other:?}"),
        }
        for bad in [
            &["connections", "--pid", "0"][..],
            &["connections", "--pid", "x"],
            &["connections", "42"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
        match parse(&["top", "--connections", "-b", "-s", "rcv"])
            .unwrap()
            .command
        {
            Command::Top(t) => {
                assert!(t.connections && t.batch && !t.cgroups && !t.threads);
                assert_eq!(t.sort, SortKey::Rcv);
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &["top", "--connections", "--cgroups"][..],
            &["top", "--connections", "--threads"],
        ] {
            assert_eq!(
                parse(bad).unwrap_err().kind(),
                ErrorKind::ArgumentConflict,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn top_defaults_and_options() {
        match parse(&["top"]).unwrap().command {
            Command::Top(t) => {
                assert_eq!(t.interval, Duration::from_secs(2));
                assert!(!t.batch && !t.threads && !t.json && !t.cgroups && !t.connections);
                assert_eq!(t.iterations, None);
                assert_eq!(t.sort, SortKey::Total);
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "top",
            "-b",
            "-d",
            "0.5",
            "-n",
            "3",
            "--sort",
            "udp-rcv-pkt",
            "-t",
        ])
        .unwrap()
        .command
        {
            Command::Top(t) => {
                assert_eq!(t.interval, Duration::from_millis(500));
                assert!(t.batch && t.threads);
                assert_eq!(t.iterations, Some(3));
                assert_eq!(t.sort, SortKey::UdpRcvPkt);
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &["top", "--interval", "0"][..],
            &["top", "--interval", "x"],
            &["top", "--iterations", "0"],
            &["top", "--sort", "bogus"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn exited_options() {
        match parse(&["exited", "--json", "-n", "5", "--timeout", "1.5"])
            .unwrap()
            .command
        {
            Command::Exited {
                json,
                count,
                timeout,
            } => {
                assert!(json);
                assert_eq!(count, Some(5));
                assert_eq!(timeout, Some(Duration::from_millis(1500)));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_timeout("0").unwrap(), Duration::ZERO);
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("inf").is_err());
        assert!(parse_timeout("nan").is_err());
    }

    #[test]
    fn usage_errors_are_one_line() {
        let msg = |args: &[&str]| usage_message(&parse(args).unwrap_err());
        assert_eq!(
            msg(&["show", "abc"]),
            "invalid value 'abc' for '<PID>...': not a process id (a positive number) (see 'netatop --help')"
        );
        assert_eq!(
            msg(&["show", "0"]),
            "invalid value '0' for '<PID>...': a process id is a positive number (see 'netatop --help')"
        );
        assert_eq!(
            msg(&["frobnicate"]),
            "unrecognized subcommand 'frobnicate' (see 'netatop --help')"
        );
        assert_eq!(
            msg(&["top", "--sort", "bogus"]),
            "invalid value 'bogus' for '--sort <COL>' [possible values: pid, command, \
             tcp-snd, tcp-snd-pkt, tcp-rcv, tcp-rcv-pkt, udp-snd, udp-snd-pkt, udp-rcv, \
             udp-rcv-pkt, total, cumulative, path, procs, proto, snd, snd-pkt, rcv, rcv-pkt, \
             state, local, remote] (see 'netatop --help')"
        );
        assert_eq!(
            msg(&["show"]),
            "the following required arguments were not provided: <PID>... (see 'netatop --help')"
        );
    }

    #[test]
    fn no_subcommand_is_a_usage_error() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        assert_eq!(err.exit_code(), 2);
    }
}
