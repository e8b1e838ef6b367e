//! The tools people run, against the live module: the `netatop` CLI (text,
//! JSON, batch and the live `top` screen in a terminal), and netatopd with
//! the unmodified Debian atop reading our counters.
//!
//! Runs as root inside the test VM with netatop.ko loaded (make check).

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use netatop_guest_tests::{
    force_gc, module_exclusive, module_loaded, module_path, run, Netns, Traffic, LINK_BYTES,
};

fn tool(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join(name)
}

fn netatop(args: &[&str]) -> Output {
    Command::new(tool("netatop"))
        .args(args)
        .output()
        .expect("run netatop")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `netatop show --json` reports exactly the traffic of a live process.
#[test]
fn show_json_reports_exact_counts() {
    let _m = module_loaded();
    let mut t = Traffic::start(None, &["udp-blast", "127.0.0.1", "9", "6", "30"]);
    t.wait_done();
    let pid = t.get("pid");
    let v = json(&netatop(&["show", "--json", &pid.to_string()]));
    let rec = &v[0];
    assert_eq!(rec["id"], pid);
    assert_eq!(rec["command"], "netatop-traffic");
    assert_eq!(rec["counters"]["udpsndpacks"], 6);
    assert_eq!(
        rec["counters"]["udpsndbytes"],
        6 * (20 + 8 + 30 + LINK_BYTES)
    );
    let text = String::from_utf8(netatop(&["show", &pid.to_string()]).stdout).unwrap();
    assert!(text.contains("netatop-traffic"), "{text}");
    t.finish();
}

/// The module's commands do not depend on the network namespace of the
/// socket they are issued on (netfilter's socket options are global): the
/// CLI run in a network namespace of its own, as netatopd runs under
/// netatopd.service's PrivateNetwork=yes, reads exactly the traffic of a
/// process of the initial namespace.
#[test]
fn commands_work_from_a_private_network_namespace() {
    let _m = module_loaded();
    let ns = Netns::new("private-sockopt");
    let mut t = Traffic::start(None, &["udp-blast", "127.0.0.1", "9", "3", "20"]);
    t.wait_done();
    let pid = t.get("pid");
    let netatop = tool("netatop");
    let out = ns.exec(
        netatop.to_str().unwrap(),
        &["show", "--json", &pid.to_string()],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v[0]["id"], pid);
    assert_eq!(v[0]["counters"]["udpsndpacks"], 3);
    assert_eq!(
        v[0]["counters"]["udpsndbytes"],
        3 * (20 + 8 + 20 + LINK_BYTES)
    );
    t.finish();
}

/// `netatop status --json` carries the /proc counters.
#[test]
fn status_json_has_the_global_counters() {
    let _m = module_loaded();
    let v = json(&netatop(&["status", "--json"]));
    let text = serde_json::to_string(&v).unwrap();
    assert!(
        text.contains("udpsndpacks") && text.contains("modversion"),
        "{text}"
    );
}

/// Bad input: one line on stderr and a distinct exit code each.
#[test]
fn bad_input_gets_one_line_and_a_distinct_exit_code() {
    let _m = module_loaded();
    let check = |out: Output, code: i32| {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
    };
    check(netatop(&["show", "abc"]), 2);
    check(netatop(&["show", "999999"]), 5);
    let nobody = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(tool("netatop"))
        .args(["show", "1"])
        .output()
        .unwrap();
    check(nobody, 4);
}

/// Without the module: exit code 3, one line.
#[test]
fn no_module_gives_exit_code_3() {
    let _m = module_exclusive();
    run("rmmod", &["netatop"]);
    let out = netatop(&["status"]);
    run("insmod", &[&module_path()]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

/// `netatop top --batch --json`: the process generating traffic during the
/// interval is at the top, with its rates.
#[test]
fn top_batch_puts_the_busy_process_first() {
    let _m = module_exclusive();
    let echo = Traffic::start(None, &["udp-echo-server", "127.0.0.1", "400"]);
    let port = echo.get("port").to_string();
    let client = Traffic::start(
        None,
        &["udp-client-slow", "127.0.0.1", &port, "400", "1000", "20"],
    );
    let v = json(&netatop(&[
        "top", "--batch", "--json", "-d", "1", "-n", "1",
    ]));
    let doc = if v.is_array() { v[0].clone() } else { v };
    let first = &doc["tasks"][0];
    let ids = [client.get("pid"), echo.get("pid")];
    assert!(
        ids.contains(&(first["id"].as_i64().unwrap() as i32)),
        "top row {first} not one of {ids:?}"
    );
    assert!(
        first["rates"]["udp_snd_packets_per_sec"].as_f64().unwrap() > 10.0,
        "{first}"
    );
    let mut client = client;
    client.wait_done();
    let mut echo = echo;
    echo.wait_done();
    client.finish();
    echo.finish();
}

/// The live `top` screen in a terminal (tmux): the busy process shows up at
/// the top, and `q` quits.
#[test]
fn top_screen_in_a_terminal_shows_the_busy_process_and_quits_on_q() {
    let _m = module_exclusive();
    let echo = Traffic::start(None, &["udp-echo-server", "127.0.0.1", "300"]);
    let port = echo.get("port").to_string();
    let client = Traffic::start(
        None,
        &["udp-client-slow", "127.0.0.1", &port, "300", "1000", "20"],
    );
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", "nt"])
        .stderr(Stdio::null())
        .status();
    run(
        "tmux",
        &[
            "new-session",
            "-d",
            "-s",
            "nt",
            "-x",
            "160",
            "-y",
            "40",
            "bash --norc",
        ],
    );
    let cmd = format!("{} top -d 1", tool("netatop").display());
    run("tmux", &["send-keys", "-t", "nt", &cmd, "Enter"]);
    let ids = [client.get("pid").to_string(), echo.get("pid").to_string()];
    // Poll the screen: the first table row after the header must name one
    // of the busy processes.
    let mut screen = String::new();
    let mut first_pid = None;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(500));
        screen = run("tmux", &["capture-pane", "-p", "-t", "nt"]);
        let header = screen
            .lines()
            .position(|l| l.contains("PID") && l.contains("COMMAND"));
        first_pid = header
            .and_then(|h| screen.lines().skip(h + 1).find(|l| !l.trim().is_empty()))
            .and_then(|l| {
                l.split(|c: char| !c.is_ascii_digit())
                    .find(|w| !w.is_empty())
                    .map(str::to_owned)
            });
        if first_pid.as_ref().is_some_and(|p| ids.contains(p)) {
            break;
        }
    }
    assert!(
        first_pid.as_ref().is_some_and(|p| ids.contains(p)),
        "busy process {ids:?} not first:\n{screen}"
    );
    run("tmux", &["send-keys", "-t", "nt", "q"]);
    let mut back = String::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(250));
        back = run(
            "tmux",
            &[
                "display-message",
                "-p",
                "-t",
                "nt",
                "#{pane_current_command}",
            ],
        );
        if back.trim() == "bash" {
            break;
        }
    }
    assert_eq!(back.trim(), "bash", "netatop top did not quit on q");
    run("tmux", &["kill-session", "-t", "nt"]);
    let mut client = client;
    client.wait_done();
    let mut echo = echo;
    echo.wait_done();
    client.finish();
    echo.finish();
}

/// netatopd as a child; killed if the test fails (a blocked reader would keep
/// the module from unloading).
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// One `PRN` line of `atop -P PRN`: (pid, name, state, netatop flag, counters).
struct Prn {
    pid: i32,
    state: String,
    netatop: String,
    /// tcpsnd tcpssz tcprcv tcprsz udpsnd udpssz udprcv udprsz
    net: [u64; 8],
}

fn parse_prn(text: &str) -> Vec<Prn> {
    text.lines()
        .filter(|l| l.starts_with("PRN "))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let net: Vec<u64> = w
                .get(10..18)?
                .iter()
                .filter_map(|x| x.parse().ok())
                .collect();
            Some(Prn {
                pid: w.get(6)?.parse().ok()?,
                state: w.get(8)?.to_string(),
                netatop: w.get(9)?.to_string(),
                net: net.try_into().ok()?,
            })
        })
        .collect()
}

/// netatopd and the unmodified Debian atop: atop (-K) shows our counters for
/// a live process generating known traffic, and picks up a process that
/// finished between two samples from netatopd's log.
#[test]
fn unmodified_atop_reads_live_and_finished_processes_through_netatopd() {
    let _m = module_exclusive();
    force_gc();
    // atop switches process accounting on into this directory (the atop
    // package provides it; the guest's /var/cache is an empty tmpfs).
    std::fs::create_dir_all("/var/cache/atop.d").unwrap();
    let mut daemon = Daemon(
        Command::new(tool("netatopd"))
            .arg("-f")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start netatopd"),
    );
    std::thread::sleep(Duration::from_millis(500));

    let echo = Traffic::start(None, &["udp-echo-server", "127.0.0.1", "250"]);
    let port = echo.get("port").to_string();
    let client = Traffic::start(
        None,
        &["udp-client-slow", "127.0.0.1", &port, "250", "64", "20"],
    );
    // The timeouts only bound waits: atop starts in seconds on the test
    // kernel, but takes over a minute under KASAN and TCG (make check-debug).
    let mut atop = Command::new("timeout")
        .args(["300", "atop", "-K", "-P", "PRN", "3", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start atop");
    // Collect atop's output; the first SEP line ends its first sample, by
    // which time it has switched process accounting on.
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let stdout = atop.stdout.take().unwrap();
    let collector = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut text = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line.starts_with("SEP") {
                let _ = first_tx.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    first_rx
        .recv_timeout(Duration::from_secs(240))
        .expect("atop's first sample");
    // A process that sends 7 datagrams and finishes between two samples.
    let mut gone = Traffic::start(None, &["udp-blast", "127.0.0.1", "9", "7", "100"]);
    gone.wait_done();
    let gone_pid = gone.get("pid");
    gone.finish();
    let status = atop.wait().unwrap();
    let text = collector.join().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut atop.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "atop: {err}\n{text}");
    let prn = parse_prn(&text);

    let live = client.get("pid");
    assert!(
        prn.iter()
            .any(|p| p.pid == live && p.netatop == "y" && p.net[4] > 0 && p.net[6] > 0),
        "no netatop counters for live pid {live} in:\n{text}"
    );
    let finished: Vec<&Prn> = prn.iter().filter(|p| p.pid == gone_pid).collect();
    assert!(
        finished.iter().any(|p| p.state == "E"
            && p.net[4] == 7
            && p.net[5] == 7 * (20 + 8 + 100 + LINK_BYTES)),
        "finished pid {gone_pid} not reported with its 7 datagrams in:\n{text}"
    );

    // SAFETY: signalling our own child.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "netatopd exit: {status}");
    let mut client = client;
    client.wait_done();
    let mut echo = echo;
    echo.wait_done();
    client.finish();
    echo.finish();
}
