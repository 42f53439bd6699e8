//! `ProducerBuilder`: options by librdkafka name, then `build`.

use std::ffi::{c_char, CString};

use super::boundary::{c_str, guard};
use super::fork;
use super::handle::{borrow_tagged, borrow_tagged_mut, tagged_into_handle, take_tagged, Castable, OwnedTaggedBox};
use super::options::{read_option, read_topic_option, ABLKAFKA_CONF_OK};
use super::producer::{Producer, ProducerState};
use crate::kafka::config::{ConfigBuilder, ConfigError};

use crate::kafka::error::ErrorCode;
use crate::kafka::producer::Producer as CoreProducer;

/// Collects producer options before `producer_builder_build`.
///
/// Owner: the caller, from `producer_builder_new` until `producer_builder_free`
/// (building does not consume it). Not thread-safe: use one builder from one
/// thread at a time (different builders on different threads are fine).
/// Strings it returns belong to it. Passing another kind of handle, or a
/// freed builder, is a caller error that the builder functions detect in
/// most cases (they then act as for NULL).
pub struct ProducerBuilder {
    _private: [u8; 0],
}

pub(crate) struct BuilderState {
    options: ConfigBuilder,
    last_error: Option<CString>,
}

impl BuilderState {
    fn fail(&mut self, code: i32, message: &str) -> i32 {
        self.last_error = CString::new(message.replace('\0', " ")).ok();
        code
    }

    /// 0 for a setting taken (the last error cleared), else its code with
    /// the reason kept for `producer_builder_last_error`.
    fn settle(&mut self, result: Result<(), ConfigError>) -> i32 {
        match result {
            Ok(()) => {
                self.last_error = None;
                ABLKAFKA_CONF_OK
            }
            Err(e) => self.fail(e.code(), e.message()),
        }
    }
}

impl Castable for ProducerBuilder {
    type Ownership = OwnedTaggedBox;
    type RustType = BuilderState;
    const TAG: u64 = u64::from_be_bytes(*b"ablkBLDR");
}

/// Creates a builder with librdkafka's defaults. Returns NULL only if memory
/// runs out. The caller owns it and frees it with `producer_builder_free`.
/// Any thread.
#[no_mangle]
pub extern "C" fn producer_builder_new() -> *mut ProducerBuilder {
    guard(std::ptr::null_mut(), || tagged_into_handle::<ProducerBuilder>(BuilderState { options: ConfigBuilder::new(), last_error: None }))
}

/// Sets one option by librdkafka name or alias, e.g. ("compression.codec", "lz4").
///
/// Returns 0, or: -2 for an unknown name, -1 for an invalid value (the value
/// is not kept), -186 when an argument is NULL or not UTF-8. On failure
/// `producer_builder_last_error` says why, naming the option.
/// The strings are copied; the caller keeps ownership of them.
/// The builder's thread only (see ProducerBuilder).
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_set_option(builder: *mut ProducerBuilder, name: *const c_char, value: *const c_char) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        // SAFETY: NULL or a live builder used by one thread, as documented.
        let Some(state) = (unsafe { borrow_tagged_mut(builder) }) else { return ErrorCode::INVALID_ARG.code() };
        // SAFETY: NULL or NUL-terminated strings, as documented.
        let (name, value) = match unsafe { (c_str(name, "option name"), c_str(value, "option value")) } {
            (Ok(n), Ok(v)) => (n, v),
            (Err(e), _) | (_, Err(e)) => return state.fail(ErrorCode::INVALID_ARG.code(), &e.describe()),
        };
        let result = state.options.set(name, value);
        state.settle(result)
    })
}

/// Sets a topic-level option for one topic only (OpenEdge's
/// `AddTopicConfiguration` with `SetTopicOption`): `acks` /
/// `request.required.acks`, `request.timeout.ms`, `message.timeout.ms` /
/// `delivery.timeout.ms`, `partitioner`, `compression.codec` /
/// `compression.type`, `compression.level`. Records of `topic` use these;
/// a topic without its own uses the producer's options (also settable
/// with a `topic.` prefix, as librdkafka's default topic configuration).
///
/// Returns 0, or: -2 for a name that is not a topic-level option (as
/// `rd_kafka_topic_conf_set`), -1 for an invalid value or a topic name
/// Kafka does not allow, -186 when an argument is NULL or not UTF-8; the
/// reason is in `producer_builder_last_error`. Nothing is kept on failure.
/// The strings are copied. The builder's thread only.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_set_topic_option(
    builder: *mut ProducerBuilder,
    topic: *const c_char,
    name: *const c_char,
    value: *const c_char,
) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        // SAFETY: NULL or a live builder used by one thread, as documented.
        let Some(state) = (unsafe { borrow_tagged_mut(builder) }) else { return ErrorCode::INVALID_ARG.code() };
        // SAFETY: NULL or NUL-terminated strings, as documented.
        let (topic, name, value) = match unsafe { (c_str(topic, "topic"), c_str(name, "option name"), c_str(value, "option value")) } {
            (Ok(t), Ok(n), Ok(v)) => (t, n, v),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return state.fail(ErrorCode::INVALID_ARG.code(), &e.describe()),
        };
        let result = state.options.set_topic(topic, name, value);
        state.settle(result)
    })
}

/// The text of the builder's last failure, or NULL if the last call
/// succeeded. Valid until the next call on this builder or its free; do not
/// free it (the builder owns it). NULL for a NULL builder.
/// The builder's thread only.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_last_error(builder: *const ProducerBuilder) -> *const c_char {
    guard(std::ptr::null(), || {
        // SAFETY: NULL or a live builder, as documented.
        let state = unsafe { borrow_tagged(builder) };
        state.and_then(|s| s.last_error.as_ref()).map_or(std::ptr::null(), |e| e.as_ptr())
    })
}

/// Reads back the option `name` (or an alias): the value set, or
/// librdkafka's default, in its canonical spelling (`SASL_SSL` reads as
/// `sasl_ssl`); a secret that was set reads as `[redacted]`. Writes it into
/// `buf` with the snprintf contract of `producer_error_message` (the caller
/// owns `buf`; NULL with `buf_len` 0 asks for the length) and returns its
/// length in bytes; -2 for a name that is not an option; -186 for a NULL
/// builder or name or a name that is not UTF-8 (nothing written). Changes
/// nothing, `producer_builder_last_error` included. The builder's thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_get_option(
    builder: *const ProducerBuilder,
    name: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
) -> i64 {
    guard(ErrorCode::INVALID_ARG.code().into(), || {
        // SAFETY: NULL or a live builder, as documented.
        let Some(state) = (unsafe { borrow_tagged(builder) }) else { return ErrorCode::INVALID_ARG.code().into() };
        // SAFETY: as documented: NULL or a C string, NULL or `buf_len` writable bytes.
        unsafe { read_option(&state.options, name, buf, buf_len) }
    })
}

/// Reads back a topic-level option as records of `topic` would use it: the
/// topic's own value, else the producer's, else librdkafka's default, in
/// its canonical spelling. The buffer contract and results are
/// `producer_builder_get_option`'s; -2 also for a name that is not a
/// topic-level option, -186 also for a NULL or non-UTF-8 topic. Changes
/// nothing. The builder's thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_get_topic_option(
    builder: *const ProducerBuilder,
    topic: *const c_char,
    name: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
) -> i64 {
    guard(ErrorCode::INVALID_ARG.code().into(), || {
        // SAFETY: NULL or a live builder, as documented.
        let Some(state) = (unsafe { borrow_tagged(builder) }) else { return ErrorCode::INVALID_ARG.code().into() };
        // SAFETY: as documented: NULL or C strings, NULL or `buf_len` writable bytes.
        unsafe { read_topic_option(&state.options, topic, name, buf, buf_len) }
    })
}

/// Builds a producer from the builder's options and starts its background
/// thread. Returns NULL on failure (missing bootstrap.servers, conflicting
/// options, no thread could be started), with the reason in
/// `producer_builder_last_error`. The builder is not consumed: free it with
/// `producer_builder_free` whenever convenient, and it may build again.
/// The caller owns the producer and frees it with `producer_free` (after
/// `producer_close` if its queued messages must be delivered). NULL, with
/// no reason, for a NULL builder. The builder's thread only; the producer
/// may then be used from any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_build(builder: *mut ProducerBuilder) -> *mut Producer {
    guard(std::ptr::null_mut(), || {
        // SAFETY: NULL or a live builder used by one thread, as documented.
        let Some(state) = (unsafe { borrow_tagged_mut(builder) }) else { return std::ptr::null_mut() };
        let config = match state.options.build() {
            Ok(c) => c,
            Err(e) => {
                state.fail(e.code(), e.message());
                return std::ptr::null_mut();
            }
        };
        let generation = fork::generation();
        match CoreProducer::start(config) {
            Ok(core) => {
                state.last_error = None;
                tagged_into_handle::<Producer>(ProducerState { core, options: state.options.clone(), generation })
            }
            Err(message) => {
                state.fail(ErrorCode::FAIL.code(), &message);
                std::ptr::null_mut()
            }
        }
    })
}

/// Frees a builder and the strings it returned. NULL is fine. Producers
/// built from it are unaffected. Must not be called twice for the same
/// builder, nor while another thread uses it.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_free(builder: *mut ProducerBuilder) {
    guard((), || {
        // SAFETY: NULL or a live builder, not used afterwards, as documented.
        drop(unsafe { take_tagged(builder) })
    })
}
