//! Talking to brokers: connections (over TCP or TLS, authenticated with
//! SASL when configured) and the cluster's broker map.

pub mod cluster;
pub mod connection;
pub mod error;
mod sasl_login;
#[cfg(test)]
pub mod test_broker;
mod tls;
pub mod transport;
pub mod wire;
