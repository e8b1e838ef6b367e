//! Every `unsafe` line of netatopd: SysV semaphores, the shared mapping of
//! the log header, `fstatvfs`, signal handlers, `nanosleep`, daemonising
//! and syslog.
//!
//! Audit notes: each wrapper passes the kernel or libc only pointers to live
//! locals (or to the mapping this module owns) together with their exact
//! sizes, and turns `-1` into [`io::Error::last_os_error`]. The signal
//! handlers only touch atomics and call `alarm(2)`, which is
//! async-signal-safe.

#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ffi::{c_int, c_ushort, c_void, CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

fn check(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

// ---------------------------------------------------------------------------
// Identity and priority

/// The effective user id of the process.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// `nice(inc)`; the kernel clamps the result to -20..19. Best effort.
pub fn nice(inc: i32) -> io::Result<()> {
    // nice(2) may legitimately return -1, so errno decides.
    // SAFETY: errno is thread-local; writing it is always allowed.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: plain system call with an integer argument.
    let rc = unsafe { libc::nice(inc) };
    let err = io::Error::last_os_error();
    if rc == -1 && err.raw_os_error() != Some(0) {
        return Err(err);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// SysV semaphores

/// `IPC_PRIVATE`: a key that always creates a new, unnamed set.
pub const IPC_PRIVATE: i32 = libc::IPC_PRIVATE;

/// The fourth argument of `semctl(2)` (`union semun`, which the caller
/// must define).
#[repr(C)]
#[derive(Clone, Copy)]
union Semun {
    val: c_int,
    buf: *mut libc::semid_ds,
    array: *mut c_ushort,
}

/// `semget(key, nsems, flags)`: the identifier of a semaphore set.
pub fn semget(key: i32, nsems: i32, flags: i32) -> io::Result<i32> {
    // SAFETY: plain system call with integer arguments.
    check(unsafe { libc::semget(key, nsems, flags) })
}

/// `semctl(id, num, GETVAL)`: the value of semaphore `num`.
pub fn sem_getval(id: i32, num: i32) -> io::Result<i32> {
    // SAFETY: GETVAL reads no fourth argument.
    check(unsafe { libc::semctl(id, num, libc::GETVAL) })
}

/// `semctl(id, num, SETVAL, val)`.
#[cfg(test)]
pub fn sem_setval(id: i32, num: i32, val: i32) -> io::Result<()> {
    let arg = Semun { val };
    // SAFETY: SETVAL reads the `val` member of the union passed by value.
    check(unsafe { libc::semctl(id, num, libc::SETVAL, arg) }).map(drop)
}

/// `semctl(id, 0, SETALL, values)`: sets every semaphore of the set at
/// once; `values` must have one entry per semaphore.
pub fn sem_setall(id: i32, values: &mut [c_ushort]) -> io::Result<()> {
    let (_, nsems) = sem_stat(id)?;
    if values.len() != nsems as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let arg = Semun {
        array: values.as_mut_ptr(),
    };
    // SAFETY: SETALL reads exactly `sem_nsems` values from `array`, and
    // `values` was just checked to hold that many.
    check(unsafe { libc::semctl(id, 0, libc::SETALL, arg) }).map(drop)
}

/// `semctl(id, 0, IPC_STAT)`: the permission bits and the number of
/// semaphores of the set.
pub fn sem_stat(id: i32) -> io::Result<(u32, u64)> {
    // SAFETY: semid_ds is plain old data; all zeroes is a valid value.
    let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
    let arg = Semun {
        buf: std::ptr::from_mut(&mut ds),
    };
    // SAFETY: IPC_STAT writes one semid_ds through `buf`, which points to
    // the live local `ds`.
    check(unsafe { libc::semctl(id, 0, libc::IPC_STAT, arg) })?;
    // CAST: sem_nsems is an unsigned long (or narrower) on every Linux ABI.
    #[allow(clippy::unnecessary_cast)]
    Ok((u32::from(ds.sem_perm.mode) & 0o777, ds.sem_nsems as u64))
}

/// `semctl(id, 0, IPC_RMID)`: removes the set.
pub fn sem_remove(id: i32) -> io::Result<()> {
    // SAFETY: IPC_RMID reads no fourth argument.
    check(unsafe { libc::semctl(id, 0, libc::IPC_RMID) }).map(drop)
}

/// One operation of [`semop`]: `(semaphore, delta, flags)`; flags are
/// `IPC_NOWAIT` and `SEM_UNDO`.
pub type SemOp = (u16, i16, i16);

/// `semop(id, ops)`: performs all operations atomically, or none.
pub fn semop(id: i32, ops: &[SemOp]) -> io::Result<()> {
    let mut bufs: Vec<libc::sembuf> = ops
        .iter()
        .map(|&(sem_num, sem_op, sem_flg)| libc::sembuf {
            sem_num,
            sem_op,
            sem_flg,
        })
        .collect();
    // SAFETY: `bufs` is a live array of exactly `bufs.len()` sembufs.
    check(unsafe { libc::semop(id, bufs.as_mut_ptr(), bufs.len()) }).map(drop)
}

// ---------------------------------------------------------------------------
// The shared mapping of the log header

/// A shared mapping of the first `len` bytes of a file, through which
/// 32-bit fields are read and written atomically.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<c_void>,
    len: usize,
}

impl Mapping {
    /// Maps the first `len` bytes of `file` (`MAP_SHARED`; `PROT_READ`, plus
    /// `PROT_WRITE` when `writable`). The file must be at least `len` long.
    pub fn new(file: &File, len: usize, writable: bool) -> io::Result<Self> {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a new mapping chosen by the kernel (null hint), of a file
        // descriptor that is open for the duration of the call; nothing is
        // overwritten.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr).ok_or_else(|| io::Error::from_raw_os_error(libc::EFAULT))?;
        Ok(Self { ptr, len })
    }

    fn field(&self, offset: usize) -> &AtomicU32 {
        assert!(
            offset % 4 == 0 && offset + 4 <= self.len,
            "field {offset} out of the mapping"
        );
        // SAFETY: the mapping is page aligned and `offset` is a multiple of
        // 4 inside it, so the pointer is valid and aligned for a u32 while
        // `self` lives; other processes access the page only with aligned
        // 32-bit loads and stores, which an AtomicU32 tolerates.
        unsafe {
            &*self
                .ptr
                .as_ptr()
                .cast::<u8>()
                .add(offset)
                .cast::<AtomicU32>()
        }
    }

    /// Reads the native-endian u32 at `offset` (a multiple of 4).
    pub fn load_u32(&self, offset: usize) -> u32 {
        self.field(offset).load(Ordering::Acquire)
    }

    /// Writes the native-endian u32 at `offset` (a multiple of 4). Panics on
    /// a read-only mapping (the store would fault).
    pub fn store_u32(&self, offset: usize, value: u32) {
        self.field(offset).store(value, Ordering::Release);
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned and nothing
        // borrowed from the mapping outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr(), self.len) };
    }
}

// ---------------------------------------------------------------------------
// Free space

/// `fstatvfs(fd)`: the free blocks (`f_bfree`, root's reserve included) and
/// total blocks (`f_blocks`) of the filesystem holding `file`.
pub fn fstatvfs(file: &File) -> io::Result<(u64, u64)> {
    // SAFETY: statvfs is plain old data; all zeroes is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live local the call fills in.
    check(unsafe { libc::fstatvfs(file.as_raw_fd(), &mut st) })?;
    // CAST: fsblkcnt_t is an unsigned integer of at most 64 bits.
    #[allow(clippy::unnecessary_cast)]
    Ok((st.f_bfree as u64, st.f_blocks as u64))
}

// ---------------------------------------------------------------------------
// Signals

static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_hangup(_sig: c_int) {
    // Nothing: its only purpose is to interrupt the blocking getsockopt.
}

extern "C" fn on_terminate(sig: c_int) {
    STOP_SIGNAL.store(sig, Ordering::SeqCst);
    STOP.store(true, Ordering::SeqCst);
    // Interrupt again in a second, in case the signal came just before the
    // main loop entered a blocking call.
    // SAFETY: alarm(2) is async-signal-safe.
    unsafe { libc::alarm(1) };
}

extern "C" fn on_alarm(_sig: c_int) {
    if STOP.load(Ordering::SeqCst) {
        // SAFETY: alarm(2) is async-signal-safe.
        unsafe { libc::alarm(1) };
    }
}

fn set_handler(sig: c_int, handler: extern "C" fn(c_int)) -> io::Result<()> {
    // SAFETY: sigaction is plain old data; all zeroes is a valid value.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler as usize;
    // No SA_RESTART: the signal must interrupt the blocking getsockopt.
    sa.sa_flags = 0;
    // SAFETY: `sa.sa_mask` is a live sigset_t.
    unsafe { libc::sigemptyset(&mut sa.sa_mask) };
    // SAFETY: `sa` is a fully initialised sigaction; the handler is an
    // `extern "C"` function that only touches atomics and calls alarm(2).
    check(unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) }).map(drop)
}

/// Installs the handlers, all without `SA_RESTART` so that they interrupt
/// a blocking `getsockopt` (it fails with `EINTR`): SIGHUP does nothing
/// else (atop sends it when it signs off); SIGTERM and SIGINT request the
/// stop ([`stop_signal`]) and re-interrupt every second through SIGALRM
/// until the process exits.
pub fn install_signal_handlers() -> io::Result<()> {
    set_handler(libc::SIGHUP, on_hangup)?;
    set_handler(libc::SIGALRM, on_alarm)?;
    set_handler(libc::SIGTERM, on_terminate)?;
    set_handler(libc::SIGINT, on_terminate)
}

/// The signal that requested the stop (SIGTERM or SIGINT), if one did.
pub fn stop_signal() -> Option<i32> {
    STOP.load(Ordering::SeqCst)
        .then(|| STOP_SIGNAL.load(Ordering::SeqCst))
}

/// Whether the handler of `sig` was installed with `SA_RESTART`.
#[cfg(test)]
pub fn handler_restarts(sig: i32) -> io::Result<bool> {
    // SAFETY: sigaction is plain old data; all zeroes is a valid value.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `old` is a live local.
    check(unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) })?;
    Ok(old.sa_flags & libc::SA_RESTART != 0)
}

/// Forgets a stop request and cancels the re-arming alarm.
#[cfg(test)]
pub fn reset_stop() {
    STOP.store(false, Ordering::SeqCst);
    // SAFETY: alarm(2) with 0 only cancels a pending alarm.
    unsafe { libc::alarm(0) };
}

/// Sends `sig` to the calling thread (`raise(3)`).
#[cfg(test)]
pub fn raise(sig: i32) -> io::Result<()> {
    // SAFETY: plain library call with an integer argument.
    check(unsafe { libc::raise(sig) }).map(drop)
}

/// Sleeps for `d` unless a signal arrives first (unlike
/// [`std::thread::sleep`], which resumes after a signal).
pub fn sleep_interruptible(d: Duration) {
    let ts = libc::timespec {
        // CAST: a few seconds fit in time_t.
        tv_sec: d.as_secs() as libc::time_t,
        // CAST: below 10^9, fits in a long.
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `ts` is a live local; the remaining time is not wanted.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

// ---------------------------------------------------------------------------
// Daemonising

fn fork_and_leave_parent() -> io::Result<()> {
    // SAFETY: netatopd is single-threaded when it daemonises, so the child
    // may run any code; the parent leaves at once with _exit, without
    // running destructors or flushing buffers twice.
    match check(unsafe { libc::fork() })? {
        0 => Ok(()),
        // SAFETY: _exit never returns and is always safe to call.
        _ => unsafe { libc::_exit(0) },
    }
}

/// Detaches from the terminal: fork, setsid, fork, `chdir("/")`,
/// `umask(022)`, standard input, output and error to `/dev/null`. Must be
/// called while the process is single-threaded.
pub fn daemonize() -> io::Result<()> {
    use std::io::Write;
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    fork_and_leave_parent()?;
    // SAFETY: plain system call; the child of a fork is never a group leader.
    check(unsafe { libc::setsid() })?;
    fork_and_leave_parent()?;
    std::env::set_current_dir("/")?;
    // SAFETY: plain system call with an integer argument.
    unsafe { libc::umask(0o022) };
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors, which this process
        // owns; `null` stays open across the calls.
        check(unsafe { libc::dup2(null.as_raw_fd(), fd) })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// syslog

static SYSLOG_IDENT: &CStr = c"netatopd";

/// `openlog("netatopd", LOG_PID, LOG_DAEMON)`.
pub fn openlog() {
    // SAFETY: the identity string is static, as openlog requires.
    unsafe { libc::openlog(SYSLOG_IDENT.as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
}

/// `syslog(priority, "%s", message)`.
pub fn syslog(priority: i32, message: &str) {
    let msg = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: a constant "%s" format with one NUL-terminated string argument.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), msg.as_ptr()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_reads_and_writes_the_file() {
        let path = std::env::temp_dir().join(format!("netatopd-sys-{}", std::process::id()));
        std::fs::write(&path, [0u8; 16]).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let map = Mapping::new(&file, 16, true).unwrap();
        map.store_u32(4, 0x0102_0304);
        let ro = Mapping::new(&File::open(&path).unwrap(), 16, false).unwrap();
        assert_eq!(ro.load_u32(4), 0x0102_0304);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[4..8], &0x0102_0304u32.to_ne_bytes());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn fstatvfs_reports_blocks() {
        let (bfree, blocks) = fstatvfs(&File::open("/").unwrap()).unwrap();
        assert!(blocks > 0 && bfree <= blocks, "{bfree}/{blocks}");
    }
}
