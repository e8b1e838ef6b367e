//! Finding processes and threads in `/proc`.
//!
//! `netatop top` asks the module about every process (or thread) it finds
//! here; the module itself has no "list all" command. Every function takes
//! the proc root so tests can use a fake tree.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The usual proc root.
pub const PROC_ROOT: &str = "/proc";

/// A view of a proc file system mounted at `root`.
#[derive(Clone, Debug)]
pub struct Proc {
    root: PathBuf,
}

impl Default for Proc {
    fn default() -> Self {
        Self::new(PROC_ROOT)
    }
}

/// The ids named by the numeric entries of `dir`, ascending; a missing
/// directory (a process that just exited) gives none.
fn numeric_entries(dir: &Path) -> io::Result<Vec<i32>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut ids: Vec<i32> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&id| id > 0)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

impl Proc {
    /// A proc file system at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, id: i32, file: &str) -> PathBuf {
        self.root.join(id.to_string()).join(file)
    }

    /// Every process (thread group) id, ascending.
    pub fn processes(&self) -> io::Result<Vec<i32>> {
        numeric_entries(&self.root)
    }

    /// The thread ids of process `pid`, ascending (none if it is gone).
    pub fn threads(&self, pid: i32) -> io::Result<Vec<i32>> {
        numeric_entries(&self.path(pid, "task"))
    }

    /// Whether a process or thread `id` exists (threads are reachable as
    /// `/proc/TID` although they are not listed).
    pub fn exists(&self, id: i32) -> bool {
        self.root.join(id.to_string()).exists()
    }

    /// The process that task `id` belongs to (`Tgid:` of its status file).
    pub fn tgid(&self, id: i32) -> Option<i32> {
        let status = fs::read_to_string(self.path(id, "status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Tgid:"))
            .and_then(|v| v.trim().parse().ok())
    }

    /// The command name (`comm`) of task `id`.
    pub fn comm(&self, id: i32) -> Option<String> {
        let comm = fs::read_to_string(self.path(id, "comm")).ok()?;
        Some(comm.trim_end_matches('\n').to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn own_pid() -> i32 {
        i32::try_from(std::process::id()).unwrap()
    }

    /// The calling thread's id, from the `/proc/thread-self` link
    /// (`PID/task/TID`).
    fn own_tid() -> i32 {
        let link = fs::read_link("/proc/thread-self").unwrap();
        link.file_name().unwrap().to_str().unwrap().parse().unwrap()
    }

    #[test]
    fn finds_this_process_and_its_threads() {
        let proc = Proc::default();
        let pid = own_pid();
        assert!(proc.processes().unwrap().contains(&pid));
        assert!(proc.processes().unwrap().windows(2).all(|w| w[0] < w[1]));

        let (tid_tx, tid_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tid_tx.send(own_tid()).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = tid_rx.recv().unwrap();
        let threads = proc.threads(pid).unwrap();
        assert!(threads.contains(&pid), "{threads:?}");
        assert!(threads.contains(&tid), "{threads:?}");
        // Threads are not processes, but /proc/TID exists and names its group.
        assert!(!proc.processes().unwrap().contains(&tid));
        assert!(proc.exists(tid));
        assert_eq!(proc.tgid(tid), Some(pid));
        assert_eq!(proc.tgid(pid), Some(pid));
        stop_tx.send(()).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn reads_the_command_name() {
        let proc = Proc::default();
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_str().unwrap();
        let expected: String = name.chars().take(15).collect();
        assert_eq!(proc.comm(own_pid()).as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn missing_ids_are_reported_as_missing() {
        let proc = Proc::default();
        // Above pid_max (at most 2^22), so never a live process.
        let ghost = i32::MAX;
        assert!(!proc.exists(ghost));
        assert_eq!(proc.tgid(ghost), None);
        assert_eq!(proc.comm(ghost), None);
        assert_eq!(proc.threads(ghost).unwrap(), Vec::<i32>::new());
    }

    #[test]
    fn a_fake_tree_lists_only_positive_numeric_entries() {
        let root = std::env::temp_dir().join(format!("netatop-cli-proc-{}", own_pid()));
        let _ = fs::remove_dir_all(&root);
        for dir in [
            "1",
            "42",
            "7",
            "self",
            "0",
            "-3",
            "007x",
            "42/task/42",
            "42/task/43",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("sys"), "not a dir").unwrap();
        fs::write(root.join("42/comm"), "worker\n").unwrap();
        fs::write(
            root.join("42/status"),
            "Name:\tworker\nTgid:\t42\nPid:\t42\n",
        )
        .unwrap();
        let proc = Proc::new(&root);
        assert_eq!(proc.processes().unwrap(), [1, 7, 42]);
        assert_eq!(proc.threads(42).unwrap(), [42, 43]);
        assert_eq!(proc.threads(7).unwrap(), Vec::<i32>::new());
        assert_eq!(proc.comm(42).as_deref(), Some("worker"));
        assert_eq!(proc.tgid(42), Some(42));
        assert_eq!(proc.tgid(7), None);
        fs::remove_dir_all(&root).unwrap();
    }
}
