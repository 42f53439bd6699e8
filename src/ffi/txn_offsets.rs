//! `TxnOffsets`: a consumer group's offsets, added one at a time, that
//! `producer_send_offsets_to_transaction` commits with the transaction
//! (OpenEdge's list of TopicPartitionOffset, without an array of structs
//! crossing the boundary).

use std::ffi::c_char;

use super::boundary::{c_str, guard};
use super::handle::{borrow_tagged, borrow_tagged_mut, tagged_into_handle, take_tagged, Castable, OwnedTaggedBox};
use crate::kafka::error::ErrorCode;
use crate::kafka::producer::GroupOffset;

/// A list of (topic, partition, offset) to commit in a transaction.
///
/// Owner: the caller, from `txn_offsets_new` until `txn_offsets_free`.
/// `producer_send_offsets_to_transaction` copies it, so it may be changed
/// or freed as soon as that returns. Not thread-safe: one thread at a time.
/// Passing another kind of handle, or a freed list, is a caller error that
/// these functions detect in most cases (they then act as for NULL).
pub struct TxnOffsets {
    _private: [u8; 0],
}

impl Castable for TxnOffsets {
    type Ownership = OwnedTaggedBox;
    type RustType = Vec<GroupOffset>;
    const TAG: u64 = u64::from_be_bytes(*b"ablkTXOF");
}

const INVALID_ARG: i32 = ErrorCode::INVALID_ARG.0;

/// The offsets behind a handle, if it is a live list.
#[allow(unsafe_code)]
pub(crate) fn live_offsets<'a>(offsets: *const TxnOffsets) -> Option<&'a [GroupOffset]> {
    // SAFETY: NULL or a live list, as documented on every function.
    unsafe { borrow_tagged(offsets) }.map(Vec::as_slice)
}

/// Creates an empty list. NULL only if memory runs out. The caller owns it
/// and frees it with `txn_offsets_free`. Any thread.
#[no_mangle]
pub extern "C" fn txn_offsets_new() -> *mut TxnOffsets {
    guard(std::ptr::null_mut(), || tagged_into_handle::<TxnOffsets>(Vec::new()))
}

/// Adds `offset` of `topic` [`partition`] (copied): the offset of the next
/// record the group will read, as Kafka commits it. A partition added
/// twice is committed with the offset added last. Returns 0, or -186
/// (nothing added) for a NULL list, a NULL, empty or non-UTF-8 topic, a
/// negative partition or a negative offset.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn txn_offsets_add(offsets: *mut TxnOffsets, topic: *const c_char, partition: i32, offset: i64) -> i32 {
    guard(INVALID_ARG, || {
        // SAFETY: NULL or a live list used by one thread, as documented.
        let Some(list) = (unsafe { borrow_tagged_mut(offsets) }) else { return INVALID_ARG };
        // SAFETY: NULL or a NUL-terminated string, as documented.
        let topic = match unsafe { c_str(topic, "topic") } {
            Ok(topic) if !topic.is_empty() => topic,
            _ => return INVALID_ARG,
        };
        if partition < 0 || offset < 0 {
            return INVALID_ARG;
        }
        list.push(GroupOffset { topic: topic.to_owned(), partition, offset });
        0
    })
}

/// The number of offsets added; -186 for a NULL list.
#[no_mangle]
pub extern "C" fn txn_offsets_count(offsets: *const TxnOffsets) -> i32 {
    guard(INVALID_ARG, || live_offsets(offsets).map_or(INVALID_ARG, |list| i32::try_from(list.len()).unwrap_or(i32::MAX)))
}

/// Frees the list. NULL is fine. Must not be called twice, nor while
/// another thread uses it.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn txn_offsets_free(offsets: *mut TxnOffsets) {
    guard((), || {
        // SAFETY: NULL or a live list, not used afterwards, as documented.
        drop(unsafe { take_tagged(offsets) })
    })
}
