// SPDX-License-Identifier: GPL-2.0

//! The getsockopt commands of the netatop ABI.

use core::mem::size_of;

use kernel::prelude::*;
use kernel::transmute::AsBytes;
use kernel::uaccess::{UserPtr, UserSlice};

use crate::kernel_services::context::Process;
use crate::kernel_services::task;
use crate::snapshot::procinfo;
use crate::state::Netatop;
use crate::taskinfo::TaskKind;
use crate::uapi::{CgroupCount, Command, ConnInfo, ListHeader, NetPerTask, ProcInfo};

/// Size of the `id` field that every counter command reads first.
const ID_LEN: usize = core::mem::size_of::<i32>();

impl Netatop {
    /// Handles one getsockopt call.
    ///
    /// `len` is the kernel's copy of the caller's optlen; the kernel writes it
    /// back to user space when this returns `Ok`.
    ///
    /// Errors: `EPERM` without `CAP_NET_ADMIN` in the initial user namespace
    /// (checked first, for every command); `EINVAL` for a command outside the
    /// range or an optlen shorter than a pid (negative included); `EFAULT` for a
    /// bad buffer; `ESRCH` for an unknown process, thread or cgroup;
    /// `EINVAL` for the netatop-rs commands' buffers too short for their
    /// answer (GETCNT_CGROUP) or header (GETCNT_TASKS, GETCNT_CGROUPS,
    /// GETCNT_CONNS); `EAGAIN` when a table grew faster than a list
    /// command could capture it; `ERESTARTSYS` (EINTR for the caller) when
    /// a signal interrupts a blocking command.
    pub(crate) fn getsockopt(
        &self,
        cx: &mut Process,
        cmd: c_int,
        user: UserPtr,
        len: &mut c_int,
    ) -> Result {
        let state = self;
        if !task::capable_net_admin() {
            return Err(EPERM);
        }
        let cmd = Command::from_raw(cmd).ok_or(EINVAL)?;
        match cmd {
            Command::Probe => Ok(()),
            Command::ForceGc => state.force_gc(cx),
            Command::EmptyExit => state.exits.wait_empty(cx),
            Command::GetcntExit => {
                let n = answer_len(*len)?;
                state.exits.take(cx, state.tasks.limit(), |task| {
                    write_answer(user, &task.netpertask(), n)
                })?;
                // CAST: `n` is at most 96.
                *len = n as c_int;
                Ok(())
            }
            Command::GetcntTgid | Command::GetcntPid => {
                let n = answer_len(*len)?;
                let id = read_id(user)?;
                let kind = if cmd == Command::GetcntTgid {
                    TaskKind::Group
                } else {
                    TaskKind::Thread
                };
                let task = state.tasks.lookup(cx, id, kind).ok_or(ESRCH)?;
                state.settle(cx, &task);
                write_answer(user, &task.netpertask(), n)?;
                // CAST: `n` is at most 96.
                *len = n as c_int;
                Ok(())
            }
            Command::GetcntCgroup => {
                let n = size_of::<CgroupCount>();
                if usize::try_from(*len).map_err(|_| EINVAL)? < n {
                    return Err(EINVAL);
                }
                let mut id = [0u8; 8];
                UserSlice::new(user, id.len())
                    .reader()
                    .read_slice(&mut id)?;
                let answer = state.cgroup_count(cx, u64::from_ne_bytes(id))?;
                UserSlice::new(user, n).writer().write(&answer)?;
                *len = c_int::try_from(n).map_err(|_| EINVAL)?;
                Ok(())
            }
            Command::GetcntTasks => {
                let (tasks, overflow) = state.live_processes(cx)?;
                let entries = tasks.iter().map(|t| procinfo(t));
                write_list::<ProcInfo, _>(user, len, tasks.len(), overflow, entries)
            }
            Command::GetcntCgroups => {
                let (cgroups, overflow) = state.cgroup_list(cx)?;
                write_list::<CgroupCount, _>(user, len, cgroups.len(), overflow, cgroups.iter())
            }
            Command::GetcntConns => {
                let (conns, overflow) = state.connections(cx)?;
                write_list::<ConnInfo, _>(user, len, conns.len(), overflow, conns.iter())
            }
        }
    }
}

/// Writes a list answer: the header, then as many of the `total` entries
/// as the caller's buffer (`len` bytes) has room for; sets `len` to the
/// bytes written. `EINVAL` if not even the header fits.
fn write_list<T: AsBytes, E: core::borrow::Borrow<T>>(
    user: UserPtr,
    len: &mut c_int,
    total: usize,
    overflow: u64,
    entries: impl Iterator<Item = E>,
) -> Result {
    let avail = usize::try_from(*len).map_err(|_| EINVAL)?;
    let head = size_of::<ListHeader>();
    let room = avail.checked_sub(head).ok_or(EINVAL)? / size_of::<T>();
    let count = total.min(room);
    let bytes = head + count * size_of::<T>();
    let header = ListHeader {
        total: u32::try_from(total).map_err(|_| EOVERFLOW)?,
        count: u32::try_from(count).map_err(|_| EOVERFLOW)?,
        overflow,
    };
    let mut out = UserSlice::new(user, bytes).writer();
    out.write(&header)?;
    for e in entries.take(count) {
        out.write(e.borrow())?;
    }
    *len = c_int::try_from(bytes).map_err(|_| EINVAL)?;
    Ok(())
}

/// The number of bytes to copy each way: optlen clamped to the size of
/// `struct netpertask`. A negative optlen, or one too short for a pid, is
/// refused (the original let a negative one through as a huge unsigned).
fn answer_len(len: c_int) -> Result<usize> {
    let len = usize::try_from(len).map_err(|_| EINVAL)?;
    if len < ID_LEN {
        return Err(EINVAL);
    }
    Ok(len.min(core::mem::size_of::<NetPerTask>()))
}

/// Reads the `id` the caller asks about.
fn read_id(user: UserPtr) -> Result<i32> {
    let mut id = [0u8; ID_LEN];
    UserSlice::new(user, ID_LEN).reader().read_slice(&mut id)?;
    Ok(i32::from_ne_bytes(id))
}

/// Copies the first `n` bytes of `npt` to the caller.
fn write_answer(user: UserPtr, npt: &NetPerTask, n: usize) -> Result {
    let bytes = npt.as_bytes().get(..n).ok_or(EINVAL)?;
    UserSlice::new(user, n).writer().write_slice(bytes)
}
