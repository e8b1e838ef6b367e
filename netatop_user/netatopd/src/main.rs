//! `netatopd`: logs the network counters of finished processes for atop.
//! See `netatopd(8)`.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use netatop::Netatop;
use netatopd::log::{Level, Logger};
use netatopd::sem::SEMAKEY;
use netatopd::{process, Daemon, Error, LogFile, SemSet};

/// Logs the netatop counters of finished processes to /run/netatop.log
/// for atop (drop-in replacement for netatop 3.2.2's netatopd).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Stay in the foreground and log to standard error (for systemd
    /// Type=simple); by default netatopd detaches and logs to syslog.
    #[arg(short, long)]
    foreground: bool,

    /// The log file atop reads.
    #[arg(long, value_name = "PATH", default_value = netatopd::logfile::DEFAULT_PATH)]
    log_file: PathBuf,

    /// Key of the SysV semaphore set shared with atop (decimal or 0x hex);
    /// atop always uses the default.
    #[arg(long, value_name = "KEY", default_value_t = SEMAKEY, value_parser = parse_key)]
    sem_key: i32,
}

fn parse_key(s: &str) -> Result<i32, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => i32::from_str_radix(hex, 16),
        None => s.parse(),
    };
    match parsed {
        Ok(0) => Err("key 0 is IPC_PRIVATE, which atop cannot find".to_owned()),
        Ok(k) => Ok(k),
        Err(e) => Err(e.to_string()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut logger = None;
    match run(&cli, &mut logger) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match (&logger, &e) {
                (Some(l), _) => l.log(Level::Error, &e.to_string()),
                // The two messages of netatop 3.2.2, verbatim.
                (None, Error::NotRoot | Error::AlreadyRunning) => eprintln!("{e}"),
                (None, _) => eprintln!("netatopd: {e}"),
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: &Cli, logger_slot: &mut Option<Logger>) -> Result<(), Error> {
    if !process::is_root() {
        return Err(Error::NotRoot);
    }
    let mut netatop = Netatop::open().map_err(Error::Socket)?;
    let (sem, _created) =
        SemSet::create_or_attach(cli.sem_key).map_err(|source| Error::Semaphore {
            key: cli.sem_key,
            source,
        })?;
    sem.ensure_not_running()?;

    if !cli.foreground {
        process::daemonize().map_err(Error::Start)?;
    }
    process::openlog();
    let logger = logger_slot.insert(if cli.foreground {
        Logger::foreground()
    } else {
        Logger::syslog()
    });
    // After daemonising: SEM_UNDO adjustments are not inherited by fork.
    sem.register_instance()?;
    process::install_signal_handlers().map_err(Error::Start)?;
    if let Err(e) = process::nice(-39) {
        logger.log(Level::Warning, &format!("cannot raise the priority: {e}"));
    }

    // CAST: a pid fits in pid_t.
    let pid = std::process::id() as i32;
    let log = LogFile::create(&cli.log_file, pid).map_err(|source| Error::LogFile {
        path: cli.log_file.clone(),
        source,
    })?;
    logger.log(
        Level::Info,
        &format!(
            "version {} started (pid {pid}, log {}, semaphore key {:#x})",
            env!("CARGO_PKG_VERSION"),
            cli.log_file.display(),
            cli.sem_key
        ),
    );

    let mut daemon = Daemon::new(log, logger);
    let stats = daemon.run(
        &mut netatop,
        &sem,
        &|| process::stop_signal().is_some(),
        &process::sleep_interruptible,
    )?;
    logger.log(
        Level::Info,
        &format!(
            "stopped by signal {}: {} finished processes logged, {} dropped without clients, \
             {} skipped for lack of disk space, {} lost to write errors",
            process::stop_signal().unwrap_or(0),
            stats.written,
            stats.dropped,
            stats.skipped_low_disk,
            stats.failed_writes
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_netatop_3_2_2s() {
        let cli = Cli::try_parse_from(["netatopd"]).unwrap();
        assert!(!cli.foreground);
        assert_eq!(cli.log_file, PathBuf::from("/run/netatop.log"));
        assert_eq!(cli.sem_key, 1_541_961);
    }

    #[test]
    fn options_parse() {
        let cli = Cli::try_parse_from([
            "netatopd",
            "-f",
            "--log-file",
            "/tmp/x",
            "--sem-key",
            "0x10",
        ])
        .unwrap();
        assert!(cli.foreground);
        assert_eq!(cli.log_file, PathBuf::from("/tmp/x"));
        assert_eq!(cli.sem_key, 16);
        assert_eq!(parse_key("0x178749"), Ok(1_541_961));
        assert!(parse_key("0").is_err());
        assert!(parse_key("x").is_err());
        assert!(
            Cli::try_parse_from(["netatopd", "--foreground"])
                .unwrap()
                .foreground
        );
    }
}
