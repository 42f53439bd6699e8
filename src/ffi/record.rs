//! `RecordBuilder`: one record with headers, a partition and a timestamp of
//! its own (OpenEdge's RecordBuilder), sent with `producer_send_record`.

use std::ffi::{c_char, c_void};

use super::boundary::{c_bytes, c_str, guard};
use super::handle::{borrow_tagged_mut, tagged_into_handle, take_tagged, Castable, OwnedTaggedBox};
use crate::kafka::error::ErrorCode;
use crate::kafka::producer::Outgoing;
use crate::kafka::protocol::record_headers::RecordHeaders;

/// A record being put together: topic, key, value, headers, and optionally
/// a partition and a timestamp.
///
/// Owner: the caller, from `record_builder_new` until `record_builder_free`.
/// `producer_send_record` copies everything, so the builder may be changed
/// or reused as soon as it returns. Not thread-safe: one thread at a time.
/// Passing another kind of handle, or a freed builder, is a caller error
/// that these functions detect in most cases (they then act as for NULL).
pub struct RecordBuilder {
    _private: [u8; 0],
}

/// What "no partition chosen" is, as in librdkafka (RD_KAFKA_PARTITION_UA).
pub const ABLKAFKA_PARTITION_UNASSIGNED: i32 = -1;

#[derive(Default)]
pub(crate) struct RecordState {
    pub(crate) topic: Option<String>,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    partition: Option<i32>,
    /// 0: the time of the send.
    timestamp: i64,
    headers: RecordHeaders,
    /// `headers` encoded, made again only after a change.
    encoded_headers: Option<Vec<u8>>,
}

impl RecordState {
    /// The record to send, and its topic (None: not set).
    pub(crate) fn outgoing(&mut self) -> (Option<&str>, Outgoing<'_>) {
        let headers = self.encoded_headers.get_or_insert_with(|| self.headers.encoded());
        let record = Outgoing {
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers,
            partition: self.partition,
            timestamp: self.timestamp,
        };
        (self.topic.as_deref(), record)
    }
}

impl Castable for RecordBuilder {
    type Ownership = OwnedTaggedBox;
    type RustType = RecordState;
    const TAG: u64 = u64::from_be_bytes(*b"ablkRECB");
}

const OK: i32 = 0;
const INVALID_ARG: i32 = ErrorCode::INVALID_ARG.0;

/// Runs `change` on a live builder: -186 for NULL, 0 otherwise.
#[allow(unsafe_code)]
fn with_builder(builder: *mut RecordBuilder, change: impl FnOnce(&mut RecordState) -> i32) -> i32 {
    guard(INVALID_ARG, || {
        // SAFETY: NULL or a live builder used by one thread, as documented.
        match unsafe { borrow_tagged_mut(builder) } {
            Some(state) => change(state),
            None => INVALID_ARG,
        }
    })
}

/// Creates an empty record builder: no topic, null key and value, no
/// headers, no partition, timestamp "now". NULL only if memory runs out.
/// The caller owns it and frees it with `record_builder_free`. Any thread.
#[no_mangle]
pub extern "C" fn record_builder_new() -> *mut RecordBuilder {
    guard(std::ptr::null_mut(), || tagged_into_handle::<RecordBuilder>(RecordState::default()))
}

/// Sets the topic (copied). Returns 0, or -186 (nothing changed) for a NULL
/// builder or topic, or a topic that is not UTF-8; the topic's name is
/// checked when the record is sent.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn record_builder_set_topic(builder: *mut RecordBuilder, topic: *const c_char) -> i32 {
    with_builder(builder, |state| {
        // SAFETY: NULL or a NUL-terminated string, as documented.
        match unsafe { c_str(topic, "topic") } {
            Ok(topic) => {
                state.topic = Some(topic.to_owned());
                OK
            }
            Err(_) => INVALID_ARG,
        }
    })
}

/// Sets the key (copied): NULL with `key_len` 0 is a null key. Returns 0,
/// or -186 (nothing changed) for a NULL builder, a NULL key with a non-zero
/// length, or a length above SIZE_MAX/2.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn record_builder_set_key(builder: *mut RecordBuilder, key: *const c_void, key_len: usize) -> i32 {
    with_builder(builder, |state| {
        // SAFETY: NULL or `key_len` readable bytes, as documented.
        match unsafe { c_bytes(key, key_len, "key") } {
            Ok(key) => {
                state.key = key.map(<[u8]>::to_vec);
                OK
            }
            Err(_) => INVALID_ARG,
        }
    })
}

/// Sets the value (copied): NULL with `value_len` 0 is a null value. As
/// `record_builder_set_key` otherwise.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn record_builder_set_value(builder: *mut RecordBuilder, value: *const c_void, value_len: usize) -> i32 {
    with_builder(builder, |state| {
        // SAFETY: NULL or `value_len` readable bytes, as documented.
        match unsafe { c_bytes(value, value_len, "value") } {
            Ok(value) => {
                state.value = value.map(<[u8]>::to_vec);
                OK
            }
            Err(_) => INVALID_ARG,
        }
    })
}

/// Chooses the partition: it is used instead of the key's. -1
/// (`ABLKAFKA_PARTITION_UNASSIGNED`) lets the partitioner choose again. A
/// partition the topic does not have fails the record's Response with -190
/// once the topic's partitions are known. Returns 0, or -186 (nothing
/// changed) for a NULL builder or a negative partition other than -1.
#[no_mangle]
pub extern "C" fn record_builder_set_partition(builder: *mut RecordBuilder, partition: i32) -> i32 {
    with_builder(builder, |state| match partition {
        ABLKAFKA_PARTITION_UNASSIGNED => {
            state.partition = None;
            OK
        }
        p if p >= 0 => {
            state.partition = Some(p);
            OK
        }
        _ => INVALID_ARG,
    })
}

/// Sets the record's timestamp (CreateTime), in milliseconds since the
/// epoch; 0 means the time of the send, as in librdkafka. Returns 0, or
/// -186 (nothing changed) for a NULL builder or a negative timestamp.
#[no_mangle]
pub extern "C" fn record_builder_set_timestamp(builder: *mut RecordBuilder, timestamp_ms: i64) -> i32 {
    with_builder(builder, |state| match timestamp_ms {
        t if t >= 0 => {
            state.timestamp = t;
            OK
        }
        _ => INVALID_ARG,
    })
}

/// Adds a header after the others (copied): names may repeat and may be
/// empty; NULL `value` with `value_len` 0 is a null value. Returns 0, or
/// -186 (nothing changed) for a NULL builder or name, a name that is not
/// UTF-8, a NULL value with a non-zero length, or a length above
/// SIZE_MAX/2. Headers count against message.max.bytes with the key and
/// value.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn record_builder_add_header(
    builder: *mut RecordBuilder,
    name: *const c_char,
    value: *const c_void,
    value_len: usize,
) -> i32 {
    with_builder(builder, |state| {
        // SAFETY: NULL or a NUL-terminated string and `value_len` readable bytes, as documented.
        let (name, value) = unsafe { (c_str(name, "name"), c_bytes(value, value_len, "value")) };
        let (Ok(name), Ok(value)) = (name, value) else { return INVALID_ARG };
        if i32::try_from(name.len()).is_err() || value.is_some_and(|v| i32::try_from(v.len()).is_err()) {
            return INVALID_ARG;
        }
        state.headers.add(name, value);
        state.encoded_headers = None;
        OK
    })
}

/// Empties the builder, as `record_builder_new` makes it (topic included).
/// Returns 0, or -186 for a NULL builder.
#[no_mangle]
pub extern "C" fn record_builder_clear(builder: *mut RecordBuilder) -> i32 {
    with_builder(builder, |state| {
        *state = RecordState::default();
        OK
    })
}

/// Frees the builder. NULL is fine. Records sent with it are unaffected.
/// Must not be called twice, nor while another thread uses it.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn record_builder_free(builder: *mut RecordBuilder) {
    guard((), || {
        // SAFETY: NULL or a live builder, not used afterwards, as documented.
        drop(unsafe { take_tagged(builder) })
    })
}
