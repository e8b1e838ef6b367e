// SPDX-License-Identifier: GPL-2.0

//! A first-in first-out queue with O(1) amortised operations at both ends'
//! needs: push at the back, pop and push back at the front.
//!
//! The kernel crate has no `VecDeque`; two vectors make one. Process context
//! only (its allocations use `GFP_KERNEL`).

use kernel::prelude::*;

/// A FIFO queue.
///
/// # Invariants
///
/// The queue, front to back, is `front` reversed followed by `back`: the
/// next item to leave is `front`'s last one, or `back`'s first one when
/// `front` is empty.
pub(crate) struct Fifo<T> {
    front: KVec<T>,
    back: KVec<T>,
}

impl<T> Fifo<T> {
    /// An empty queue.
    pub(crate) const fn new() -> Self {
        Self {
            front: KVec::new(),
            back: KVec::new(),
        }
    }

    /// Number of items.
    pub(crate) fn len(&self) -> usize {
        self.front.len() + self.back.len()
    }

    /// Whether the queue is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.front.is_empty() && self.back.is_empty()
    }

    /// Makes room for `n` more items at the back, so that as many
    /// [`Fifo::push_back_within_capacity`] calls cannot fail.
    pub(crate) fn reserve_back(&mut self, n: usize) -> Result {
        self.back.reserve(n, GFP_KERNEL).map_err(|_| ENOMEM)
    }

    /// Appends `item` at the back, if there is room (see
    /// [`Fifo::reserve_back`]); gives it back otherwise.
    pub(crate) fn push_back_within_capacity(&mut self, item: T) -> core::result::Result<(), T> {
        self.back.push_within_capacity(item).map_err(|e| e.0)
    }

    /// Puts `item` back at the front (it becomes the next to leave); gives
    /// it back when out of memory.
    pub(crate) fn push_front(&mut self, item: T) -> core::result::Result<(), T> {
        if self.front.reserve(1, GFP_KERNEL).is_err() {
            return Err(item);
        }
        // INVARIANT: `front`'s last item is the first of the queue.
        self.front.push_within_capacity(item).map_err(|e| e.0)
    }

    /// The first item, if any.
    pub(crate) fn front(&self) -> Option<&T> {
        self.front.last().or_else(|| self.back.first())
    }

    /// Takes the first item. O(1) amortised: when `front` runs out, `back`
    /// moves over reversed, once per item. Without memory for that move it
    /// still makes progress, in O(n), by taking `back`'s first item.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.front.is_empty() && !self.back.is_empty() {
            if self.front.reserve(self.back.len(), GFP_KERNEL).is_ok() {
                // INVARIANT: `back` reversed onto `front` keeps the order.
                while let Some(item) = self.back.pop() {
                    // Cannot fail: capacity reserved above.
                    let _ = self.front.push_within_capacity(item);
                }
            } else {
                return self.back.remove(0).ok();
            }
        }
        self.front.pop()
    }
}
