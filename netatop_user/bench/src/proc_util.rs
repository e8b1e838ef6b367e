//! Processes, pipes and signals for the generators (thin libc wrappers).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A forked child process.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    reaped: bool,
}

impl Child {
    /// Sends `sig` to the child.
    pub fn signal(&self, sig: libc::c_int) -> Result<()> {
        // SAFETY: kill(2) with a pid we forked and have not reaped yet.
        if unsafe { libc::kill(self.pid, sig) } != 0 {
            return Err(io::Error::last_os_error()).context("kill");
        }
        Ok(())
    }

    /// Waits for the child; an error if it did not exit with status 0.
    pub fn wait(mut self) -> Result<()> {
        let status = self.reap()?;
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            Ok(())
        } else {
            bail!("child {} ended with wait status {status:#x}", self.pid)
        }
    }

    /// Kills the child and reaps it.
    pub fn kill(mut self) -> Result<()> {
        self.signal(libc::SIGKILL)?;
        self.reap().map(drop)
    }

    fn reap(&mut self) -> Result<libc::c_int> {
        let mut status = 0;
        loop {
            // SAFETY: waitpid(2) on our own child, status is a valid out pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if r == self.pid {
                self.reaped = true;
                return Ok(status);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e).context("waitpid");
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            // SAFETY: as in `signal` and `reap`; errors are ignored on this
            // cleanup path (the child may already be gone).
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// Forks; the child runs `f` and exits (status 0 if `f` succeeded), the
/// parent gets the child (and drops its copy of `f`'s captures).
///
/// Only call it while the process is single-threaded.
pub fn fork_child(f: impl FnOnce() -> Result<()>) -> Result<Child> {
    // Nothing buffered may be written twice.
    io::stdout().flush().ok();
    // SAFETY: fork(2); the callers are single-threaded, so the child may run
    // arbitrary code. The child never returns from this function.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()).context("fork"),
        0 => {
            let code = match f() {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("netatop-bench child {}: {e:#}", std::process::id());
                    1
                }
            };
            io::stdout().flush().ok();
            // SAFETY: ends the child without running the parent's exit
            // handlers or destructors.
            unsafe { libc::_exit(code) }
        }
        pid => Ok(Child { pid, reaped: false }),
    }
}

/// A pipe: read end and write end, both close-on-exec.
pub struct Pipe {
    /// Read end.
    pub r: File,
    /// Write end.
    pub w: File,
}

impl Pipe {
    /// Opens a pipe.
    pub fn new() -> Result<Self> {
        let mut fds = [0; 2];
        // SAFETY: pipe2(2) with a valid two-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error()).context("pipe2");
        }
        // SAFETY: both descriptors were just opened and are owned by nobody else.
        let (r, w) = unsafe {
            (
                File::from(OwnedFd::from_raw_fd(fds[0])),
                File::from(OwnedFd::from_raw_fd(fds[1])),
            )
        };
        Ok(Self { r, w })
    }
}

/// Writes one byte (atomic on a pipe, so many writers may share it).
pub fn post(w: &mut File) -> Result<()> {
    w.write_all(&[1]).context("write to pipe")
}

/// Reads `n` bytes, i.e. waits for `n` [`post`]s; an error if the pipe
/// reaches EOF first (every writer died) or after `timeout` (one did).
pub fn collect(r: &mut File, n: usize, timeout: Duration, what: &str) -> Result<()> {
    let mut buf = vec![0u8; n.clamp(1, 4096)];
    let mut got = 0;
    let end = Instant::now() + timeout;
    while got < n {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("{what}: only {got} of {n} processes answered within {timeout:?}");
        }
        let mut pfd = libc::pollfd {
            fd: r.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // CAST: at most `timeout` in ms, clamped to i32.
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: poll(2) on one valid pollfd.
        let r_poll = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r_poll < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context(format!("{what}: poll"));
        }
        if r_poll == 0 {
            continue;
        }
        let want = (n - got).min(buf.len());
        match r.read(&mut buf[..want]) {
            Ok(0) => bail!("{what}: only {got} of {n} processes answered (a child failed)"),
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context(format!("{what}: read from pipe")),
        }
    }
    Ok(())
}

/// A set of signals.
pub struct SigSet(libc::sigset_t);

impl SigSet {
    /// The set holding `sigs`.
    pub fn of(sigs: &[libc::c_int]) -> Self {
        // SAFETY: sigemptyset/sigaddset initialise and fill a local sigset_t.
        unsafe {
            let mut set = std::mem::zeroed::<libc::sigset_t>();
            libc::sigemptyset(&mut set);
            for &s in sigs {
                libc::sigaddset(&mut set, s);
            }
            SigSet(set)
        }
    }

    /// Blocks the set in the calling thread (children inherit the mask), so
    /// that [`SigSet::wait`] can take the signals synchronously.
    pub fn block(&self) -> Result<()> {
        // SAFETY: valid set pointer; the old mask is not needed.
        let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &self.0, std::ptr::null_mut()) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r)).context("pthread_sigmask");
        }
        Ok(())
    }

    /// Unblocks the set in the calling thread.
    pub fn unblock(&self) -> Result<()> {
        // SAFETY: valid set pointer; the old mask is not needed.
        let r = unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &self.0, std::ptr::null_mut()) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r)).context("pthread_sigmask");
        }
        Ok(())
    }

    /// Waits for one of the (blocked) signals of the set and returns it.
    pub fn wait(&self) -> Result<libc::c_int> {
        let mut sig = 0;
        // SAFETY: valid set and out pointer.
        let r = unsafe { libc::sigwait(&self.0, &mut sig) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r)).context("sigwait");
        }
        Ok(sig)
    }
}

/// Asks the kernel to send `sig` to the calling process when its parent
/// exits (so holders never outlive the benchmark).
pub fn die_with_parent(sig: libc::c_int) -> Result<()> {
    // CAST: a signal number, non-negative.
    let sig = sig as libc::c_ulong;
    // SAFETY: prctl(2) PR_SET_PDEATHSIG takes a signal number.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error()).context("prctl(PR_SET_PDEATHSIG)");
    }
    Ok(())
}

/// Pins the calling process (and the children it forks later) to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> Result<()> {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET checks the
    // bound; sched_setaffinity(2) reads the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error()).context(format!("pin to CPU {cpu}"));
        }
    }
    Ok(())
}

/// Raises the open-file limit to `n` (root may raise the hard limit too).
pub fn raise_nofile(n: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: setrlimit(2) with a valid struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error()).context(format!("setrlimit(RLIMIT_NOFILE, {n})"));
    }
    Ok(())
}
