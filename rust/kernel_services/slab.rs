// SPDX-License-Identifier: GPL-2.0

//! A slab cache of one type, and boxes allocated from it.
//!
//! The kernel crate has no `kmem_cache` abstraction; `KBox` takes its
//! memory from the `kmalloc` caches, whose sizes jump from 128 to 192
//! bytes. A sockinfo of 152 bytes is one object of its own cache here, so a
//! connection costs what it uses, and the memory cap counts exactly that.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use kernel::alloc::AllocError;
use kernel::bindings;
use kernel::prelude::*;

/// A slab cache of `T`s (`struct kmem_cache`).
///
/// # Invariants
///
/// `cache` is a live cache of objects of at least `size_of::<T>()` bytes,
/// aligned for `T`, destroyed when `self` is dropped. Its owner drops every
/// [`SlabBox`] allocated from it before it (see [`SlabBox`]).
pub(crate) struct Slab<T> {
    cache: NonNull<bindings::kmem_cache>,
    _type: PhantomData<T>,
}

// SAFETY: a `kmem_cache` may be used from any CPU and context (allocation
// with `GFP_ATOMIC`), and the `T`s it holds are owned by `SlabBox`es.
unsafe impl<T: Send> Send for Slab<T> {}
// SAFETY: as above; `&Slab` only allocates.
unsafe impl<T: Send> Sync for Slab<T> {}

impl<T> Slab<T> {
    /// A cache named `name` (as `/proc/slabinfo` shows it). Process
    /// context.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        let size = u32::try_from(size_of::<T>()).map_err(|_| EINVAL)?;
        let mut args = bindings::kmem_cache_args {
            align: u32::try_from(align_of::<T>()).map_err(|_| EINVAL)?,
            ..Default::default()
        };
        // SAFETY: `name` lives for ever (it must outlive the cache); `args`
        // is a valid `kmem_cache_args` the call only reads; no flags.
        let cache =
            unsafe { bindings::__kmem_cache_create_args(name.as_char_ptr(), size, &mut args, 0) };
        // INVARIANT: a cache of `size_of::<T>()`-byte objects aligned for
        // `T`, or the error.
        Ok(Self {
            cache: NonNull::new(cache).ok_or(ENOMEM)?,
            _type: PhantomData,
        })
    }

    /// The bytes one object really takes in the cache.
    pub(crate) fn object_size(&self) -> usize {
        // SAFETY: a live cache (type invariants).
        let size = unsafe { bindings::kmem_cache_size(self.cache.as_ptr()) };
        // CAST: u32 fits in usize on every Linux target.
        size as usize
    }

    /// Moves `value` into an object of the cache, allocated without
    /// sleeping and without a warning on failure (`GFP_ATOMIC |
    /// __GFP_NOWARN`): any context. Gives `value` back if that fails.
    pub(crate) fn alloc_atomic(&self, value: T) -> Result<SlabBox<T>, (T, AllocError)> {
        // SAFETY: a live cache (type invariants); the flags allow any
        // context.
        let ptr = unsafe {
            bindings::kmem_cache_alloc_noprof(
                self.cache.as_ptr(),
                bindings::GFP_ATOMIC | bindings::__GFP_NOWARN,
            )
        };
        let Some(ptr) = NonNull::new(ptr.cast::<T>()) else {
            return Err((value, AllocError));
        };
        // SAFETY: a fresh object of the cache: `size_of::<T>()` bytes
        // aligned for `T` (type invariants), ours alone.
        unsafe { ptr.as_ptr().write(value) };
        // INVARIANT: initialised just above, from this cache.
        Ok(SlabBox { ptr })
    }
}

impl<T> Drop for Slab<T> {
    fn drop(&mut self) {
        // SAFETY: a live cache (type invariants), with no object left: its
        // owner dropped every box first. Dropping runs in process context
        // (module unload).
        unsafe { bindings::kmem_cache_destroy(self.cache.as_ptr()) };
    }
}

/// An owned `T` in an object of a [`Slab`].
///
/// # Invariants
///
/// `ptr` is an object of a live [`Slab<T>`], holding an initialised `T`
/// owned by `self`; the slab outlives `self` (the slab's owner drops its
/// boxes first).
pub(crate) struct SlabBox<T> {
    ptr: NonNull<T>,
}

// SAFETY: a `SlabBox<T>` owns its `T` as a `KBox<T>` does.
unsafe impl<T: Send> Send for SlabBox<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for SlabBox<T> {}

impl<T> Deref for SlabBox<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: an initialised `T` owned by `self` (type invariants).
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for SlabBox<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` is unique.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for SlabBox<T> {
    fn drop(&mut self) {
        // SAFETY: an initialised `T` owned by `self`, dropped once.
        unsafe { core::ptr::drop_in_place(self.ptr.as_ptr()) };
        // SAFETY: an object of a live slab cache (type invariants), which
        // `kfree` returns to its cache (supported for slab objects since
        // Linux 6.4), in any context.
        unsafe { bindings::kfree(self.ptr.as_ptr().cast()) };
    }
}
