//! Who sees what: a caller sees the processes whose real uid is its own;
//! root and the members of the admin group see every process.
//!
//! - The caller's uid and groups come from the bus
//!   (`GetConnectionCredentials`). The admin group, and the caller's groups
//!   when the bus does not report them, are looked up through NSS
//!   (`getgrnam_r`, `getpwuid_r`, `getgrouplist`, by the `nix` crate), so
//!   users and groups of sssd, LDAP or systemd-userdb count as well as
//!   those of `/etc/passwd` and `/etc/group`; on every call, so that a
//!   change applies at once. A lookup that fails counts as "not a member".
//! - A process of the kernel's snapshot is its owner's only if the live
//!   process with its pid is the one the snapshot saw ([`owner_of`]): the
//!   same start time, and started before the snapshot was taken. A pid
//!   that a process of another user took over meanwhile is refused, and
//!   the answer holds only what the snapshot said of the process checked.
//! - A live process's real uid and start time are read so that they are
//!   about one process even if its pid is reused while they are read
//!   ([`identity`]).

use std::ffi::CString;
use std::fs;
use std::io::{self, Read};

use nix::unistd::{Gid, Group, Uid};

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
    /// the process has exited meanwhile or its pid was reused) is visible.
    pub fn sees(self, owner: Option<u32>) -> bool {
        match self {
            Scope::All => true,
            Scope::Uid(uid) => owner == Some(uid),
        }
    }
}

/// A user as NSS knows it: its name and primary gid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Primary gid.
    pub gid: u32,
}

/// The user whose uid is `uid`, through NSS (`getpwuid_r`); `None` if there
/// is none or the lookup failed.
pub fn user_by_uid(uid: u32) -> Option<User> {
    let user = nix::unistd::User::from_uid(Uid::from_raw(uid)).ok()??;
    Some(User {
        name: user.name,
        gid: user.gid.as_raw(),
    })
}

/// The gid of group `name`, through NSS (`getgrnam_r`); `None` if there is
/// none or the lookup failed.
pub fn group_gid(name: &str) -> Option<u32> {
    Some(Group::from_name(name).ok()??.gid.as_raw())
}

/// Every group of `user`, through NSS (`getgrouplist`): its primary group
/// and each group that lists it as a member; `None` if the lookup failed.
pub fn groups_of(user: &User) -> Option<Vec<u32>> {
    let name = CString::new(user.name.as_str()).ok()?;
    let groups = nix::unistd::getgrouplist(&name, Gid::from_raw(user.gid)).ok()?;
    Some(groups.into_iter().map(Gid::as_raw).collect())
}

/// Whether `caller` is an administrator: uid 0, or a member of the group
/// whose gid is `admin` (`None`: no such group).
///
/// Membership: the gid among the caller's groups as the bus reports them;
/// when the bus does not report groups, among the groups `nss_groups` gives
/// for the caller's uid (called only then).
pub fn is_admin(
    caller: &Caller,
    admin: Option<u32>,
    nss_groups: impl FnOnce(u32) -> Option<Vec<u32>>,
) -> bool {
    if caller.uid == 0 {
        return true;
    }
    let Some(gid) = admin else {
        return false;
    };
    match &caller.groups {
        Some(groups) => groups.contains(&gid),
        None => nss_groups(caller.uid).is_some_and(|g| g.contains(&gid)),
    }
}

/// The scope of `caller`, with administrators in `admin_group` (a group
/// name; empty: none), looked up through NSS.
pub fn scope_of(caller: &Caller, admin_group: &str) -> Scope {
    if caller.uid == 0 {
        return Scope::All;
    }
    let admin = (!admin_group.is_empty())
        .then(|| group_gid(admin_group))
        .flatten();
    let nss_groups = |uid| groups_of(&user_by_uid(uid)?);
    if is_admin(caller, admin, nss_groups) {
        Scope::All
    } else {
        Scope::Uid(caller.uid)
    }
}

/// What the kernel says now of the live process with some pid: its real
/// uid and its start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The real uid.
    pub ruid: u32,
    /// The start time, in clock ticks since boot (the `starttime` field of
    /// `/proc/PID/stat`, on the boot-time clock).
    pub start_ticks: u64,
}

/// The clocks a start time is compared on: the wall-clock time of boot and
/// the clock tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootClock {
    /// The wall-clock time of boot, seconds since the epoch (`btime` of
    /// `/proc/stat`, from which the module computes its start times too).
    pub boot_secs: u64,
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, the unit of
    /// `/proc/PID/stat`'s times).
    pub hz: u64,
}

impl BootClock {
    /// The clocks now.
    pub fn read() -> io::Result<Self> {
        let stat = fs::read_to_string("/proc/stat")?;
        let boot_secs = parse_boot_secs(&stat)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "/proc/stat has no btime"))?;
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .map_err(io::Error::from)?
            .and_then(|t| u64::try_from(t).ok())
            .filter(|&t| t > 0)
            .ok_or_else(|| io::Error::other("no clock tick (sysconf _SC_CLK_TCK)"))?;
        Ok(Self { boot_secs, hz })
    }

    /// The boot-time clock now, in clock ticks (what a process started now
    /// would have as `starttime`).
    pub fn ticks_now(&self) -> io::Result<u64> {
        let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
            .map_err(io::Error::from)?;
        let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec()).unwrap_or(0);
        Ok(secs * self.hz + nanos / (1_000_000_000 / self.hz))
    }

    /// A start time in ticks since boot as seconds since the epoch, the way
    /// the module computes its `btime` (and `ps`, and atop).
    pub fn epoch_secs(&self, start_ticks: u64) -> u64 {
        self.boot_secs + start_ticks / self.hz
    }
}

/// The `btime` line of a `/proc/stat` text.
pub fn parse_boot_secs(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether a live process is the process a snapshot saw: the snapshot
/// (taken when the boot-time clock said `taken_ticks`, read before the
/// call) has a process with start time `btime` (seconds since the epoch)
/// under the pid of which `found` says what the kernel says now. Its real
/// uid if so, `None` if not (or if nothing was found).
///
/// A process that started after the snapshot was taken is not in it; one
/// that started at another time is another process. A pid reused by a
/// process started in the same second as the one it replaces, before the
/// snapshot, is the case this cannot tell (the module keeps start times to
/// the second); a wall-clock step between a process's first packet and the
/// call makes the times differ and hides the process from its owner (it
/// fails closed).
pub fn owner_of(
    btime: u64,
    taken_ticks: u64,
    clock: &BootClock,
    found: Option<Identity>,
) -> Option<u32> {
    let found = found?;
    let same = found.start_ticks < taken_ticks && clock.epoch_secs(found.start_ticks) == btime;
    same.then_some(found.ruid)
}

/// The real uid and start time of process `pid` (a thread-group leader);
/// `None` if it does not exist (any more), or could not be read.
///
/// The process is pinned by a pidfd first; its start time is read from
/// `/proc/PID/stat` and its real uid from the pidfd (`PIDFD_GET_INFO`,
/// Linux 6.13 and later), else from `/proc/PID/status`; then the pidfd must
/// still name a process that has not been reaped (`pidfd_send_signal` with
/// signal 0). Its pid was then its own the whole time, so both reads are
/// about that one process even if the pid is reused right afterwards.
pub fn identity(pid: i32) -> Option<Identity> {
    let fd = pidfd::open(pid).ok()?;
    let start_ticks = stat_start_ticks(pid)?;
    let ruid = match pidfd::real_uid(&fd) {
        Ok(uid) => uid,
        Err(e) if pidfd::unsupported(&e) => status_real_uid(pid)?,
        Err(_) => return None,
    };
    pidfd::alive(&fd).then_some(Identity { ruid, start_ticks })
}

/// The `starttime` field (the 22nd) of a `/proc/PID/stat` text.
pub fn parse_stat_start(stat: &str) -> Option<u64> {
    // The command (field 2) is in parentheses and may hold anything,
    // parentheses and spaces included: fields 3 on come after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The start time of process `pid` from `/proc/PID/stat`, in clock ticks
/// since boot.
pub fn stat_start_ticks(pid: i32) -> Option<u64> {
    parse_stat_start(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The real uid (first field of the `Uid:` line) in a `/proc/PID/status`
/// text.
pub fn parse_status_uid(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
}

/// The real uid of process `pid` from `/proc/PID/status` (the kernel
/// formats the whole file: about ten times slower than `PIDFD_GET_INFO`).
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

/// The crate's only `unsafe` code: pidfds (`pidfd_open`, `PIDFD_GET_INFO`,
/// `pidfd_send_signal`), which neither std nor nix wrap.
///
/// Audit notes: each system call gets plain integers, or (the ioctl) a
/// pointer to a live, exclusively borrowed `PidfdInfo` whose size is the
/// one the request number encodes, so the kernel writes within it; a new
/// descriptor is owned by an `OwnedFd` at once.
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

    /// A pidfd for process `pid` (`ESRCH`: no such process).
    pub(super) fn open(pid: i32) -> io::Result<OwnedFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new
        // descriptor or -1; no memory is passed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: the descriptor was just opened and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Whether an error of [`real_uid`] means that the kernel lacks
    /// `PIDFD_GET_INFO` (before 6.13: `ENOTTY` or `EINVAL`).
    pub(super) fn unsupported(e: &io::Error) -> bool {
        matches!(e.raw_os_error(), Some(libc::ENOTTY | libc::EINVAL))
    }

    /// The real uid of the pidfd's process (`ESRCH`: it has been reaped).
    pub(super) fn real_uid(fd: &OwnedFd) -> io::Result<u32> {
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

    /// Whether the pidfd's process has not been reaped yet (it may be a
    /// zombie): signal 0 finds it (`EPERM` too: it exists), `ESRCH` not.
    pub(super) fn alive(fd: &OwnedFd) -> bool {
        // SAFETY: pidfd_send_signal with signal 0 sends nothing; the info
        // pointer may be null; no other memory is passed.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn caller(uid: u32, groups: Option<&[u32]>) -> Caller {
        Caller {
            uid,
            groups: groups.map(<[u32]>::to_vec),
        }
    }

    /// A uid no account has (NSS answers "no such user" for it).
    const NO_SUCH_UID: u32 = 3_999_999_999;

    /// The scope over (pid, uid) pairs: a user sees exactly its own
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
        let pids = |scope: Scope| -> Vec<i32> {
            procs
                .iter()
                .filter(|p| scope.sees(p.1))
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

    /// NSS lookups of root (uid 0, group root, gid 0) and of a uid and a
    /// group that do not exist.
    #[test]
    fn nss_lookups_of_root_and_of_nobody_known() {
        let root = user_by_uid(0).expect("uid 0 through NSS");
        assert_eq!(
            root,
            User {
                name: "root".into(),
                gid: 0
            }
        );
        let groups = groups_of(&root).expect("root's groups through NSS");
        assert!(groups.contains(&0), "{groups:?}");
        assert_eq!(group_gid("root"), Some(0));

        assert_eq!(user_by_uid(NO_SUCH_UID), None);
        assert_eq!(group_gid("no-such-group-netatop"), None);
        // A name NSS cannot even be asked for.
        assert_eq!(group_gid("bad\0name"), None);
        let ghost = User {
            name: "no-such-user-netatop".into(),
            gid: 4_000_000_001,
        };
        // getgrouplist always includes the primary gid it is given.
        assert_eq!(groups_of(&ghost), Some(vec![4_000_000_001]));
    }

    #[test]
    fn who_is_an_administrator() {
        let never = |_| -> Option<Vec<u32>> { panic!("NSS asked although the bus told") };
        // Root, whatever the group; NSS is not asked.
        assert!(is_admin(&caller(0, None), None, never));
        // The bus's groups decide when it reports them.
        assert!(is_admin(
            &caller(1000, Some(&[1000, 108])),
            Some(108),
            never
        ));
        assert!(!is_admin(
            &caller(1000, Some(&[1000, 24])),
            Some(108),
            never
        ));
        // Else the groups NSS gives for the uid (primary or supplementary,
        // whatever the source).
        let nss = |uid| match uid {
            1000 => Some(vec![1000, 108]),
            1002 => Some(vec![108]),
            _ => None,
        };
        assert!(is_admin(&caller(1000, None), Some(108), nss));
        assert!(is_admin(&caller(1002, None), Some(108), nss));
        assert!(!is_admin(&caller(1000, None), Some(24), nss));
        // A uid NSS does not know, or a failed lookup: not a member.
        assert!(!is_admin(&caller(65534, None), Some(108), nss));
        // No such group: nobody but root.
        assert!(!is_admin(&caller(1000, Some(&[108])), None, never));
        assert!(!is_admin(&caller(1000, None), None, never));
    }

    #[test]
    fn scope_of_root_and_of_a_user() {
        assert_eq!(scope_of(&caller(0, Some(&[])), ""), Scope::All);
        assert_eq!(
            scope_of(&caller(0, None), "no-such-group-netatop"),
            Scope::All
        );
        assert_eq!(scope_of(&caller(4242, Some(&[4242])), ""), Scope::Uid(4242));
        // A group that does not exist gives no one the whole view.
        assert_eq!(
            scope_of(&caller(4242, Some(&[4242])), "no-such-group-netatop"),
            Scope::Uid(4242)
        );
        // The root group (gid 0) through NSS: a caller the bus reports in it.
        assert_eq!(scope_of(&caller(4242, Some(&[0])), "root"), Scope::All);
        // Without groups from the bus, NSS decides: a uid without an
        // account is in no group.
        assert_eq!(
            scope_of(&caller(NO_SUCH_UID, None), "root"),
            Scope::Uid(NO_SUCH_UID)
        );
    }

    #[test]
    fn status_and_stat_fields() {
        let status = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t7\nPid:\t7\n\
                      Uid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(parse_status_uid(status), Some(1000));
        assert_eq!(parse_status_uid("Name:\tx\n"), None);
        // A command with spaces and parentheses; starttime is 4242.
        let stat = "77 (a) b (c) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 4242 1000 10";
        assert_eq!(parse_stat_start(stat), Some(4242));
        assert_eq!(parse_stat_start("77 (x) S 1"), None);
        assert_eq!(parse_stat_start("no parenthesis"), None);
        assert_eq!(
            parse_boot_secs("cpu 1 2\nbtime 1717200000\nprocesses 9\n"),
            Some(1_717_200_000)
        );
        assert_eq!(parse_boot_secs("cpu 1 2\n"), None);
    }

    /// A fixed clock: booted at 1_717_200_000, 100 ticks a second.
    const CLOCK: BootClock = BootClock {
        boot_secs: 1_717_200_000,
        hz: 100,
    };

    /// The process of the snapshot, or another one that took its pid.
    #[test]
    fn a_reused_pid_is_refused() {
        // Started 50.99 s after boot: btime 1_717_200_050; the snapshot was
        // taken 60 s after boot.
        let taken = 6000;
        let same = Identity {
            ruid: 1000,
            start_ticks: 5099,
        };
        assert_eq!(
            owner_of(1_717_200_050, taken, &CLOCK, Some(same)),
            Some(1000)
        );
        // Another process under that pid, started at another time, before
        // the snapshot (the snapshot's entry is a process that has exited)
        // or after it: refused, whoever owns it.
        for start_ticks in [5100, 4000, 6000, 6001, 9000] {
            let other = Identity {
                ruid: 1000,
                start_ticks,
            };
            assert_eq!(
                owner_of(1_717_200_050, taken, &CLOCK, Some(other)),
                None,
                "{start_ticks}"
            );
        }
        // Started after the snapshot, even within the same second as the
        // snapshot's process: refused.
        let late = Identity {
            ruid: 1000,
            start_ticks: 5099,
        };
        assert_eq!(owner_of(1_717_200_050, 5099, &CLOCK, Some(late)), None);
        // Nothing under that pid any more.
        assert_eq!(owner_of(1_717_200_050, taken, &CLOCK, None), None);
    }

    /// The real thing: a child of this process, its identity read through
    /// its pidfd and /proc, compared as the module's snapshot would have it.
    #[test]
    fn identity_of_a_live_child_and_of_a_gone_one() {
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .expect("run sleep");
        let pid = i32::try_from(child.id()).unwrap();
        let clock = BootClock::read().unwrap();
        let taken = clock.ticks_now().unwrap() + 1;
        let id = identity(pid).expect("identity of a live child");
        // SAFETY: getuid has no arguments and cannot fail.
        let uid = unsafe { libc::getuid() };
        assert_eq!(id.ruid, uid);
        assert_eq!(Some(id.start_ticks), stat_start_ticks(pid));
        assert_eq!(status_real_uid(pid), Some(uid));
        let btime = clock.epoch_secs(id.start_ticks);
        assert_eq!(owner_of(btime, taken, &clock, Some(id)), Some(uid));
        assert_eq!(owner_of(btime - 1, taken, &clock, Some(id)), None);
        assert_eq!(owner_of(btime + 1, taken, &clock, Some(id)), None);

        child.kill().unwrap();
        // A zombie still has its pid: still found.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(identity(pid).map(|i| i.start_ticks), Some(id.start_ticks));
        child.wait().unwrap();
        // Reaped: gone (or the pid is another process's already, started
        // later: never the child's identity).
        assert!(
            identity(pid).is_none_or(|i| i.start_ticks != id.start_ticks),
            "{pid}"
        );
        assert_eq!(identity(i32::MAX), None);
    }

    /// The pidfd answer is the status file's, for every process here.
    #[test]
    fn pidfd_and_status_agree() {
        let pids: Vec<i32> = fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        assert!(!pids.is_empty());
        let mut compared = 0;
        for pid in pids {
            if let (Some(a), Some(b)) = (identity(pid), status_real_uid(pid)) {
                assert_eq!(a.ruid, b, "pid {pid}");
                compared += 1;
            }
        }
        assert!(compared > 0);
    }

    /// The boot-time clock in ticks is the clock /proc/PID/stat uses: this
    /// process started before now.
    #[test]
    fn ticks_now_is_on_the_start_time_clock() {
        let clock = BootClock::read().unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        let start = stat_start_ticks(me).unwrap();
        let now = clock.ticks_now().unwrap();
        assert!(start <= now, "{start} > {now}");
        assert!(now - start < 3600 * clock.hz, "{start} vs {now}");
    }
}
