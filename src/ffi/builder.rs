//! `ProducerBuilder`: options by librdkafka name, then `build`.

use std::ffi::{c_char, CString};

use super::boundary::{c_str, guard};
use super::handle::{borrow, borrow_mut, box_into_handle, free_box, Castable, OwnedBox};
use super::producer::Producer;
use crate::kafka::config::ConfigBuilder;
use crate::kafka::error::ErrorCode;
use crate::kafka::producer::Producer as CoreProducer;

/// Collects producer options before `producer_builder_build`.
///
/// Owner: the caller, from `producer_builder_new` until `producer_builder_free`
/// (building does not consume it). Not thread-safe: use one builder from one
/// thread at a time.
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
}

impl Castable for ProducerBuilder {
    type Ownership = OwnedBox;
    type RustType = BuilderState;
}

/// Creates a builder with librdkafka's defaults. Returns NULL only if memory
/// runs out. Free it with `producer_builder_free`.
#[no_mangle]
pub extern "C" fn producer_builder_new() -> *mut ProducerBuilder {
    guard(std::ptr::null_mut(), || box_into_handle::<ProducerBuilder>(BuilderState { options: ConfigBuilder::new(), last_error: None }))
}

/// Sets one option by librdkafka name or alias, e.g. ("compression.codec", "lz4").
///
/// Returns 0, or: -2 for an unknown name, -1 for an invalid value (the value
/// is not kept), -186 when an argument is NULL or not UTF-8. On failure
/// `producer_builder_last_error` says why, naming the option.
/// The strings are copied; the caller keeps ownership of them.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_set_option(builder: *mut ProducerBuilder, name: *const c_char, value: *const c_char) -> i32 {
    guard(ErrorCode::INVALID_ARG.code(), || {
        // SAFETY: NULL or a live builder used by one thread, as documented.
        let Some(state) = (unsafe { borrow_mut(builder) }) else { return ErrorCode::INVALID_ARG.code() };
        // SAFETY: NULL or NUL-terminated strings, as documented.
        let (name, value) = match unsafe { (c_str(name, "option name"), c_str(value, "option value")) } {
            (Ok(n), Ok(v)) => (n, v),
            (Err(e), _) | (_, Err(e)) => return state.fail(ErrorCode::INVALID_ARG.code(), &e.describe()),
        };
        match state.options.set(name, value) {
            Ok(()) => {
                state.last_error = None;
                0
            }
            Err(e) => state.fail(e.code(), e.message()),
        }
    })
}

/// The text of the builder's last failure, or NULL if the last call
/// succeeded. Valid until the next call on this builder or its free; do not
/// free it. NULL for a NULL builder.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_last_error(builder: *const ProducerBuilder) -> *const c_char {
    guard(std::ptr::null(), || {
        // SAFETY: NULL or a live builder, as documented.
        let state = unsafe { borrow(builder) };
        state.and_then(|s| s.last_error.as_ref()).map_or(std::ptr::null(), |e| e.as_ptr())
    })
}

/// Builds a producer from the builder's options and starts its background
/// thread. Returns NULL on failure (missing bootstrap.servers, conflicting
/// options, no thread could be started), with the reason in
/// `producer_builder_last_error`. The builder is not consumed: free it with
/// `producer_builder_free` whenever convenient, and it may build again.
/// Free the producer with `producer_free` (after `producer_close` if you want
/// its queued messages delivered).
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_build(builder: *mut ProducerBuilder) -> *mut Producer {
    guard(std::ptr::null_mut(), || {
        // SAFETY: NULL or a live builder used by one thread, as documented.
        let Some(state) = (unsafe { borrow_mut(builder) }) else { return std::ptr::null_mut() };
        let config = match state.options.build() {
            Ok(c) => c,
            Err(e) => {
                state.fail(e.code(), e.message());
                return std::ptr::null_mut();
            }
        };
        match CoreProducer::start(config) {
            Ok(producer) => {
                state.last_error = None;
                box_into_handle::<Producer>(producer)
            }
            Err(message) => {
                state.fail(ErrorCode::FAIL.code(), &message);
                std::ptr::null_mut()
            }
        }
    })
}

/// Frees a builder. NULL is fine. Producers built from it are unaffected.
/// Must not be called twice for the same builder.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_builder_free(builder: *mut ProducerBuilder) {
    guard((), || {
        // SAFETY: NULL or a live builder, not used afterwards, as documented.
        unsafe { free_box(builder) }
    })
}
