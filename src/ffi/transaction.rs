//! `Producer`'s transaction calls (OpenEdge's KafkaTransactionalProducer):
//! init, begin, send offsets, commit, abort, and what the last failure
//! means. Each blocks its calling thread, never longer than its timeout,
//! and returns 0 or librdkafka's code for the same case.

use std::ffi::c_char;
use std::time::Duration;

use super::boundary::{c_str, guard, write_c_text};
use super::producer::{live_producer, Producer};
use super::txn_offsets::{live_offsets, TxnOffsets};
use crate::kafka::error::ErrorCode;
use crate::kafka::producer::{GroupOffset, Producer as CoreProducer, TxnError};

const INVALID_ARG: i32 = ErrorCode::INVALID_ARG.0;

/// `producer_transaction_error_class`: no failure, or one that is none of
/// the three classes below (a call in the wrong state, a bad argument).
pub const ABLKAFKA_TXN_ERROR_NONE: i32 = 0;
/// Retriable: call the same function again (librdkafka's
/// `rd_kafka_error_is_retriable`).
#[allow(dead_code)] // a name for C: the number is ErrorClass's
pub const ABLKAFKA_TXN_ERROR_RETRIABLE: i32 = 1;
/// The transaction must be aborted with `producer_abort_transaction`
/// (`rd_kafka_error_txn_requires_abort`); then the producer goes on.
#[allow(dead_code)] // a name for C: the number is ErrorClass's
pub const ABLKAFKA_TXN_ERROR_ABORTABLE: i32 = 2;
/// Fatal: the producer can only be closed (`rd_kafka_error_is_fatal`).
#[allow(dead_code)] // a name for C: the number is ErrorClass's
pub const ABLKAFKA_TXN_ERROR_FATAL: i32 = 3;

/// A transaction call's timeout: -1 is the call's default
/// (transaction.timeout.ms), below -1 is refused.
enum Timeout {
    Default,
    Limit(Duration),
}

fn timeout(timeout_ms: i32) -> Option<Timeout> {
    match timeout_ms {
        -1 => Some(Timeout::Default),
        ms if ms >= 0 => Some(Timeout::Limit(Duration::from_millis(ms as u64))),
        _ => None,
    }
}

/// Runs a transaction call on a live producer with its timeout checked;
/// the call's code. -186 for a NULL producer (or one inherited across
/// fork), and for a timeout below -1 (the reason kept for
/// `producer_transaction_error_message`).
fn transaction_call(
    producer: *mut Producer,
    timeout_ms: i32,
    call: impl FnOnce(&CoreProducer, Option<Duration>) -> Result<(), TxnError>,
) -> i32 {
    guard(INVALID_ARG, || {
        let Some(producer) = live_producer(producer) else { return INVALID_ARG };
        let limit = match timeout(timeout_ms) {
            Some(Timeout::Default) => None,
            Some(Timeout::Limit(limit)) => Some(limit),
            None => {
                return producer.transaction_argument_refused(format!("timeout_ms {timeout_ms}: must be -1 (the default) or more")).code.0
            }
        };
        code_of(call(producer, limit))
    })
}

fn code_of(result: Result<(), TxnError>) -> i32 {
    result.map_or_else(|e| e.code.0, |()| 0)
}

/// Initializes the transactional producer (`transactional.id` set): finds
/// the transaction coordinator and takes a producer id and epoch, fencing
/// any older producer with the same transactional.id and completing its
/// open transaction. Call once, before the first transaction.
///
/// Blocks for at most `timeout_ms` (-1: twice `transaction.timeout.ms`, as
/// librdkafka). Returns 0; -185 when the time ran out (retriable: call it
/// again, and it waits for the same work); -145 without transactional.id;
/// -172 when already initialized; -173 while another transaction call is
/// under way or must be called again first; -144 fenced, -165 when the
/// cluster offers no InitProducerId, or another fatal code (class 3);
/// -186 for a NULL producer or a timeout below -1.
/// The reason: `producer_transaction_error_message`. Any thread; one
/// transaction call at a time.
#[no_mangle]
pub extern "C" fn producer_init_transactions(producer: *mut Producer, timeout_ms: i32) -> i32 {
    transaction_call(producer, timeout_ms, |p, limit| p.init_transactions(limit))
}

/// Opens a transaction: records sent from now on belong to it, until
/// commit or abort. Sends outside a transaction fail their Response with
/// -172. Does not block. Returns 0; -172 when not initialized or a
/// transaction is open; the abortable or fatal error while there is one;
/// -145 without transactional.id; -186 for a NULL producer. Any thread.
#[no_mangle]
pub extern "C" fn producer_begin_transaction(producer: *mut Producer) -> i32 {
    transaction_call(producer, -1, |p, _| p.begin_transaction())
}

/// OpenEdge's SendOffsetToTransaction: commits one offset of consumer
/// group `group_id` with the transaction, as
/// `producer_send_offsets_to_transaction` with a one-entry list.
/// `group_id` and `topic` are copied; `partition` and `offset` must be 0
/// or more (-186 otherwise, nothing sent).
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_send_offset_to_transaction(
    producer: *mut Producer,
    group_id: *const c_char,
    topic: *const c_char,
    partition: i32,
    offset: i64,
    timeout_ms: i32,
) -> i32 {
    transaction_call(producer, timeout_ms, |p, limit| {
        // SAFETY: NULL or NUL-terminated strings, as documented.
        let (group, topic) = unsafe { (c_str(group_id, "group_id").unwrap_or(""), c_str(topic, "topic").unwrap_or("")) };
        p.send_offsets_to_transaction(group, &[GroupOffset { topic: topic.to_owned(), partition, offset }], limit)
    })
}

/// OpenEdge's SendOffsetsToTransaction: commits every offset in `offsets`
/// (built with `txn_offsets_add`) for consumer group `group_id` with the
/// transaction, in one AddOffsetsToTxn and one TxnOffsetCommit (to the
/// group's coordinator). An empty list sends nothing and returns 0, as
/// librdkafka. The list and `group_id` are copied; the caller keeps them.
///
/// Blocks for at most `timeout_ms` (-1: `transaction.timeout.ms`). Returns
/// 0; -185 (retriable) when the time ran out; -172 outside a transaction;
/// the transaction's abortable error (class 2: abort) or a fatal one
/// (class 3); -173 while another transaction call is under way; -186 for
/// a NULL producer or list, a NULL or empty `group_id`, or a timeout below
/// -1. Any thread; one transaction call at a time.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_send_offsets_to_transaction(
    producer: *mut Producer,
    offsets: *const TxnOffsets,
    group_id: *const c_char,
    timeout_ms: i32,
) -> i32 {
    transaction_call(producer, timeout_ms, |p, limit| {
        let Some(list) = live_offsets(offsets) else {
            return Err(p.transaction_argument_refused("offsets is NULL (or not a TxnOffsets list)".into()));
        };
        // SAFETY: NULL or a NUL-terminated string, as documented.
        let group = unsafe { c_str(group_id, "group_id") }.unwrap_or("");
        p.send_offsets_to_transaction(group, list, limit)
    })
}

/// Commits the transaction: first sends whatever lingers and waits for
/// every record of it, then ends it at the coordinator (EndTxn).
///
/// Blocks for at most `timeout_ms` (-1: `transaction.timeout.ms`). Returns
/// 0 (committed; the records become visible to read_committed consumers);
/// -185 (retriable) when the time ran out: call it again, and it resumes
/// the same commit; the code of a record that failed, or of the
/// coordinator's refusal, with class 2 (the transaction must be aborted);
/// a fatal code (class 3); -165 when the broker has no EndTxn (retriable,
/// as librdkafka); -172 without an open transaction; -173 while another
/// transaction call is under way or must be called again first; -186 for
/// a NULL producer or a timeout below -1. Any thread; one transaction call
/// at a time.
#[no_mangle]
pub extern "C" fn producer_commit_transaction(producer: *mut Producer, timeout_ms: i32) -> i32 {
    transaction_call(producer, timeout_ms, |p, limit| p.commit_transaction(limit))
}

/// Aborts the transaction: its records not yet sent fail their Responses
/// with -152 (`_PURGE_QUEUE`); those in flight are waited for (one that
/// would be retried fails with -151, `_PURGE_INFLIGHT`); then the
/// coordinator ends it, and when the broker lost the producer's state a
/// new epoch is taken. The producer then takes a new transaction.
///
/// Blocks for at most `timeout_ms` (-1: `transaction.timeout.ms`). Returns
/// 0; -185 (retriable: call it again to resume); a fatal code (class 3);
/// -172 without an open transaction; -173 while another transaction call
/// is under way or must be called again first; -186 for a NULL producer or
/// a timeout below -1. Any thread; one transaction call at a time.
#[no_mangle]
pub extern "C" fn producer_abort_transaction(producer: *mut Producer, timeout_ms: i32) -> i32 {
    transaction_call(producer, timeout_ms, |p, limit| p.abort_transaction(limit))
}

/// What the last failed transaction call's error means
/// (`ABLKAFKA_TXN_ERROR_NONE`, 0, after a success): 1 retriable (call the
/// same function again, e.g. a commit that timed out), 2 the transaction
/// must be aborted (`producer_abort_transaction`), 3 fatal (the producer
/// can only be closed); 0 too for an error that is none of these (a call
/// in the wrong state, a bad argument). librdkafka's `rd_kafka_error_is_retriable`,
/// `rd_kafka_error_txn_requires_abort` and `rd_kafka_error_is_fatal`.
/// -186 for a NULL producer. Any thread.
#[no_mangle]
pub extern "C" fn producer_transaction_error_class(producer: *const Producer) -> i32 {
    guard(INVALID_ARG, || match live_producer(producer) {
        Some(p) => p.transaction_error().and_then(|e| e.class).map_or(ABLKAFKA_TXN_ERROR_NONE, |class| class as i32),
        None => INVALID_ARG,
    })
}

/// Copies the reason of the last failed transaction call (empty after a
/// success) into `buf` as a NUL-terminated string, truncated to
/// `buf_len - 1` bytes, and returns the full text's length, as snprintf
/// does (`buf` NULL and `buf_len` 0 to learn the size). 0 for a NULL
/// producer. Any thread.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn producer_transaction_error_message(producer: *const Producer, buf: *mut c_char, buf_len: usize) -> usize {
    guard(0, || {
        let Some(p) = live_producer(producer) else { return 0 };
        let text = p.transaction_error().map(|e| e.message).unwrap_or_default();
        // SAFETY: the caller gave `buf_len` writable bytes at `buf`, or NULL.
        unsafe { write_c_text(&text, buf, buf_len) }
    })
}
