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

/// The most of a broker's own text (an error message, a mechanism's name)
/// that reaches a log line, a Response or the producer's status;
/// librdkafka cuts such texts to a few hundred bytes too.
pub const BROKER_TEXT_MAX_BYTES: usize = 512;

/// A text a broker sent, made safe to show: control characters (a newline
/// that would forge a log line, an escape that would recolour a terminal)
/// become spaces, and it is cut to `BROKER_TEXT_MAX_BYTES` at a character
/// boundary, "..." marking the cut.
pub fn broker_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(BROKER_TEXT_MAX_BYTES));
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > BROKER_TEXT_MAX_BYTES - 3 {
            out.push_str("...");
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_text_is_cut_and_loses_its_control_characters() {
        assert_eq!(broker_text("Authentication failed: bad proof"), "Authentication failed: bad proof");
        assert_eq!(broker_text("line\n%3|FORGED|x\x1b[31mred\r\t"), "line %3|FORGED|x [31mred  ");
        let long = "é".repeat(20_000);
        let cut = broker_text(&long);
        assert!(cut.len() <= BROKER_TEXT_MAX_BYTES && cut.ends_with("...") && cut.starts_with("éé"), "{} bytes", cut.len());
        assert_eq!(broker_text(&"x".repeat(509)), "x".repeat(509), "509 bytes fit with room for the mark");
    }
}
