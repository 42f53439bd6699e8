//! The panic boundary every exported function runs inside, and the checked
//! readers of C strings and byte buffers.

use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; a panic becomes `on_panic` instead of unwinding into C.
pub(crate) fn guard<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Why a C argument was refused.
pub(crate) enum BadArgument {
    Null(&'static str),
    NotUtf8(&'static str),
    NullWithLength(&'static str),
    TooLong(&'static str),
}

impl BadArgument {
    pub(crate) fn describe(&self) -> String {
        match self {
            BadArgument::Null(what) => format!("{what} is NULL"),
            BadArgument::NotUtf8(what) => format!("{what} is not valid UTF-8"),
            BadArgument::NullWithLength(what) => format!("{what} is NULL but its length is not 0"),
            BadArgument::TooLong(what) => format!("{what} has a length above SIZE_MAX/2"),
        }
    }
}

/// Reads a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
#[allow(unsafe_code)]
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, what: &'static str) -> Result<&'a str, BadArgument> {
    if ptr.is_null() {
        return Err(BadArgument::Null(what));
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller promises.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    // Topic names are ASCII: a word-at-a-time check instead of full UTF-8
    // validation on every send (it showed in profiles of the send path).
    if bytes.is_ascii() {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).map_err(|_| BadArgument::NotUtf8(what))
}

/// Reads a (pointer, length) byte argument: NULL with length 0 is Kafka's
/// null, a non-NULL pointer with length 0 is empty. A length above
/// `isize::MAX` (SIZE_MAX/2) is refused before any slice is made: no
/// buffer is that large, and such a length is usually a negative number
/// from a caller that passes lengths as signed integers (ABL's INT64).
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that outlive `'a`.
#[allow(unsafe_code)]
pub(crate) unsafe fn c_bytes<'a>(ptr: *const c_void, len: usize, what: &'static str) -> Result<Option<&'a [u8]>, BadArgument> {
    if isize::try_from(len).is_err() {
        return Err(BadArgument::TooLong(what));
    }
    match (ptr.is_null(), len) {
        (true, 0) => Ok(None),
        (true, _) => Err(BadArgument::NullWithLength(what)),
        (false, 0) => Ok(Some(&[])),
        // SAFETY: non-NULL with `len` readable bytes, as the caller promises.
        (false, _) => Ok(Some(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })),
    }
}

/// Writes `text` into the caller's buffer as snprintf does: at most
/// `buf_len - 1` bytes and a NUL, nothing when `buf` is NULL or `buf_len`
/// is 0. Returns the full text's length in bytes.
///
/// # Safety
/// `buf` is NULL or points to `buf_len` writable bytes.
#[allow(unsafe_code)]
pub(crate) unsafe fn write_c_text(text: &str, buf: *mut c_char, buf_len: usize) -> usize {
    if !buf.is_null() && buf_len > 0 {
        let copied = text.len().min(buf_len - 1);
        // SAFETY: the caller gave `buf_len` writable bytes at `buf`.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), buf, copied);
            *buf.add(copied) = 0;
        }
    }
    text.len()
}

/// C's `timeout_ms`: negative means wait forever.
pub(crate) fn timeout_from_ms(timeout_ms: i32) -> Option<std::time::Duration> {
    u64::try_from(timeout_ms).ok().map(std::time::Duration::from_millis)
}
