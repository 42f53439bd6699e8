//! Option read-back, as `producer_builder_get_option` and
//! `producer_get_option` (and their per-topic forms) give it: one place for
//! the builder's and the producer's shims, so neither imports the other.

use std::ffi::c_char;

use super::boundary::{c_str, write_c_text};
use crate::kafka::config::ConfigBuilder;
use crate::kafka::error::ErrorCode;

/// `producer_builder_set_option` and `_set_topic_option`: the option was set
/// (librdkafka's RD_KAFKA_CONF_OK).
pub const ABLKAFKA_CONF_OK: i32 = 0;
/// The value was refused (RD_KAFKA_CONF_INVALID); the reason is in
/// `producer_builder_last_error`.
#[allow(dead_code)] // a name for C: the number comes from ConfigError::code
pub const ABLKAFKA_CONF_INVALID: i32 = -1;
/// No such option, or not a topic-level one (RD_KAFKA_CONF_UNKNOWN); also
/// what the option read-back functions return for such a name.
pub const ABLKAFKA_CONF_UNKNOWN: i32 = -2;

/// The option read-back both `producer_builder_get_option` and
/// `producer_get_option` give.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string; `buf` is NULL or points to
/// `buf_len` writable bytes.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_option(options: &ConfigBuilder, name: *const c_char, buf: *mut c_char, buf_len: usize) -> i64 {
    // SAFETY: as the caller promises.
    let Ok(name) = (unsafe { c_str(name, "name") }) else { return ErrorCode::INVALID_ARG.code().into() };
    // SAFETY: as the caller promises.
    unsafe { write_value(options.get(name), buf, buf_len) }
}

/// `read_option` for a topic-level option of `topic`.
///
/// # Safety
/// As for `read_option`; `topic` is NULL or a NUL-terminated string.
#[allow(unsafe_code)]
pub(crate) unsafe fn read_topic_option(
    options: &ConfigBuilder,
    topic: *const c_char,
    name: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
) -> i64 {
    // SAFETY: as the caller promises.
    let (Ok(topic), Ok(name)) = (unsafe { (c_str(topic, "topic"), c_str(name, "name")) }) else {
        return ErrorCode::INVALID_ARG.code().into();
    };
    // SAFETY: as the caller promises.
    unsafe { write_value(options.get_topic(topic, name), buf, buf_len) }
}

/// Writes an option's value with the snprintf contract; -2 for None.
///
/// # Safety
/// `buf` is NULL or points to `buf_len` writable bytes.
#[allow(unsafe_code)]
unsafe fn write_value(value: Option<&str>, buf: *mut c_char, buf_len: usize) -> i64 {
    match value {
        Some(value) => {
            // SAFETY: as the caller promises.
            let length = unsafe { write_c_text(value, buf, buf_len) };
            i64::try_from(length).unwrap_or(i64::MAX)
        }
        None => i64::from(ABLKAFKA_CONF_UNKNOWN),
    }
}
