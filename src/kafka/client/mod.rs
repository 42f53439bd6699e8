//! Talking to brokers: connections and the cluster's broker map.

pub mod cluster;
pub mod connection;
pub mod wire;
