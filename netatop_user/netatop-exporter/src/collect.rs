//! Taking the snapshot of one scrape.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netatop::{CgroupCount, Netatop, ProcCounters, ProcInfo, Snapshot};

/// Everything one scrape exports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScrapeData {
    /// Whether the module answered both list commands.
    pub up: bool,
    /// Every live process with counters (`NETATOP_GETCNT_TASKS`).
    pub processes: Option<Snapshot<ProcInfo>>,
    /// Every cgroup with counters (`NETATOP_GETCNT_CGROUPS`).
    pub cgroups: Option<Snapshot<CgroupCount>>,
    /// The global counters of `/proc/netatop`.
    pub global: Option<ProcCounters>,
    /// Cgroup paths (as in `/proc/PID/cgroup`) by cgroup id.
    pub paths: HashMap<u64, String>,
    /// How long taking the snapshot took.
    pub duration: Duration,
}

/// Where snapshots come from: the module (through [`Netatop::open`]'s UDP
/// socket: `CAP_NET_ADMIN` for the commands, nothing else), the
/// cgroup2 hierarchy and `/proc/netatop`.
#[derive(Debug, Default)]
pub struct Source {
    /// The cgroup2 mount point; `None`: found in `/proc/self/mountinfo` at
    /// each scrape.
    cgroup_root: Option<PathBuf>,
    /// The socket, opened at the first scrape and after an unexpected error.
    netatop: Option<Netatop>,
    /// The last problem logged, so that a lasting one is logged once.
    last_problem: Option<String>,
}

impl Source {
    /// A source that walks the cgroup2 hierarchy mounted at `cgroup_root`
    /// (or the first one in `/proc/self/mountinfo`).
    pub fn new(cgroup_root: Option<PathBuf>) -> Self {
        Self {
            cgroup_root,
            ..Self::default()
        }
    }

    /// Takes a snapshot. Never fails: what cannot be read is left out, and
    /// `up` says whether the module answered. Problems are logged to
    /// standard error when they start and when they end.
    pub fn collect(&mut self) -> ScrapeData {
        let start = Instant::now();
        let mut data = ScrapeData::default();
        let mut problems: Vec<String> = Vec::new();
        match self.module() {
            Ok(n) => {
                let processes = n.processes();
                let cgroups = n.cgroups();
                let mut reopen = false;
                for err in [processes.as_ref().err(), cgroups.as_ref().err()]
                    .into_iter()
                    .flatten()
                {
                    problems.push(err.to_string());
                    // "Not loaded" and "permission denied" are the state of
                    // the system; anything else: a fresh socket next time.
                    reopen |= !matches!(
                        err,
                        netatop::Error::ModuleNotLoaded | netatop::Error::PermissionDenied
                    );
                }
                if reopen {
                    self.netatop = None;
                }
                data.up = processes.is_ok() && cgroups.is_ok();
                data.processes = processes.ok();
                data.cgroups = cgroups.ok();
            }
            Err(e) => problems.push(format!("cannot open a socket: {e}")),
        }
        match ProcCounters::read() {
            Ok(c) => data.global = Some(c),
            Err(netatop::Error::ModuleNotLoaded) => {}
            Err(e) => problems.push(e.to_string()),
        }
        if data.processes.is_some() || data.cgroups.is_some() {
            match self.paths() {
                Ok(p) => data.paths = p,
                Err(e) => problems.push(format!("cannot read the cgroup2 hierarchy: {e}")),
            }
        }
        self.report(problems);
        data.duration = start.elapsed();
        data
    }

    fn module(&mut self) -> netatop::Result<&Netatop> {
        if self.netatop.is_none() {
            self.netatop = Some(Netatop::open()?);
        }
        Ok(self.netatop.as_ref().expect("opened above"))
    }

    fn paths(&self) -> std::io::Result<HashMap<u64, String>> {
        match &self.cgroup_root {
            Some(root) => netatop::cgroup::paths_by_id_under(root),
            None => netatop::cgroup::paths_by_id(),
        }
    }

    /// Logs the problems of this scrape if they differ from the last ones.
    fn report(&mut self, problems: Vec<String>) {
        let now = if problems.is_empty() {
            None
        } else {
            let mut p = problems;
            p.dedup();
            Some(p.join("; "))
        };
        if now != self.last_problem {
            match &now {
                Some(p) => eprintln!("netatop-exporter: {p}"),
                None => eprintln!("netatop-exporter: the netatop module answers"),
            }
            self.last_problem = now;
        }
    }
}

/// The indices of the `n` processes with the most bytes since they
/// started, most first (ties: lower pid first). Linear in the number of
/// processes.
pub fn top_indices(processes: &[ProcInfo], n: usize) -> Vec<usize> {
    let key = |&i: &usize| {
        let p = &processes[i];
        (std::cmp::Reverse(p.tc.total_bytes()), p.id)
    };
    if n == 0 {
        return Vec::new();
    }
    let mut all: Vec<usize> = (0..processes.len()).collect();
    if n < all.len() {
        all.select_nth_unstable_by_key(n - 1, key);
        all.truncate(n);
    }
    all.sort_unstable_by_key(key);
    all
}

/// The `n` processes with the most bytes since they started, most first
/// (see [`top_indices`]).
pub fn top_processes(processes: &[ProcInfo], n: usize) -> Vec<&ProcInfo> {
    top_indices(processes, n)
        .into_iter()
        .map(|i| &processes[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_bytes(id: i32, bytes: u64) -> ProcInfo {
        let mut p = ProcInfo {
            id,
            ..ProcInfo::default()
        };
        p.tc.udprcvbytes = bytes;
        p
    }

    #[test]
    fn top_n_by_total_bytes() {
        let ps: Vec<ProcInfo> = [(1, 10), (2, 500), (3, 70), (4, 500), (5, 0), (6, 80)]
            .iter()
            .map(|&(id, b)| proc_bytes(id, b))
            .collect();
        let ids = |v: Vec<&ProcInfo>| v.iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(top_processes(&ps, 3)), [2, 4, 6]);
        assert_eq!(ids(top_processes(&ps, 1)), [2]);
        assert_eq!(ids(top_processes(&ps, 6)), [2, 4, 6, 3, 1, 5]);
        assert_eq!(ids(top_processes(&ps, 100)), [2, 4, 6, 3, 1, 5]);
        assert!(top_processes(&ps, 0).is_empty());
        assert!(top_processes(&[], 5).is_empty());
        // Every counter of the four byte counters counts; saturating.
        let mut p = proc_bytes(9, u64::MAX);
        p.tc.tcpsndbytes = 5;
        assert_eq!(p.tc.total_bytes(), u64::MAX);
    }

    #[test]
    fn top_n_of_ten_thousand_is_fast() {
        let ps: Vec<ProcInfo> = (0..10_000)
            .map(|i| proc_bytes(i, u64::try_from(i).unwrap() * 7 % 10_007))
            .collect();
        let start = Instant::now();
        let top = top_processes(&ps, 20);
        assert!(start.elapsed() < Duration::from_millis(50));
        assert_eq!(top.len(), 20);
        assert!(top
            .windows(2)
            .all(|w| w[0].tc.total_bytes() >= w[1].tc.total_bytes()));
        let max = ps.iter().map(|p| p.tc.total_bytes()).max().unwrap();
        assert_eq!(top[0].tc.total_bytes(), max);
    }

    /// Without the module (the normal test host) a scrape still works:
    /// nothing but "down".
    #[test]
    fn a_scrape_without_the_module() {
        if std::path::Path::new(netatop::PROC_PATH).exists() {
            return;
        }
        let mut s = Source::new(None);
        for _ in 0..2 {
            let d = s.collect();
            assert!(!d.up);
            assert_eq!(d.processes, None);
            assert_eq!(d.cgroups, None);
            assert_eq!(d.global, None);
        }
        assert!(s.last_problem.as_deref().unwrap().contains("not loaded"));
    }
}
