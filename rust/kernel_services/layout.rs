// SPDX-License-Identifier: GPL-2.0

//! The layouts of the structs, and the values of the constants, that C and
//! Rust share, as the C compiler gives them: generated at build time from
//! `netatop_layout.c` (Kbuild), which reads the one source of each,
//! `include/netatop.h` (the user ABI) and `netatop_glue.h` (the glue's
//! interface).
//!
//! Every Rust copy of a shared struct is checked against them with
//! [`check_layout!`], every shared constant is taken from them, so a
//! mismatch fails the build.
//!
//! The generated names keep C's spelling (`sk_buff__len`). Some are
//! used only inside the anonymous constants of [`check_layout!`], which
//! rustc 1.85 (Debian 13's) does not count as uses.
#![allow(non_upper_case_globals, dead_code)]

include!(env!("NETATOP_LAYOUT_RS"));

/// A generated value as a `u8` (a build error if it does not fit).
pub(crate) const fn byte(v: usize) -> u8 {
    assert!(v <= u8::MAX as usize);
    // CAST: checked just above.
    v as u8
}

/// A generated value as a `u16` (a build error if it does not fit).
pub(crate) const fn half(v: usize) -> u16 {
    assert!(v <= u16::MAX as usize);
    // CAST: checked just above.
    v as u16
}

/// A generated value as a `u32` (a build error if it does not fit).
pub(crate) const fn word(v: usize) -> u32 {
    assert!(v <= u32::MAX as usize);
    // CAST: checked just above.
    v as u32
}

/// The size of the field `f` selects of a `T`, in a constant expression.
pub(crate) const fn field_size<T, F>(_f: fn(&T) -> &F) -> usize {
    core::mem::size_of::<F>()
}

/// Asserts at build time that the `#[repr(C)]` struct `$rust` has the size
/// of C's `struct $c`, and each field its C counterpart's offset and size:
/// `check_layout!(Rust, c_name, [rust_field: c_field, ...]);`.
macro_rules! check_layout {
    ($rust:ty, $c:ident, [$($rf:ident : $cf:ident),* $(,)?]) => {
        const _: () = ::kernel::macros::paste! {{
            use $crate::kernel_services::layout as l;
            assert!(core::mem::size_of::<$rust>() == l::[<$c __SIZE>]);
            $(
                assert!(core::mem::offset_of!($rust, $rf) == l::[<$c __ $cf>]);
                assert!(l::field_size(|s: &$rust| &s.$rf) == l::[<$c __ $cf __SIZE>]);
            )*
        }};
    };
}
pub(crate) use check_layout;
