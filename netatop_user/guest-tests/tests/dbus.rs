//! netatop-dbus, the system D-Bus service `org.gnome.GTopNetStats`, on a
//! real bus of type system: `dbus-daemon --config-file` with the standard
//! default policy of a system bus and the repository's policy file
//! (`packaging/dbus/org.gnome.GTopNetStats.conf`), listening in a temporary
//! directory. The service runs as root; the callers are `gdbus call`
//! processes running as root, as uid 65534 (nobody) and as the uid of
//! `daemon` (groups cleared), each user with a traffic process of its own.
//! (dbus-daemon refuses a uid that has no passwd entry, so the second user
//! is an existing account.) `GetConnections` is checked against the
//! connections of a process of uid 65534 and of root's servers in a network
//! namespace whose nftables counts each direction.
//!
//! Runs as root inside the test VM with netatop.ko loaded (make check).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use netatop_guest_tests::{
    module_exclusive, module_loaded, module_path, nft_wire_counter, run, start_time, traffic_bin,
    Netns, Traffic, LINK_BYTES,
};

const NAME: &str = "org.gnome.GTopNetStats";
const PATH: &str = "/org/gnome/GTopNetStats";
/// For waits only (a TCG guest is slow); nothing is timed.
const DEADLINE: Duration = Duration::from_secs(120);
const NOBODY: u32 = 65534;

/// A binary of this workspace, next to the test binary's `deps/`.
fn tool(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join(name)
}

/// The repository's D-Bus policy file.
fn policy_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging/dbus/org.gnome.GTopNetStats.conf")
        .canonicalize()
        .expect("packaging/dbus/org.gnome.GTopNetStats.conf")
}

/// A child killed and reaped on drop, even when the test fails.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A dbus-daemon of type system in a temporary directory.
struct SystemBus {
    _daemon: Kill,
    address: String,
    dir: PathBuf,
}

impl SystemBus {
    fn start(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("netatop-dbus-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // World-traversable, so that the unprivileged callers reach the socket.
        run("chmod", &["755", dir.to_str().unwrap()]);
        let config = dir.join("system.conf");
        std::fs::write(&config, bus_config(&dir.join("bus"), &policy_file())).unwrap();
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("run dbus-daemon (apt-get install dbus-daemon)");
        let stdout = child.stdout.take().unwrap();
        let daemon = Kill(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        SystemBus {
            _daemon: daemon,
            address,
            dir,
        }
    }
}

impl Drop for SystemBus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The configuration of a system bus (`tests/vm/system-bus.conf`, shared
/// with the demo and the bench) listening on `socket`, plus `policy`.
fn bus_config(socket: &Path, policy: &Path) -> String {
    include_str!("../../../tests/vm/system-bus.conf")
        .replace("@SOCKET@", &socket.display().to_string())
        .replace("@POLICY@", &policy.display().to_string())
}

/// Runs `cmd` as `uid` (its gid the same, no supplementary groups; std
/// clears them when it changes the uid), or as root.
fn as_user(cmd: &mut Command, uid: Option<u32>) -> &mut Command {
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    cmd
}

/// `gdbus call` on the bus as `uid` (None: root).
fn gdbus(
    bus: &SystemBus,
    uid: Option<u32>,
    dest: &str,
    path: &str,
    method: &str,
    args: &[&str],
) -> Output {
    let mut cmd = Command::new("gdbus");
    cmd.args(["call", "--address", &bus.address, "--dest", dest])
        .args(["--object-path", path, "--method", method])
        .args(args)
        .env("HOME", "/");
    as_user(&mut cmd, uid)
        .output()
        .expect("run gdbus (apt-get install libglib2.0-bin)")
}

/// A method of the service, called as `uid`: its printed answer, or the
/// error gdbus printed.
fn call(bus: &SystemBus, uid: Option<u32>, method: &str) -> Result<String, String> {
    let out = gdbus(bus, uid, NAME, PATH, &format!("{NAME}.{method}"), &[]);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A value as `gdbus call` prints it (GVariant text format), as far as
/// this service's answers need.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Num(u64),
    Bool(bool),
    Str(String),
    Tuple(Vec<Value>),
    Array(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

impl Value {
    fn num(&self) -> u64 {
        match self {
            Value::Num(n) => *n,
            other => panic!("not a number: {other:?}"),
        }
    }

    fn str(&self) -> &str {
        match self {
            Value::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    fn bool(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            other => panic!("not a boolean: {other:?}"),
        }
    }
}

/// Parses GVariant text: numbers with or without a type annotation
/// (`uint64 7`; GLib annotates the first entry of a container only),
/// booleans, strings in single or double quotes, tuples, arrays,
/// dictionaries, and `@TYPE` before an empty container.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Value {
        let mut p = Parser {
            s: text.trim().as_bytes(),
            i: 0,
        };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing text in {text:?}");
        v
    }

    fn peek(&self) -> u8 {
        *self.s.get(self.i).unwrap_or(&0)
    }

    fn ws(&mut self) {
        while self.peek() == b' ' {
            self.i += 1;
        }
    }

    fn word(&mut self) {
        while !matches!(self.peek(), b' ' | 0) {
            self.i += 1;
        }
        self.ws();
    }

    fn value(&mut self) -> Value {
        self.ws();
        for (word, b) in [("true", true), ("false", false)] {
            let end = self.i + word.len();
            if self.s[self.i..].starts_with(word.as_bytes())
                && !self.s.get(end).is_some_and(u8::is_ascii_alphanumeric)
            {
                self.i = end;
                return Value::Bool(b);
            }
        }
        // Type annotations: `@a{u(tt)} {}`, `uint64 7`.
        if self.peek() == b'@' || self.peek().is_ascii_alphabetic() {
            self.word();
        }
        match self.peek() {
            b'(' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == b')' {
                        self.i += 1;
                        return Value::Tuple(items);
                    }
                    items.push(self.value());
                    self.ws();
                    if self.peek() == b',' {
                        self.i += 1;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == b']' {
                        self.i += 1;
                        return Value::Array(items);
                    }
                    items.push(self.value());
                    self.ws();
                    if self.peek() == b',' {
                        self.i += 1;
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == b'}' {
                        self.i += 1;
                        return Value::Dict(items);
                    }
                    let key = self.value();
                    self.ws();
                    assert_eq!(self.peek(), b':', "dictionary entry at {}", self.i);
                    self.i += 1;
                    items.push((key, self.value()));
                    self.ws();
                    if self.peek() == b',' {
                        self.i += 1;
                    }
                }
            }
            q @ (b'\'' | b'"') => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    match self.peek() {
                        0 => panic!("unterminated string"),
                        b'\\' => {
                            out.push(self.s[self.i + 1]);
                            self.i += 2;
                        }
                        c if c == q => {
                            self.i += 1;
                            return Value::Str(String::from_utf8_lossy(&out).into_owned());
                        }
                        c => {
                            out.push(c);
                            self.i += 1;
                        }
                    }
                }
            }
            c if c.is_ascii_digit() => {
                let start = self.i;
                while self.peek().is_ascii_digit() {
                    self.i += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Value::Num(digits.parse().unwrap())
            }
            c => panic!("unexpected {:?} at {}", c as char, self.i),
        }
    }
}

/// The dictionary of a printed answer `({uint32 7: (...), ...},)`: pid ->
/// the fields of its tuple.
fn entries(text: &str) -> HashMap<u32, Vec<Value>> {
    let Value::Tuple(top) = Parser::parse(text) else {
        panic!("not a tuple: {text}");
    };
    let Some(Value::Dict(dict)) = top.first() else {
        panic!("not a dictionary: {text}");
    };
    dict.iter()
        .map(|(k, v)| {
            let Value::Tuple(fields) = v else {
                panic!("not a tuple: {v:?}");
            };
            (u32::try_from(k.num()).unwrap(), fields.clone())
        })
        .collect()
}

/// The parser on what gdbus prints for this service's answers.
#[test]
fn gdbus_output_parses() {
    let stats = entries("({uint32 123: (uint64 456, uint64 0), 77: (1, 2)},)");
    assert_eq!(stats[&123], [Value::Num(456), Value::Num(0)]);
    assert_eq!(stats[&77], [Value::Num(1), Value::Num(2)]);
    assert!(entries("(@a{u(tt)} {},)").is_empty());
    let rich = entries(
        "({uint32 9: ('netatop-traffic', uint64 17, uint64 5, \"/a (b), 'c'\", uint64 0, \
         uint64 0, uint64 0, uint64 0, uint64 6, uint64 456, uint64 0, uint64 0), \
         10: ('x\\'y', 1, 2, '', 0, 0, 0, 0, 0, 0, 0, 0)},)",
    );
    assert_eq!(rich[&9][0], Value::Str("netatop-traffic".into()));
    assert_eq!(rich[&9][3], Value::Str("/a (b), 'c'".into()));
    assert_eq!(rich[&9][9], Value::Num(456));
    assert_eq!(rich[&10][0], Value::Str("x'y".into()));
    assert_eq!(rich[&10].len(), 12);
    let conns = connections(
        "([(uint32 9, uint64 17, 'netatop-traffic', 'tcp', 'ipv6', '::1', uint16 40000, \
         '::1', uint16 5001, 'ESTABLISHED', false, uint64 1, uint64 2, uint64 3, uint64 4), \
         (0, 0, '', 'udp', '', '0.0.0.0', 53, '', 0, '', true, 5, 6, 7, 8)],)",
    );
    assert_eq!(
        conns,
        [
            Conn {
                pid: 9,
                start_time: 17,
                comm: "netatop-traffic".into(),
                protocol: "tcp".into(),
                family: "ipv6".into(),
                local: ("::1".into(), 40000),
                remote: ("::1".into(), 5001),
                state: "ESTABLISHED".into(),
                peers_many: false,
                counters: [1, 2, 3, 4],
            },
            Conn {
                pid: 0,
                start_time: 0,
                comm: "".into(),
                protocol: "udp".into(),
                family: "".into(),
                local: ("0.0.0.0".into(), 53),
                remote: ("".into(), 0),
                state: "".into(),
                peers_many: true,
                counters: [5, 6, 7, 8],
            },
        ]
    );
    assert!(connections("(@a(utssssqsqsbtttt) [],)").is_empty());
}

/// One entry of `GetConnections`'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Conn {
    pid: u32,
    start_time: u64,
    comm: String,
    protocol: String,
    family: String,
    local: (String, u16),
    remote: (String, u16),
    state: String,
    peers_many: bool,
    /// Packets sent, bytes sent, packets received, bytes received.
    counters: [u64; 4],
}

/// The array of a printed `GetConnections` answer `([(...), ...],)`.
fn connections(text: &str) -> Vec<Conn> {
    let Value::Tuple(top) = Parser::parse(text) else {
        panic!("not a tuple: {text}");
    };
    let Some(Value::Array(items)) = top.first() else {
        panic!("not an array: {text}");
    };
    items
        .iter()
        .map(|v| {
            let Value::Tuple(f) = v else {
                panic!("not a tuple: {v:?}");
            };
            assert_eq!(f.len(), 15, "{v:?}");
            let port = |v: &Value| u16::try_from(v.num()).unwrap();
            Conn {
                pid: u32::try_from(f[0].num()).unwrap(),
                start_time: f[1].num(),
                comm: f[2].str().into(),
                protocol: f[3].str().into(),
                family: f[4].str().into(),
                local: (f[5].str().into(), port(&f[6])),
                remote: (f[7].str().into(), port(&f[8])),
                state: f[9].str().into(),
                peers_many: f[10].bool(),
                counters: [f[11].num(), f[12].num(), f[13].num(), f[14].num()],
            }
        })
        .collect()
}

/// `GetConnections` as `uid`.
fn get_connections(bus: &SystemBus, uid: Option<u32>) -> Vec<Conn> {
    let text = call(bus, uid, "GetConnections")
        .unwrap_or_else(|e| panic!("GetConnections as {uid:?}: {e}"));
    connections(&text)
}

/// `GetStats` as `uid`: pid -> (bytes sent, bytes received).
fn get_stats(bus: &SystemBus, uid: Option<u32>) -> HashMap<u32, (u64, u64)> {
    let text = call(bus, uid, "GetStats").unwrap_or_else(|e| panic!("GetStats as {uid:?}: {e}"));
    entries(&text)
        .into_iter()
        .map(|(pid, f)| {
            assert_eq!(f.len(), 2, "{text}");
            (pid, (f[0].num(), f[1].num()))
        })
        .collect()
}

/// The real uid of a process (None: gone).
fn real_uid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A `netatop-traffic udp-blast` run as `uid`: COUNT datagrams of SIZE
/// bytes to the discard port, then it waits (alive) until dropped.
struct UserTraffic {
    _child: Kill,
    pid: u32,
    /// The bytes the module counts for what it sent: IP and UDP headers,
    /// payload and the link-layer estimate.
    sent: u64,
}

fn udp_traffic(uid: u32, count: u64, size: u64) -> UserTraffic {
    let mut cmd = Command::new(traffic_bin());
    cmd.args([
        "udp-blast",
        "127.0.0.1",
        "9",
        &count.to_string(),
        &size.to_string(),
    ]);
    let mut child = as_user(&mut cmd, Some(uid))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn netatop-traffic");
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let child = Kill(child);
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("netatop-traffic exited before 'done'")
            .unwrap();
        if line.starts_with("done") {
            break;
        }
    }
    assert_eq!(real_uid(pid), Some(uid));
    UserTraffic {
        _child: child,
        pid,
        sent: count * (20 + 8 + size + LINK_BYTES),
    }
}

/// netatop-dbus running as root on `bus`.
fn start_service(bus: &SystemBus, admin_group: &str) -> Kill {
    let service = Kill(
        Command::new(tool("netatop-dbus"))
            .args(["--address", &bus.address, "--admin-group", admin_group])
            .spawn()
            .expect("run netatop-dbus"),
    );
    let start = Instant::now();
    loop {
        let out = gdbus(
            bus,
            None,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &[NAME],
        );
        if String::from_utf8_lossy(&out.stdout).contains("true") {
            return service;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{NAME} never appeared on the bus"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The gid of group `name` in /etc/group.
fn group_gid(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[0] == name)
            .then(|| f[2].parse().ok())
            .flatten()
    })
}

/// The uid of user `name` in /etc/passwd.
fn passwd_uid(name: &str) -> u32 {
    let text = std::fs::read_to_string("/etc/passwd").unwrap();
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[0] == name)
                .then(|| f[2].parse().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("no user {name} in /etc/passwd"))
}

/// Loads the module again if a failed test left it unloaded.
struct Reload;

impl Drop for Reload {
    fn drop(&mut self) {
        if !Path::new("/proc/netatop").exists() {
            let _ = Command::new("insmod").arg(module_path()).status();
        }
    }
}

/// Each user sees exactly its own traffic process and none of the other
/// user's; root and a member of the admin group see both; the compatibility
/// methods succeed; without the module the documented error, and after
/// insmod the next call works.
#[test]
fn each_user_sees_its_own_traffic_and_root_sees_all() {
    let _m = module_exclusive();
    let _reload = Reload;
    let bus = SystemBus::start("main");
    // "users" (gid 100 on Debian) as the admin group: no caller below is in
    // it unless given it explicitly.
    let admin_gid = group_gid("users");
    let _service = start_service(&bus, if admin_gid.is_some() { "users" } else { "" });

    let other = passwd_uid("daemon");
    assert_ne!(other, 0);
    let mine = udp_traffic(NOBODY, 6, 30);
    let theirs = udp_traffic(other, 4, 50);

    for (uid, own, foreign) in [(NOBODY, &mine, &theirs), (other, &theirs, &mine)] {
        let stats = get_stats(&bus, Some(uid));
        assert_eq!(
            stats.get(&own.pid),
            Some(&(own.sent, 0)),
            "uid {uid}: its traffic process, exactly: {stats:?}"
        );
        assert!(
            !stats.contains_key(&foreign.pid),
            "uid {uid} sees the other user's process: {stats:?}"
        );
        for pid in stats.keys() {
            if let Some(owner) = real_uid(*pid) {
                assert_eq!(owner, uid, "uid {uid} sees pid {pid} of uid {owner}");
            }
        }
    }
    let all = get_stats(&bus, None);
    assert_eq!(all.get(&mine.pid), Some(&(mine.sent, 0)), "{all:?}");
    assert_eq!(all.get(&theirs.pid), Some(&(theirs.sent, 0)), "{all:?}");

    // A member of the admin group (the second user with the group as a
    // supplementary group, as the bus reports it) sees both too.
    if let Some(gid) = admin_gid {
        let out = Command::new("setpriv")
            .args([
                &format!("--reuid={other}"),
                &format!("--regid={other}"),
                &format!("--groups={gid}"),
                "gdbus",
                "call",
                "--address",
                &bus.address,
                "--dest",
                NAME,
                "--object-path",
                PATH,
                "--method",
                &format!("{NAME}.GetStats"),
            ])
            .env("HOME", "/")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let admin = entries(&String::from_utf8_lossy(&out.stdout));
        assert!(
            admin.contains_key(&mine.pid) && admin.contains_key(&theirs.pid),
            "the admin group sees all: {admin:?}"
        );
    }

    // The richer method: command, cgroup and the eight counters.
    let text = call(&bus, Some(NOBODY), "GetProcessStats").unwrap();
    let rich = entries(&text);
    let f = rich.get(&mine.pid).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(f.len(), 12, "{f:?}");
    assert_eq!(f[0], Value::Str("netatop-traffic".into()));
    let counters: Vec<u64> = f[4..].iter().map(Value::num).collect();
    assert_eq!(counters, [0, 0, 0, 0, 6, mine.sent, 0, 0], "{f:?}");
    assert!(!rich.contains_key(&theirs.pid), "{text}");

    for method in ["InitCapture", "Set", "Reset"] {
        for uid in [Some(NOBODY), None] {
            let out =
                call(&bus, uid, method).unwrap_or_else(|e| panic!("{method} as {uid:?}: {e}"));
            assert_eq!(out.trim(), "()", "{method}");
        }
    }

    // Without the module: the documented error; after insmod the next call
    // works, and new traffic is counted.
    run("rmmod", &["netatop"]);
    let err = call(&bus, Some(NOBODY), "GetStats").expect_err("GetStats without the module");
    assert!(
        err.contains("org.gnome.GTopNetStats.Error.ModuleNotLoaded"),
        "{err}"
    );
    run("insmod", &[&module_path()]);
    let after = udp_traffic(NOBODY, 3, 10);
    let stats = get_stats(&bus, Some(NOBODY));
    assert_eq!(stats.get(&after.pid), Some(&(after.sent, 0)), "{stats:?}");
}

/// The policy: nobody but root may own the name (uid 65534 is refused,
/// also when it runs netatop-dbus itself); everybody may call.
#[test]
fn only_root_may_own_the_name() {
    let bus = SystemBus::start("policy");
    let request = |uid: Option<u32>| {
        gdbus(
            &bus,
            uid,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.RequestName",
            &[NAME, "4"],
        )
    };
    let out = request(Some(NOBODY));
    assert!(!out.status.success(), "uid 65534 owned {NAME}: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("org.freedesktop.DBus.Error.AccessDenied"),
        "{err}"
    );

    let mut cmd = Command::new(tool("netatop-dbus"));
    cmd.args(["--address", &bus.address]).stderr(Stdio::piped());
    let out = as_user(&mut cmd, Some(NOBODY)).output().unwrap();
    assert!(!out.status.success(), "netatop-dbus served as uid 65534");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AccessDenied"), "{err}");

    // Root may (1 = DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER).
    let out = request(None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "(uint32 1,)");
}

/// `netatop-traffic ARGS` as `uid` in namespace `ns` (`ip netns exec`, then
/// `setpriv`, each exec'ing the next: the pid is the traffic process's),
/// once it has printed `done`: the process and its `ready` pairs.
fn traffic_as(uid: u32, ns: &Netns, args: &[&str]) -> (Kill, HashMap<String, String>) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "setpriv"])
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
        ])
        .arg(traffic_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn netatop-traffic");
    let stdout = child.stdout.take().unwrap();
    let child = Kill(child);
    let mut info = HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("ready") {
            for kv in rest.split_whitespace() {
                if let Some((k, v)) = kv.split_once('=') {
                    info.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        if line.starts_with("done") {
            return (child, info);
        }
    }
    panic!("netatop-traffic exited before 'done'");
}

/// `GetConnections`: a process of uid 65534 with a TCP connection over
/// `::1` and a UDP exchange over 127.0.0.1 with two servers of root, in a
/// namespace of its own (1500-byte loopback without offload, nftables
/// counting each direction of each at the input hook). As uid 65534 the
/// answer is exactly the process's two connections, with the right ends
/// and state, and the packets and bytes nftables counted (each packet plus
/// the link-layer estimate), the UDP ones also as generated; nothing of
/// root's and no connection of no process. As root it has these two and
/// each server's end of them, mirrored.
#[test]
fn get_connections_shows_each_user_its_own_connections() {
    const PINGS: u64 = 5;
    const SIZE: u64 = 64;
    const BYTES: u64 = 3000;
    let _m = module_loaded();
    let ns = Netns::new("dbus-conns");
    ns.one_skb_per_packet();
    // Both UDP ends on ports up to 1024, which the collector never drops for
    // idleness: on a loaded host, the D-Bus calls below may come more than
    // 16 s after the last datagram. Uid 65534 may bind one in this namespace.
    ns.exec("sysctl", &["-qw", "net.ipv4.ip_unprivileged_port_start=0"]);
    const ECHO_PORT: u16 = 1001;
    const CLIENT_PORT: u16 = 1002;
    let mut echo = Traffic::start(
        Some(&ns.name),
        &[
            "udp-echo-server",
            "127.0.0.1",
            &PINGS.to_string(),
            &ECHO_PORT.to_string(),
        ],
    );
    let mut server = Traffic::start(Some(&ns.name), &["tcp-server", "::1"]);
    let (udp_port, tcp_port) = (echo.get("port"), server.get("port"));
    let nft = format!(
        "table inet conns {{ chain in {{ type filter hook input priority 0; \
           tcp dport {tcp_port} counter comment \"tcp-to\"; \
           tcp sport {tcp_port} counter comment \"tcp-from\"; \
           udp dport {udp_port} counter comment \"udp-to\"; \
           udp sport {udp_port} counter comment \"udp-from\"; }}; }}"
    );
    ns.exec("nft", &[&nft]);

    let (_client, info) = traffic_as(
        NOBODY,
        &ns,
        &[
            "talk",
            "127.0.0.1",
            &udp_port.to_string(),
            &PINGS.to_string(),
            &SIZE.to_string(),
            "::1",
            &tcp_port.to_string(),
            &BYTES.to_string(),
            &CLIENT_PORT.to_string(),
        ],
    );
    let port = |k: &str| -> u16 { info[k].parse().unwrap() };
    let pid: u32 = info["pid"].parse().unwrap();
    let (my_udp, my_tcp) = (port("udp"), port("tcp"));
    assert_eq!((udp_port, my_udp), (i32::from(ECHO_PORT), CLIENT_PORT));
    assert_eq!(real_uid(pid), Some(NOBODY));
    echo.wait_done();
    server.wait_done();
    // Let delayed ACKs go out before comparing.
    std::thread::sleep(Duration::from_millis(600));

    // Packets and bytes as netatop counts them: IP length plus the
    // link-layer estimate per packet.
    let counted = |comment: &str| nft_wire_counter(&ns, "conns", comment);
    let (tcp_to, tcp_from) = (counted("tcp-to"), counted("tcp-from"));
    let (udp_to, udp_from) = (counted("udp-to"), counted("udp-from"));
    let udp_each_way = (PINGS, PINGS * (20 + 8 + SIZE + LINK_BYTES));
    assert_eq!(
        (udp_to, udp_from),
        (udp_each_way, udp_each_way),
        "nftables saw exactly the UDP the process made"
    );
    assert!(
        tcp_to.0 >= 4 && tcp_from.0 >= 2 && tcp_to.1 > BYTES,
        "a handshake, the data and the reply: {tcp_to:?} {tcp_from:?}"
    );

    let start = start_time(pid as i32);
    let mine = [
        Conn {
            pid,
            start_time: start,
            comm: "netatop-traffic".into(),
            protocol: "tcp".into(),
            family: "ipv6".into(),
            local: ("::1".into(), my_tcp),
            remote: ("::1".into(), tcp_port as u16),
            state: "ESTABLISHED".into(),
            peers_many: false,
            counters: [tcp_to.0, tcp_to.1, tcp_from.0, tcp_from.1],
        },
        Conn {
            pid,
            start_time: start,
            comm: "netatop-traffic".into(),
            protocol: "udp".into(),
            family: "ipv4".into(),
            local: ("0.0.0.0".into(), my_udp),
            remote: ("127.0.0.1".into(), udp_port as u16),
            state: "".into(),
            peers_many: false,
            counters: [udp_to.0, udp_to.1, udp_from.0, udp_from.1],
        },
    ];
    let bus = SystemBus::start("conns");
    let _service = start_service(&bus, "");

    let seen = get_connections(&bus, Some(NOBODY));
    let of = |conns: &[Conn], pid: i32| -> Vec<Conn> {
        conns
            .iter()
            .filter(|c| c.pid == pid as u32)
            .cloned()
            .collect()
    };
    assert_eq!(of(&seen, pid as i32), mine, "uid 65534: {seen:#?}");
    for c in &seen {
        assert_ne!(c.pid, 0, "uid 65534 sees a connection of no process: {c:?}");
        if let Some(owner) = real_uid(c.pid) {
            assert_eq!(
                owner, NOBODY,
                "uid 65534 sees a connection of uid {owner}: {c:?}"
            );
        }
    }
    for root_pid in [echo.get("pid"), server.get("pid")] {
        assert!(
            of(&seen, root_pid).is_empty(),
            "uid 65534 sees root's pid {root_pid}: {seen:#?}"
        );
    }

    let all = get_connections(&bus, None);
    assert_eq!(of(&all, pid as i32), mine, "root: {all:#?}");
    let (echo_pid, server_pid) = (echo.get("pid"), server.get("pid"));
    assert_eq!(
        of(&all, echo_pid),
        [Conn {
            pid: echo_pid as u32,
            start_time: start_time(echo_pid),
            comm: "netatop-traffic".into(),
            protocol: "udp".into(),
            family: "ipv4".into(),
            local: ("0.0.0.0".into(), udp_port as u16),
            remote: ("127.0.0.1".into(), my_udp),
            state: "".into(),
            peers_many: false,
            counters: [udp_from.0, udp_from.1, udp_to.0, udp_to.1],
        }],
        "root: the echo server's port"
    );
    assert_eq!(
        of(&all, server_pid),
        [Conn {
            pid: server_pid as u32,
            start_time: start_time(server_pid),
            comm: "netatop-traffic".into(),
            protocol: "tcp".into(),
            family: "ipv6".into(),
            local: ("::1".into(), tcp_port as u16),
            remote: ("::1".into(), my_tcp),
            state: "ESTABLISHED".into(),
            peers_many: false,
            counters: [tcp_from.0, tcp_from.1, tcp_to.0, tcp_to.1],
        }],
        "root: the TCP server's end"
    );
    println!(
        "GetConnections as uid 65534: {}",
        call(&bus, Some(NOBODY), "GetConnections").unwrap().trim()
    );
}
