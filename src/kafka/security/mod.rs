//! How a producer reaches its brokers (`security.protocol`): the TLS client
//! configuration and the SASL credentials, both made when the producer is
//! built, so that a bad CA file or key is refused by `build`, not found at
//! the first connection.

mod pem_files;
pub mod tls_settings;
mod verifier;

use std::sync::Arc;

use super::names::{names_of, values_of};
use super::sasl::Credentials;

/// librdkafka's `security.protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

/// Every protocol with its `security.protocol` name.
const PROTOCOLS: [(Protocol, &str); 4] = [
    (Protocol::Plaintext, "plaintext"),
    (Protocol::Ssl, "ssl"),
    (Protocol::SaslPlaintext, "sasl_plaintext"),
    (Protocol::SaslSsl, "sasl_ssl"),
];

impl Protocol {
    pub const NAMES: [&'static str; PROTOCOLS.len()] = names_of(&PROTOCOLS);
    /// The protocols, in `NAMES`' order.
    pub const ALL: [Protocol; PROTOCOLS.len()] = values_of(&PROTOCOLS);

    pub fn name(self) -> &'static str {
        PROTOCOLS.iter().find(|(p, _)| *p == self).map_or("plaintext", |(_, n)| n)
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }

    pub fn uses_sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }
}

/// What every connection does before its first request: a TLS handshake
/// when `tls` is set, then SASL authentication when `sasl` is set.
#[derive(Clone, Debug, Default)]
pub struct Security {
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub sasl: Option<Arc<Credentials>>,
}
