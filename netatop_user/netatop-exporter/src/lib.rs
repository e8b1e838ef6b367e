//! `netatop-exporter`: the counters of the netatop kernel module as
//! Prometheus metrics.
//!
//! Each scrape of `/metrics` takes a fresh snapshot: one
//! `NETATOP_GETCNT_TASKS` and one `NETATOP_GETCNT_CGROUPS` call, the global
//! counters of `/proc/netatop` and one walk of the cgroup2 hierarchy (ids to
//! paths); it never touches the module's exit list (`NETATOP_GETCNT_EXIT`,
//! `NETATOP_EMPTY_EXIT` and `NETATOP_FORCE_GC` belong to atop and netatopd).
//! The snapshot is encoded by `prometheus-client` through a registry built
//! for that scrape alone, so the series of cgroups and processes that are
//! gone end. Label values never change: a cgroup is labelled by its path
//! for as long as the module counts it, also after its directory was
//! removed ([`collect::stable_paths`]), then its series end.
//!
//! - [`collect`]: taking a snapshot ([`collect::Source`]);
//! - [`metrics`]: the metrics of a snapshot and their encoding;
//! - [`http`]: the HTTP side (tiny_http).

pub mod collect;
pub mod http;
pub mod metrics;

/// The default address to listen on: the loopback interface, port 9661.
pub const DEFAULT_LISTEN_ADDRESS: &str = "127.0.0.1:9661";

/// The default number of processes exported individually.
pub const DEFAULT_TOP_PROCESSES: usize = 20;
