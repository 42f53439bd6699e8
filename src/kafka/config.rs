//! Producer options by librdkafka's names, aliases, ranges and defaults.
//!
//! Each value is checked when it is set, so a bad value is refused at once
//! with a message naming the option, and kept with what it means; `build`
//! reads those meanings and checks the combinations.

mod build;
mod builder;
mod check;
mod error;
mod ignored;
mod lookup;
mod options;
mod producer_config;
mod read;
mod refused;
pub mod socket;
mod spec;
mod value;
mod warnings;

pub use builder::ConfigBuilder;
pub use error::ConfigError;
pub use producer_config::Config;

#[cfg(test)]
mod tests;
