//! Taking one sample of every process's (or thread's) counters.
//!
//! Processes come from one `NETATOP_GETCNT_TASKS` call per sample; with a
//! module without it (netatop 3.2.2), and for threads, every id listed in
//! `/proc` is asked about (`NETATOP_GETCNT_TGID`, `NETATOP_GETCNT_PID`).

use std::cell::Cell;
use std::collections::HashMap;
use std::io;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use netatop::{
    CgroupCount, ConnInfo, NetPerTask, Netatop, ProcCounters, ProcInfo, Snapshot, TaskCount,
};

use crate::error::{CliError, Result};
use crate::procfs::Proc;

/// Where counters come from: the module, or a fake in tests.
pub trait CounterSource {
    /// Counters of process `tgid` (`NETATOP_GETCNT_TGID`).
    fn process(&self, tgid: i32) -> netatop::Result<NetPerTask>;
    /// Counters of thread `tid` (`NETATOP_GETCNT_PID`).
    fn thread(&self, tid: i32) -> netatop::Result<NetPerTask>;
    /// The module's global counters (`/proc/netatop`), if readable.
    fn global(&self) -> Option<ProcCounters>;
    /// Every live process with counters (`NETATOP_GETCNT_TASKS`).
    fn tasks(&self) -> netatop::Result<Snapshot<ProcInfo>>;
    /// Every cgroup with counters (`NETATOP_GETCNT_CGROUPS`).
    fn cgroups(&self) -> netatop::Result<Snapshot<CgroupCount>>;
    /// Counters of one cgroup (`NETATOP_GETCNT_CGROUP`).
    fn cgroup(&self, id: u64) -> netatop::Result<CgroupCount>;
    /// The path of every cgroup, by id (the cgroup2 hierarchy).
    fn cgroup_paths(&self) -> io::Result<HashMap<u64, String>>;
    /// Every connection (`NETATOP_GETCNT_CONNS`).
    fn connections(&self) -> netatop::Result<Snapshot<ConnInfo>>;
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
    fn tasks(&self) -> netatop::Result<Snapshot<ProcInfo>> {
        Netatop::processes(self)
    }
    fn cgroups(&self) -> netatop::Result<Snapshot<CgroupCount>> {
        Netatop::cgroups(self)
    }
    fn cgroup(&self, id: u64) -> netatop::Result<CgroupCount> {
        Netatop::cgroup(self, id)
    }
    fn cgroup_paths(&self) -> io::Result<HashMap<u64, String>> {
        netatop::cgroup::paths_by_id()
    }
    fn connections(&self) -> netatop::Result<Snapshot<ConnInfo>> {
        Netatop::connections(self)
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
    pub counters: TaskCount,
}

impl TaskSample {
    /// The sample of one module answer.
    pub fn from_npt(npt: &NetPerTask) -> Self {
        Self {
            id: npt.id,
            btime: npt.btime_secs(),
            command: npt.command(),
            counters: npt.tc,
        }
    }

    /// The sample of one entry of `NETATOP_GETCNT_TASKS`.
    pub fn from_proc_info(p: &ProcInfo) -> Self {
        Self {
            id: p.id,
            btime: p.btime,
            command: p.command(),
            counters: p.tc,
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

/// Takes samples: one `NETATOP_GETCNT_TASKS` call for processes, or lists
/// `/proc` and asks `source` about every id.
pub struct Sampler<'a, S: CounterSource> {
    source: &'a S,
    proc: Proc,
    /// Whether `NETATOP_GETCNT_TASKS` may work (false once the module said
    /// it does not have it).
    bulk: Cell<bool>,
}

impl<'a, S: CounterSource> Sampler<'a, S> {
    /// A sampler asking `source` about the tasks found in `proc`.
    pub fn new(source: &'a S, proc: Proc) -> Self {
        Self {
            source,
            proc,
            bulk: Cell::new(true),
        }
    }

    /// The module's process list, or `None` when it has no
    /// `NETATOP_GETCNT_TASKS` (then every process is asked about).
    fn bulk_processes(&self) -> Result<Option<Vec<TaskSample>>> {
        if !self.bulk.get() {
            return Ok(None);
        }
        match self.source.tasks() {
            Ok(snap) => Ok(Some(
                snap.entries
                    .iter()
                    .map(TaskSample::from_proc_info)
                    .collect(),
            )),
            Err(netatop::Error::Unsupported(_)) => {
                self.bulk.set(false);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One sample of every process (or, with `threads`, every thread).
    ///
    /// Tasks the module has no counters for (`ESRCH`: no traffic yet, or
    /// gone meanwhile) are left out; "module not loaded" and "permission
    /// denied" end the sampling with that error.
    pub fn sample(&self, threads: bool) -> Result<Sample> {
        let at = Instant::now();
        let wall = now_secs();
        if !threads {
            if let Some(mut tasks) = self.bulk_processes()? {
                tasks.sort_by_key(|t| t.id);
                tasks.dedup_by_key(|t| t.id);
                return Ok(Sample {
                    at,
                    wall,
                    threads,
                    tasks,
                    global: self.source.global(),
                });
            }
        }
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

/// The time now, seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::tests::npt;
    use std::collections::HashMap;

    /// A fake module: fixed answers by id; any other id is `ESRCH`.
    /// Without `tasks`, it has no `NETATOP_GETCNT_TASKS` (netatop 3.2.2).
    #[derive(Default)]
    pub(crate) struct FakeModule {
        pub(crate) processes: HashMap<i32, NetPerTask>,
        pub(crate) threads: HashMap<i32, NetPerTask>,
        pub(crate) fail: Option<fn() -> netatop::Error>,
        pub(crate) global: Option<ProcCounters>,
        pub(crate) tasks: Option<Snapshot<ProcInfo>>,
        pub(crate) tasks_calls: Cell<usize>,
        pub(crate) cgroups: Vec<CgroupCount>,
        pub(crate) cgroup_overflow: u64,
        pub(crate) paths: HashMap<u64, String>,
        /// Without it, the module has no `NETATOP_GETCNT_CONNS`.
        pub(crate) conns: Option<Snapshot<ConnInfo>>,
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
        fn tasks(&self) -> netatop::Result<Snapshot<ProcInfo>> {
            if let Some(f) = self.fail {
                return Err(f());
            }
            self.tasks_calls.set(self.tasks_calls.get() + 1);
            self.tasks
                .clone()
                .ok_or(netatop::Error::Unsupported("NETATOP_GETCNT_TASKS"))
        }
        fn cgroups(&self) -> netatop::Result<Snapshot<CgroupCount>> {
            if let Some(f) = self.fail {
                return Err(f());
            }
            Ok(Snapshot {
                total: u32::try_from(self.cgroups.len()).unwrap(),
                overflow: self.cgroup_overflow,
                entries: self.cgroups.clone(),
            })
        }
        fn cgroup(&self, id: u64) -> netatop::Result<CgroupCount> {
            if let Some(f) = self.fail {
                return Err(f());
            }
            self.cgroups
                .iter()
                .find(|c| c.id == id)
                .copied()
                .ok_or(netatop::Error::NoSuchCgroup(id))
        }
        fn cgroup_paths(&self) -> io::Result<HashMap<u64, String>> {
            Ok(self.paths.clone())
        }
        fn connections(&self) -> netatop::Result<Snapshot<ConnInfo>> {
            if let Some(f) = self.fail {
                return Err(f());
            }
            self.conns
                .clone()
                .ok_or(netatop::Error::Unsupported("NETATOP_GETCNT_CONNS"))
        }
    }

    /// An entry of `NETATOP_GETCNT_TASKS` for tests.
    pub(crate) fn proc_info(id: i32, btime: u64, command: &str, tc: [u64; 8]) -> ProcInfo {
        let n = npt(id, btime, command, tc);
        ProcInfo {
            id,
            btime,
            command: n.command,
            cgroup: 1,
            tc: n.tc,
            ..ProcInfo::default()
        }
    }

    #[test]
    fn one_tasks_call_per_process_sample() {
        // The ghost is in no /proc, but the module lists it: it is sampled.
        let mut fake = FakeModule {
            tasks: Some(Snapshot {
                total: 2,
                overflow: 0,
                entries: vec![
                    proc_info(i32::MAX, 9, "ghost", [9; 8]),
                    proc_info(1, 5, "init", [1, 100, 0, 0, 0, 0, 0, 0]),
                ],
            }),
            ..FakeModule::default()
        };
        // Never asked: the list has everything.
        fake.processes.insert(1, npt(1, 5, "wrong", [7; 8]));
        let sampler = Sampler::new(&fake, Proc::new("/nonexistent"));
        let s = sampler.sample(false).unwrap();
        assert_eq!(fake.tasks_calls.get(), 1);
        assert_eq!(
            s.tasks,
            [
                TaskSample {
                    id: 1,
                    btime: 5,
                    command: "init".into(),
                    counters: npt(0, 0, "", [1, 100, 0, 0, 0, 0, 0, 0]).tc,
                },
                TaskSample {
                    id: i32::MAX,
                    btime: 9,
                    command: "ghost".into(),
                    counters: npt(0, 0, "", [9; 8]).tc,
                },
            ]
        );
        // Threads still come from /proc (here: none).
        assert!(sampler.sample(true).unwrap().tasks.is_empty());
        assert_eq!(fake.tasks_calls.get(), 1);
    }

    #[test]
    fn a_module_without_the_tasks_command_is_asked_per_process() {
        let pid = own_pid();
        let mut fake = FakeModule::default();
        fake.processes.insert(pid, npt(pid, 5, "me", [1; 8]));
        let sampler = Sampler::new(&fake, Proc::default());
        for _ in 0..2 {
            let s = sampler.sample(false).unwrap();
            assert_eq!(s.tasks.len(), 1);
            assert_eq!(s.tasks[0].command, "me");
        }
        // Asked once, then no more.
        assert_eq!(fake.tasks_calls.get(), 1);
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
                counters: npt(0, 0, "", [1, 100, 0, 0, 0, 0, 0, 0]).tc,
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
