//! Kernel memory snapshots: `/proc/slabinfo` and `/proc/meminfo`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

/// Active objects and object size of every slab cache.
#[derive(Clone, Debug, Default)]
pub struct Slab {
    caches: BTreeMap<String, (u64, u64)>,
    /// `Slab:` of `/proc/meminfo`, in bytes (pages, including partly used ones).
    pub meminfo_slab: u64,
}

/// Growth of one cache between two snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Growth {
    /// Cache name.
    pub name: String,
    /// Objects added (negative: freed).
    pub objects: i64,
    /// Bytes added (objects times object size).
    pub bytes: i64,
}

impl Slab {
    /// Reads both files (needs root for slabinfo).
    pub fn read() -> Result<Self> {
        let slab = std::fs::read_to_string("/proc/slabinfo").context("read /proc/slabinfo")?;
        let mem = std::fs::read_to_string("/proc/meminfo").context("read /proc/meminfo")?;
        let mut s = Self::parse(&slab);
        s.meminfo_slab = meminfo_kb(&mem, "Slab:").unwrap_or(0) * 1024;
        Ok(s)
    }

    /// Parses the text of `/proc/slabinfo` (version 2.1).
    pub fn parse(text: &str) -> Self {
        let mut caches = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with("slabinfo") || line.starts_with('#') {
                continue;
            }
            let mut f = line.split_whitespace();
            let (Some(name), Some(active), Some(_num), Some(size)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            if let (Ok(active), Ok(size)) = (active.parse(), size.parse()) {
                caches.insert(name.to_string(), (active, size));
            }
        }
        Self {
            caches,
            meminfo_slab: 0,
        }
    }

    /// Bytes in active objects of the caches whose name starts with `prefix`
    /// (`""`: all caches).
    pub fn bytes(&self, prefix: &str) -> u64 {
        self.caches
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(_, (a, s))| a * s)
            .sum()
    }

    /// Caches that changed since `before`, largest growth in bytes first.
    pub fn growth_since(&self, before: &Slab) -> Vec<Growth> {
        let mut out: Vec<Growth> = self
            .caches
            .iter()
            .filter_map(|(name, &(active, size))| {
                let old = before.caches.get(name).map_or(0, |&(a, _)| a);
                // CAST: object counts are far below 2^63.
                let objects = active as i64 - old as i64;
                // CAST: object sizes are far below 2^63.
                (objects != 0).then(|| Growth {
                    name: name.clone(),
                    objects,
                    bytes: objects * size as i64,
                })
            })
            .collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.bytes));
        out
    }
}

/// A `KEY  N kB` value of `/proc/meminfo`.
fn meminfo_kb(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLABINFO: &str = "slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
kmalloc-rcl-64       120    128     64   64    1 : tunables    0    0    0 : slabdata      2      2      0
kmalloc-128          492    512    128   32    1 : tunables    0    0    0 : slabdata     16     16      0
TCP                   10     12   2432   13    8 : tunables    0    0    0 : slabdata      1      1      0
";

    #[test]
    fn parses_and_sums() {
        let s = Slab::parse(SLABINFO);
        assert_eq!(s.bytes("kmalloc-"), 120 * 64 + 492 * 128);
        assert_eq!(s.bytes(""), 120 * 64 + 492 * 128 + 10 * 2432);
    }

    #[test]
    fn growth_is_sorted() {
        let before = Slab::parse(SLABINFO);
        let after = Slab::parse(&SLABINFO.replace(" 492 ", " 592 ").replace(" 10 ", " 9 "));
        let g = after.growth_since(&before);
        assert_eq!(g[0].name, "kmalloc-128");
        assert_eq!(g[0].objects, 100);
        assert_eq!(g[0].bytes, 12800);
        assert_eq!(g[1].name, "TCP");
        assert_eq!(g[1].objects, -1);
    }

    #[test]
    fn meminfo() {
        assert_eq!(
            meminfo_kb("MemTotal: 100 kB\nSlab:      2048 kB\n", "Slab:"),
            Some(2048)
        );
    }
}
