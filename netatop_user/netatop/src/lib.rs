//! Safe client for the `netatop` kernel module (netatop-rs or netatop 3.2.2).
//!
//! The module counts, per process and per thread, the TCP and UDP packets and
//! bytes sent and received. It answers `getsockopt(2)` calls at level `SOL_IP`
//! on any `AF_INET` socket; this crate wraps them:
//!
//! ```no_run
//! # fn main() -> Result<(), netatop::Error> {
//! let netatop = netatop::Netatop::open()?;
//! netatop.probe()?;
//! let counters = netatop.process(std::process::id() as i32)?;
//! println!("{} TCP packets sent", counters.tc.tcpsndpacks);
//! # Ok(())
//! # }
//! ```
//!
//! Reading counters needs `CAP_NET_ADMIN`; the socket itself
//! ([`Netatop::open`], a UDP socket) needs no privilege. [`ProcCounters`]
//! parses the module's global counters in `/proc/netatop`, which anyone may
//! read.
//!
//! `NETATOP_GETCNT_EXIT` blocks until a process has finished;
//! [`Netatop::next_exited_timeout`] and [`Netatop::next_exited_cancellable`]
//! (with a [`CancelToken`]) stop waiting after a time or on request, by
//! interrupting the call with a signal aimed at the waiting thread only
//! (see [`interrupt_signal`]). The module keeps a record whose read was
//! interrupted, so nothing is lost.
//!
//! netatop-rs adds four commands: [`Netatop::processes`] lists every live
//! process with its counters and cgroup in one call, [`Netatop::cgroups`]
//! every cgroup v2 with the totals of its processes (live and finished),
//! [`Netatop::cgroup`] answers for one cgroup, and [`Netatop::connections`]
//! lists every connection (TCP, and local UDP ports) with its owner, its
//! ends and its own counters ([`Connection`] is the typed view); the
//! [`cgroup`] module maps cgroup ids to paths.
//!
//! All `unsafe` code of the crate is in the private `sys` module.

mod abi;
mod cancel;
pub mod cgroup;
mod client;
mod conn;
mod error;
mod proc;
mod sys;

pub use abi::{
    CgroupCount, Command, ConnInfo, ListHeader, NetPerTask, ProcInfo, TaskCount, COMLEN,
    CONN_PEERS, NETATOP_BASE_CTL,
};
pub use cancel::CancelToken;
pub use client::{Netatop, Snapshot};
pub use conn::{Connection, Family, Protocol, TcpState};
pub use error::{Error, Result};
pub use proc::{ProcCounters, Refused, PROC_PATH};

/// The signal this crate sends to a thread to end a timed or cancelled wait
/// ([`Netatop::next_exited_timeout`], [`Netatop::next_exited_cancellable`],
/// [`Netatop::wait_exit_list_empty_timeout`]): the real-time signal
/// `SIGRTMAX - 3`.
///
/// On first use the crate installs a handler for it that does nothing,
/// without `SA_RESTART`; if the program already handles this signal, the
/// timed calls fail with `EBUSY` (an [`Error::Io`]) and leave the handler
/// alone. The signal is unblocked in the waiting thread during the wait.
pub fn interrupt_signal() -> i32 {
    sys::interrupt_signal()
}
