//! Errors of netatopd and the exit status each one gives.

use std::io;
use std::path::PathBuf;

/// Why netatopd stops.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The effective user id is not 0 (exit status 1).
    #[error("Root privileges are needed!")]
    NotRoot,
    /// The socket could not be opened (exit status 2).
    #[error("cannot open the netatop socket: {0}")]
    Socket(#[source] netatop::Error),
    /// Another netatopd is registered in the semaphore set (exit status 3).
    #[error("Another netatopd is already running!")]
    AlreadyRunning,
    /// A semaphore operation failed.
    #[error("semaphore set {key:#x}: {source}")]
    Semaphore {
        /// Key of the set.
        key: i32,
        /// The system error.
        source: io::Error,
    },
    /// The log file could not be created or checked.
    #[error("{}: {source}", path.display())]
    LogFile {
        /// Path of the log file.
        path: PathBuf,
        /// The system error.
        source: io::Error,
    },
    /// `getsockopt(NETATOP_GETCNT_EXIT)` failed with an unexpected error.
    #[error("getsockopt failed: {0}")]
    Module(#[source] netatop::Error),
    /// Daemonising or installing the signal handlers failed.
    #[error("cannot start: {0}")]
    Start(#[source] io::Error),
}

impl Error {
    /// The exit status of netatop 3.2.2's netatopd for this error: 2 for the
    /// socket, 3 for a second instance, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Socket(_) => 2,
            Error::AlreadyRunning => 3,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_exit_codes_match_netatop_3_2_2() {
        assert_eq!(Error::NotRoot.to_string(), "Root privileges are needed!");
        assert_eq!(Error::NotRoot.exit_code(), 1);
        let sock = Error::Socket(netatop::Error::PermissionDenied);
        assert_eq!(sock.exit_code(), 2);
        assert_eq!(Error::AlreadyRunning.exit_code(), 3);
        let other = Error::Module(netatop::Error::Io(io::Error::from_raw_os_error(
            libc::EINVAL,
        )));
        assert_eq!(other.exit_code(), 1);
        assert!(other.to_string().starts_with("getsockopt failed: "));
    }
}
