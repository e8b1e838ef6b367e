//! The `netatop` binary as a user meets it: exit codes and messages.
//!
//! These run on the build host, where the module is normally not loaded;
//! the checks that need its absence are skipped when `/proc/netatop` exists.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn netatop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netatop"))
        .args(args)
        .output()
        .expect("run netatop")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

fn module_absent() -> bool {
    !std::path::Path::new("/proc/netatop").exists()
}

const NOT_LOADED: &str =
    "netatop: the netatop kernel module is not loaded (try: modprobe netatop)\n";

#[test]
fn version() {
    let out = netatop(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!("netatop {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_arguments_give_one_line_and_status_2() {
    for (args, msg) in [
        (
            &["show", "abc"][..],
            "netatop: invalid value 'abc' for '<PID>...': not a process id (a positive number) (see 'netatop --help')\n",
        ),
        (
            &["show", "1", "-7"],
            "netatop: invalid value '-7' for '<PID>...': a process id is a positive number (see 'netatop --help')\n",
        ),
        (
            &["top", "--interval", "0"],
            "netatop: invalid value '0' for '--interval <SECS>': must be between 0.1 and 1000000000 seconds (see 'netatop --help')\n",
        ),
        (
            &["bogus"],
            "netatop: unrecognized subcommand 'bogus' (see 'netatop --help')\n",
        ),
        (
            &["show", "--cgroup", "/", "1"],
            "netatop: the argument '--cgroup <PATH>' cannot be used with '<PID>...' (see 'netatop --help')\n",
        ),
        (
            &["top", "--cgroups", "--sort", "pid"],
            "netatop: --sort pid does not apply to --cgroups (use procs or path)\n",
        ),
        (
            &["top", "--sort", "path"],
            "netatop: --sort path only applies to --cgroups\n",
        ),
        (
            &["top", "--sort", "remote"],
            "netatop: --sort remote only applies to --connections\n",
        ),
        (
            &["top", "--connections", "--sort", "tcp-snd"],
            "netatop: --sort tcp-snd does not apply to --connections (use snd, rcv, local, remote, ...)\n",
        ),
        (
            &["connections", "--pid", "0"],
            "netatop: invalid value '0' for '--pid <PID>': a process id is a positive number (see 'netatop --help')\n",
        ),
    ] {
        let out = netatop(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&out.stderr), msg, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn no_command_prints_the_usage_and_status_2() {
    let out = netatop(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage: netatop <COMMAND>"));
}

#[test]
fn help_goes_to_stdout_with_status_0() {
    let out = netatop(&["top", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--sort <COL>"));
}

#[test]
fn status_without_the_module() {
    if !module_absent() {
        return;
    }
    let out = netatop(&["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout), "module:          not loaded\n");
    assert_eq!(text(&out.stderr), NOT_LOADED);

    let out = netatop(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out.stdout),
        "{\n  \"module\": \"not-loaded\",\n  \"probe_error\": \"the netatop kernel module is not loaded (try: modprobe netatop)\",\n  \"proc\": null,\n  \"proc_error\": null\n}\n"
    );
}

#[test]
fn commands_needing_the_module_fail_at_once_without_it() {
    if !module_absent() {
        return;
    }
    for args in [
        &["show", "1"][..],
        &["show", "--thread", "1", "2"],
        &["exited"],
        &["exited", "--timeout", "30"],
        &["top", "--batch", "--interval", "30"],
        &["top", "--json"],
        &["top"],
        &["show", "--cgroup", "/"],
        &["show", "--cgroup", "/system.slice/none.service", "--json"],
        &["top", "--cgroups", "--batch", "--interval", "30"],
        &["top", "--cgroups", "--json"],
        &["connections"],
        &["connections", "--pid", "1", "--json"],
        &["top", "--connections", "--batch", "--interval", "30"],
    ] {
        let start = Instant::now();
        let out = netatop(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert_eq!(text(&out.stderr), NOT_LOADED, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(start.elapsed() < Duration::from_secs(10), "{args:?} waited");
    }
}
