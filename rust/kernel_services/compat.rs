// SPDX-License-Identifier: GPL-2.0

//! What differs between the kernel crates of the kernel series netatop-rs
//! supports (7.2 and 7.3, `kernels.tsv`), behind one small API: the rest of
//! the crate does not know which kernel it is built for.
//!
//! Each difference is absorbed by the type system where it can be, so one
//! source compiles against every supported kernel crate without a
//! configuration switch:
//! - [`param`]: a module parameter's value. 7.2's
//!   `ModuleParamAccess::value` returns `&T`, 7.3's returns `T` (and added
//!   `value_ref` for the reference).
//!
//! A kernel whose crate differs in a way this module does not know fails to
//! compile here, and `scripts/module.sh` turns that into one line naming the
//! kernel and the supported series.

/// What a module parameter's `value()` returns on a supported kernel: the
/// value itself (7.3 and later) or a reference to it (7.2).
pub(crate) trait ParamValue<T> {
    /// The parameter's value.
    fn get(self) -> T;
}

impl<T: Copy> ParamValue<T> for T {
    fn get(self) -> T {
        self
    }
}

impl<T: Copy> ParamValue<T> for &T {
    fn get(self) -> T {
        *self
    }
}

/// The value of a module parameter of a `Copy` type, from what its
/// `value()` returns on this kernel:
/// `compat::param(module_parameters::name.value())`.
pub(crate) fn param<T: Copy>(value: impl ParamValue<T>) -> T {
    value.get()
}
