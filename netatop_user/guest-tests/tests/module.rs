//! The module's registration: PROBE, privileges, unload, /proc/netatop.
//!
//! Runs as root inside the test VM with netatop.ko loaded (make check).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use netatop::{Command, Error, Netatop, ProcCounters, PROC_PATH};
use netatop_guest_tests::{module_exclusive, module_loaded, module_path, run};

/// `getsockopt(fd, SOL_IP, cmd, NULL, &0)` returning the raw errno (0 on success).
fn raw_probe_errno(fd: &OwnedFd, cmd: i32) -> i32 {
    let mut len: libc::socklen_t = 0;
    // SAFETY: null buffer with length 0; `len` is a live local.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_IP,
            cmd,
            std::ptr::null_mut(),
            &mut len,
        )
    };
    if rc == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
    }
}

fn raw_socket() -> OwnedFd {
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: new descriptor owned by nobody else.
    unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) }
}

#[test]
fn probe_answers_when_loaded() {
    let _m = module_loaded();
    let netatop = Netatop::open().expect("open raw socket as root");
    netatop.probe().expect("NETATOP_PROBE");
    // atop's exact call: NULL optval, optlen 0.
    assert_eq!(raw_probe_errno(&raw_socket(), Command::Probe.raw()), 0);
}

/// Every command (the six of netatop 3.2.2 and netatop-rs's GETCNT_CGROUP,
/// GETCNT_TASKS, GETCNT_CGROUPS, GETCNT_CONNS) gives EPERM to a caller without
/// CAP_NET_ADMIN, checked before anything else: the socket is opened as
/// root, then a child drops to uid/gid 65534 (losing all capabilities) and
/// issues each command with a buffer long enough for any of them.
#[test]
fn unprivileged_caller_gets_eperm_for_every_command() {
    let _m = module_loaded();
    let sock = raw_socket();
    // SAFETY: the child only makes async-signal-safe system calls, then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain system calls in the child; no allocation, no locks.
        unsafe {
            let nobody = 65534;
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(nobody, nobody, nobody) != 0
                || libc::setresuid(nobody, nobody, nobody) != 0
            {
                libc::_exit(100);
            }
            // The first command that did not fail with EPERM, as
            // cmd - 15660 (0: all did).
            let mut code = 0;
            for cmd in 15661..=15670 {
                let mut buf = [0u8; 256];
                let mut len: libc::socklen_t = 256;
                let rc = libc::getsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_IP,
                    cmd,
                    buf.as_mut_ptr().cast(),
                    &mut len,
                );
                if code == 0 && (rc != -1 || *libc::__errno_location() != libc::EPERM) {
                    code = cmd - 15660;
                }
            }
            libc::_exit(code);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
    assert_ne!(
        libc::WEXITSTATUS(status),
        100,
        "child could not drop privileges"
    );
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "command {} did not fail with EPERM",
        15660 + libc::WEXITSTATUS(status)
    );
}

#[test]
fn proc_netatop_is_byte_for_byte_the_reference_format() {
    let _m = module_loaded();
    let text = std::fs::read_to_string(PROC_PATH).expect("read /proc/netatop");
    let counters = ProcCounters::parse(&text).expect("parse /proc/netatop");
    assert_eq!(
        counters.render(),
        text,
        "/proc/netatop differs from the reference format"
    );
    // netatop 3.2.2's 13 lines, then a blank line and netatop-rs's two.
    assert_eq!(text.lines().count(), 16, "16 lines");
    assert_eq!(
        text.lines().filter(|l| l.is_empty()).count(),
        4,
        "4 of them empty"
    );
    assert_eq!(
        text.lines().nth(12).map(|l| l.starts_with("modversion:")),
        Some(true)
    );
    let refused = counters.refused.expect("netatop-rs's refusal lines");
    assert_eq!(
        refused.sockinfo_full + refused.sockinfo_nomem,
        counters.sockinfo_overflow
    );
    assert_eq!(
        refused.taskinfo_full + refused.taskinfo_nomem,
        counters.taskinfo_overflow
    );

    // modversion is the module's own version, the one modinfo shows.
    let version =
        std::fs::read_to_string("/sys/module/netatop/version").expect("module version in sysfs");
    assert_eq!(counters.modversion, version.trim());
    let modinfo = run("modinfo", &["-F", "version", &module_path()]);
    assert_eq!(modinfo.trim(), version.trim());

    // Global, read-only, owned by root.
    let meta = std::fs::metadata(PROC_PATH).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o444);
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
}

#[test]
fn modinfo_shows_license_description_author_version() {
    let _m = module_loaded();
    let ko = module_path();
    let field = |f: &str| run("modinfo", &["-F", f, &ko]).trim().to_owned();
    assert_eq!(field("license"), "GPL");
    assert_eq!(field("name"), "netatop");
    assert!(
        field("description").contains("network accounting"),
        "{}",
        field("description")
    );
    assert!(!field("author").is_empty());
    // rust/VERSION, which the workspace's version equals
    // (tests/host/versions.sh).
    assert_eq!(field("version"), env!("CARGO_PKG_VERSION"));
}

/// After unload every command (netatop-rs's own too) fails with
/// ENOPROTOOPT and /proc/netatop is gone; after reload PROBE answers again.
#[test]
fn unload_gives_enoprotoopt_and_reload_restores() {
    let _m = module_exclusive();
    let sock = raw_socket();
    assert_eq!(raw_probe_errno(&sock, Command::Probe.raw()), 0);

    run("rmmod", &["netatop"]);
    for cmd in Command::ALL.into_iter().chain(Command::EXTENDED) {
        assert_eq!(
            raw_probe_errno(&sock, cmd.raw()),
            libc::ENOPROTOOPT,
            "{cmd:?} after unload"
        );
    }
    assert!(matches!(
        Netatop::open().unwrap().probe(),
        Err(Error::ModuleNotLoaded)
    ));
    assert!(matches!(ProcCounters::read(), Err(Error::ModuleNotLoaded)));

    run("insmod", &[&module_path()]);
    assert_eq!(raw_probe_errno(&sock, Command::Probe.raw()), 0);
    ProcCounters::read().expect("/proc/netatop back after reload");
}
