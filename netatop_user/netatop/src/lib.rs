//! Safe client for the `netatop` kernel module (netatop-rs or netatop 3.2.2).
//!
//! The module counts, per process and per thread, the TCP and UDP packets and
//! bytes sent and received. It answers `getsockopt(2)` calls at level `SOL_IP`
//! on a raw `AF_INET` socket; this crate wraps them:
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
//! Reading counters needs `CAP_NET_ADMIN` (and `CAP_NET_RAW` to open the
//! socket). [`ProcCounters`] parses the module's global counters in
//! `/proc/netatop`, which anyone may read.
//!
//! All `unsafe` code of the crate is in the private `sys` module.

mod abi;
mod client;
mod error;
mod proc;
mod sys;

pub use abi::{Command, NetPerTask, TaskCount, COMLEN, NETATOP_BASE_CTL};
pub use client::Netatop;
pub use error::{Error, Result};
pub use proc::{ProcCounters, PROC_PATH};
