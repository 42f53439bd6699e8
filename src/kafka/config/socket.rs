//! How every broker socket is set up: librdkafka's socket.* options and
//! broker.address.family, as configured (the network layer reads them;
//! the settings do not depend on it).

use std::net::SocketAddr;

use crate::kafka::names::{names_of, values_of};

/// How every broker socket is set up: librdkafka's socket.* options and
/// broker.address.family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// socket.keepalive.enable: SO_KEEPALIVE.
    pub keepalive: bool,
    /// socket.nagle.disable: TCP_NODELAY.
    pub nodelay: bool,
    /// socket.send.buffer.bytes: SO_SNDBUF; None keeps the system's.
    pub send_buffer: Option<u32>,
    /// socket.receive.buffer.bytes: SO_RCVBUF; None keeps the system's.
    pub receive_buffer: Option<u32>,
    pub family: AddressFamily,
}

impl Default for SocketOptions {
    /// librdkafka's defaults.
    fn default() -> Self {
        SocketOptions { keepalive: false, nodelay: true, send_buffer: None, receive_buffer: None, family: AddressFamily::Any }
    }
}

/// broker.address.family: which of a broker's resolved addresses are tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressFamily {
    Any,
    V4,
    V6,
}

/// Every family with librdkafka's spelling, in the order of the enum (the
/// transport names a family by its place).
const FAMILIES: [(AddressFamily, &str); 3] = [(AddressFamily::Any, "any"), (AddressFamily::V4, "v4"), (AddressFamily::V6, "v6")];

impl AddressFamily {
    pub const NAMES: [&'static str; FAMILIES.len()] = names_of(&FAMILIES);
    /// The families, in `NAMES`' order.
    pub const ALL: [AddressFamily; FAMILIES.len()] = values_of(&FAMILIES);

    /// Whether a connection to `address` may be tried.
    pub fn allows(self, address: &SocketAddr) -> bool {
        match self {
            AddressFamily::Any => true,
            AddressFamily::V4 => address.is_ipv4(),
            AddressFamily::V6 => address.is_ipv6(),
        }
    }
}
