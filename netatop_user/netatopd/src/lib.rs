//! netatopd: logs the network counters of finished processes for atop.
//!
//! A drop-in replacement for the daemon of netatop 3.2.2. It takes each
//! finished process off the netatop module's exit list
//! (`NETATOP_GETCNT_EXIT`) and, while at least one atop is subscribed
//! through the SysV semaphore set [`sem::SEMAKEY`], appends it to
//! `/run/netatop.log` in the format an unmodified atop reads
//! ([`record`]). See `netatopd(8)`.
//!
//! All `unsafe` code is in the private `sys` module; the parts that tests
//! and other tools may use are public.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod daemon;
pub mod disk;
pub mod error;
pub mod log;
pub mod logfile;
pub mod record;
pub mod sem;
mod sys;

pub use daemon::{Daemon, ExitSource, Stats};
pub use error::Error;
pub use logfile::LogFile;
pub use sem::{Clients, SemSet};

/// The process-level operations `main` needs, safe wrappers over the
/// private `sys` module.
pub mod process {
    use std::io;
    use std::time::Duration;

    /// Whether the process runs with effective user id 0.
    pub fn is_root() -> bool {
        crate::sys::geteuid() == 0
    }

    /// Detaches from the terminal (fork, setsid, fork, `chdir /`,
    /// `umask 022`, standard descriptors on `/dev/null`). Call it while
    /// single-threaded.
    pub fn daemonize() -> io::Result<()> {
        crate::sys::daemonize()
    }

    /// Opens syslog as "netatopd" with `LOG_PID`, facility `LOG_DAEMON`.
    pub fn openlog() {
        crate::sys::openlog()
    }

    /// Lowers the nice value by `inc` (netatopd 3.2.2 uses -39, which the
    /// kernel clamps to -20), so the exit list is drained promptly.
    pub fn nice(inc: i32) -> io::Result<()> {
        crate::sys::nice(inc)
    }

    /// Installs the SIGHUP, SIGTERM, SIGINT and SIGALRM handlers, none
    /// with `SA_RESTART`, so each interrupts the blocking `getsockopt`.
    pub fn install_signal_handlers() -> io::Result<()> {
        crate::sys::install_signal_handlers()
    }

    /// The signal (SIGTERM or SIGINT) that asked netatopd to stop, if any.
    pub fn stop_signal() -> Option<i32> {
        crate::sys::stop_signal()
    }

    /// Sleeps for `d`, returning early when a signal arrives.
    pub fn sleep_interruptible(d: Duration) {
        crate::sys::sleep_interruptible(d)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::sys;

        #[test]
        fn handlers_interrupt_and_request_the_stop() {
            install_signal_handlers().unwrap();
            for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT, libc::SIGALRM] {
                assert!(!sys::handler_restarts(sig).unwrap(), "signal {sig}");
            }
            sys::raise(libc::SIGHUP).unwrap();
            assert_eq!(stop_signal(), None);
            sys::raise(libc::SIGTERM).unwrap();
            assert_eq!(stop_signal(), Some(libc::SIGTERM));
            // Stop the re-arming alarm: it would hit the other tests' threads.
            sys::reset_stop();
            assert_eq!(stop_signal(), None);
        }
    }
}
