//! librdkafka properties this library knows but refuses, each with the
//! reason: -1 "is not supported: why" (or "not supported yet: why" for what
//! a later issue adds) rather than -2 "unknown".

use std::fmt;

/// Why a property, or one of its values, is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Not planned: it has no meaning here.
    Never(&'static str),
    /// A later issue adds it.
    Yet(&'static str),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Never(why) => write!(f, "not supported: {why}"),
            Refusal::Yet(why) => write!(f, "not supported yet: {why}"),
        }
    }
}

pub(super) const NO_GSSAPI: &str = "GSSAPI (Kerberos) is not supported: set sasl.mechanism to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512";
pub(super) const NO_OAUTHBEARER: &str = "OAUTHBEARER is not supported: set sasl.mechanism to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512";
const RUSTLS: &str = "OpenSSL engines do not exist in rustls, the TLS library used here";
/// librdkafka takes these through rd_kafka_conf_set_..._cb() and friends,
/// never by name; an ABL program cannot pass a callback, so results are polled.
const CALLBACK: Refusal =
    Refusal::Never("a callback or pointer, which librdkafka sets through a function of its own; ablkafka has none (results are polled)");

/// Refused names. A name ending in '.' is a prefix.
const REFUSED: &[(&str, Refusal)] = &[
    (
        "ssl.keystore.",
        Refusal::Never("PKCS#12 keystores are not read: give the certificate and key as PEM (ssl.certificate.location, ssl.key.location)"),
    ),
    ("ssl.engine.", Refusal::Never(RUSTLS)),
    ("ssl_engine_callback_data", Refusal::Never(RUSTLS)),
    ("ssl.providers", Refusal::Never("OpenSSL providers do not exist in rustls, the TLS library used here")),
    ("ssl.cipher.suites", Refusal::Never("rustls's safe default cipher suites are always used")),
    ("ssl.curves.list", Refusal::Never("rustls's safe default key exchange groups are always used")),
    ("ssl.sigalgs.list", Refusal::Never("rustls's safe default signature algorithms are always used")),
    ("ssl.crl.location", Refusal::Never("certificate revocation lists are not checked")),
    ("ssl.ca.certificate.stores", Refusal::Never("a Windows certificate store option")),
    ("ssl.certificate.verify_cb", Refusal::Never("a callback cannot be set by name and value")),
    ("sasl.kerberos.", Refusal::Never(NO_GSSAPI)),
    ("sasl.oauthbearer.", Refusal::Never(NO_OAUTHBEARER)),
    ("enable.sasl.oauthbearer.unsecure.jwt", Refusal::Never(NO_OAUTHBEARER)),
    ("https.ca.", Refusal::Never("HTTPS endpoints serve only OAUTHBEARER/OIDC, which is not supported")),
    // librdkafka refuses these Java names itself, with these reasons.
    ("ssl.truststore.location", Refusal::Never("Java TrustStores are not supported, use `ssl.ca.location` and a certificate file instead")),
    ("sasl.jaas.config", Refusal::Never("Java JAAS configuration is not supported: set sasl.mechanism, sasl.username and sasl.password")),
    ("error_cb", CALLBACK),
    ("throttle_cb", CALLBACK),
    ("stats_cb", CALLBACK),
    ("log_cb", CALLBACK),
    ("background_event_cb", CALLBACK),
    ("socket_cb", CALLBACK),
    ("connect_cb", CALLBACK),
    ("closesocket_cb", CALLBACK),
    ("open_cb", CALLBACK),
    ("resolve_cb", CALLBACK),
    ("opaque", CALLBACK),
    ("default_topic_conf", CALLBACK),
    ("ssl_key", CALLBACK),
    ("ssl_certificate", CALLBACK),
    ("ssl_ca", CALLBACK),
    ("oauthbearer_token_refresh_cb", CALLBACK),
    ("interceptors", CALLBACK),
    ("dr_cb", CALLBACK),
    ("dr_msg_cb", CALLBACK),
    ("partitioner_cb", CALLBACK),
    ("msg_order_cmp", CALLBACK),
    ("consume_cb", CALLBACK),
    ("rebalance_cb", CALLBACK),
    ("offset_commit_cb", CALLBACK),
    ("ut_handle_ProduceResponse", CALLBACK),
    ("enable_sasl_queue", Refusal::Never("the SASL callback queue serves OAUTHBEARER token refreshes, and OAUTHBEARER is not supported")),
    ("test.mock.", Refusal::Never("librdkafka's built-in mock cluster is not part of ablkafka")),
    (
        "metadata.recovery.rebootstrap.trigger.ms",
        Refusal::Yet("there is no rebootstrap timer: the bootstrap servers are tried again at once whenever no known broker answers"),
    ),
];

/// The reason a known librdkafka property is refused, if it is.
pub(super) fn refusal(name: &str) -> Option<Refusal> {
    REFUSED.iter().find(|(n, _)| if n.ends_with('.') { name.starts_with(n) } else { name == *n }).map(|(_, why)| *why)
}
