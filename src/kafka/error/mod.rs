//! librdkafka-compatible error codes.
//!
//! An [`ErrorCode`] *is* a librdkafka `rd_kafka_resp_err_t` number:
//!
//! * `0` is success ([`ErrorCode::NO_ERROR`]),
//! * `-1` is the generic "Unknown broker error" ([`ErrorCode::UNKNOWN`]),
//! * numbers between -200 and -100 (exclusive) are librdkafka's *local* errors
//!   (named with a leading underscore, e.g. `_MSG_TIMED_OUT`),
//! * positive numbers are Kafka protocol (broker) error codes.
//!
//! Names and messages are exactly those returned by librdkafka 2.x's
//! `rd_kafka_err2name()` / `rd_kafka_err2str()` (table `rd_kafka_err_descs[]`
//! in `src/rdkafka.c`, values from `rd_kafka_resp_err_t` in `src/rdkafka.h`,
//! librdkafka v2.15.0). They form part of the C ABI compatibility contract, so
//! do not "fix" their wording. Known quirks carried over verbatim:
//!
//! * `_PARTITION_EOF` (-191) is a local code whose message is
//!   `"Broker: No more messages"` (not `"Local: ..."`).
//! * `UNKNOWN` (-1) is `"Unknown broker error"` and `NO_ERROR` (0) is
//!   `"Success"`; neither has a `"Local: "`/`"Broker: "` prefix.
//! * `_DESTROY` (-197) reads `"Local: Broker handle destroyed for termination"`.
//! * `STALE_CTRL_EPOCH` (11) reads `"Broker: StaleControllerEpochCode"`.
//! * `_INVALID_DIFFERENT_RECORD` (-138) starts with a lower-case
//!   `"Local: an invalid record ..."`.
//! * Broker codes 98, 99, 101, 102 and 104..=109 are not in librdkafka's table
//!   and are therefore unknown here as well.
//!
//! Codes that are not in the table (including librdkafka's `__BEGIN` (-200) and
//! `__END` (-100) sentinels) are "unknown": librdkafka formats them dynamically
//! (`"ERR_<n>?"` / `"Err-<n>?"`); this module instead returns the fixed static
//! texts [`UNKNOWN_CODE_NAME`] and [`UNKNOWN_CODE_MESSAGE`], and the number is
//! still shown by the [`Display`](fmt::Display) implementation.

use std::fmt;

pub use code::ErrorCode;

/// [`ErrorCode::name`] of a code that is not in the table.
pub const UNKNOWN_CODE_NAME: &str = "ERR_UNKNOWN_CODE";

/// [`ErrorCode::message`] of a code that is not in the table.
pub const UNKNOWN_CODE_MESSAGE: &str = "Unknown error code";

/// Defines, from one list, the associated constants, the lookup table and the
/// list returned by [`ErrorCode::all`]. The list must be in ascending order of
/// number (checked by the tests).
macro_rules! error_codes {
    ($( ($konst:ident, $num:literal, $name:literal, $msg:literal) ),* $(,)?) => {
        impl ErrorCode {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($num), "): \"", $msg, "\"")]
                pub const $konst: ErrorCode = ErrorCode($num);
            )*
        }

        /// `(number, rd_kafka_err2name text, rd_kafka_err2str text)`, sorted by number.
        pub(super) static TABLE: &[(i32, &str, &str)] = &[ $( ($num, $name, $msg) ),* ];

        /// Every known code, in the same (ascending) order as `TABLE`.
        pub(super) static ALL: &[ErrorCode] = &[ $( ErrorCode::$konst ),* ];

        /// Rust constant identifier of each entry, for consistency tests.
        #[cfg(test)]
        pub(super) static CONST_IDENTS: &[(&str, i32)] = &[ $( (stringify!($konst), $num) ),* ];
    };
}

mod code;
mod codes;
#[cfg(test)]
mod tests;

use codes::{ALL, TABLE};

impl ErrorCode {
    /// Alias: Kafka renamed `NOT_LEADER_FOR_PARTITION` (6) to `NOT_LEADER_OR_FOLLOWER`.
    pub const NOT_LEADER_OR_FOLLOWER: ErrorCode = ErrorCode::NOT_LEADER_FOR_PARTITION;
    /// Alias of `COORDINATOR_LOAD_IN_PROGRESS` (14), as in librdkafka's header.
    pub const GROUP_LOAD_IN_PROGRESS: ErrorCode = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    /// Alias of `COORDINATOR_NOT_AVAILABLE` (15), as in librdkafka's header.
    pub const GROUP_COORDINATOR_NOT_AVAILABLE: ErrorCode = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    /// Alias of `NOT_COORDINATOR` (16), as in librdkafka's header.
    pub const NOT_COORDINATOR_FOR_GROUP: ErrorCode = ErrorCode::NOT_COORDINATOR;

    /// Kafka wire error codes arrive as i16; any value maps to some code.
    ///
    /// Non-negative values and `-1` keep their number (so broker codes newer
    /// than this table stay visible as unknown codes with their number).
    /// Other negative values are not valid Kafka error codes and would collide
    /// with librdkafka's local error range, so they map to [`ErrorCode::UNKNOWN`]
    /// ("Unknown broker error"), like Java's handling of unknown codes.
    pub fn from_kafka(code: i16) -> ErrorCode {
        if code < -1 {
            ErrorCode::UNKNOWN
        } else {
            ErrorCode(i32::from(code))
        }
    }

    /// The raw `rd_kafka_resp_err_t` number.
    pub fn code(self) -> i32 {
        self.0
    }

    /// `true` for [`ErrorCode::NO_ERROR`].
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// `true` when the code is in the table (librdkafka knows it).
    pub fn is_known(self) -> bool {
        self.entry().is_some()
    }

    /// `true` for numbers in librdkafka's local error range (-200 < n < -100).
    pub fn is_local(self) -> bool {
        self.0 > -200 && self.0 < -100
    }

    /// `true` for Kafka protocol (broker) error codes (n > 0).
    pub fn is_broker(self) -> bool {
        self.0 > 0
    }

    fn entry(self) -> Option<&'static (i32, &'static str, &'static str)> {
        TABLE.binary_search_by_key(&self.0, |e| e.0).ok().map(|i| &TABLE[i])
    }

    /// librdkafka's `rd_kafka_err2name` text, e.g. `"_MSG_TIMED_OUT"`,
    /// `"MSG_SIZE_TOO_LARGE"`. Unknown codes: [`UNKNOWN_CODE_NAME`]
    /// (`"ERR_UNKNOWN_CODE"`).
    pub fn name(self) -> &'static str {
        self.entry().map_or(UNKNOWN_CODE_NAME, |e| e.1)
    }

    /// librdkafka's `rd_kafka_err2str` text, e.g. `"Local: Message timed out"`.
    /// Unknown codes: [`UNKNOWN_CODE_MESSAGE`] (`"Unknown error code"`).
    pub fn message(self) -> &'static str {
        self.entry().map_or(UNKNOWN_CODE_MESSAGE, |e| e.2)
    }

    /// Every known code, in ascending order (used by the C layer to build C
    /// strings once).
    pub fn all() -> &'static [ErrorCode] {
        ALL
    }

    /// Whether a Produce failure with this code may be retried.
    ///
    /// Broker codes: those whose Java exception is a `RetriableException`
    /// (directly or via `InvalidMetadataException`) in Apache Kafka's
    /// `Errors`, restricted to codes librdkafka knows: 3, 5, 6, 7, 9, 13, 14,
    /// 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89,
    /// 100, 103, 122, 123, 133. Not 2 `INVALID_MSG` (a corrupt message): Java
    /// retries it, but librdkafka's producer fails it at once, and so do we.
    /// Local codes: `_TRANSPORT` (-195) and `_TIMED_OUT` (-185, request timeout).
    /// Everything else (including `_MSG_TIMED_OUT`, `_QUEUE_FULL`,
    /// `MSG_SIZE_TOO_LARGE`, `BROKER_NOT_AVAILABLE` and the idempotence errors)
    /// is not retriable. Note: librdkafka's producer additionally retries
    /// `_TIMED_OUT_QUEUE` (-166) and `_RETRY` (-153) internally; they are not
    /// classified as retriable here.
    pub fn is_retriable(self) -> bool {
        const RETRIABLE: &[i32] = &[
            -195, -185, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103, 122, 123,
            133,
        ];
        RETRIABLE.contains(&self.0)
    }

    /// Whether the error means the client's view of partition leadership is
    /// stale and metadata must be refreshed.
    ///
    /// `_TRANSPORT` (-195), `_DESTROY_BROKER` (-137, librdkafka refreshes),
    /// `UNKNOWN_TOPIC_OR_PART` (3), `LEADER_NOT_AVAILABLE` (5),
    /// `NOT_LEADER_FOR_PARTITION` (6), `BROKER_NOT_AVAILABLE` (8, librdkafka
    /// refreshes), `REPLICA_NOT_AVAILABLE` (9), `NETWORK_EXCEPTION` (13),
    /// `KAFKA_STORAGE_ERROR` (56), `LISTENER_NOT_FOUND` (72),
    /// `FENCED_LEADER_EPOCH` (74), `UNKNOWN_LEADER_EPOCH` (75),
    /// `UNKNOWN_TOPIC_ID` (100), `INCONSISTENT_TOPIC_ID` (103).
    /// (Broker codes here are Java's `InvalidMetadataException`s relevant to
    /// producing, plus 8 and 75.)
    pub fn needs_metadata_refresh(self) -> bool {
        matches!(self.0, -195 | -137 | 3 | 5 | 6 | 8 | 9 | 13 | 56 | 72 | 74 | 75 | 100 | 103)
    }
}

impl fmt::Display for ErrorCode {
    /// `"<message> (<name>, <number>)"`, e.g.
    /// `"Local: Message timed out (_MSG_TIMED_OUT, -192)"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.message(), self.name(), self.0)
    }
}

impl std::error::Error for ErrorCode {}

impl From<ErrorCode> for i32 {
    fn from(e: ErrorCode) -> i32 {
        e.0
    }
}
