// SPDX-License-Identifier: GPL-2.0

//! A slab cache of one type, and boxes allocated from it.
//!
//! The kernel crate has no `kmem_cache` abstraction; `KBox` takes its
//! memory from the `kmalloc` caches, whose sizes jump from 128 to 192
//! bytes. A sockinfo of 152 bytes is one object of a cache of its own size
//! here, so a connection costs what it uses, and the memory cap counts
//! exactly that.
//!
//! A [`SlabBox`] is freed with `kfree`, which finds the object's cache
//! itself: the box does not point to its [`Slab`]. The slab's owner drops
//! the boxes first; should one outlive the slab, `kmem_cache_destroy` warns
//! and keeps the cache, so freeing the box later is still sound.

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
/// aligned for `T`, destroyed when `self` is dropped.
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
    /// A cache named `name`, as `/proc/slabinfo` shows it (`SLAB_NO_MERGE`:
    /// never merged with another cache of the same size, so its objects
    /// are its own to count). Process context.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        let size = u32::try_from(size_of::<T>()).map_err(|_| EINVAL)?;
        let mut args = bindings::kmem_cache_args {
            align: u32::try_from(align_of::<T>()).map_err(|_| EINVAL)?,
            ..Default::default()
        };
        // SAFETY: `name` is a NUL-terminated string that lives for ever (the
        // kernel copies it anyway); `args` is a valid `kmem_cache_args` of
        // ours, which the call may update (the alignment it settles on).
        // Process context: the caller's (see above).
        let cache = unsafe {
            bindings::__kmem_cache_create_args(
                name.as_char_ptr(),
                size,
                &mut args,
                super::layout::word(super::layout::SLAB_NO_MERGE),
            )
        };
        // INVARIANT: a cache of `size_of::<T>()`-byte objects aligned for
        // `T`, or the error.
        Ok(Self {
            cache: NonNull::new(cache).ok_or(ENOMEM)?,
            _type: PhantomData,
        })
    }

    /// The size of an object of the cache (`kmem_cache_size()`: at least
    /// `size_of::<T>()`, more if the kernel merged the cache with a larger
    /// one).
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
        // SAFETY: a live cache (type invariants), destroyed once. Should an
        // object be left (its owner dropped a box after the slab), the
        // kernel warns and keeps the cache, so that box's `kfree` stays
        // valid. Dropping runs in process context (module unload, or a
        // failed load).
        unsafe { bindings::kmem_cache_destroy(self.cache.as_ptr()) };
    }
}

/// An owned `T` in an object of a [`Slab`].
///
/// # Invariants
///
/// `ptr` is an object allocated from a slab cache (by [`Slab::alloc_atomic`])
/// and not freed yet, holding an initialised `T` owned by `self`. The cache
/// stays allocated while the object is (see the module documentation).
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
        // SAFETY: an object of a slab cache, not freed yet (type
        // invariants), which `kfree` returns to its cache (supported for
        // `kmem_cache_alloc()` objects since Linux 6.4), in any context.
        unsafe { bindings::kfree(self.ptr.as_ptr().cast()) };
    }
}
