//! Taking the snapshot of one scrape.

use std::collections::{HashMap, HashSet};
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
    /// The `cgroup` label of each cgroup id: its path (as in
    /// `/proc/PID/cgroup`), or the path it had for a cgroup removed since
    /// an earlier scrape (see [`stable_paths`]); an id without one has no
    /// series of its own.
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
    /// The path label of each cgroup the module counted at the last
    /// scrape, for [`stable_paths`].
    known: HashMap<u64, String>,
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
                Ok(now) => data.paths = stable_paths(now, &mut self.known, &counted_ids(&data)),
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

/// The cgroup ids a scrape has counters for: those of the cgroup list and
/// those the processes are counted for.
pub fn counted_ids(data: &ScrapeData) -> HashSet<u64> {
    let cgroups = data
        .cgroups
        .iter()
        .flat_map(|s| s.entries.iter().map(|c| c.id));
    let procs = data
        .processes
        .iter()
        .flat_map(|s| s.entries.iter().map(|p| p.cgroup));
    cgroups.chain(procs).collect()
}

/// The `cgroup` label of each cgroup id, stable for as long as the module
/// counts the cgroup: `now` (the hierarchy's paths by id) for a cgroup that
/// exists; for one removed since the last scrape that the module still
/// counts (its finished processes' totals, kept for a collection
/// interval), the path it had then (`known`), unless a cgroup that exists
/// now has that path (a service restarted: the new cgroup has the label,
/// and its counters start again from zero, which Prometheus takes for a
/// counter reset). A cgroup that appeared and went between two scrapes has
/// no label. `known` becomes the labels of the `counted` ids, for the next
/// scrape.
pub fn stable_paths(
    now: HashMap<u64, String>,
    known: &mut HashMap<u64, String>,
    counted: &HashSet<u64>,
) -> HashMap<u64, String> {
    let mut removed: Vec<u64> = counted
        .iter()
        .copied()
        .filter(|id| !now.contains_key(id) && known.contains_key(id))
        .collect();
    // Two removed cgroups with one path (restarted twice): the newer one,
    // whose id (an inode number) is the larger, keeps the label.
    removed.sort_unstable_by(|a, b| b.cmp(a));
    let mut paths = now;
    let mut taken: HashSet<String> = paths.values().cloned().collect();
    for id in removed {
        let path = &known[&id];
        if taken.insert(path.clone()) {
            paths.insert(id, path.clone());
        }
    }
    *known = counted
        .iter()
        .filter_map(|id| Some((*id, paths.get(id)?.clone())))
        .collect();
    paths
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

    fn map(pairs: &[(u64, &str)]) -> HashMap<u64, String> {
        pairs.iter().map(|&(id, p)| (id, p.to_owned())).collect()
    }

    fn ids(ids: &[u64]) -> HashSet<u64> {
        ids.iter().copied().collect()
    }

    /// A cgroup keeps its label while the module counts it, removed or not;
    /// then it has none. Labels never change.
    #[test]
    fn labels_are_stable_until_the_module_forgets_the_cgroup() {
        let mut known = HashMap::new();
        // Scrape 1: both exist.
        let p = stable_paths(
            map(&[(1, "/"), (10, "/a.service"), (11, "/b.service")]),
            &mut known,
            &ids(&[1, 10, 11]),
        );
        assert_eq!(p, map(&[(1, "/"), (10, "/a.service"), (11, "/b.service")]));
        assert_eq!(
            known,
            map(&[(1, "/"), (10, "/a.service"), (11, "/b.service")])
        );
        // Scrape 2: b.service's directory is gone, the module still counts
        // it: it keeps its path.
        let p = stable_paths(
            map(&[(1, "/"), (10, "/a.service")]),
            &mut known,
            &ids(&[1, 10, 11]),
        );
        assert_eq!(p, map(&[(1, "/"), (10, "/a.service"), (11, "/b.service")]));
        // Scrape 3: still counted, still the same label.
        let p = stable_paths(
            map(&[(1, "/"), (10, "/a.service")]),
            &mut known,
            &ids(&[1, 10, 11]),
        );
        assert_eq!(p.get(&11).map(String::as_str), Some("/b.service"));
        // Scrape 4: the module forgot it: no label (no series).
        let p = stable_paths(
            map(&[(1, "/"), (10, "/a.service")]),
            &mut known,
            &ids(&[1, 10]),
        );
        assert_eq!(p, map(&[(1, "/"), (10, "/a.service")]));
        assert_eq!(known, map(&[(1, "/"), (10, "/a.service")]));
        // Counted again later (cannot happen, ids are not reused while
        // counted; but then): it was forgotten, so no label.
        let p = stable_paths(map(&[(1, "/")]), &mut known, &ids(&[1, 11]));
        assert_eq!(p, map(&[(1, "/")]));
    }

    /// A service restarted: its new cgroup has the path now, and the old
    /// one, still counted, has no label (never two series with one label).
    #[test]
    fn a_path_taken_by_a_new_cgroup_is_not_kept_for_the_old_one() {
        let mut known = map(&[(10, "/a.service")]);
        let p = stable_paths(map(&[(12, "/a.service")]), &mut known, &ids(&[10, 12]));
        assert_eq!(p, map(&[(12, "/a.service")]));
        assert_eq!(known, map(&[(12, "/a.service")]));
        // Restarted twice between two scrapes: the newest removed one keeps
        // the label.
        let mut known = map(&[(10, "/a.service"), (13, "/a.service")]);
        let p = stable_paths(HashMap::new(), &mut known, &ids(&[10, 13]));
        assert_eq!(p, map(&[(13, "/a.service")]));
        // Appeared and went between two scrapes: never had a label.
        let mut known = HashMap::new();
        let p = stable_paths(map(&[(1, "/")]), &mut known, &ids(&[1, 99]));
        assert_eq!(p, map(&[(1, "/")]));
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
