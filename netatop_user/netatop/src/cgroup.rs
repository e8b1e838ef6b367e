//! cgroup v2 helpers: the ids the module reports and the paths people use.
//!
//! The module identifies a cgroup by its cgroup v2 id, which is the inode
//! number of the cgroup's directory in the cgroup2 file system. A path here
//! is what `/proc/PID/cgroup` shows after `0::`: relative to the root of the
//! cgroup2 hierarchy and starting with `/` (`/` itself is the root cgroup),
//! e.g. `/system.slice/nginx.service`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

/// Where the mount table of the calling process is.
const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The mount point of the first `cgroup2` file system in
/// `/proc/self/mountinfo` (usually `/sys/fs/cgroup`); `NotFound` if there is
/// none (a system with cgroup v1 only).
pub fn mount_point() -> io::Result<PathBuf> {
    let text = fs::read_to_string(MOUNTINFO)?;
    parse_mountinfo(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no cgroup2 file system is mounted (see /proc/self/mountinfo)",
        )
    })
}

/// The mount point of the first `cgroup2` line of a mountinfo text.
///
/// A line is `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] -
/// FSTYPE SOURCE SUPEROPTIONS` (proc(5)); the mount point has its spaces,
/// tabs, newlines and backslashes escaped as octal (`\040`).
fn parse_mountinfo(text: &str) -> Option<PathBuf> {
    text.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split(' ').next()? != "cgroup2" {
            return None;
        }
        let mount_point = before.split(' ').nth(4)?;
        Some(PathBuf::from(unescape_octal(mount_point)))
    })
}

/// Undoes the kernel's `\ooo` escaping of mountinfo fields.
fn unescape_octal(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| {
            b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)) && d[0] <= b'3'
        });
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The directory of cgroup `path` under the hierarchy mounted at `root`;
/// `InvalidInput` for a path with `..` (which could leave the hierarchy).
fn dir_of(root: &Path, path: &str) -> io::Result<PathBuf> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a cgroup path: '{path}'"),
        ));
    }
    Ok(root.join(rel))
}

/// The cgroup v2 id of cgroup `path` (as in `/proc/PID/cgroup`: `/` is the
/// root, `/system.slice/nginx.service` a service): the inode number of its
/// directory under [`mount_point`]. `NotFound` if there is no such cgroup.
pub fn id_of(path: &str) -> io::Result<u64> {
    id_of_under(&mount_point()?, path)
}

/// Like [`id_of`], with the cgroup2 hierarchy mounted at `root`.
pub fn id_of_under(root: &Path, path: &str) -> io::Result<u64> {
    let dir = dir_of(root, path)?;
    let meta = fs::metadata(&dir)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "not a cgroup: '{path}' ({} is not a directory)",
                dir.display()
            ),
        ));
    }
    Ok(meta.ino())
}

/// The cgroup v2 path of process `pid`: the `0::` line of
/// `/proc/PID/cgroup`. `NotFound` if the process does not exist or is in
/// no cgroup v2 hierarchy.
pub fn path_of_pid(pid: i32) -> io::Result<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
    parse_proc_cgroup(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("process {pid} is in no cgroup v2 hierarchy"),
        )
    })
}

/// The path of the unified hierarchy (`0::PATH`) in a `/proc/PID/cgroup`
/// text.
fn parse_proc_cgroup(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_owned)
}

/// Every cgroup of the hierarchy at [`mount_point`], by id: the path (as in
/// `/proc/PID/cgroup`) of each directory of the tree (directories only;
/// symbolic links are not followed). One `readdir` per cgroup, no `stat`.
pub fn paths_by_id() -> io::Result<HashMap<u64, String>> {
    paths_by_id_under(&mount_point()?)
}

/// Like [`paths_by_id`], with the cgroup2 hierarchy mounted at `root`.
///
/// The ids are the inode numbers `readdir` reports (the same as `stat`'s on
/// the cgroup2 file system). Cgroups removed during the walk are skipped;
/// an error on `root` itself is returned.
pub fn paths_by_id_under(root: &Path) -> io::Result<HashMap<u64, String>> {
    let meta = fs::metadata(root)?;
    let mut paths = HashMap::new();
    paths.insert(meta.ino(), "/".to_owned());
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    let mut first = true;
    while let Some((dir, prefix)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if first => return Err(e),
            // Removed meanwhile, or not readable: its subtree is unknown.
            Err(_) => continue,
        };
        first = false;
        for entry in entries.filter_map(|e| e.ok()) {
            // The type from readdir: a symbolic link is not a directory.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name();
            let path = format!("{prefix}/{}", name.to_string_lossy());
            paths.insert(entry.ino(), path.clone());
            stack.push((entry.path(), path));
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO_SAMPLE: &str = "\
22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 22 0:6 / /sys/kernel/security rw,nosuid - securityfs securityfs rw
27 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
35 27 0:23 / /mnt/other rw - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_the_first_cgroup2_mount() {
        assert_eq!(
            parse_mountinfo(MOUNTINFO_SAMPLE),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        // cgroup v1 only: no cgroup2 line.
        let v1 = "30 22 0:25 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(parse_mountinfo(v1), None);
        assert_eq!(parse_mountinfo(""), None);
        // Optional fields before the separator, and an escaped space.
        let odd = "40 1 0:30 / /run/my\\040cgroups rw shared:9 master:2 - cgroup2 none rw\n";
        assert_eq!(parse_mountinfo(odd), Some(PathBuf::from("/run/my cgroups")));
        // A file system named like the separator's neighbour is not cgroup2.
        let tricky = "41 1 0:31 / /x rw - cgroup2fs none rw\n";
        assert_eq!(parse_mountinfo(tricky), None);
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(unescape_octal("a\\040b\\011c\\012d\\134e"), "a b\tc\nd\\e");
        assert_eq!(unescape_octal("plain"), "plain");
        assert_eq!(unescape_octal("bad\\09x\\"), "bad\\09x\\");
    }

    #[test]
    fn the_unified_line_of_proc_pid_cgroup() {
        assert_eq!(
            parse_proc_cgroup("0::/system.slice/nginx.service\n").as_deref(),
            Some("/system.slice/nginx.service")
        );
        // Hybrid: v1 controllers first, then the unified hierarchy.
        let hybrid = "12:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/x\n0::/user.slice/user-1000.slice/session-2.scope\n";
        assert_eq!(
            parse_proc_cgroup(hybrid).as_deref(),
            Some("/user.slice/user-1000.slice/session-2.scope")
        );
        assert_eq!(parse_proc_cgroup("0::/\n").as_deref(), Some("/"));
        assert_eq!(parse_proc_cgroup("3:memory:/x\n"), None);
    }

    #[test]
    fn paths_are_confined_to_the_hierarchy() {
        let root = Path::new("/sys/fs/cgroup");
        assert_eq!(dir_of(root, "/").unwrap(), PathBuf::from("/sys/fs/cgroup/"));
        assert_eq!(
            dir_of(root, "/system.slice/a.service").unwrap(),
            PathBuf::from("/sys/fs/cgroup/system.slice/a.service")
        );
        assert_eq!(
            dir_of(root, "user.slice").unwrap(),
            PathBuf::from("/sys/fs/cgroup/user.slice")
        );
        let e = dir_of(root, "/../../etc").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    /// A fake hierarchy in a temporary directory: ids are the directories'
    /// inode numbers, symbolic links and files are not cgroups.
    #[test]
    fn walks_a_tree() {
        let root = std::env::temp_dir().join(format!("netatop-cgroup-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("system.slice/a.service")).unwrap();
        fs::create_dir_all(root.join("user.slice")).unwrap();
        fs::write(root.join("system.slice/cgroup.procs"), "").unwrap();
        std::os::unix::fs::symlink(root.join("user.slice"), root.join("link")).unwrap();
        let paths = paths_by_id_under(&root).unwrap();
        let ino = |p: &str| fs::metadata(root.join(p)).unwrap().ino();
        let mut want = HashMap::new();
        want.insert(ino(""), "/".to_owned());
        want.insert(ino("system.slice"), "/system.slice".to_owned());
        want.insert(
            ino("system.slice/a.service"),
            "/system.slice/a.service".to_owned(),
        );
        want.insert(ino("user.slice"), "/user.slice".to_owned());
        assert_eq!(paths, want);
        assert_eq!(id_of_under(&root, "/").unwrap(), ino(""));
        assert_eq!(
            id_of_under(&root, "/system.slice/a.service").unwrap(),
            ino("system.slice/a.service")
        );
        assert_eq!(
            id_of_under(&root, "/nope").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            id_of_under(&root, "/system.slice/cgroup.procs")
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
        assert!(paths_by_id_under(&root.join("missing")).is_err());
        fs::remove_dir_all(&root).unwrap();
    }

    /// On a host with cgroup v2 (the usual case), this process's cgroup is
    /// in the map under its id.
    #[test]
    fn this_process_is_in_the_real_hierarchy() {
        let Ok(root) = mount_point() else {
            return; // no cgroup2 here
        };
        let pid = i32::try_from(std::process::id()).unwrap();
        let Ok(path) = path_of_pid(pid) else {
            return;
        };
        let Ok(id) = id_of(&path) else {
            return; // in a cgroup namespace whose root is not the mount's
        };
        assert_eq!(id, id_of_under(&root, &path).unwrap());
        let paths = paths_by_id().unwrap();
        assert_eq!(paths.get(&id), Some(&path));
    }
}
