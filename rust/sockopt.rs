// SPDX-License-Identifier: GPL-2.0

//! The getsockopt commands of the netatop ABI.

use kernel::prelude::*;
use kernel::uaccess::UserPtr;

use crate::glue;
use crate::state::Netatop;
use crate::uapi::Command;

/// Handles one getsockopt call.
///
/// `len` is the kernel's copy of the caller's optlen; the kernel writes it
/// back to user space when this returns `Ok`.
///
/// Errors: `EPERM` without `CAP_NET_ADMIN` in the initial user namespace
/// (checked first, for every command); `EINVAL` for a command outside the
/// range or an optlen too short for a pid; `EOPNOTSUPP` for commands this
/// version does not implement yet.
pub(crate) fn getsockopt(_state: &Netatop, cmd: c_int, _user: UserPtr, len: &mut c_int) -> Result {
    if !glue::capable_net_admin() {
        return Err(EPERM);
    }
    let cmd = Command::from_raw(cmd).ok_or(EINVAL)?;
    match cmd {
        Command::Probe => Ok(()),
        Command::ForceGc | Command::EmptyExit => Err(EOPNOTSUPP),
        Command::GetcntExit | Command::GetcntTgid | Command::GetcntPid => {
            // A negative optlen is refused too (the original let it through
            // as a huge unsigned value).
            if *len < 4 {
                return Err(EINVAL);
            }
            Err(EOPNOTSUPP)
        }
    }
}
