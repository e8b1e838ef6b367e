//! The D-Bus object `/org/gnome/GTopNetStats`, interface
//! `org.gnome.GTopNetStats`, on the bus name `org.gnome.GTopNetStats`.
//!
//! Each call is its own task on zbus's executor: it asks the bus who the
//! caller is (an asynchronous call), then waits for one of a few permits and
//! does the blocking part (the NSS lookups, `NETATOP_PROBE`, and the
//! snapshot of the [`SHARE_INTERVAL`](crate::snapshot::SHARE_INTERVAL): one
//! `NETATOP_GETCNT_TASKS` for the process methods, one
//! `NETATOP_GETCNT_CONNS` (and a `NETATOP_GETCNT_TASKS` for the commands)
//! for `GetConnections`, and the owner checks in `/proc`, shared by the
//! calls of that interval) on a thread of the `blocking` pool, so that no
//! call waits for another caller longer than a snapshot takes and the
//! memory in use is bounded by the permits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_lock::Semaphore;
use futures_lite::StreamExt;
use netatop::{Netatop, ProcInfo};
use zbus::fdo::DBusProxy;
use zbus::message::{Header, Type as MessageType};
use zbus::names::BusName;
use zbus::{interface, Connection, MatchRule, MessageStream};

use crate::access::{self, Caller};
use crate::connections::{self, ConnectionStats, Connections};
use crate::snapshot::{Owned, Shared, Snapshot};
use crate::stats::{self, ProcessStatsMap, Stats};

/// The well-known bus name.
pub const BUS_NAME: &str = "org.gnome.GTopNetStats";
/// The object's path.
pub const OBJECT_PATH: &str = "/org/gnome/GTopNetStats";
/// The interface.
pub const INTERFACE: &str = "org.gnome.GTopNetStats";
/// The prefix of the service's D-Bus error names.
pub const ERROR_PREFIX: &str = "org.gnome.GTopNetStats.Error";

/// Calls doing their blocking part at the same time, at most: each holds
/// one snapshot (104 bytes a process, 96 a connection in the kernel's
/// answer) and its reply (about 1.2 MiB for `GetProcessStats` with 10,000
/// processes, 3 MiB for `GetConnections` with 20,000 connections).
const MAX_CONCURRENT: usize = 4;

/// The largest answer the service sends: the default `max_message_size` of
/// dbus-daemon (32 MiB), less room for the header. The daemon disconnects
/// a peer that sends a larger message, which would end the service.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024 - 64 * 1024;

/// The service's D-Bus errors: `org.gnome.GTopNetStats.Error.<variant>`,
/// with a message for people.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.gnome.GTopNetStats.Error")]
pub enum Error {
    /// An error of the bus connection itself.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The netatop kernel module is not loaded (`ENOPROTOOPT`); the next
    /// call after it is loaded succeeds.
    ModuleNotLoaded(String),
    /// The loaded module is too old: it lacks the command the method needs
    /// (`NETATOP_GETCNT_TASKS`, `NETATOP_GETCNT_CONNS`).
    Unsupported(String),
    /// The service itself lacks `CAP_NET_ADMIN` (it must run as root).
    PermissionDenied(String),
    /// The bus could not tell who the caller is.
    UnknownCaller(String),
    /// Any other failure.
    Failed(String),
}

impl From<netatop::Error> for Error {
    fn from(e: netatop::Error) -> Self {
        match e {
            netatop::Error::ModuleNotLoaded => Error::ModuleNotLoaded(
                "the netatop kernel module is not loaded (modprobe netatop)".into(),
            ),
            netatop::Error::Unsupported(cmd) => Error::Unsupported(format!(
                "the loaded netatop module does not support {cmd}: \
                 load netatop-rs's module (not netatop 3.2.2 or an older netatop-rs)"
            )),
            netatop::Error::PermissionDenied => Error::PermissionDenied(
                "netatop-dbus lacks CAP_NET_ADMIN: it must run as root".into(),
            ),
            other => Error::Failed(format!("netatop: {other}")),
        }
    }
}

/// The service object.
pub struct Service {
    netatop: Arc<Netatop>,
    admin_group: Arc<str>,
    permits: Arc<Semaphore>,
    /// The last snapshot of the processes, shared by the calls of
    /// [`SHARE_INTERVAL`](crate::snapshot::SHARE_INTERVAL).
    procs: Arc<Shared<Snapshot<ProcInfo>>>,
    /// The last snapshot of the connections, likewise.
    conns: Arc<Shared<Snapshot<ConnectionStats>>>,
    /// The cgroup paths by id, refreshed when an id is missing.
    cgroups: Arc<Mutex<CgroupPaths>>,
}

impl Service {
    /// A service reading `netatop`; members of `admin_group` (a group name,
    /// empty for none) see every process, as root does.
    pub fn new(netatop: Netatop, admin_group: &str) -> Self {
        Self {
            netatop: Arc::new(netatop),
            admin_group: admin_group.into(),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT)),
            procs: Arc::new(Shared::default()),
            conns: Arc::new(Shared::default()),
            cgroups: Arc::new(Mutex::new(CgroupPaths::default())),
        }
    }

    /// Runs `work` with the entries the caller may see in the snapshot
    /// `shared` holds for this
    /// [`SHARE_INTERVAL`](crate::snapshot::SHARE_INTERVAL) (`read` reads a
    /// new one's entries), on the blocking pool, holding a permit.
    async fn with_visible<E, T, F>(
        &self,
        caller: Caller,
        shared: &Arc<Shared<Snapshot<E>>>,
        read: fn(&Netatop) -> Result<Vec<E>, Error>,
        work: F,
    ) -> Result<T, Error>
    where
        E: Owned + Clone + Send + Sync + 'static,
        T: Send + 'static,
        F: FnOnce(Vec<E>) -> Result<T, Error> + Send + 'static,
    {
        let _permit = self.permits.acquire_arc().await;
        let netatop = self.netatop.clone();
        let admin_group = self.admin_group.clone();
        let shared = shared.clone();
        let (procs, conns) = (self.procs.clone(), self.conns.clone());
        blocking::unblock(move || {
            let scope = access::scope_of(&caller, &admin_group);
            // Whether the module is there now (no data copied): an unload
            // is reported at once, not a snapshot of the module before it.
            if let Err(e) = netatop.probe() {
                procs.forget();
                conns.forget();
                return Err(e.into());
            }
            let snapshot = shared.get(Instant::now(), || Snapshot::take(|| read(&netatop)))?;
            work(snapshot.visible(scope))
        })
        .await
    }

    /// [`Service::with_visible`] on the processes
    /// (`NETATOP_GETCNT_TASKS`).
    async fn with_visible_processes<T, F>(&self, caller: Caller, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(Vec<ProcInfo>) -> T + Send + 'static,
    {
        self.with_visible(caller, &self.procs, read_processes, |procs| Ok(work(procs)))
            .await
    }
}

/// Every process the module counts.
fn read_processes(netatop: &Netatop) -> Result<Vec<ProcInfo>, Error> {
    Ok(netatop.processes()?.entries)
}

/// Every connection the module tracks (`NETATOP_GETCNT_CONNS`), with the
/// command of its process from a `NETATOP_GETCNT_TASKS` right after it
/// (every process a connection names that still lives is in it).
fn read_connections(netatop: &Netatop) -> Result<Vec<ConnectionStats>, Error> {
    let conns = netatop.connections()?.entries;
    let procs = netatop.processes()?.entries;
    Ok(connections::connection_stats(&conns, &procs))
}

/// The paths of the cgroups by id, from the last walk of the cgroup2
/// hierarchy.
#[derive(Default)]
struct CgroupPaths {
    by_id: HashMap<u64, String>,
    walked: Option<Instant>,
}

impl CgroupPaths {
    /// Walks the hierarchy again when a process's cgroup is not known,
    /// at most once a second (a removed cgroup stays unknown).
    fn refresh_for(&mut self, procs: &[ProcInfo]) {
        let missing = procs
            .iter()
            .any(|p| p.cgroup != 0 && !self.by_id.contains_key(&p.cgroup));
        let recent = self
            .walked
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1));
        if missing && !recent {
            self.walked = Some(Instant::now());
            if let Ok(fresh) = netatop::cgroup::paths_by_id() {
                self.by_id = fresh;
            }
        }
    }
}

/// Who sent the message `hdr`, asked from the bus: `GetConnectionCredentials`
/// (uid and groups), or `GetConnectionUnixUser` where the bus lacks it.
async fn caller(conn: &Connection, hdr: &Header<'_>) -> Result<Caller, Error> {
    let sender = hdr
        .sender()
        .ok_or_else(|| Error::UnknownCaller("the call has no sender".into()))?;
    let name = BusName::from(sender.to_owned());
    let dbus = DBusProxy::new(conn).await?;
    if let Ok(creds) = dbus.get_connection_credentials(name.clone()).await {
        if let Some(uid) = creds.unix_user_id() {
            return Ok(Caller {
                uid,
                groups: creds.into_unix_group_ids(),
            });
        }
    }
    let uid = dbus.get_connection_unix_user(name).await.map_err(|e| {
        Error::UnknownCaller(format!("the bus does not tell the caller's uid: {e}"))
    })?;
    Ok(Caller { uid, groups: None })
}

#[interface(name = "org.gnome.GTopNetStats")]
impl Service {
    /// GetStats() -> a{u(tt)}: pid -> (bytes sent, bytes received), TCP
    /// plus UDP, of every live process the caller may see.
    async fn get_stats(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<Stats, Error> {
        let caller = caller(conn, &hdr).await?;
        self.with_visible_processes(caller, |procs| stats::get_stats(&procs))
            .await
    }

    /// GetProcessStats() -> a{u(sttstttttttt)}: pid -> (command, start time,
    /// cgroup id, cgroup path, TCP packets sent, TCP bytes sent, TCP packets
    /// received, TCP bytes received, UDP packets sent, UDP bytes sent, UDP
    /// packets received, UDP bytes received).
    async fn get_process_stats(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<ProcessStatsMap, Error> {
        let caller = caller(conn, &hdr).await?;
        let cgroups = self.cgroups.clone();
        self.with_visible_processes(caller, move |procs| {
            let mut paths = cgroups.lock().unwrap_or_else(|e| e.into_inner());
            paths.refresh_for(&procs);
            stats::get_process_stats(&procs, |id| paths.by_id.get(&id).cloned())
        })
        .await
    }

    /// GetConnections() -> a(utssssqsqsbtttt): each connection of a process
    /// the caller may see (a connection of no process: root and the admin
    /// group only): (pid, start time, command, protocol, family, local
    /// address, local port, remote address, remote port, TCP state, UDP
    /// peers, packets sent, bytes sent, packets received, bytes received).
    async fn get_connections(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<Connections, Error> {
        let caller = caller(conn, &hdr).await?;
        self.with_visible(caller, &self.conns, read_connections, |answer| {
            connections::at_most(answer, MAX_ANSWER_BYTES)
        })
        .await
    }

    /// InitCapture(): libgtop compatibility; nothing to start (the module
    /// counts all the time).
    async fn init_capture(&self) {}

    /// Set(): libgtop compatibility; does nothing.
    async fn set(&self) {}

    /// Reset(): libgtop compatibility; does nothing (no counter is reset).
    async fn reset(&self) {}

    /// SetCaptureStatus(): the name libgtop's own service gave Set().
    async fn set_capture_status(&self) {}

    /// ResetCaptureStatus(): the name libgtop's own service gave Reset().
    async fn reset_capture_status(&self) {}
}

/// The bus to serve on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bus {
    /// The system bus (the default).
    System,
    /// The session bus (tests).
    Session,
    /// A bus at this D-Bus address (tests).
    Address(String),
}

/// Connects to `bus`, takes the name and serves until the connection is
/// closed or the name is lost (both are errors).
pub async fn serve(bus: &Bus, service: Service) -> Result<(), String> {
    let builder = match bus {
        Bus::System => zbus::connection::Builder::system(),
        Bus::Session => zbus::connection::Builder::session(),
        Bus::Address(a) => zbus::connection::Builder::address(a.as_str()),
    }
    .map_err(|e| format!("bus address: {e}"))?;
    // One owner: a second instance fails instead of replacing the first.
    let conn = builder
        .serve_at(OBJECT_PATH, service)
        .and_then(|b| b.name(BUS_NAME))
        .map_err(|e| e.to_string())?
        .allow_name_replacements(false)
        .replace_existing_names(false)
        .build()
        .await
        .map_err(|e| format!("cannot serve {BUS_NAME} on the bus: {e}"))?;
    let lost = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .sender("org.freedesktop.DBus")
        .and_then(|b| b.interface("org.freedesktop.DBus"))
        .and_then(|b| b.member("NameLost"))
        .and_then(|b| b.arg(0, BUS_NAME))
        .map_err(|e| e.to_string())?
        .build();
    let mut stream = MessageStream::for_match_rule(lost, &conn, Some(4))
        .await
        .map_err(|e| format!("cannot watch the bus name: {e}"))?;
    // A NameLost signal, or the end of the stream: the connection is gone
    // (the socket reader ends every stream with its error).
    match stream.next().await {
        Some(Ok(_)) => Err(format!("lost the bus name {BUS_NAME}")),
        Some(Err(e)) => Err(format!("the bus connection ended: {e}")),
        None => Err("the bus connection ended".into()),
    }
}
