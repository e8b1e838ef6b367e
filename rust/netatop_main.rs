// SPDX-License-Identifier: GPL-2.0

//! netatop: per-process network accounting for atop, in Rust.
//!
//! A reimplementation of the netatop 3.2.2 kernel module with the same user ABI
//! (getsockopt commands 15661..15666 at level `SOL_IP`, the 96-byte
//! `struct netpertask`, `/proc/netatop`), so unmodified atop, atopsar and
//! netatopd read its counters.
//!
//! The crate holds all state and logic. A thin C object (`netatop_glue.c`)
//! registers with the kernel APIs that have no Rust abstraction yet
//! (netfilter hooks, the sockopt range and procfs), summarises each packet
//! into a plain struct, and forwards each call to the `#[no_mangle]`
//! entry points in [`glue`].
//!
//! One file per concept:
//! - [`glue`]: the C boundary (the only place with FFI and raw pointers),
//! - [`packet`]: the packet summary the hooks hand over,
//! - [`accounting`]: the per-packet algorithm,
//! - [`sockinfo`]: connections, [`taskinfo`]: processes and threads,
//! - [`gc`]: the garbage collector, [`exitlist`]: finished processes
//!   (a [`fifo`]),
//! - [`hash`], [`limits`]: table hashing and memory caps,
//! - [`bhlock`]: the bottom-half spinlock of the tables,
//! - [`state`]: the module's shared state,
//! - [`stats`]: global counters,
//! - [`sockopt`]: the getsockopt commands,
//! - [`procfs`]: the `/proc/netatop` text,
//! - [`uapi`]: the user ABI.

#![crate_name = "netatop"]

use kernel::prelude::*;
use kernel::sync::Arc;

mod accounting;
mod bhlock;
mod exitlist;
mod fifo;
mod gc;
mod glue;
mod hash;
mod limits;
mod packet;
mod procfs;
mod sockinfo;
mod sockopt;
mod state;
mod stats;
mod taskinfo;
mod uapi;

use state::{Config, Netatop};

module! {
    type: NetatopModule,
    name: "netatop",
    authors: ["netatop-rs developers"],
    description: "Per-process and per-thread network accounting for atop (netatop-rs)",
    license: "GPL",
    params: {
        sockinfo_limit_kb: u32 {
            default: 4096,
            description: "Memory cap of the connection table, KiB (past it: unidentified)",
        },
        taskinfo_limit_kb: u32 {
            default: 2048,
            description: "Memory cap of the process/thread table, KiB",
        },
        sock_hash_bits: u32 {
            default: 15,
            description: "log2 of the number of connection hash buckets (8..20)",
        },
        task_hash_bits: u32 {
            default: 12,
            description: "log2 of the number of process/thread hash buckets (8..20)",
        },
        gc_interval_ms: u32 {
            default: 15000,
            description: "Interval of the periodic garbage collection, ms (at least 10)",
        },
    },
}

/// Valid range of the hash-size parameters.
const HASH_BITS: core::ops::RangeInclusive<u32> = 8..=20;

/// The loaded module.
///
/// Dropping it unregisters from the kernel first (no callback runs after
/// that), then drops the state.
struct NetatopModule {
    _registration: glue::Registration,
}

impl kernel::Module for NetatopModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let cfg = Config {
            sock_hash_bits: module_parameters::sock_hash_bits.value(),
            task_hash_bits: module_parameters::task_hash_bits.value(),
            sockinfo_limit_kb: module_parameters::sockinfo_limit_kb.value(),
            taskinfo_limit_kb: module_parameters::taskinfo_limit_kb.value(),
            seed: glue::random_seed(),
            gc_interval_ms: module_parameters::gc_interval_ms.value(),
        };
        if cfg.gc_interval_ms < 10 {
            pr_err!("gc_interval_ms must be at least 10\n");
            return Err(EINVAL);
        }
        if !HASH_BITS.contains(&cfg.sock_hash_bits) || !HASH_BITS.contains(&cfg.task_hash_bits) {
            pr_err!("sock_hash_bits and task_hash_bits must be within 8..20\n");
            return Err(EINVAL);
        }
        let state = Arc::pin_init(Netatop::new(&cfg)?, GFP_KERNEL)?;
        let registration = glue::Registration::register(state, cfg.gc_interval_ms)?;
        pr_info!("netatop-rs {} loaded\n", uapi::VERSION);
        Ok(Self {
            _registration: registration,
        })
    }
}

impl Drop for NetatopModule {
    fn drop(&mut self) {
        pr_info!("netatop-rs {} unloaded\n", uapi::VERSION);
    }
}
