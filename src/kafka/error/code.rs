//! The error code type itself, apart from the table of codes (`codes.rs`)
//! and what reads it (`mod.rs`), which both build on it.

/// A librdkafka-compatible error code (`rd_kafka_resp_err_t` number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub i32);
