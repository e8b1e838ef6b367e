//! The main loop: take finished processes off the module's exit list and
//! append them to the log while atop listens.
//!
//! One iteration ([`Daemon::step`]), as in netatop 3.2.2:
//! 1. no clients and records in the log: recreate the log (atop would
//!    otherwise reread stale records when it subscribes again);
//! 2. blocking `getsockopt(NETATOP_GETCNT_EXIT)`;
//! 3. a record: dropped when there are no clients, else appended and
//!    `curseq` bumped. `ENOPROTOOPT` (module not loaded): wait and retry;
//!    `EINTR` (SIGHUP from atop signing off, SIGTERM): next iteration;
//!    anything else is fatal.
//!
//! A stop request is looked at only between iterations, so a record already
//! taken from the module is always written first.

use std::time::Duration;

use netatop::{NetPerTask, Netatop};

use crate::disk::{self, SpaceProbe, MIN_FREE_PERCENT};
use crate::error::Error;
use crate::log::{Level, Logger};
use crate::logfile::LogFile;
use crate::record::encode_record;
use crate::sem::Clients;

/// How long to wait before asking again when the module is not loaded.
pub const MODULE_RETRY: Duration = Duration::from_secs(10);

/// Where finished processes come from: the module, or a script in tests.
pub trait ExitSource {
    /// Takes the oldest finished process, blocking until there is one.
    fn next_exited(&mut self) -> netatop::Result<NetPerTask>;
}

impl ExitSource for Netatop {
    fn next_exited(&mut self) -> netatop::Result<NetPerTask> {
        Netatop::next_exited(self)
    }
}

/// What the loop did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records appended to the log.
    pub written: u64,
    /// Records dropped because no client was subscribed.
    pub dropped: u64,
    /// Records skipped because the filesystem was nearly full.
    pub skipped_low_disk: u64,
    /// Records lost because writing the log failed.
    pub failed_writes: u64,
    /// Times the log was recreated (no clients, or deleted underneath).
    pub recreated: u64,
}

/// The daemon's state: the log file and the rate limits of its messages.
#[derive(Debug)]
pub struct Daemon<'a> {
    log: LogFile,
    logger: &'a Logger,
    space: SpaceProbe,
    retry: Duration,
    stats: Stats,
    module_missing: bool,
    low_disk_skipped: Option<u64>,
    write_failures: Option<u64>,
}

impl<'a> Daemon<'a> {
    /// A daemon writing to `log` and reporting to `logger`.
    pub fn new(log: LogFile, logger: &'a Logger) -> Self {
        Self {
            log,
            logger,
            space: disk::statvfs,
            retry: MODULE_RETRY,
            stats: Stats::default(),
            module_missing: false,
            low_disk_skipped: None,
            write_failures: None,
        }
    }

    /// Replaces the free-space probe (tests).
    pub fn with_space_probe(mut self, space: SpaceProbe) -> Self {
        self.space = space;
        self
    }

    /// Replaces the wait between two tries while the module is not loaded.
    pub fn with_retry_interval(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// The log file.
    pub fn log_file(&self) -> &LogFile {
        &self.log
    }

    /// What the loop did so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Runs iterations until `stop()` says so between two of them, or a
    /// fatal error. `sleep` waits while the module is not loaded (it should
    /// return early on a signal).
    pub fn run(
        &mut self,
        source: &mut dyn ExitSource,
        clients: &dyn Clients,
        stop: &dyn Fn() -> bool,
        sleep: &dyn Fn(Duration),
    ) -> Result<Stats, Error> {
        while !stop() {
            self.step(source, clients, sleep)?;
        }
        Ok(self.stats)
    }

    /// One iteration of the loop (see the module documentation).
    pub fn step(
        &mut self,
        source: &mut dyn ExitSource,
        clients: &dyn Clients,
        sleep: &dyn Fn(Duration),
    ) -> Result<(), Error> {
        if clients.clients()? == 0 && self.log.curseq() != 0 {
            self.recreate()?;
        }
        match source.next_exited() {
            Ok(npt) => {
                if self.module_missing {
                    self.module_missing = false;
                    self.logger
                        .log(Level::Notice, "the netatop module is loaded again");
                }
                if clients.clients()? == 0 {
                    self.stats.dropped += 1;
                    Ok(())
                } else {
                    self.store(&npt)
                }
            }
            Err(netatop::Error::ModuleNotLoaded) => {
                if !self.module_missing {
                    self.module_missing = true;
                    self.logger.log(
                        Level::Warning,
                        &format!(
                            "the netatop module is not loaded; trying again every {} s",
                            self.retry.as_secs()
                        ),
                    );
                }
                sleep(self.retry);
                Ok(())
            }
            Err(netatop::Error::Interrupted) => Ok(()),
            Err(e) => Err(Error::Module(e)),
        }
    }

    fn log_error(&self, source: std::io::Error) -> Error {
        Error::LogFile {
            path: self.log.path().to_owned(),
            source,
        }
    }

    fn recreate(&mut self) -> Result<(), Error> {
        self.log.recreate().map_err(|e| self.log_error(e))?;
        self.stats.recreated += 1;
        Ok(())
    }

    /// Appends one record, unless the disk is nearly full; recreates the log
    /// first if it was deleted.
    fn store(&mut self, npt: &NetPerTask) -> Result<(), Error> {
        if self.log.is_deleted().map_err(|e| self.log_error(e))? {
            self.logger.log(
                Level::Warning,
                &format!("{} was deleted; recreating it", self.log.path().display()),
            );
            self.recreate()?;
        }
        // A failing statvfs does not stop the record (as in the original).
        let low = (self.space)(self.log.file()).is_ok_and(|s| s.is_low());
        if low {
            self.stats.skipped_low_disk += 1;
            match &mut self.low_disk_skipped {
                Some(n) => *n += 1,
                None => {
                    self.low_disk_skipped = Some(1);
                    self.logger.log(
                        Level::Warning,
                        &format!(
                            "less than {MIN_FREE_PERCENT}% free space on the filesystem of {}: \
                             finished processes are not logged until there is more",
                            self.log.path().display()
                        ),
                    );
                }
            }
            return Ok(());
        }
        if let Some(n) = self.low_disk_skipped.take() {
            self.logger.log(
                Level::Notice,
                &format!(
                    "enough free space again for {}; {n} finished processes were not logged",
                    self.log.path().display()
                ),
            );
        }
        match self.log.append(&encode_record(npt)) {
            Ok(_) => {
                self.stats.written += 1;
                if let Some(n) = self.write_failures.take() {
                    self.logger.log(
                        Level::Notice,
                        &format!(
                            "writing {} works again; {n} finished processes were lost",
                            self.log.path().display()
                        ),
                    );
                }
            }
            Err(e) => {
                self.stats.failed_writes += 1;
                match &mut self.write_failures {
                    Some(n) => *n += 1,
                    None => {
                        self.write_failures = Some(1);
                        self.logger.log(
                            Level::Error,
                            &format!("cannot write {}: {e}", self.log.path().display()),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::DiskSpace;
    use crate::logfile::tests::TempPath;
    use crate::record::tests::sample;
    use crate::record::{parse_log, Header};
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;
    use std::rc::Rc;

    /// What the scripted module does next.
    enum Event {
        /// GETCNT_EXIT returns this record.
        Record(NetPerTask),
        /// GETCNT_EXIT fails.
        Fail(netatop::Error),
        /// Before the next answer: the number of atop processes changes.
        Clients(u32),
        /// Before the next answer: SIGTERM arrives.
        Stop,
        /// Before the next answer: the free space becomes low (or not).
        LowDisk(bool),
        /// Before the next answer: someone deletes the log.
        Unlink(PathBuf),
    }

    thread_local! {
        static LOW_DISK: Cell<bool> = const { Cell::new(false) };
    }

    fn fake_space(_: &std::fs::File) -> std::io::Result<DiskSpace> {
        let low = LOW_DISK.with(Cell::get);
        Ok(DiskSpace {
            free: if low { 4 } else { 50 },
            total: 100,
        })
    }

    struct Script {
        events: VecDeque<Event>,
        clients: Rc<Cell<u32>>,
        stop: Rc<Cell<bool>>,
        calls: usize,
    }

    impl ExitSource for Script {
        fn next_exited(&mut self) -> netatop::Result<NetPerTask> {
            self.calls += 1;
            loop {
                match self.events.pop_front() {
                    Some(Event::Record(npt)) => return Ok(npt),
                    Some(Event::Fail(e)) => return Err(e),
                    Some(Event::Clients(n)) => self.clients.set(n),
                    Some(Event::Stop) => self.stop.set(true),
                    Some(Event::LowDisk(low)) => LOW_DISK.with(|l| l.set(low)),
                    Some(Event::Unlink(p)) => std::fs::remove_file(p).unwrap(),
                    None => {
                        // Nothing more: behave like SIGTERM while blocked.
                        self.stop.set(true);
                        return Err(netatop::Error::Interrupted);
                    }
                }
            }
        }
    }

    struct FakeClients(Rc<Cell<u32>>);

    impl Clients for FakeClients {
        fn clients(&self) -> Result<u32, Error> {
            Ok(self.0.get())
        }
    }

    struct Run {
        path: TempPath,
        stats: Result<Stats, Error>,
        messages: Vec<(Level, String)>,
        sleeps: Vec<Duration>,
        calls: usize,
        left: usize,
        curseq: u32,
    }

    fn record(id: i32) -> NetPerTask {
        NetPerTask { id, ..sample() }
    }

    /// Runs the daemon over `events` (built from the log path) with
    /// `clients` atop processes subscribed at the start.
    fn run(clients: u32, events: impl FnOnce(&std::path::Path) -> Vec<Event>) -> Run {
        LOW_DISK.with(|l| l.set(false));
        let path = TempPath::new("daemon");
        let logger = Logger::memory();
        let sleeps = RefCell::new(Vec::new());
        let clients = Rc::new(Cell::new(clients));
        let stop = Rc::new(Cell::new(false));
        let mut script = Script {
            events: events(&path.0).into(),
            clients: clients.clone(),
            stop: stop.clone(),
            calls: 0,
        };
        let log = LogFile::create(&path.0, 4321).unwrap();
        let mut daemon = Daemon::new(log, &logger)
            .with_space_probe(fake_space)
            .with_retry_interval(Duration::from_secs(10));
        let stats = daemon.run(&mut script, &FakeClients(clients), &|| stop.get(), &|d| {
            sleeps.borrow_mut().push(d)
        });
        let curseq = daemon.log_file().curseq();
        drop(daemon);
        Run {
            path,
            stats,
            messages: logger.messages(),
            sleeps: sleeps.into_inner(),
            calls: script.calls,
            left: script.events.len(),
            curseq,
        }
    }

    fn log_of(run: &Run) -> (Header, Vec<NetPerTask>) {
        parse_log(&std::fs::read(&run.path.0).unwrap()).unwrap()
    }

    #[test]
    fn records_are_appended_while_a_client_listens() {
        let r = run(1, |_| {
            vec![Event::Record(record(10)), Event::Record(record(11))]
        });
        let stats = r.stats.as_ref().unwrap();
        assert_eq!((stats.written, stats.dropped, stats.recreated), (2, 0, 0));
        let (h, recs) = log_of(&r);
        assert_eq!((h.curseq, h.pid, h.hdrlen, h.ntplen), (2, 4321, 16, 96));
        assert_eq!(recs, vec![record(10), record(11)]);
        assert_eq!(r.curseq, 2);
        assert!(r.messages.is_empty(), "{:?}", r.messages);
    }

    #[test]
    fn records_are_dropped_without_clients() {
        let r = run(0, |_| {
            vec![Event::Record(record(10)), Event::Record(record(11))]
        });
        let stats = *r.stats.as_ref().unwrap();
        assert_eq!((stats.written, stats.dropped), (0, 2));
        assert_eq!(
            std::fs::read(&r.path.0).unwrap(),
            Header::new(4321).to_bytes()
        );
    }

    #[test]
    fn log_is_recreated_when_the_last_client_leaves() {
        let r = run(2, |_| {
            vec![
                Event::Record(record(10)),
                Event::Clients(1),
                Event::Record(record(11)),
                // The last atop signs off: semop(+1), then SIGHUP.
                Event::Clients(0),
                Event::Fail(netatop::Error::Interrupted),
                // Another record while nobody listens: dropped, and the
                // empty file is not recreated again.
                Event::Record(record(12)),
                Event::Fail(netatop::Error::Interrupted),
            ]
        });
        let stats = r.stats.as_ref().unwrap();
        assert_eq!(
            (stats.written, stats.dropped, stats.recreated),
            (2, 1, 1),
            "{stats:?}"
        );
        assert_eq!(
            std::fs::read(&r.path.0).unwrap(),
            Header::new(4321).to_bytes()
        );
        assert_eq!(r.curseq, 0);
    }

    #[test]
    fn empty_log_is_not_recreated_without_clients() {
        let path = TempPath::new("norecreate");
        let logger = Logger::memory();
        let log = LogFile::create(&path.0, 1).unwrap();
        let ino = std::fs::metadata(&path.0).unwrap().ino();
        let mut daemon = Daemon::new(log, &logger).with_space_probe(fake_space);
        let mut script = Script {
            events: vec![Event::Fail(netatop::Error::Interrupted)].into(),
            clients: Rc::new(Cell::new(0)),
            stop: Rc::new(Cell::new(false)),
            calls: 0,
        };
        daemon
            .step(&mut script, &FakeClients(Rc::new(Cell::new(0))), &|_| {})
            .unwrap();
        assert_eq!(daemon.stats().recreated, 0);
        assert_eq!(std::fs::metadata(&path.0).unwrap().ino(), ino);
    }

    #[test]
    fn missing_module_is_retried_and_reported_once() {
        let r = run(1, |_| {
            vec![
                Event::Fail(netatop::Error::ModuleNotLoaded),
                Event::Fail(netatop::Error::ModuleNotLoaded),
                Event::Fail(netatop::Error::ModuleNotLoaded),
                Event::Record(record(10)),
            ]
        });
        assert_eq!(r.stats.as_ref().unwrap().written, 1);
        assert_eq!(r.sleeps, vec![Duration::from_secs(10); 3]);
        assert_eq!(
            r.messages,
            vec![
                (
                    Level::Warning,
                    "the netatop module is not loaded; trying again every 10 s".to_owned()
                ),
                (
                    Level::Notice,
                    "the netatop module is loaded again".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn other_errors_are_fatal() {
        let r = run(1, |_| {
            vec![
                Event::Record(record(10)),
                Event::Fail(netatop::Error::Io(std::io::Error::from_raw_os_error(
                    libc::EFAULT,
                ))),
                Event::Record(record(11)),
            ]
        });
        let err = r.stats.unwrap_err();
        assert!(matches!(err, Error::Module(_)), "{err}");
        assert_eq!(err.exit_code(), 1);
        assert_eq!(r.curseq, 1);
        assert_eq!(r.left, 1);
    }

    #[test]
    fn stop_request_still_writes_the_record_in_hand() {
        let r = run(1, |_| {
            vec![
                // SIGTERM arrives while GETCNT_EXIT is returning a record.
                Event::Stop,
                Event::Record(record(10)),
                Event::Record(record(11)),
            ]
        });
        assert_eq!(r.stats.as_ref().unwrap().written, 1);
        // The second record was never taken from the module.
        assert_eq!((r.calls, r.left), (1, 1));
        let (h, recs) = log_of(&r);
        assert_eq!(h.curseq, 1);
        assert_eq!(recs, vec![record(10)]);
    }

    #[test]
    fn low_disk_skips_records_and_reports_once_per_episode() {
        let r = run(1, |_| {
            vec![
                Event::LowDisk(true),
                Event::Record(record(10)),
                Event::Record(record(11)),
                Event::Record(record(12)),
                Event::LowDisk(false),
                Event::Record(record(13)),
                Event::LowDisk(true),
                Event::Record(record(14)),
            ]
        });
        let stats = *r.stats.as_ref().unwrap();
        assert_eq!((stats.written, stats.skipped_low_disk), (1, 4));
        let (h, recs) = log_of(&r);
        assert_eq!(h.curseq, 1);
        assert_eq!(recs, vec![record(13)]);
        let levels: Vec<Level> = r.messages.iter().map(|m| m.0).collect();
        assert_eq!(levels, [Level::Warning, Level::Notice, Level::Warning]);
        assert!(r.messages[0].1.starts_with("less than 5% free space"));
        assert!(
            r.messages[1]
                .1
                .ends_with("; 3 finished processes were not logged"),
            "{}",
            r.messages[1].1
        );
    }

    #[test]
    fn deleted_log_is_recreated_before_the_next_record() {
        let r = run(1, |p| {
            vec![
                Event::Record(record(10)),
                Event::Unlink(p.to_owned()),
                Event::Record(record(11)),
            ]
        });
        let stats = r.stats.as_ref().unwrap();
        assert_eq!((stats.written, stats.recreated), (2, 1));
        let (h, recs) = log_of(&r);
        assert_eq!((h.curseq, h.pid), (1, 4321));
        assert_eq!(recs, vec![record(11)]);
        assert_eq!(r.messages.len(), 1);
        assert!(r.messages[0].1.ends_with(" was deleted; recreating it"));
    }
}
