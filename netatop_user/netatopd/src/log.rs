//! Where netatopd's messages go: syslog (`LOG_DAEMON`, ident "netatopd")
//! when daemonised; standard error in the foreground.

use std::cell::RefCell;

use crate::sys;

/// Importance of a message (syslog priorities).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `LOG_ERR`.
    Error,
    /// `LOG_WARNING`.
    Warning,
    /// `LOG_NOTICE`.
    Notice,
    /// `LOG_INFO`.
    Info,
}

impl Level {
    fn syslog_priority(self) -> i32 {
        match self {
            Level::Error => libc::LOG_ERR,
            Level::Warning => libc::LOG_WARNING,
            Level::Notice => libc::LOG_NOTICE,
            Level::Info => libc::LOG_INFO,
        }
    }
}

/// The message sink.
#[derive(Debug, Default)]
pub struct Logger {
    syslog: bool,
    stderr: bool,
    journal: bool,
    memory: Option<RefCell<Vec<(Level, String)>>>,
}

impl Logger {
    /// A daemonised netatopd: syslog only (call
    /// [`process::openlog`](crate::process::openlog) first).
    pub fn syslog() -> Self {
        Self {
            syslog: true,
            ..Self::default()
        }
    }

    /// A foreground netatopd: standard error, and syslog too unless standard
    /// error already is the systemd journal (`JOURNAL_STREAM` set), where
    /// each line carries its priority as a `<N>` prefix.
    pub fn foreground() -> Self {
        let journal = std::env::var_os("JOURNAL_STREAM").is_some();
        Self {
            syslog: !journal,
            stderr: true,
            journal,
            memory: None,
        }
    }

    /// A logger that keeps the messages in memory (tests).
    pub fn memory() -> Self {
        Self {
            memory: Some(RefCell::new(Vec::new())),
            ..Self::default()
        }
    }

    /// The messages kept by a [`Logger::memory`] logger.
    pub fn messages(&self) -> Vec<(Level, String)> {
        self.memory
            .as_ref()
            .map(|m| m.borrow().clone())
            .unwrap_or_default()
    }

    /// Emits one message.
    pub fn log(&self, level: Level, message: &str) {
        if self.syslog {
            sys::syslog(level.syslog_priority(), message);
        }
        if self.stderr {
            if self.journal {
                eprintln!("<{}>{message}", level.syslog_priority());
            } else {
                eprintln!("netatopd: {message}");
            }
        }
        if let Some(m) = &self.memory {
            m.borrow_mut().push((level, message.to_owned()));
        }
    }
}
