// SPDX-License-Identifier: GPL-2.0

//! The kernel-services layer: the only code of the crate with `unsafe`,
//! `kernel::bindings` or calls into the C glue (`netatop_glue.c`). The
//! accounting, the tables, the collector, the getsockopt commands and
//! `/proc` above it are safe Rust over the typed values and tokens it hands
//! out.
//!
//! Who reads what: the glue reads the kernel's structures (the netfilter
//! hook state, `sk_buff`, `net_device`, `sock`, `task_struct`, `cgroup`),
//! whose layouts the kernel crate's bindings give unreliably across kernels
//! or not at all, into plain structs ([`glue`]); this layer reads those,
//! the packet headers they point to ([`packet`]), plain kernel variables
//! (`jiffies_64`), and calls kernel functions. Nothing else does.
//!
//! - [`entry`]: the entry points the glue calls, and the registration;
//! - [`context`]: tokens for the context a function runs in (a netfilter
//!   hook, or process context that may sleep);
//! - [`lock`]: the tables' spinlock, whose locking takes such a token;
//! - [`packet`]: a packet as the hook hands it over;
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
