//! Sockopt fuzzer for netatop.ko: random commands, lengths, buffers and ids,
//! from privileged and unprivileged callers, inside pid and user namespaces.
//! Every answer must be one the interface documents; on success no byte
//! past the returned length may change and the padding must be zero. The
//! commands are the six of netatop 3.2.2 and netatop-rs's four list and
//! cgroup commands (GETCNT_CGROUP, GETCNT_TASKS, GETCNT_CGROUPS,
//! GETCNT_CONNS), whose answers must also be consistent: the header's count
//! is what the length says, no more than `total`, and as many entries as
//! the buffer had room for; a connection's protocol, family, flags and
//! addresses are ones `struct netatop_conninfo` documents.
//!
//! usage: netatop-fuzz [--seed N] [--iterations N]
//! Exit status 0 when every call behaved, 1 otherwise (each violation is
//! printed with the seed and iteration to replay it).

use std::io::Write;

/// A deterministic xorshift64* generator (no external crates needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Who makes the calls.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Root,
    /// uid/gid 65534, no capabilities.
    Nobody,
    /// root in a new user namespace: no capability in the initial one.
    UserNs,
    /// root, as pid 1 of a new pid namespace.
    PidNs,
}

/// What the buffer pointer points at.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Buf {
    Valid,
    Misaligned,
    Null,
    Unmapped,
    ReadOnly,
    Kernel,
}

const PAGE: usize = 4096;
/// Bytes filled with the pattern before a list command (all of the mapping
/// from the misaligned start), and before any other command.
const FILL: usize = 2 * PAGE - 1;
const FILL_SHORT: usize = 300;
/// The pattern.
const PATTERN: u8 = 0xa5;
/// `struct netatop_listhdr`, `struct netatop_procinfo`, `struct netatop_cgroupcount`,
/// `struct netatop_conninfo`.
const LISTHDR: usize = 16;
const PROCINFO: usize = 104;
const CGROUPCOUNT: usize = 80;
const CONNINFO: usize = 96;

struct Buffers {
    rw: *mut u8,
    ro: *mut u8,
    unmapped: *mut u8,
}

fn map(prot: i32) -> *mut u8 {
    // SAFETY: anonymous private mapping; checked below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            2 * PAGE,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap");
    p.cast()
}

impl Buffers {
    fn new() -> Self {
        Buffers {
            rw: map(libc::PROT_READ | libc::PROT_WRITE),
            ro: map(libc::PROT_READ | libc::PROT_WRITE),
            // Below vm.mmap_min_addr: no user mapping can ever be there.
            unmapped: 0x1000 as *mut u8,
        }
    }
}

struct Fuzzer {
    rng: Rng,
    seed: u64,
    fd: i32,
    bufs: Buffers,
    live_pids: Vec<i32>,
    /// Cgroup ids the module knew before the run.
    cgroup_ids: Vec<u64>,
    failures: u64,
    calls: u64,
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl Fuzzer {
    /// One random call; returns false on a violation.
    fn one(&mut self, caller: Caller, iteration: u64) -> bool {
        let cmd = match self.rng.below(100) {
            0 => 15660 + 11 * self.rng.below(2) as i32, // just outside the range
            1..=3 => 15662,                             // FORCE_GC: slow, keep it rare
            4..=9 => 15663,                             // EMPTY_EXIT
            10..=21 => 15664,                           // GETCNT_EXIT
            22..=29 => 15661,                           // PROBE
            30..=48 => 15665,
            49..=66 => 15666,
            67..=76 => 15667, // GETCNT_CGROUP
            77..=84 => 15668, // GETCNT_TASKS
            85..=92 => 15669, // GETCNT_CGROUPS
            _ => 15670,       // GETCNT_CONNS
        };
        let len: i32 = match self.rng.below(10) {
            0 => -(self.rng.below(1 << 31) as i32) - 1,
            1 => 0,
            2 => i32::MAX,
            // The sizes of the answers, with room for 0, 1 or many entries.
            3 => [96, 80, 79, 16, 15, 120, 119, 224, 112, 111, 208, 4096]
                [self.rng.below(12) as usize],
            _ => self.rng.below(201) as i32,
        };
        let buf = match self.rng.below(12) {
            0 => Buf::Null,
            1 => Buf::Unmapped,
            2 => Buf::ReadOnly,
            3 => Buf::Kernel,
            4 => Buf::Misaligned,
            _ => Buf::Valid,
        };
        let id: i32 = match self.rng.below(6) {
            0 => 0,
            1 => -1 - self.rng.below(1000) as i32,
            2 => self.rng.below(1 << 22) as i32,
            3 => i32::MAX,
            _ => self.live_pids[self.rng.below(self.live_pids.len() as u64) as usize],
        };
        let cgroup: u64 = match self.rng.below(6) {
            0 => 0,
            1 => u64::MAX,
            2 => self.rng.next(),
            3 => self.rng.below(1 << 20),
            _ if self.cgroup_ids.is_empty() => 1,
            _ => self.cgroup_ids[self.rng.below(self.cgroup_ids.len() as u64) as usize],
        };

        // Prepare the buffer: pattern, then the id.
        let filled = if matches!(cmd, 15668..=15670) {
            FILL
        } else {
            FILL_SHORT
        };
        let ptr: *mut u8 = match buf {
            Buf::Valid => self.bufs.rw,
            // SAFETY: within the 2-page mapping.
            Buf::Misaligned => unsafe { self.bufs.rw.add(1) },
            Buf::Null => std::ptr::null_mut(),
            Buf::Unmapped => self.bufs.unmapped,
            Buf::ReadOnly => self.bufs.ro,
            Buf::Kernel => 0xffff_8880_0000_0000usize as *mut u8,
        };
        if matches!(buf, Buf::Valid | Buf::Misaligned | Buf::ReadOnly) {
            // SAFETY: `ptr` is inside a writable (for now) 2-page mapping and
            // at most 1 + FILL bytes are written.
            unsafe {
                std::ptr::write_bytes(ptr, PATTERN, filled);
                if cmd == 15667 {
                    std::ptr::copy_nonoverlapping(cgroup.to_ne_bytes().as_ptr(), ptr, 8);
                } else {
                    std::ptr::copy_nonoverlapping(id.to_ne_bytes().as_ptr(), ptr, 4);
                }
            }
        }
        if buf == Buf::ReadOnly {
            // SAFETY: our own mapping.
            unsafe { libc::mprotect(self.bufs.ro.cast(), 2 * PAGE, libc::PROT_READ) };
        }

        let mut l = len as libc::socklen_t;
        // Blocking commands are interrupted by an interval timer (SIGALRM).
        // SAFETY: the kernel validates `ptr` and `l`; our buffers are live.
        let rc = unsafe { libc::getsockopt(self.fd, libc::SOL_IP, cmd, ptr.cast(), &mut l) };
        let err = if rc == 0 { 0 } else { errno() };
        if buf == Buf::ReadOnly {
            // SAFETY: our own mapping.
            unsafe {
                libc::mprotect(
                    self.bufs.ro.cast(),
                    2 * PAGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
        }
        self.calls += 1;

        let allowed = self.allowed(caller, cmd, len, buf);
        let mut why = String::new();
        if !allowed.contains(&err) {
            why = format!("errno {err} not in {allowed:?}");
        } else if err == 0 && matches!(buf, Buf::Valid | Buf::Misaligned) {
            // SAFETY: reading back our own buffer (at most FILL bytes from
            // `ptr` are inside the mapping).
            let out = unsafe { std::slice::from_raw_parts(ptr, filled) };
            if let Err(e) = check_answer(cmd, len, l as usize, cgroup, out) {
                why = e;
            }
        }
        let ok = why.is_empty();
        if !ok {
            self.failures += 1;
            println!(
                "VIOLATION seed={} iteration={iteration} caller={caller:?} cmd={cmd} len={len} buf={buf:?} id={id} cgroup={cgroup}: {why}",
                self.seed
            );
        }
        ok
    }

    /// The documented answers for a call.
    fn allowed(&self, caller: Caller, cmd: i32, len: i32, buf: Buf) -> Vec<i32> {
        use libc::*;
        // The IP layer refuses a negative optlen before netfilter is asked.
        if len < 0 {
            return vec![EINVAL];
        }
        if !(15661..=15670).contains(&cmd) {
            return vec![ENOPROTOOPT];
        }
        if matches!(caller, Caller::Nobody | Caller::UserNs) {
            return vec![EPERM];
        }
        let readable = matches!(buf, Buf::Valid | Buf::Misaligned | Buf::ReadOnly);
        let writable = matches!(buf, Buf::Valid | Buf::Misaligned);
        match cmd {
            15661 => vec![0],
            // FORCE_GC may wait for the rate limit and be interrupted.
            15662 => vec![0, EINTR],
            15663 => vec![0, EINTR],
            // GETCNT_CGROUP: reads the id, then writes 80 bytes.
            15667 => {
                if len < CGROUPCOUNT as i32 {
                    vec![EINVAL]
                } else if !readable {
                    vec![EFAULT]
                } else if writable {
                    vec![0, ESRCH]
                } else {
                    vec![EFAULT, ESRCH]
                }
            }
            // GETCNT_TASKS, GETCNT_CGROUPS, GETCNT_CONNS: write a header and
            // the entries that fit. A huge length may ask for more than our
            // mapping.
            15668..=15670 => {
                if len < LISTHDR as i32 {
                    vec![EINVAL]
                } else if !writable {
                    vec![EFAULT]
                } else if len as usize > FILL {
                    vec![0, EFAULT]
                } else {
                    vec![0]
                }
            }
            15664 => {
                if len < 4 {
                    vec![EINVAL]
                } else if writable {
                    vec![0, EINTR]
                } else {
                    // Blocks until a record exists, then the copy fails.
                    vec![EFAULT, EINTR]
                }
            }
            _ => {
                if len < 4 {
                    vec![EINVAL]
                } else if !readable {
                    vec![EFAULT]
                } else if writable {
                    vec![0, ESRCH]
                } else {
                    vec![EFAULT, ESRCH]
                }
            }
        }
    }
}

/// Checks a successful answer `out` (the buffer after the call; `l` the
/// length the kernel wrote back): the length, the bytes after it untouched,
/// padding zero, and for the lists a header consistent with the length.
fn check_answer(cmd: i32, len: i32, l: usize, cgroup: u64, out: &[u8]) -> Result<(), String> {
    let u32_at = |o: usize| u32::from_ne_bytes(out[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_ne_bytes(out[o..o + 8].try_into().unwrap());
    let zero = |r: std::ops::Range<usize>, what: &str| -> Result<(), String> {
        if out[r.clone()].iter().any(|&b| b != 0) {
            return Err(format!("{what} not zero: {:?}", &out[r]));
        }
        Ok(())
    };
    match cmd {
        15664..=15666 => {
            // Exactly min(len, 96) bytes written back.
            let n = (len as u32).min(96) as usize;
            if l != n {
                return Err(format!("optlen {l} returned, expected {n}"));
            }
            if n >= 8 {
                zero(4..8, "padding")?;
            }
        }
        15667 => {
            if l != CGROUPCOUNT {
                return Err(format!("optlen {l} returned, expected {CGROUPCOUNT}"));
            }
            if u64_at(0) != cgroup {
                return Err(format!(
                    "answer for cgroup {} instead of {cgroup}",
                    u64_at(0)
                ));
            }
            zero(12..16, "padding")?;
        }
        15668..=15670 => {
            let size = match cmd {
                15668 => PROCINFO,
                15669 => CGROUPCOUNT,
                _ => CONNINFO,
            };
            let entries = l.saturating_sub(LISTHDR) / size;
            if l < LISTHDR || LISTHDR + entries * size != l || l > out.len() {
                return Err(format!(
                    "optlen {l} returned: not a header and whole entries"
                ));
            }
            let (total, count) = (u32_at(0) as usize, u32_at(4) as usize);
            let room = (len as usize - LISTHDR) / size;
            if count != entries {
                return Err(format!("count {count} but optlen {l}"));
            }
            if count != total.min(room) {
                return Err(format!("count {count}, total {total}, room {room}"));
            }
            for e in (0..count).map(|i| LISTHDR + i * size) {
                match cmd {
                    15668 => {
                        zero(e + 4..e + 8, "procinfo padding")?;
                        let comm = &out[e + 16..e + 32];
                        let nul = comm.iter().position(|&b| b == 0).unwrap_or(16);
                        zero(e + 16 + nul..e + 32, "command after its NUL")?;
                    }
                    15669 => zero(e + 12..e + 16, "cgroupcount padding")?,
                    _ => check_conninfo(&out[e..e + CONNINFO])?,
                }
            }
        }
        _ => return Ok(()),
    }
    if out[l..].iter().any(|&b| b != PATTERN) {
        return Err("bytes past optlen changed".into());
    }
    Ok(())
}

/// One `struct netatop_conninfo`: what its header documents. Protocol TCP
/// or UDP; family AF_INET or AF_INET6 (UDP: 0 if no remote end was seen,
/// then no remote end at all); no flag but NETATOP_CONN_PEERS, and that for
/// UDP only; an IPv4 address in the first 4 bytes; UDP's local address
/// zero; no thread without a process, no start time without one.
fn check_conninfo(c: &[u8]) -> Result<(), String> {
    let (tgid, pid) = (
        i32::from_ne_bytes(c[8..12].try_into().unwrap()),
        i32::from_ne_bytes(c[12..16].try_into().unwrap()),
    );
    let btime = u64::from_ne_bytes(c[16..24].try_into().unwrap());
    let (proto, family, flags) = (c[24], c[25], c[27]);
    let rport = u16::from_ne_bytes(c[30..32].try_into().unwrap());
    let (laddr, raddr) = (&c[32..48], &c[48..64]);
    let bad = |what: &str| Err(format!("conninfo {what}: {c:?}"));
    let udp = match proto {
        6 => false,
        17 => true,
        _ => return bad("protocol"),
    };
    match family {
        2 => {
            if laddr[4..].iter().chain(&raddr[4..]).any(|&b| b != 0) {
                return bad("IPv4 address past 4 bytes");
            }
        }
        10 => {}
        0 if udp => {
            if rport != 0 || raddr.iter().any(|&b| b != 0) {
                return bad("remote end without a family");
            }
        }
        _ => return bad("family"),
    }
    if flags & !1 != 0 || (flags != 0 && !udp) {
        return bad("flags");
    }
    if udp && laddr.iter().any(|&b| b != 0) {
        return bad("UDP local address");
    }
    if tgid == 0 && (pid != 0 || btime != 0) {
        return bad("thread or start time without a process");
    }
    Ok(())
}

extern "C" fn on_alarm(_: libc::c_int) {}

fn arm_interval_timer() {
    // SAFETY: installs a no-op handler (no SA_RESTART) and a 20 ms timer.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut());
        let t = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 20_000,
            },
            it_value: libc::timeval {
                tv_sec: 0,
                tv_usec: 20_000,
            },
        };
        libc::setitimer(libc::ITIMER_REAL, &t, std::ptr::null_mut());
    }
}

fn live_pids() -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.push(std::process::id() as i32);
    pids
}

/// The cgroup ids the module has counters for, after one datagram of ours
/// (so that at least our own cgroup is known).
fn known_cgroups() -> Vec<u64> {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(b"x", "127.0.0.1:9").unwrap();
    let n = netatop::Netatop::open().expect("open the netatop socket");
    let list = n.cgroups().expect("NETATOP_GETCNT_CGROUPS");
    list.entries.iter().map(|c| c.id).collect()
}

/// Runs `iterations` calls as `caller` in a child process; returns
/// (calls, violations).
fn run_as(caller: Caller, seed: u64, iterations: u64, cgroup_ids: &[u64]) -> (u64, u64) {
    let pids = live_pids();
    // The socket is opened as root before any privilege is dropped.
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    let mut pipe = [0i32; 2];
    // SAFETY: plain system call.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    std::io::stdout().flush().unwrap();
    if caller == Caller::PidNs {
        // SAFETY: plain system call; the next fork's child is pid 1 there.
        assert_eq!(
            unsafe { libc::unshare(libc::CLONE_NEWPID) },
            0,
            "unshare(CLONE_NEWPID)"
        );
    }
    // SAFETY: the child runs to completion and _exits.
    let child = unsafe { libc::fork() };
    assert!(child >= 0);
    if child == 0 {
        // SAFETY: privilege changes in the child only.
        unsafe {
            match caller {
                Caller::Nobody => {
                    if libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setresgid(65534, 65534, 65534) != 0
                        || libc::setresuid(65534, 65534, 65534) != 0
                    {
                        libc::_exit(100);
                    }
                }
                Caller::UserNs => {
                    if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                        libc::_exit(101);
                    }
                }
                Caller::Root | Caller::PidNs => {}
            }
        }
        arm_interval_timer();
        let mut f = Fuzzer {
            rng: Rng(seed | 1),
            seed,
            fd,
            bufs: Buffers::new(),
            live_pids: pids,
            cgroup_ids: cgroup_ids.to_vec(),
            failures: 0,
            calls: 0,
        };
        for i in 0..iterations {
            f.one(caller, i);
        }
        let report = format!("{} {}", f.calls, f.failures);
        // SAFETY: writing to our pipe, then exiting without unwinding.
        unsafe {
            libc::write(pipe[1], report.as_ptr().cast(), report.len());
            libc::_exit(0);
        }
    }
    // SAFETY: closing our write end.
    unsafe { libc::close(pipe[1]) };
    let mut status = 0;
    // SAFETY: waiting for our child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let mut out = [0u8; 64];
    // SAFETY: reading into a local buffer.
    let n = unsafe { libc::read(pipe[0], out.as_mut_ptr().cast(), out.len()) };
    // SAFETY: closing our descriptors.
    unsafe {
        libc::close(pipe[0]);
        libc::close(fd);
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 && n > 0,
        "{caller:?} fuzz child failed: status {status:#x}"
    );
    let text = String::from_utf8_lossy(&out[..n as usize]).into_owned();
    let mut it = text.split_whitespace().map(|w| w.parse::<u64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse().expect("a number"))
            .unwrap_or(default)
    };
    let seed = opt("--seed", 0x006e_6574_6174_6f70);
    let iterations = opt("--iterations", 4000);
    let cgroup_ids = known_cgroups();
    println!("fuzz: cgroup ids known to the module: {cgroup_ids:?}");
    let mut total = (0, 0);
    for (i, caller) in [Caller::Root, Caller::Nobody, Caller::UserNs, Caller::PidNs]
        .into_iter()
        .enumerate()
    {
        let (calls, failures) =
            run_as(caller, seed.wrapping_add(i as u64), iterations, &cgroup_ids);
        println!("fuzz: {caller:?}: {calls} calls, {failures} violations");
        total.0 += calls;
        total.1 += failures;
    }
    println!(
        "fuzz: seed {seed}: {} calls, {} violations",
        total.0, total.1
    );
    std::process::exit(if total.1 == 0 { 0 } else { 1 });
}
