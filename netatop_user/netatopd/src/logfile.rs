//! The log file atop reads (`/run/netatop.log`): creation, appending, the
//! in-place `curseq` bump, and detection of a file deleted underneath.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::record::{Header, CURSEQ_OFFSET, HDRLEN};
use crate::sys::Mapping;

/// Where atop looks for the log (`NETEXITFILE`).
pub const DEFAULT_PATH: &str = "/run/netatop.log";

/// An open log file, its header mapped shared so that `curseq` is bumped in
/// place (atop maps the header read-only and reads `curseq` from it).
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    pid: i32,
    file: File,
    header: Mapping,
    end: u64,
}

impl LogFile {
    /// Creates the log file as netatopd 3.2.2 does: unlink `path`, then
    /// `open(O_RDWR|O_CREAT|O_TRUNC, 0644)`, write the header of process
    /// `pid` (`curseq` 0) and map it.
    pub fn create(path: &Path, pid: i32) -> io::Result<Self> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        // The mode must not depend on the umask netatopd was started with.
        file.set_permissions(Permissions::from_mode(0o644))?;
        file.write_all_at(&Header::new(pid).to_bytes(), 0)?;
        let header = Mapping::new(&file, usize::from(HDRLEN), true)?;
        Ok(Self {
            path: path.to_owned(),
            pid,
            file,
            header,
            end: u64::from(HDRLEN),
        })
    }

    /// Replaces the file by a new, empty one at the same path (unlink and
    /// create): atop notices the unlinked file and reopens the new one.
    pub fn recreate(&mut self) -> io::Result<()> {
        *self = Self::create(&self.path, self.pid)?;
        Ok(())
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Number of records written so far (the header's `curseq`).
    pub fn curseq(&self) -> u32 {
        self.header.load_u32(CURSEQ_OFFSET)
    }

    /// Size of the file as written so far: header plus records.
    pub fn len(&self) -> u64 {
        self.end
    }

    /// Whether no record was written yet.
    pub fn is_empty(&self) -> bool {
        self.end == u64::from(HDRLEN)
    }

    /// Whether the open file was deleted (`st_nlink == 0`).
    pub fn is_deleted(&self) -> io::Result<bool> {
        Ok(self.file.metadata()?.nlink() == 0)
    }

    /// Appends one encoded record, then bumps `curseq`; returns the new
    /// `curseq`. A failed write is undone (the file is cut back to its
    /// previous end), so atop never sees half a record.
    pub fn append(&mut self, record: &[u8]) -> io::Result<u32> {
        if let Err(e) = self.file.write_all_at(record, self.end) {
            let _ = self.file.set_len(self.end);
            return Err(e);
        }
        self.end += record.len() as u64;
        // The record is in the page cache before curseq announces it.
        let seq = self.curseq().wrapping_add(1);
        self.header.store_u32(CURSEQ_OFFSET, seq);
        Ok(seq)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::tests::sample;
    use crate::record::{encode_record, parse_log, MAGIC};
    use std::io::Read;

    /// A fresh, unique path in the temporary directory (removed on drop).
    pub(crate) struct TempPath(pub PathBuf);

    impl TempPath {
        pub(crate) fn new(tag: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::SeqCst);
            let dir = std::env::temp_dir()
                .join(format!("netatopd-test-{}-{tag}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir(&dir).unwrap();
            Self(dir.join("netatop.log"))
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
        }
    }

    #[test]
    fn create_writes_the_header_only() {
        let p = TempPath::new("create");
        std::fs::write(&p.0, b"old content that must go").unwrap();
        let log = LogFile::create(&p.0, 1234).unwrap();
        let bytes = std::fs::read(&p.0).unwrap();
        assert_eq!(bytes, Header::new(1234).to_bytes());
        assert_eq!(&bytes[0..4], &MAGIC.to_ne_bytes());
        assert_eq!(
            &bytes[8..12],
            &[16u16.to_ne_bytes(), 96u16.to_ne_bytes()].concat()[..]
        );
        assert_eq!(&bytes[12..16], &1234i32.to_ne_bytes());
        let meta = std::fs::metadata(&p.0).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o644);
        assert_eq!((log.curseq(), log.len(), log.is_empty()), (0, 16, true));
    }

    #[test]
    fn curseq_bump_is_visible_to_a_reader() {
        let p = TempPath::new("curseq");
        let mut log = LogFile::create(&p.0, 99).unwrap();
        // atop: open O_RDONLY, map the header PROT_READ.
        let reader = File::open(&p.0).unwrap();
        let ro = Mapping::new(&reader, 16, false).unwrap();
        assert_eq!(ro.load_u32(4), 0);

        let rec = encode_record(&sample());
        assert_eq!(log.append(&rec).unwrap(), 1);
        assert_eq!(ro.load_u32(4), 1);
        assert_eq!(log.append(&rec).unwrap(), 2);
        assert_eq!(ro.load_u32(4), 2);
        assert_eq!(log.curseq(), 2);

        // A plain read(2) of the file sees the same bytes.
        let mut bytes = Vec::new();
        File::open(&p.0).unwrap().read_to_end(&mut bytes).unwrap();
        assert_eq!(&bytes[4..8], &2u32.to_ne_bytes());
        assert_eq!(bytes.len(), 16 + 2 * rec.len());
        assert_eq!(&bytes[16..16 + rec.len()], &rec[..]);
        assert_eq!(&bytes[16 + rec.len()..], &rec[..]);
        let (h, recs) = parse_log(&bytes).unwrap();
        assert_eq!((h.curseq, h.pid), (2, 99));
        assert_eq!(recs, vec![sample(), sample()]);
    }

    #[test]
    fn recreate_makes_a_new_empty_file() {
        let p = TempPath::new("recreate");
        let mut log = LogFile::create(&p.0, 7).unwrap();
        log.append(&encode_record(&sample())).unwrap();
        let old = File::open(&p.0).unwrap();
        let old_ino = old.metadata().unwrap().ino();
        log.recreate().unwrap();
        let meta = std::fs::metadata(&p.0).unwrap();
        assert_ne!(meta.ino(), old_ino);
        // A reader holding the old file sees it unlinked (atop reopens).
        assert_eq!(old.metadata().unwrap().nlink(), 0);
        assert_eq!(std::fs::read(&p.0).unwrap(), Header::new(7).to_bytes());
        assert_eq!((log.curseq(), log.len()), (0, 16));
    }

    #[test]
    fn deleted_file_is_detected() {
        let p = TempPath::new("deleted");
        let log = LogFile::create(&p.0, 7).unwrap();
        assert!(!log.is_deleted().unwrap());
        std::fs::remove_file(&p.0).unwrap();
        assert!(log.is_deleted().unwrap());
    }
}
