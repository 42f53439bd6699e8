//! The safe core: Kafka protocol, batching, networking and delivery state.
//! No C types and no unsafe code; the C ABI lives in `crate::ffi`.
#![deny(unsafe_code)]

pub mod buffer_pool;
pub mod client;
pub mod clock;
pub mod config;
pub mod error;
pub mod lock;
pub mod log;
pub mod names;
pub mod partitioner;
pub mod producer;
pub mod protocol;
pub mod receipt;
pub mod sasl;
pub mod security;
pub mod stats;
pub mod topic_config;
pub mod topic_name;
