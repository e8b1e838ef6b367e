//! The low-disk guard: records are written only while the filesystem of
//! the log file has at least [`MIN_FREE_PERCENT`] % of its blocks free.

use std::fs::File;
use std::io;

use crate::sys;

/// Below this percentage of free blocks, records are skipped.
pub const MIN_FREE_PERCENT: u64 = 5;

/// Free and total blocks of a filesystem (`f_bfree`, `f_blocks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSpace {
    /// Free blocks, root's reserve included (`f_bfree`).
    pub free: u64,
    /// All blocks (`f_blocks`).
    pub total: u64,
}

impl DiskSpace {
    /// netatopd 3.2.2's test `f_bfree * 100 / f_blocks < 5`, in integer
    /// arithmetic. A filesystem that reports no blocks at all (a tmpfs
    /// without a size limit) is never low; the original divided by zero.
    pub fn is_low(&self) -> bool {
        self.total != 0
            && u128::from(self.free) * 100 / u128::from(self.total) < u128::from(MIN_FREE_PERCENT)
    }
}

/// Where the free space comes from: the real `fstatvfs`, or a stand-in in
/// tests.
pub type SpaceProbe = fn(&File) -> io::Result<DiskSpace>;

/// `fstatvfs` of the filesystem holding `file`.
pub fn statvfs(file: &File) -> io::Result<DiskSpace> {
    let (free, total) = sys::fstatvfs(file)?;
    Ok(DiskSpace { free, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn low(free: u64, total: u64) -> bool {
        DiskSpace { free, total }.is_low()
    }

    #[test]
    fn threshold_is_five_percent_rounded_down() {
        assert!(low(0, 1000));
        assert!(low(49, 1000));
        // 59*100/1000 = 5 (integer division): not low, as in the original.
        assert!(!low(50, 1000));
        assert!(!low(59, 1000));
        assert!(low(4, 100));
        assert!(!low(5, 100));
        assert!(!low(1000, 1000));
        assert!(low(1, 21));
        assert!(!low(1, 20));
    }

    #[test]
    fn no_blocks_and_huge_filesystems() {
        assert!(!low(0, 0));
        assert!(!low(u64::MAX, u64::MAX));
        assert!(low(u64::MAX / 21, u64::MAX));
        assert!(!low(u64::MAX / 19, u64::MAX));
    }

    #[test]
    fn statvfs_of_a_real_file() {
        let f = File::open(std::env::temp_dir()).unwrap();
        let s = statvfs(&f).unwrap();
        assert!(s.free <= s.total, "{s:?}");
    }
}
