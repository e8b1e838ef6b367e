//! The user ABI of the module (`include/netatop.h`), byte for byte.
//!
//! The header is the one source of the ABI; this is a copy, checked at
//! build time: `build.rs` compiles the header with the C compiler and the
//! assertions below require every struct's size, each field's offset and
//! size, and every constant to be the header's, so a mismatch fails the
//! build. [`Decode`] reads each field at its offset in the checked struct.

use std::ffi::c_ulong;
use std::mem::{offset_of, size_of};

/// The header as the C compiler sees it (`build.rs`): `c::taskcount::SIZE`,
/// `c::taskcount::tcpsndpacks::OFFSET` and `::SIZE`, `c::COMLEN`.
///
/// Its constants are used only inside anonymous constants (`const _`),
/// which rustc 1.85 (Debian 13's) does not count as uses (as
/// `rust/kernel_services/layout.rs` notes).
#[allow(dead_code)]
mod c {
    include!(concat!(env!("OUT_DIR"), "/abi_layout.rs"));
}

/// The size of the field `f` selects of a `T`, in a constant expression.
const fn field_size<T, F>(_f: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// Asserts at build time that the `#[repr(C)]` struct `$rust` has the size
/// of the header's `struct $c`, and each field its C counterpart's offset
/// and size: `check_layout!(Rust, c_name, [rust_field: c_field, ...]);`.
/// A field's size catches a widened field that moves nothing (the padding
/// after it absorbs it).
macro_rules! check_layout {
    ($rust:ty, $c:ident, [$($rf:ident : $cf:ident),* $(,)?]) => {
        const _: () = {
            assert!(size_of::<$rust>() == c::$c::SIZE);
            $(
                assert!(offset_of!($rust, $rf) == c::$c::$cf::OFFSET);
                assert!(field_size(|s: &$rust| &s.$rf) == c::$c::$cf::SIZE);
            )*
        };
    };
}

/// Length of a command name, including its terminating NUL.
pub const COMLEN: usize = 16;

/// First getsockopt command number.
pub const NETATOP_BASE_CTL: i32 = 15661;

/// Counters of one process or thread (`struct taskcount`, 64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TaskCount {
    /// TCP packets sent.
    pub tcpsndpacks: u64,
    /// TCP bytes sent (IP length plus link-layer estimate).
    pub tcpsndbytes: u64,
    /// TCP packets received.
    pub tcprcvpacks: u64,
    /// TCP bytes received.
    pub tcprcvbytes: u64,
    /// UDP packets sent.
    pub udpsndpacks: u64,
    /// UDP bytes sent.
    pub udpsndbytes: u64,
    /// UDP packets received.
    pub udprcvpacks: u64,
    /// UDP bytes received.
    pub udprcvbytes: u64,
}

impl TaskCount {
    /// The eight counters in `struct taskcount` order: TCP packets and
    /// bytes sent, received, then the same for UDP.
    pub fn to_array(self) -> [u64; 8] {
        [
            self.tcpsndpacks,
            self.tcpsndbytes,
            self.tcprcvpacks,
            self.tcprcvbytes,
            self.udpsndpacks,
            self.udpsndbytes,
            self.udprcvpacks,
            self.udprcvbytes,
        ]
    }

    /// The counters of an array in `struct taskcount` order (see
    /// [`TaskCount::to_array`]).
    pub fn from_array(c: [u64; 8]) -> Self {
        TaskCount {
            tcpsndpacks: c[0],
            tcpsndbytes: c[1],
            tcprcvpacks: c[2],
            tcprcvbytes: c[3],
            udpsndpacks: c[4],
            udpsndbytes: c[5],
            udprcvpacks: c[6],
            udprcvbytes: c[7],
        }
    }

    /// Bytes sent, TCP plus UDP (saturating at `u64::MAX`).
    pub fn bytes_sent(&self) -> u64 {
        self.tcpsndbytes.saturating_add(self.udpsndbytes)
    }

    /// Bytes received, TCP plus UDP (saturating at `u64::MAX`).
    pub fn bytes_received(&self) -> u64 {
        self.tcprcvbytes.saturating_add(self.udprcvbytes)
    }

    /// All bytes, sent and received, TCP and UDP: the sum of the four byte
    /// counters (saturating at `u64::MAX`).
    pub fn total_bytes(&self) -> u64 {
        self.bytes_sent().saturating_add(self.bytes_received())
    }

    /// Counter-wise saturating sum.
    pub fn saturating_add(self, other: TaskCount) -> TaskCount {
        let a = self.to_array();
        let b = other.to_array();
        TaskCount::from_array(std::array::from_fn(|i| a[i].saturating_add(b[i])))
    }

    /// Whether every counter is at least the one in `earlier`: a counter
    /// going backwards means that the module was reloaded or the id reused
    /// in between.
    pub fn covers(&self, earlier: &TaskCount) -> bool {
        self.to_array()
            .iter()
            .zip(earlier.to_array())
            .all(|(&now, then)| now >= then)
    }
}

/// One answer of the module (`struct netpertask`, 96 bytes on 64-bit Linux).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NetPerTask {
    /// Process id (tgid) or thread id, depending on the command.
    pub id: i32,
    /// Explicit padding; the module always zeroes it.
    pub pad: [u8; 4],
    /// Start time of the process or thread, seconds since the epoch.
    pub btime: c_ulong,
    /// Command name, NUL-terminated.
    pub command: [u8; COMLEN],
    /// The counters.
    pub tc: TaskCount,
}

check_layout!(TaskCount, taskcount, [
    tcpsndpacks: tcpsndpacks,
    tcpsndbytes: tcpsndbytes,
    tcprcvpacks: tcprcvpacks,
    tcprcvbytes: tcprcvbytes,
    udpsndpacks: udpsndpacks,
    udpsndbytes: udpsndbytes,
    udprcvpacks: udprcvpacks,
    udprcvbytes: udprcvbytes,
]);
check_layout!(NetPerTask, netpertask, [id: id, btime: btime, command: command, tc: tc]);
// C leaves the bytes between id and btime unnamed; `pad` is exactly them.
const _: () = {
    assert!(offset_of!(NetPerTask, pad) == c::netpertask::id::OFFSET + c::netpertask::id::SIZE);
    assert!(
        offset_of!(NetPerTask, pad) + field_size(|s: &NetPerTask| &s.pad)
            == c::netpertask::btime::OFFSET
    );
};

/// The counters of one cgroup (`struct netatop_cgroupcount`, 80 bytes): the
/// answer of `NETATOP_GETCNT_CGROUP` and an entry of `NETATOP_GETCNT_CGROUPS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CgroupCount {
    /// The cgroup v2 id: the inode number of its directory in the cgroup2
    /// file system (see [`crate::cgroup::id_of`]).
    pub id: u64,
    /// Live processes counted for this cgroup now.
    pub nprocs: u32,
    /// Explicit padding; the module always zeroes it.
    pub pad: u32,
    /// The counters of its live processes plus those of every finished
    /// process counted for it (so they never go down).
    pub tc: TaskCount,
}

/// The header of the `NETATOP_GETCNT_TASKS`, `NETATOP_GETCNT_CGROUPS` and
/// `NETATOP_GETCNT_CONNS` answers (`struct netatop_listhdr`, 16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ListHeader {
    /// Entries that exist now.
    pub total: u32,
    /// Entries written after the header: `min(total, room)`.
    pub count: u32,
    /// `GETCNT_TASKS`: the taskinfo overflow counter; `GETCNT_CGROUPS`:
    /// finished processes whose totals the cgroup table could not keep;
    /// `GETCNT_CONNS`: the sockinfo overflow counter.
    pub overflow: u64,
}

/// One live process of the `NETATOP_GETCNT_TASKS` answer
/// (`struct netatop_procinfo`, 104 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProcInfo {
    /// Process id (tgid).
    pub id: i32,
    /// Explicit padding; the module always zeroes it.
    pub pad: u32,
    /// Start time of the process, seconds since the epoch (as
    /// [`NetPerTask::btime`]).
    pub btime: u64,
    /// Command name (`comm`), NUL padded.
    #[cfg_attr(feature = "serde", serde(serialize_with = "serialize_command"))]
    pub command: [u8; COMLEN],
    /// The cgroup v2 id the process is counted for.
    pub cgroup: u64,
    /// The counters (exactly what `NETATOP_GETCNT_TGID` answers for it).
    pub tc: TaskCount,
}

/// [`ConnInfo::flags`]: UDP, more than one remote end was seen
/// (`NETATOP_CONN_PEERS`).
pub const CONN_PEERS: u8 = 1;

/// One connection of the `NETATOP_GETCNT_CONNS` answer
/// (`struct netatop_conninfo`, 96 bytes): a TCP connection (its quintuple)
/// or a local UDP port (any local address; the last remote end seen). The
/// counters are the connection's own since the module first saw it; while
/// it is bound, they are part of its process's `NETATOP_GETCNT_TGID`
/// counters. [`crate::Connection`] is the same as typed values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ConnInfo {
    /// The network namespace's cookie (as `SO_NETNS_COOKIE` gives it).
    pub netns: u64,
    /// The process (tgid) the connection is charged to; 0: none yet.
    pub tgid: i32,
    /// The thread it is charged to; 0: none.
    pub pid: i32,
    /// The process's start time, seconds since the epoch; 0: none.
    pub btime: u64,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub proto: u8,
    /// `AF_INET` or `AF_INET6` (UDP: of the last remote end; 0: none seen).
    pub family: u8,
    /// TCP: the last state seen (`TCP_ESTABLISHED`, ...); 0: unknown.
    pub state: u8,
    /// `NETATOP_CONN_*` flags ([`CONN_PEERS`]).
    pub flags: u8,
    /// Local port, host byte order.
    pub lport: u16,
    /// Remote port, host byte order (UDP: the last one).
    pub rport: u16,
    /// Local address, network byte order (IPv4: the first 4 bytes, the rest
    /// zero; UDP: zero, any address).
    pub laddr: [u8; 16],
    /// Remote address, as `laddr` (UDP: the last remote end).
    pub raddr: [u8; 16],
    /// Packets (wire segments) sent.
    pub sndpacks: u64,
    /// Bytes sent.
    pub sndbytes: u64,
    /// Packets received.
    pub rcvpacks: u64,
    /// Bytes received.
    pub rcvbytes: u64,
}

check_layout!(CgroupCount, netatop_cgroupcount, [id: id, nprocs: nprocs, pad: pad, tc: tc]);
check_layout!(ListHeader, netatop_listhdr, [total: total, count: count, overflow: overflow]);
check_layout!(ProcInfo, netatop_procinfo, [
    id: id,
    pad: pad,
    btime: btime,
    command: command,
    cgroup: cgroup,
    tc: tc,
]);
check_layout!(ConnInfo, netatop_conninfo, [
    netns: netns,
    tgid: tgid,
    pid: pid,
    btime: btime,
    proto: proto,
    family: family,
    state: state,
    flags: flags,
    lport: lport,
    rport: rport,
    laddr: laddr,
    raddr: raddr,
    sndpacks: sndpacks,
    sndbytes: sndbytes,
    rcvpacks: rcvpacks,
    rcvbytes: rcvbytes,
]);

/// A command name up to its first NUL, lossily decoded.
fn command_name(command: &[u8; COMLEN]) -> String {
    let end = command.iter().position(|&b| b == 0).unwrap_or(COMLEN);
    String::from_utf8_lossy(&command[..end]).into_owned()
}

#[cfg(feature = "serde")]
fn serialize_command<S: serde::Serializer>(
    command: &[u8; COMLEN],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&command_name(command))
}

impl NetPerTask {
    /// The command name up to its first NUL, lossily decoded.
    pub fn command(&self) -> String {
        command_name(&self.command)
    }

    /// The start time in seconds since the epoch, as a `u64` whatever the
    /// width of `c_ulong` on the target.
    pub fn btime_secs(&self) -> u64 {
        // CAST: c_ulong is u64 on 64-bit Linux (a no-op) and u32 on 32-bit
        // targets (widening).
        #[allow(clippy::unnecessary_cast)]
        let secs = self.btime as u64;
        secs
    }
}

impl ProcInfo {
    /// The command name up to its first NUL, lossily decoded.
    pub fn command(&self) -> String {
        command_name(&self.command)
    }
}

/// Reads native-endian integers out of a byte buffer the module filled
/// (safe code: no reinterpretation of memory).
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Bytes<'_> {
    fn array<const N: usize>(&self, off: usize) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.0[off..off + N]);
        a
    }
    fn u64(&self, off: usize) -> u64 {
        u64::from_ne_bytes(self.array(off))
    }
    fn u32(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.array(off))
    }
    fn u16(&self, off: usize) -> u16 {
        u16::from_ne_bytes(self.array(off))
    }
    fn u8(&self, off: usize) -> u8 {
        self.0[off]
    }
    fn i32(&self, off: usize) -> i32 {
        i32::from_ne_bytes(self.array(off))
    }
}

/// A fixed-size structure of the ABI, decoded from the bytes the module
/// wrote (the caller checks the length).
pub(crate) trait Decode: Sized {
    /// The structure's size in bytes.
    const SIZE: usize;
    /// Decodes `b`, which holds exactly [`Decode::SIZE`] bytes.
    fn decode(b: &[u8]) -> Self;
}

impl Decode for TaskCount {
    const SIZE: usize = size_of::<TaskCount>();
    fn decode(b: &[u8]) -> Self {
        let b = Bytes(b);
        TaskCount {
            tcpsndpacks: b.u64(offset_of!(TaskCount, tcpsndpacks)),
            tcpsndbytes: b.u64(offset_of!(TaskCount, tcpsndbytes)),
            tcprcvpacks: b.u64(offset_of!(TaskCount, tcprcvpacks)),
            tcprcvbytes: b.u64(offset_of!(TaskCount, tcprcvbytes)),
            udpsndpacks: b.u64(offset_of!(TaskCount, udpsndpacks)),
            udpsndbytes: b.u64(offset_of!(TaskCount, udpsndbytes)),
            udprcvpacks: b.u64(offset_of!(TaskCount, udprcvpacks)),
            udprcvbytes: b.u64(offset_of!(TaskCount, udprcvbytes)),
        }
    }
}

impl Decode for ListHeader {
    const SIZE: usize = size_of::<ListHeader>();
    fn decode(b: &[u8]) -> Self {
        let b = Bytes(b);
        ListHeader {
            total: b.u32(offset_of!(ListHeader, total)),
            count: b.u32(offset_of!(ListHeader, count)),
            overflow: b.u64(offset_of!(ListHeader, overflow)),
        }
    }
}

impl Decode for CgroupCount {
    const SIZE: usize = size_of::<CgroupCount>();
    fn decode(b: &[u8]) -> Self {
        let r = Bytes(b);
        let tc = offset_of!(CgroupCount, tc);
        CgroupCount {
            id: r.u64(offset_of!(CgroupCount, id)),
            nprocs: r.u32(offset_of!(CgroupCount, nprocs)),
            pad: r.u32(offset_of!(CgroupCount, pad)),
            tc: TaskCount::decode(&b[tc..tc + TaskCount::SIZE]),
        }
    }
}

impl Decode for ProcInfo {
    const SIZE: usize = size_of::<ProcInfo>();
    fn decode(b: &[u8]) -> Self {
        let r = Bytes(b);
        let tc = offset_of!(ProcInfo, tc);
        ProcInfo {
            id: r.i32(offset_of!(ProcInfo, id)),
            pad: r.u32(offset_of!(ProcInfo, pad)),
            btime: r.u64(offset_of!(ProcInfo, btime)),
            command: r.array(offset_of!(ProcInfo, command)),
            cgroup: r.u64(offset_of!(ProcInfo, cgroup)),
            tc: TaskCount::decode(&b[tc..tc + TaskCount::SIZE]),
        }
    }
}

impl Decode for ConnInfo {
    const SIZE: usize = size_of::<ConnInfo>();
    fn decode(b: &[u8]) -> Self {
        let r = Bytes(b);
        ConnInfo {
            netns: r.u64(offset_of!(ConnInfo, netns)),
            tgid: r.i32(offset_of!(ConnInfo, tgid)),
            pid: r.i32(offset_of!(ConnInfo, pid)),
            btime: r.u64(offset_of!(ConnInfo, btime)),
            proto: r.u8(offset_of!(ConnInfo, proto)),
            family: r.u8(offset_of!(ConnInfo, family)),
            state: r.u8(offset_of!(ConnInfo, state)),
            flags: r.u8(offset_of!(ConnInfo, flags)),
            lport: r.u16(offset_of!(ConnInfo, lport)),
            rport: r.u16(offset_of!(ConnInfo, rport)),
            laddr: r.array(offset_of!(ConnInfo, laddr)),
            raddr: r.array(offset_of!(ConnInfo, raddr)),
            sndpacks: r.u64(offset_of!(ConnInfo, sndpacks)),
            sndbytes: r.u64(offset_of!(ConnInfo, sndbytes)),
            rcvpacks: r.u64(offset_of!(ConnInfo, rcvpacks)),
            rcvbytes: r.u64(offset_of!(ConnInfo, rcvbytes)),
        }
    }
}

/// The getsockopt commands of the netatop ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Command {
    /// `NETATOP_PROBE`: succeeds when the module is loaded.
    Probe = NETATOP_BASE_CTL,
    /// `NETATOP_FORCE_GC`: run the module's garbage collector now.
    ForceGc = NETATOP_BASE_CTL + 1,
    /// `NETATOP_EMPTY_EXIT`: block until the exit list is empty.
    EmptyExit = NETATOP_BASE_CTL + 2,
    /// `NETATOP_GETCNT_EXIT`: take the oldest finished process (blocks).
    GetcntExit = NETATOP_BASE_CTL + 3,
    /// `NETATOP_GETCNT_TGID`: counters of a process.
    GetcntTgid = NETATOP_BASE_CTL + 4,
    /// `NETATOP_GETCNT_PID`: counters of a thread.
    GetcntPid = NETATOP_BASE_CTL + 5,
    /// `NETATOP_GETCNT_CGROUP` (netatop-rs): counters of one cgroup.
    GetcntCgroup = NETATOP_BASE_CTL + 6,
    /// `NETATOP_GETCNT_TASKS` (netatop-rs): every live process with counters.
    GetcntTasks = NETATOP_BASE_CTL + 7,
    /// `NETATOP_GETCNT_CGROUPS` (netatop-rs): every cgroup with counters.
    GetcntCgroups = NETATOP_BASE_CTL + 8,
    /// `NETATOP_GETCNT_CONNS` (netatop-rs): every connection with its owner
    /// and counters.
    GetcntConns = NETATOP_BASE_CTL + 9,
}

// The constants are the header's.
const _: () = {
    assert!(COMLEN as i64 == c::COMLEN);
    assert!(NETATOP_BASE_CTL as i64 == c::NETATOP_BASE_CTL);
    assert!(Command::Probe as i64 == c::NETATOP_PROBE);
    assert!(Command::ForceGc as i64 == c::NETATOP_FORCE_GC);
    assert!(Command::EmptyExit as i64 == c::NETATOP_EMPTY_EXIT);
    assert!(Command::GetcntExit as i64 == c::NETATOP_GETCNT_EXIT);
    assert!(Command::GetcntTgid as i64 == c::NETATOP_GETCNT_TGID);
    assert!(Command::GetcntPid as i64 == c::NETATOP_GETCNT_PID);
    assert!(Command::GetcntCgroup as i64 == c::NETATOP_GETCNT_CGROUP);
    assert!(Command::GetcntTasks as i64 == c::NETATOP_GETCNT_TASKS);
    assert!(Command::GetcntCgroups as i64 == c::NETATOP_GETCNT_CGROUPS);
    assert!(Command::GetcntConns as i64 == c::NETATOP_GETCNT_CONNS);
    assert!(CONN_PEERS as i64 == c::NETATOP_CONN_PEERS);
};

impl Command {
    /// The six commands of netatop 3.2.2 (the ones atop uses), in numeric
    /// order.
    pub const ALL: [Command; 6] = [
        Command::Probe,
        Command::ForceGc,
        Command::EmptyExit,
        Command::GetcntExit,
        Command::GetcntTgid,
        Command::GetcntPid,
    ];

    /// The commands netatop-rs adds after [`Command::ALL`], in numeric order.
    pub const EXTENDED: [Command; 4] = [
        Command::GetcntCgroup,
        Command::GetcntTasks,
        Command::GetcntCgroups,
        Command::GetcntConns,
    ];

    /// The getsockopt option name.
    pub fn raw(self) -> i32 {
        self as i32
    }

    /// The command's name in `include/netatop.h`, e.g. `NETATOP_GETCNT_TASKS`.
    pub fn name(self) -> &'static str {
        match self {
            Command::Probe => "NETATOP_PROBE",
            Command::ForceGc => "NETATOP_FORCE_GC",
            Command::EmptyExit => "NETATOP_EMPTY_EXIT",
            Command::GetcntExit => "NETATOP_GETCNT_EXIT",
            Command::GetcntTgid => "NETATOP_GETCNT_TGID",
            Command::GetcntPid => "NETATOP_GETCNT_PID",
            Command::GetcntCgroup => "NETATOP_GETCNT_CGROUP",
            Command::GetcntTasks => "NETATOP_GETCNT_TASKS",
            Command::GetcntCgroups => "NETATOP_GETCNT_CGROUPS",
            Command::GetcntConns => "NETATOP_GETCNT_CONNS",
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn command_numbers_match_netatop_3_2_2() {
        let raw: Vec<i32> = Command::ALL.iter().map(|c| c.raw()).collect();
        assert_eq!(raw, [15661, 15662, 15663, 15664, 15665, 15666]);
        let raw: Vec<i32> = Command::EXTENDED.iter().map(|c| c.raw()).collect();
        assert_eq!(raw, [15667, 15668, 15669, 15670]);
        assert_eq!(Command::GetcntConns.name(), "NETATOP_GETCNT_CONNS");
        assert_eq!(Command::GetcntTasks.name(), "NETATOP_GETCNT_TASKS");
    }

    /// Bytes as the module writes them, field by field at the ABI's offsets.
    fn put(buf: &mut [u8], off: usize, v: &[u8]) {
        buf[off..off + v.len()].copy_from_slice(v);
    }

    fn tc_bytes(first: u64) -> Vec<u8> {
        (0..8u64).flat_map(|i| (first + i).to_ne_bytes()).collect()
    }

    #[test]
    fn decodes_the_new_structures_at_their_offsets() {
        let mut b = vec![0u8; 104];
        put(&mut b, 0, &(-7i32).to_ne_bytes());
        put(&mut b, 4, &0u32.to_ne_bytes());
        put(&mut b, 8, &1_717_200_000u64.to_ne_bytes());
        put(&mut b, 16, b"nginx\0");
        put(&mut b, 32, &4242u64.to_ne_bytes());
        put(&mut b, 40, &tc_bytes(1));
        let p = ProcInfo::decode(&b);
        assert_eq!((p.id, p.btime, p.cgroup), (-7, 1_717_200_000, 4242));
        assert_eq!(p.command(), "nginx");
        assert_eq!(p.tc.tcpsndpacks, 1);
        assert_eq!(p.tc.udprcvbytes, 8);

        let mut b = vec![0u8; 80];
        put(&mut b, 0, &99u64.to_ne_bytes());
        put(&mut b, 8, &3u32.to_ne_bytes());
        put(&mut b, 16, &tc_bytes(10));
        let c = CgroupCount::decode(&b);
        assert_eq!((c.id, c.nprocs, c.pad), (99, 3, 0));
        assert_eq!(c.tc.tcpsndbytes, 11);
        assert_eq!(c.tc.udprcvbytes, 17);

        let mut b = vec![0u8; 16];
        put(&mut b, 0, &5u32.to_ne_bytes());
        put(&mut b, 4, &2u32.to_ne_bytes());
        put(&mut b, 8, &77u64.to_ne_bytes());
        assert_eq!(
            ListHeader::decode(&b),
            ListHeader {
                total: 5,
                count: 2,
                overflow: 77
            }
        );
    }

    /// A `struct netatop_conninfo` as the module writes it, field by field
    /// at the header's offsets (not through `offset_of!`).
    pub(crate) fn conninfo_bytes(c: &ConnInfo) -> Vec<u8> {
        let mut b = vec![0u8; 96];
        put(&mut b, 0, &c.netns.to_ne_bytes());
        put(&mut b, 8, &c.tgid.to_ne_bytes());
        put(&mut b, 12, &c.pid.to_ne_bytes());
        put(&mut b, 16, &c.btime.to_ne_bytes());
        put(&mut b, 24, &[c.proto, c.family, c.state, c.flags]);
        put(&mut b, 28, &c.lport.to_ne_bytes());
        put(&mut b, 30, &c.rport.to_ne_bytes());
        put(&mut b, 32, &c.laddr);
        put(&mut b, 48, &c.raddr);
        put(&mut b, 64, &c.sndpacks.to_ne_bytes());
        put(&mut b, 72, &c.sndbytes.to_ne_bytes());
        put(&mut b, 80, &c.rcvpacks.to_ne_bytes());
        put(&mut b, 88, &c.rcvbytes.to_ne_bytes());
        b
    }

    #[test]
    fn decodes_a_conninfo_at_its_offsets() {
        let mut raddr = [0u8; 16];
        raddr[..4].copy_from_slice(&[10, 1, 2, 3]);
        let c = ConnInfo {
            netns: 0x1122_3344_5566_7788,
            tgid: 4242,
            pid: 4243,
            btime: 1_717_200_000,
            proto: 6,
            family: 2,
            state: 1,
            flags: 0,
            lport: 51000,
            rport: 443,
            laddr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            raddr,
            sndpacks: 11,
            sndbytes: 1_000_000_000_007,
            rcvpacks: 13,
            rcvbytes: 17,
        };
        let b = conninfo_bytes(&c);
        assert_eq!(ConnInfo::decode(&b), c);
        assert_eq!(ConnInfo::SIZE, 96);
        // Each byte-sized field where the header has it.
        let mut b = vec![0u8; 96];
        put(&mut b, 24, &[17, 10, 0, CONN_PEERS]);
        let d = ConnInfo::decode(&b);
        assert_eq!((d.proto, d.family, d.state, d.flags), (17, 10, 0, 1));
        assert_eq!((d.tgid, d.pid, d.lport, d.rport), (0, 0, 0, 0));
    }

    #[test]
    fn command_name_stops_at_nul() {
        let mut npt = NetPerTask::default();
        npt.command[..5].copy_from_slice(b"atop\0");
        npt.command[5] = b'x';
        assert_eq!(npt.command(), "atop");
        npt.command = [b'a'; COMLEN];
        assert_eq!(npt.command(), "a".repeat(COMLEN));
    }

    #[test]
    fn task_count_arithmetic() {
        let a = TaskCount::from_array([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(a.tcpsndbytes, 2);
        assert_eq!(a.udprcvbytes, 8);
        assert_eq!(a.to_array(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(a.bytes_sent(), 2 + 6);
        assert_eq!(a.bytes_received(), 4 + 8);
        assert_eq!(a.total_bytes(), 2 + 4 + 6 + 8);
        let b = TaskCount::from_array([1, 2, 3, 5, 5, 6, 7, 8]);
        assert!(b.covers(&a));
        assert!(!a.covers(&b));
        assert!(a.covers(&a));
        assert_eq!(a.saturating_add(b).to_array(), [2, 4, 6, 9, 10, 12, 14, 16]);
        // Saturating, never wrapping.
        let max = TaskCount::from_array([u64::MAX; 8]);
        assert_eq!(max.total_bytes(), u64::MAX);
        assert_eq!(max.bytes_sent(), u64::MAX);
        assert_eq!(max.saturating_add(a).to_array(), [u64::MAX; 8]);
        let one_big = TaskCount {
            udprcvbytes: u64::MAX,
            tcpsndbytes: 5,
            ..TaskCount::default()
        };
        assert_eq!(one_big.total_bytes(), u64::MAX);
        assert_eq!(one_big.bytes_sent(), 5);
    }

    #[test]
    fn btime_in_seconds() {
        let npt = NetPerTask {
            btime: 1_717_200_000,
            ..NetPerTask::default()
        };
        assert_eq!(npt.btime_secs(), 1_717_200_000u64);
    }
}
