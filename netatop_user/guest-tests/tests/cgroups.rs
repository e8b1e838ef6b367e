//! netatop-rs's own commands: per-cgroup totals (NETATOP_GETCNT_CGROUP,
//! NETATOP_GETCNT_CGROUPS) and the snapshot of every live process
//! (NETATOP_GETCNT_TASKS), exact for traffic these tests make in cgroups
//! they create; their input validation; and netatop-exporter scraped by the
//! Debian prometheus, through to its query API.
//!
//! Runs as root inside the test VM with netatop.ko loaded (make check).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netatop::{CgroupCount, NetPerTask, Netatop, ProcInfo, TaskCount};
use netatop_guest_tests::{
    force_gc, free_port, http_get, module_exclusive, module_loaded, module_path, nft_wire_counter,
    run, start_time, tool, traffic_command, url_encode, Cgroup, KillOnDrop, ModuleParams, Netns,
    Traffic, LINK_BYTES,
};

/// `NETATOP_GETCNT_CGROUP`, `NETATOP_GETCNT_TASKS`, `NETATOP_GETCNT_CGROUPS`.
const GETCNT_CGROUP: i32 = 15667;
const GETCNT_TASKS: i32 = 15668;
const GETCNT_CGROUPS: i32 = 15669;
/// Sizes of `struct netatop_listhdr`, `netatop_procinfo`, `netatop_cgroupcount`.
const LISTHDR: usize = 16;
const PROCINFO: usize = 104;
const CGROUPCOUNT: usize = 80;

/// UDP datagrams of `payload` bytes over IPv4, `sent` and `received`, as
/// netatop counts them (IP length plus link-layer bytes).
fn udp(sent: u64, received: u64, payload: u64) -> TaskCount {
    let per_packet = 20 + 8 + payload + LINK_BYTES;
    TaskCount {
        udpsndpacks: sent,
        udpsndbytes: sent * per_packet,
        udprcvpacks: received,
        udprcvbytes: received * per_packet,
        ..Default::default()
    }
}

fn add(a: TaskCount, b: TaskCount) -> TaskCount {
    TaskCount {
        tcpsndpacks: a.tcpsndpacks + b.tcpsndpacks,
        tcpsndbytes: a.tcpsndbytes + b.tcpsndbytes,
        tcprcvpacks: a.tcprcvpacks + b.tcprcvpacks,
        tcprcvbytes: a.tcprcvbytes + b.tcprcvbytes,
        udpsndpacks: a.udpsndpacks + b.udpsndpacks,
        udpsndbytes: a.udpsndbytes + b.udpsndbytes,
        udprcvpacks: a.udprcvpacks + b.udprcvpacks,
        udprcvbytes: a.udprcvbytes + b.udprcvbytes,
    }
}

/// The errno of a failed netatop call (panics on success).
fn errno_of<T: std::fmt::Debug>(r: netatop::Result<T>) -> i32 {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e
            .raw_os_error()
            .unwrap_or_else(|| panic!("no errno in {e}")),
    }
}

/// Waits until every TCP socket of `ns` is listening or in TIME-WAIT: each
/// connection's last ACK has reached the side that sent the last FIN (a
/// LAST-ACK socket leaves only when it has; netfilter counted the ACK
/// before TCP saw it).
fn wait_tcp_closed(ns: &Netns) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = ns.exec("ss", &["-Htan"]);
        if out
            .lines()
            .all(|l| l.starts_with("LISTEN") || l.starts_with("TIME-WAIT"))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "TCP connections still closing:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A namespace whose loopback has a 1500-byte MTU and no offload (one skb
/// is one wire packet) and whose input hook counts TCP and UDP packets and
/// IP bytes (nftables table `inet cgacct`, rules "tcp" and "udp"): every
/// packet on loopback passes it once.
fn counted_netns(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.one_skb_per_packet();
    ns.exec(
        "nft",
        &[
            "table inet cgacct { chain in { type filter hook input priority 0; \
           meta l4proto tcp counter comment \"tcp\"; meta l4proto udp counter comment \"udp\"; }; }",
        ],
    );
    ns
}

/// Every TCP and UDP packet nftables counted in `ns`, as netatop counts it
/// for a set of processes that sent and received all of them: each packet
/// once sent and once received, IP length plus link-layer bytes.
fn both_ends_of_everything(ns: &Netns) -> TaskCount {
    let (tcp, tcp_bytes) = nft_wire_counter(ns, "cgacct", "tcp");
    let (udp, udp_bytes) = nft_wire_counter(ns, "cgacct", "udp");
    TaskCount {
        tcpsndpacks: tcp,
        tcpsndbytes: tcp_bytes,
        tcprcvpacks: tcp,
        tcprcvbytes: tcp_bytes,
        udpsndpacks: udp,
        udpsndbytes: udp_bytes,
        udprcvpacks: udp,
        udprcvbytes: udp_bytes,
    }
}

/// A long-lived process and 20 short-lived ones (each a few UDP ping-pongs
/// and one TCP connection with it, then exit at once), all placed in a new
/// cgroup before they run, while a process in another cgroup sends too.
/// Once the short-lived ones are gone and collected, GETCNT_CGROUP answers
/// exactly every packet and byte they and the long-lived one made, each
/// direction, TCP and UDP (nftables counted the namespace's packets and IP
/// bytes), with nprocs 1; GETCNT_CGROUPS has the same entry; the other
/// cgroup has exactly its own traffic. When the long-lived process has
/// finished too, the totals stay (nprocs 0), also right after the cgroup is
/// removed.
#[test]
fn cgroup_totals_are_exact_for_live_and_finished_processes() {
    const CLIENTS: u64 = 20;
    const PINGS: u64 = 3;
    const SIZE: u64 = 100;
    const BYTES: u64 = 2000;
    let _m = module_exclusive();
    let ns = counted_netns("cg-totals");
    let elsewhere = Netns::new("cg-elsewhere");
    let cg = Cgroup::new("totals");
    let other_cg = Cgroup::new("totals-other");
    let (id, other_id) = (cg.id(), other_cg.id());
    let n = Netatop::open().unwrap();
    assert_eq!(
        errno_of(n.cgroup(id)),
        libc::ESRCH,
        "a new cgroup nobody sent from"
    );

    let mut other = Traffic::start_in(
        Some(&elsewhere.name),
        Some(&other_cg),
        &["udp-blast", "127.0.0.1", "9", "7", "40"],
    );
    let mut server = Traffic::start_in(
        Some(&ns.name),
        Some(&cg),
        &[
            "serve",
            "127.0.0.1",
            &(CLIENTS * PINGS).to_string(),
            &CLIENTS.to_string(),
        ],
    );
    assert_eq!(cg.pids(), [server.get("pid")], "placed before it ran");
    let (udp_port, tcp_port) = (server.get("udp").to_string(), server.get("tcp").to_string());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut c = traffic_command(
                Some(&ns.name),
                &[
                    "visit",
                    "127.0.0.1",
                    &udp_port,
                    &tcp_port,
                    &PINGS.to_string(),
                    &SIZE.to_string(),
                    &BYTES.to_string(),
                ],
            );
            cg.place(&mut c);
            c.stdin(Stdio::null()).spawn().expect("spawn a client")
        })
        .collect();
    for mut c in clients {
        let status = c.wait().unwrap();
        assert!(status.success(), "client: {status}");
    }
    server.wait_done();
    other.wait_done();
    wait_tcp_closed(&ns);
    force_gc();

    let generated = both_ends_of_everything(&ns);
    let udp_packets = 2 * CLIENTS * PINGS;
    assert_eq!(
        (generated.udpsndpacks, generated.udpsndbytes),
        (udp_packets, udp_packets * (20 + 8 + SIZE + LINK_BYTES)),
        "nftables saw exactly the UDP the processes made"
    );
    assert!(
        generated.tcpsndpacks >= CLIENTS * 8,
        "at least a handshake, the data, the reply and two FINs with their ACKs per connection: {generated:?}"
    );
    let c = n.cgroup(id).expect("GETCNT_CGROUP");
    println!("cgroup {} (id {id}): {c:?}", cg.path);
    assert_eq!((c.id, c.pad), (id, 0));
    assert_eq!(c.nprocs, 1, "only the long-lived process is live");
    assert_eq!(c.tc, generated, "the cgroup's totals vs nftables");

    let all = n.cgroups().expect("GETCNT_CGROUPS");
    assert_eq!(all.total as usize, all.entries.len(), "all fit");
    let listed: Vec<&CgroupCount> = all.entries.iter().filter(|e| e.id == id).collect();
    assert_eq!(listed, [&c], "GETCNT_CGROUPS has the same entry once");
    assert!(all.entries.iter().all(|e| e.pad == 0), "{all:?}");

    // The other cgroup: its own 7 datagrams (the ICMP answers count for
    // nobody), none of ours, and ours none of its.
    let o = n.cgroup(other_id).expect("GETCNT_CGROUP, other cgroup");
    assert_eq!((o.nprocs, o.tc), (1, udp(7, 0, 40)), "{o:?}");
    assert!(all.entries.contains(&o), "{all:?}");

    // The long-lived process finishes: its counters join the finished
    // totals, which do not change.
    server.finish();
    force_gc();
    let after = n.cgroup(id).expect("GETCNT_CGROUP after the last process");
    assert_eq!((after.nprocs, after.tc), (0, generated));
    // A removed cgroup's totals stay readable for a collection interval.
    cg.remove();
    force_gc();
    let removed = n.cgroup(id).expect("GETCNT_CGROUP right after rmdir");
    assert_eq!((removed.nprocs, removed.tc), (0, generated));
    other.finish();
}

/// Idle processes the test started in a cgroup: GETCNT_TASKS lists each
/// with exactly what GETCNT_TGID answers for it (id, start time, command,
/// counters) and the cgroup id, and so for every other process idle
/// meanwhile (listed identically by two snapshots taken around the
/// GETCNT_TGID calls). The cgroup's GETCNT_CGROUP is the sum of its listed
/// processes. Short buffers (room for 0 and 1 entries) get what fits and
/// the full total.
#[test]
fn tasks_snapshot_matches_tgid_and_short_buffers_get_the_total() {
    let _m = module_exclusive();
    let ns = Netns::new("cg-snapshot");
    let cg = Cgroup::new("snapshot");
    let id = cg.id();
    let echo = Traffic::start_in(
        Some(&ns.name),
        Some(&cg),
        &["udp-echo-server", "127.0.0.1", "4"],
    );
    let port = echo.get("port").to_string();
    let mut client = Traffic::start_in(
        Some(&ns.name),
        Some(&cg),
        &["udp-client", "127.0.0.1", &port, "4", "50"],
    );
    let mut threads = Traffic::start_in(
        Some(&ns.name),
        Some(&cg),
        &["threads", "127.0.0.1", "9", "3", "5", "20"],
    );
    client.wait_done();
    let mut echo = echo;
    echo.wait_done();
    threads.wait_done();
    // Earlier tests' finished processes leave the table.
    force_gc();

    let n = Netatop::open().unwrap();
    let a = n.processes().expect("GETCNT_TASKS");
    let tgid: Vec<netatop::Result<NetPerTask>> =
        a.entries.iter().map(|p| n.process(p.id)).collect();
    let b = n.processes().expect("GETCNT_TASKS again");
    assert_eq!(a.total as usize, a.entries.len(), "all fit");
    let mut compared = 0;
    for (p, t) in a.entries.iter().zip(&tgid) {
        assert_eq!(p.pad, 0, "{p:?}");
        let nul = p.command.iter().position(|&c| c == 0).unwrap_or(16);
        assert!(
            p.command[nul..].iter().all(|&c| c == 0),
            "NUL padded: {p:?}"
        );
        if !b.entries.contains(p) {
            continue; // sent, or finished, meanwhile
        }
        let t = t
            .as_ref()
            .unwrap_or_else(|e| panic!("GETCNT_TGID {} listed by both snapshots: {e}", p.id));
        assert_eq!(
            (t.id, t.btime_secs(), t.command(), t.tc),
            (p.id, p.btime, p.command(), p.tc),
            "GETCNT_TGID vs GETCNT_TASKS"
        );
        compared += 1;
    }
    println!(
        "GETCNT_TASKS: {} processes, {compared} idle ones compared with GETCNT_TGID",
        a.total
    );

    let ours = [
        (echo.get("pid"), udp(4, 4, 50)),
        (client.get("pid"), udp(4, 4, 50)),
        (threads.get("pid"), udp(8, 0, 20)),
    ];
    let mut sum = TaskCount::default();
    for (pid, expected) in ours {
        let p: &ProcInfo = a
            .entries
            .iter()
            .find(|p| p.id == pid)
            .unwrap_or_else(|| panic!("pid {pid} not in GETCNT_TASKS: {a:?}"));
        assert!(
            b.entries.contains(p),
            "our idle process {pid} changed: {p:?}"
        );
        assert_eq!(p.cgroup, id, "counted for the cgroup it started in");
        assert_eq!(p.command(), "netatop-traffic");
        assert_eq!(p.btime, start_time(pid));
        assert_eq!(p.tc, expected, "pid {pid}");
        assert_eq!(
            netatop::cgroup::path_of_pid(pid).expect("path_of_pid"),
            cg.path
        );
        sum = add(sum, p.tc);
    }
    let listed: Vec<&ProcInfo> = a.entries.iter().filter(|p| p.cgroup == id).collect();
    assert_eq!(listed.len(), 3, "only ours in the cgroup: {listed:?}");
    let c = n.cgroup(id).expect("GETCNT_CGROUP");
    assert_eq!(
        (c.nprocs, c.tc),
        (3, sum),
        "the cgroup is its processes' sum"
    );

    // Short buffers: what fits, and the full total.
    for room in [0usize, 1] {
        let s = n.processes_with_room(room).expect("GETCNT_TASKS, short");
        assert_eq!((s.total, s.entries.len()), (a.total, room), "room {room}");
        assert!(room == 0 || a.entries.iter().any(|p| p.id == s.entries[0].id));
        let s = n.cgroups_with_room(room).expect("GETCNT_CGROUPS, short");
        let full = n.cgroups().unwrap();
        assert_eq!(
            (s.total, s.entries.len()),
            (full.total, room.min(full.total as usize)),
            "room {room}"
        );
    }
    for t in [client, echo, threads] {
        t.finish();
    }
}

/// `getsockopt(fd, SOL_IP, cmd, buf, &len)`: (errno or 0, length written back).
fn raw_call(fd: libc::c_int, cmd: i32, buf: *mut u8, len: i32) -> (i32, usize) {
    let mut l = len as libc::socklen_t;
    // SAFETY: the buffers passed are valid for `len` bytes, or deliberately
    // invalid (the kernel checks them).
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_IP, cmd, buf.cast(), &mut l) };
    let errno = if rc == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap()
    };
    (errno, l as usize)
}

/// The three new commands: exact errno for each bad input; on success the
/// length written back is exactly what the answer takes, nothing after it
/// is written (the pattern stays), padding is zero, command names are NUL
/// padded, and a list's header counts the entries that fit, no more than
/// its total.
#[test]
fn list_and_cgroup_commands_validate_input_and_write_only_what_they_report() {
    let _m = module_loaded();
    let ns = Netns::new("cg-errno");
    let cg = Cgroup::new("errno");
    let id = cg.id();
    let mut t = Traffic::start_in(
        Some(&ns.name),
        Some(&cg),
        &["udp-blast", "127.0.0.1", "9", "2", "10"],
    );
    t.wait_done();
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    assert!(fd >= 0);

    // GETCNT_CGROUP.
    let with_id = |id: u64| {
        let mut b = vec![0xa5u8; 200];
        b[..8].copy_from_slice(&id.to_ne_bytes());
        b
    };
    let mut b = with_id(id);
    for len in [79, 8, 0, -1] {
        assert_eq!(
            raw_call(fd, GETCNT_CGROUP, b.as_mut_ptr(), len).0,
            libc::EINVAL,
            "optlen {len}"
        );
    }
    assert_eq!(
        raw_call(fd, GETCNT_CGROUP, std::ptr::null_mut(), 80).0,
        libc::EFAULT
    );
    assert_eq!(
        raw_call(fd, GETCNT_CGROUP, 8 as *mut u8, 80).0,
        libc::EFAULT
    );
    for unknown in [u64::MAX - 1, 0xdead_beef_0000] {
        let mut u = with_id(unknown);
        assert_eq!(
            raw_call(fd, GETCNT_CGROUP, u.as_mut_ptr(), 80).0,
            libc::ESRCH,
            "id {unknown}"
        );
    }
    assert_eq!(
        raw_call(fd, GETCNT_CGROUP, b.as_mut_ptr(), 200),
        (0, CGROUPCOUNT)
    );
    assert_eq!(u64::from_ne_bytes(b[..8].try_into().unwrap()), id);
    assert_eq!(
        u32::from_ne_bytes(b[8..12].try_into().unwrap()),
        1,
        "nprocs"
    );
    assert_eq!(&b[12..16], &[0; 4], "padding zeroed");
    // tc.udpsndpacks at 16 + 32.
    assert_eq!(u64::from_ne_bytes(b[48..56].try_into().unwrap()), 2);
    assert!(
        b[CGROUPCOUNT..].iter().all(|&x| x == 0xa5),
        "wrote past 80 bytes"
    );

    // GETCNT_TASKS and GETCNT_CGROUPS.
    for (cmd, size) in [(GETCNT_TASKS, PROCINFO), (GETCNT_CGROUPS, CGROUPCOUNT)] {
        let all = LISTHDR + 1000 * size;
        let mut b = vec![0xa5u8; all + 64];
        for len in [15, 1, 0, -1] {
            assert_eq!(
                raw_call(fd, cmd, b.as_mut_ptr(), len).0,
                libc::EINVAL,
                "{cmd} optlen {len}"
            );
        }
        assert_eq!(raw_call(fd, cmd, std::ptr::null_mut(), 200).0, libc::EFAULT);
        assert_eq!(raw_call(fd, cmd, 8 as *mut u8, 200).0, libc::EFAULT);
        // Room for 0 (with and without a partial entry's worth), 1, 2 and
        // every entry.
        for len in [
            LISTHDR,
            LISTHDR + size - 1,
            LISTHDR + size,
            LISTHDR + 2 * size + 7,
            all,
        ] {
            b.fill(0xa5);
            let (err, l) = raw_call(fd, cmd, b.as_mut_ptr(), len as i32);
            assert_eq!(err, 0, "{cmd} optlen {len}");
            let total = u32::from_ne_bytes(b[..4].try_into().unwrap()) as usize;
            let count = u32::from_ne_bytes(b[4..8].try_into().unwrap()) as usize;
            let room = (len - LISTHDR) / size;
            assert!(total >= 1, "{cmd}: our process and cgroup exist");
            assert_eq!(
                count,
                total.min(room),
                "{cmd} optlen {len}: count vs total {total}"
            );
            assert_eq!(
                l,
                LISTHDR + count * size,
                "{cmd} optlen {len}: length written back"
            );
            assert!(
                b[l..].iter().all(|&x| x == 0xa5),
                "{cmd} optlen {len}: wrote past {l}"
            );
            for e in (0..count).map(|i| LISTHDR + i * size) {
                if cmd == GETCNT_TASKS {
                    assert_eq!(&b[e + 4..e + 8], &[0; 4], "procinfo padding");
                    let comm = &b[e + 16..e + 32];
                    let nul = comm.iter().position(|&c| c == 0).expect("NUL");
                    assert!(comm[nul..].iter().all(|&c| c == 0), "comm {comm:?}");
                } else {
                    assert_eq!(&b[e + 12..e + 16], &[0; 4], "cgroupcount padding");
                }
            }
            if len == all {
                assert_eq!(count, total, "{cmd}: all fit in room for 1000");
                // Our process, or our cgroup, is there.
                let found = (0..count).map(|i| LISTHDR + i * size).any(|e| {
                    if cmd == GETCNT_TASKS {
                        i32::from_ne_bytes(b[e..e + 4].try_into().unwrap()) == t.get("pid")
                            && u64::from_ne_bytes(b[e + 32..e + 40].try_into().unwrap()) == id
                    } else {
                        u64::from_ne_bytes(b[e..e + 8].try_into().unwrap()) == id
                    }
                });
                assert!(found, "{cmd}: ours listed");
            }
        }
    }
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(fd) };
    t.finish();
}

/// `netatop-exporter --web.listen-address 127.0.0.1:PORT`, killed on drop;
/// returns when /metrics answers.
struct Exporter {
    port: u16,
    _child: KillOnDrop,
}

impl Exporter {
    fn start() -> Self {
        let port = free_port();
        let bin = tool("netatop-exporter");
        let mut child = KillOnDrop(
            Command::new(&bin)
                .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", bin.display())),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = http_get(port, "/metrics") {
                return Exporter {
                    port,
                    _child: child,
                };
            }
            if let Some(status) = child.0.try_wait().unwrap() {
                panic!("netatop-exporter exited: {status}");
            }
            assert!(Instant::now() < deadline, "netatop-exporter never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// GET /metrics: the samples, `name{labels}` (labels as written) → value.
    fn metrics(&self) -> BTreeMap<String, f64> {
        let (status, body) = http_get(self.port, "/metrics").expect("GET /metrics");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').expect("a sample line");
                (series.to_owned(), value.parse().expect("a number"))
            })
            .collect()
    }

    /// The value of the sample of `name` whose labels include all of `labels`.
    fn sample(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.metrics().into_iter().find_map(|(series, v)| {
            let (n, rest) = series.split_once('{').unwrap_or((&series, ""));
            (n == name
                && labels
                    .iter()
                    .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\""))))
            .then_some(v)
        })
    }
}

/// The TCP and UDP counters of a cgroup by the exporter's labels:
/// (metric, protocol, direction) → value.
fn by_labels(tc: &TaskCount) -> BTreeMap<(String, String, String), u64> {
    let mut m = BTreeMap::new();
    for (proto, v) in [
        (
            "tcp",
            [
                tc.tcpsndpacks,
                tc.tcpsndbytes,
                tc.tcprcvpacks,
                tc.tcprcvbytes,
            ],
        ),
        (
            "udp",
            [
                tc.udpsndpacks,
                tc.udpsndbytes,
                tc.udprcvpacks,
                tc.udprcvbytes,
            ],
        ),
    ] {
        for (i, (metric, dir)) in [
            ("netatop_cgroup_packets_total", "sent"),
            ("netatop_cgroup_bytes_total", "sent"),
            ("netatop_cgroup_packets_total", "received"),
            ("netatop_cgroup_bytes_total", "received"),
        ]
        .into_iter()
        .enumerate()
        {
            m.insert((metric.into(), proto.into(), dir.into()), v[i]);
        }
    }
    m
}

/// The Debian prometheus, with its data in a temporary directory (removed
/// on drop, after the process is killed).
struct Prometheus {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<KillOnDrop>,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.child.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Prometheus {
    /// Starts prometheus scraping 127.0.0.1:`target` every second; returns
    /// when it is ready.
    fn start(target: u16) -> Self {
        let bin = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("no prometheus binary: scripts/setup.sh installs Debian's prometheus");
        let dir = std::env::temp_dir().join(format!("netatop-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: netatop\n    scrape_interval: 1s\n    \
                 static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let mut p = Prometheus {
            port,
            dir: dir.clone(),
            child: None,
        };
        p.child = Some(KillOnDrop(
            Command::new(bin)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start prometheus"),
        ));
        // A KASAN kernel under TCG (make check-debug) needs minutes to
        // start a Go program of this size; 90 s was not enough there.
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if let Ok((200, _)) = http_get(port, "/-/ready") {
                return p;
            }
            let exited = p.child.as_mut().unwrap().0.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "prometheus not ready ({exited:?}):\n{}",
                    std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// GET /api/v1/query?query=`q`: (URL path, answer as text, parsed).
    fn query(&self, q: &str) -> (String, String, serde_json::Value) {
        let path = format!("/api/v1/query?query={}", url_encode(q));
        let (status, body) = http_get(self.port, &path).expect("GET /api/v1/query");
        assert_eq!(status, 200, "{path}: {body}");
        let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (path, body, v)
    }
}

/// The samples of a query answer, by (metric, protocol, direction).
fn samples(answer: &serde_json::Value) -> BTreeMap<(String, String, String), u64> {
    answer["data"]["result"]
        .as_array()
        .map(|r| r.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let m = &s["metric"];
            let label = |k: &str| m[k].as_str().unwrap_or("").to_owned();
            let value: f64 = s["value"][1].as_str().unwrap_or("nan").parse().unwrap();
            (
                (label("__name__"), label("protocol"), label("direction")),
                value as u64,
            )
        })
        .collect()
}

/// End to end: known UDP and TCP traffic in a new cgroup; netatop-exporter
/// serves it, the Debian prometheus scrapes it every second, and its query
/// API answers exactly the cgroup's totals for the cgroup's path, every
/// (metric, protocol, direction) series: UDP as made, TCP as GETCNT_CGROUP
/// counts it (exact against nftables in the test above).
#[test]
fn prometheus_scrapes_exact_cgroup_totals_from_the_exporter() {
    const PINGS: u64 = 5;
    const SIZE: u64 = 64;
    let _m = module_exclusive();
    let ns = Netns::new("cg-prom");
    let cg = Cgroup::new("prometheus");
    let id = cg.id();
    let mut server = Traffic::start_in(
        Some(&ns.name),
        Some(&cg),
        &["serve", "127.0.0.1", &PINGS.to_string(), "1"],
    );
    let mut visit = traffic_command(
        Some(&ns.name),
        &[
            "visit",
            "127.0.0.1",
            &server.get("udp").to_string(),
            &server.get("tcp").to_string(),
            &PINGS.to_string(),
            &SIZE.to_string(),
            "3000",
        ],
    );
    cg.place(&mut visit);
    assert!(visit.status().unwrap().success(), "visit");
    server.wait_done();
    wait_tcp_closed(&ns);
    // The cgroup's totals are final now (its one live process is idle).
    let c = Netatop::open().unwrap().cgroup(id).expect("GETCNT_CGROUP");
    let expected_udp = udp(2 * PINGS, 2 * PINGS, SIZE);
    assert_eq!(
        (
            c.tc.udpsndpacks,
            c.tc.udpsndbytes,
            c.tc.udprcvpacks,
            c.tc.udprcvbytes
        ),
        (
            expected_udp.udpsndpacks,
            expected_udp.udpsndbytes,
            expected_udp.udprcvpacks,
            expected_udp.udprcvbytes
        )
    );
    assert!(c.tc.tcpsndpacks > 0 && c.tc.tcprcvpacks > 0, "{c:?}");
    let expected = by_labels(&c.tc);

    let exporter = Exporter::start();
    let prometheus = Prometheus::start(exporter.port);
    let q = format!(
        "{{__name__=~\"netatop_cgroup_(packets|bytes)_total\",cgroup=\"{}\"}}",
        cg.path
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    let (path, body) = loop {
        let (path, body, v) = prometheus.query(&q);
        if v["status"] == "success" && samples(&v) == expected {
            break (path, body);
        }
        if Instant::now() > deadline {
            panic!(
                "prometheus never answered the cgroup's totals {expected:?}\n\
                 last answer to {path}:\n{body}\nexporter: {:?}",
                exporter.metrics()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    println!(
        "GET http://127.0.0.1:{}{path}\n(query: {q})\n{body}",
        prometheus.port
    );
    // The cgroup's bytes sent over UDP, as the README's example queries it.
    let (path, body, v) = prometheus.query(&format!(
        "netatop_cgroup_bytes_total{{cgroup=\"{}\",protocol=\"udp\",direction=\"sent\"}}",
        cg.path
    ));
    println!("GET http://127.0.0.1:{}{path}\n{body}", prometheus.port);
    let udp_sent = samples(&v);
    assert_eq!(udp_sent.len(), 1, "{body}");
    assert_eq!(udp_sent.values().next(), Some(&expected_udp.udpsndbytes));
    drop(prometheus);
    drop(exporter);
    server.finish();
}

/// The exporter keeps serving while the module is unloaded (netatop_up 0)
/// and picks it up again after the reload (netatop_up 1, and a new
/// cgroup's traffic appears with its exact counts).
#[test]
fn exporter_survives_module_unload_and_reload() {
    let _m = module_exclusive();
    // Reloads the module with the defaults on the way out, even on failure.
    let _defaults_afterwards = ModuleParams;
    let exporter = Exporter::start();
    assert_eq!(exporter.sample("netatop_up", &[]), Some(1.0));
    run("rmmod", &["netatop"]);
    assert_eq!(
        exporter.sample("netatop_up", &[]),
        Some(0.0),
        "{:?}",
        exporter.metrics()
    );
    run("insmod", &[&module_path()]);
    assert_eq!(exporter.sample("netatop_up", &[]), Some(1.0));

    let ns = Netns::new("cg-reload");
    let cg = Cgroup::new("reload");
    let mut t = Traffic::start_in(
        Some(&ns.name),
        Some(&cg),
        &["udp-blast", "127.0.0.1", "9", "3", "30"],
    );
    t.wait_done();
    let sent = udp(3, 0, 30);
    let labels = [
        ("cgroup", cg.path.as_str()),
        ("protocol", "udp"),
        ("direction", "sent"),
    ];
    assert_eq!(
        exporter.sample("netatop_cgroup_packets_total", &labels),
        Some(sent.udpsndpacks as f64),
        "{:?}",
        exporter.metrics()
    );
    assert_eq!(
        exporter.sample("netatop_cgroup_bytes_total", &labels),
        Some(sent.udpsndbytes as f64)
    );
    t.finish();
}
