// SPDX-License-Identifier: GPL-2.0

//! The entry points the glue calls (`netatop_glue.h`, "Implemented in Rust")
//! and the registration that makes it call them. Each turns the glue's
//! pointers into typed values and context tokens, calls the safe code above,
//! and turns errors into negative errno values (here and nowhere else).

use kernel::ffi::{c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::seq_file::SeqFile;
use kernel::sync::Arc;
use kernel::uaccess::UserPtr;

use super::context::{Hook, Process};
use super::glue::{self, RawCharge, CX_BH_OFF, CX_IRQS_OFF};
use super::packet::{Packet, NFPROTO_IPV4, NFPROTO_IPV6};
use crate::state::Netatop;

// The state is shared by every CPU through the glue's context pointer,
// which erases the compiler's check: make it explicit.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Netatop>();
};

/// The module's registration with the kernel (hooks, getsockopt range,
/// `/proc`, periodic collection).
///
/// # Invariants
///
/// From [`Registration::register`] until `drop` returns, the glue holds a
/// pointer to the [`Netatop`] owned by `_state` and passes it to the entry
/// points below; `drop` unregisters before `_state` is released.
pub(crate) struct Registration {
    _state: Arc<Netatop>,
}

impl Registration {
    /// Registers `state` with the kernel and starts the periodic collection
    /// every `gc_interval_ms`.
    pub(crate) fn register(state: Arc<Netatop>, gc_interval_ms: u32) -> Result<Self> {
        // SAFETY: the pointer stays valid until `netatop_glue_unregister` is
        // called in `drop`, since `Self` keeps the `Arc` until then.
        kernel::error::to_result(unsafe {
            glue::netatop_glue_register(Arc::as_ptr(&state).cast())
        })?;
        // SAFETY: registered just above; `drop` unregisters, which also
        // stops the collection.
        unsafe { glue::netatop_glue_start_gc(gc_interval_ms) };
        // INVARIANT: registered above with a pointer into `state`.
        Ok(Self { _state: state })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `register` (type invariant), once; after
        // this call no entry point runs, so `self._state` may be released.
        unsafe { glue::netatop_glue_unregister() };
    }
}

/// Recovers the state from the context pointer of an entry point.
///
/// # Safety
///
/// `ctx` must be the pointer given to `netatop_glue_register`, and the
/// registration must not have been dropped yet.
unsafe fn state_of<'a>(ctx: *const c_void) -> &'a Netatop {
    // SAFETY: by the function's safety requirements `ctx` points to the live
    // `Netatop` of the registration (see `Registration`'s invariants), which
    // is `Sync` (checked above), so sharing it between CPUs is sound.
    unsafe { &*ctx.cast::<Netatop>() }
}

/// getsockopt entry point (`netatop_rs_getsockopt`): process context.
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from the
/// registration and `len` pointing to the kernel's optlen copy.
#[no_mangle]
unsafe extern "C" fn netatop_rs_getsockopt(
    ctx: *const c_void,
    cmd: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state_of(ctx) };
    // SAFETY: `len` points to `nf_getsockopt`'s caller's local `int`, valid
    // and exclusively ours for the duration of the call.
    let len = unsafe { &mut *len };
    // INVARIANT: a getsockopt handler runs in process context, may sleep,
    // holds no spinlock and is outside any RCU read-side section.
    let mut cx = Process::new();
    kernel::error::from_result(|| {
        state.getsockopt(&mut cx, cmd, UserPtr::from_ptr(user), len)?;
        Ok(0)
    })
}

/// Accounts a packet of the hook for `family`'s `out`going (`LOCAL_OUT`)
/// or incoming (`LOCAL_IN`) packets: the body of the four entry points
/// below, in each of which family and direction are constants.
///
/// # Safety
///
/// As the entry points': called by the glue only while registered, from
/// the netfilter hook for `family` and direction `out`, with `ctx` from the
/// registration, the hook's `skb` and `state`, the current task and the
/// `NETATOP_CX_*` bits of the hook's context.
#[inline(always)]
unsafe fn packet(
    ctx: *const c_void,
    skb: *const c_void,
    state: *const c_void,
    current: *const c_void,
    context: c_uint,
    out: bool,
    family: u8,
) -> RawCharge {
    // SAFETY: the glue calls this only while registered (safety contract).
    let netatop = unsafe { state_of(ctx) };
    // SAFETY: the hook call's own skb, state and current task, of `family`
    // and direction `out` (safety contract), valid while it runs.
    let pkt = unsafe { Packet::new(skb, state, current, context, out, family) };
    // INVARIANT: the table locks may be taken only with interrupts on, as
    // the glue reported them.
    let cx = (context & CX_IRQS_OFF == 0).then(|| Hook::new(context & CX_BH_OFF != 0));
    netatop.packet(&pkt, cx).raw()
}

/// Defines the packet entry point `$name` of each hook: `$family`'s
/// outgoing (`$out`) or incoming packets (`netatop_glue.h`).
macro_rules! packet_entries {
    ($($name:ident: $out:literal, $family:expr, $hook:literal;)*) => {$(
        #[doc = concat!("Entry point of the ", $hook, " hook.")]
        ///
        /// # Safety
        ///
        /// Called by the glue only while registered, from that hook, with
        /// `ctx` from the registration, the hook's `skb` and `state`, the
        /// current task and the `NETATOP_CX_*` bits of the hook's context.
        #[no_mangle]
        unsafe extern "C" fn $name(
            ctx: *const c_void,
            skb: *const c_void,
            state: *const c_void,
            current: *const c_void,
            context: c_uint,
        ) -> RawCharge {
            // SAFETY: the safety contract, with this hook's family and
            // direction.
            unsafe { packet(ctx, skb, state, current, context, $out, $family) }
        }
    )*};
}

packet_entries! {
    netatop_rs_packet_out4: true, NFPROTO_IPV4, "IPv4 `LOCAL_OUT`";
    netatop_rs_packet_in4: false, NFPROTO_IPV4, "IPv4 `LOCAL_IN`";
    netatop_rs_packet_out6: true, NFPROTO_IPV6, "IPv6 `LOCAL_OUT`";
    netatop_rs_packet_in6: false, NFPROTO_IPV6, "IPv6 `LOCAL_IN`";
}

/// Periodic collection entry point (`netatop_rs_gc`), from a workqueue.
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from the
/// registration, from its work item (process context).
#[no_mangle]
unsafe extern "C" fn netatop_rs_gc(ctx: *const c_void) {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state_of(ctx) };
    // INVARIANT: a work item runs in process context and may sleep.
    state.periodic_gc(&mut Process::new());
}

/// `/proc/netatop` entry point (`netatop_rs_proc_show`).
///
/// # Safety
///
/// Called by the glue only while registered, with `ctx` from the
/// registration and `m` the seq_file being filled by this thread.
#[no_mangle]
unsafe extern "C" fn netatop_rs_proc_show(
    ctx: *const c_void,
    m: *mut kernel::bindings::seq_file,
) -> c_int {
    // SAFETY: the glue calls this only while registered (safety contract).
    let state = unsafe { state_of(ctx) };
    // SAFETY: `m` is valid and used by this thread only during the call.
    let m = unsafe { SeqFile::from_raw(m) };
    state.proc_show(m);
    0
}
