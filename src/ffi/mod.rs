//! The C ABI: plumbing (handles, the panic boundary, argument readers, the
//! error table) and one module of thin `extern "C"` shims per C object.
//! cbindgen turns the public items here into include/ablkafka.h.

mod boundary;
pub mod builder;
pub mod error;
mod fork;
mod handle;
mod options;
pub mod producer;
pub mod record;
pub mod response;
#[cfg(test)]
mod tests;
pub mod transaction;
pub mod txn_offsets;
mod unload;
