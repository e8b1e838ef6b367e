//! The netatop client: one raw socket, one method per command.

use std::os::fd::{AsFd, OwnedFd};

use crate::abi::{Command, NetPerTask};
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
