//! `Producer`: send, flush, close, free.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use super::boundary::{c_bytes, c_str, guard, timeout_from_ms, write_c_text};
use super::fork;
use super::handle::{borrow_tagged, borrow_tagged_mut, take_tagged, Castable, OwnedTaggedBox};
use super::options::{read_option, read_topic_option};
use super::record::RecordBuilder;
use super::response::{into_response, Response};
use crate::kafka::config::ConfigBuilder;
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::producer::{Outgoing, Producer as CoreProducer};
use crate::kafka::protocol::record_headers::NO_HEADERS;
use crate::kafka::receipt;

/// A Kafka producer with its own background thread.
///
/// Owner: the caller, from `producer_builder_build` until `producer_free`.
/// Thread-safe: send, flush and close may be called from any threads at
/// once; `producer_free` must be the last call, made once no other thread
/// uses the producer. The background thread is the library's: it runs a
/// single-threaded tokio runtime that does all network I/O and completes
/// Responses, and `producer_close` (or `producer_free`) stops and joins it.
/// Nothing runs on the caller's threads except the calls themselves.
///
/// fork(): a producer made before fork() belongs to the parent. In the
/// child every producer function refuses it (-186, or a completed -186
/// Response from `producer_send`) and `producer_free` only forgets the
/// child's copy; the child builds its own producer. The parent's producer
/// keeps working.
///
/// Passing another kind of handle, or a freed producer, is a caller error
/// that these functions detect in most cases (they then act as for NULL).
pub struct Producer {
    _private: [u8; 0],
}

/// The Rust value behind a `Producer` handle.
pub(crate) struct ProducerState {
    pub(crate) core: CoreProducer,
    /// The options it was built with, for `producer_get_option`.
    pub(crate) options: ConfigBuilder,
    /// The fork generation it was built in (see `fork`).
    pub(crate) generation: u64,
}

impl Castable for Producer {
    type Ownership = OwnedTaggedBox;
    type RustType = ProducerState;
    const TAG: u64 = u64::from_be_bytes(*b"ablkPROD");
}

/// What is behind a handle, if it is a live producer of this process (not
/// one inherited across fork).
#[allow(unsafe_code)]
fn live_state<'a>(handle: *const Producer) -> Option<&'a ProducerState> {
    // SAFETY: NULL or a live producer, as documented on every function.
    let state = unsafe { borrow_tagged(handle) }?;
    fork::is_ours(state.generation).then_some(state)
}

/// The producer behind a handle, if it is live and belongs to this process.
pub(super) fn live_producer<'a>(handle: *const Producer) -> Option<&'a CoreProducer> {
    live_state(handle).map(|state| &state.core)
}

/// Producers a child process inherited and freed: never closed (their thread
/// is the parent's), never dropped, only kept.
static INHERITED: Mutex<Vec<ProducerState>> = Mutex::new(Vec::new());

/// A Response refused at once; its topic is `topic` if that is a string.
fn failed_response(topic: Option<&str>, code: ErrorCode) -> *mut Response {
    into_response(receipt::refused(topic.unwrap_or_default(), code, None))
}

/// Queues one record for `topic` and returns its delivery receipt at once;
/// never blocks. The key and value are copied before it returns; the
/// caller keeps ownership of `topic`, `key` and `value`.
///
/// A NULL `key` (with `key_len` 0) is a null key; a NULL `value` with
/// `value_len` 0 is a null value. Failures known now come back as a Response
/// that is already completed with success 0: -186 for a NULL producer (or
/// one inherited across fork), a NULL, empty or non-UTF-8 topic, a NULL
/// pointer with a non-zero length or a length above SIZE_MAX/2; 10 for a
/// key plus value larger than message.max.bytes; -184 when
/// queue.buffering.max.messages or .kbytes is reached; -197 once the
/// producer is closed.
///
/// Returns NULL only when no Response can be made: 268,435,456 (2^28) are
/// held and not freed, or the library is being unloaded (the record is
/// then not queued). The caller owns the Response and
/// frees it with `response_free`, before or after it completes, before or
/// after the producer is closed or freed. Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_send(
    producer: *mut Producer,
    topic: *const c_char,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
) -> *mut Response {
    guard(std::ptr::null_mut(), || {
        // SAFETY: NULL or NUL-terminated / len-byte buffers, as documented.
        let args = unsafe { (c_str(topic, "topic"), c_bytes(key, key_len, "key"), c_bytes(value, value_len, "value")) };
        let Some(producer) = live_producer(producer) else { return failed_response(args.0.ok(), ErrorCode::INVALID_ARG) };
        let (Ok(topic), Ok(key), Ok(value)) = args else { return failed_response(args.0.ok(), ErrorCode::INVALID_ARG) };
        into_response(producer.send(topic, key, value))
    })
}

/// Queues the record `record` describes (see `RecordBuilder`) and returns
/// its delivery receipt at once, as `producer_send` does; everything is
/// copied, so the builder may be changed or reused as soon as this returns.
/// Failures known now come back as a completed Response, as for
/// `producer_send`: -186 also for a NULL record builder or one without a
/// topic; 10 when key, value and headers together exceed
/// message.max.bytes; -190 for a partition the topic does not have, when
/// its partitions are already known (else once they are).
///
/// NULL only as for `producer_send`. The caller owns the Response. Any thread
/// for the producer; the record builder's own thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_send_record(producer: *mut Producer, record: *mut RecordBuilder) -> *mut Response {
    guard(std::ptr::null_mut(), || {
        // SAFETY: NULL or a live record builder used by this thread, as documented.
        let Some(state) = (unsafe { borrow_tagged_mut(record) }) else { return failed_response(None, ErrorCode::INVALID_ARG) };
        let (topic, outgoing) = state.outgoing();
        match (live_producer(producer), topic) {
            (Some(producer), Some(topic)) => into_response(producer.send_record(topic, outgoing)),
            _ => failed_response(topic, ErrorCode::INVALID_ARG),
        }
    })
}

/// `producer_send` without a Response, for a program that does not look at
/// receipts (OpenEdge lets such responses be garbage-collected): nothing is
/// kept per record once it is delivered. Returns 0 when the record is
/// queued, or the code a Response would have carried at once: -186, 10,
/// -184, -190, -197. A later failure is counted: read the count with
/// `producer_no_receipt_failures` and the latest code with
/// `producer_no_receipt_last_error`. `producer_flush` and `producer_close`
/// wait for these records as for the others. Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_send_no_receipt(
    producer: *mut Producer,
    topic: *const c_char,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        let Some(producer) = live_producer(producer) else { return ErrorCode::INVALID_ARG.code() };
        // SAFETY: NULL or NUL-terminated / len-byte buffers, as documented.
        let args = unsafe { (c_str(topic, "topic"), c_bytes(key, key_len, "key"), c_bytes(value, value_len, "value")) };
        let (Ok(topic), Ok(key), Ok(value)) = args else { return ErrorCode::INVALID_ARG.code() };
        let record = Outgoing { key, value, headers: NO_HEADERS, partition: None, timestamp: 0 };
        producer.send_without_receipt(topic, record).code()
    })
}

/// `producer_send_record` without a Response: as `producer_send_no_receipt`
/// for the record a `RecordBuilder` describes. Any thread for the producer;
/// the record builder's own thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_send_record_no_receipt(producer: *mut Producer, record: *mut RecordBuilder) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        let Some(producer) = live_producer(producer) else { return ErrorCode::INVALID_ARG.code() };
        // SAFETY: NULL or a live record builder used by this thread, as documented.
        let Some(state) = (unsafe { borrow_tagged_mut(record) }) else { return ErrorCode::INVALID_ARG.code() };
        match state.outgoing() {
            (Some(topic), outgoing) => producer.send_without_receipt(topic, outgoing).code(),
            (None, _) => ErrorCode::INVALID_ARG.code(),
        }
    })
}

/// How many records sent without a Response have failed since the producer
/// was built (each after its retries, or with -192 after
/// message.timeout.ms, or -197 when closed before delivery). -186 for a
/// NULL producer (or one inherited across fork). Any thread.
#[no_mangle]
pub extern "C" fn producer_no_receipt_failures(producer: *const Producer) -> i64 {
    guard(ErrorCode::INVALID_ARG.code().into(), || match live_producer(producer) {
        Some(producer) => i64::try_from(producer.failed_without_receipt().0).unwrap_or(i64::MAX),
        None => ErrorCode::INVALID_ARG.code().into(),
    })
}

/// The code of the latest failure of a record sent without a Response (0
/// before any); its text is `ablkafka_err2str(code)`. -186 for a NULL
/// producer (or one inherited across fork). Any thread.
#[no_mangle]
pub extern "C" fn producer_no_receipt_last_error(producer: *const Producer) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || match live_producer(producer) {
        Some(producer) => producer.failed_without_receipt().1.code(),
        None => ErrorCode::INVALID_ARG.code(),
    })
}

/// Sends whatever is lingering now and waits until every message sent so
/// far has completed (delivered or failed), for at most `timeout_ms`
/// (-1, or any negative value: no limit; 0: do not wait). Returns 0 when
/// everything completed, -185 when the time ran out first, -186 for a NULL
/// producer (or one inherited across fork).
/// Like librdkafka's flush, it waits for messages other threads send
/// meanwhile too. Blocks the calling thread; any thread.
#[no_mangle]
pub extern "C" fn producer_flush(producer: *mut Producer, timeout_ms: i32) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        let Some(producer) = live_producer(producer) else { return ErrorCode::INVALID_ARG.code() };
        producer.flush(timeout_from_ms(timeout_ms)).code()
    })
}

/// Closes the producer: later sends fail with -197; it flushes for up to
/// `timeout_ms` (-1, or any negative value: no limit); every Response still
/// pending then completes with -197; its background thread is stopped and
/// joined before this returns. Returns 0 when everything completed within
/// the time, -185 otherwise, -186 for a NULL producer (or one inherited
/// across fork). A close while another is under way waits for it (within
/// its own `timeout_ms`) and returns what it returns, or -185; a close after
/// a close returns 0. Any thread.
/// The handle stays valid until `producer_free`; Responses stay readable.
#[no_mangle]
pub extern "C" fn producer_close(producer: *mut Producer, timeout_ms: i32) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        let Some(producer) = live_producer(producer) else { return ErrorCode::INVALID_ARG.code() };
        producer.close(timeout_from_ms(timeout_ms)).code()
    })
}

/// The latest producer-level error, readable by polling before any
/// Response fails: -187 (all brokers down) or -195 (a broker unreachable)
/// while brokers cannot be reached, -150 after a fatal error (idempotence
/// can no longer be guaranteed; every later send fails with -150), 0 once
/// the cluster answers again. -186 for a NULL producer (or one inherited
/// across fork). Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_error_code(producer: *const Producer) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        let Some(producer) = live_producer(producer) else { return ErrorCode::INVALID_ARG.code() };
        producer.status().code.code()
    })
}

/// Copies the text of the latest producer-level error (empty when
/// `producer_error_code` is 0) into `buf` as a NUL-terminated string,
/// truncated to `buf_len - 1` bytes, and returns the full text's length in
/// bytes, as snprintf does: call with `buf` NULL and `buf_len` 0 to learn
/// the size. The caller owns `buf` (an OpenEdge MEMPTR works). Returns 0
/// (and writes nothing) for a NULL producer or one inherited across fork.
/// Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_error_message(producer: *const Producer, buf: *mut c_char, buf_len: usize) -> usize {
    guard(0, || {
        let Some(producer) = live_producer(producer) else { return 0 };
        let text = producer.status().message;
        // SAFETY: the caller gave `buf_len` writable bytes at `buf`, or NULL.
        unsafe { write_c_text(&text, buf, buf_len) }
    })
}

/// Copies the latest statistics snapshot into `buf` as a NUL-terminated
/// string, truncated to `buf_len - 1` bytes, and returns the full text's
/// length in bytes, as snprintf does: call with `buf` NULL and `buf_len` 0
/// to learn the size (a snapshot is a few KiB, more with many partitions).
/// The snapshot is a JSON object with librdkafka's statistics fields for a
/// producer (see the README's Statistics section), built by the producer's
/// thread every `statistics.interval.ms`; the latest one is kept and may be
/// read any number of times. The caller owns `buf` (an OpenEdge MEMPTR
/// works). Returns 0 (and writes nothing) when statistics are off
/// (`statistics.interval.ms` 0, the default), before the first interval has
/// passed, and for a NULL producer or one inherited across fork. Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_statistics(producer: *const Producer, buf: *mut c_char, buf_len: usize) -> usize {
    guard(0, || {
        let Some(producer) = live_producer(producer) else { return 0 };
        let Some(text) = producer.statistics() else { return 0 };
        // SAFETY: the caller gave `buf_len` writable bytes at `buf`, or NULL.
        unsafe { write_c_text(&text, buf, buf_len) }
    })
}

/// Takes the oldest log line the producer kept for the application, when
/// it was built with `log.queue=true` (else lines go to stderr, as
/// librdkafka's default logger writes them, and this returns 0). Writes
/// `FACILITY: message` into `buf` with the snprintf contract of
/// `producer_error_message` (truncated to `buf_len - 1` bytes; the line is
/// taken either way; lines are rarely over 300 bytes) and returns its
/// syslog level, 1 to 7 (3 error, 4 warning, 6 info, 7 debug); 0 when no
/// line is waiting; -186 for a NULL producer or one inherited across fork.
/// The queue keeps the newest 10,000 lines; when older ones were dropped,
/// the next line read says how many. No callback: poll it. Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_log_next(producer: *const Producer, buf: *mut c_char, buf_len: usize) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        let Some(producer) = live_producer(producer) else { return ErrorCode::INVALID_ARG.code() };
        let Some(line) = producer.next_log_line() else { return 0 };
        // SAFETY: the caller gave `buf_len` writable bytes at `buf`, or NULL.
        unsafe { write_c_text(&format!("{}: {}", line.facility, line.message), buf, buf_len) };
        i32::from(line.level)
    })
}

/// Reads back the option `name` (or an alias) as this producer was built
/// with it: the value set, or librdkafka's default, in its canonical
/// spelling; a secret that was set (`sasl.password`, `ssl.key.password`,
/// `ssl.key.pem`) reads as `[redacted]`. Writes it into `buf` with the
/// snprintf contract of `producer_error_message` and returns its length in
/// bytes; -2 for a name that is not an option; -186 for a NULL producer or
/// name, a name that is not UTF-8, or a producer inherited across fork
/// (nothing written). Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_get_option(producer: *const Producer, name: *const c_char, buf: *mut c_char, buf_len: usize) -> i64 {
    guard(ErrorCode::INVALID_ARG.code().into(), || {
        let Some(state) = live_state(producer) else { return ErrorCode::INVALID_ARG.code().into() };
        // SAFETY: as documented: NULL or a C string, NULL or `buf_len` writable bytes.
        unsafe { read_option(&state.options, name, buf, buf_len) }
    })
}

/// Reads back a topic-level option as this producer uses it for `topic`
/// (OpenEdge's `GetTopicOption`): the topic's own value, else the
/// producer's, else the default. As `producer_get_option` otherwise; -2
/// also for a name that is not a topic-level option, -186 also for a NULL
/// or non-UTF-8 topic. Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_get_topic_option(
    producer: *const Producer,
    topic: *const c_char,
    name: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
) -> i64 {
    guard(ErrorCode::INVALID_ARG.code().into(), || {
        let Some(state) = live_state(producer) else { return ErrorCode::INVALID_ARG.code().into() };
        // SAFETY: as documented: NULL or C strings, NULL or `buf_len` writable bytes.
        unsafe { read_topic_option(&state.options, topic, name, buf, buf_len) }
    })
}

/// Frees the producer. If it was not closed, it is closed first without
/// waiting: Responses still pending complete with -197 (call
/// `producer_close` with a timeout first to deliver them). NULL is fine.
/// Must be the last call on this producer, made once, when no other thread
/// uses it; Responses outlive it. In a child process after fork() it only
/// forgets the child's copy of the parent's producer.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_free(producer: *mut Producer) {
    guard((), || {
        // SAFETY: NULL or a live producer no other thread uses, as documented.
        let Some(state) = (unsafe { take_tagged(producer) }) else { return };
        if fork::is_ours(state.generation) {
            drop(state);
        } else {
            // The parent's thread does not exist here: closing would join it forever.
            // Kept, not dropped; reachable, so leak checkers do not count it as lost.
            INHERITED.locked().push(state);
        }
    })
}
