//! The SysV semaphore set shared with atop (netatop 3.2.2's `netatopd.h`).
//!
//! Key [`SEMAKEY`], two semaphores, mode 0600:
//! - sem\[0\] counts the running netatopd instances (0 or 1); netatopd adds 1
//!   with `SEM_UNDO`, so the kernel takes it back when netatopd exits;
//! - sem\[1\] starts at [`SEMTOTAL`]; every client (atop) subtracts 1 with
//!   `SEM_UNDO`, so the number of clients is `SEMTOTAL - semval(1)`.

use std::io;

use crate::error::Error;
use crate::sys;

/// `SEMAKEY`: the key of the set (0x178749).
pub const SEMAKEY: i32 = 1_541_961;

/// `SEMTOTAL`: initial value of sem\[1\].
pub const SEMTOTAL: i32 = 100;

/// `IPC_PRIVATE`: a key that always creates a new set, unknown to atop
/// (for tests).
pub const IPC_PRIVATE: i32 = sys::IPC_PRIVATE;

/// Semaphore counting netatopd instances.
pub const SEM_INSTANCES: u16 = 0;

/// Semaphore counting clients downwards from [`SEMTOTAL`].
pub const SEM_CLIENTS: u16 = 1;

/// Number of clients (atop processes) subscribed to the log.
pub trait Clients {
    /// `SEMTOTAL - semval(1)`, at least 0.
    fn clients(&self) -> Result<u32, Error>;
}

/// The semaphore set.
#[derive(Debug)]
pub struct SemSet {
    id: i32,
    key: i32,
}

impl SemSet {
    /// Creates the set for `key` (`IPC_CREAT|IPC_EXCL`, mode 0600,
    /// sem\[0\] = 0, sem\[1\] = [`SEMTOTAL`]) or, if it exists, attaches to
    /// it. Returns the set and whether it was created.
    /// [`IPC_PRIVATE`] always creates a new set (for tests).
    pub fn create_or_attach(key: i32) -> io::Result<(Self, bool)> {
        match sys::semget(key, 2, 0o600 | libc::IPC_CREAT | libc::IPC_EXCL) {
            Ok(id) => {
                let set = Self { id, key };
                sys::sem_setall(id, &mut [0, SEMTOTAL as u16])?;
                Ok((set, true))
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                let id = sys::semget(key, 0, 0)?;
                Ok((Self { id, key }, false))
            }
            Err(e) => Err(e),
        }
    }

    /// The kernel's identifier of the set.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The key the set was looked up with.
    pub fn key(&self) -> i32 {
        self.key
    }

    /// Number of running netatopd instances (sem\[0\]).
    pub fn instances(&self) -> io::Result<i32> {
        sys::sem_getval(self.id, i32::from(SEM_INSTANCES))
    }

    /// Fails with [`Error::AlreadyRunning`] when another netatopd holds the
    /// set; used before daemonising, to report on the terminal.
    pub fn ensure_not_running(&self) -> Result<(), Error> {
        match self.instances() {
            Ok(0) => Ok(()),
            Ok(_) => Err(Error::AlreadyRunning),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Registers this process as the running netatopd: in one atomic
    /// `semop`, wait for sem\[0\] to be 0 (`IPC_NOWAIT`) and add 1
    /// (`SEM_UNDO`). Fails with [`Error::AlreadyRunning`] when another
    /// instance is registered. Must be called by the final (daemonised)
    /// process: `SEM_UNDO` adjustments are not inherited across fork.
    pub fn register_instance(&self) -> Result<(), Error> {
        let nowait = libc::IPC_NOWAIT as i16;
        let undo = libc::SEM_UNDO as i16;
        match sys::semop(
            self.id,
            &[(SEM_INSTANCES, 0, nowait), (SEM_INSTANCES, 1, undo)],
        ) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Err(Error::AlreadyRunning),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Removes the set (`IPC_RMID`).
    pub fn remove(self) -> io::Result<()> {
        sys::sem_remove(self.id)
    }

    /// Wraps an error of this set.
    pub fn error(&self, source: io::Error) -> Error {
        Error::Semaphore {
            key: self.key,
            source,
        }
    }
}

impl Clients for SemSet {
    fn clients(&self) -> Result<u32, Error> {
        let val = sys::sem_getval(self.id, i32::from(SEM_CLIENTS)).map_err(|e| self.error(e))?;
        Ok(u32::try_from(SEMTOTAL - val).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set that is removed when the test ends, whatever happens.
    struct TestSet(Option<SemSet>);

    impl std::ops::Deref for TestSet {
        type Target = SemSet;
        fn deref(&self) -> &SemSet {
            self.0.as_ref().unwrap()
        }
    }

    impl Drop for TestSet {
        fn drop(&mut self) {
            if let Some(s) = self.0.take() {
                s.remove().unwrap();
            }
        }
    }

    /// A key no other set uses: derived from the pid, retried on collision.
    fn fresh_key() -> i32 {
        let base = 0x4e00_0000 | ((std::process::id() as i32 & 0xffff) << 8);
        (0..256)
            .map(|i| base + i)
            .find(|&k| sys::semget(k, 0, 0).is_err())
            .expect("a free semaphore key")
    }

    #[test]
    fn key_matches_netatop_3_2_2() {
        assert_eq!(SEMAKEY, 0x178749);
        assert_eq!(SEMTOTAL, 100);
    }

    #[test]
    fn new_set_is_initialised_like_netatopd() {
        let (set, created) = SemSet::create_or_attach(sys::IPC_PRIVATE).unwrap();
        let set = TestSet(Some(set));
        assert!(created);
        assert_eq!(sys::sem_stat(set.id()).unwrap(), (0o600, 2));
        assert_eq!(sys::sem_getval(set.id(), 0).unwrap(), 0);
        assert_eq!(sys::sem_getval(set.id(), 1).unwrap(), 100);
        assert_eq!(set.instances().unwrap(), 0);
        assert_eq!(set.clients().unwrap(), 0);
    }

    #[test]
    fn existing_set_is_attached_not_reset() {
        let key = fresh_key();
        let (first, created) = SemSet::create_or_attach(key).unwrap();
        let first = TestSet(Some(first));
        assert!(created);
        // Two atop processes subscribe: semop(sem 1, -1).
        sys::semop(first.id(), &[(1, -1, 0), (1, -1, 0)]).unwrap();
        let (second, created) = SemSet::create_or_attach(key).unwrap();
        assert!(!created);
        assert_eq!(second.id(), first.id());
        assert_eq!(second.key(), key);
        assert_eq!(sys::sem_getval(second.id(), 1).unwrap(), 98);
        assert_eq!(second.clients().unwrap(), 2);
        // One signs off.
        sys::semop(first.id(), &[(1, 1, 0)]).unwrap();
        assert_eq!(second.clients().unwrap(), 1);
    }

    #[test]
    fn second_instance_is_refused() {
        let (set, _) = SemSet::create_or_attach(sys::IPC_PRIVATE).unwrap();
        let set = TestSet(Some(set));
        set.ensure_not_running().unwrap();
        set.register_instance().unwrap();
        assert_eq!(set.instances().unwrap(), 1);
        let err = set.ensure_not_running().unwrap_err();
        assert!(matches!(err, Error::AlreadyRunning));
        assert_eq!(err.to_string(), "Another netatopd is already running!");
        assert_eq!(err.exit_code(), 3);
        assert!(matches!(
            set.register_instance(),
            Err(Error::AlreadyRunning)
        ));
        // The refused registration changed nothing.
        assert_eq!(set.instances().unwrap(), 1);
    }

    #[test]
    fn instance_count_is_undone_when_the_process_exits() {
        // The child half: this same test, run again by the parent half in a
        // process of its own, registers (SEM_UNDO) and exits.
        if let Ok(id) = std::env::var("NETATOPD_TEST_SEMID") {
            let set = SemSet {
                id: id.parse().unwrap(),
                key: sys::IPC_PRIVATE,
            };
            set.register_instance().unwrap();
            assert_eq!(set.instances().unwrap(), 1);
            return;
        }
        let (set, _) = SemSet::create_or_attach(sys::IPC_PRIVATE).unwrap();
        let set = TestSet(Some(set));
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sem::tests::instance_count_is_undone_when_the_process_exits",
            ])
            .env("NETATOPD_TEST_SEMID", set.id().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // The kernel undid the child's registration when it exited.
        assert_eq!(set.instances().unwrap(), 0);
        set.register_instance().unwrap();
        assert_eq!(set.instances().unwrap(), 1);
    }

    #[test]
    fn clients_never_go_negative() {
        let (set, _) = SemSet::create_or_attach(sys::IPC_PRIVATE).unwrap();
        let set = TestSet(Some(set));
        sys::sem_setval(set.id(), 1, 105).unwrap();
        assert_eq!(set.clients().unwrap(), 0);
        sys::sem_setval(set.id(), 1, 0).unwrap();
        assert_eq!(set.clients().unwrap(), 100);
    }
}
