//! ablkafka: a Kafka producer written in Rust, shipped as a C ABI that
//! mirrors the OpenEdge ABL producer API.
//!
//! * `kafka`: the safe core (protocol, batching, networking, delivery
//!   state); no C types, no unsafe code. Private to the crate: the
//!   compiler reports what nothing uses.
//! * `ffi`: the C ABI over it; see include/ablkafka.h. The C header is the
//!   library's only API.

pub(crate) mod kafka;

/// The protocol decoders, for the property test (`tests/`) and the fuzz target
/// (`fuzz/`): not part of the library's API, which is the C header.
#[doc(hidden)]
pub mod testing {
    pub use crate::kafka::protocol;
}

mod ffi;
