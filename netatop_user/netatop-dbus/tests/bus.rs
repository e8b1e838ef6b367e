//! End to end on the host, no module needed: a private `dbus-daemon
//! --session`, netatop-dbus on it (`--address`), and calls through zbus.
//! Without the module (the host never loads it) `GetStats`,
//! `GetProcessStats` and `GetConnections` answer
//! `org.gnome.GTopNetStats.Error.ModuleNotLoaded`; the compatibility
//! methods succeed; the introspection data has the documented signatures.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use netatop_dbus::{BUS_NAME, INTERFACE, OBJECT_PATH};
use zbus::blocking::{fdo::DBusProxy, Connection};

/// Generous: a loaded CI machine.
const DEADLINE: Duration = Duration::from_secs(60);

/// A child process killed and reaped on drop.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Kill {
    /// Waits for the process to exit by itself.
    fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < DEADLINE, "the process did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A private session bus: the daemon and its address.
fn private_bus() -> (Kill, String) {
    let child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run dbus-daemon ({e}): apt-get install dbus-daemon (make setup does)")
        });
    let mut bus = Kill(child);
    let mut line = String::new();
    BufReader::new(bus.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line.trim().to_owned();
    assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
    (bus, address)
}

fn start_service(address: &str) -> Kill {
    Kill(
        Command::new(env!("CARGO_BIN_EXE_netatop-dbus"))
            .args(["--address", address])
            .stderr(Stdio::piped())
            .spawn()
            .expect("run netatop-dbus"),
    )
}

/// Connects to the bus and waits until the service owns its name.
fn client(address: &str, service: &mut Kill) -> Connection {
    let conn = zbus::blocking::connection::Builder::address(address)
        .unwrap()
        .build()
        .expect("connect to the private bus");
    let dbus = DBusProxy::new(&conn).unwrap();
    let start = Instant::now();
    while !dbus.name_has_owner(BUS_NAME.try_into().unwrap()).unwrap() {
        assert!(
            service.0.try_wait().unwrap().is_none(),
            "netatop-dbus exited"
        );
        assert!(start.elapsed() < DEADLINE, "{BUS_NAME} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    conn
}

fn call(conn: &Connection, method: &str) -> zbus::Result<zbus::Message> {
    conn.call_method(Some(BUS_NAME), OBJECT_PATH, Some(INTERFACE), method, &())
}

/// Whether netatop is loaded here (never on the host that runs make check;
/// a developer might run these tests inside the VM).
fn module_loaded() -> bool {
    std::path::Path::new("/proc/netatop").exists()
}

fn assert_module_not_loaded(reply: zbus::Result<zbus::Message>) {
    match reply {
        Err(zbus::Error::MethodError(name, Some(text), _)) => {
            assert_eq!(
                name.as_str(),
                "org.gnome.GTopNetStats.Error.ModuleNotLoaded"
            );
            assert!(text.contains("not loaded"), "{text}");
        }
        other => panic!("expected ModuleNotLoaded, got {other:?}"),
    }
}

#[test]
fn get_stats_without_the_module_and_the_compatibility_methods() {
    let (_bus, address) = private_bus();
    let mut service = start_service(&address);
    let conn = client(&address, &mut service);

    for method in ["GetStats", "GetProcessStats", "GetConnections"] {
        let reply = call(&conn, method);
        if module_loaded() {
            let msg = reply.unwrap_or_else(|e| panic!("{method}: {e}"));
            let sig = msg.body().signature().to_string();
            assert!(
                sig.starts_with("a{u(") || sig.starts_with("a(u"),
                "{method}: {sig}"
            );
        } else {
            assert_module_not_loaded(reply);
        }
    }
    for method in [
        "InitCapture",
        "Set",
        "Reset",
        "SetCaptureStatus",
        "ResetCaptureStatus",
    ] {
        let msg = call(&conn, method).unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!(msg.body().signature().to_string(), "", "{method}");
    }
    // No such method: the bus's usual error, no crash.
    match call(&conn, "Wipe") {
        Err(zbus::Error::MethodError(name, _, _)) => {
            assert_eq!(name.as_str(), "org.freedesktop.DBus.Error.UnknownMethod")
        }
        other => panic!("expected UnknownMethod, got {other:?}"),
    }

    // Many calls at once, each answered.
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let conn = conn.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let reply = call(&conn, "GetStats");
                    if !module_loaded() {
                        assert_module_not_loaded(reply);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        service.0.try_wait().unwrap().is_none(),
        "netatop-dbus exited"
    );
}

/// The introspection data: the interface with each method's signature.
#[test]
fn introspection_has_the_documented_signatures() {
    let (_bus, address) = private_bus();
    let mut service = start_service(&address);
    let conn = client(&address, &mut service);
    let msg = conn
        .call_method(
            Some(BUS_NAME),
            OBJECT_PATH,
            Some("org.freedesktop.DBus.Introspectable"),
            "Introspect",
            &(),
        )
        .unwrap();
    let xml: String = msg.body().deserialize().unwrap();
    let mut methods = interface_methods(&xml, INTERFACE);
    methods.sort();
    let out = |t: &str| vec![format!("out {t}")];
    assert_eq!(
        methods,
        vec![
            ("GetConnections".into(), out("a(utssssqsqsbtttt)")),
            ("GetProcessStats".into(), out("a{u(sttstttttttt)}")),
            ("GetStats".into(), out("a{u(tt)}")),
            ("InitCapture".into(), vec![]),
            ("Reset".into(), vec![]),
            ("ResetCaptureStatus".into(), vec![]),
            ("Set".into(), vec![]),
            ("SetCaptureStatus".into(), vec![]),
        ],
        "{xml}"
    );
    let block = xml
        .split(&format!("<interface name=\"{INTERFACE}\">"))
        .nth(1)
        .unwrap();
    let block = block.split("</interface>").next().unwrap();
    assert!(
        !block.contains("<signal") && !block.contains("<property"),
        "{block}"
    );
}

/// The value of attribute `name` in the tag text `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let rest = tag.split(&format!(" {name}=\"")).nth(1)?;
    rest.split('"').next()
}

/// The methods of `iface` in introspection XML: (name, ["DIRECTION TYPE"]).
fn interface_methods(xml: &str, iface: &str) -> Vec<(String, Vec<String>)> {
    let block = xml
        .split(&format!("<interface name=\"{iface}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no {iface} in {xml}"));
    let block = block.split("</interface>").next().unwrap();
    block
        .split("<method ")
        .skip(1)
        .map(|m| {
            let (head, body) = m.split_once('>').unwrap();
            let name = attr(&format!(" {head}"), "name").unwrap().to_owned();
            let body = if head.ends_with('/') {
                ""
            } else {
                body.split("</method>").next().unwrap()
            };
            let args = body
                .split("<arg ")
                .skip(1)
                .map(|a| {
                    let tag = format!(" {}", a.split('>').next().unwrap());
                    format!(
                        "{} {}",
                        attr(&tag, "direction").unwrap_or("in"),
                        attr(&tag, "type").unwrap()
                    )
                })
                .collect();
            (name, args)
        })
        .collect()
}

/// One owner of the name: a second service fails; the service exits when
/// its bus goes away (no daemon left behind).
#[test]
fn one_owner_and_exit_with_the_bus() {
    let (mut bus, address) = private_bus();
    let mut service = start_service(&address);
    let _conn = client(&address, &mut service);
    let mut second = start_service(&address);
    let status = second.wait_exit();
    assert!(!status.success(), "a second netatop-dbus took the name");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains(BUS_NAME), "{err}");

    bus.0.kill().unwrap();
    bus.0.wait().unwrap();
    let status = service.wait_exit();
    assert!(!status.success(), "{status}");
}
