//! Helpers shared by the in-guest integration tests of `netatop.ko`.
//!
//! These tests need the module and root, so they run only inside the test VM
//! (`make check`); `cargo test` on the host excludes this crate.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static MODULE_LOCK: RwLock<()> = RwLock::new(());

/// Held by a test that needs the module loaded; tests run in parallel.
pub fn module_loaded() -> RwLockReadGuard<'static, ()> {
    MODULE_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

/// Held by a test that unloads and reloads the module; excludes all others.
pub fn module_exclusive() -> RwLockWriteGuard<'static, ()> {
    MODULE_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

/// Path of the netatop.ko under test (the harness sets `NETATOP_KO`).
pub fn module_path() -> String {
    std::env::var("NETATOP_KO").expect("NETATOP_KO must name the netatop.ko under test")
}

/// Runs a command and panics with its output when it fails.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Path of a binary of this workspace built alongside these tests (the
/// traffic generator, the `netatop` CLI, netatopd, netatop-exporter): next to
/// the test binary's `deps/` directory.
pub fn tool(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join(name)
}

/// Path of the traffic generator built with these tests.
pub fn traffic_bin() -> std::path::PathBuf {
    tool("netatop-traffic")
}

/// Link-layer bytes netatop adds per packet on loopback and veth: the
/// 14-byte Ethernet header plus 4 bytes of frame check sequence.
pub const LINK_BYTES: u64 = 18;

/// A running `netatop-traffic` process that has finished its traffic.
pub struct Traffic {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// `key=value` pairs from its `ready` lines.
    pub info: HashMap<String, String>,
}

impl Traffic {
    /// Starts `netatop-traffic ARGS` (in network namespace `netns` if given)
    /// and waits until it has printed `ready` (traffic may still be flowing).
    pub fn start(netns: Option<&str>, args: &[&str]) -> Self {
        Self::start_in(netns, None, args)
    }

    /// [`Traffic::start`], the process placed in `cgroup` (if given) before
    /// it runs, so before it sends anything.
    pub fn start_in(netns: Option<&str>, cgroup: Option<&Cgroup>, args: &[&str]) -> Self {
        let mut cmd = traffic_command(netns, args);
        if let Some(cg) = cgroup {
            cg.place(&mut cmd);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn netatop-traffic");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut t = Traffic {
            child,
            _stdout: stdout,
            info: HashMap::new(),
        };
        t.read_until("ready");
        t
    }

    fn read_until(&mut self, what: &str) {
        loop {
            let mut line = String::new();
            let n = self
                ._stdout
                .read_line(&mut line)
                .expect("read netatop-traffic");
            assert!(n > 0, "netatop-traffic exited before '{what}'");
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("ready") {
                for kv in rest.split_whitespace() {
                    if let Some((k, v)) = kv.split_once('=') {
                        self.info.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
            if line.starts_with(what) {
                return;
            }
        }
    }

    /// Waits until the process has made all its traffic.
    pub fn wait_done(&mut self) -> &mut Self {
        self.read_until("done");
        self
    }

    /// A value of its `ready` line.
    pub fn get(&self, key: &str) -> i32 {
        self.info
            .get(key)
            .unwrap_or_else(|| panic!("no '{key}' in {:?}", self.info))
            .parse()
            .unwrap()
    }

    /// Writes a line to its stdin (modes that wait for a go-ahead).
    pub fn send_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write to netatop-traffic");
        stdin.flush().expect("flush");
    }

    /// Lets the process exit and reaps it.
    pub fn finish(mut self) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "netatop-traffic failed: {status}");
    }
}

/// The command that runs `netatop-traffic ARGS`, in network namespace
/// `netns` if given (`ip netns exec` execs it: same pid).
pub fn traffic_command(netns: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(traffic_bin());
            c
        }
        None => Command::new(traffic_bin()),
    };
    cmd.args(args);
    cmd
}

/// The mount point of the cgroup2 file system; mounts it on /sys/fs/cgroup
/// first if no cgroup2 is mounted (the test VM's init may not have).
pub fn cgroup2_mount() -> std::path::PathBuf {
    static MOUNT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serial = MOUNT.lock().unwrap_or_else(|e| e.into_inner());
    match netatop::cgroup::mount_point() {
        Ok(m) => return m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot read /proc/self/mountinfo: {e}"),
    }
    run("mount", &["-t", "cgroup2", "none", "/sys/fs/cgroup"]);
    netatop::cgroup::mount_point()
        .unwrap_or_else(|e| panic!("cgroup2 mounted on /sys/fs/cgroup but not found: {e}"))
}

/// A cgroup v2 made for one test (directly under the cgroup2 root), removed
/// on drop once its processes are gone.
pub struct Cgroup {
    /// Its directory in the cgroup2 file system.
    pub dir: std::path::PathBuf,
    /// Its path as cgroups name it (`/netatop-test-...`, as in
    /// /proc/PID/cgroup and the exporter's `cgroup` label).
    pub path: String,
    procs: std::ffi::CString,
}

impl Cgroup {
    /// Creates `/netatop-test-<name>` (removing a stale one first).
    pub fn new(name: &str) -> Self {
        let path = format!("/netatop-test-{name}");
        let dir = cgroup2_mount().join(&path[1..]);
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let procs = std::ffi::CString::new(
            dir.join("cgroup.procs")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .unwrap();
        Cgroup { dir, path, procs }
    }

    /// Its id: the inode number of its directory, as the module reports it
    /// (checked against `netatop::cgroup::id_of`).
    pub fn id(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(&self.dir).unwrap().ino();
        let id = netatop::cgroup::id_of(&self.path)
            .unwrap_or_else(|e| panic!("netatop::cgroup::id_of({}): {e}", self.path));
        assert_eq!(id, ino, "netatop::cgroup::id_of({}) vs st_ino", self.path);
        id
    }

    /// Makes `cmd`'s process move itself into this cgroup between fork and
    /// exec (writes "0" to cgroup.procs), before it can send anything.
    pub fn place(&self, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        let procs = self.procs.clone();
        // SAFETY: the hook only makes system calls (open, write, close) on
        // memory allocated before the fork; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                let err = std::io::Error::last_os_error();
                libc::close(fd);
                if n != 1 {
                    return Err(err);
                }
                Ok(())
            });
        }
    }

    /// The pids in it now.
    pub fn pids(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect()
    }

    /// Removes the directory now (it must be empty of processes).
    pub fn remove(&self) {
        std::fs::remove_dir(&self.dir)
            .unwrap_or_else(|e| panic!("rmdir {}: {e}", self.dir.display()));
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Processes of a failed test may still be exiting.
        for _ in 0..50 {
            match std::fs::remove_dir(&self.dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(100))
                }
                _ => return,
            }
        }
    }
}

/// The packets and bytes (IP lengths) of the nftables rule with `comment`
/// in table `inet TABLE` of namespace `ns`.
pub fn nft_counter(ns: &Netns, table: &str, comment: &str) -> (u64, u64) {
    let out = ns.exec("nft", &["list", "table", "inet", table]);
    let line = out
        .lines()
        .find(|l| l.contains(&format!("comment \"{comment}\"")))
        .unwrap_or_else(|| panic!("no rule {comment} in\n{out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |what: &str| -> u64 {
        let i = words.iter().position(|w| *w == what).unwrap();
        words[i + 1].parse().unwrap()
    };
    (after("packets"), after("bytes"))
}

/// [`nft_counter`] as netatop counts the same packets: the IP lengths plus
/// [`LINK_BYTES`] per packet.
pub fn nft_wire_counter(ns: &Netns, table: &str, comment: &str) -> (u64, u64) {
    let (packets, bytes) = nft_counter(ns, table, comment);
    (packets, bytes + packets * LINK_BYTES)
}

/// A child process killed and reaped on drop (a server a test started),
/// even when the test fails.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A plain HTTP/1.0 GET of `path` from 127.0.0.1:`port`: (status, body).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:?}")))?;
    Ok((status, body.to_owned()))
}

/// `s` percent-encoded for a URL query value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A network namespace made for one test, deleted on drop.
pub struct Netns {
    /// Its name for `ip netns`.
    pub name: String,
}

impl Netns {
    /// Creates namespace `name` with loopback up.
    pub fn new(name: &str) -> Self {
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        run("ip", &["netns", "add", name]);
        run("ip", &["-n", name, "link", "set", "lo", "up"]);
        Netns {
            name: name.to_owned(),
        }
    }

    /// Gives its loopback a 1500-byte MTU and no segmentation offload, so
    /// that every skb is one wire packet: nftables, which counts skbs, then
    /// counts what netatop counts.
    pub fn one_skb_per_packet(&self) {
        self.ip(&["link", "set", "lo", "mtu", "1500"]);
        self.exec("ethtool", &["-K", "lo", "tso", "off", "gso", "off"]);
    }

    /// Runs `ip -n NAME ARGS...`.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all);
    }

    /// The namespace's cookie (`SO_NETNS_COOKIE` of a socket in it), as the
    /// module reports it in `struct netatop_conninfo`: read by a thread
    /// that enters the namespace (a network namespace is per thread).
    pub fn cookie(&self) -> u64 {
        use std::os::fd::AsRawFd;
        /// `SO_NETNS_COOKIE` (asm-generic/socket.h; not in the libc crate).
        const SO_NETNS_COOKIE: libc::c_int = 71;
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                // SAFETY: plain system calls on descriptors we own; the
                // cookie and its length are live locals of the right size.
                unsafe {
                    assert_eq!(libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
                    let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
                    assert!(fd >= 0, "socket");
                    let mut cookie = 0u64;
                    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
                    let rc = libc::getsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        SO_NETNS_COOKIE,
                        (&mut cookie as *mut u64).cast(),
                        &mut len,
                    );
                    libc::close(fd);
                    assert_eq!(
                        rc,
                        0,
                        "SO_NETNS_COOKIE: {}",
                        std::io::Error::last_os_error()
                    );
                    cookie
                }
            })
            .join()
            .unwrap()
        })
    }

    /// Runs `ip netns exec NAME CMD ARGS...` and returns its stdout.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.name, cmd];
        all.extend_from_slice(args);
        run("ip", &all)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a no-op SIGUSR1 handler without SA_RESTART (as netatopd's
/// SIGHUP), so the signal interrupts blocking netatop commands.
pub fn install_sigusr1() {
    // SAFETY: a handler that does nothing; the struct is fully initialised.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

/// How many sockinfo entries `kb` KiB hold, as the loaded module counts its
/// `sockinfo_limit_kb`: whole objects of its own slab cache,
/// `netatop_sockinfo`, of the size `kmem_cache_size()` gives the module,
/// which SLUB's `object_size` attribute shows. (`/proc/slabinfo`'s objsize
/// is the slot with the allocator's own metadata: the same on a production
/// kernel, larger under KASAN or SLUB debugging.)
pub fn sockinfo_cap(kb: u64) -> u64 {
    let path = "/sys/kernel/slab/netatop_sockinfo/object_size";
    let size: u64 = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    kb * 1024 / size
}

/// `/proc/netatop`, parsed.
pub fn proc_counters() -> netatop::ProcCounters {
    netatop::ProcCounters::read().expect("read /proc/netatop")
}

/// NETATOP_FORCE_GC.
pub fn force_gc() {
    netatop::Netatop::open()
        .unwrap()
        .force_gc()
        .expect("NETATOP_FORCE_GC");
}

/// Reads every record waiting on the exit list without blocking (the count
/// comes from /proc/netatop; callers hold the exclusive lock so that no
/// other test reads records).
pub fn drain_exits() -> Vec<netatop::NetPerTask> {
    let n = netatop::Netatop::open().unwrap();
    let waiting = proc_counters().taskexit;
    (0..waiting)
        .map(|_| n.next_exited().expect("NETATOP_GETCNT_EXIT"))
        .collect()
}

/// The module reloaded with non-default parameters; dropping it (even when
/// the test fails) reloads it with the defaults, so no later test inherits
/// them.
pub struct ModuleParams;

impl ModuleParams {
    /// Reloads the module with `params` (e.g. `["sockinfo_limit_kb=256"]`).
    pub fn load(params: &[&str]) -> Self {
        run("rmmod", &["netatop"]);
        let ko = module_path();
        let mut args = vec![ko.as_str()];
        args.extend_from_slice(params);
        run("insmod", &args);
        ModuleParams
    }
}

impl Drop for ModuleParams {
    fn drop(&mut self) {
        let _ = Command::new("rmmod").arg("netatop").status();
        let _ = Command::new("insmod").arg(module_path()).status();
    }
}

/// Unloads and reloads the module: fresh tables and counters.
pub fn reload_module() {
    run("rmmod", &["netatop"]);
    run("insmod", &[&module_path()]);
}

/// The calling thread's id (the pid netatop's per-thread counters use).
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// Start time of a live process as ps and atop compute it (seconds since the
/// epoch): /proc/stat btime + starttime / HZ.
pub fn start_time(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let ticks: u64 = after_comm
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    boot + ticks / hz
}

/// An echo server on 127.0.0.1 (an ephemeral port, returned) that serves
/// `connections` TCP connections, one at a time: it reads 100 bytes from
/// each and writes them back. Join the thread to know they are all served.
pub fn tcp_echo_server(connections: usize) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for _ in 0..connections {
            let (mut c, _) = listener.accept().unwrap();
            let mut b = [0u8; 100];
            c.read_exact(&mut b).unwrap();
            c.write_all(&b).unwrap();
        }
    });
    (port, server)
}

/// TCP and UDP packets sent and received, in that order: the columns of
/// the ledger (see [`ledger_balance`]).
pub type Ledger = [u64; 4];

fn ledger_of(tc: &netatop::TaskCount) -> Ledger {
    [
        tc.tcpsndpacks,
        tc.tcprcvpacks,
        tc.udpsndpacks,
        tc.udprcvpacks,
    ]
}

fn ledger_add(a: Ledger, b: Ledger) -> Ledger {
    [0, 1, 2, 3].map(|i| a[i] + b[i])
}

/// Traffic and process churn in `ns` whose every packet is between
/// processes that send: `rounds` rounds of five short-lived UDP clients
/// over IPv4 and five over IPv6 (`pings` ping-pongs each) against two echo
/// servers, plus a TCP pair that closes its connection. Returns the echo
/// servers (done, still alive) once everything else has finished.
pub fn ledger_traffic(ns: &Netns, rounds: usize, pings: usize) -> (Traffic, Traffic) {
    let answers = (rounds * 5 * pings).to_string();
    let mut echo4 = Traffic::start(Some(&ns.name), &["udp-echo-server", "127.0.0.1", &answers]);
    let mut echo6 = Traffic::start(Some(&ns.name), &["udp-echo-server", "::1", &answers]);
    for round in 0..rounds {
        let mut batch = Vec::new();
        for (addr, echo) in [("127.0.0.1", &echo4), ("::1", &echo6)] {
            let port = echo.get("port").to_string();
            for _ in 0..5 {
                batch.push(Traffic::start(
                    Some(&ns.name),
                    &["udp-client", addr, &port, &pings.to_string(), "32"],
                ));
            }
        }
        let server = Traffic::start(Some(&ns.name), &["tcp-server", "127.0.0.1", "close"]);
        let port = server.get("port").to_string();
        let bytes = (1000 * (round + 1)).to_string();
        batch.push(Traffic::start(
            Some(&ns.name),
            &["tcp-client", "127.0.0.1", &port, &bytes, "close"],
        ));
        batch.push(server);
        for t in batch.iter_mut() {
            t.wait_done();
        }
        for t in batch {
            t.finish();
        }
    }
    echo4.wait_done();
    echo6.wait_done();
    (echo4, echo6)
}

/// The ledger of a quiet guest after [`ledger_traffic`]: waits for the
/// closing handshakes, collects `collections` times (finished processes go
/// to the exit list; more than once retries what a failed allocation
/// postponed), then sums the counters of every live process (GETCNT_TGID
/// for each pid in /proc) and of every exit record (drained), and compares
/// them plus the unidentified packets with the global counters of
/// /proc/netatop, which must be equal. Returns the number of exit records.
pub fn ledger_balance(collections: usize) -> usize {
    std::thread::sleep(std::time::Duration::from_millis(500));
    for _ in 0..collections {
        force_gc();
    }
    let n = netatop::Netatop::open().unwrap();
    let mut live = [0u64; 4];
    let mut processes = 0;
    for entry in std::fs::read_dir("/proc").unwrap() {
        let name = entry.unwrap().file_name();
        let Ok(pid) = name.to_string_lossy().parse::<i32>() else {
            continue;
        };
        match n.process(pid) {
            Ok(npt) => {
                live = ledger_add(live, ledger_of(&npt.tc));
                processes += 1;
            }
            Err(netatop::Error::NoSuchTask(_)) => {}
            Err(e) => panic!("GETCNT_TGID {pid}: {e}"),
        }
    }
    let records = drain_exits();
    let exited = records
        .iter()
        .fold([0u64; 4], |a, r| ledger_add(a, ledger_of(&r.tc)));
    let p = proc_counters();
    let unident = [
        p.unident_tcpsndpacks,
        p.unident_tcprcvpacks,
        p.unident_udpsndpacks,
        p.unident_udprcvpacks,
    ];
    let global = [p.tcpsndpacks, p.tcprcvpacks, p.udpsndpacks, p.udprcvpacks];
    println!(
        "ledger [tcp snd, tcp rcv, udp snd, udp rcv]: {processes} live processes {live:?} + {} exit records {exited:?} + unidentified {unident:?} = global {global:?}",
        records.len()
    );
    assert_eq!(
        ledger_add(ledger_add(live, exited), unident),
        global,
        "live {live:?} + exited {exited:?} + unident {unident:?} vs global: {p:?}"
    );
    records.len()
}
