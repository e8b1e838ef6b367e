//! The crate's only `unsafe` code: the socket and `getsockopt(2)` calls.
//!
//! Audit notes: every call passes either a null pointer with length 0, or a
//! pointer to a live, exclusively borrowed buffer together with that buffer's
//! exact size; the kernel never writes more than the length passed.
//! `NetPerTask` is plain old data (integers and byte arrays, explicit
//! padding), so any bytes the kernel writes form a valid value.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::abi::NetPerTask;

/// Opens `socket(AF_INET, SOCK_RAW, IPPROTO_RAW)`, as atop and netatopd do.
pub(crate) fn raw_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain system call with constant arguments.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `getsockopt(fd, SOL_IP, cmd, NULL, &0)`: a command without data.
pub(crate) fn getsockopt_none(fd: BorrowedFd<'_>, cmd: i32) -> io::Result<()> {
    let mut len: libc::socklen_t = 0;
    // SAFETY: a null buffer with length 0; `len` is a live local.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_IP,
            cmd,
            std::ptr::null_mut(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getsockopt(fd, SOL_IP, cmd, buf, &len)` with `buf` a whole [`NetPerTask`]
/// whose `id` is the input; returns the answer and the length written back.
pub(crate) fn getsockopt_npt(
    fd: BorrowedFd<'_>,
    cmd: i32,
    id: i32,
) -> io::Result<(NetPerTask, usize)> {
    let mut npt = NetPerTask {
        id,
        ..NetPerTask::default()
    };
    // CAST: 96 fits in socklen_t.
    let mut len = size_of::<NetPerTask>() as libc::socklen_t;
    // SAFETY: `npt` is a live, exclusively borrowed buffer of exactly `len`
    // bytes; it is plain old data, so any bytes written leave it valid.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_IP,
            cmd,
            std::ptr::from_mut(&mut npt).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((npt, len as usize))
}
