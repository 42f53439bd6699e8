//! The table of every option a producer honours, by librdkafka's names:
//! each one's aliases, default and how its value is checked. The order is
//! the README's.

use super::refused::{Refusal, NO_GSSAPI, NO_OAUTHBEARER};
use super::socket::AddressFamily;
use super::spec::{Kind, OptionSpec, WIRE_STRING_MAX};
use crate::kafka::partitioner::Partitioner;
use crate::kafka::protocol::compression::Codec;
use crate::kafka::sasl::Mechanism;
use crate::kafka::security::Protocol;

pub(super) const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

pub(super) const INT_MAX: i64 = i32::MAX as i64;

/// A file name or PEM text: any length, may be unset.
pub(super) const OPTIONAL_TEXT: Kind = Kind::Text { required: false, max_bytes: usize::MAX };
/// Longest secret (a PEM key is a few KiB): a longer one is a mistake, refused
/// without being repeated.
pub(super) const SECRET_MAX_BYTES: usize = 1 << 20;

/// Every supported option. The order is the README's.
pub(super) const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "bootstrap.servers",
        aliases: &["metadata.broker.list"],
        default: "",
        kind: Kind::Text { required: true, max_bytes: usize::MAX },
    },
    OptionSpec { name: "client.id", aliases: &[], default: "rdkafka", kind: Kind::Text { required: false, max_bytes: WIRE_STRING_MAX } },
    OptionSpec { name: "acks", aliases: &["request.required.acks"], default: "-1", kind: Kind::Acks },
    OptionSpec { name: "linger.ms", aliases: &["queue.buffering.max.ms"], default: "5", kind: Kind::Millis { min: 0.0, max: 900_000.0 } },
    OptionSpec { name: "batch.num.messages", aliases: &[], default: "10000", kind: int(1, 1_000_000) },
    OptionSpec { name: "batch.size", aliases: &[], default: "1000000", kind: int(1, INT_MAX) },
    OptionSpec { name: "compression.codec", aliases: &["compression.type"], default: "none", kind: Kind::Choice(&Codec::NAMES) },
    OptionSpec { name: "compression.level", aliases: &[], default: "-1", kind: int(-1, 12) },
    OptionSpec { name: "message.timeout.ms", aliases: &["delivery.timeout.ms"], default: "300000", kind: int(0, INT_MAX) },
    OptionSpec { name: "request.timeout.ms", aliases: &[], default: "30000", kind: int(1, 900_000) },
    OptionSpec { name: "retries", aliases: &["message.send.max.retries"], default: "2147483647", kind: int(0, INT_MAX) },
    OptionSpec { name: "retry.backoff.ms", aliases: &[], default: "100", kind: int(1, 300_000) },
    OptionSpec { name: "retry.backoff.max.ms", aliases: &[], default: "1000", kind: int(1, 300_000) },
    OptionSpec { name: "reconnect.backoff.ms", aliases: &[], default: "100", kind: int(0, 3_600_000) },
    OptionSpec { name: "reconnect.backoff.max.ms", aliases: &[], default: "10000", kind: int(0, 3_600_000) },
    OptionSpec { name: "socket.connection.setup.timeout.ms", aliases: &[], default: "30000", kind: int(1000, INT_MAX) },
    OptionSpec { name: "message.max.bytes", aliases: &[], default: "1000000", kind: int(1000, 1_000_000_000) },
    OptionSpec { name: "queue.buffering.max.messages", aliases: &[], default: "100000", kind: int(0, INT_MAX) },
    OptionSpec { name: "queue.buffering.max.kbytes", aliases: &[], default: "1048576", kind: int(1, INT_MAX) },
    OptionSpec { name: "partitioner", aliases: &[], default: "consistent_random", kind: Kind::Choice(&Partitioner::NAMES) },
    OptionSpec { name: "sticky.partitioning.linger.ms", aliases: &[], default: "10", kind: int(0, 900_000) },
    OptionSpec { name: "topic.metadata.refresh.interval.ms", aliases: &[], default: "300000", kind: int(-1, 3_600_000) },
    OptionSpec { name: "topic.metadata.propagation.max.ms", aliases: &[], default: "30000", kind: int(0, 3_600_000) },
    OptionSpec { name: "enable.idempotence", aliases: &[], default: "false", kind: Kind::Bool },
    OptionSpec { name: "transactional.id", aliases: &[], default: "", kind: Kind::Text { required: false, max_bytes: WIRE_STRING_MAX } },
    OptionSpec { name: "transaction.timeout.ms", aliases: &[], default: "60000", kind: int(1000, INT_MAX) },
    OptionSpec { name: "max.in.flight.requests.per.connection", aliases: &["max.in.flight"], default: "1000000", kind: int(1, 1_000_000) },
    OptionSpec { name: "security.protocol", aliases: &[], default: "plaintext", kind: Kind::Choice(&Protocol::NAMES) },
    OptionSpec { name: "ssl.ca.location", aliases: &[], default: "", kind: OPTIONAL_TEXT },
    OptionSpec { name: "ssl.ca.pem", aliases: &[], default: "", kind: OPTIONAL_TEXT },
    OptionSpec { name: "ssl.certificate.location", aliases: &[], default: "", kind: OPTIONAL_TEXT },
    OptionSpec { name: "ssl.certificate.pem", aliases: &[], default: "", kind: OPTIONAL_TEXT },
    OptionSpec { name: "ssl.key.location", aliases: &[], default: "", kind: OPTIONAL_TEXT },
    OptionSpec { name: "ssl.key.pem", aliases: &[], default: "", kind: Kind::Secret },
    OptionSpec { name: "ssl.key.password", aliases: &[], default: "", kind: Kind::Secret },
    OptionSpec { name: "enable.ssl.certificate.verification", aliases: &[], default: "true", kind: Kind::Bool },
    OptionSpec { name: "ssl.endpoint.identification.algorithm", aliases: &[], default: "https", kind: Kind::Choice(&["none", "https"]) },
    // librdkafka's default is GSSAPI, which is refused (not supported) when
    // a SASL protocol is built without another mechanism.
    OptionSpec {
        name: "sasl.mechanism",
        aliases: &["sasl.mechanisms"],
        default: "GSSAPI",
        kind: Kind::ChoiceRefusing(&Mechanism::NAMES, MECHANISMS_NOT_SUPPORTED),
    },
    OptionSpec { name: "sasl.username", aliases: &[], default: "", kind: Kind::Text { required: false, max_bytes: WIRE_STRING_MAX } },
    OptionSpec { name: "sasl.password", aliases: &[], default: "", kind: Kind::Secret },
    // Connections and metadata (honoured)
    OptionSpec { name: "socket.keepalive.enable", aliases: &[], default: "false", kind: Kind::Bool },
    OptionSpec { name: "socket.nagle.disable", aliases: &[], default: "true", kind: Kind::Bool },
    OptionSpec { name: "socket.send.buffer.bytes", aliases: &[], default: "0", kind: int(0, 100_000_000) },
    OptionSpec { name: "socket.receive.buffer.bytes", aliases: &[], default: "0", kind: int(0, 100_000_000) },
    OptionSpec { name: "broker.address.family", aliases: &[], default: "any", kind: Kind::Choice(&AddressFamily::NAMES) },
    OptionSpec { name: "socket.timeout.ms", aliases: &[], default: "60000", kind: int(10, 300_000) },
    OptionSpec { name: "connections.max.idle.ms", aliases: &[], default: "0", kind: int(0, INT_MAX) },
    // Unless set: three times topic.metadata.refresh.interval.ms when that is on (librdkafka's rule).
    OptionSpec { name: "metadata.max.age.ms", aliases: &[], default: "900000", kind: int(1, 86_400_000) },
    // Unless set: retry.backoff.ms (librdkafka's rule).
    OptionSpec { name: "topic.metadata.refresh.fast.interval.ms", aliases: &[], default: "100", kind: int(1, 60_000) },
    // Only the topics in use are ever asked for: false is accepted and changes nothing.
    OptionSpec { name: "topic.metadata.refresh.sparse", aliases: &[], default: "true", kind: Kind::Bool },
    // librdkafka's producer default (its consumer's is false).
    OptionSpec { name: "allow.auto.create.topics", aliases: &[], default: "true", kind: Kind::Bool },
    OptionSpec { name: "client.software.name", aliases: &[], default: "ablkafka", kind: Kind::SoftwareId },
    OptionSpec { name: "client.software.version", aliases: &[], default: env!("CARGO_PKG_VERSION"), kind: Kind::SoftwareId },
    // Kept and read back; a producer has no use for it (fetch-from-follower is a consumer's).
    OptionSpec { name: "client.rack", aliases: &[], default: "", kind: OPTIONAL_TEXT },
    // Accepted for librdkafka compatibility
    OptionSpec {
        name: "builtin.features",
        aliases: &[],
        default: "gzip,snappy,ssl,sasl,lz4,sasl_plain,sasl_scram,zstd",
        kind: Kind::Flags {
            names: &["gzip", "snappy", "ssl", "sasl", "lz4", "sasl_plain", "sasl_scram", "zstd"],
            refused: FEATURES_NOT_BUILT,
        },
    },
    // Records are copied into their batch at send whatever this says: the
    // copy-or-reference choice it tunes inside librdkafka has no visible effect.
    OptionSpec { name: "message.copy.max.bytes", aliases: &[], default: "65535", kind: int(0, 1_000_000_000) },
    OptionSpec { name: "receive.message.max.bytes", aliases: &[], default: "100000000", kind: int(1000, INT_MAX) },
    // 0: off; else a JSON snapshot every interval (producer_statistics).
    OptionSpec { name: "statistics.interval.ms", aliases: &[], default: "0", kind: int(0, 86_400_000) },
    only("metadata.recovery.strategy", "rebootstrap", &Kind::Choice(&["none", "rebootstrap"]), Refusal::Never(ALWAYS_REBOOTSTRAP)),
    only(
        "topic.blacklist",
        "",
        &OPTIONAL_TEXT,
        Refusal::Yet("topics are not hidden from metadata (regular expressions are a later issue)"),
    ),
    only("socket.max.fails", "1", &int(0, 1_000_000), Refusal::Never(ONE_TIMEOUT_CLOSES)),
    only("broker.address.ttl", "0", &int(0, 86_400_000), Refusal::Yet(NO_ADDRESS_CACHE)),
    only(
        "enabled_events",
        "0",
        &int(0, INT_MAX),
        Refusal::Never("librdkafka's event API does not exist here: each result is read from its own handle"),
    ),
    OptionSpec { name: "log_level", aliases: &[], default: "6", kind: int(0, 7) },
    OptionSpec { name: "debug", aliases: &[], default: "", kind: Kind::DebugContexts },
    OptionSpec { name: "log.queue", aliases: &[], default: "false", kind: Kind::Bool },
    OptionSpec { name: "log.thread.name", aliases: &[], default: "true", kind: Kind::Bool },
    // ablkafka never calls srand() or rand(): its own generator is seeded
    // per producer, so either value leaves the application's srand() alone.
    OptionSpec { name: "enable.random.seed", aliases: &[], default: "true", kind: Kind::Bool },
    OptionSpec { name: "log.connection.close", aliases: &[], default: "true", kind: Kind::Bool },
    only("internal.termination.signal", "0", &int(0, 128), Refusal::Never("producer_close stops ablkafka's thread without a signal")),
    only("api.version.request", "true", &Kind::Bool, Refusal::Never(NO_OLD_BROKERS)),
    OptionSpec { name: "api.version.request.timeout.ms", aliases: &[], default: "10000", kind: int(1, 300_000) },
    only("api.version.fallback.ms", "0", &int(0, 604_800_000), Refusal::Never(NO_OLD_BROKERS)),
    // Used by librdkafka only while api.version.fallback.ms runs after a
    // failed ApiVersions, which the two above rule out: kept, and warned
    // about as deprecated.
    OptionSpec { name: "broker.version.fallback", aliases: &[], default: "0.10.0", kind: OPTIONAL_TEXT },
    only("enable.sparse.connections", "true", &Kind::Bool, Refusal::Never("connections are opened only to the brokers a request needs")),
    only("plugin.library.paths", "", &OPTIONAL_TEXT, Refusal::Never("librdkafka plugins are libraries for librdkafka, not for ablkafka")),
    only(
        "client.dns.lookup",
        "use_all_dns_ips",
        &Kind::Choice(&["use_all_dns_ips", "resolve_canonical_bootstrap_servers_only"]),
        Refusal::Never("it serves GSSAPI (Kerberos) only, which is not supported; every address of a name is tried"),
    ),
    only("enable.metrics.push", "false", &Kind::Bool, Refusal::Yet("client metrics (KIP-714) are not pushed to the cluster")),
    only("enable.gapless.guarantee", "false", &Kind::Bool, Refusal::Yet("a failed batch never stops the producer with a fatal error")),
    OptionSpec { name: "queue.buffering.backpressure.threshold", aliases: &[], default: "1", kind: int(1, 1_000_000) },
    // A Response is the receipt the caller holds, so it completes on success
    // too; sends without a receipt already report only their failures.
    OptionSpec { name: "delivery.report.only.error", aliases: &[], default: "false", kind: Kind::Bool },
    only(
        "queuing.strategy",
        "fifo",
        &Kind::Choice(&["fifo", "lifo"]),
        Refusal::Never("records are always sent in the order they were produced"),
    ),
];

/// An option honoured with one value only (its default here).
pub(super) const fn only(name: &'static str, value: &'static str, kind: &'static Kind, refusal: Refusal) -> OptionSpec {
    OptionSpec { name, aliases: &[], default: value, kind: Kind::Only { kind, value, refusal } }
}

pub(super) const ALWAYS_REBOOTSTRAP: &str = "the bootstrap servers are always tried again when no known broker answers";
pub(super) const ONE_TIMEOUT_CLOSES: &str =
    "a request that times out always closes its connection, as with librdkafka's default 1, so no later answer can be taken for another request's";
pub(super) const NO_ADDRESS_CACHE: &str = "addresses are not cached: each connection attempt resolves the broker's name again, as with 0";
pub(super) const NO_OLD_BROKERS: &str = "every broker is asked for its API versions: brokers before 0.10 are not supported";

/// builtin.features names librdkafka has that this library does not.
pub(super) const FEATURES_NOT_BUILT: &[(&str, &str)] = &[
    ("regex", "regular expressions (topic.blacklist) are a later issue"),
    ("sasl_gssapi", NO_GSSAPI),
    ("plugins", "librdkafka plugins cannot be loaded"),
    ("sasl_oauthbearer", NO_OAUTHBEARER),
    ("http", "there is no HTTP client: it serves OAUTHBEARER/OIDC only"),
    ("oidc", NO_OAUTHBEARER),
];

/// Mechanisms librdkafka has that are refused here, and why.
pub(super) const MECHANISMS_NOT_SUPPORTED: &[(&str, &str)] = &[("GSSAPI", NO_GSSAPI), ("OAUTHBEARER", NO_OAUTHBEARER)];
