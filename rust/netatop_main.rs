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
//! (netfilter hooks, the sockopt range and procfs), gives each packet's
//! execution context, keeps the per-CPU counters, wraps the kernel's macros
//! and inline functions (a task's liveness and names, cgroups,
//! `spin_lock_bh`), and calls the entry points of
//! [`kernel_services::entry`]. The crate reads the packet, its device,
//! socket and sender itself (see [`kernel_services`]).
//!
//! One file per concept, dependencies pointing down only (`make check`
//! fails on a cycle, tests/host/check-deps.py):
//! - this file: the module and its parameters;
//! - the algorithms, each an `impl Netatop` block: [`accounting`] (the
//!   per-packet path), [`gc`] (the collector), [`sockopt`] (the getsockopt
//!   commands), [`snapshot`] (exact reads of many processes or a cgroup),
//!   [`procfs`] (the `/proc/netatop` text);
//! - [`state`]: the module's shared state;
//! - the tables: [`sockinfo`] (connections, keyed by [`sockkey`]),
//!   [`taskinfo`] (processes and threads), [`exitlist`] (finished
//!   processes, a [`fifo`]), [`cgroup`] (finished processes' per-cgroup
//!   totals);
//! - leaves: [`packet`] (the rules of a packet), [`stats`] (the global
//!   counters' slots), [`uapi`] (the user ABI), [`hash`], [`limits`],
//!   [`table`] (the bucket array both tables are built on), [`ring`]
//!   (where room can be made);
//! - [`kernel_services`]: the only code with `unsafe`, `kernel::bindings`
//!   or calls into the glue: the entry points and the registration,
//!   context tokens, the tables' lock, the packet's headers, tasks,
//!   per-CPU counters, time, and what differs between kernels.

#![crate_name = "netatop"]

use kernel::prelude::*;
use kernel::sync::Arc;

mod accounting;
mod cgroup;
mod exitlist;
mod fifo;
mod gc;
mod hash;
mod kernel_services;
mod lane;
mod limits;
mod packet;
mod procfs;
mod ring;
mod snapshot;
mod sockinfo;
mod sockkey;
mod sockopt;
mod state;
mod stats;
mod table;
mod taskinfo;
mod uapi;

use kernel_services::compat;
use kernel_services::entry::Registration;
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
        cgroup_limit_kb: u32 {
            default: 512,
            description: "Memory cap of the finished processes' per-cgroup totals, KiB",
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
    _registration: Registration,
}

impl kernel::Module for NetatopModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let cfg = Config {
            sock_hash_bits: compat::param(module_parameters::sock_hash_bits.value()),
            task_hash_bits: compat::param(module_parameters::task_hash_bits.value()),
            sockinfo_limit_kb: compat::param(module_parameters::sockinfo_limit_kb.value()),
            taskinfo_limit_kb: compat::param(module_parameters::taskinfo_limit_kb.value()),
            seed: kernel_services::task::random_seed(),
            gc_interval_ms: compat::param(module_parameters::gc_interval_ms.value()),
            cgroup_limit_kb: compat::param(module_parameters::cgroup_limit_kb.value()),
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
        let registration = Registration::register(state, cfg.gc_interval_ms)?;
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
