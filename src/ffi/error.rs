//! Error codes and texts for C: every librdkafka code's name and message as
//! NUL-terminated strings, built once and never freed (they are static for
//! the life of the loaded library), and the version string.

use std::ffi::{c_char, CStr, CString};

use once_cell::sync::Lazy;

use super::boundary::guard;
use crate::kafka::error::ErrorCode;
use crate::kafka::topic_name::InvalidTopic;

struct CodeText {
    code: i32,
    name: CString,
    message: CString,
}

static TEXTS: Lazy<Vec<CodeText>> = Lazy::new(|| {
    ErrorCode::all().iter().map(|c| CodeText { code: c.code(), name: c_string(c.name()), message: c_string(c.message()) }).collect()
});

/// The core's texts for unknown codes, as static C strings (checked equal below).
static UNKNOWN_NAME: &CStr = c"ERR_UNKNOWN_CODE";
static UNKNOWN_MESSAGE: &CStr = c"Unknown error code";

fn c_string(text: &str) -> CString {
    CString::new(text).expect("error texts contain no NUL")
}

fn lookup(code: i32) -> Option<&'static CodeText> {
    TEXTS.binary_search_by_key(&code, |t| t.code).ok().map(|i| &TEXTS[i])
}

/// Why a topic name was refused, as static C strings in `InvalidTopic::ALL`'s order.
static INVALID_TOPIC_REASONS: Lazy<Vec<CString>> = Lazy::new(|| InvalidTopic::ALL.iter().map(|r| c_string(r.reason())).collect());

/// The reason a topic was refused, as a static C string.
pub(crate) fn invalid_topic_ptr(reason: InvalidTopic) -> *const c_char {
    INVALID_TOPIC_REASONS[reason.index()].as_ptr()
}

/// The message for `code`, as a static C string.
pub(crate) fn message_ptr(code: ErrorCode) -> *const c_char {
    lookup(code.code()).map_or(UNKNOWN_MESSAGE.as_ptr(), |t| t.message.as_ptr())
}

/// The human-readable message for an error code, e.g. -192 gives
/// "Local: Message timed out" (librdkafka's rd_kafka_err2str text).
/// Unknown codes give "Unknown error code".
///
/// The string is static: never free it. Any thread.
#[no_mangle]
pub extern "C" fn ablkafka_err2str(code: i32) -> *const c_char {
    guard(UNKNOWN_MESSAGE.as_ptr(), || message_ptr(ErrorCode(code)))
}

/// The symbolic name of an error code, e.g. -192 gives "_MSG_TIMED_OUT"
/// (librdkafka's rd_kafka_err2name text). Unknown codes give "ERR_UNKNOWN_CODE".
///
/// The string is static: never free it. Any thread.
#[no_mangle]
pub extern "C" fn ablkafka_err2name(code: i32) -> *const c_char {
    guard(UNKNOWN_NAME.as_ptr(), || lookup(code).map_or(UNKNOWN_NAME.as_ptr(), |t| t.name.as_ptr()))
}

/// The library's version, e.g. "0.1.0": Cargo.toml's version, equal to
/// ABLKAFKA_VERSION in the header the library was built with.
///
/// The string is static: never free it. Any thread.
#[no_mangle]
pub extern "C" fn ablkafka_version() -> *const c_char {
    guard(VERSION.as_ptr(), || VERSION.as_ptr())
}

static VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => panic!("the version has no NUL"),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::error::{UNKNOWN_CODE_MESSAGE, UNKNOWN_CODE_NAME};

    fn text(ptr: *const c_char) -> &'static str {
        #[allow(unsafe_code)]
        // SAFETY: these functions return static NUL-terminated strings.
        unsafe { CStr::from_ptr(ptr) }.to_str().unwrap()
    }

    #[test]
    fn texts_match_the_core_table() {
        assert_eq!(UNKNOWN_NAME.to_str().unwrap(), UNKNOWN_CODE_NAME);
        assert_eq!(UNKNOWN_MESSAGE.to_str().unwrap(), UNKNOWN_CODE_MESSAGE);
        assert_eq!(text(ablkafka_err2str(-192)), "Local: Message timed out");
        assert_eq!(text(ablkafka_err2name(-192)), "_MSG_TIMED_OUT");
        assert_eq!(text(ablkafka_err2str(10)), "Broker: Message size too large");
        assert_eq!(text(ablkafka_err2name(12345)), UNKNOWN_CODE_NAME);
        assert_eq!(text(ablkafka_version()), env!("CARGO_PKG_VERSION"));
        for code in ErrorCode::all() {
            assert_eq!(text(ablkafka_err2str(code.code())), code.message());
        }
    }
}
