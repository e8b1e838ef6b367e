//! The netatop client: one socket, one method per command.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::abi::{CgroupCount, Command, ConnInfo, Decode, ListHeader, NetPerTask, ProcInfo};
use crate::cancel::{call_until, CancelToken};
use crate::error::{Error, Result};
use crate::sys;

/// The answer of a list command (`NETATOP_GETCNT_TASKS`,
/// `NETATOP_GETCNT_CGROUPS`, `NETATOP_GETCNT_CONNS`): its header and the
/// entries that fitted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Snapshot<T> {
    /// Entries that existed when the module answered.
    pub total: u32,
    /// The header's overflow counter: for processes, the taskinfo overflow
    /// counter (as in `/proc/netatop`); for cgroups, the finished processes
    /// whose totals the module's cgroup table could not keep; for
    /// connections, the sockinfo overflow counter (as in `/proc/netatop`).
    pub overflow: u64,
    /// The entries written, in the module's order; fewer than `total` only
    /// if the buffer was too small.
    pub entries: Vec<T>,
}

impl<T> Snapshot<T> {
    /// Whether every entry that existed is in [`Snapshot::entries`].
    pub fn is_complete(&self) -> bool {
        self.entries.len() == self.total as usize
    }
}

/// Room (entries) of the first list call when nothing is known yet.
const FIRST_ROOM: usize = 128;
/// Calls with a bigger buffer after the first one, at most, in
/// [`Netatop::processes`], [`Netatop::cgroups`] and
/// [`Netatop::connections`].
const MAX_RETRIES: usize = 8;

/// The room to ask for when `total` entries exist: some more, so that a
/// table that grows a little meanwhile still fits.
fn room_for(total: u32) -> usize {
    let total = total as usize;
    total + total / 8 + 16
}

/// Checks and decodes the answer of a list command: `buf` was passed with
/// room for `room` entries and the kernel said it wrote `len` bytes.
fn parse_list<T: Decode>(cmd: Command, buf: &[u8], len: usize, room: usize) -> Result<Snapshot<T>> {
    let bad = |detail: String| Error::BadAnswer {
        command: cmd.name(),
        detail,
    };
    if len > buf.len() {
        return Err(bad(format!(
            "optlen {len} is longer than the {}-byte buffer",
            buf.len()
        )));
    }
    if len < ListHeader::SIZE {
        return Err(bad(format!(
            "optlen {len} is shorter than the {}-byte header",
            ListHeader::SIZE
        )));
    }
    let hdr = ListHeader::decode(&buf[..ListHeader::SIZE]);
    let count = hdr.count as usize;
    if hdr.count > hdr.total {
        return Err(bad(format!(
            "count {} is more than total {}",
            hdr.count, hdr.total
        )));
    }
    if count > room {
        return Err(bad(format!(
            "count {count} is more than the room for {room} entries"
        )));
    }
    if len != ListHeader::SIZE + count * T::SIZE {
        return Err(bad(format!(
            "optlen {len} does not match count {count} (expected {} = {} + {count} x {})",
            ListHeader::SIZE + count * T::SIZE,
            ListHeader::SIZE,
            T::SIZE
        )));
    }
    let entries = buf[ListHeader::SIZE..len]
        .chunks_exact(T::SIZE)
        .map(T::decode)
        .collect();
    Ok(Snapshot {
        total: hdr.total,
        overflow: hdr.overflow,
        entries,
    })
}

/// A connection to the netatop module (an `AF_INET` socket: UDP, see
/// [`Netatop::open`]).
#[derive(Debug)]
pub struct Netatop {
    sock: OwnedFd,
    /// Room for the next `NETATOP_GETCNT_TASKS` call, from the last answer.
    tasks_room: AtomicUsize,
    /// Room for the next `NETATOP_GETCNT_CGROUPS` call, from the last answer.
    cgroups_room: AtomicUsize,
    /// Room for the next `NETATOP_GETCNT_CONNS` call, from the last answer.
    conns_room: AtomicUsize,
}

impl Netatop {
    /// Opens the socket the commands are issued on: a UDP (`AF_INET`,
    /// `SOCK_DGRAM`) socket, which anyone may open. Succeeds whether or not
    /// the module is loaded (see [`Netatop::probe`]).
    ///
    /// The module's commands are netfilter socket options of `AF_INET`: any
    /// `AF_INET` socket's `getsockopt` at level `SOL_IP` reaches them, and
    /// the module checks `CAP_NET_ADMIN` on every call. atop and netatop
    /// 3.2.2's daemon use a raw socket instead, which gives nothing more
    /// but needs `CAP_NET_RAW` to open; so this crate opens the socket that
    /// needs the least privilege. To issue the commands on another socket
    /// (e.g. a raw one, as atop does), see [`Netatop::from_socket`].
    pub fn open() -> Result<Self> {
        let sock = sys::udp_socket().map_err(|e| Error::from_os(e, 0))?;
        Ok(Self::from_socket(sock))
    }

    /// The same as [`Netatop::open`]: it was the way to get a UDP socket
    /// while `open` opened a raw one, which needed `CAP_NET_RAW` for
    /// nothing; now `open` opens the UDP socket itself.
    #[deprecated(note = "use Netatop::open, which opens the same UDP socket")]
    pub fn open_udp() -> Result<Self> {
        Self::open()
    }

    /// Wraps an already opened `AF_INET` socket (e.g. one opened before
    /// dropping privileges).
    pub fn from_socket(sock: OwnedFd) -> Self {
        Self {
            sock,
            tasks_room: AtomicUsize::new(FIRST_ROOM),
            cgroups_room: AtomicUsize::new(FIRST_ROOM),
            conns_room: AtomicUsize::new(FIRST_ROOM),
        }
    }

    /// Checks that the module is loaded and that the caller may use it.
    pub fn probe(&self) -> Result<()> {
        self.simple(Command::Probe)
    }

    /// Runs the module's garbage collector now: finished processes move to
    /// the exit list.
    pub fn force_gc(&self) -> Result<()> {
        self.simple(Command::ForceGc)
    }

    /// Blocks until the exit list is empty (a signal gives [`Error::Interrupted`]).
    pub fn wait_exit_list_empty(&self) -> Result<()> {
        self.simple(Command::EmptyExit)
    }

    /// Takes the oldest finished process off the exit list, blocking until
    /// there is one (a signal gives [`Error::Interrupted`]).
    pub fn next_exited(&self) -> Result<NetPerTask> {
        self.counters(Command::GetcntExit, 0)
    }

    /// Like [`Netatop::next_exited`], but gives up after `timeout`:
    /// `Ok(None)` when no process finished in time.
    ///
    /// The wait is ended by a signal sent to the calling thread only
    /// ([`interrupt_signal`](crate::interrupt_signal), whose no-op handler is
    /// installed on first use); an interrupted `NETATOP_GETCNT_EXIT` leaves
    /// the record on the module's list, so nothing is lost. A zero timeout
    /// returns `Ok(None)` without asking the module. Another signal
    /// interrupting the wait gives [`Error::Interrupted`], as
    /// [`Netatop::next_exited`] does.
    pub fn next_exited_timeout(&self, timeout: Duration) -> Result<Option<NetPerTask>> {
        self.next_exited_until(deadline(timeout), None)
    }

    /// Like [`Netatop::next_exited`], but returns `Ok(None)` as soon as
    /// `cancel` is cancelled (from any thread) or `timeout`, if given, has
    /// passed; see [`Netatop::next_exited_timeout`].
    pub fn next_exited_cancellable(
        &self,
        cancel: &CancelToken,
        timeout: Option<Duration>,
    ) -> Result<Option<NetPerTask>> {
        self.next_exited_until(timeout.and_then(deadline), Some(cancel))
    }

    /// Like [`Netatop::wait_exit_list_empty`], but gives up after `timeout`:
    /// `Ok(true)` when the list became empty, `Ok(false)` on timeout.
    pub fn wait_exit_list_empty_timeout(&self, timeout: Duration) -> Result<bool> {
        let cmd = Command::EmptyExit.raw();
        let done = call_until(
            || sys::getsockopt_none(self.sock.as_fd(), cmd),
            deadline(timeout),
            None,
        )
        .map_err(|e| Error::from_os(e, 0))?;
        Ok(done.is_some())
    }

    fn next_exited_until(
        &self,
        deadline: Option<Instant>,
        cancel: Option<&CancelToken>,
    ) -> Result<Option<NetPerTask>> {
        let cmd = Command::GetcntExit.raw();
        let got = call_until(
            || sys::getsockopt_npt(self.sock.as_fd(), cmd, 0),
            deadline,
            cancel,
        )
        .map_err(|e| Error::from_os(e, 0))?;
        Ok(got.map(|(npt, _len)| npt))
    }

    /// Counters of process `tgid`.
    pub fn process(&self, tgid: i32) -> Result<NetPerTask> {
        self.counters(Command::GetcntTgid, tgid)
    }

    /// Counters of thread `tid`.
    pub fn thread(&self, tid: i32) -> Result<NetPerTask> {
        self.counters(Command::GetcntPid, tid)
    }

    /// Counters of the cgroup whose id is `id` (`NETATOP_GETCNT_CGROUP`):
    /// those of its live processes plus those of every finished process
    /// counted for it. `id` is the inode number of the cgroup's directory
    /// ([`crate::cgroup::id_of`]). [`Error::NoSuchCgroup`] when the module
    /// has nothing for it (no process of the cgroup ever sent or received,
    /// or it was removed more than one collection interval ago).
    pub fn cgroup(&self, id: u64) -> Result<CgroupCount> {
        let cmd = Command::GetcntCgroup;
        let mut buf = [0u8; CgroupCount::SIZE];
        buf[..8].copy_from_slice(&id.to_ne_bytes());
        let len = sys::getsockopt_bytes(self.sock.as_fd(), cmd.raw(), &mut buf)
            .map_err(|e| self.extended_error(cmd, e, id))?;
        let bad = |detail: String| Error::BadAnswer {
            command: cmd.name(),
            detail,
        };
        if len != CgroupCount::SIZE {
            return Err(bad(format!("optlen {len}, expected {}", CgroupCount::SIZE)));
        }
        let c = CgroupCount::decode(&buf);
        if c.id != id {
            return Err(bad(format!("answered for id {}, asked for {id}", c.id)));
        }
        Ok(c)
    }

    /// Every live process the module has counters for
    /// (`NETATOP_GETCNT_TASKS`), with exact counters. Retries with a bigger
    /// buffer while the answer is short (processes started meanwhile), at
    /// most 8 times; the size of the last answer is remembered for the next
    /// call, so that it usually takes one `getsockopt`. Only a table that
    /// keeps outgrowing every retry gives an incomplete snapshot (see
    /// [`Snapshot::is_complete`]). Nothing is consumed.
    pub fn processes(&self) -> Result<Snapshot<ProcInfo>> {
        self.list(Command::GetcntTasks, &self.tasks_room)
    }

    /// One `NETATOP_GETCNT_TASKS` call with a buffer of room for `room`
    /// entries (`16 + room * 104` bytes): at most `room` entries, and the
    /// number that existed in [`Snapshot::total`].
    pub fn processes_with_room(&self, room: usize) -> Result<Snapshot<ProcInfo>> {
        self.list_with_room(Command::GetcntTasks, room)
    }

    /// Every cgroup the module has counters for (`NETATOP_GETCNT_CGROUPS`):
    /// cgroups with a live counted process, and removed or empty ones whose
    /// finished processes' totals are still kept. Retries as
    /// [`Netatop::processes`] does.
    pub fn cgroups(&self) -> Result<Snapshot<CgroupCount>> {
        self.list(Command::GetcntCgroups, &self.cgroups_room)
    }

    /// One `NETATOP_GETCNT_CGROUPS` call with a buffer of room for `room`
    /// entries (`16 + room * 80` bytes).
    pub fn cgroups_with_room(&self, room: usize) -> Result<Snapshot<CgroupCount>> {
        self.list_with_room(Command::GetcntCgroups, room)
    }

    /// Every connection the module tracks (`NETATOP_GETCNT_CONNS`): each
    /// TCP connection and each local UDP port, with the process and thread
    /// it is charged to (0 while unbound), its ends, the TCP state and its
    /// own packets and bytes each way ([`crate::Connection`] is the typed
    /// view: [`Snapshot::connections`]). Retries as [`Netatop::processes`]
    /// does, and remembers its own room; `EAGAIN` (an [`Error::Io`]) if the
    /// module's table kept growing while it was read. Nothing is consumed.
    pub fn connections(&self) -> Result<Snapshot<ConnInfo>> {
        self.list(Command::GetcntConns, &self.conns_room)
    }

    /// One `NETATOP_GETCNT_CONNS` call with a buffer of room for `room`
    /// entries (`16 + room * 96` bytes).
    pub fn connections_with_room(&self, room: usize) -> Result<Snapshot<ConnInfo>> {
        self.list_with_room(Command::GetcntConns, room)
    }

    fn list<T: Decode>(&self, cmd: Command, hint: &AtomicUsize) -> Result<Snapshot<T>> {
        let mut snap = self.list_with_room(cmd, hint.load(Ordering::Relaxed))?;
        for _ in 0..MAX_RETRIES {
            if snap.is_complete() {
                break;
            }
            snap = self.list_with_room(cmd, room_for(snap.total))?;
        }
        hint.store(room_for(snap.total), Ordering::Relaxed);
        Ok(snap)
    }

    fn list_with_room<T: Decode>(&self, cmd: Command, room: usize) -> Result<Snapshot<T>> {
        // The kernel takes the length as an int.
        let max_room = (i32::MAX as usize - ListHeader::SIZE) / T::SIZE;
        let room = room.min(max_room);
        let mut buf = vec![0u8; ListHeader::SIZE + room * T::SIZE];
        let len = sys::getsockopt_bytes(self.sock.as_fd(), cmd.raw(), &mut buf)
            .map_err(|e| self.extended_error(cmd, e, 0))?;
        parse_list(cmd, &buf, len, room)
    }

    /// Classifies the OS error of one of netatop-rs's own commands: "not
    /// loaded" from a module that answers PROBE means the module is too old;
    /// `ESRCH` is about the cgroup `id`.
    fn extended_error(&self, cmd: Command, err: io::Error, id: u64) -> Error {
        match Error::from_os(err, 0) {
            Error::ModuleNotLoaded if self.probe().is_ok() => Error::Unsupported(cmd.name()),
            Error::NoSuchTask(_) => Error::NoSuchCgroup(id),
            other => other,
        }
    }

    fn simple(&self, cmd: Command) -> Result<()> {
        sys::getsockopt_none(self.sock.as_fd(), cmd.raw()).map_err(|e| Error::from_os(e, 0))
    }

    fn counters(&self, cmd: Command, id: i32) -> Result<NetPerTask> {
        let (npt, _len) = sys::getsockopt_npt(self.sock.as_fd(), cmd.raw(), id)
            .map_err(|e| Error::from_os(e, id))?;
        Ok(npt)
    }
}

/// The instant `timeout` from now; `None` (wait forever) if that is not
/// representable.
fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a host without the module (the normal test host), the timed calls
    /// report "not loaded" at once instead of blocking or timing out.
    #[test]
    fn timed_calls_without_the_module_fail_fast() {
        if std::path::Path::new(crate::PROC_PATH).exists() {
            return; // the module is loaded here: covered by the guest tests
        }
        let n = Netatop::open().expect("a UDP socket needs no privilege");
        let start = Instant::now();
        let r = n.next_exited_timeout(Duration::from_secs(30));
        assert!(matches!(r, Err(Error::ModuleNotLoaded)), "{r:?}");
        let r = n.next_exited_cancellable(&CancelToken::new(), None);
        assert!(matches!(r, Err(Error::ModuleNotLoaded)), "{r:?}");
        let r = n.wait_exit_list_empty_timeout(Duration::from_secs(30));
        assert!(matches!(r, Err(Error::ModuleNotLoaded)), "{r:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    fn answer(total: u32, count: u32, overflow: u64, entries: &[ProcInfo]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(total.to_ne_bytes());
        b.extend(count.to_ne_bytes());
        b.extend(overflow.to_ne_bytes());
        for p in entries {
            let mut e = vec![0u8; ProcInfo::SIZE];
            e[..4].copy_from_slice(&p.id.to_ne_bytes());
            e[8..16].copy_from_slice(&p.btime.to_ne_bytes());
            e[16..32].copy_from_slice(&p.command);
            e[32..40].copy_from_slice(&p.cgroup.to_ne_bytes());
            e[40..48].copy_from_slice(&p.tc.tcpsndpacks.to_ne_bytes());
            b.extend(e);
        }
        b
    }

    fn proc_info(id: i32) -> ProcInfo {
        let mut p = ProcInfo {
            id,
            btime: 1_717_200_000,
            cgroup: 7,
            ..ProcInfo::default()
        };
        p.command[..3].copy_from_slice(b"cat");
        p.tc.tcpsndpacks = 5;
        p
    }

    #[test]
    fn list_answers_are_decoded() {
        let cmd = Command::GetcntTasks;
        let entries = [proc_info(1), proc_info(2)];
        let mut buf = answer(3, 2, 9, &entries);
        let len = buf.len();
        buf.resize(16 + 2 * 104, 0);
        let s: Snapshot<ProcInfo> = parse_list(cmd, &buf, len, 2).unwrap();
        assert_eq!(s.total, 3);
        assert_eq!(s.overflow, 9);
        assert_eq!(s.entries, entries);
        assert!(!s.is_complete());
        // Room for more than was written: fine.
        let mut big = answer(2, 2, 0, &entries);
        let len = big.len();
        big.resize(16 + 10 * 104, 0);
        let s: Snapshot<ProcInfo> = parse_list(cmd, &big, len, 10).unwrap();
        assert!(s.is_complete());
        assert_eq!(s.entries[1].command(), "cat");
        // An empty table.
        let empty = answer(0, 0, 0, &[]);
        let s: Snapshot<ProcInfo> = parse_list(cmd, &empty, 16, 0).unwrap();
        assert_eq!(s, Snapshot::default());
    }

    #[test]
    fn inconsistent_list_answers_are_errors() {
        let cmd = Command::GetcntTasks;
        let entries = [proc_info(1), proc_info(2)];
        let check = |buf: &[u8], len: usize, room: usize, what: &str| match parse_list::<ProcInfo>(
            cmd, buf, len, room,
        ) {
            Err(Error::BadAnswer { command, detail }) => {
                assert_eq!(command, "NETATOP_GETCNT_TASKS");
                assert!(detail.contains(what), "{detail}");
            }
            other => panic!("{other:?}"),
        };
        let ok = answer(2, 2, 0, &entries);
        check(&ok, 8, 2, "shorter than the 16-byte header");
        check(&ok, ok.len() + 1, 2, "longer than");
        check(&answer(1, 2, 0, &entries), ok.len(), 2, "more than total");
        check(&ok, ok.len(), 1, "more than the room");
        check(&ok, ok.len() - 104, 2, "does not match count 2");
        let e = parse_list::<ProcInfo>(cmd, &ok, 100, 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unexpected answer of the netatop module to NETATOP_GETCNT_TASKS: \
             optlen 100 does not match count 2 (expected 224 = 16 + 2 x 104)"
        );
    }

    #[test]
    fn connection_list_answers_are_decoded() {
        let cmd = Command::GetcntConns;
        let one = ConnInfo {
            netns: 9,
            tgid: 300,
            pid: 301,
            proto: 17,
            family: 2,
            lport: 53,
            rport: 5353,
            sndpacks: 3,
            ..ConnInfo::default()
        };
        let two = ConnInfo {
            proto: 6,
            family: 10,
            state: 1,
            ..one
        };
        let mut buf = Vec::new();
        buf.extend(5u32.to_ne_bytes());
        buf.extend(2u32.to_ne_bytes());
        buf.extend(4u64.to_ne_bytes());
        buf.extend(crate::abi::tests::conninfo_bytes(&one));
        buf.extend(crate::abi::tests::conninfo_bytes(&two));
        let len = buf.len();
        assert_eq!(len, 16 + 2 * 96);
        buf.resize(16 + 3 * 96, 0xa5);
        let s: Snapshot<ConnInfo> = parse_list(cmd, &buf, len, 3).unwrap();
        assert_eq!((s.total, s.overflow), (5, 4));
        assert_eq!(s.entries, [one, two]);
        assert!(!s.is_complete());
        let typed = s.connections().unwrap();
        assert_eq!(typed[0].local.to_string(), "0.0.0.0:53");
        assert_eq!(typed[1].local.to_string(), "[::]:53");
        // A length that is not a whole number of 96-byte entries.
        let e = parse_list::<ConnInfo>(cmd, &buf, len - 1, 3).unwrap_err();
        assert!(
            e.to_string().contains("NETATOP_GETCNT_CONNS") && e.to_string().contains("2 x 96"),
            "{e}"
        );
    }

    #[test]
    fn room_grows_past_the_total() {
        assert_eq!(room_for(0), 16);
        assert_eq!(room_for(800), 916);
    }

    /// Without the module, the new commands say "not loaded" (not
    /// "unsupported": PROBE fails too).
    #[test]
    fn list_commands_without_the_module() {
        if std::path::Path::new(crate::PROC_PATH).exists() {
            return;
        }
        let n = Netatop::open().expect("a UDP socket needs no privilege");
        assert!(matches!(n.processes(), Err(Error::ModuleNotLoaded)));
        assert!(matches!(
            n.cgroups_with_room(4),
            Err(Error::ModuleNotLoaded)
        ));
        assert!(matches!(n.cgroup(1), Err(Error::ModuleNotLoaded)));
        assert!(matches!(n.connections(), Err(Error::ModuleNotLoaded)));
        assert!(matches!(
            n.connections_with_room(0),
            Err(Error::ModuleNotLoaded)
        ));
        assert!(matches!(n.probe(), Err(Error::ModuleNotLoaded)));
    }

    #[test]
    fn zero_timeout_asks_nothing() {
        // A socket that is not an AF_INET one would fail any getsockopt
        // with an error: a zero timeout must not even try.
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let n = Netatop::from_socket(OwnedFd::from(a));
        assert!(matches!(n.next_exited_timeout(Duration::ZERO), Ok(None)));
        assert!(matches!(
            n.wait_exit_list_empty_timeout(Duration::ZERO),
            Ok(false)
        ));
        let t = CancelToken::new();
        t.cancel();
        assert!(matches!(n.next_exited_cancellable(&t, None), Ok(None)));
    }
}
