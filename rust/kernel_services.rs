// SPDX-License-Identifier: GPL-2.0

//! The kernel-services layer: the only code of the crate with `unsafe`,
//! `kernel::bindings` or calls into the C glue (`netatop_glue.c`). The
//! accounting, the tables, the collector, the getsockopt commands and
//! `/proc` above it are safe Rust over the typed values and tokens it hands
//! out.
//!
//! Who reads what: the glue gives what only C can (the context bits of the
//! preempt count, `current`, the per-CPU counters) and wraps the kernel's
//! macros and inline functions (a task's liveness and names, cgroups,
//! `spin_lock_bh` where it is inline); this layer reads the plain fields of
//! the kernel's structures itself (`sk_buff`, `nf_hook_state`,
//! `net_device`, `sock`, `task_struct`) at the offsets the C compiler gives
//! ([`layout`]), the packet headers they point to, `jiffies_64`, and calls
//! kernel functions. Nothing else does.
//!
//! - [`entry`]: the entry points the glue calls, and the registration;
//! - [`context`]: tokens for the context a function runs in (a netfilter
//!   hook, or process context that may sleep);
//! - [`lock`]: the tables' spinlock, whose locking takes such a token;
//! - [`packet`]: a packet as the hook sees it, read lazily;
//! - [`slab`]: a slab cache of one type (the sockinfo entries');
//! - [`task`]: tasks' start times, liveness, names and cgroups;
//! - [`stats`]: the per-CPU global counters;
//! - [`time`], [`mem`]: jiffies, allocation sizes and byte views;
//! - [`compat`]: what differs between the supported kernels' crates;
//! - [`glue`]: the glue's functions and structs, checked against the C
//!   compiler's layout at build time ([`layout`]).

pub(crate) mod compat;
pub(crate) mod context;
pub(crate) mod entry;
mod glue;
pub(crate) mod layout;
pub(crate) mod lock;
pub(crate) mod mem;
pub(crate) mod packet;
pub(crate) mod slab;
pub(crate) mod stats;
pub(crate) mod task;
pub(crate) mod time;
