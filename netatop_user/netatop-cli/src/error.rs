//! Errors of the `netatop` command and their exit codes.

use std::io;
use std::path::Path;

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: any error without a more specific code.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: bad command line (clap's own code for usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: the netatop kernel module is not loaded.
pub const EXIT_NOT_LOADED: u8 = 3;
/// Exit status: not privileged enough (needs `CAP_NET_ADMIN`).
pub const EXIT_PERMISSION: u8 = 4;
/// Exit status: a process, thread or cgroup given on the command line does
/// not exist (or, for a cgroup, has no traffic counted).
pub const EXIT_NO_SUCH_PROCESS: u8 = 5;

/// Everything that makes `netatop` fail.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The module does not answer (`ENOPROTOOPT`, or no `/proc/netatop`).
    #[error("the netatop kernel module is not loaded (try: modprobe netatop)")]
    ModuleNotLoaded,
    /// `EPERM` from the socket or the module.
    #[error("permission denied: netatop needs CAP_NET_ADMIN (run as root)")]
    PermissionDenied,
    /// The process given does not exist.
    #[error("no such process: {0}")]
    NoSuchProcess(i32),
    /// The thread given does not exist.
    #[error("no such thread: {0}")]
    NoSuchThread(i32),
    /// The id given is a thread, not a process.
    #[error("{id} is a thread of process {tgid}, not a process (use --thread)")]
    NotAProcess {
        /// The id given.
        id: i32,
        /// The process it belongs to.
        tgid: i32,
    },
    /// The cgroup path given does not exist.
    #[error("no such cgroup: {0}")]
    NoSuchCgroup(String),
    /// The module has no counters for the cgroup given (`ESRCH`).
    #[error("no traffic counted for this cgroup: {0}")]
    CgroupNoTraffic(String),
    /// Some ids given on the command line were not found (each was reported).
    #[error("{0} of the ids given were not found")]
    SomeNotFound(usize),
    /// A bad command line that clap's parser cannot catch.
    #[error("{0}")]
    Usage(String),
    /// Another error of the netatop library.
    #[error("{0}")]
    Netatop(netatop::Error),
    /// An I/O error, with what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: String,
        /// Why.
        source: io::Error,
    },
    /// Writing the output failed (a broken pipe is not reported).
    #[error("cannot write output: {0}")]
    Output(io::Error),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::ModuleNotLoaded => EXIT_NOT_LOADED,
            CliError::PermissionDenied => EXIT_PERMISSION,
            CliError::NoSuchProcess(_)
            | CliError::NoSuchThread(_)
            | CliError::NotAProcess { .. }
            | CliError::NoSuchCgroup(_)
            | CliError::CgroupNoTraffic(_)
            | CliError::SomeNotFound(_) => EXIT_NO_SUCH_PROCESS,
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
            CliError::Netatop(_) | CliError::Io { .. } | CliError::Output(_) => EXIT_FAILURE,
        }
    }

    /// Whether the error goes without a message: a reader that went away
    /// (as in `netatop exited | head -1`) is not worth one, and
    /// [`CliError::SomeNotFound`] only sets the exit status after each
    /// missing id had its own line.
    pub fn is_silent(&self) -> bool {
        match self {
            CliError::Output(e) => e.kind() == io::ErrorKind::BrokenPipe,
            CliError::SomeNotFound(_) => true,
            _ => false,
        }
    }

    /// Classifies a library error. `EPERM` while `/proc/netatop` is missing
    /// (`proc_exists` false) means the module is not loaded at all (it can
    /// only come from a socket the caller may not open).
    pub fn from_netatop(err: netatop::Error, proc_exists: bool) -> Self {
        match err {
            netatop::Error::ModuleNotLoaded => CliError::ModuleNotLoaded,
            netatop::Error::PermissionDenied if !proc_exists => CliError::ModuleNotLoaded,
            netatop::Error::PermissionDenied => CliError::PermissionDenied,
            netatop::Error::NoSuchTask(id) => CliError::NoSuchProcess(id),
            netatop::Error::NoSuchCgroup(id) => CliError::CgroupNoTraffic(format!("id {id}")),
            other => CliError::Netatop(other),
        }
    }
}

impl From<netatop::Error> for CliError {
    fn from(err: netatop::Error) -> Self {
        CliError::from_netatop(err, Path::new(netatop::PROC_PATH).exists())
    }
}

/// Result of the command.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_and_documented() {
        let cases: Vec<(CliError, u8)> = vec![
            (CliError::ModuleNotLoaded, 3),
            (CliError::PermissionDenied, 4),
            (CliError::NoSuchProcess(7), 5),
            (CliError::NoSuchThread(7), 5),
            (CliError::NotAProcess { id: 8, tgid: 7 }, 5),
            (CliError::SomeNotFound(2), 5),
            (CliError::NoSuchCgroup("/x".into()), 5),
            (CliError::CgroupNoTraffic("/x".into()), 5),
            (CliError::Usage("x".into()), 2),
            (CliError::Netatop(netatop::Error::Interrupted), 1),
            (
                CliError::Io {
                    what: "reading /proc".into(),
                    source: io::Error::other("disk on fire"),
                },
                1,
            ),
            (CliError::Output(io::ErrorKind::BrokenPipe.into()), 0),
            (CliError::Output(io::ErrorKind::StorageFull.into()), 1),
        ];
        for (err, code) in cases {
            assert_eq!(err.exit_code(), code, "{err}");
        }
    }

    #[test]
    fn library_errors_map_to_exit_codes() {
        let map = |e, proc_exists| CliError::from_netatop(e, proc_exists).exit_code();
        assert_eq!(map(netatop::Error::ModuleNotLoaded, true), EXIT_NOT_LOADED);
        assert_eq!(map(netatop::Error::ModuleNotLoaded, false), EXIT_NOT_LOADED);
        assert_eq!(map(netatop::Error::PermissionDenied, true), EXIT_PERMISSION);
        // Unprivileged and no /proc/netatop: the module is simply absent.
        assert_eq!(
            map(netatop::Error::PermissionDenied, false),
            EXIT_NOT_LOADED
        );
        assert_eq!(
            map(netatop::Error::NoSuchTask(3), true),
            EXIT_NO_SUCH_PROCESS
        );
        assert_eq!(map(netatop::Error::Interrupted, true), EXIT_FAILURE);
        assert_eq!(
            map(netatop::Error::ProcFormat("x".into()), true),
            EXIT_FAILURE
        );
    }

    #[test]
    fn messages_are_one_line() {
        let all = [
            CliError::ModuleNotLoaded,
            CliError::PermissionDenied,
            CliError::NoSuchProcess(99999),
            CliError::NoSuchThread(5),
            CliError::NotAProcess { id: 8, tgid: 7 },
            CliError::SomeNotFound(2),
            CliError::NoSuchCgroup("/system.slice/x.service".into()),
            CliError::CgroupNoTraffic("/system.slice/x.service".into()),
        ];
        let text: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "the netatop kernel module is not loaded (try: modprobe netatop)",
                "permission denied: netatop needs CAP_NET_ADMIN (run as root)",
                "no such process: 99999",
                "no such thread: 5",
                "8 is a thread of process 7, not a process (use --thread)",
                "2 of the ids given were not found",
                "no such cgroup: /system.slice/x.service",
                "no traffic counted for this cgroup: /system.slice/x.service",
            ]
        );
        assert!(CliError::Output(io::ErrorKind::BrokenPipe.into()).is_silent());
        assert!(!CliError::ModuleNotLoaded.is_silent());
    }
}
