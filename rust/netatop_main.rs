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
//! entry points at the end of this file.
//!
//! One file per concept, dependencies pointing down only (`make check`
//! fails on a cycle, tests/host/check-deps.py):
//! - this file: the module and the entry points from C;
//! - the algorithms, each an `impl Netatop` block: [`accounting`] (the
//!   per-packet path), [`gc`] (the collector), [`sockopt`] (the getsockopt
//!   commands), [`snapshot`] (exact reads of many processes or a cgroup),
//!   [`procfs`] (the `/proc/netatop` text);
//! - [`state`]: the module's shared state;
//! - the tables: [`sockinfo`] (connections, keyed by [`sockkey`]),
//!   [`taskinfo`] (processes and threads), [`exitlist`] (finished
//!   processes, a [`fifo`]), [`cgroup`] (finished processes' per-cgroup
//!   totals);
//! - leaves: [`packet`] (the summary the hooks hand over), [`stats`]
//!   (global counters), [`uapi`] (the user ABI), [`hash`], [`limits`],
//!   [`bhlock`] (the tables' bottom-half spinlock), [`table`] (the bucket
//!   array both tables are built on), [`ring`] (where room can be made),
//!   [`ffi`] (kernel services and the calls into the glue), and
//!   [`compat`] (what differs between the supported kernels' crates).

#![crate_name = "netatop"]

use kernel::prelude::*;
use kernel::seq_file::SeqFile;
use kernel::sync::Arc;
use kernel::uaccess::UserPtr;

mod accounting;
mod bhlock;
mod cgroup;
mod compat;
mod exitlist;
mod ffi;
mod fifo;
mod gc;
mod hash;
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

use packet::{Packet, Sender};
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
            seed: ffi::random_seed(),
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

/// The module's registration with the kernel (hooks, getsockopt range,
/// `/proc`, periodic collection).
///
/// # Invariants
///
/// From [`Registration::register`] until `drop` returns, the C glue holds a
/// pointer to the [`Netatop`] owned by `_state` and passes it to the entry
/// points below; `drop` unregisters before `_state` is released.
struct Registration {
    _state: Arc<Netatop>,
}

// The state is shared by every CPU through the raw context pointer, which
// erases the compiler's check: make it explicit.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Netatop>();
};

impl Registration {
    /// Registers `state` with the kernel and starts the periodic collection
    /// every `gc_interval_ms`.
    fn register(state: Arc<Netatop>, gc_interval_ms: u32) -> Result<Self> {
        // SAFETY: the pointer stays valid until `ffi::unregister` is called
        // in `drop`, since `Self` keeps the `Arc` until then.
        unsafe { ffi::register(Arc::as_ptr(&state).cast()) }?;
        // SAFETY: registered just above; `drop` unregisters.
        unsafe { ffi::start_gc(gc_interval_ms) };
        // INVARIANT: registered above with a pointer into `state`.
        Ok(Self { _state: state })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `register` (type invariant), once; after
        // this call no entry point runs, so `self._state` may be released.
        unsafe { ffi::unregister() };
    }
}

/// Recovers the state from the context pointer of an entry point.
///
/// # Safety
///
/// `ctx` must be the pointer given to `ffi::register`, and the registration
/// must not have been dropped yet.
unsafe fn state<'a>(ctx: *const c_void) -> &'a Netatop {
    // SAFETY: by the function's safety requirements `ctx` points to the live
    // `Netatop` of the registration (see `Registration`'s invariants), which
    // is `Sync` (checked above), so sharing it between CPUs is sound.
    unsafe { &*ctx.cast::<Netatop>() }
}

/// getsockopt entry point (`netatop_rs_getsockopt` in `netatop_glue.h`);
/// errors become negative errno values here and nowhere else.
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from
/// `ffi::register` and `len` pointing to the kernel's optlen copy.
#[no_mangle]
unsafe extern "C" fn netatop_rs_getsockopt(
    ctx: *const c_void,
    cmd: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state(ctx) };
    // SAFETY: `len` points to `nf_getsockopt`'s caller's local `int`, valid
    // and exclusively ours for the duration of the call.
    let len = unsafe { &mut *len };
    kernel::error::from_result(|| {
        state.getsockopt(cmd, UserPtr::from_ptr(user), len)?;
        Ok(0)
    })
}

/// Packet entry point of the netfilter hooks (`netatop_rs_packet`): returns
/// the global counter slots the hook adds the packet to (see
/// [`stats::Charge`]).
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from
/// `ffi::register`, `pkt` pointing to a summary whose every field is
/// written, and `sender` null or pointing to a fully written sender; both
/// valid for the duration of the call.
#[no_mangle]
unsafe extern "C" fn netatop_rs_packet(
    ctx: *const c_void,
    pkt: *const Packet,
    sender: *const Sender,
) -> u32 {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state(ctx) };
    // SAFETY: `pkt` points to the hook's local summary, every field written,
    // alive during the call (safety contract).
    let pkt = unsafe { &*pkt };
    // SAFETY: `sender` is null or points to the hook's local, fully written
    // sender, alive during the call (safety contract).
    let sender = unsafe { sender.as_ref() };
    state.packet(pkt, sender).raw()
}

/// Periodic collection entry point (`netatop_rs_gc`), from a workqueue.
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from
/// `ffi::register`.
#[no_mangle]
unsafe extern "C" fn netatop_rs_gc(ctx: *const c_void) {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state(ctx) };
    state.periodic_gc();
}

/// `/proc/netatop` entry point (`netatop_rs_proc_show` in `netatop_glue.h`).
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from
/// `ffi::register` and `m` the seq_file being filled by this thread.
#[no_mangle]
unsafe extern "C" fn netatop_rs_proc_show(
    ctx: *const c_void,
    m: *mut kernel::bindings::seq_file,
) -> c_int {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state(ctx) };
    // SAFETY: `m` is valid and used by this thread only during the call.
    let m = unsafe { SeqFile::from_raw(m) };
    state.proc_show(m);
    0
}
