// SPDX-License-Identifier: GPL-2.0

//! The user ABI shared with atop: command numbers (see `include/netatop.h`).

use kernel::prelude::*;

/// The module's version, as printed in `/proc/netatop` ("modversion") and by
/// modinfo (`NETATOP_RS_VERSION` in `netatop_glue.h`; a guest test checks that
/// both agree).
pub(crate) const VERSION: &str = "0.1.0";

/// First getsockopt command number (`NETATOP_BASE_CTL`).
const NETATOP_BASE_CTL: c_int = 15661;

/// A getsockopt command of the netatop ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `NETATOP_PROBE`: is the module loaded?
    Probe,
    /// `NETATOP_FORCE_GC`: run the garbage collector now.
    ForceGc,
    /// `NETATOP_EMPTY_EXIT`: wait until the exit list is empty.
    EmptyExit,
    /// `NETATOP_GETCNT_EXIT`: take the oldest finished process.
    GetcntExit,
    /// `NETATOP_GETCNT_TGID`: counters of a process.
    GetcntTgid,
    /// `NETATOP_GETCNT_PID`: counters of a thread.
    GetcntPid,
}

impl Command {
    /// Decodes a getsockopt option name; `None` outside the netatop range.
    pub(crate) fn from_raw(cmd: c_int) -> Option<Self> {
        Some(match cmd.checked_sub(NETATOP_BASE_CTL)? {
            0 => Self::Probe,
            1 => Self::ForceGc,
            2 => Self::EmptyExit,
            3 => Self::GetcntExit,
            4 => Self::GetcntTgid,
            5 => Self::GetcntPid,
            _ => return None,
        })
    }
}
