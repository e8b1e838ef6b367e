//! The netatop client: one raw socket, one method per command.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::abi::{Command, NetPerTask};
use crate::cancel::{call_until, CancelToken};
use crate::error::{Error, Result};
use crate::sys;

/// A connection to the netatop module (a raw `AF_INET` socket).
#[derive(Debug)]
pub struct Netatop {
    sock: OwnedFd,
}

impl Netatop {
    /// Opens the socket the commands are issued on. Needs `CAP_NET_RAW`;
    /// succeeds whether or not the module is loaded (see [`Netatop::probe`]).
    pub fn open() -> Result<Self> {
        let sock = sys::raw_socket().map_err(|e| Error::from_os(e, 0))?;
        Ok(Self { sock })
    }

    /// Wraps an already opened raw `AF_INET` socket (e.g. one opened before
    /// dropping privileges).
    pub fn from_socket(sock: OwnedFd) -> Self {
        Self { sock }
    }

    /// Checks that the module is loaded and that the caller may use it.
    pub fn probe(&self) -> Result<()> {
        self.simple(Command::Probe)
    }

    /// Runs the module's garbage collector now: finished processes move to
    /// the exit list.
    pub fn force_gc(&self) -> Result<()> {
        self.simple(Command::ForceGc)
    }

    /// Blocks until the exit list is empty (a signal gives [`Error::Interrupted`]).
    pub fn wait_exit_list_empty(&self) -> Result<()> {
        self.simple(Command::EmptyExit)
    }

    /// Takes the oldest finished process off the exit list, blocking until
    /// there is one (a signal gives [`Error::Interrupted`]).
    pub fn next_exited(&self) -> Result<NetPerTask> {
        self.counters(Command::GetcntExit, 0)
    }

    /// Like [`Netatop::next_exited`], but gives up after `timeout`:
    /// `Ok(None)` when no process finished in time.
    ///
    /// The wait is ended by a signal sent to the calling thread only
    /// ([`interrupt_signal`](crate::interrupt_signal), whose no-op handler is
    /// installed on first use); an interrupted `NETATOP_GETCNT_EXIT` leaves
    /// the record on the module's list, so nothing is lost. A zero timeout
    /// returns `Ok(None)` without asking the module. Another signal
    /// interrupting the wait gives [`Error::Interrupted`], as
    /// [`Netatop::next_exited`] does.
    pub fn next_exited_timeout(&self, timeout: Duration) -> Result<Option<NetPerTask>> {
        self.next_exited_until(deadline(timeout), None)
    }

    /// Like [`Netatop::next_exited`], but returns `Ok(None)` as soon as
    /// `cancel` is cancelled (from any thread) or `timeout`, if given, has
    /// passed; see [`Netatop::next_exited_timeout`].
    pub fn next_exited_cancellable(
        &self,
        cancel: &CancelToken,
        timeout: Option<Duration>,
    ) -> Result<Option<NetPerTask>> {
        self.next_exited_until(timeout.and_then(deadline), Some(cancel))
    }

    /// Like [`Netatop::wait_exit_list_empty`], but gives up after `timeout`:
    /// `Ok(true)` when the list became empty, `Ok(false)` on timeout.
    pub fn wait_exit_list_empty_timeout(&self, timeout: Duration) -> Result<bool> {
        let cmd = Command::EmptyExit.raw();
        let done = call_until(
            || sys::getsockopt_none(self.sock.as_fd(), cmd),
            deadline(timeout),
            None,
        )
        .map_err(|e| Error::from_os(e, 0))?;
        Ok(done.is_some())
    }

    fn next_exited_until(
        &self,
        deadline: Option<Instant>,
        cancel: Option<&CancelToken>,
    ) -> Result<Option<NetPerTask>> {
        let cmd = Command::GetcntExit.raw();
        let got = call_until(
            || sys::getsockopt_npt(self.sock.as_fd(), cmd, 0),
            deadline,
            cancel,
        )
        .map_err(|e| Error::from_os(e, 0))?;
        Ok(got.map(|(npt, _len)| npt))
    }

    /// Counters of process `tgid`.
    pub fn process(&self, tgid: i32) -> Result<NetPerTask> {
        self.counters(Command::GetcntTgid, tgid)
    }

    /// Counters of thread `tid`.
    pub fn thread(&self, tid: i32) -> Result<NetPerTask> {
        self.counters(Command::GetcntPid, tid)
    }

    fn simple(&self, cmd: Command) -> Result<()> {
        sys::getsockopt_none(self.sock.as_fd(), cmd.raw()).map_err(|e| Error::from_os(e, 0))
    }

    fn counters(&self, cmd: Command, id: i32) -> Result<NetPerTask> {
        let (npt, _len) = sys::getsockopt_npt(self.sock.as_fd(), cmd.raw(), id)
            .map_err(|e| Error::from_os(e, id))?;
        Ok(npt)
    }
}

/// The instant `timeout` from now; `None` (wait forever) if that is not
/// representable.
fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a host without the module (the normal test host), the timed calls
    /// report "not loaded" at once instead of blocking or timing out.
    #[test]
    fn timed_calls_without_the_module_fail_fast() {
        if std::path::Path::new(crate::PROC_PATH).exists() {
            return; // the module is loaded here: covered by the guest tests
        }
        let n = match Netatop::open() {
            Ok(n) => n,
            Err(e) => {
                assert!(matches!(e, Error::PermissionDenied), "{e:?}");
                return; // not root: cannot open the raw socket
            }
        };
        let start = Instant::now();
        let r = n.next_exited_timeout(Duration::from_secs(30));
        assert!(matches!(r, Err(Error::ModuleNotLoaded)), "{r:?}");
        let r = n.next_exited_cancellable(&CancelToken::new(), None);
        assert!(matches!(r, Err(Error::ModuleNotLoaded)), "{r:?}");
        let r = n.wait_exit_list_empty_timeout(Duration::from_secs(30));
        assert!(matches!(r, Err(Error::ModuleNotLoaded)), "{r:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn zero_timeout_asks_nothing() {
        // A socket that is not a raw AF_INET one would fail any getsockopt
        // with an error: a zero timeout must not even try.
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let n = Netatop::from_socket(OwnedFd::from(a));
        assert!(matches!(n.next_exited_timeout(Duration::ZERO), Ok(None)));
        assert!(matches!(
            n.wait_exit_list_empty_timeout(Duration::ZERO),
            Ok(false)
        ));
        let t = CancelToken::new();
        t.cancel();
        assert!(matches!(n.next_exited_cancellable(&t, None), Ok(None)));
    }
}
