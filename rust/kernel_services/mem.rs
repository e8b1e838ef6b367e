// SPDX-License-Identifier: GPL-2.0

//! Memory: the slab size an allocation really takes, and byte views of the
//! user ABI's structs.

use kernel::bindings;

/// The bytes a `kmalloc` of `bytes` really takes (its slab object's size).
pub(crate) fn slab_size(bytes: usize) -> usize {
    // SAFETY: a pure function of its argument.
    unsafe { bindings::kmalloc_size_roundup(bytes) }
}

/// Implements `AsBytes` (copying to user space) for structs whose fields
/// are all `AsBytes` (integers, arrays of them, such structs), after
/// asserting at build time that the fields fill them: no padding byte, so
/// no uninitialised one.
/// `as_bytes!(Type { field: FieldType, ... });`
macro_rules! as_bytes {
    ($($t:ty { $($f:ident : $ft:ty),* $(,)? });* $(;)?) => {
        $(
            const _: () = assert!(
                core::mem::size_of::<$t>() == 0 $(+ core::mem::size_of::<$ft>())*
            );
            // SAFETY: every field is `AsBytes` itself (the `$ft` listed,
            // each checked against the field below), and their sizes add up
            // to the struct's size (asserted above): it has no padding, so
            // every byte is initialised.
            unsafe impl ::kernel::transmute::AsBytes for $t {}
            const _: fn(&$t) = |s| {
                fn as_bytes<T: ::kernel::transmute::AsBytes>(_: &T) {}
                $(as_bytes::<$ft>(&s.$f);)*
            };
        )*
    };
}
pub(crate) use as_bytes;
