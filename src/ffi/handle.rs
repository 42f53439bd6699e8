//! Typed conversions between opaque C handles and the Rust values behind
//! them. Each C type names its Rust type and its ownership (tagged Box or
//! Arc) once, so a handle can only be made and freed the way it was
//! allocated.
//!
//! Tagged boxes carry their type's tag in their first word. Callers that
//! pass every handle as an integer (OpenEdge ABL, ctypes) can mix handles
//! up or reuse a freed one; for the long-lived objects (builder, producer)
//! the tag turns most such mistakes into an "invalid argument" result
//! instead of memory corruption. It is cleared when the handle is freed.
//! Responses, one per message, are not boxes at all: their handles are
//! checked numbers (`kafka::receipt::Handle`), see `response.rs`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Ownership marker: the handle is a `Box::into_raw` pointer to a
/// [`Tagged`] value whose tag is checked on every use.
pub(crate) struct OwnedTaggedBox;

/// Ties an opaque C type to the Rust value its pointers point at.
pub(crate) trait Castable {
    type Ownership;
    type RustType;
    /// For tagged boxes: the first word of every live value of this type.
    const TAG: u64 = 0;
}

/// A value behind a tagged handle: the type's tag, then the value.
#[repr(C)]
pub(crate) struct Tagged<T> {
    tag: AtomicU64,
    value: T,
}

pub(crate) fn tagged_into_handle<C: Castable<Ownership = OwnedTaggedBox>>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(Tagged { tag: AtomicU64::new(C::TAG), value })).cast()
}

/// Whether `address` could be a box this library made: 8-aligned, above
/// the zero page and below 2^48 (where user-space addresses end). A
/// Response handle (a number with a tag in its top byte) or a small
/// integer is none, and is refused without being read.
fn could_be_a_box(address: *const u8) -> bool {
    let address = address as usize as u64;
    address % 8 == 0 && address >= 4096 && address >> 48 == 0
}

/// Borrows the value behind a tagged handle; None for NULL or when the
/// first word is not `C`'s tag (a handle of another type, or a freed one).
///
/// # Safety
/// `handle` is NULL, not a possible box address (see `could_be_a_box`), or
/// points to at least 8 readable, 8-aligned bytes; if they hold `C`'s tag,
/// it is a live handle of type `C`.
#[allow(unsafe_code)]
pub(crate) unsafe fn borrow_tagged<'a, C: Castable<Ownership = OwnedTaggedBox>>(handle: *const C) -> Option<&'a C::RustType> {
    if !could_be_a_box(handle.cast()) {
        return None;
    }
    let tag = handle.cast::<AtomicU64>();
    // SAFETY: NULL or 8 readable aligned bytes, as the caller promises; an AtomicU64
    // read cannot race with another thread's use of a live handle.
    if unsafe { tag.as_ref() }?.load(Ordering::Acquire) != C::TAG {
        return None;
    }
    // SAFETY: the tag says this is a live Tagged<C::RustType>.
    Some(unsafe { &(*handle.cast::<Tagged<C::RustType>>()).value })
}

/// Mutably borrows the value behind a tagged handle; None as for
/// [`borrow_tagged`].
///
/// # Safety
/// As for [`borrow_tagged`], and the handle is not borrowed elsewhere.
#[allow(unsafe_code)]
pub(crate) unsafe fn borrow_tagged_mut<'a, C: Castable<Ownership = OwnedTaggedBox>>(handle: *mut C) -> Option<&'a mut C::RustType> {
    // SAFETY: as above.
    unsafe { borrow_tagged(handle.cast_const()) }?;
    // SAFETY: the tag matched, and C requires exclusive use for the `*mut` functions.
    Some(unsafe { &mut (*handle.cast::<Tagged<C::RustType>>()).value })
}

/// Takes back the value behind a tagged handle and clears its tag, so that
/// a later use of the same handle is refused while its memory is not yet
/// reused. None (and nothing freed) for NULL or a wrong tag.
///
/// # Safety
/// As for [`borrow_tagged`]; the handle is not used afterwards.
#[allow(unsafe_code)]
pub(crate) unsafe fn take_tagged<C: Castable<Ownership = OwnedTaggedBox>>(handle: *mut C) -> Option<C::RustType> {
    // SAFETY: as above.
    unsafe { borrow_tagged(handle.cast_const()) }?;
    // SAFETY: the tag matched: made by tagged_into_handle for this type and not yet freed.
    let boxed = unsafe { Box::from_raw(handle.cast::<Tagged<C::RustType>>()) };
    boxed.tag.store(0, Ordering::Release);
    let Tagged { value, .. } = *boxed;
    Some(value)
}
