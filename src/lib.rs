//! ablkafka: a Kafka producer written in Rust, shipped as a C ABI that
//! mirrors the OpenEdge ABL producer API.
//!
//! * [`kafka`]: the safe core (protocol, batching, networking, delivery
//!   state); no C types, no unsafe code.
//! * `ffi`: the C ABI over it; see include/ablkafka.h.

pub mod kafka;

mod ffi;
