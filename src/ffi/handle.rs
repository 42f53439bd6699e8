//! Typed conversions between opaque C handles and the Rust values behind
//! them. Each C type names its Rust type and its ownership (Box or Arc) once,
//! so a handle can only be made and freed the way it was allocated.

use std::sync::Arc;

/// Ownership marker: the handle is a `Box::into_raw` pointer.
pub(crate) struct OwnedBox;
/// Ownership marker: the handle is an `Arc::into_raw` pointer.
pub(crate) struct OwnedArc;

/// Ties an opaque C type to the Rust value its pointers point at.
pub(crate) trait Castable {
    type Ownership;
    type RustType;
}

pub(crate) fn box_into_handle<C: Castable<Ownership = OwnedBox>>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(value)).cast()
}

pub(crate) fn arc_into_handle<C: Castable<Ownership = OwnedArc>>(value: Arc<C::RustType>) -> *mut C {
    Arc::into_raw(value).cast_mut().cast()
}

/// Borrows the value behind a handle of either ownership; None for NULL.
///
/// # Safety
/// `handle` is NULL or a live handle of type `C` made by this module.
#[allow(unsafe_code)]
pub(crate) unsafe fn borrow<'a, C: Castable>(handle: *const C) -> Option<&'a C::RustType> {
    // SAFETY: the caller promises a live handle of this type, whose pointee is a C::RustType.
    unsafe { handle.cast::<C::RustType>().as_ref() }
}

/// Mutably borrows the value behind a Box handle; None for NULL.
///
/// # Safety
/// `handle` is NULL or a live Box handle of type `C` not borrowed elsewhere.
#[allow(unsafe_code)]
pub(crate) unsafe fn borrow_mut<'a, C: Castable<Ownership = OwnedBox>>(handle: *mut C) -> Option<&'a mut C::RustType> {
    // SAFETY: as above, and C requires exclusive use for the `*mut` functions.
    unsafe { handle.cast::<C::RustType>().as_mut() }
}

/// Frees a Box handle; NULL is a no-op.
///
/// # Safety
/// `handle` is NULL or a live Box handle of type `C`, not used afterwards.
#[allow(unsafe_code)]
pub(crate) unsafe fn free_box<C: Castable<Ownership = OwnedBox>>(handle: *mut C) {
    if !handle.is_null() {
        // SAFETY: made by box_into_handle for this type and not yet freed.
        drop(unsafe { Box::from_raw(handle.cast::<C::RustType>()) });
    }
}

/// Releases an Arc handle; NULL is a no-op.
///
/// # Safety
/// `handle` is NULL or a live Arc handle of type `C`, not used afterwards.
#[allow(unsafe_code)]
pub(crate) unsafe fn free_arc<C: Castable<Ownership = OwnedArc>>(handle: *mut C) {
    if !handle.is_null() {
        // SAFETY: made by arc_into_handle for this type and not yet released.
        drop(unsafe { Arc::from_raw(handle.cast_const().cast::<C::RustType>()) });
    }
}
