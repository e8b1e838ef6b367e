//! The netatopd binary end to end, on the host: no kernel module needed
//! (without it, netatopd waits for the module and must still start, answer
//! its signals and stop cleanly). Tests that need root skip themselves
//! otherwise.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use netatopd::record::Header;
use netatopd::SemSet;

const BIN: &str = env!("CARGO_BIN_EXE_netatopd");

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Root, and a socket to issue the commands on; otherwise the test says why
/// it is skipped.
fn can_run_daemon() -> bool {
    if !is_root() {
        eprintln!("skipped: needs root");
        return false;
    }
    if let Err(e) = netatop::Netatop::open() {
        eprintln!("skipped: no socket ({e})");
        return false;
    }
    true
}

/// A private directory for the log file, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("netatopd-bin-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        Self(d)
    }
    fn log(&self) -> PathBuf {
        self.0.join("netatop.log")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A semaphore set under a key of its own, removed at the end.
struct TestSet {
    key: i32,
    set: Option<SemSet>,
}

impl TestSet {
    fn new(salt: i32) -> Self {
        let base = 0x4f00_0000 | ((std::process::id() as i32 & 0xffff) << 8) | (salt << 4);
        for key in base..base + 16 {
            let (set, created) = SemSet::create_or_attach(key).unwrap();
            if created {
                return Self {
                    key,
                    set: Some(set),
                };
            }
        }
        panic!("no free semaphore key near {base:#x}");
    }
    fn instances(&self) -> i32 {
        self.set.as_ref().unwrap().instances().unwrap()
    }
}

impl Drop for TestSet {
    fn drop(&mut self) {
        if let Some(s) = self.set.take() {
            let _ = s.remove();
        }
    }
}

fn netatopd(args: &[&str]) -> Command {
    netatopd_at(Path::new(BIN), args)
}

fn netatopd_at(bin: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args)
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The header once netatopd has written it (it does so after installing
/// its signal handlers and registering in the semaphore set).
fn wait_header(path: &Path) -> Header {
    let mut header = None;
    wait_until("the log header", Duration::from_secs(10), || {
        header = std::fs::read(path)
            .ok()
            .and_then(|b| Header::from_bytes(&b));
        header.is_some()
    });
    header.unwrap()
}

fn signal(pid: i32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if t.elapsed() > timeout {
            let _ = child.kill();
            panic!("netatopd did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn version_flag() {
    let out = netatopd(&["-V"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("netatopd {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn refuses_without_root() {
    let dir = TempDir::new("nonroot");
    let args = ["-f", "--log-file", "/nonexistent/netatop.log"];
    let mut cmd = if is_root() {
        // A copy that nobody can run wherever the checkout is (/root is 0700).
        let copy = dir.0.join("netatopd");
        std::fs::copy(BIN, &copy).unwrap();
        for p in [&dir.0, &copy] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut c = netatopd_at(&copy, &args);
        c.uid(65534).gid(65534);
        c
    } else {
        netatopd(&args)
    };
    // Another test's fork may briefly hold the copy open for writing.
    let mut tries = 0;
    let out = loop {
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            r => break r.unwrap(),
        }
    };
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "Root privileges are needed!\n"
    );
}

#[test]
fn foreground_start_second_instance_hangup_and_term() {
    if !can_run_daemon() {
        return;
    }
    let dir = TempDir::new("fg");
    let set = TestSet::new(1);
    let key = set.key.to_string();
    let log = dir.log();
    let log_arg = log.to_str().unwrap();
    let mut child = netatopd(&["-f", "--log-file", log_arg, "--sem-key", &key])
        .spawn()
        .unwrap();
    let pid = child.id() as i32;

    let h = wait_header(&log);
    assert_eq!(h, Header::new(pid));
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 16);
    assert_eq!(std::fs::metadata(&log).unwrap().mode() & 0o7777, 0o644);
    assert_eq!(set.instances(), 1);

    // A second instance is refused, verbatim, with status 3.
    let dir2 = TempDir::new("fg2");
    let out = netatopd(&[
        "-f",
        "--log-file",
        dir2.log().to_str().unwrap(),
        "--sem-key",
        &key,
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "Another netatopd is already running!\n"
    );
    assert!(!dir2.log().exists());
    assert_eq!(set.instances(), 1);

    // SIGHUP (atop signing off) only wakes it up.
    signal(pid, "HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP ended netatopd");

    // SIGTERM: a clean exit, well before the 10 s module retry, and the
    // kernel undoes its registration (SEM_UNDO).
    let t = Instant::now();
    signal(pid, "TERM");
    let st = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(st.code(), Some(0), "{st:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(set.instances(), 0);
    // The log stays for atop to finish reading.
    assert_eq!(Header::from_bytes(&std::fs::read(&log).unwrap()), Some(h));
}

#[test]
fn daemonises() {
    if !can_run_daemon() {
        return;
    }
    let dir = TempDir::new("daemon");
    let set = TestSet::new(2);
    let log = dir.log();
    let mut child = netatopd(&[
        "--log-file",
        log.to_str().unwrap(),
        "--sem-key",
        &set.key.to_string(),
    ])
    .spawn()
    .unwrap();
    // The process started returns at once; the daemon lives on.
    let st = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(st.code(), Some(0));
    let h = wait_header(&log);
    let pid = h.pid;
    assert_ne!(pid, child.id() as i32);
    wait_until("the registration", Duration::from_secs(5), || {
        set.instances() == 1
    });

    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let (ppid, session): (i32, i32) = (fields[1].parse().unwrap(), fields[3].parse().unwrap());
    let my_session = {
        let s = std::fs::read_to_string("/proc/self/stat").unwrap();
        let f: Vec<&str> = s[s.rfind(')').unwrap() + 2..].split(' ').collect();
        f[3].parse::<i32>().unwrap()
    };
    assert_ne!(session, my_session, "still in the caller's session");
    assert_ne!(session, pid, "a session leader could acquire a terminal");
    assert_ne!(ppid, child.id() as i32);
    assert_eq!(
        std::fs::read_link(proc_dir.join("cwd")).unwrap(),
        Path::new("/")
    );
    for fd in 0..=2 {
        assert_eq!(
            std::fs::read_link(proc_dir.join(format!("fd/{fd}"))).unwrap(),
            Path::new("/dev/null"),
            "fd {fd}"
        );
    }

    signal(pid, "TERM");
    // Not our child: it is gone (or a zombie) once it has exited.
    wait_until("the daemon to exit", Duration::from_secs(5), || {
        std::fs::read_to_string(proc_dir.join("stat"))
            .map(|s| s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
            .unwrap_or(true)
    });
    assert_eq!(set.instances(), 0);
}
