//! Errors of the netatop client.

use std::io;

/// What can go wrong talking to the module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `ENOPROTOOPT`: the kernel has no handler for the netatop commands.
    #[error("the netatop kernel module is not loaded (modprobe netatop)")]
    ModuleNotLoaded,
    /// `EPERM`: the caller lacks `CAP_NET_ADMIN`.
    #[error("permission denied: netatop needs CAP_NET_ADMIN (run as root)")]
    PermissionDenied,
    /// `ESRCH`: the module has no counters for this process or thread.
    #[error("netatop knows no process or thread {0}")]
    NoSuchTask(i32),
    /// `ESRCH` from `NETATOP_GETCNT_CGROUP`: no live process is counted for
    /// this cgroup and no finished totals are kept for it.
    #[error("no traffic counted for cgroup id {0}")]
    NoSuchCgroup(u64),
    /// `ENOPROTOOPT` for a command while `NETATOP_PROBE` succeeds: the loaded
    /// module predates the command (netatop 3.2.2, or an older netatop-rs).
    #[error("the loaded netatop module does not support {0} (an older netatop or netatop-rs)")]
    Unsupported(&'static str),
    /// The module's answer does not match the ABI (a length or count out of
    /// range): a module of another version, or a bug.
    #[error("unexpected answer of the netatop module to {command}: {detail}")]
    BadAnswer {
        /// The command, as named in `include/netatop.h`.
        command: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// `EINTR`: a signal interrupted a blocking call; nothing was lost.
    #[error("interrupted by a signal")]
    Interrupted,
    /// `/proc/netatop` did not have the expected format.
    #[error("unexpected /proc/netatop format: {0}")]
    ProcFormat(String),
    /// Any other system error.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Result of the netatop client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Classifies the OS error of a netatop call; `id` names the task asked for.
    pub(crate) fn from_os(err: io::Error, id: i32) -> Self {
        match err.raw_os_error() {
            Some(libc::ENOPROTOOPT) => Error::ModuleNotLoaded,
            Some(libc::EPERM) => Error::PermissionDenied,
            Some(libc::ESRCH) => Error::NoSuchTask(id),
            Some(libc::EINTR) => Error::Interrupted,
            _ => Error::Io(err),
        }
    }

    /// The errno behind this error, when there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::ModuleNotLoaded => Some(libc::ENOPROTOOPT),
            Error::PermissionDenied => Some(libc::EPERM),
            Error::NoSuchTask(_) | Error::NoSuchCgroup(_) => Some(libc::ESRCH),
            Error::Unsupported(_) => Some(libc::ENOPROTOOPT),
            Error::Interrupted => Some(libc::EINTR),
            Error::ProcFormat(_) | Error::BadAnswer { .. } => None,
            Error::Io(e) => e.raw_os_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping_round_trips() {
        for errno in [
            libc::ENOPROTOOPT,
            libc::EPERM,
            libc::ESRCH,
            libc::EINTR,
            libc::EINVAL,
            libc::EFAULT,
        ] {
            let e = Error::from_os(io::Error::from_raw_os_error(errno), 7);
            assert_eq!(e.raw_os_error(), Some(errno), "{e}");
        }
        assert!(matches!(
            Error::from_os(io::Error::from_raw_os_error(libc::ESRCH), 42),
            Error::NoSuchTask(42)
        ));
    }
}
