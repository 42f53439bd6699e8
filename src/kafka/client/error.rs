//! Why a broker or a request failed: the client's two error types, apart
//! from the I/O that produces them, so that pure code (the producer's
//! decisions) and every layer of the client can name them.

use crate::kafka::error::ErrorCode;

/// Why a broker could not be used: a code for the receipts and a detail
/// for the producer's status (`producer_error_message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerError {
    pub code: ErrorCode,
    pub detail: String,
}

impl BrokerError {
    pub fn new(code: ErrorCode, address: &str, what: impl std::fmt::Display) -> Self {
        BrokerError { code, detail: format!("{address}: {what}") }
    }
}

/// Why a request failed, and whether any of it may have reached the broker:
/// a request never written cannot have been stored, one written may have
/// been, although its answer was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFailure {
    pub code: ErrorCode,
    pub written: bool,
}

impl RequestFailure {
    pub(super) fn not_written(code: ErrorCode) -> Self {
        RequestFailure { code, written: false }
    }

    pub(super) fn written(code: ErrorCode) -> Self {
        RequestFailure { code, written: true }
    }
}
