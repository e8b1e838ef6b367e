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

/// Path of the traffic generator built with these tests: next to the test
/// binary's `deps/` directory.
pub fn traffic_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("netatop-traffic")
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
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(traffic_bin());
                c
            }
            None => Command::new(traffic_bin()),
        };
        let mut child = cmd
            .args(args)
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

    /// Runs `ip -n NAME ARGS...`.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all);
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
