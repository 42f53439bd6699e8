//! `Response`: one record's delivery receipt, polled or waited on.
//!
//! A Response handle is a checked number (see `kafka::receipt::Handle`),
//! never dereferenced: these functions need no unsafe code, and any value
//! a caller passes, freed, foreign or made up, reads as invalid.

use std::ffi::c_char;

use super::boundary::{guard, timeout_from_ms};
use super::error::{invalid_topic_ptr, message_ptr};
use crate::kafka::error::ErrorCode;
use crate::kafka::receipt::{Handle, Outcome, Receipt};

/// One record's delivery receipt (OpenEdge's ISendResponse).
///
/// Owner: the caller, from `producer_send` until `response_free`, which may
/// come before or after completion and before or after the producer is
/// closed or freed; a Response outlives its producer and stays readable.
/// Thread-safe: read it and wait on it from any threads; the producer's
/// background thread completes it. Once `response_completed` returns 1
/// the other fields never change. Never free the strings it returns.
///
/// Checked like every other handle: a freed Response, a handle of another
/// kind or any other value gets the same answers as NULL (below), from any
/// thread at any time, and `response_free` of such a handle does nothing.
/// (A handle is a tagged slot number with a generation, not a pointer;
/// a slot is reused only after it is freed, and 2^28 reuses of one slot
/// pass before a stale handle could name it again.) After fork() a child's
/// copy of a pending Response of the parent's producer never completes.
pub struct Response {
    _private: [u8; 0],
}

// A handle is 64 bits and travels as a pointer.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("ablkafka's Response handles need 64-bit pointers");

/// The handle a Response pointer carries.
pub(crate) fn handle_of(response: *const Response) -> Handle {
    Handle::from_raw(response as usize as u64)
}

/// The Response pointer for a handle; NULL for none.
pub(crate) fn into_response(handle: Option<Handle>) -> *mut Response {
    handle.map_or(std::ptr::null_mut(), |h| h.into_raw() as usize as *mut Response)
}

/// Reads a receipt, with `default` for an invalid handle (NULL, freed,
/// foreign) or a panic.
fn read<T: Copy>(response: *const Response, default: T, field: impl FnOnce(&Receipt) -> T) -> T {
    guard(default, || handle_of(response).read().as_ref().map_or(default, field))
}

/// Reads a receipt's outcome alone (what the poll loop's getters need),
/// with `default` as `read` has.
fn read_outcome<T: Copy>(response: *const Response, default: T, field: impl FnOnce(Outcome) -> T) -> T {
    guard(default, || handle_of(response).outcome().map_or(default, field))
}

/// 1 once the broker answered (or the send failed), else 0. 0 for NULL or
/// an invalid handle. Never blocks; poll it, or use `response_wait`. Any
/// thread.
#[no_mangle]
pub extern "C" fn response_completed(response: *const Response) -> i32 {
    read_outcome(response, 0, |o| i32::from(o.is_completed()))
}

/// Blocks until the Response completes or `timeout_ms` passes (-1, or any
/// negative value: no limit; 0: just check). Returns 1 when completed, 0 on
/// timeout, -186 for NULL or an invalid handle (also one freed by another
/// thread during the wait, seen when the wait ends). Any thread; many
/// threads may wait on one Response.
#[no_mangle]
pub extern "C" fn response_wait(response: *const Response, timeout_ms: i32) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || match handle_of(response).wait(timeout_from_ms(timeout_ms)) {
        Some(completed) => i32::from(completed),
        None => ErrorCode::INVALID_ARG.code(),
    })
}

/// 1 only when completed and delivered, else 0. 0 for NULL or an invalid
/// handle. Never blocks; any thread.
#[no_mangle]
pub extern "C" fn response_success(response: *const Response) -> i32 {
    read_outcome(response, 0, |o| i32::from(o.succeeded()))
}

/// 0 unless completed with an error; then a librdkafka error code (negative:
/// local, positive: broker). -186 for NULL or an invalid handle. Never blocks; any thread.
#[no_mangle]
pub extern "C" fn response_error_code(response: *const Response) -> i32 {
    read_outcome(response, ErrorCode::INVALID_ARG.code(), |o| o.error().code())
}

/// NULL unless completed with an error; then its message, e.g.
/// "Local: Message timed out", or for a topic name refused at send (-186)
/// the reason, e.g. "Invalid topic name: longer than 249 characters".
/// When the broker said why it refused the record (Produce's error_message
/// or a record error), its text follows the code's: "Broker: Broker failed
/// to validate record: <text>", the text cut to 512 bytes with its control
/// characters made spaces (a record failed for another record's fault,
/// -138, has librdkafka's text for that there). Valid until
/// `response_free`; do not free it.
/// NULL for NULL or an invalid handle. Never blocks; any thread.
#[no_mangle]
pub extern "C" fn response_error_message(response: *const Response) -> *const c_char {
    read(response, std::ptr::null(), |d| match (d.outcome().error(), d.topic_refusal(), d.message_with_nul()) {
        (code, ..) if code.is_ok() => std::ptr::null(),
        (_, Some(reason), _) => invalid_topic_ptr(reason),
        (_, None, Some(message)) => message.as_ptr().cast(),
        (code, None, None) => message_ptr(code),
    })
}

/// The record's topic as it was given to the send (OpenEdge's
/// `TopicName`), also when the send was refused; "" when no topic string
/// could be read (a NULL topic, or a record builder without one). Valid
/// until `response_free`; do not free it. NULL for NULL or an invalid handle. Never blocks;
/// any thread.
#[no_mangle]
pub extern "C" fn response_topic(response: *const Response) -> *const c_char {
    read(response, std::ptr::null(), |d| d.topic_with_nul().cast())
}

/// The record's offset in its partition: -1 until delivered, and -1 when
/// delivered with acks=0. -1 for NULL or an invalid handle. Never blocks; any thread.
#[no_mangle]
pub extern "C" fn response_offset(response: *const Response) -> i64 {
    read_outcome(response, -1, Outcome::offset)
}

/// The record's partition: -1 until the producer has chosen it, and -1
/// after a failure (as OpenEdge's `PartitionId`). -1 for NULL or an invalid handle.
/// Never blocks; any thread.
#[no_mangle]
pub extern "C" fn response_partition(response: *const Response) -> i32 {
    read(response, -1, |d| d.partition())
}

/// The record's timestamp in ms since the epoch (its create time, or the
/// broker's append time for LogAppendTime topics): -1 until delivered.
/// -1 for NULL or an invalid handle. Never blocks; any thread.
#[no_mangle]
pub extern "C" fn response_timestamp(response: *const Response) -> i64 {
    read(response, -1, |d| d.timestamp())
}

/// Frees the caller's Response, completed or not, before or after its
/// producer is closed or freed (a pending message is still sent; only its
/// receipt is gone). The handle is invalid from then on: every function
/// above answers as for NULL, and a second `response_free` does nothing.
/// NULL and invalid handles are fine. Any thread.
#[no_mangle]
pub extern "C" fn response_free(response: *mut Response) {
    guard((), || {
        handle_of(response).free();
    })
}
