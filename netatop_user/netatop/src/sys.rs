//! The crate's only `unsafe` code: the socket and `getsockopt(2)` calls.
//!
//! Audit notes:
//! - every `getsockopt` passes either a null pointer with length 0, or a
//!   pointer to a live, exclusively borrowed buffer together with that
//!   buffer's exact size; the kernel never writes more than the length
//!   passed. `NetPerTask` is plain old data (integers and byte arrays,
//!   explicit padding), so any bytes the kernel writes form a valid value;
//!   the other answers are read into byte buffers and decoded by safe code
//!   (`abi::Decode`);
//! - signals ([`run_interruptible`]): the handler does nothing (it is
//!   async-signal-safe trivially), and `pthread_kill` only ever targets a
//!   thread that is provably alive: the thread that is running
//!   [`run_interruptible`], which joins the only holder of the
//!   [`Interrupter`] before it returns.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use crate::abi::NetPerTask;

/// Opens `socket(AF_INET, SOCK_DGRAM, 0)`: a UDP socket, which needs no
/// privilege; `getsockopt` at level `SOL_IP` reaches the module's commands
/// through it as through a raw socket (netfilter's option ranges are per
/// address family, not per socket type).
pub(crate) fn udp_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain system call with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `getsockopt(fd, SOL_IP, cmd, buf, &len)` with `len` the whole length of
/// `buf` (whose first bytes may carry the command's input); returns the
/// length the kernel wrote back. `EINVAL` without a call if `buf` is longer
/// than an `int` can say.
pub(crate) fn getsockopt_bytes(fd: BorrowedFd<'_>, cmd: i32, buf: &mut [u8]) -> io::Result<usize> {
    let Ok(len) = i32::try_from(buf.len()) else {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    // CAST: non-negative i32 to socklen_t (u32), lossless.
    let mut len = len as libc::socklen_t;
    // SAFETY: `buf` is a live, exclusively borrowed buffer of exactly `len`
    // bytes; any bytes written leave a byte slice valid.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_IP,
            cmd,
            buf.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(len as usize)
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

/// The signal that interrupts a blocked call: `SIGRTMAX - 3` (61 with glibc
/// on Linux), a real-time signal that no common library uses.
pub(crate) fn interrupt_signal() -> libc::c_int {
    libc::SIGRTMAX() - 3
}

/// The handler of [`interrupt_signal`]: it does nothing. Its only effect is
/// that a blocking system call of the receiving thread returns `EINTR`
/// (it is installed without `SA_RESTART`).
extern "C" fn interrupt_handler(_signal: libc::c_int) {}

/// Installs [`interrupt_handler`] for [`interrupt_signal`], once per process.
///
/// Fails with `EBUSY` if the program already handles that signal itself
/// (its handler is left alone), and with the `sigaction(2)` error if the
/// call fails. The outcome of the first call is returned to every caller.
pub(crate) fn install_interrupt_handler() -> io::Result<()> {
    static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
    let outcome = INSTALLED.get_or_init(|| {
        let sig = interrupt_signal();
        let ours = interrupt_handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
        let mut old = MaybeUninit::<libc::sigaction>::zeroed();
        // SAFETY: a null new action only queries; `old` is a live, writable
        // sigaction (all-zero is a valid bit pattern for it).
        if unsafe { libc::sigaction(sig, std::ptr::null(), old.as_mut_ptr()) } < 0 {
            return Err(last_errno());
        }
        // SAFETY: initialised by the successful sigaction above.
        let old = unsafe { old.assume_init() };
        if ![libc::SIG_DFL, libc::SIG_IGN, ours].contains(&old.sa_sigaction) {
            return Err(libc::EBUSY);
        }
        // SAFETY: all-zero is a valid sigaction (empty mask, no flags).
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = ours;
        // No SA_RESTART: the blocked call must return EINTR. No SA_SIGINFO:
        // the handler has the one-argument signature.
        act.sa_flags = 0;
        // SAFETY: `act.sa_mask` is a live sigset_t.
        unsafe { libc::sigemptyset(&mut act.sa_mask) };
        // SAFETY: `act` is fully initialised; the handler is a valid
        // `extern "C" fn(c_int)` that lives for the whole program and does
        // nothing, so it is async-signal-safe.
        if unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) } < 0 {
            return Err(last_errno());
        }
        Ok(())
    });
    outcome.map_err(io::Error::from_raw_os_error)
}

fn last_errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EINVAL)
}

/// Unblocks [`interrupt_signal`] in the current thread; when dropped,
/// discards any instance of it still pending (sent just before the call
/// returned, not delivered yet), so that none interrupts a later system
/// call of the thread, and restores the thread's previous signal mask.
struct UnblockGuard {
    set: libc::sigset_t,
    old: libc::sigset_t,
}

impl UnblockGuard {
    fn new(sig: libc::c_int) -> io::Result<Self> {
        // SAFETY: all-zero is a valid sigset_t; both are live locals.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a live sigset_t; `sig` is a valid signal number.
        unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
        }
        // SAFETY: both pointers are live sigset_t values.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, &mut old) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(Self { set, old })
    }
}

impl Drop for UnblockGuard {
    fn drop(&mut self) {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `self.set` and `self.old` are valid sigset_t values made
        // by `new`; `zero` is a live timespec; a null siginfo pointer is
        // allowed. Blocking the signal first makes the drain race-free.
        unsafe {
            libc::pthread_sigmask(libc::SIG_BLOCK, &self.set, std::ptr::null_mut());
            // Zero timeout: returns the signal while one is pending, then
            // -1 (EAGAIN).
            while libc::sigtimedwait(&self.set, std::ptr::null_mut(), &zero) > 0 {}
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}

/// Sends [`interrupt_signal`] to the thread running [`run_interruptible`].
///
/// Only [`run_interruptible`] creates one, and only lends it (`&Interrupter`)
/// to its watcher thread for the duration of the call: the target thread is
/// alive whenever [`Interrupter::interrupt`] can be called.
#[derive(Debug)]
pub(crate) struct Interrupter {
    thread: libc::pthread_t,
    signal: libc::c_int,
}

impl Interrupter {
    /// Interrupts the target thread's blocking system call, if it is in one
    /// (else the no-op handler runs and nothing else happens).
    pub(crate) fn interrupt(&self) -> io::Result<()> {
        // SAFETY: `self.thread` is alive (see the type's invariant) and
        // `self.signal` has a handler installed.
        let rc = unsafe { libc::pthread_kill(self.thread, self.signal) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(())
    }
}

/// Runs `call` on the current thread while `watch` runs on a helper thread
/// with an [`Interrupter`] aimed at the current thread; returns `call`'s
/// result once both have returned.
///
/// The no-op handler of [`interrupt_signal`] is installed first (see
/// [`install_interrupt_handler`]) and the signal is unblocked in the current
/// thread for the duration of the call. `watch` must return soon after
/// `call` has (the caller arranges that, e.g. with a condition variable).
pub(crate) fn run_interruptible<R>(
    call: impl FnOnce() -> R,
    watch: impl FnOnce(&Interrupter) + Send,
) -> io::Result<R> {
    install_interrupt_handler()?;
    let signal = interrupt_signal();
    let _unblocked = UnblockGuard::new(signal)?;
    let interrupter = Interrupter {
        // SAFETY: pthread_self has no preconditions.
        thread: unsafe { libc::pthread_self() },
        signal,
    };
    std::thread::scope(|s| {
        let interrupter = &interrupter;
        std::thread::Builder::new()
            .name("netatop-interrupt".into())
            .spawn_scoped(s, move || watch(interrupter))?;
        // The scope joins the watcher before it returns, i.e. before this
        // thread can finish: the Interrupter never outlives its target.
        Ok(call())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    fn sockopt_int(fd: &OwnedFd, opt: libc::c_int) -> libc::c_int {
        let mut v: libc::c_int = -1;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `v` is a live c_int and `len` its size.
        let rc = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                std::ptr::from_mut(&mut v).cast::<libc::c_void>(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        v
    }

    /// The socket of `Netatop::open`: AF_INET, SOCK_DGRAM, close-on-exec.
    #[test]
    fn the_socket_is_an_inet_datagram_socket() {
        let fd = udp_socket().unwrap();
        assert_eq!(sockopt_int(&fd, libc::SO_DOMAIN), libc::AF_INET);
        assert_eq!(sockopt_int(&fd, libc::SO_TYPE), libc::SOCK_DGRAM);
        assert_eq!(sockopt_int(&fd, libc::SO_PROTOCOL), libc::IPPROTO_UDP);
        // SAFETY: F_GETFD on a live descriptor.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    }

    #[test]
    fn interrupt_signal_is_a_realtime_signal() {
        let sig = interrupt_signal();
        assert!(sig >= libc::SIGRTMIN() && sig <= libc::SIGRTMAX(), "{sig}");
        assert_eq!(sig, libc::SIGRTMAX() - 3);
    }

    #[test]
    fn handler_installs_once_and_is_ours_without_sa_restart() {
        install_interrupt_handler().unwrap();
        install_interrupt_handler().unwrap();
        let mut cur = MaybeUninit::<libc::sigaction>::zeroed();
        // SAFETY: query only, into a live buffer.
        let rc = unsafe { libc::sigaction(interrupt_signal(), std::ptr::null(), cur.as_mut_ptr()) };
        assert_eq!(rc, 0);
        // SAFETY: initialised by the successful call.
        let cur = unsafe { cur.assume_init() };
        let ours = interrupt_handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
        assert_eq!(cur.sa_sigaction, ours);
        assert_eq!(cur.sa_flags & libc::SA_RESTART, 0);
    }

    #[test]
    fn the_signal_interrupts_a_blocking_read_with_eintr() {
        let (mut a, _b) = UnixStream::pair().unwrap();
        let done = AtomicBool::new(false);
        let r = run_interruptible(
            || {
                let r = a.read(&mut [0u8; 8]);
                done.store(true, Ordering::SeqCst);
                r
            },
            |int| {
                // A signal that lands before the read has started is a
                // no-op, so keep signalling until the read has returned.
                while !done.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                    int.interrupt().unwrap();
                }
            },
        )
        .unwrap();
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::Interrupted);
    }

    #[test]
    fn a_call_that_completes_is_not_disturbed() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"hi").unwrap();
        let mut buf = [0u8; 8];
        let n = run_interruptible(|| a.read(&mut buf), |_| {})
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"hi");
    }

    fn sigset_of(sig: libc::c_int) -> libc::sigset_t {
        // SAFETY: all-zero is a valid sigset_t; live local; valid signal.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            set
        }
    }

    fn is_pending(sig: libc::c_int) -> bool {
        // SAFETY: all-zero is a valid sigset_t; live local.
        unsafe {
            let mut pending: libc::sigset_t = std::mem::zeroed();
            assert_eq!(libc::sigpending(&mut pending), 0);
            libc::sigismember(&pending, sig) == 1
        }
    }

    /// Instances of the signal sent while the call was returning (not
    /// delivered yet) are discarded, not left pending for a thread that
    /// blocks the signal (where they would surface whenever it unblocks
    /// it).
    #[test]
    fn no_signal_is_left_pending() {
        let sig = interrupt_signal();
        let set = sigset_of(sig);
        // SAFETY: a valid sigset_t.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        let blocked = std::sync::Barrier::new(2);
        let sent = std::sync::Barrier::new(2);
        run_interruptible(
            || {
                // The race window, made wide: the call is over (signal
                // blocked again) while the watcher still signals.
                // SAFETY: a valid sigset_t.
                unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
                blocked.wait();
                sent.wait();
                assert!(is_pending(sig), "the test did not create the race");
            },
            |int| {
                blocked.wait();
                for _ in 0..3 {
                    int.interrupt().unwrap();
                }
                sent.wait();
            },
        )
        .unwrap();
        assert!(!is_pending(sig));
        // SAFETY: a valid sigset_t.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }

    #[test]
    fn the_signal_mask_is_restored() {
        // Block the signal in this thread, run a call, check it is blocked again.
        let sig = interrupt_signal();
        // SAFETY: all-zero sigset_t is valid; live locals.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut cur: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: live sigset_t values, valid signal number.
        unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            assert_eq!(
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
                0
            );
        }
        run_interruptible(|| (), |_| {}).unwrap();
        // SAFETY: live sigset_t values.
        unsafe {
            assert_eq!(
                libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut cur),
                0
            );
            assert_eq!(libc::sigismember(&cur, sig), 1);
            assert_eq!(
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()),
                0
            );
        }
    }
}
