//! Timeouts and cancellation for the module's blocking commands.
//!
//! `NETATOP_GETCNT_EXIT` and `NETATOP_EMPTY_EXIT` block in the kernel until
//! there is something to report; the only way to stop waiting is a signal,
//! which makes `getsockopt(2)` fail with `EINTR` (the module keeps the record:
//! nothing is lost). [`call_until`] runs such a call on the caller's thread
//! while a watcher thread waits for the deadline or for a [`CancelToken`];
//! when either comes first, the watcher interrupts the call with a signal
//! aimed at that thread only (the private `sys::run_interruptible`), and
//! repeats it every [`RESEND`] until the call has returned, because a signal
//! that lands just before the thread enters the kernel interrupts nothing.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::sys;

/// How often the watcher repeats the signal until the call has returned.
pub(crate) const RESEND: Duration = Duration::from_millis(10);

/// Cancels blocking calls from another thread.
///
/// Clones share one state: [`CancelToken::cancel`] on any clone makes every
/// current and future call given this token return `Ok(None)` promptly
/// (within about 10 ms). A token cannot be un-cancelled; make a new one.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    cancelled: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, bool> {
        // The flag is a plain bool: a panic elsewhere cannot corrupt it.
        self.cancelled.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl CancelToken {
    /// A new token, not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: calls waiting with this token return `Ok(None)`.
    pub fn cancel(&self) {
        *self.inner.lock() = true;
        self.inner.wake.notify_all();
    }

    /// Whether [`CancelToken::cancel`] was called on this token or a clone.
    pub fn is_cancelled(&self) -> bool {
        *self.inner.lock()
    }
}

/// Runs the blocking `call` on the current thread until it returns, the
/// `deadline` passes or `cancel` is cancelled.
///
/// Returns `Ok(Some(value))` when the call succeeded (even if the deadline
/// passed meanwhile: a record that was delivered is never dropped),
/// `Ok(None)` when the deadline or the cancellation interrupted it, or was
/// already there before the call (then `call` is not run at all), and the
/// call's error otherwise, including `EINTR` caused by some other signal.
/// A panic of `call` stops the watcher and propagates to the caller.
pub(crate) fn call_until<T>(
    call: impl FnOnce() -> io::Result<T>,
    deadline: Option<Instant>,
    cancel: Option<&CancelToken>,
) -> io::Result<Option<T>> {
    let own;
    let token = match cancel {
        Some(t) => t,
        None => {
            own = CancelToken::new();
            &own
        }
    };
    let due = |cancelled: bool| cancelled || deadline.is_some_and(|d| Instant::now() >= d);
    if due(token.is_cancelled()) {
        return Ok(None);
    }
    let shared = &*token.inner;
    // Both flags are written with the token's mutex held, so the watcher's
    // condition-variable waits never miss an update.
    let done = AtomicBool::new(false);
    let fired = AtomicBool::new(false);
    let result = sys::run_interruptible(
        || {
            // Set when the call returns or unwinds: a call that panics must
            // still stop the watcher, or the scope joining it never ends.
            let _done = Done {
                shared,
                done: &done,
            };
            call()
        },
        |interrupter| {
            let mut cancelled = shared.lock();
            while !done.load(Ordering::Relaxed) {
                if due(*cancelled) {
                    fired.store(true, Ordering::Relaxed);
                    if interrupter.interrupt().is_err() {
                        // Cannot happen for a live thread and an installed
                        // handler; give up rather than spin.
                        return;
                    }
                    cancelled = wait(shared, cancelled, RESEND);
                } else if let Some(d) = deadline {
                    let left = d.saturating_duration_since(Instant::now());
                    cancelled = wait(shared, cancelled, left);
                } else {
                    cancelled = shared
                        .wake
                        .wait(cancelled)
                        .unwrap_or_else(|e| e.into_inner());
                }
            }
        },
    )?;
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::Interrupted && fired.load(Ordering::Relaxed) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Marks the call of [`call_until`] as over when dropped, on return or on
/// unwinding: sets the flag with the token's mutex held and wakes the
/// watcher.
struct Done<'a> {
    shared: &'a Shared,
    done: &'a AtomicBool,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let _g = self.shared.lock();
        self.done.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
    }
}

fn wait<'a>(shared: &'a Shared, g: MutexGuard<'a, bool>, d: Duration) -> MutexGuard<'a, bool> {
    shared
        .wake
        .wait_timeout(g, d)
        .unwrap_or_else(|e| e.into_inner())
        .0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    fn read_one(s: &mut UnixStream) -> io::Result<u8> {
        let mut b = [0u8; 1];
        match s.read(&mut b)? {
            1 => Ok(b[0]),
            _ => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }

    fn after(ms: u64) -> Option<Instant> {
        Some(Instant::now() + Duration::from_millis(ms))
    }

    #[test]
    fn data_already_there_is_returned() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        b.write_all(&[42]).unwrap();
        assert_eq!(
            call_until(|| read_one(&mut a), after(5000), None).unwrap(),
            Some(42)
        );
    }

    #[test]
    fn data_arriving_before_the_deadline_is_returned() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            b.write_all(&[7]).unwrap();
            b
        });
        assert_eq!(
            call_until(|| read_one(&mut a), after(10_000), None).unwrap(),
            Some(7)
        );
        drop(writer.join().unwrap());
    }

    #[test]
    fn the_deadline_interrupts_and_nothing_is_lost() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let start = Instant::now();
        assert_eq!(
            call_until(|| read_one(&mut a), after(100), None).unwrap(),
            None
        );
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        // What arrives afterwards is read by the next call.
        b.write_all(&[9]).unwrap();
        assert_eq!(
            call_until(|| read_one(&mut a), after(5000), None).unwrap(),
            Some(9)
        );
    }

    #[test]
    fn a_token_cancels_from_another_thread() {
        let (mut a, _b) = UnixStream::pair().unwrap();
        let token = CancelToken::new();
        let t2 = token.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            t2.cancel();
        });
        let start = Instant::now();
        assert_eq!(
            call_until(|| read_one(&mut a), None, Some(&token)).unwrap(),
            None
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(token.is_cancelled());
        canceller.join().unwrap();
    }

    #[test]
    fn nothing_is_called_when_already_due() {
        let token = CancelToken::new();
        token.cancel();
        let called = AtomicBool::new(false);
        let call = || -> io::Result<()> {
            called.store(true, Ordering::SeqCst);
            Ok(())
        };
        assert_eq!(call_until(call, None, Some(&token)).unwrap(), None);
        let past = Some(Instant::now());
        assert_eq!(call_until(call, past, None).unwrap(), None);
        assert!(!called.load(Ordering::SeqCst));
    }

    #[test]
    fn other_errors_pass_through() {
        let r: io::Result<Option<()>> = call_until(
            || Err(io::Error::from_raw_os_error(libc::EINVAL)),
            after(1000),
            None,
        );
        assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::EINVAL));
    }

    /// Tiny timeouts race the signal against the thread entering the
    /// kernel; the resend loop must still end every call.
    #[test]
    fn tiny_timeouts_always_end() {
        let (mut a, _b) = UnixStream::pair().unwrap();
        for _ in 0..100 {
            assert_eq!(
                call_until(|| read_one(&mut a), after(1), None).unwrap(),
                None
            );
        }
    }

    /// Runs `call_until` with a call that panics with "boom" on another
    /// thread; the panic's message once it has returned (propagating the
    /// panic), or an error if it is still running after 10 s (hung).
    fn panicking_call(deadline: Option<Instant>, before: Duration) -> Result<String, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| {
                call_until(
                    || -> io::Result<()> {
                        std::thread::sleep(before);
                        panic!("boom")
                    },
                    deadline,
                    None,
                )
            });
            let _ = tx.send(r);
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Err(payload)) => Ok(payload
                .downcast_ref::<&str>()
                .map_or("(not a str)".into(), |s| (*s).to_owned())),
            Ok(Ok(r)) => Err(format!("returned {r:?} instead of panicking")),
            Err(_) => Err("hung: still running after 10 s".into()),
        }
    }

    /// A call that panics: `call_until` propagates the panic instead of
    /// waiting forever for a watcher that waits for the call to return.
    #[test]
    fn a_panicking_call_propagates_its_panic() {
        // No deadline: the watcher sleeps until the call is over.
        assert_eq!(panicking_call(None, Duration::ZERO), Ok("boom".into()));
        // A deadline that passes before the panic: the watcher is sending
        // its signal every 10 ms when the call panics.
        let deadline = after(10);
        assert_eq!(
            panicking_call(deadline, Duration::from_millis(100)),
            Ok("boom".into())
        );
    }

    #[test]
    fn one_token_serves_concurrent_calls() {
        let token = CancelToken::new();
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let t = token.clone();
                std::thread::spawn(move || {
                    let (mut a, _b) = UnixStream::pair().unwrap();
                    call_until(|| read_one(&mut a), None, Some(&t)).unwrap()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        token.cancel();
        for h in handles {
            assert_eq!(h.join().unwrap(), None);
        }
    }
}
