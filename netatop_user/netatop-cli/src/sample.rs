//! Taking one sample of every process's (or thread's) counters.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use netatop::{NetPerTask, Netatop, ProcCounters};

use crate::error::{CliError, Result};
use crate::procfs::Proc;
use crate::record::Counters;

/// Where counters come from: the module, or a fake in tests.
pub trait CounterSource {
    /// Counters of process `tgid` (`NETATOP_GETCNT_TGID`).
    fn process(&self, tgid: i32) -> netatop::Result<NetPerTask>;
    /// Counters of thread `tid` (`NETATOP_GETCNT_PID`).
    fn thread(&self, tid: i32) -> netatop::Result<NetPerTask>;
    /// The module's global counters (`/proc/netatop`), if readable.
    fn global(&self) -> Option<ProcCounters>;
}

impl CounterSource for Netatop {
    fn process(&self, tgid: i32) -> netatop::Result<NetPerTask> {
        Netatop::process(self, tgid)
    }
    fn thread(&self, tid: i32) -> netatop::Result<NetPerTask> {
        Netatop::thread(self, tid)
    }
    fn global(&self) -> Option<ProcCounters> {
        ProcCounters::read().ok()
    }
}

/// One task in a sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSample {
    /// Process or thread id.
    pub id: i32,
    /// Start time (seconds since the epoch) as the module reports it.
    pub btime: u64,
    /// Command name as the module reports it.
    pub command: String,
    /// Counters since the task started.
    pub counters: Counters,
}

impl TaskSample {
    /// The sample of one module answer.
    pub fn from_npt(npt: &NetPerTask) -> Self {
        Self {
            id: npt.id,
            btime: npt.btime_secs(),
            command: npt.command(),
            counters: npt.tc.into(),
        }
    }
}

/// The counters of every task the module knows, at one moment.
#[derive(Clone, Debug)]
pub struct Sample {
    /// When the sample was started (for rates).
    pub at: Instant,
    /// The same moment, seconds since the epoch (for display).
    pub wall: u64,
    /// Whether the tasks are threads rather than processes.
    pub threads: bool,
    /// Tasks with counters, by ascending id.
    pub tasks: Vec<TaskSample>,
    /// `/proc/netatop` at that moment, if readable.
    pub global: Option<ProcCounters>,
}

/// Takes samples: lists `/proc` and asks `source` about every id.
pub struct Sampler<'a, S: CounterSource> {
    source: &'a S,
    proc: Proc,
}

impl<'a, S: CounterSource> Sampler<'a, S> {
    /// A sampler asking `source` about the tasks found in `proc`.
    pub fn new(source: &'a S, proc: Proc) -> Self {
        Self { source, proc }
    }

    /// One sample of every process (or, with `threads`, every thread).
    ///
    /// Tasks the module has no counters for (`ESRCH`: no traffic yet, or
    /// gone meanwhile) are left out; "module not loaded" and "permission
    /// denied" end the sampling with that error.
    pub fn sample(&self, threads: bool) -> Result<Sample> {
        let at = Instant::now();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let pids = self.proc.processes().map_err(|source| CliError::Io {
            what: "cannot list processes in /proc".into(),
            source,
        })?;
        let mut tasks = Vec::with_capacity(pids.len());
        for pid in pids {
            if threads {
                // A process that exited meanwhile simply has no threads.
                for tid in self.proc.threads(pid).unwrap_or_default() {
                    self.ask(|| self.source.thread(tid), &mut tasks)?;
                }
            } else {
                self.ask(|| self.source.process(pid), &mut tasks)?;
            }
        }
        tasks.sort_by_key(|t| t.id);
        tasks.dedup_by_key(|t| t.id);
        Ok(Sample {
            at,
            wall,
            threads,
            tasks,
            global: self.source.global(),
        })
    }

    fn ask(
        &self,
        query: impl FnOnce() -> netatop::Result<NetPerTask>,
        tasks: &mut Vec<TaskSample>,
    ) -> Result<()> {
        match query() {
            Ok(npt) => tasks.push(TaskSample::from_npt(&npt)),
            Err(netatop::Error::NoSuchTask(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::tests::npt;
    use std::collections::HashMap;

    /// A fake module: fixed answers by id; any other id is `ESRCH`.
    #[derive(Default)]
    pub(crate) struct FakeModule {
        pub(crate) processes: HashMap<i32, NetPerTask>,
        pub(crate) threads: HashMap<i32, NetPerTask>,
        pub(crate) fail: Option<fn() -> netatop::Error>,
        pub(crate) global: Option<ProcCounters>,
    }

    impl CounterSource for FakeModule {
        fn process(&self, tgid: i32) -> netatop::Result<NetPerTask> {
            if let Some(f) = self.fail {
                return Err(f());
            }
            self.processes
                .get(&tgid)
                .copied()
                .ok_or(netatop::Error::NoSuchTask(tgid))
        }
        fn thread(&self, tid: i32) -> netatop::Result<NetPerTask> {
            if let Some(f) = self.fail {
                return Err(f());
            }
            self.threads
                .get(&tid)
                .copied()
                .ok_or(netatop::Error::NoSuchTask(tid))
        }
        fn global(&self) -> Option<ProcCounters> {
            self.global.clone()
        }
    }

    fn own_pid() -> i32 {
        i32::try_from(std::process::id()).unwrap()
    }

    #[test]
    fn samples_only_tasks_with_counters_from_the_real_proc() {
        let pid = own_pid();
        let mut fake = FakeModule::default();
        fake.processes.insert(
            pid,
            npt(pid, 1_717_200_000, "me", [1, 100, 0, 0, 0, 0, 0, 0]),
        );
        // An id that is in no /proc: never asked, never sampled.
        fake.processes
            .insert(i32::MAX, npt(i32::MAX, 1, "ghost", [9; 8]));
        fake.threads
            .insert(pid, npt(pid, 1_717_200_000, "me", [2; 8]));
        let sampler = Sampler::new(&fake, Proc::default());

        let s = sampler.sample(false).unwrap();
        assert!(!s.threads);
        assert_eq!(
            s.tasks,
            [TaskSample {
                id: pid,
                btime: 1_717_200_000,
                command: "me".into(),
                counters: npt(0, 0, "", [1, 100, 0, 0, 0, 0, 0, 0]).tc.into(),
            }]
        );
        let t = sampler.sample(true).unwrap();
        assert!(t.threads);
        assert_eq!(t.tasks.len(), 1);
        assert_eq!(t.tasks[0].id, pid);
        assert_eq!(t.tasks[0].counters.to_array(), [2; 8]);
        assert!(t.global.is_none());
    }

    #[test]
    fn module_errors_end_the_sample_with_their_exit_code() {
        let fake = FakeModule {
            fail: Some(|| netatop::Error::ModuleNotLoaded),
            ..FakeModule::default()
        };
        let err = Sampler::new(&fake, Proc::default())
            .sample(false)
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_NOT_LOADED);
    }
}
