//! The C functions called from Rust, as a C program calls them (rustls-ffi
//! does the same): argument checks, tag checks, the snprintf contract and
//! the documented defaults, without a broker. No test here reaches the
//! network: producers point at a port where nothing listens, and are only
//! used for what completes at once.

use std::ffi::{c_char, c_void, CStr};
use std::ptr;

use super::builder::*;
use super::error::*;
use super::producer::*;
use super::record::*;
use super::response::*;

const INVALID_ARG: i32 = -186;

fn text(ptr: *const c_char) -> Option<String> {
    // SAFETY: the library returns NULL or a NUL-terminated static string.
    #[allow(unsafe_code)]
    (!ptr.is_null()).then(|| unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned())
}

fn builder_with(pairs: &[(&CStr, &CStr)]) -> *mut ProducerBuilder {
    let b = producer_builder_new();
    assert!(!b.is_null());
    for (name, value) in pairs {
        assert_eq!(producer_builder_set_option(b, name.as_ptr(), value.as_ptr()), 0, "{name:?}={value:?}");
    }
    b
}

/// A producer whose bootstrap server does not listen (port 1).
fn idle_producer() -> *mut Producer {
    let b = builder_with(&[(c"bootstrap.servers", c"127.0.0.1:1"), (c"message.timeout.ms", c"1000")]);
    let p = producer_builder_build(b);
    producer_builder_free(b);
    assert!(!p.is_null());
    p
}

#[test]
fn options_are_checked_at_set_and_build_and_the_reason_kept() {
    let b = producer_builder_new();
    assert_eq!(producer_builder_set_option(b, c"no.such.option".as_ptr(), c"1".as_ptr()), -2);
    assert!(text(producer_builder_last_error(b)).unwrap().contains("no.such.option"));
    assert_eq!(producer_builder_set_option(b, c"linger.ms".as_ptr(), c"-5".as_ptr()), -1);
    assert!(text(producer_builder_last_error(b)).unwrap().contains("linger.ms"));
    assert_eq!(producer_builder_set_option(b, c"linger.ms".as_ptr(), c"5".as_ptr()), 0);
    assert_eq!(text(producer_builder_last_error(b)), None, "a success clears the last error");
    assert_eq!(producer_builder_set_option(b, ptr::null(), c"5".as_ptr()), INVALID_ARG);
    assert_eq!(producer_builder_set_option(b, c"linger.ms".as_ptr(), ptr::null()), INVALID_ARG);
    assert_eq!(producer_builder_set_option(b, c"linger.ms".as_ptr(), c"\xff".as_ptr()), INVALID_ARG, "not UTF-8");
    // No bootstrap.servers: build refuses, and says why.
    assert!(producer_builder_build(b).is_null());
    assert!(text(producer_builder_last_error(b)).unwrap().contains("bootstrap.servers"));
    producer_builder_free(b);
}

#[test]
fn handles_of_the_wrong_kind_and_null_handles_are_refused() {
    let b = producer_builder_new();
    let as_producer = b.cast::<Producer>();
    assert_eq!(producer_flush(as_producer, 0), INVALID_ARG, "a builder is no producer");
    assert_eq!(producer_close(as_producer, 0), INVALID_ARG);
    assert_eq!(producer_error_code(as_producer), INVALID_ARG);
    producer_free(as_producer); // refused: the builder stays alive
    assert_eq!(producer_builder_set_option(b, c"linger.ms".as_ptr(), c"1".as_ptr()), 0, "the builder survived");

    let p = idle_producer();
    assert_eq!(producer_builder_set_option(p.cast(), c"linger.ms".as_ptr(), c"1".as_ptr()), INVALID_ARG, "a producer is no builder");
    assert!(producer_builder_build(p.cast()).is_null());
    producer_builder_free(p.cast()); // refused: the producer stays alive
    assert_eq!(producer_flush(p, 0), 0, "the producer survived");
    producer_free(p);
    producer_builder_free(b);

    assert_eq!(producer_flush(ptr::null_mut(), 0), INVALID_ARG);
    assert_eq!(producer_close(ptr::null_mut(), 0), INVALID_ARG);
    assert_eq!(producer_error_code(ptr::null()), INVALID_ARG);
    assert_eq!(producer_error_message(ptr::null(), ptr::null_mut(), 0), 0);
    assert_eq!(response_completed(ptr::null()), 0);
    assert_eq!(response_error_code(ptr::null()), INVALID_ARG);
    assert_eq!(response_offset(ptr::null()), -1);
    assert_eq!(response_partition(ptr::null()), -1);
    assert!(response_error_message(ptr::null()).is_null());
    producer_builder_free(ptr::null_mut());
    producer_free(ptr::null_mut());
    response_free(ptr::null_mut());
}

#[test]
fn a_response_or_a_small_integer_is_no_producer_or_builder_and_is_not_read() {
    // A Response handle is a number with a tag in its top byte: reading it
    // as a box would fault, so it must be refused before any read.
    let p = idle_producer();
    let r = producer_send(p, c"".as_ptr(), ptr::null(), 0, ptr::null(), 0);
    assert_eq!(response_error_code(r), INVALID_ARG);
    for not_a_box in [r.cast::<Producer>(), 8 as *mut Producer, 4095 as *mut Producer, (p as usize + 4) as *mut Producer] {
        assert_eq!(producer_flush(not_a_box, 0), INVALID_ARG);
        assert_eq!(producer_error_code(not_a_box), INVALID_ARG);
        assert_eq!(producer_builder_set_option(not_a_box.cast(), c"linger.ms".as_ptr(), c"1".as_ptr()), INVALID_ARG);
        assert_eq!(record_builder_set_partition(not_a_box.cast(), 1), INVALID_ARG);
        producer_free(not_a_box);
        producer_builder_free(not_a_box.cast());
        record_builder_free(not_a_box.cast());
    }
    assert_eq!(response_error_code(r), INVALID_ARG, "the Response survived");
    assert_eq!(response_completed(p.cast()), 0, "a producer is no Response");
    response_free(p.cast());
    assert_eq!(producer_flush(p, 0), 0, "the producer survived");
    response_free(r);
    assert_eq!(response_completed(r), 0, "freed");
    producer_free(p);
}

#[test]
fn sends_refused_at_once_complete_with_their_code_and_reason() {
    let p = idle_producer();
    let refused = |r: *mut Response| {
        assert_eq!(response_completed(r), 1);
        assert_eq!(response_success(r), 0);
        assert_eq!((response_offset(r), response_timestamp(r)), (-1, -1));
        let out = (response_error_code(r), text(response_error_message(r)).unwrap());
        response_free(r);
        out
    };
    let (k, v) = (c"k".as_ptr().cast::<c_void>(), c"v".as_ptr().cast::<c_void>());
    assert_eq!(refused(producer_send(p, ptr::null(), k, 1, v, 1)).0, INVALID_ARG, "NULL topic");
    let (code, why) = refused(producer_send(p, c"".as_ptr(), k, 1, v, 1));
    assert_eq!((code, why.as_str()), (INVALID_ARG, "Invalid topic name: empty"));
    let (code, why) = refused(producer_send(p, c"a b".as_ptr(), k, 1, v, 1));
    assert_eq!(code, INVALID_ARG);
    assert!(why.contains("only ASCII letters"), "{why}");
    assert_eq!(refused(producer_send(p, c"t".as_ptr(), ptr::null(), 3, v, 1)).0, INVALID_ARG, "NULL key, length 3");
    assert_eq!(refused(producer_send(p, c"t".as_ptr(), k, 1, v, usize::MAX)).0, INVALID_ARG, "length SIZE_MAX");
    assert_eq!(refused(producer_send(ptr::null_mut(), c"t".as_ptr(), k, 1, v, 1)).0, INVALID_ARG, "NULL producer");
    let big = vec![7u8; 1_000_001];
    let (code, why) = refused(producer_send(p, c"t".as_ptr(), ptr::null(), 0, big.as_ptr().cast(), big.len()));
    assert_eq!((code, why.as_str()), (10, "Broker: Message size too large"));
    // Closed: later sends fail with -197; a close after a close returns 0.
    assert_eq!(producer_close(p, 0), 0);
    assert_eq!(refused(producer_send(p, c"t".as_ptr(), k, 1, v, 1)).0, -197);
    assert_eq!(producer_close(p, 0), 0);
    producer_free(p);
}

#[test]
fn the_error_message_follows_the_snprintf_contract() {
    let p = idle_producer();
    // The unreachable bootstrap server is reported within a connect attempt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while producer_error_code(p) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_ne!(producer_error_code(p), 0);
    let full = producer_error_message(p, ptr::null_mut(), 0);
    assert!(full > 10, "the size needed: {full}");
    let mut whole = vec![0x55 as c_char; full + 1];
    assert_eq!(producer_error_message(p, whole.as_mut_ptr(), whole.len()), full);
    assert_eq!(whole[full], 0, "NUL-terminated");
    let mut short = [0x55 as c_char; 8];
    assert_eq!(producer_error_message(p, short.as_mut_ptr(), short.len()), full, "the full length, truncated copy");
    assert_eq!(short[7], 0);
    assert_eq!(&short[..7], &whole[..7]);
    producer_free(p);
}

#[test]
fn codes_have_librdkafkas_names_and_the_version_is_cargos() {
    assert_eq!(text(ablkafka_err2name(-192)).as_deref(), Some("_MSG_TIMED_OUT"));
    assert_eq!(text(ablkafka_err2str(-192)).as_deref(), Some("Local: Message timed out"));
    assert_eq!(text(ablkafka_err2name(12345)).as_deref(), Some("ERR_UNKNOWN_CODE"));
    assert_eq!(text(ablkafka_version()).as_deref(), Some(env!("CARGO_PKG_VERSION")));
}

/// `producer_builder_get_option` or `producer_get_option` into a buffer of
/// `buf_len` bytes: (return value, what the buffer holds).
fn read_back(get: impl Fn(*const c_char, *mut c_char, usize) -> i64, name: &CStr, buf_len: usize) -> (i64, String) {
    let mut buf = vec![b'#' as c_char; buf_len.max(1)];
    let n = get(name.as_ptr(), if buf_len == 0 { ptr::null_mut() } else { buf.as_mut_ptr() }, buf_len);
    let held = match buf_len {
        0 => String::new(),
        _ => text(buf.as_ptr()).unwrap_or_default(),
    };
    (n, held)
}

#[test]
fn options_read_back_canonical_with_defaults_and_secrets_redacted() {
    let b = builder_with(&[
        (c"bootstrap.servers", c"127.0.0.1:1"),
        (c"security.protocol", c"SASL_PLAINTEXT"),
        (c"sasl.mechanisms", c"scram-sha-256"),
        (c"sasl.username", c"alice"),
        (c"sasl.password", c"hunter2"),
        (c"message.timeout.ms", c"1000"),
    ]);
    let from_builder = |name: *const c_char, buf: *mut c_char, len: usize| producer_builder_get_option(b, name, buf, len);
    assert_eq!(read_back(from_builder, c"security.protocol", 64), (14, "sasl_plaintext".into()));
    assert_eq!(read_back(from_builder, c"sasl.mechanism", 64), (13, "SCRAM-SHA-256".into()), "by its alias's canonical name");
    assert_eq!(read_back(from_builder, c"sasl.password", 64), (10, "[redacted]".into()));
    assert_eq!(read_back(from_builder, c"ssl.key.password", 64), (0, String::new()), "an unset secret is empty");
    assert_eq!(read_back(from_builder, c"linger.ms", 64), (1, "5".into()), "librdkafka's default");
    assert_eq!(read_back(from_builder, c"queue.buffering.max.ms", 64), (1, "5".into()), "an alias reads its option");
    assert_eq!(read_back(from_builder, c"no.such.option", 64).0, -2);
    // The snprintf contract: truncated with a NUL, the full length returned; NULL asks the length.
    assert_eq!(read_back(from_builder, c"security.protocol", 5), (14, "sasl".into()));
    assert_eq!(read_back(from_builder, c"security.protocol", 0), (14, String::new()));
    assert_eq!(producer_builder_get_option(b, ptr::null(), ptr::null_mut(), 0), i64::from(INVALID_ARG));
    assert_eq!(producer_builder_get_option(ptr::null(), c"linger.ms".as_ptr(), ptr::null_mut(), 0), i64::from(INVALID_ARG));
    assert_eq!(text(producer_builder_last_error(b)), None, "reading changed nothing");

    let p = producer_builder_build(b);
    assert!(!p.is_null(), "{:?}", text(producer_builder_last_error(b)));
    assert_eq!(producer_builder_set_option(b, c"linger.ms".as_ptr(), c"50".as_ptr()), 0);
    let from_producer = |name: *const c_char, buf: *mut c_char, len: usize| producer_get_option(p, name, buf, len);
    assert_eq!(read_back(from_producer, c"linger.ms", 64), (1, "5".into()), "the producer keeps what it was built with");
    assert_eq!(read_back(from_producer, c"sasl.password", 64), (10, "[redacted]".into()));
    assert_eq!(read_back(from_producer, c"sasl.username", 64), (5, "alice".into()));
    assert_eq!(read_back(from_producer, c"no.such.option", 64).0, -2);
    assert_eq!(producer_get_option(ptr::null(), c"linger.ms".as_ptr(), ptr::null_mut(), 0), i64::from(INVALID_ARG));
    assert_eq!(
        producer_get_option(b.cast(), c"linger.ms".as_ptr(), ptr::null_mut(), 0),
        i64::from(INVALID_ARG),
        "a builder is not a producer"
    );
    producer_builder_free(b);
    producer_free(p);
}

/// A Response failed with a broker's text reads "<code's text>: <text>",
/// the same pointer every time; one failed without a text reads the code's
/// static text, as before.
#[test]
fn a_failed_response_says_the_brokers_text_after_the_codes() {
    use crate::kafka::error::ErrorCode;
    use crate::kafka::receipt::{notify_completed, test_pending, FailureText, Wakeups};
    let mut wakeups = Wakeups::default();
    let (with, with_handle) = test_pending(1);
    with.fail(ErrorCode::INVALID_RECORD, FailureText::intern(ErrorCode::INVALID_RECORD, "ffi test: bad key"), &mut wakeups);
    let (without, without_handle) = test_pending(1);
    without.fail(ErrorCode::INVALID_RECORD, None, &mut wakeups);
    notify_completed(wakeups);
    let (r, plain) = (into_response(Some(with_handle)), into_response(Some(without_handle)));
    assert_eq!(text(response_error_message(r)).as_deref(), Some("Broker: Broker failed to validate record: ffi test: bad key"));
    assert_eq!(response_error_message(r), response_error_message(r), "one pointer");
    assert_eq!((response_error_code(r), response_timestamp(r), response_partition(r)), (87, -1, -1));
    assert_eq!(response_error_message(plain), ablkafka_err2str(87), "no text: the static code text");
    response_free(r);
    response_free(plain);
    assert!(response_error_message(r).is_null(), "freed: as NULL");
}
