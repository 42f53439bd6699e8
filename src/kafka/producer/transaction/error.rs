//! What a transaction call's failure means for the application, as
//! librdkafka's `rd_kafka_error_t` tells it: retriable (call the same
//! function again), the transaction must be aborted, or fatal (the producer
//! can only be closed); and how each coordinator answer is treated, from
//! librdkafka's handlers in `rdkafka_txnmgr.c`.

use std::fmt;
use std::time::Duration;

use crate::kafka::error::ErrorCode;

/// What the application may do after a failed transaction call. The
/// numbers are `producer_transaction_error_class`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Call the same function again (a timeout, a conflicting call).
    Retriable = 1,
    /// Only `abort_transaction` helps; then the producer goes on.
    Abortable = 2,
    /// The producer can only be closed.
    Fatal = 3,
}

/// A failed transaction call: its class, its librdkafka code and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnError {
    /// None: an error that is none of the three (a call in the wrong state,
    /// a bad argument), to be fixed in the program.
    pub class: Option<ErrorClass>,
    pub code: ErrorCode,
    pub message: String,
}

impl TxnError {
    pub fn new(class: Option<ErrorClass>, code: ErrorCode, message: impl Into<String>) -> Self {
        TxnError { class, code, message: message.into() }
    }

    pub fn retriable(code: ErrorCode, message: impl Into<String>) -> Self {
        TxnError::new(Some(ErrorClass::Retriable), code, message)
    }

    pub fn abortable(code: ErrorCode, message: impl Into<String>) -> Self {
        TxnError::new(Some(ErrorClass::Abortable), code, message)
    }

    pub fn fatal(code: ErrorCode, message: impl Into<String>) -> Self {
        TxnError::new(Some(ErrorClass::Fatal), code, message)
    }

    /// A call that is not valid now (`_STATE`).
    pub fn state(message: impl Into<String>) -> Self {
        TxnError::new(None, ErrorCode::STATE, message)
    }
}

impl fmt::Display for TxnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The coordinator request an answer belongs to: they differ in a few codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinatorApi {
    InitProducerId,
    AddPartitionsToTxn,
    AddOffsetsToTxn,
    TxnOffsetCommit,
    EndTxn,
}

impl CoordinatorApi {
    pub fn name(self) -> &'static str {
        match self {
            CoordinatorApi::InitProducerId => "InitProducerId",
            CoordinatorApi::AddPartitionsToTxn => "AddPartitionsToTxn",
            CoordinatorApi::AddOffsetsToTxn => "AddOffsetsToTxn",
            CoordinatorApi::TxnOffsetCommit => "TxnOffsetCommit",
            CoordinatorApi::EndTxn => "EndTxn",
        }
    }
}

/// What to do with a coordinator's answer (or a failed exchange).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Done,
    /// The coordinator moved or is unreachable: find it again, then retry.
    FindCoordinator,
    /// Retry after this long.
    RetryAfter(Duration),
    /// The transaction must be aborted; with `bump`, the abort takes a new
    /// epoch first (KIP-360: the broker lost the producer's state).
    Abortable {
        bump: bool,
    },
    /// Fenced or refused for good: the producer is done.
    Fatal,
}

/// librdkafka's treatment of `code` in an answer to `api` (its handlers in
/// rdkafka_txnmgr.c and rdkafka_idempotence.c). `retry_backoff` is
/// retry.backoff.ms; AddPartitionsToTxn retries CONCURRENT_TRANSACTIONS
/// after 20 ms, as librdkafka does, since it is usually the previous
/// transaction's end still being written.
pub fn verdict(api: CoordinatorApi, code: ErrorCode, retry_backoff: Duration) -> Verdict {
    use CoordinatorApi::*;
    match code {
        ErrorCode::NO_ERROR => Verdict::Done,
        // Local failures: the request may or may not have arrived.
        ErrorCode::NOT_COORDINATOR
        | ErrorCode::COORDINATOR_NOT_AVAILABLE
        | ErrorCode::REQUEST_TIMED_OUT
        | ErrorCode::TRANSPORT
        | ErrorCode::TIMED_OUT
        | ErrorCode::ALL_BROKERS_DOWN => Verdict::FindCoordinator,
        ErrorCode::CONCURRENT_TRANSACTIONS if api == AddPartitionsToTxn => Verdict::RetryAfter(Duration::from_millis(20)),
        ErrorCode::COORDINATOR_LOAD_IN_PROGRESS | ErrorCode::CONCURRENT_TRANSACTIONS => Verdict::RetryAfter(retry_backoff),
        ErrorCode::UNKNOWN_TOPIC_OR_PART if api != InitProducerId && api != EndTxn => Verdict::RetryAfter(retry_backoff),
        ErrorCode::INVALID_PRODUCER_EPOCH
        | ErrorCode::PRODUCER_FENCED
        | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        | ErrorCode::CLUSTER_AUTHORIZATION_FAILED
        | ErrorCode::INVALID_TXN_STATE => Verdict::Fatal,
        ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT if matches!(api, AddOffsetsToTxn | TxnOffsetCommit) => Verdict::Fatal,
        ErrorCode::INVALID_PRODUCER_ID_MAPPING if api == TxnOffsetCommit => Verdict::Fatal,
        ErrorCode::UNKNOWN_PRODUCER_ID | ErrorCode::INVALID_PRODUCER_ID_MAPPING if api != InitProducerId => {
            Verdict::Abortable { bump: true }
        }
        // InitProducerId has no transaction to abort: what it cannot retry ends the producer.
        _ if api == InitProducerId => Verdict::Fatal,
        _ => Verdict::Abortable { bump: false },
    }
}

/// The error of a request `api` the broker does not offer (`request` its
/// name): `_UNSUPPORTED_FEATURE`, as librdkafka. Fatal for InitProducerId,
/// without which the producer cannot be transactional at all (librdkafka's
/// idempotence code raises it as the producer's fatal error); retriable for
/// the others, as librdkafka returns them, though only another broker helps.
pub fn unsupported(api: CoordinatorApi, request: &str) -> TxnError {
    let why = format!("{request}Request (KIP-98) not supported by broker");
    match api {
        CoordinatorApi::InitProducerId => TxnError::fatal(ErrorCode::UNSUPPORTED_FEATURE, why),
        _ => TxnError::retriable(ErrorCode::UNSUPPORTED_FEATURE, why),
    }
}

/// Whether `code` in an answer to `api` says the broker lost the
/// producer's state (KIP-360): the transaction's abort takes a new epoch.
pub fn bumps_epoch(api: CoordinatorApi, code: ErrorCode) -> bool {
    verdict(api, code, Duration::ZERO) == Verdict::Abortable { bump: true }
}

/// The code a fatal or abortable error is reported with: fencing is
/// `_FENCED`, as librdkafka normalizes it.
pub fn reported_code(code: ErrorCode) -> ErrorCode {
    match code {
        ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED => ErrorCode::FENCED,
        code => code,
    }
}

#[cfg(test)]
mod tests {
    use super::CoordinatorApi::*;
    use super::*;

    const BACKOFF: Duration = Duration::from_millis(100);

    #[test]
    fn librdkafkas_treatment_of_each_code() {
        let all = [InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn];
        for api in all {
            assert_eq!(verdict(api, ErrorCode::NO_ERROR, BACKOFF), Verdict::Done);
            for code in [ErrorCode::NOT_COORDINATOR, ErrorCode::COORDINATOR_NOT_AVAILABLE, ErrorCode::TRANSPORT] {
                assert_eq!(verdict(api, code, BACKOFF), Verdict::FindCoordinator, "{api:?} {code:?}");
            }
            assert_eq!(verdict(api, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS, BACKOFF), Verdict::RetryAfter(BACKOFF));
            for code in [ErrorCode::PRODUCER_FENCED, ErrorCode::INVALID_PRODUCER_EPOCH, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED] {
                assert_eq!(verdict(api, code, BACKOFF), Verdict::Fatal, "{api:?} {code:?}");
            }
        }
        assert_eq!(
            verdict(AddPartitionsToTxn, ErrorCode::CONCURRENT_TRANSACTIONS, BACKOFF),
            Verdict::RetryAfter(Duration::from_millis(20))
        );
        assert_eq!(verdict(EndTxn, ErrorCode::CONCURRENT_TRANSACTIONS, BACKOFF), Verdict::RetryAfter(BACKOFF));
        assert_eq!(verdict(AddPartitionsToTxn, ErrorCode::UNKNOWN_TOPIC_OR_PART, BACKOFF), Verdict::RetryAfter(BACKOFF));
        assert_eq!(verdict(AddPartitionsToTxn, ErrorCode::UNKNOWN_PRODUCER_ID, BACKOFF), Verdict::Abortable { bump: true });
        assert_eq!(verdict(EndTxn, ErrorCode::INVALID_PRODUCER_ID_MAPPING, BACKOFF), Verdict::Abortable { bump: true });
        assert_eq!(verdict(TxnOffsetCommit, ErrorCode::INVALID_PRODUCER_ID_MAPPING, BACKOFF), Verdict::Fatal);
        assert_eq!(verdict(AddPartitionsToTxn, ErrorCode::TOPIC_AUTHORIZATION_FAILED, BACKOFF), Verdict::Abortable { bump: false });
        assert_eq!(verdict(TxnOffsetCommit, ErrorCode::GROUP_AUTHORIZATION_FAILED, BACKOFF), Verdict::Abortable { bump: false });
        assert_eq!(verdict(InitProducerId, ErrorCode::INVALID_TRANSACTION_TIMEOUT, BACKOFF), Verdict::Fatal);
        let no_init = unsupported(InitProducerId, "InitProducerId");
        assert_eq!((no_init.code, no_init.class), (ErrorCode::UNSUPPORTED_FEATURE, Some(ErrorClass::Fatal)));
        let no_end = unsupported(EndTxn, "EndTxn");
        assert_eq!((no_end.code, no_end.class), (ErrorCode::UNSUPPORTED_FEATURE, Some(ErrorClass::Retriable)));
        assert_eq!(no_end.message, "EndTxnRequest (KIP-98) not supported by broker");
        assert!(bumps_epoch(EndTxn, ErrorCode::UNKNOWN_PRODUCER_ID));
        assert!(bumps_epoch(EndTxn, ErrorCode::INVALID_PRODUCER_ID_MAPPING));
        assert!(!bumps_epoch(EndTxn, ErrorCode::GROUP_AUTHORIZATION_FAILED));
        assert!(!bumps_epoch(EndTxn, ErrorCode::PRODUCER_FENCED));
        assert!(!bumps_epoch(InitProducerId, ErrorCode::UNKNOWN_PRODUCER_ID));
        assert_eq!(reported_code(ErrorCode::PRODUCER_FENCED), ErrorCode::FENCED);
        assert_eq!(reported_code(ErrorCode::INVALID_PRODUCER_EPOCH), ErrorCode::FENCED);
        assert_eq!(reported_code(ErrorCode::INVALID_TXN_STATE), ErrorCode::INVALID_TXN_STATE);
    }
}
