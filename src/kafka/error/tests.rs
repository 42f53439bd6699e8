//! Tests of the error table: every code's name and message as librdkafka's, the
//! table's order, and the classifications (retriable, metadata refresh).

use super::codes::CONST_IDENTS;
use super::*;

fn check(code: i32, name: &str, message: &str) {
    let e = ErrorCode(code);
    assert!(e.is_known(), "{code} should be known");
    assert_eq!(e.name(), name, "name of {code}");
    assert_eq!(e.message(), message, "message of {code}");
}

#[test]
fn librdkafka_texts() {
    check(-192, "_MSG_TIMED_OUT", "Local: Message timed out");
    check(-184, "_QUEUE_FULL", "Local: Queue full");
    check(-186, "_INVALID_ARG", "Local: Invalid argument or configuration");
    check(-185, "_TIMED_OUT", "Local: Timed out");
    check(-197, "_DESTROY", "Local: Broker handle destroyed for termination");
    check(-195, "_TRANSPORT", "Local: Broker transport failure");
    check(-199, "_BAD_MSG", "Local: Bad message format");
    check(-191, "_PARTITION_EOF", "Broker: No more messages");
    check(-150, "_FATAL", "Local: Fatal error");
    check(-137, "_DESTROY_BROKER", "Local: Broker handle destroyed without termination");
    check(-1, "UNKNOWN", "Unknown broker error");
    check(0, "NO_ERROR", "Success");
    check(1, "OFFSET_OUT_OF_RANGE", "Broker: Offset out of range");
    check(3, "UNKNOWN_TOPIC_OR_PART", "Broker: Unknown topic or partition");
    check(10, "MSG_SIZE_TOO_LARGE", "Broker: Message size too large");
    check(13, "NETWORK_EXCEPTION", "Broker: Broker disconnected before response received");
    check(46, "DUPLICATE_SEQUENCE_NUMBER", "Broker: Broker received a duplicate sequence number");
    check(76, "UNSUPPORTED_COMPRESSION_TYPE", "Broker: Unsupported compression type");
    check(133, "SHARE_SESSION_LIMIT_REACHED", "Broker: The limit of share sessions has been reached");
}

#[test]
fn constants() {
    assert_eq!(ErrorCode::NO_ERROR, ErrorCode(0));
    assert_eq!(ErrorCode::MSG_TIMED_OUT, ErrorCode(-192));
    assert_eq!(ErrorCode::QUEUE_FULL, ErrorCode(-184));
    assert_eq!(ErrorCode::INVALID_ARG, ErrorCode(-186));
    assert_eq!(ErrorCode::TIMED_OUT, ErrorCode(-185));
    assert_eq!(ErrorCode::DESTROY, ErrorCode(-197));
    assert_eq!(ErrorCode::TRANSPORT, ErrorCode(-195));
    assert_eq!(ErrorCode::UNKNOWN_TOPIC, ErrorCode(-188));
    assert_eq!(ErrorCode::UNKNOWN_PARTITION, ErrorCode(-190));
    assert_eq!(ErrorCode::FATAL, ErrorCode(-150));
    assert_eq!(ErrorCode::STATE, ErrorCode(-172));
    assert_eq!(ErrorCode::NOT_IMPLEMENTED, ErrorCode(-170));
    assert_eq!(ErrorCode::UNSUPPORTED_FEATURE, ErrorCode(-165));
    assert_eq!(ErrorCode::INVALID_TYPE, ErrorCode(-154));
    assert_eq!(ErrorCode::PURGE_QUEUE, ErrorCode(-152));
    assert_eq!(ErrorCode::PURGE_INFLIGHT, ErrorCode(-151));
    assert_eq!(ErrorCode::UNKNOWN, ErrorCode(-1));
    assert_eq!(ErrorCode::MSG_SIZE_TOO_LARGE, ErrorCode(10));
    assert_eq!(ErrorCode::UNKNOWN_TOPIC_OR_PART, ErrorCode(3));
    assert_eq!(ErrorCode::NOT_LEADER_FOR_PARTITION, ErrorCode(6));
    assert_eq!(ErrorCode::NOT_LEADER_OR_FOLLOWER, ErrorCode(6));
    assert_eq!(ErrorCode::REQUEST_TIMED_OUT, ErrorCode(7));
    assert_eq!(ErrorCode::FENCED_LEADER_EPOCH, ErrorCode(74));
    assert_eq!(ErrorCode::UNKNOWN_LEADER_EPOCH, ErrorCode(75));
}

#[test]
fn table_shape() {
    assert_eq!(TABLE.len(), 188);
    assert_eq!(TABLE.first().unwrap().0, -199);
    assert_eq!(TABLE.last().unwrap().0, 133);
    for w in TABLE.windows(2) {
        assert!(w[0].0 < w[1].0, "not strictly ascending at {} / {}", w[0].0, w[1].0);
    }
    // all() mirrors the table, in the same order.
    assert_eq!(ErrorCode::all().len(), TABLE.len());
    for (c, e) in ErrorCode::all().iter().zip(TABLE) {
        assert_eq!(c.0, e.0);
    }
    // Names are unique.
    let mut names: Vec<&str> = TABLE.iter().map(|e| e.1).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), TABLE.len());
    // Every local code -199..=-137 is present; no gaps in that range.
    let locals: Vec<i32> = TABLE.iter().map(|e| e.0).filter(|&n| n < -1).collect();
    assert_eq!(locals, (-199..=-137).collect::<Vec<i32>>());
    // Broker codes 1..=97 are all present.
    for n in 1..=97 {
        assert!(ErrorCode(n).is_known(), "broker code {n} missing");
    }
}

#[test]
fn const_identifiers_match_names() {
    assert_eq!(CONST_IDENTS.len(), TABLE.len());
    for (&(ident, num), e) in CONST_IDENTS.iter().zip(TABLE) {
        assert_eq!(num, e.0);
        let expected = e.1.strip_prefix('_').unwrap_or(e.1);
        assert!(ident == expected || ident.strip_prefix("LOCAL_") == Some(expected), "const {ident} does not match name {}", e.1);
    }
}

#[test]
fn name_and_message_prefixes() {
    for &(n, name, msg) in TABLE {
        let e = ErrorCode(n);
        if n < -1 {
            assert!(e.is_local());
            assert!(name.starts_with('_'), "local name {name}");
            if n == -191 {
                // librdkafka quirk: _PARTITION_EOF is reported as a broker message.
                assert_eq!(msg, "Broker: No more messages");
            } else {
                assert!(msg.starts_with("Local: "), "local message of {n}: {msg}");
            }
        } else if n > 0 {
            assert!(e.is_broker());
            assert!(!name.starts_with('_'), "broker name {name}");
            assert!(msg.starts_with("Broker: "), "broker message of {n}: {msg}");
        } else {
            // -1 and 0 have no prefix.
            assert!(n == -1 || n == 0);
            assert!(!e.is_local() && !e.is_broker());
            assert!(!msg.starts_with("Local: ") && !msg.starts_with("Broker: "));
        }
    }
}

#[test]
fn from_kafka_mapping() {
    assert_eq!(ErrorCode::from_kafka(-1), ErrorCode::UNKNOWN);
    assert_eq!(ErrorCode::from_kafka(0), ErrorCode::NO_ERROR);
    assert!(ErrorCode::from_kafka(0).is_ok());
    assert_eq!(ErrorCode::from_kafka(10), ErrorCode::MSG_SIZE_TOO_LARGE);
    assert_eq!(ErrorCode::from_kafka(i16::MAX), ErrorCode(32767));
    // Negative wire codes other than -1 must not alias local errors.
    assert_eq!(ErrorCode::from_kafka(-192), ErrorCode::UNKNOWN);
    assert_eq!(ErrorCode::from_kafka(i16::MIN), ErrorCode::UNKNOWN);
    assert!(!ErrorCode::from_kafka(3).is_ok());
}

#[test]
fn unknown_codes() {
    for n in [-200, -100, -2, 98, 99, 101, 106, 134, 9999, i32::MIN, i32::MAX] {
        let e = ErrorCode(n);
        assert!(!e.is_known(), "{n} should be unknown");
        assert_eq!(e.name(), "ERR_UNKNOWN_CODE");
        assert_eq!(e.message(), "Unknown error code");
        assert!(!e.is_retriable());
        assert!(!e.needs_metadata_refresh());
    }
    assert_eq!(ErrorCode(9999).to_string(), "Unknown error code (ERR_UNKNOWN_CODE, 9999)");
}

#[test]
fn display() {
    assert_eq!(ErrorCode::MSG_TIMED_OUT.to_string(), "Local: Message timed out (_MSG_TIMED_OUT, -192)");
    assert_eq!(ErrorCode::MSG_SIZE_TOO_LARGE.to_string(), "Broker: Message size too large (MSG_SIZE_TOO_LARGE, 10)");
    assert_eq!(ErrorCode::NO_ERROR.to_string(), "Success (NO_ERROR, 0)");
}

#[test]
fn retriable_classification() {
    for c in [
        ErrorCode::TRANSPORT,
        ErrorCode::TIMED_OUT,
        ErrorCode::REQUEST_TIMED_OUT,
        ErrorCode::NOT_LEADER_FOR_PARTITION,
        ErrorCode::LEADER_NOT_AVAILABLE,
        ErrorCode::UNKNOWN_TOPIC_OR_PART,
        ErrorCode::NOT_ENOUGH_REPLICAS,
        ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ErrorCode::NETWORK_EXCEPTION,
        ErrorCode::KAFKA_STORAGE_ERROR,
        ErrorCode::NOT_COORDINATOR,
        ErrorCode::FENCED_LEADER_EPOCH,
        ErrorCode::UNKNOWN_LEADER_EPOCH,
    ] {
        assert!(c.is_retriable(), "{c} should be retriable");
    }
    for c in [
        ErrorCode::NO_ERROR,
        ErrorCode::UNKNOWN,
        ErrorCode::MSG_TIMED_OUT,
        ErrorCode::QUEUE_FULL,
        ErrorCode::INVALID_ARG,
        ErrorCode::DESTROY,
        ErrorCode::FATAL,
        ErrorCode::PURGE_QUEUE,
        ErrorCode::PURGE_INFLIGHT,
        ErrorCode::MSG_SIZE_TOO_LARGE,
        ErrorCode::BROKER_NOT_AVAILABLE,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
        ErrorCode::DUPLICATE_SEQUENCE_NUMBER,
        ErrorCode::INVALID_PRODUCER_EPOCH,
        ErrorCode::UNKNOWN_PRODUCER_ID,
        ErrorCode::RECORD_LIST_TOO_LARGE,
        ErrorCode::PRODUCER_FENCED,
        ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
        ErrorCode::INVALID_MSG,
        ErrorCode::INVALID_REQUIRED_ACKS,
    ] {
        assert!(!c.is_retriable(), "{c} should not be retriable");
    }
    // Every retriable code is a known code.
    let retriable: Vec<i32> = (-300..300).filter(|&n| ErrorCode(n).is_retriable()).collect();
    assert_eq!(retriable.len(), 32);
    assert!(retriable.iter().all(|&n| ErrorCode(n).is_known()));
}

#[test]
fn metadata_refresh_classification() {
    for n in [3, 5, 6, 74, 75, 13, -195] {
        assert!(ErrorCode(n).needs_metadata_refresh(), "{n}");
    }
    for n in [0, -1, 7, 10, 19, 20, -185, -192, -184] {
        assert!(!ErrorCode(n).needs_metadata_refresh(), "{n}");
    }
    // Every code that needs a refresh is known, and all broker ones are retriable.
    for n in -300..300 {
        let e = ErrorCode(n);
        if e.needs_metadata_refresh() {
            assert!(e.is_known());
            if e.is_broker() && n != 8 {
                assert!(e.is_retriable(), "{n}");
            }
        }
    }
}
