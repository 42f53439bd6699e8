//! Talking to brokers: connections (over TCP or TLS, authenticated with
//! SASL when configured) and the cluster's broker map.

pub mod cluster;
pub mod connection;
mod tls;
pub mod transport;
pub mod wire;
