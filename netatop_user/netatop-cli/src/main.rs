//! `netatop`: the command-line client of the netatop kernel module.
//!
//! - `netatop status`: is the module loaded; its global counters;
//! - `netatop show PID...`: counters of processes or threads
//!   (`--cgroup PATH`: of a cgroup);
//! - `netatop exited`: finished processes as the module reports them;
//! - `netatop connections`: every connection with its process, ends,
//!   state and counters;
//! - `netatop top`: a live per-process (`--cgroups`: per-cgroup,
//!   `--connections`: per-connection) bandwidth table.
//!
//! Exit status: 0 ok, 1 error, 2 usage, 3 module not loaded, 4 permission
//! denied, 5 no such process or cgroup (see `error.rs` and netatop(1)).

mod cgroups;
mod cli;
mod commands;
mod conns;
mod error;
mod format;
mod procfs;
mod rates;
mod record;
mod sample;
mod table;
mod tui;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use crate::cli::Cli;
use crate::error::{EXIT_OK, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(usage_error(&e)),
    };
    match commands::run(cli.command, &mut std::io::stdout()) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            if !e.is_silent() {
                eprintln!("netatop: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Reports a command-line problem: help and version go to standard output
/// (status 0), help for a missing subcommand to standard error (status 2),
/// any other problem as one line on standard error (status 2).
fn usage_error(e: &clap::Error) -> u8 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            EXIT_OK
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            EXIT_USAGE
        }
        _ => {
            eprintln!("netatop: {}", cli::usage_message(e));
            EXIT_USAGE
        }
    }
}
