// SPDX-License-Identifier: GPL-2.0

//! netatop: per-process network accounting for atop, in Rust.
//!
//! A reimplementation of the netatop 3.2.2 kernel module with the same user ABI
//! (getsockopt commands 15661..15666 at level `SOL_IP`, the 96-byte
//! `struct netpertask`, `/proc/netatop`), so unmodified atop, atopsar and
//! netatopd read its counters.
//!
//! The crate holds all state and logic. A thin C object (`netatop_glue.c`)
//! registers with the kernel APIs that have no Rust abstraction yet (the
//! sockopt range and procfs) and forwards each call to the `#[no_mangle]`
//! entry points in [`glue`].
//!
//! One file per concept:
//! - [`glue`]: the C boundary (the only place with FFI and raw pointers),
//! - [`state`]: the module's shared state,
//! - [`stats`]: global counters,
//! - [`sockopt`]: the getsockopt commands,
//! - [`procfs`]: the `/proc/netatop` text,
//! - [`uapi`]: the user ABI (command numbers).

#![crate_name = "netatop"]

use kernel::prelude::*;
use kernel::sync::Arc;

mod glue;
mod procfs;
mod sockopt;
mod state;
mod stats;
mod uapi;

use state::Netatop;

module! {
    type: NetatopModule,
    name: "netatop",
    authors: ["netatop-rs developers"],
    description: "Per-process and per-thread network accounting for atop (netatop-rs)",
    license: "GPL",
}

/// The loaded module.
///
/// Dropping it unregisters from the kernel first (no callback runs after
/// that), then drops the state.
struct NetatopModule {
    _registration: glue::Registration,
}

impl kernel::Module for NetatopModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let state = Arc::new(Netatop::new(), GFP_KERNEL)?;
        let registration = glue::Registration::register(state)?;
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
