//! Who sees what: a caller sees the processes whose real uid is its own;
//! root and the members of the admin group see every process.
//!
//! The caller's uid and groups come from the bus (`GetConnectionCredentials`);
//! the admin group is looked up in `/etc/group` (by name, on every call, so
//! that a change applies at once), and a process's real uid in
//! `/proc/PID/status`. Nothing here blocks on anything but these reads.

use std::fs;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the bus says about a caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Its uid (`UnixUserID`).
    pub uid: u32,
    /// Its groups (`UnixGroupIDs`: primary and supplementary), when the bus
    /// reports them (dbus-daemon does since 1.12 on Linux).
    pub groups: Option<Vec<u32>>,
}

/// The processes a caller may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every process (root, or a member of the admin group).
    All,
    /// The processes whose real uid is this one.
    Uid(u32),
}

impl Scope {
    /// Whether a process whose real uid is `owner` (`None`: unknown, e.g.
    /// the process has exited meanwhile) is visible.
    pub fn sees(self, owner: Option<u32>) -> bool {
        match self {
            Scope::All => true,
            Scope::Uid(uid) => owner == Some(uid),
        }
    }
}

/// The entries of `items` a caller with `scope` may see: `owner` gives the
/// real uid of an entry's process (called only when the scope is a uid).
pub fn filter_visible<T>(
    items: Vec<T>,
    scope: Scope,
    mut owner: impl FnMut(&T) -> Option<u32>,
) -> Vec<T> {
    match scope {
        Scope::All => items,
        Scope::Uid(_) => items
            .into_iter()
            .filter(|item| scope.sees(owner(item)))
            .collect(),
    }
}

/// A group of `/etc/group`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Its gid.
    pub gid: u32,
    /// The user names listed as its members (supplementary members; users
    /// whose primary group it is are not listed there).
    pub members: Vec<String>,
}

/// Group `name` in a `/etc/group` text (`name:password:gid:member,member`).
pub fn parse_group(text: &str, name: &str) -> Option<Group> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let gid = f.nth(1)?.trim().parse().ok()?;
        let members = f
            .next()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        Some(Group { gid, members })
    })
}

/// A user of `/etc/passwd`: its name and primary gid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Primary gid.
    pub gid: u32,
}

/// The user whose uid is `uid` in a `/etc/passwd` text
/// (`name:password:uid:gid:gecos:home:shell`).
pub fn parse_passwd(text: &str, uid: u32) -> Option<User> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || f[2].trim().parse::<u32>().ok()? != uid {
            return None;
        }
        Some(User {
            name: f[0].to_owned(),
            gid: f[3].trim().parse().ok()?,
        })
    })
}

/// Whether `caller` is an administrator: uid 0, or a member of `admin`.
///
/// Membership: the group's gid among the caller's groups as the bus
/// reports them; when the bus does not report groups, `user` (the caller's
/// `/etc/passwd` entry) has it as primary group or is listed as a member.
pub fn is_admin(caller: &Caller, admin: Option<&Group>, user: Option<&User>) -> bool {
    if caller.uid == 0 {
        return true;
    }
    let Some(group) = admin else {
        return false;
    };
    match &caller.groups {
        Some(groups) => groups.contains(&group.gid),
        None => user.is_some_and(|u| u.gid == group.gid || group.members.contains(&u.name)),
    }
}

/// The scope of `caller`, with administrators in `admin_group` (a group
/// name; empty: none). Reads `/etc/group`, and `/etc/passwd` only when the
/// bus did not report the caller's groups.
pub fn scope_of(caller: &Caller, admin_group: &str) -> Scope {
    if caller.uid == 0 {
        return Scope::All;
    }
    let admin = (!admin_group.is_empty())
        .then(|| fs::read_to_string("/etc/group").ok())
        .flatten()
        .and_then(|text| parse_group(&text, admin_group));
    let user = if admin.is_some() && caller.groups.is_none() {
        fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|text| parse_passwd(&text, caller.uid))
    } else {
        None
    };
    if is_admin(caller, admin.as_ref(), user.as_ref()) {
        Scope::All
    } else {
        Scope::Uid(caller.uid)
    }
}

/// The real uid (first field of the `Uid:` line) in a `/proc/PID/status`
/// text.
pub fn parse_status_uid(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
}

/// The real uid of process `pid`; `None` if the process does not exist
/// (any more). Asks the kernel through a pidfd (`PIDFD_GET_INFO`, Linux
/// 6.13 and later: two system calls), else reads `/proc/PID/status` (about
/// ten times slower: the kernel formats the whole file).
pub fn real_uid(pid: i32) -> Option<u32> {
    static NO_PIDFD_INFO: AtomicBool = AtomicBool::new(false);
    if !NO_PIDFD_INFO.load(Ordering::Relaxed) {
        match pidfd::real_uid(pid) {
            Ok(uid) => return Some(uid),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return None,
            // Not supported by this kernel: ENOSYS (no pidfd_open),
            // ENOTTY or EINVAL (no PIDFD_GET_INFO).
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS | libc::ENOTTY | libc::EINVAL)
                ) =>
            {
                NO_PIDFD_INFO.store(true, Ordering::Relaxed);
            }
            Err(_) => {}
        }
    }
    status_real_uid(pid)
}

/// The real uid of process `pid` from `/proc/PID/status`.
pub fn status_real_uid(pid: i32) -> Option<u32> {
    let mut file = fs::File::open(format!("/proc/{pid}/status")).ok()?;
    // The Uid line is among the first ten; one read of 4 KiB gets the
    // whole file on current kernels, and more is read only if needed.
    let mut buf = Vec::with_capacity(4096);
    file.by_ref().take(4096).read_to_end(&mut buf).ok()?;
    if let Some(uid) = parse_status_uid(&String::from_utf8_lossy(&buf)) {
        return Some(uid);
    }
    file.read_to_end(&mut buf).ok()?;
    parse_status_uid(&String::from_utf8_lossy(&buf))
}

/// `PIDFD_GET_INFO` (`linux/pidfd.h`): a process's credentials through a
/// pidfd.
mod pidfd {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// `struct pidfd_info` as of Linux 6.13 (`PIDFD_INFO_SIZE_VER0`, 64
    /// bytes); a newer kernel fills what this size has room for.
    #[repr(C)]
    #[derive(Default)]
    struct PidfdInfo {
        mask: u64,
        cgroupid: u64,
        pid: u32,
        tgid: u32,
        ppid: u32,
        ruid: u32,
        rgid: u32,
        euid: u32,
        egid: u32,
        suid: u32,
        sgid: u32,
        fsuid: u32,
        fsgid: u32,
        spare0: u32,
    }

    const _: () = assert!(size_of::<PidfdInfo>() == 64);

    /// `PIDFD_INFO_CREDS`.
    const INFO_CREDS: u64 = 1 << 1;
    /// `PIDFD_GET_INFO` = `_IOWR(0xFF, 11, struct pidfd_info)`.
    const GET_INFO: libc::c_ulong =
        (3 << 30) | ((size_of::<PidfdInfo>() as libc::c_ulong) << 16) | (0xFF << 8) | 11;

    /// The real uid of process `pid` (`ESRCH`: no such process).
    pub(super) fn real_uid(pid: i32) -> io::Result<u32> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new
        // descriptor or -1; no memory is passed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: the descriptor was just opened and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut info = PidfdInfo {
            mask: INFO_CREDS,
            ..PidfdInfo::default()
        };
        // SAFETY: GET_INFO's size is that of `info`, which the kernel
        // writes at most that many bytes of; `info` outlives the call.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), GET_INFO as _, &mut info as *mut PidfdInfo) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        if info.mask & INFO_CREDS == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        Ok(info.ruid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "\
root:x:0:
adm:x:4:syslog,alice
netdev:x:108:alice, bob
nogroup:x:65534:
staff:x:50:
";

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
carol:x:1002:108::/home/carol:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

    fn caller(uid: u32, groups: Option<&[u32]>) -> Caller {
        Caller {
            uid,
            groups: groups.map(<[u32]>::to_vec),
        }
    }

    /// The pure filter over (pid, uid) pairs: a user sees exactly its own
    /// processes, root (scope All) every one, an unknown owner nobody but
    /// an administrator.
    #[test]
    fn a_user_sees_only_its_own_processes() {
        let procs: Vec<(i32, Option<u32>)> = vec![
            (1, Some(0)),
            (100, Some(1000)),
            (101, Some(1001)),
            (102, Some(1000)),
            (103, None),
            (104, Some(65534)),
        ];
        let pids = |scope| -> Vec<i32> {
            filter_visible(procs.clone(), scope, |p| p.1)
                .into_iter()
                .map(|p| p.0)
                .collect()
        };
        assert_eq!(pids(Scope::Uid(1000)), [100, 102]);
        assert_eq!(pids(Scope::Uid(1001)), [101]);
        assert_eq!(pids(Scope::Uid(65534)), [104]);
        assert_eq!(pids(Scope::Uid(0)), [1]);
        assert_eq!(pids(Scope::Uid(4242)), Vec::<i32>::new());
        assert_eq!(pids(Scope::All), [1, 100, 101, 102, 103, 104]);
    }

    /// Scope All never looks the owners up (no /proc reads for root).
    #[test]
    fn scope_all_reads_no_owner() {
        let items = vec![1, 2, 3];
        let got = filter_visible(items, Scope::All, |_| panic!("looked up"));
        assert_eq!(got, [1, 2, 3]);
    }

    #[test]
    fn groups_and_users_parse() {
        assert_eq!(
            parse_group(GROUP, "netdev"),
            Some(Group {
                gid: 108,
                members: vec!["alice".into(), "bob".into()]
            })
        );
        assert_eq!(
            parse_group(GROUP, "staff"),
            Some(Group {
                gid: 50,
                members: vec![]
            })
        );
        assert_eq!(parse_group(GROUP, "net"), None);
        assert_eq!(parse_group("broken\nnetdev:x:abc:\n", "netdev"), None);
        assert_eq!(
            parse_passwd(PASSWD, 1000),
            Some(User {
                name: "alice".into(),
                gid: 1000
            })
        );
        assert_eq!(parse_passwd(PASSWD, 1001), None);
        assert_eq!(parse_passwd("x\n::\n", 0), None);
    }

    #[test]
    fn who_is_an_administrator() {
        let netdev = parse_group(GROUP, "netdev").unwrap();
        let alice = parse_passwd(PASSWD, 1000).unwrap();
        let carol = parse_passwd(PASSWD, 1002).unwrap();
        let nobody = parse_passwd(PASSWD, 65534).unwrap();
        // Root, whatever the group.
        assert!(is_admin(&caller(0, None), None, None));
        // The bus's groups decide when it reports them.
        assert!(is_admin(
            &caller(1000, Some(&[1000, 108])),
            Some(&netdev),
            None
        ));
        assert!(!is_admin(
            &caller(1000, Some(&[1000, 24])),
            Some(&netdev),
            Some(&alice)
        ));
        // Else /etc/group's member list, or the primary group.
        assert!(is_admin(&caller(1000, None), Some(&netdev), Some(&alice)));
        assert!(is_admin(&caller(1002, None), Some(&netdev), Some(&carol)));
        assert!(!is_admin(
            &caller(65534, None),
            Some(&netdev),
            Some(&nobody)
        ));
        assert!(!is_admin(&caller(1000, None), Some(&netdev), None));
        // No such group: nobody but root.
        assert!(!is_admin(&caller(1000, Some(&[108])), None, Some(&alice)));
    }

    #[test]
    fn scope_of_root_and_of_a_user() {
        assert_eq!(scope_of(&caller(0, Some(&[])), ""), Scope::All);
        assert_eq!(scope_of(&caller(4242, Some(&[4242])), ""), Scope::Uid(4242));
        // A group that does not exist gives no one the whole view.
        assert_eq!(
            scope_of(&caller(4242, Some(&[4242])), "no-such-group-netatop"),
            Scope::Uid(4242)
        );
        // The real /etc/group's root group (gid 0): a caller reported in it.
        if let Some(g) = fs::read_to_string("/etc/group")
            .ok()
            .and_then(|t| parse_group(&t, "root"))
        {
            assert_eq!(scope_of(&caller(4242, Some(&[g.gid])), "root"), Scope::All);
        }
    }

    #[test]
    fn status_uid() {
        let status = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t7\nPid:\t7\n\
                      Uid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(parse_status_uid(status), Some(1000));
        assert_eq!(parse_status_uid("Name:\tx\n"), None);
        let me = i32::try_from(std::process::id()).unwrap();
        // SAFETY: getuid has no arguments and cannot fail.
        let uid = unsafe { libc::getuid() };
        assert_eq!(real_uid(me), Some(uid));
        assert_eq!(status_real_uid(me), Some(uid));
        assert_eq!(real_uid(i32::MAX), None);
        assert_eq!(status_real_uid(i32::MAX), None);
    }

    /// The pidfd answer is the status file's, for every process here.
    #[test]
    fn pidfd_and_status_agree() {
        let pids: Vec<i32> = fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        assert!(!pids.is_empty());
        for pid in pids {
            if let (Some(a), Some(b)) = (real_uid(pid), status_real_uid(pid)) {
                assert_eq!(a, b, "pid {pid}");
            }
        }
    }
}
