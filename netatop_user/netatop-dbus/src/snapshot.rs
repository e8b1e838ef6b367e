//! One kernel snapshot for all the calls of a short interval.
//!
//! Any user may call the service, as often as it likes; what a call costs
//! is one list command of the module (`NETATOP_GETCNT_TASKS`: the kernel
//! copies every counted process; `NETATOP_GETCNT_CONNS`: every connection)
//! and, for a caller that does not see everything, one check of the owner
//! of each process the list names. Calls that arrive within
//! [`SHARE_INTERVAL`] of a snapshot share it, and its owner checks: however
//! many callers there are, the kernel and `/proc` are asked at most once
//! per interval and list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use netatop::ProcInfo;

use crate::access::{self, BootClock, Scope};
use crate::service::Error;

/// Calls that arrive less than this after a snapshot was taken get that
/// snapshot instead of a new one. A quarter of the one-second refresh of a
/// system monitor: the answers are that much older at most.
pub const SHARE_INTERVAL: Duration = Duration::from_millis(250);

/// An entry of a snapshot that belongs to a process, or to none.
pub trait Owned {
    /// The process the entry belongs to: its pid (tgid) and its start time
    /// (seconds since the epoch, as the module gives it); `None` for an
    /// entry of no process, which only [`Scope::All`] sees.
    fn process(&self) -> Option<(i32, u64)>;
}

impl Owned for ProcInfo {
    fn process(&self) -> Option<(i32, u64)> {
        Some((self.id, self.btime))
    }
}

/// One list answer of the module (processes, connections), with what
/// checking the owners of its entries needs, and those owners once
/// checked.
#[derive(Debug)]
pub struct Snapshot<T> {
    /// The entries, in the order they were read.
    pub entries: Vec<T>,
    /// The clocks start times are compared on.
    pub clock: BootClock,
    /// The boot-time clock (in clock ticks) just before the snapshot was
    /// taken: no process started later is in it.
    pub taken_ticks: u64,
    /// The verified owner of each entry of `entries` (same order), checked
    /// by the first caller that needs them.
    owners: OnceLock<Vec<Option<u32>>>,
}

impl<T: Owned + Clone> Snapshot<T> {
    /// Takes a snapshot of the entries `read` returns (it is called once
    /// the clock has been read, so that no process that started after the
    /// clock was read can be taken for one in the answer).
    pub fn take(read: impl FnOnce() -> Result<Vec<T>, Error>) -> Result<Self, Error> {
        let clock = BootClock::read()
            .map_err(|e| Error::Failed(format!("cannot read the boot time: {e}")))?;
        let taken_ticks = clock
            .ticks_now()
            .map_err(|e| Error::Failed(format!("cannot read the boot-time clock: {e}")))?;
        Ok(Self::new(read()?, clock, taken_ticks))
    }

    /// A snapshot of `entries`, taken when the boot-time clock said
    /// `taken_ticks`.
    pub fn new(entries: Vec<T>, clock: BootClock, taken_ticks: u64) -> Self {
        Self {
            entries,
            clock,
            taken_ticks,
            owners: OnceLock::new(),
        }
    }

    /// The real uid of the process of each entry, `None` for an entry of no
    /// process and where the live process under its pid is not the one the
    /// snapshot saw (see [`access::owner_of`]); checked once per snapshot
    /// and process (the entries of one process share the check).
    pub fn owners(&self) -> &[Option<u32>] {
        self.owners.get_or_init(|| {
            let mut checked: HashMap<(i32, u64), Option<u32>> = HashMap::new();
            self.entries
                .iter()
                .map(|e| {
                    let (pid, btime) = e.process()?;
                    *checked.entry((pid, btime)).or_insert_with(|| {
                        access::owner_of(
                            btime,
                            self.taken_ticks,
                            &self.clock,
                            access::identity(pid),
                        )
                    })
                })
                .collect()
        })
    }

    /// The entries a caller with `scope` may see (their owners are checked
    /// only for a scope that is not [`Scope::All`]).
    pub fn visible(&self, scope: Scope) -> Vec<T> {
        match scope {
            Scope::All => self.entries.clone(),
            Scope::Uid(_) => self
                .entries
                .iter()
                .zip(self.owners())
                .filter(|&(_, &owner)| scope.sees(owner))
                .map(|(e, _)| e.clone())
                .collect(),
        }
    }
}

/// The last snapshot and when it was taken, shared by the calls of the
/// [`SHARE_INTERVAL`] after it.
#[derive(Debug)]
pub struct Shared<T> {
    last: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Self {
            last: Mutex::new(None),
        }
    }
}

impl<T> Shared<T> {
    /// The snapshot for a call at `now`: the last one if it was taken less
    /// than [`SHARE_INTERVAL`] before `now`, else a new one from `take`
    /// (an error is returned and not kept). Calls that come while a
    /// snapshot is being taken wait for it and share it.
    pub fn get<E>(&self, now: Instant, take: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        // Held while taking: concurrent calls wait for this snapshot.
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, snap)) = last.as_ref() {
            if now.saturating_duration_since(*at) < SHARE_INTERVAL {
                return Ok(Arc::clone(snap));
            }
        }
        let snap = Arc::new(take()?);
        *last = Some((now, Arc::clone(&snap)));
        Ok(snap)
    }

    /// Forgets the last snapshot: the next call takes a new one.
    pub fn forget(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A `take` that counts its calls and returns the count.
    fn counting(n: &AtomicUsize) -> impl FnOnce() -> Result<usize, String> + '_ {
        move || Ok(n.fetch_add(1, Ordering::SeqCst) + 1)
    }

    #[test]
    fn calls_within_the_interval_share_one_snapshot() {
        let shared = Shared::default();
        let takes = AtomicUsize::new(0);
        let t0 = Instant::now();
        let a = shared.get(t0, counting(&takes)).unwrap();
        let b = shared
            .get(
                t0 + SHARE_INTERVAL - Duration::from_millis(1),
                counting(&takes),
            )
            .unwrap();
        assert_eq!(takes.load(Ordering::SeqCst), 1);
        assert_eq!((*a, *b), (1, 1));
        assert!(Arc::ptr_eq(&a, &b));
        // A call that computed its time before the snapshot was stored
        // (it waited for the lock): shared too.
        let early = shared.get(t0 - Duration::from_millis(5), counting(&takes));
        assert_eq!(*early.unwrap(), 1);
        // After the interval: a new snapshot, shared from then on.
        let c = shared.get(t0 + SHARE_INTERVAL, counting(&takes)).unwrap();
        assert_eq!(*c, 2);
        let d = shared
            .get(
                t0 + SHARE_INTERVAL + Duration::from_millis(100),
                counting(&takes),
            )
            .unwrap();
        assert_eq!(*d, 2);
        assert_eq!(takes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn errors_are_not_kept_and_forget_starts_over() {
        let shared: Shared<usize> = Shared::default();
        let t0 = Instant::now();
        assert_eq!(
            shared.get(t0, || Err("not loaded".to_owned())),
            Err("not loaded".to_owned())
        );
        let takes = AtomicUsize::new(0);
        assert_eq!(*shared.get(t0, counting(&takes)).unwrap(), 1);
        shared.forget();
        assert_eq!(*shared.get(t0, counting(&takes)).unwrap(), 2);
    }

    /// Calls at the same time: one of them takes the snapshot (slowly), the
    /// others wait for it and get it.
    #[test]
    fn concurrent_calls_make_one_snapshot() {
        let shared = Shared::default();
        let takes = AtomicUsize::new(0);
        let now = Instant::now();
        let got: Vec<usize> = std::thread::scope(|s| {
            let calls: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        *shared
                            .get(now, || {
                                std::thread::sleep(Duration::from_millis(50));
                                counting(&takes)()
                            })
                            .unwrap()
                    })
                })
                .collect();
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        });
        assert_eq!(got, [1; 8]);
        assert_eq!(takes.load(Ordering::SeqCst), 1);
    }

    fn proc_info(id: i32, btime: u64) -> ProcInfo {
        ProcInfo {
            id,
            btime,
            ..ProcInfo::default()
        }
    }

    /// Owners are checked once per snapshot, and only for a limited scope:
    /// this process (its real start time) is its uid's; an entry with
    /// another start time under this pid, and a pid that does not exist,
    /// are nobody's.
    #[test]
    fn visible_processes_of_a_snapshot() {
        let clock = BootClock::read().unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        let start = access::stat_start_ticks(me).unwrap();
        let btime = clock.epoch_secs(start);
        let snap = Snapshot::new(
            vec![
                proc_info(me, btime),
                proc_info(me, btime + 1),
                proc_info(i32::MAX, btime),
            ],
            clock,
            clock.ticks_now().unwrap() + 1,
        );
        assert_eq!(snap.visible(Scope::All).len(), 3);
        assert!(snap.owners.get().is_none(), "checked for Scope::All");
        // SAFETY: getuid has no arguments and cannot fail.
        let uid = unsafe { libc::getuid() };
        let mine = snap.visible(Scope::Uid(uid));
        assert_eq!(mine, [proc_info(me, btime)]);
        assert_eq!(snap.owners(), [Some(uid), None, None]);
        assert!(snap.visible(Scope::Uid(uid.wrapping_add(1))).is_empty());
    }
}
