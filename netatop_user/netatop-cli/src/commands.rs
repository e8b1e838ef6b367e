//! The subcommands (`connections`: see `conns`).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use netatop::{NetPerTask, Netatop, ProcCounters, TaskCount};
use serde::Serialize;

use crate::cgroups::{sample_cgroups, CgroupView};
use crate::cli::{Command, TopArgs};
use crate::conns::{connection_records, sample_connections, ConnRecord, ConnView};
use crate::error::{CliError, Result};
use crate::procfs::Proc;
use crate::rates::View;
use crate::record::{exit_header, exit_line, CgroupRecord, Kind, TaskRecord};
use crate::sample::{CounterSource, Sampler};
use crate::table::Table;
use crate::tui;

/// Runs a subcommand, writing its results to `out`.
pub fn run(command: Command, out: &mut dyn Write) -> Result<()> {
    match command {
        Command::Status { json } => status(out, json),
        Command::Show {
            cgroup: Some(path),
            json,
            ..
        } => {
            let netatop = connect()?;
            let root = netatop::cgroup::mount_point().map_err(|source| CliError::Io {
                what: "cannot find the cgroup2 hierarchy".into(),
                source,
            })?;
            show_cgroup(
                &netatop,
                &path,
                |p| netatop::cgroup::id_of_under(&root, p),
                json,
                out,
            )
        }
        Command::Show {
            ids, thread, json, ..
        } => {
            let netatop = connect()?;
            show(&netatop, &Proc::default(), &ids, thread, json, out)
        }
        Command::Exited {
            json,
            count,
            timeout,
        } => {
            let netatop = connect()?;
            exited(&netatop, json, count, timeout, out)
        }
        Command::Connections { pid, json } => {
            let netatop = connect()?;
            crate::conns::connections(&netatop, &Proc::default(), pid, json, out)
        }
        Command::Top(args) => top(args, out),
    }
}

/// Opens the socket and probes the module: the first thing every command
/// that needs the module does, so its absence is reported the same way.
pub fn connect() -> Result<Netatop> {
    let netatop = Netatop::open()?;
    netatop.probe()?;
    Ok(netatop)
}

fn output(e: std::io::Error) -> CliError {
    CliError::Output(e)
}

/// `value` as JSON: indented (documents) or on one line (streams), ending
/// with a newline.
fn to_json<T: Serialize + ?Sized>(value: &T, pretty: bool) -> Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    // Plain structs, strings and numbers: serde_json cannot fail on them,
    // but an error is still reported rather than unwrapped.
    let mut text = text.map_err(|e| CliError::Output(e.into()))?;
    text.push('\n');
    Ok(text)
}

// ---------------------------------------------------------------- status

/// The state of the module as `status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleState {
    /// PROBE succeeded.
    Loaded,
    /// No module (`ENOPROTOOPT`, or no `/proc/netatop`).
    NotLoaded,
    /// The module is there, but the caller may not use it (`EPERM`).
    NoPrivileges,
    /// Something else went wrong.
    Error,
}

/// What `status` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The module's state.
    pub module: ModuleState,
    /// Why PROBE failed, if it did.
    pub probe_error: Option<String>,
    /// `/proc/netatop`, when present and readable.
    pub proc: Option<ProcCounters>,
    /// Why `/proc/netatop` could not be read, when it exists.
    pub proc_error: Option<String>,
}

impl StatusReport {
    /// The report from the PROBE result and the `/proc/netatop` reading.
    pub fn new(probe: netatop::Result<()>, proc: netatop::Result<ProcCounters>) -> Self {
        let proc_exists = !matches!(proc, Err(netatop::Error::ModuleNotLoaded));
        let (module, probe_error) = match probe {
            Ok(()) => (ModuleState::Loaded, None),
            Err(e) => {
                let e = CliError::from_netatop(e, proc_exists);
                let state = match e {
                    CliError::ModuleNotLoaded => ModuleState::NotLoaded,
                    CliError::PermissionDenied => ModuleState::NoPrivileges,
                    _ => ModuleState::Error,
                };
                (state, Some(e.to_string()))
            }
        };
        let (proc, proc_error) = match proc {
            Ok(c) => (Some(c), None),
            Err(netatop::Error::ModuleNotLoaded) => (None, None),
            Err(e) => (None, Some(e.to_string())),
        };
        Self {
            module,
            probe_error,
            proc,
            proc_error,
        }
    }

    /// The error `status` exits with (none when the module is usable).
    pub fn error(&self) -> Option<CliError> {
        match self.module {
            ModuleState::Loaded => self.proc_error.as_ref().map(|e| CliError::Io {
                what: netatop::PROC_PATH.into(),
                source: std::io::Error::other(e.clone()),
            }),
            ModuleState::NotLoaded => Some(CliError::ModuleNotLoaded),
            ModuleState::NoPrivileges => Some(CliError::PermissionDenied),
            ModuleState::Error => Some(CliError::Io {
                what: "NETATOP_PROBE".into(),
                source: std::io::Error::other(self.probe_error.clone().unwrap_or_default()),
            }),
        }
    }

    /// The text `status` prints.
    pub fn to_text(&self) -> String {
        let module = match (&self.module, &self.probe_error) {
            (ModuleState::Loaded, _) => "loaded (NETATOP_PROBE ok)".to_owned(),
            (ModuleState::NotLoaded, _) => "not loaded".to_owned(),
            (ModuleState::NoPrivileges, _) => {
                "loaded, but no privileges to query it (needs CAP_NET_ADMIN)".to_owned()
            }
            (ModuleState::Error, e) => format!("error: {}", e.as_deref().unwrap_or("unknown")),
        };
        let mut s = format!("module:          {module}\n");
        if let Some(e) = &self.proc_error {
            s.push_str(&format!("{}:   {e}\n", netatop::PROC_PATH));
        }
        let Some(c) = &self.proc else {
            return s;
        };
        let line = |label: &str, n: u64, extra: String| format!("{label:<16}{n:>14}{extra}\n");
        s.push_str(&format!("version:         {}\n", c.modversion));
        s.push_str(&format!(
            "{:<16}{:>14}{:>14}\n",
            "packets", "all", "unidentified"
        ));
        for (label, all, unident) in [
            ("  TCP sent", c.tcpsndpacks, c.unident_tcpsndpacks),
            ("  TCP received", c.tcprcvpacks, c.unident_tcprcvpacks),
            ("  UDP sent", c.udpsndpacks, c.unident_udpsndpacks),
            ("  UDP received", c.udprcvpacks, c.unident_udprcvpacks),
        ] {
            s.push_str(&line(label, all, format!("{unident:>14}")));
        }
        s.push_str(&line("  ICMP sent", c.icmpsndpacks, String::new()));
        s.push_str(&line("  ICMP received", c.icmprcvpacks, String::new()));
        // netatop-rs says why entries were refused; netatop 3.2.2 does not.
        let overflow = |n: u64, causes: Option<(u64, u64)>| match causes {
            Some((full, nomem)) => {
                format!("  (overflow {n}: table full {full}, out of memory {nomem})")
            }
            None => format!("  (overflow {n})"),
        };
        let r = c.refused;
        s.push_str(&line(
            "connections",
            c.sockinfo,
            overflow(
                c.sockinfo_overflow,
                r.map(|r| (r.sockinfo_full, r.sockinfo_nomem)),
            ),
        ));
        s.push_str(&line(
            "tasks",
            c.taskinfo,
            overflow(
                c.taskinfo_overflow,
                r.map(|r| (r.taskinfo_full, r.taskinfo_nomem)),
            ),
        ));
        s.push_str(&line("exited, unread", c.taskexit, String::new()));
        s
    }
}

/// `netatop status`: prints the report, then fails with exit status 3 or 4
/// if the module is absent or unusable.
fn status(out: &mut dyn Write, json: bool) -> Result<()> {
    let probe = Netatop::open().and_then(|n| n.probe());
    let report = StatusReport::new(probe, ProcCounters::read());
    let text = if json {
        to_json(&report, true)?
    } else {
        report.to_text()
    };
    out.write_all(text.as_bytes()).map_err(output)?;
    out.flush().map_err(output)?;
    match report.error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

// ------------------------------------------------------------------ show

/// The record of one id: the module's counters; for an id the module does
/// not know, a zero record if the task exists (it has had no traffic),
/// otherwise the error to report.
pub fn lookup<S: CounterSource>(
    source: &S,
    proc: &Proc,
    id: i32,
    thread: bool,
) -> Result<TaskRecord> {
    let kind = if thread { Kind::Thread } else { Kind::Process };
    let answer = if thread {
        source.thread(id)
    } else {
        source.process(id)
    };
    match answer {
        Ok(npt) => Ok(TaskRecord::from_npt(&npt, kind)),
        Err(netatop::Error::NoSuchTask(_)) => {
            if !proc.exists(id) {
                return Err(if thread {
                    CliError::NoSuchThread(id)
                } else {
                    CliError::NoSuchProcess(id)
                });
            }
            if let Some(tgid) = proc.tgid(id).filter(|&t| !thread && t != id) {
                return Err(CliError::NotAProcess { id, tgid });
            }
            Ok(TaskRecord {
                id,
                kind,
                command: proc.comm(id).unwrap_or_default(),
                btime: None,
                btime_iso: None,
                tracked: Some(false),
                counters: TaskCount::default(),
                connections: None,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// `netatop show`: one record per id, with the connections charged to it
/// (to the thread, with `thread`; none from a module without
/// `NETATOP_GETCNT_CONNS`); ids that do not exist are reported on standard
/// error, one line each, and give exit status 5 at the end.
pub fn show<S: CounterSource>(
    source: &S,
    proc: &Proc,
    ids: &[i32],
    thread: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let mut records = Vec::with_capacity(ids.len());
    let mut missing = 0;
    // One connection snapshot for all the ids, taken before their counters:
    // a connection's counters are part of its process's, so no listed
    // connection shows more than its process (`None`: the module has no
    // GETCNT_CONNS).
    let snapshot = connection_records(source, proc)?;
    for &id in ids {
        match lookup(source, proc, id, thread) {
            Ok(mut r) => {
                if let Some(all) = &snapshot {
                    let owned = |c: &&ConnRecord| if thread { c.tid == id } else { c.pid == id };
                    r.connections = Some(all.iter().filter(owned).cloned().collect());
                }
                records.push(r);
            }
            Err(e) if e.exit_code() == crate::error::EXIT_NO_SUCH_PROCESS => {
                eprintln!("netatop: {e}");
                missing += 1;
            }
            Err(e) => return Err(e),
        }
    }
    let text = if json {
        to_json(&records[..], true)?
    } else {
        let blocks: Vec<String> = records.iter().map(TaskRecord::to_block).collect();
        blocks.join("\n")
    };
    out.write_all(text.as_bytes()).map_err(output)?;
    out.flush().map_err(output)?;
    if missing > 0 {
        return Err(CliError::SomeNotFound(missing));
    }
    Ok(())
}

/// A cgroup path as `/proc/PID/cgroup` writes it: one leading `/`, no
/// trailing one (`/` for the root).
pub fn normalize_cgroup_path(path: &str) -> String {
    let inner = path.trim_matches('/');
    format!("/{inner}")
}

/// `netatop show --cgroup PATH`: the counters of one cgroup. `id_of` finds
/// the cgroup's id (the inode of its directory); a path that names no
/// cgroup and a cgroup the module has nothing for both give exit status 5.
pub fn show_cgroup<S: CounterSource>(
    source: &S,
    path: &str,
    id_of: impl Fn(&str) -> std::io::Result<u64>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let path = normalize_cgroup_path(path);
    let id = match id_of(&path) {
        Ok(id) => id,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidInput
            ) =>
        {
            return Err(CliError::NoSuchCgroup(path));
        }
        Err(source) => {
            return Err(CliError::Io {
                what: format!("cgroup {path}"),
                source,
            })
        }
    };
    let c = match source.cgroup(id) {
        Ok(c) => c,
        Err(netatop::Error::NoSuchCgroup(_)) => return Err(CliError::CgroupNoTraffic(path)),
        Err(e) => return Err(e.into()),
    };
    let rec = CgroupRecord {
        path,
        id,
        processes: c.nprocs,
        counters: c.tc,
    };
    let text = if json {
        to_json(&rec, true)?
    } else {
        rec.to_block()
    };
    out.write_all(text.as_bytes()).map_err(output)?;
    out.flush().map_err(output)
}

// ---------------------------------------------------------------- exited

/// Where finished processes come from: the module, or a fake in tests.
pub trait ExitSource {
    /// The next finished process; `Ok(None)` if `timeout` passed first.
    fn next_exited(&self, timeout: Option<Duration>) -> netatop::Result<Option<NetPerTask>>;
}

impl ExitSource for Netatop {
    fn next_exited(&self, timeout: Option<Duration>) -> netatop::Result<Option<NetPerTask>> {
        match timeout {
            Some(t) => self.next_exited_timeout(t),
            None => Netatop::next_exited(self).map(Some),
        }
    }
}

/// `netatop exited`: prints finished processes as they come, until `count`
/// were printed or `timeout` has passed (else until killed).
pub fn exited<S: ExitSource>(
    source: &S,
    json: bool,
    count: Option<u64>,
    timeout: Option<Duration>,
    out: &mut dyn Write,
) -> Result<()> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    if !json {
        writeln!(out, "{}", exit_header()).map_err(output)?;
        out.flush().map_err(output)?;
    }
    let mut printed = 0u64;
    while count.is_none_or(|c| printed < c) {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            break;
        }
        let npt = match source.next_exited(left) {
            Ok(Some(npt)) => npt,
            Ok(None) => break,
            // Some signal with a handler (none of ours): wait on.
            Err(netatop::Error::Interrupted) => continue,
            Err(e) => return Err(e.into()),
        };
        let rec = TaskRecord::from_npt(&npt, Kind::Process);
        let line = if json {
            to_json(&rec, false)?
        } else {
            format!("{}\n", exit_line(&rec))
        };
        out.write_all(line.as_bytes()).map_err(output)?;
        out.flush().map_err(output)?;
        printed += 1;
    }
    Ok(())
}

// ------------------------------------------------------------------- top

/// Rejects a `--sort` column that the table does not have.
pub fn check_sort(args: &TopArgs) -> Result<()> {
    let sort = args.sort;
    let wrong = |msg: String| Err(CliError::Usage(msg));
    if args.connections {
        if !sort.for_connections() {
            return wrong(format!(
                "--sort {} does not apply to --connections (use snd, rcv, local, remote, ...)",
                sort.name()
            ));
        }
    } else if args.cgroups {
        if !sort.for_cgroups() {
            return wrong(format!(
                "--sort {} does not apply to --cgroups (use procs or path)",
                sort.name()
            ));
        }
    } else if !sort.for_tasks() {
        let table = if sort.for_cgroups() {
            "--cgroups"
        } else {
            "--connections"
        };
        return wrong(format!("--sort {} only applies to {table}", sort.name()));
    }
    Ok(())
}

fn top(args: TopArgs, out: &mut dyn Write) -> Result<()> {
    check_sort(&args)?;
    let batch = args.batch || args.json;
    let netatop = connect()?;
    if batch {
        return top_batch(&netatop, Proc::default(), &args, out);
    }
    if !std::io::stdout().is_terminal() {
        return Err(CliError::Usage(
            "standard output is not a terminal: use 'netatop top --batch'".into(),
        ));
    }
    tui::run(
        &netatop,
        Proc::default(),
        tui::TopOptions {
            interval: args.interval,
            iterations: args.iterations,
            sort: args.sort,
            threads: args.threads,
            cgroups: args.cgroups,
            connections: args.connections,
        },
    )
}

/// `netatop top --batch` (and `--json`): a baseline sample, then
/// `iterations` (default 1) times: wait an interval, sample, print the
/// table (or one JSON document per line). One row per process, per thread
/// (`--threads`), per cgroup (`--cgroups`) or per connection
/// (`--connections`).
pub fn top_batch<S: CounterSource>(
    source: &S,
    proc: Proc,
    args: &TopArgs,
    out: &mut dyn Write,
) -> Result<()> {
    if args.cgroups {
        return batch_loop(
            args,
            out,
            || sample_cgroups(source),
            |prev, cur| CgroupView::build(Some(prev), cur),
        );
    }
    if args.connections {
        return batch_loop(
            args,
            out,
            || sample_connections(source, &proc),
            |prev, cur| ConnView::build(Some(prev), cur),
        );
    }
    let sampler = Sampler::new(source, proc);
    batch_loop(
        args,
        out,
        || sampler.sample(args.threads),
        |prev, cur| View::build(Some(prev), cur),
    )
}

/// The loop of [`top_batch`]: `sample` takes a sample, `build` the table
/// between two samples; tables are separated by an empty line, JSON
/// documents are one per line.
fn batch_loop<T, V: Table>(
    args: &TopArgs,
    out: &mut dyn Write,
    mut sample: impl FnMut() -> Result<T>,
    build: impl Fn(&T, &T) -> V,
) -> Result<()> {
    let mut prev = sample()?;
    for i in 0..args.iterations.unwrap_or(1) {
        std::thread::sleep(args.interval);
        let cur = sample()?;
        let mut view = build(&prev, &cur);
        view.sort(args.sort);
        let text = if args.json {
            let mut line = view
                .json(args.sort)
                .map_err(|e| CliError::Output(e.into()))?;
            line.push('\n');
            line
        } else if i == 0 {
            view.text(args.sort)
        } else {
            format!("\n{}", view.text(args.sort))
        };
        out.write_all(text.as_bytes()).map_err(output)?;
        out.flush().map_err(output)?;
        prev = cur;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::npt;
    use crate::sample::tests::FakeModule;
    use crate::table::SortKey;
    use netatop::ConnInfo;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    fn own_pid() -> i32 {
        i32::try_from(std::process::id()).unwrap()
    }

    const SAMPLE_PROC: &str = "\
tcpsndpacks:            10 (unident:         1)
tcprcvpacks:            20 (unident:         2)
udpsndpacks:            30 (unident:         3)
udprcvpacks:            40 (unident:         4)

icmpsndpacks:            5
icmprcvpacks:            6

#sockinfo:               7 (overflow:        8)
#taskinfo:               9 (overflow:       10)
#taskexit:              11

modversion:          0.1.0
";

    #[test]
    fn status_of_a_loaded_module() {
        let proc = ProcCounters::parse(SAMPLE_PROC).unwrap();
        let r = StatusReport::new(Ok(()), Ok(proc));
        assert_eq!(r.module, ModuleState::Loaded);
        assert!(r.error().is_none());
        assert_eq!(
            r.to_text(),
            "\
module:          loaded (NETATOP_PROBE ok)
version:         0.1.0
packets                    all  unidentified
  TCP sent                  10             1
  TCP received              20             2
  UDP sent                  30             3
  UDP received              40             4
  ICMP sent                  5
  ICMP received              6
connections                  7  (overflow 8)
tasks                        9  (overflow 10)
exited, unread              11
"
        );
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["module"], "loaded");
        assert_eq!(j["probe_error"], serde_json::Value::Null);
        assert_eq!(j["proc"]["unident_udprcvpacks"], 4);
        assert_eq!(j["proc"]["taskexit"], 11);
        assert_eq!(j["proc"]["modversion"], "0.1.0");
        assert_eq!(j["proc_error"], serde_json::Value::Null);
        // The keys of "proc", in /proc/netatop's order.
        let text = serde_json::to_string(&r).unwrap();
        let proc = &text[text.find("\"proc\":{").unwrap()..];
        let keys: Vec<&str> = proc[8..proc.find('}').unwrap()]
            .split(',')
            .map(|kv| kv.split(':').next().unwrap().trim_matches('"'))
            .collect();
        assert_eq!(
            keys,
            [
                "tcpsndpacks",
                "unident_tcpsndpacks",
                "tcprcvpacks",
                "unident_tcprcvpacks",
                "udpsndpacks",
                "unident_udpsndpacks",
                "udprcvpacks",
                "unident_udprcvpacks",
                "icmpsndpacks",
                "icmprcvpacks",
                "sockinfo",
                "sockinfo_overflow",
                "taskinfo",
                "taskinfo_overflow",
                "taskexit",
                "modversion",
                "refused"
            ]
        );
        // A module without the refusal lines (netatop 3.2.2): null.
        assert_eq!(j["proc"]["refused"], serde_json::Value::Null);
    }

    #[test]
    fn status_shows_netatop_rs_refusals_by_cause() {
        let text = format!(
            "{SAMPLE_PROC}\n#sockinfo full:             5 (nomem:        3)\n\
             #taskinfo full:            10 (nomem:        0)\n"
        );
        let proc = ProcCounters::parse(&text).unwrap();
        let r = StatusReport::new(Ok(()), Ok(proc));
        let out = r.to_text();
        assert!(
            out.contains(
                "connections                  7  (overflow 8: table full 5, out of memory 3)\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "tasks                        9  (overflow 10: table full 10, out of memory 0)\n"
            ),
            "{out}"
        );
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["proc"]["refused"]["sockinfo_nomem"], 3);
    }

    #[test]
    fn status_without_the_module() {
        let r = StatusReport::new(
            Err(netatop::Error::ModuleNotLoaded),
            Err(netatop::Error::ModuleNotLoaded),
        );
        assert_eq!(r.module, ModuleState::NotLoaded);
        assert_eq!(r.to_text(), "module:          not loaded\n");
        assert_eq!(r.error().unwrap().exit_code(), 3);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"module":"not-loaded","probe_error":"the netatop kernel module is not loaded (try: modprobe netatop)","proc":null,"proc_error":null}"#
        );
        // EPERM without /proc/netatop (from a socket the caller may not
        // open): the module is not loaded.
        let r = StatusReport::new(
            Err(netatop::Error::PermissionDenied),
            Err(netatop::Error::ModuleNotLoaded),
        );
        assert_eq!(r.module, ModuleState::NotLoaded);
        assert_eq!(r.error().unwrap().exit_code(), 3);
    }

    #[test]
    fn status_without_privileges_still_shows_the_counters() {
        let proc = ProcCounters::parse(SAMPLE_PROC).unwrap();
        let r = StatusReport::new(Err(netatop::Error::PermissionDenied), Ok(proc));
        assert_eq!(r.module, ModuleState::NoPrivileges);
        assert_eq!(r.error().unwrap().exit_code(), 4);
        assert!(r.to_text().starts_with(
            "module:          loaded, but no privileges to query it (needs CAP_NET_ADMIN)\nversion:         0.1.0\n"
        ));
    }

    #[test]
    fn status_with_a_garbled_proc_file_fails() {
        let r = StatusReport::new(Ok(()), ProcCounters::parse("junk"));
        assert_eq!(r.module, ModuleState::Loaded);
        assert_eq!(r.error().unwrap().exit_code(), 1);
        assert!(r
            .to_text()
            .contains("/proc/netatop:   unexpected /proc/netatop format"));
    }

    #[test]
    fn lookup_cases() {
        let pid = own_pid();
        let proc = Proc::default();
        let mut fake = FakeModule::default();
        fake.processes
            .insert(1, npt(1, 1_717_200_000, "init", [1; 8]));
        // Known to the module.
        let r = lookup(&fake, &proc, 1, false).unwrap();
        assert_eq!(
            (r.id, r.kind, r.command.as_str(), r.btime),
            (1, Kind::Process, "init", Some(1_717_200_000))
        );
        assert_eq!(r.tracked, None);
        // Exists, no traffic: a zero record.
        let r = lookup(&fake, &proc, pid, false).unwrap();
        assert_eq!(r.tracked, Some(false));
        assert_eq!(r.counters, TaskCount::default());
        assert_eq!(r.btime, None);
        assert_eq!(Some(r.command), proc.comm(pid));
        // Does not exist.
        assert!(matches!(
            lookup(&fake, &proc, i32::MAX, false),
            Err(CliError::NoSuchProcess(i32::MAX))
        ));
        assert!(matches!(
            lookup(&fake, &proc, i32::MAX, true),
            Err(CliError::NoSuchThread(i32::MAX))
        ));
        // A thread id given as a process.
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let link = std::fs::read_link("/proc/thread-self").unwrap();
            let tid: i32 = link.file_name().unwrap().to_str().unwrap().parse().unwrap();
            tx.send(tid).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = rx.recv().unwrap();
        match lookup(&fake, &proc, tid, false) {
            Err(CliError::NotAProcess { id, tgid }) => assert_eq!((id, tgid), (tid, pid)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            lookup(&fake, &proc, tid, true).unwrap().tracked,
            Some(false)
        );
        stop_tx.send(()).unwrap();
        t.join().unwrap();
        // Module errors pass through.
        let failing = FakeModule {
            fail: Some(|| netatop::Error::ModuleNotLoaded),
            ..FakeModule::default()
        };
        assert_eq!(
            lookup(&failing, &proc, 1, false).unwrap_err().exit_code(),
            3
        );
    }

    #[test]
    fn show_prints_found_ids_and_fails_for_missing_ones() {
        let mut fake = FakeModule::default();
        fake.processes
            .insert(1, npt(1, 1_717_200_000, "init", [1, 2, 3, 4, 5, 6, 7, 8]));
        let mut out = Vec::new();
        show(&fake, &Proc::default(), &[1], false, false, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            TaskRecord::from_npt(&fake.processes[&1], Kind::Process).to_block()
        );
        let mut out = Vec::new();
        let err = show(
            &fake,
            &Proc::default(),
            &[1, i32::MAX],
            false,
            true,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 5);
        assert!(err.is_silent(), "each missing id was reported already");
        let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(j.as_array().unwrap().len(), 1);
        assert_eq!(j[0]["id"], 1);
        assert_eq!(j[0]["counters"]["udprcvbytes"], 8);
    }

    struct FakeExits(RefCell<VecDeque<netatop::Result<Option<NetPerTask>>>>);

    impl ExitSource for FakeExits {
        fn next_exited(&self, _t: Option<Duration>) -> netatop::Result<Option<NetPerTask>> {
            self.0.borrow_mut().pop_front().unwrap_or(Ok(None))
        }
    }

    fn exits() -> FakeExits {
        FakeExits(RefCell::new(VecDeque::from([
            Ok(Some(npt(
                100,
                1_717_200_000,
                "curl",
                [1, 110, 1, 110, 0, 0, 0, 0],
            ))),
            Err(netatop::Error::Interrupted),
            Ok(Some(npt(
                101,
                1_717_200_001,
                "dig",
                [0, 0, 0, 0, 1, 80, 1, 200],
            ))),
            Ok(Some(npt(102, 1_717_200_002, "ntpd", [0; 8]))),
        ])))
    }

    #[test]
    fn exited_streams_lines() {
        let mut out = Vec::new();
        exited(
            &exits(),
            false,
            None,
            Some(Duration::from_secs(60)),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], exit_header());
        assert_eq!(
            lines[2],
            "    101 dig             2024-06-01T00:00:01Z          0            0          0            0          1           80          1          200"
        );
    }

    #[test]
    fn exited_stops_after_count_and_prints_json_lines() {
        let mut out = Vec::new();
        exited(&exits(), true, Some(2), None, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            r#"{"id":100,"kind":"process","command":"curl","btime":1717200000,"btime_iso":"2024-06-01T00:00:00Z","counters":{"tcpsndpacks":1,"tcpsndbytes":110,"tcprcvpacks":1,"tcprcvbytes":110,"udpsndpacks":0,"udpsndbytes":0,"udprcvpacks":0,"udprcvbytes":0}}"#
        );
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["id"], 101);
    }

    #[test]
    fn exited_passes_module_errors_on() {
        let src = FakeExits(RefCell::new(VecDeque::from([Err(
            netatop::Error::PermissionDenied,
        )])));
        let err = exited(&src, false, None, None, &mut Vec::new()).unwrap_err();
        assert!(matches!(
            err,
            CliError::PermissionDenied | CliError::ModuleNotLoaded
        ));
    }

    #[test]
    fn exited_with_zero_timeout_prints_only_the_header() {
        let mut out = Vec::new();
        exited(&exits(), false, None, Some(Duration::ZERO), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{}\n", exit_header())
        );
    }

    fn top_args(json: bool, iterations: Option<u64>) -> TopArgs {
        TopArgs {
            interval: Duration::from_millis(100),
            batch: true,
            iterations,
            sort: SortKey::Total,
            threads: false,
            cgroups: false,
            connections: false,
            json,
        }
    }

    fn cgroup_module() -> FakeModule {
        let cgroups = vec![
            netatop::CgroupCount {
                id: 7,
                nprocs: 2,
                pad: 0,
                tc: npt(0, 0, "", [1, 2048, 0, 0, 0, 0, 0, 0]).tc,
            },
            netatop::CgroupCount {
                id: 8,
                nprocs: 0,
                pad: 0,
                tc: npt(0, 0, "", [0, 0, 0, 0, 1, 100, 0, 0]).tc,
            },
        ];
        let mut fake = FakeModule {
            cgroups,
            ..FakeModule::default()
        };
        fake.paths.insert(7, "/system.slice/a.service".into());
        fake
    }

    #[test]
    fn show_a_cgroup() {
        let fake = cgroup_module();
        let ids = |p: &str| match p {
            "/system.slice/a.service" => Ok(7),
            "/system.slice/quiet.service" => Ok(99),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        };
        let mut out = Vec::new();
        show_cgroup(&fake, "system.slice/a.service/", ids, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("cgroup /system.slice/a.service (id 7), 2 live processes\n"),
            "{text}"
        );
        let mut out = Vec::new();
        show_cgroup(&fake, "/system.slice/a.service", ids, true, &mut out).unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(j["path"], "/system.slice/a.service");
        assert_eq!(j["id"], 7);
        assert_eq!(j["processes"], 2);
        assert_eq!(j["counters"]["tcpsndbytes"], 2048);

        let err = show_cgroup(&fake, "/nope", ids, false, &mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "no such cgroup: /nope");
        assert_eq!(err.exit_code(), 5);
        let err = show_cgroup(
            &fake,
            "/system.slice/quiet.service",
            ids,
            false,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no traffic counted for this cgroup: /system.slice/quiet.service"
        );
        assert_eq!(err.exit_code(), 5);
        let failing = FakeModule {
            fail: Some(|| netatop::Error::PermissionDenied),
            ..FakeModule::default()
        };
        let err = show_cgroup(
            &failing,
            "/system.slice/a.service",
            ids,
            false,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            CliError::PermissionDenied | CliError::ModuleNotLoaded
        ));
    }

    #[test]
    fn cgroup_paths_are_normalized() {
        assert_eq!(normalize_cgroup_path("/"), "/");
        assert_eq!(normalize_cgroup_path(""), "/");
        assert_eq!(normalize_cgroup_path("a.slice/b/"), "/a.slice/b");
        assert_eq!(normalize_cgroup_path("//a.slice"), "/a.slice");
    }

    #[test]
    fn sort_columns_must_fit_the_table() {
        let mut args = top_args(false, None);
        for (cgroups, key, ok) in [
            (false, SortKey::Pid, true),
            (false, SortKey::Path, false),
            (false, SortKey::Procs, false),
            (true, SortKey::Path, true),
            (true, SortKey::Procs, true),
            (true, SortKey::Total, true),
            (true, SortKey::Pid, false),
            (true, SortKey::Command, false),
        ] {
            args.cgroups = cgroups;
            args.sort = key;
            match check_sort(&args) {
                Ok(()) => assert!(ok, "{key:?}"),
                Err(e) => {
                    assert!(!ok, "{key:?}");
                    assert_eq!(e.exit_code(), 2);
                }
            }
        }
        args.cgroups = true;
        args.sort = SortKey::Pid;
        assert_eq!(
            check_sort(&args).unwrap_err().to_string(),
            "--sort pid does not apply to --cgroups (use procs or path)"
        );
        args.cgroups = false;
        args.sort = SortKey::Local;
        assert_eq!(
            check_sort(&args).unwrap_err().to_string(),
            "--sort local only applies to --connections"
        );
        args.sort = SortKey::Path;
        assert_eq!(
            check_sort(&args).unwrap_err().to_string(),
            "--sort path only applies to --cgroups"
        );
        args.connections = true;
        for (key, ok) in [
            (SortKey::Pid, true),
            (SortKey::Snd, true),
            (SortKey::Remote, true),
            (SortKey::Total, true),
            (SortKey::TcpSnd, false),
            (SortKey::Procs, false),
        ] {
            args.sort = key;
            assert_eq!(check_sort(&args).is_ok(), ok, "{key:?}");
        }
        args.sort = SortKey::Path;
        assert_eq!(
            check_sort(&args).unwrap_err().to_string(),
            "--sort path does not apply to --connections (use snd, rcv, local, remote, ...)"
        );
    }

    #[test]
    fn show_lists_the_connections_of_the_process_or_thread() {
        use crate::conns::tests::{module, tcp, udp};
        let mut fake = module(vec![
            tcp(100, 40000, 80, [12, 3400, 10, 15000]),
            udp(100, 5000, 6000, [1, 110, 0, 0]),
            ConnInfo {
                pid: 101,
                ..tcp(100, 40001, 80, [1, 60, 1, 60])
            },
            tcp(7, 1, 2, [1; 4]),
        ]);
        fake.processes
            .insert(100, npt(100, 1_717_200_000, "curl", [1; 8]));
        fake.threads
            .insert(101, npt(101, 1_717_200_000, "curl", [1; 8]));
        fake.processes.insert(1, npt(1, 5, "init", [1; 8]));
        let mut out = Vec::new();
        show(&fake, &Proc::default(), &[100, 1], false, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let blocks: Vec<&str> = text.split("\n\n").collect();
        assert!(
            blocks[0].ends_with(concat!(
                "  connections:\n",
                "    PROTO LOCAL           REMOTE       STATE          SNDPKTS     SNDBYTES    RCVPKTS     RCVBYTES\n",
                "    tcp   127.0.0.1:40000 127.0.0.1:80 ESTABLISHED         12         3400         10        15000\n",
                "    tcp   127.0.0.1:40001 127.0.0.1:80 ESTABLISHED          1           60          1           60\n",
                "    udp   [::]:5000       [::1]:6000   -                    1          110          0            0",
            )),
            "{text}"
        );
        assert!(blocks[1].ends_with("  no connections tracked\n"), "{text}");
        assert_eq!(blocks.len(), 2);
        // JSON: a "connections" array; a thread's are its own.
        let mut out = Vec::new();
        show(&fake, &Proc::default(), &[101], true, true, &mut out).unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let conns = j[0]["connections"].as_array().unwrap();
        assert_eq!(conns.len(), 1);
        assert_eq!(conns[0]["local"], "127.0.0.1:40001");
        assert_eq!(conns[0]["tid"], 101);
        // A module without GETCNT_CONNS: no connections, no key.
        let mut old = FakeModule::default();
        old.processes.insert(1, npt(1, 5, "init", [1; 8]));
        let mut out = Vec::new();
        show(&old, &Proc::default(), &[1], false, true, &mut out).unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(j[0].get("connections").is_none(), "{j}");
    }

    #[test]
    fn batch_top_connections() {
        use crate::conns::tests::{module, tcp};
        let fake = module(vec![tcp(100, 40000, 80, [12, 3400, 10, 15000])]);
        let mut args = top_args(false, Some(2));
        args.connections = true;
        args.sort = SortKey::Local;
        let mut out = Vec::new();
        top_batch(&fake, Proc::default(), &args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("netatop top ").count(), 2, "{text}");
        assert_eq!(
            text.lines()
                .filter(|l| l.ends_with("ESTABLISHED 127.0.0.1:40000 127.0.0.1:80"))
                .count(),
            2,
            "{text}"
        );
        args.json = true;
        args.iterations = None;
        let mut out = Vec::new();
        top_batch(&fake, Proc::default(), &args, &mut out).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["sort"], "local");
        assert_eq!(doc["connections"][0]["comm"], "curl");
        assert_eq!(doc["connections"][0]["rates"]["total_bytes_per_sec"], 0.0);
    }

    #[test]
    fn batch_top_cgroups_text_and_json() {
        let fake = cgroup_module();
        let mut args = top_args(false, Some(2));
        args.cgroups = true;
        args.sort = SortKey::Path;
        let mut out = Vec::new();
        top_batch(&fake, Proc::default(), &args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("netatop top ").count(), 2, "{text}");
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("service") || l.contains("removed"))
            .collect();
        assert_eq!(
            rows[..2],
            [
                "     0       0.0       0.0       0.0       0.0       0.0       0.0       0.0       0.0       0.0     100B (removed 8)",
                "     2       0.0       0.0       0.0       0.0       0.0       0.0       0.0       0.0       0.0     2.0K /system.slice/a.service",
            ]
        );
        args.json = true;
        args.iterations = None;
        let mut out = Vec::new();
        top_batch(&fake, Proc::default(), &args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["sort"], "path");
        assert_eq!(doc["cgroups"][1]["path"], "/system.slice/a.service");
        assert_eq!(doc["cgroups"][1]["processes"], 2);
        assert_eq!(doc["cgroups"][1]["rates"]["total_bytes_per_sec"], 0.0);
        assert_eq!(doc["cgroups"][0]["removed"], true);
    }

    #[test]
    fn batch_top_prints_one_table_per_iteration() {
        let pid = own_pid();
        let mut fake = FakeModule::default();
        fake.processes.insert(
            pid,
            npt(pid, 1_717_200_000, "me", [1, 2048, 0, 0, 0, 0, 0, 0]),
        );
        let mut out = Vec::new();
        top_batch(&fake, Proc::default(), &top_args(false, Some(2)), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let tables: Vec<&str> = text.split("\n\nnetatop top").collect();
        assert_eq!(tables.len(), 2, "{text}");
        let row = format!("{pid:>7} me                    0.0       0.0       0.0       0.0       0.0       0.0       0.0       0.0       0.0     2.0K");
        assert_eq!(text.lines().filter(|l| *l == row).count(), 2, "{text}");
    }

    #[test]
    fn batch_top_json_is_one_document_per_line() {
        let pid = own_pid();
        let mut fake = FakeModule::default();
        fake.processes.insert(
            pid,
            npt(pid, 1_717_200_000, "me", [1, 2048, 0, 0, 0, 0, 0, 0]),
        );
        let mut out = Vec::new();
        top_batch(&fake, Proc::default(), &top_args(true, None), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1);
        let doc: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(doc["tasks"][0]["id"], pid);
        assert_eq!(doc["tasks"][0]["rates"]["total_bytes_per_sec"], 0.0);
        assert_eq!(doc["tasks"][0]["counters"]["tcpsndbytes"], 2048);
        assert_eq!(doc["totals"]["total_packets_per_sec"], 0.0);
        assert_eq!(doc["sort"], "total");
    }

    #[test]
    fn batch_top_stops_on_module_errors() {
        let fake = FakeModule {
            fail: Some(|| netatop::Error::ModuleNotLoaded),
            ..FakeModule::default()
        };
        let err = top_batch(
            &fake,
            Proc::default(),
            &top_args(false, None),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 3);
    }
}
