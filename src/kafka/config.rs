//! Producer options by librdkafka's names, aliases, ranges and defaults.
//!
//! Each value is checked when it is set, so a bad value is refused at once
//! with a message naming the option; `build` then checks the combinations.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::client::transport::{AddressFamily, SocketOptions};
use super::log::{Contexts, LogSettings, LOG_DEBUG};
use super::partitioner::Partitioner;
use super::protocol::compression::Codec;
use super::sasl::{Credentials, Mechanism};
use super::security::tls_settings::{self, TlsOptions};
use super::security::{Protocol, Security};
use super::topic_config::{TopicConfig, TOPIC_OPTIONS};
use super::topic_name;

mod ignored;
mod refused;
mod warnings;

use refused::{Refusal, NO_GSSAPI, NO_OAUTHBEARER};

/// Why an option was refused. The codes are librdkafka's `rd_kafka_conf_res_t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// RD_KAFKA_CONF_UNKNOWN (-2)
    Unknown(String),
    /// RD_KAFKA_CONF_INVALID (-1)
    Invalid(String),
}

impl ConfigError {
    pub fn code(&self) -> i32 {
        match self {
            ConfigError::Unknown(_) => -2,
            ConfigError::Invalid(_) => -1,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ConfigError::Unknown(m) | ConfigError::Invalid(m) => m,
        }
    }
}

/// A finished, validated producer configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub bootstrap_servers: Vec<String>,
    pub client_id: String,
    pub linger: Duration,
    pub batch_num_messages: usize,
    pub batch_size: usize,
    /// The topic-level options of topics without their own.
    pub topic_defaults: Arc<TopicConfig>,
    /// Topics with options of their own.
    pub topics: HashMap<String, Arc<TopicConfig>>,
    /// request.timeout.ms, for requests other than Produce (whose timeout
    /// is their topic's).
    pub request_timeout: Duration,
    pub retries: u32,
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    pub reconnect_backoff: Duration,
    pub reconnect_backoff_max: Duration,
    pub connect_timeout: Duration,
    pub message_max_bytes: usize,
    pub queue_max_messages: usize,
    pub queue_max_bytes: usize,
    /// queue.buffering.backpressure.threshold: a leader with this many
    /// requests not yet written whole gets no new one; its batches keep
    /// filling meanwhile.
    pub backpressure_threshold: usize,
    /// How long records the partitioner leaves to chance stick to one
    /// partition; zero: none stick.
    pub sticky_linger: Duration,
    pub metadata_refresh_interval: Option<Duration>,
    pub metadata_propagation_max: Duration,
    /// enable.idempotence: producer id, sequence numbers, acks=all.
    pub idempotence: bool,
    /// Produce requests in flight at once on one broker connection.
    pub max_in_flight: usize,
    /// TLS and SASL, per security.protocol.
    pub security: Security,
    /// socket.*, broker.address.family: how every broker socket is opened.
    pub socket: SocketOptions,
    /// socket.timeout.ms: the time limit of every request but Produce
    /// (ApiVersions, SASL, Metadata, InitProducerId).
    pub socket_timeout: Duration,
    /// connections.max.idle.ms; None (0): idle connections stay open.
    pub connections_max_idle: Option<Duration>,
    /// metadata.max.age.ms: metadata older than this is refreshed, and a
    /// topic nothing was sent to for this long is forgotten.
    pub metadata_max_age: Duration,
    /// topic.metadata.refresh.fast.interval.ms: the first wait between
    /// Metadata requests while a topic or leader is missing.
    pub metadata_fast_interval: Duration,
    /// allow.auto.create.topics, sent in Metadata v4+.
    pub allow_auto_create_topics: bool,
    /// client.software.name and .version as ApiVersions v3 sends them
    /// (KIP-511), sanitized as librdkafka does.
    pub client_software_name: String,
    pub client_software_version: String,
    /// receive.message.max.bytes: a larger response closes its connection.
    pub receive_message_max_bytes: usize,
    /// api.version.request.timeout.ms: the ApiVersions request's time limit.
    pub api_version_timeout: Duration,
    /// log_level, debug, log.queue, log.thread.name, log.connection.close.
    pub log: LogSettings,
    /// statistics.interval.ms; None (0): no statistics.
    pub statistics_interval: Option<Duration>,
    /// At debug=conf: every option and its value ("name = value", secrets
    /// redacted), as librdkafka logs its configuration at start.
    pub dump: Vec<String>,
    /// librdkafka's configuration warnings for this configuration.
    warnings: Vec<String>,
}

impl Config {
    /// The configuration warnings librdkafka would log (CONFWARN, level 4)
    /// when creating this producer: consumer, deprecated and experimental
    /// properties that were set. They name properties, never values.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// How an option's value is checked and read.
#[derive(Clone, Copy)]
enum Kind {
    /// librdkafka's `debug` contexts, comma-separated, in any case.
    DebugContexts,
    Int {
        min: i64,
        max: i64,
    },
    /// Milliseconds, which librdkafka accepts as a decimal for linger.ms.
    Millis {
        min: f64,
        max: f64,
    },
    /// librdkafka's spellings: true, t, 1, false, f, 0, in any case; kept as
    /// true or false.
    Bool,
    /// `acks`: all, or -1..1000.
    Acks,
    /// One of these, in any case (as librdkafka compares them); kept as spelled here.
    Choice(&'static [&'static str]),
    /// A `Choice`, and values librdkafka has that are refused here, each
    /// with the reason.
    ChoiceRefusing(&'static [&'static str], &'static [(&'static str, &'static str)]),
    /// A value of `kind` that is honoured as `value` only: the others ask
    /// for what ablkafka does not do, and are refused with why.
    Only {
        kind: &'static Kind,
        value: &'static str,
        refusal: Refusal,
    },
    /// librdkafka's CSV flags (builtin.features): names in any case, each
    /// with an optional +/- prefix; refused names with why. Setting only
    /// checks them: the value stays the default, as in librdkafka, whose
    /// default holds every flag.
    Flags {
        names: &'static [&'static str],
        refused: &'static [(&'static str, &'static str)],
    },
    /// A password or key: never shown, never read back, wiped when dropped.
    Secret,
    Text {
        required: bool,
        /// Longest value in bytes: a string that goes on the wire as a
        /// Kafka STRING must fit its INT16 length.
        max_bytes: usize,
    },
    /// client.software.name or .version: any text, as librdkafka takes it
    /// (sanitized for KIP-511 at build); empty is the default.
    SoftwareId,
}

/// Longest Kafka STRING (INT16 length).
const WIRE_STRING_MAX: usize = i16::MAX as usize;

#[derive(Clone, Copy)]
struct OptionSpec {
    name: &'static str,
    aliases: &'static [&'static str],
    default: &'static str,
    kind: Kind,
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

const INT_MAX: i64 = i32::MAX as i64;

/// A file name or PEM text: any length, may be unset.
const OPTIONAL_TEXT: Kind = Kind::Text { required: false, max_bytes: usize::MAX };
/// Longest secret (a PEM key is a few KiB): a longer one is a mistake, refused
/// without being repeated.
const SECRET_MAX_BYTES: usize = 1 << 20;

/// Every supported option. The order is the README's.
const OPTIONS: &[OptionSpec] = &[
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
const fn only(name: &'static str, value: &'static str, kind: &'static Kind, refusal: Refusal) -> OptionSpec {
    OptionSpec { name, aliases: &[], default: value, kind: Kind::Only { kind, value, refusal } }
}

const ALWAYS_REBOOTSTRAP: &str = "the bootstrap servers are always tried again when no known broker answers";
const ONE_TIMEOUT_CLOSES: &str =
    "a request that times out always closes its connection, as with librdkafka's default 1, so no later answer can be taken for another request's";
const NO_ADDRESS_CACHE: &str = "addresses are not cached: each connection attempt resolves the broker's name again, as with 0";
const NO_OLD_BROKERS: &str = "every broker is asked for its API versions: brokers before 0.10 are not supported";

/// builtin.features names librdkafka has that this library does not.
const FEATURES_NOT_BUILT: &[(&str, &str)] = &[
    ("regex", "regular expressions (topic.blacklist) are a later issue"),
    ("sasl_gssapi", NO_GSSAPI),
    ("plugins", "librdkafka plugins cannot be loaded"),
    ("sasl_oauthbearer", NO_OAUTHBEARER),
    ("http", "there is no HTTP client: it serves OAUTHBEARER/OIDC only"),
    ("oidc", NO_OAUTHBEARER),
];

/// Mechanisms librdkafka has that are refused here, and why.
const MECHANISMS_NOT_SUPPORTED: &[(&str, &str)] = &[("GSSAPI", NO_GSSAPI), ("OAUTHBEARER", NO_OAUTHBEARER)];

/// Every option a producer accepts: the honoured ones, then those it
/// ignores as librdkafka's producer does.
fn accepted() -> impl Iterator<Item = &'static OptionSpec> {
    OPTIONS.iter().chain(ignored::NO_LONGER_USED).chain(ignored::CONSUMER_ONLY)
}

fn spec(name: &str) -> Option<&'static OptionSpec> {
    accepted().find(|s| s.name == name || s.aliases.contains(&name)).or_else(|| {
        // librdkafka's `topic.` prefix on a global configuration sets the
        // default topic configuration's property.
        name.strip_prefix("topic.").and_then(topic_spec)
    })
}

/// A topic-level option, by name or alias.
fn topic_spec(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|s| (s.name == name || s.aliases.contains(&name)) && TOPIC_OPTIONS.contains(&s.name))
}

/// librdkafka's answer for a name a topic configuration does not have.
fn unknown(name: &str) -> ConfigError {
    ConfigError::Unknown(format!("No such configuration property: \"{name}\""))
}

/// Names of every supported option, canonical names first then aliases.
pub fn option_names() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
}

/// Collects options; cheap to clone, reusable after `build`.
#[derive(Clone, Default)]
pub struct ConfigBuilder {
    /// Values as set; every one is wiped from memory when dropped, secrets
    /// among them.
    values: BTreeMap<&'static str, Zeroizing<String>>,
    /// Topic-level values set for one topic, by topic.
    topics: BTreeMap<String, BTreeMap<&'static str, Zeroizing<String>>>,
}

/// How a secret option reads back.
pub const REDACTED: &str = "[redacted]";

impl std::fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.values.keys().map(|&name| (name, self.get(name).unwrap_or_default()))).finish()
    }
}

impl ConfigBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an option by librdkafka name or alias. Nothing changes on error.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let Some(spec) = spec(name) else {
            return Err(match refused::refusal(name) {
                Some(refusal) => ConfigError::Invalid(format!("Configuration property \"{name}\" is {refusal}")),
                None => unknown(name),
            });
        };
        let value = value.trim();
        let value = check(spec, name, value)?;
        self.values.insert(spec.name, Zeroizing::new(value.to_owned()));
        Ok(())
    }

    /// Sets a topic-level option (`TOPIC_OPTIONS`, by name or alias) for
    /// `topic` only, as librdkafka's topic configuration does: -2 for any
    /// other name, as `rd_kafka_topic_conf_set` answers. Nothing changes on
    /// error.
    pub fn set_topic(&mut self, topic: &str, name: &str, value: &str) -> Result<(), ConfigError> {
        let spec = topic_spec(name).ok_or_else(|| unknown(name))?;
        if let Err(why) = topic_name::validate(topic) {
            return Err(ConfigError::Invalid(format!("Cannot configure topic \"{topic}\": {}", why.reason())));
        }
        let value = check(spec, name, value.trim())?;
        self.topics.entry(topic.to_owned()).or_default().insert(spec.name, Zeroizing::new(value.to_owned()));
        Ok(())
    }

    /// A topic-level option's value for `topic`: its own, else the
    /// producer's (or the default). None for a name that is not topic-level.
    pub fn get_topic(&self, topic: &str, name: &str) -> Option<&str> {
        let spec = topic_spec(name)?;
        Some(self.topic_value(Some(topic), spec.name))
    }

    /// The current value (or default) of an option, by name or alias, as an
    /// application may read it back: a secret that is set reads as
    /// `[redacted]`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let spec = spec(name)?;
        match (spec.kind, self.values.contains_key(spec.name)) {
            (Kind::Secret, true) => Some(REDACTED),
            _ => Some(self.value(spec.name)),
        }
    }

    /// The value as set, secrets included.
    fn value(&self, name: &'static str) -> &str {
        let spec = spec(name).expect("every name read by build is in OPTIONS");
        self.values.get(spec.name).map_or(spec.default, |v| v.as_str())
    }

    /// A topic-level value: `topic`'s own if it has one, else the producer's.
    fn topic_value(&self, topic: Option<&str>, name: &'static str) -> &str {
        match topic.and_then(|t| self.topics.get(t)).and_then(|values| values.get(name)) {
            Some(own) => own.as_str(),
            None => self.value(name),
        }
    }

    /// The value as set, None when unset or empty.
    fn set_value(&self, name: &'static str) -> Option<&str> {
        Some(self.value(name)).filter(|v| !v.is_empty())
    }

    fn int(&self, name: &'static str) -> i64 {
        self.value(name).parse().expect("checked when set")
    }

    fn millis(&self, name: &'static str) -> Duration {
        Duration::from_secs_f64(self.value(name).parse::<f64>().expect("checked when set") / 1000.0)
    }

    pub fn build(&self) -> Result<Config, ConfigError> {
        let servers: Vec<String> =
            self.value("bootstrap.servers").split(',').map(str::trim).filter(|s| !s.is_empty()).map(with_default_port).collect();
        if servers.is_empty() {
            return Err(ConfigError::Invalid("bootstrap.servers must be set to at least one host[:port]".into()));
        }
        let idempotence = self.value("enable.idempotence") == "true";
        let topic_defaults = Arc::new(self.topic_config(None, idempotence)?);
        let topics = self
            .topics
            .keys()
            .map(|topic| Ok((topic.clone(), Arc::new(self.topic_config(Some(topic), idempotence)?))))
            .collect::<Result<HashMap<_, _>, ConfigError>>()?;
        let mut max_in_flight = self.int("max.in.flight.requests.per.connection") as usize;
        if idempotence {
            // librdkafka's rules: acks=all (checked per topic), at most 5 in
            // flight, retries > 0; an unset max.in.flight is lowered to 5
            // rather than refused.
            if !self.values.contains_key("max.in.flight.requests.per.connection") {
                max_in_flight = 5;
            } else if max_in_flight > 5 {
                return Err(ConfigError::Invalid(
                    "`max.in.flight.requests.per.connection` must be set <= 5 when `enable.idempotence` is true".into(),
                ));
            }
            if self.int("retries") == 0 {
                return Err(ConfigError::Invalid("`retries` must be greater than 0 when `enable.idempotence` is true".into()));
            }
        }
        let ms = |name| Duration::from_millis(self.int(name) as u64);
        let metadata_refresh_interval = match self.int("topic.metadata.refresh.interval.ms") {
            n if n <= 0 => None,
            n => Some(Duration::from_millis(n as u64)),
        };
        Ok(Config {
            bootstrap_servers: servers,
            client_id: self.value("client.id").to_owned(),
            linger: self.millis("linger.ms"),
            batch_num_messages: self.int("batch.num.messages") as usize,
            batch_size: self.int("batch.size") as usize,
            topic_defaults,
            topics,
            request_timeout: ms("request.timeout.ms"),
            retries: self.int("retries") as u32,
            retry_backoff: ms("retry.backoff.ms"),
            retry_backoff_max: ms("retry.backoff.max.ms").max(ms("retry.backoff.ms")),
            reconnect_backoff: ms("reconnect.backoff.ms"),
            reconnect_backoff_max: ms("reconnect.backoff.max.ms").max(ms("reconnect.backoff.ms")),
            connect_timeout: ms("socket.connection.setup.timeout.ms"),
            message_max_bytes: self.int("message.max.bytes") as usize,
            // 0: no limit, as in librdkafka.
            queue_max_messages: match self.int("queue.buffering.max.messages") {
                0 => usize::MAX,
                n => n as usize,
            },
            queue_max_bytes: (self.int("queue.buffering.max.kbytes") as usize).saturating_mul(1024),
            sticky_linger: ms("sticky.partitioning.linger.ms"),
            backpressure_threshold: self.int("queue.buffering.backpressure.threshold") as usize,
            metadata_refresh_interval,
            metadata_propagation_max: ms("topic.metadata.propagation.max.ms"),
            idempotence,
            max_in_flight,
            security: self.security()?,
            socket: self.socket_options(),
            socket_timeout: ms("socket.timeout.ms"),
            connections_max_idle: Some(ms("connections.max.idle.ms")).filter(|idle| !idle.is_zero()),
            metadata_max_age: self.metadata_max_age(),
            metadata_fast_interval: match self.values.contains_key("topic.metadata.refresh.fast.interval.ms") {
                true => ms("topic.metadata.refresh.fast.interval.ms"),
                false => ms("retry.backoff.ms"),
            },
            allow_auto_create_topics: self.value("allow.auto.create.topics") == "true",
            client_software_name: self.software_id("client.software.name")?,
            client_software_version: self.software_id("client.software.version")?,
            receive_message_max_bytes: self.int("receive.message.max.bytes") as usize,
            api_version_timeout: ms("api.version.request.timeout.ms"),
            log: self.log_settings(),
            statistics_interval: Some(ms("statistics.interval.ms")).filter(|interval| !interval.is_zero()),
            dump: self.dump(),
            warnings: warnings::warnings(accepted().map(|s| s.name).filter(|name| self.values.contains_key(name))),
        })
    }

    fn log_settings(&self) -> LogSettings {
        let debug = Contexts::parse(self.value("debug")).expect("checked when set");
        // As librdkafka: naming a debug context raises log_level to debug.
        let level = if debug.is_empty() { self.int("log_level") as u8 } else { LOG_DEBUG };
        LogSettings {
            level,
            debug,
            to_queue: self.value("log.queue") == "true",
            thread_name: self.value("log.thread.name") == "true",
            connection_close: self.value("log.connection.close") == "true",
        }
    }

    /// "name = value" for every option a producer honours, as it reads
    /// back (secrets redacted); empty unless `debug` names `conf`.
    fn dump(&self) -> Vec<String> {
        let wanted = Contexts::parse(self.value("debug")).is_some_and(|c| c.has(super::log::Context::Conf));
        match wanted {
            false => Vec::new(),
            true => OPTIONS.iter().map(|s| format!("{} = {}", s.name, self.get(s.name).unwrap_or_default())).collect(),
        }
    }

    /// The topic-level options of `topic` (None: the producer's, for topics
    /// without their own).
    fn topic_config(&self, topic: Option<&str>, idempotence: bool) -> Result<TopicConfig, ConfigError> {
        let value = |name| self.topic_value(topic, name);
        let int = |name| value(name).parse::<i64>().expect("checked when set");
        let acks = int("acks") as i16;
        if idempotence && acks != -1 {
            let whose = topic.map_or(String::new(), |t| format!(" (topic \"{t}\")"));
            return Err(ConfigError::Invalid(format!("`acks`{whose} must be set to `all` when `enable.idempotence` is true")));
        }
        let codec = Codec::from_name(value("compression.codec")).expect("checked when set");
        Ok(TopicConfig {
            acks,
            request_timeout: Duration::from_millis(int("request.timeout.ms") as u64),
            message_timeout: match int("message.timeout.ms") {
                0 => None,
                n => Some(Duration::from_millis(n as u64)),
            },
            partitioner: Partitioner::from_name(value("partitioner")).expect("checked when set"),
            codec,
            compression_level: codec.effective_level(int("compression.level") as i32),
        })
    }

    fn socket_options(&self) -> SocketOptions {
        // 0: the system's default size.
        let buffer = |name| Some(self.int(name) as u32).filter(|&size| size > 0);
        SocketOptions {
            keepalive: self.value("socket.keepalive.enable") == "true",
            nodelay: self.value("socket.nagle.disable") == "true",
            send_buffer: buffer("socket.send.buffer.bytes"),
            receive_buffer: buffer("socket.receive.buffer.bytes"),
            family: AddressFamily::from_name(self.value("broker.address.family")).expect("checked when set"),
        }
    }

    fn metadata_max_age(&self) -> Duration {
        let interval = self.int("topic.metadata.refresh.interval.ms");
        let max_age = match self.values.contains_key("metadata.max.age.ms") || interval <= 0 {
            true => self.int("metadata.max.age.ms"),
            false => interval * 3,
        };
        Duration::from_millis(max_age as u64)
    }

    /// A client.software.* value as KIP-511 allows it on the wire; one with
    /// nothing left is refused (librdkafka would send garbage).
    fn software_id(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.value(name);
        let sanitized = sanitize_software_id(value);
        if sanitized.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "{name} \"{value}\" has no letter or digit, which KIP-511 requires at its start and end"
            )));
        }
        Ok(sanitized)
    }

    /// The TLS configuration and SASL credentials security.protocol asks for;
    /// a file that cannot be read or a key that does not parse is refused
    /// here, naming its option.
    fn security(&self) -> Result<Security, ConfigError> {
        let protocol = Protocol::from_name(self.value("security.protocol")).expect("checked when set");
        let tls = match protocol.uses_tls() {
            false => None,
            true => {
                let options = TlsOptions {
                    ca_location: self.set_value("ssl.ca.location"),
                    ca_pem: self.set_value("ssl.ca.pem"),
                    certificate_location: self.set_value("ssl.certificate.location"),
                    certificate_pem: self.set_value("ssl.certificate.pem"),
                    key_location: self.set_value("ssl.key.location"),
                    key_pem: self.set_value("ssl.key.pem"),
                    key_password: self.set_value("ssl.key.password"),
                    verify_certificate: self.value("enable.ssl.certificate.verification") == "true",
                    verify_name: self.value("ssl.endpoint.identification.algorithm") == "https",
                };
                Some(
                    tls_settings::client_config(&options)
                        .map_err(|why| ConfigError::Invalid(format!("security.protocol={}: {why}", protocol.name())))?,
                )
            }
        };
        let sasl = match protocol.uses_sasl() {
            false => None,
            true => {
                let mechanism_name = self.value("sasl.mechanism");
                let Some(mechanism) = Mechanism::from_name(mechanism_name) else {
                    let why = MECHANISMS_NOT_SUPPORTED.iter().find(|(m, _)| *m == mechanism_name).map_or("not supported", |(_, why)| why);
                    return Err(ConfigError::Invalid(format!("sasl.mechanism {mechanism_name} is not supported: {why}")));
                };
                let username = self.set_value("sasl.username");
                let password = self.set_value("sasl.password");
                let (Some(username), Some(password)) = (username, password) else {
                    return Err(ConfigError::Invalid(format!(
                        "security.protocol={} with sasl.mechanism {}: sasl.username and sasl.password must be set",
                        protocol.name(),
                        mechanism.name()
                    )));
                };
                Some(Arc::new(Credentials { mechanism, username: username.to_owned(), password: Zeroizing::new(password.to_owned()) }))
            }
        };
        Ok(Security { tls, sasl })
    }
}

impl Config {
    /// The topic-level options records of `topic` use.
    pub fn topic(&self, topic: &str) -> Arc<TopicConfig> {
        Arc::clone(self.topics.get(topic).unwrap_or(&self.topic_defaults))
    }
}

/// Checks a value; returns it as it is kept (a choice in its listed spelling).
fn check<'v>(spec: &OptionSpec, name: &str, value: &'v str) -> Result<&'v str, ConfigError> {
    // A long value is shown by its start only: the message is for a person.
    let shown: String = match value.chars().count() > 64 {
        true => value.chars().take(64).chain("...".chars()).collect(),
        false => value.to_owned(),
    };
    let invalid = |why: String| ConfigError::Invalid(format!("Invalid value \"{shown}\" for configuration property \"{name}\": {why}"));
    match spec.kind {
        Kind::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(value),
            Ok(_) => Err(invalid(format!("value must be {min}..{max}"))),
            Err(_) => Err(invalid("expected an integer".into())),
        },
        Kind::Millis { min, max } => match value.parse::<f64>() {
            Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(value),
            Ok(_) => Err(invalid(format!("value must be {min}..{max}"))),
            Err(_) => Err(invalid("expected a number of milliseconds".into())),
        },
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Ok("true"),
            "false" | "f" | "0" => Ok("false"),
            _ => Err(invalid("expected true or false".into())),
        },
        Kind::Acks if value.eq_ignore_ascii_case("all") => Ok("-1"),
        Kind::Acks => match value.parse::<i64>() {
            Ok(n) if (-1..=1000).contains(&n) => Ok(value),
            _ => Err(invalid("expected all, or -1..1000".into())),
        },
        Kind::Choice(choices) | Kind::ChoiceRefusing(choices, _) => match choices.iter().find(|c| c.eq_ignore_ascii_case(value)) {
            Some(choice) => Ok(choice),
            None => {
                let refusals = match spec.kind {
                    Kind::ChoiceRefusing(_, refusals) => refusals,
                    _ => &[],
                };
                match refusals.iter().find(|(refused, _)| refused.eq_ignore_ascii_case(value)) {
                    Some((_, why)) => Err(invalid(format!("not supported: {why}"))),
                    None => Err(invalid(format!("expected one of: {}", choices.join(", ")))),
                }
            }
        },
        Kind::Only { kind, value: only, refusal } => {
            let kept = check(&OptionSpec { kind: *kind, ..*spec }, name, value)?;
            // A number is compared as one ("01" asks for 1).
            let same = kept == only || matches!((kept.parse::<i64>(), only.parse::<i64>()), (Ok(a), Ok(b)) if a == b);
            match same {
                true => Ok(only),
                false => Err(invalid(format!("{refusal} (only \"{only}\" is)"))),
            }
        }
        Kind::DebugContexts if value.is_empty() => Err(invalid("must not be empty".into())),
        Kind::DebugContexts => match Contexts::parse(value) {
            Some(_) => Ok(value),
            None => Err(invalid(format!("expected a comma-separated list of: {}", super::log::DEBUG_CONTEXTS.join(", ")))),
        },
        Kind::Flags { names, refused } => {
            if value.is_empty() {
                return Err(invalid("must not be empty".into()));
            }
            for flag in value.split(',').map(|f| f.trim().trim_start_matches(['+', '-'])).filter(|f| !f.is_empty()) {
                if let Some((_, why)) = refused.iter().find(|(r, _)| r.eq_ignore_ascii_case(flag)) {
                    return Err(invalid(format!("not supported: {flag}: {why}")));
                }
                if !names.iter().any(|n| n.eq_ignore_ascii_case(flag)) {
                    return Err(invalid(format!("{flag}: expected any of: {}", names.join(", "))));
                }
            }
            Ok(spec.default)
        }
        // Whatever it is, it is not repeated: it may be a password or a key.
        Kind::Secret if value.len() > SECRET_MAX_BYTES => {
            Err(ConfigError::Invalid(format!("Invalid value for configuration property \"{name}\": {} bytes is too long", value.len())))
        }
        Kind::Secret => Ok(value),
        Kind::Text { required: true, .. } if value.is_empty() => Err(invalid("must not be empty".into())),
        Kind::Text { max_bytes, .. } if value.len() > max_bytes => {
            Err(invalid(format!("{} bytes, longer than the {max_bytes} a Kafka string can carry", value.len())))
        }
        Kind::Text { .. } => Ok(value),
        Kind::SoftwareId if value.is_empty() => Ok(spec.default),
        Kind::SoftwareId if value.len() > WIRE_STRING_MAX => {
            Err(invalid(format!("{} bytes, longer than the {WIRE_STRING_MAX} a Kafka string can carry", value.len())))
        }
        Kind::SoftwareId => Ok(value),
    }
}

/// KIP-511's form, `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`, made as
/// librdkafka makes it: what is not a letter or digit is cut from both
/// ends, and any other byte not allowed inside becomes '-'.
fn sanitize_software_id(value: &str) -> String {
    let trimmed = value.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    trimmed.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' { char::from(b) } else { '-' }).collect()
}

/// librdkafka's default port is 9092 when a server omits one.
fn with_default_port(server: &str) -> String {
    let has_port = match server.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']')),
        None => false,
    };
    if has_port {
        server.to_owned()
    } else {
        format!("{server}:9092")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(pairs: &[(&str, &str)]) -> ConfigBuilder {
        let mut b = ConfigBuilder::new();
        b.set("bootstrap.servers", "127.0.0.1:9092").unwrap();
        for (k, v) in pairs {
            b.set(k, v).unwrap();
        }
        b
    }

    #[test]
    fn a_client_id_must_fit_a_kafka_string() {
        let mut b = builder(&[]);
        assert!(b.set("client.id", &"c".repeat(32_767)).is_ok());
        let ConfigError::Invalid(message) = b.set("client.id", &"c".repeat(32_768)).unwrap_err() else { panic!("not Invalid") };
        assert!(message.contains("32768 bytes, longer than the 32767 a Kafka string can carry"), "{message}");
        assert!(message.len() < 300, "the value is shown by its start only: {} bytes", message.len());
        assert_eq!(b.get("client.id").map(str::len), Some(32_767), "nothing changed on error");
    }

    #[test]
    fn defaults_are_librdkafkas() {
        let c = builder(&[]).build().unwrap();
        assert_eq!(c.topic_defaults.acks, -1);
        assert_eq!(c.linger, Duration::from_millis(5));
        assert_eq!((c.batch_num_messages, c.batch_size), (10_000, 1_000_000));
        assert_eq!(c.topic_defaults.codec, Codec::None);
        assert_eq!(c.topic_defaults.message_timeout, Some(Duration::from_secs(300)));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.retries, i32::MAX as u32);
        assert_eq!(c.message_max_bytes, 1_000_000);
        assert_eq!((c.queue_max_messages, c.queue_max_bytes), (100_000, 1_048_576 * 1024));
        assert_eq!(c.topic_defaults.partitioner, Partitioner::ConsistentRandom);
        assert_eq!(c.client_id, "rdkafka");
    }

    #[test]
    fn aliases_set_the_same_option() {
        let c = builder(&[
            ("request.required.acks", "1"),
            ("queue.buffering.max.ms", "0.5"),
            ("compression.type", "zstd"),
            ("delivery.timeout.ms", "0"),
            ("message.send.max.retries", "3"),
        ])
        .build()
        .unwrap();
        assert_eq!(c.topic_defaults.acks, 1);
        assert_eq!(c.linger, Duration::from_micros(500));
        assert_eq!(c.topic_defaults.codec, Codec::Zstd);
        assert_eq!(c.topic_defaults.message_timeout, None);
        assert_eq!(c.retries, 3);
        assert_eq!(builder(&[("acks", "all")]).build().unwrap().topic_defaults.acks, -1);
        let mut b = ConfigBuilder::new();
        b.set("metadata.broker.list", "h1,h2:9093, [::1]:9 ,").unwrap();
        assert_eq!(b.build().unwrap().bootstrap_servers, ["h1:9092", "h2:9093", "[::1]:9"]);
        assert_eq!(b.get("bootstrap.servers"), Some("h1,h2:9093, [::1]:9 ,"));
    }

    #[test]
    fn unknown_names_and_bad_values_are_refused_with_the_name() {
        let mut b = builder(&[("linger.ms", "7")]);
        let err = b.set("no.such.option", "1").unwrap_err();
        assert_eq!(err.code(), -2);
        assert!(err.message().contains("no.such.option"), "{}", err.message());
        for (name, value) in [
            ("linger.ms", "abc"),
            ("linger.ms", "-1"),
            ("acks", "1001"),
            ("compression.codec", "brotli"),
            ("partitioner", "nope"),
            ("batch.num.messages", "0"),
            ("message.max.bytes", "999"),
            ("enable.idempotence", "yes"),
            ("bootstrap.servers", ""),
        ] {
            let err = b.set(name, value).unwrap_err();
            assert_eq!(err.code(), -1, "{name}={value}");
            assert!(err.message().contains(name) && err.message().contains(value), "{}", err.message());
        }
        assert_eq!(b.build().unwrap().linger, Duration::from_millis(7), "a refused value changed nothing");
    }

    #[test]
    fn build_checks_combinations() {
        // Levels as librdkafka takes them: -1..12 for every codec, gzip's clamped to 9, snappy's ignored.
        assert_eq!(
            builder(&[("compression.codec", "gzip"), ("compression.level", "12")]).build().unwrap().topic_defaults.compression_level,
            9
        );
        assert_eq!(
            builder(&[("compression.codec", "zstd"), ("compression.level", "12")]).build().unwrap().topic_defaults.compression_level,
            12
        );
        assert_eq!(
            builder(&[("compression.codec", "snappy"), ("compression.level", "3")]).build().unwrap().topic_defaults.compression_level,
            -1
        );
        assert_eq!(builder(&[]).set("compression.level", "13").unwrap_err().code(), -1);
        assert!(ConfigBuilder::new().build().unwrap_err().message().contains("bootstrap.servers"));
    }

    #[test]
    fn idempotence_forces_librdkafkas_rules() {
        let c = builder(&[("enable.idempotence", "true")]).build().unwrap();
        assert!(c.idempotence);
        assert_eq!((c.topic_defaults.acks, c.max_in_flight), (-1, 5));
        assert_eq!(builder(&[]).build().unwrap().max_in_flight, 1_000_000);
        for (name, value) in [("acks", "1"), ("acks", "0"), ("max.in.flight", "6"), ("retries", "0")] {
            let err = builder(&[("enable.idempotence", "true"), (name, value)]).build().unwrap_err();
            let option = if name == "max.in.flight" { "max.in.flight.requests.per.connection" } else { name };
            assert!(err.message().contains(option) && err.message().contains("enable.idempotence"), "{}", err.message());
        }
        assert_eq!(builder(&[("enable.idempotence", "true"), ("max.in.flight", "3")]).build().unwrap().max_in_flight, 3);
    }

    #[test]
    fn secrets_read_back_redacted_and_never_show_in_errors_or_debug() {
        let mut b = builder(&[("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanisms", "scram-sha-512"), ("sasl.username", "alice")]);
        b.set("sasl.password", "hunter2,=").unwrap();
        b.set("ssl.key.password", "key-pass").unwrap();
        assert_eq!(b.get("sasl.password"), Some(REDACTED));
        assert_eq!(b.get("ssl.key.password"), Some(REDACTED));
        assert_eq!(b.get("ssl.key.pem"), Some(""), "an unset secret reads as its default");
        assert_eq!(b.get("security.protocol"), Some("sasl_plaintext"), "a choice is kept as librdkafka spells it");
        assert_eq!(b.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        let debug = format!("{b:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("key-pass") && debug.contains("alice"), "{debug}");
        let config = b.build().unwrap();
        let credentials = config.security.sasl.as_ref().unwrap();
        assert_eq!((credentials.username.as_str(), credentials.password.as_str()), ("alice", "hunter2,="));
        assert!(config.security.tls.is_none());
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn sasl_needs_a_supported_mechanism_and_credentials() {
        let err = builder(&[("security.protocol", "sasl_ssl"), ("sasl.username", "u"), ("sasl.password", "p")]).build().unwrap_err();
        assert!(err.message().contains("GSSAPI") && err.message().contains("not supported"), "librdkafka's default: {}", err.message());
        let err =
            builder(&[("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"), ("sasl.username", "u")]).build().unwrap_err();
        assert!(err.message().contains("sasl.password"), "{}", err.message());
        let mut b = builder(&[]);
        for mechanism in ["GSSAPI", "oauthbearer"] {
            let err = b.set("sasl.mechanism", mechanism).unwrap_err();
            assert!(err.message().contains("not supported"), "{}", err.message());
        }
        assert_eq!(b.set("sasl.mechanism", "SCRAM-SHA-1").unwrap_err().code(), -1);
    }

    #[test]
    fn unsupported_librdkafka_options_are_refused_as_such() {
        let mut b = builder(&[]);
        for name in [
            "ssl.keystore.location",
            "ssl.keystore.password",
            "ssl.engine.id",
            "ssl.cipher.suites",
            "sasl.kerberos.keytab",
            "sasl.oauthbearer.method",
        ] {
            let err = b.set(name, "secret-value").unwrap_err();
            assert_eq!(err.code(), -1, "{name}");
            assert!(err.message().contains(name) && err.message().contains("is not supported"), "{}", err.message());
            assert!(!err.message().contains("secret-value"), "{}", err.message());
        }
        assert_eq!(b.set("ssl.no.such.thing", "1").unwrap_err().code(), -2, "a name librdkafka does not have is unknown");
    }

    #[test]
    fn bad_tls_files_are_refused_at_build_naming_the_option() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("ssl.ca.location", "/no/such/ca.pem")], "ssl.ca.location: /no/such/ca.pem"),
            (&[("ssl.ca.pem", "not pem")], "ssl.ca.pem"),
            (&[("ssl.ca.location", "probe"), ("ssl.certificate.pem", CERTIFICATE_PEM)], "needs its key"),
            (&[("ssl.ca.location", "probe"), ("ssl.key.pem", KEY_PEM)], "needs its certificate"),
            (&[("ssl.ca.location", "probe"), ("ssl.key.pem", KEY_PEM), ("ssl.certificate.pem", CERTIFICATE_PEM)], "cannot be used"),
            (
                &[("ssl.ca.location", "probe"), ("ssl.key.pem", "garbage"), ("ssl.certificate.pem", CERTIFICATE_PEM)],
                "ssl.key.pem: not a PEM",
            ),
            (&[("ssl.ca.location", "probe"), ("ssl.key.location", "/no/such/key.pem")], "ssl.key.location: /no/such/key.pem"),
        ];
        for (options, reason) in cases {
            let mut pairs = vec![("security.protocol", "ssl")];
            pairs.extend_from_slice(options);
            let err = builder(&pairs).build().unwrap_err();
            assert!(err.message().contains(reason), "{options:?}: {}", err.message());
        }
        let config = builder(&[("security.protocol", "SSL"), ("enable.ssl.certificate.verification", "false")]).build().unwrap();
        assert!(config.security.tls.is_some() && config.security.sasl.is_none());
    }

    /// A syntactically valid PEM certificate and key (contents are not parsed until use).
    const CERTIFICATE_PEM: &str = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

    #[test]
    fn values_are_read_as_librdkafka_reads_them() {
        let mut b = builder(&[]);
        for (value, kept) in [("TRUE", "true"), ("t", "true"), ("1", "true"), ("False", "false"), ("F", "false"), ("0", "false")] {
            b.set("enable.idempotence", value).unwrap();
            assert_eq!(b.get("enable.idempotence"), Some(kept), "{value}");
        }
        for value in ["yes", "2", ""] {
            assert_eq!(b.set("enable.idempotence", value).unwrap_err().code(), -1, "{value}");
        }
        for (value, acks) in [("ALL", -1), ("all", -1), ("-1", -1), ("0", 0), ("2", 2), ("1000", 1000)] {
            b.set("acks", value).unwrap();
            assert_eq!(b.build().unwrap().topic_defaults.acks, acks, "{value}");
        }
        assert_eq!(b.set("acks", "-2").unwrap_err().code(), -1);
        b.set("compression.codec", "LZ4").unwrap();
        assert_eq!(b.get("compression.codec"), Some("lz4"));
        b.set("queue.buffering.max.messages", "0").unwrap();
        assert_eq!(b.build().unwrap().queue_max_messages, usize::MAX, "0: no limit");
    }

    const CONSUMER_WARNING: &str = "is a consumer property and will be ignored by this producer instance";

    #[test]
    fn consumer_properties_are_kept_readable_and_warned_about() {
        let b = builder(&[("group.id", "my-group"), ("max.partition.fetch.bytes", "2048"), ("auto.offset.reset", "EARLIEST")]);
        assert_eq!(b.get("group.id"), Some("my-group"));
        assert_eq!(b.get("fetch.message.max.bytes"), Some("2048"), "set through its alias");
        assert_eq!(b.get("auto.offset.reset"), Some("earliest"), "kept in librdkafka's spelling");
        assert_eq!(b.get("isolation.level"), Some("read_committed"), "unset: librdkafka's default");
        let config = b.build().unwrap();
        assert_eq!(
            config.warnings(),
            [
                format!("Configuration property group.id {CONSUMER_WARNING}"),
                format!("Configuration property fetch.message.max.bytes {CONSUMER_WARNING}"),
                format!("Configuration property auto.offset.reset {CONSUMER_WARNING}"),
            ]
        );
        assert!(builder(&[]).build().unwrap().warnings().is_empty());
    }

    #[test]
    fn a_bad_value_for_a_consumer_property_is_refused_as_librdkafka_refuses_it() {
        let mut b = builder(&[("session.timeout.ms", "10000")]);
        for (name, value) in
            [("session.timeout.ms", "0"), ("enable.auto.commit", "yes"), ("auto.offset.reset", "oldest"), ("fetch.max.bytes", "2147483136")]
        {
            let err = b.set(name, value).unwrap_err();
            assert_eq!(err.code(), -1, "{name}={value}");
            assert!(err.message().contains(name) && err.message().contains(value), "{}", err.message());
        }
        assert_eq!(b.get("session.timeout.ms"), Some("10000"), "nothing changed on error");
    }

    #[test]
    fn deprecated_and_experimental_properties_warn_in_librdkafkas_words() {
        let config = builder(&[("socket.blocking.max.ms", "5"), ("queuing.strategy", "FIFO"), ("enable.gapless.guarantee", "false")])
            .build()
            .unwrap();
        assert_eq!(
            config.warnings(),
            [
                "Configuration property enable.gapless.guarantee is experimental: When set to `true`, any error that could result in a gap \
                 in the produced message series when a batch of messages fails, will raise a fatal error (ERR__GAPLESS_GUARANTEE) and stop \
                 the producer. Messages failing due to `message.timeout.ms` are not covered by this guarantee. Requires \
                 `enable.idempotence=true`.",
                "Configuration property queuing.strategy is deprecatedexperimental: Producer queuing strategy. FIFO preserves produce \
                 ordering, while LIFO prioritizes new messages.",
                "Configuration property socket.blocking.max.ms is deprecated: No longer used.",
            ]
        );
        let warnings = builder(&[("offset.store.path", "/var/offsets")]).build().unwrap().warnings().to_vec();
        assert_eq!(warnings.len(), 2, "deprecated, and a consumer property: {warnings:?}");
        assert!(warnings[0].starts_with("Configuration property offset.store.path is deprecated: Path to local file"), "{warnings:?}");
        assert_eq!(warnings[1], format!("Configuration property offset.store.path {CONSUMER_WARNING}"));
    }

    #[test]
    fn warnings_never_quote_a_value() {
        let secret = "hunter2-secret";
        let b = builder(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "alice"),
            ("sasl.password", secret),
            ("group.id", secret),
            ("broker.version.fallback", secret),
        ]);
        let config = b.build().unwrap();
        assert_eq!(config.warnings().len(), 2, "{:?}", config.warnings());
        for warning in config.warnings() {
            assert!(!warning.contains(secret) && !warning.contains("alice"), "{warning}");
        }
    }

    #[test]
    fn callbacks_and_pointers_are_refused_as_not_supported() {
        let mut b = builder(&[]);
        for name in ["dr_msg_cb", "error_cb", "log_cb", "opaque", "interceptors", "rebalance_cb", "ssl_key"] {
            let err = b.set(name, "0x7f00deadbeef").unwrap_err();
            assert_eq!(err.code(), -1, "{name}");
            assert!(
                err.message().starts_with(&format!("Configuration property \"{name}\" is not supported: a callback or pointer")),
                "{}",
                err.message()
            );
            assert!(!err.message().contains("0x7f00deadbeef"), "{}", err.message());
        }
    }

    #[test]
    fn what_a_later_issue_adds_is_refused_as_not_supported_yet() {
        let mut b = builder(&[]);
        let err = b.set("transactional.id", "tx-1").unwrap_err();
        assert_eq!(err.code(), -1);
        assert!(err.message().contains("transactional.id") && err.message().contains("not supported yet: "), "{}", err.message());
        // The value that asks for what ablkafka does is accepted.
        b.set("broker.address.ttl", "0").unwrap();
        assert_eq!(b.set("broker.address.ttl", "1000").unwrap_err().code(), -1);
    }

    #[test]
    fn statistics_interval_has_librdkafkas_default_and_range() {
        assert_eq!(builder(&[]).build().unwrap().statistics_interval, None, "0: off");
        let c = builder(&[("statistics.interval.ms", "86400000")]).build().unwrap();
        assert_eq!(c.statistics_interval, Some(Duration::from_secs(86_400)));
        let mut b = builder(&[]);
        for value in ["-1", "86400001", "1.5"] {
            assert_eq!(b.set("statistics.interval.ms", value).unwrap_err().code(), -1, "{value}");
        }
    }

    #[test]
    fn log_options_are_librdkafkas() {
        let mut b = builder(&[("log.queue", "TRUE"), ("log.connection.close", "f")]);
        let err = b.set("debug", "broker,nope").unwrap_err();
        assert_eq!(err.code(), -1);
        assert!(
            err.message().contains("nope") && err.message().contains("generic, broker, topic"),
            "lists the contexts: {}",
            err.message()
        );
        let log = b.build().unwrap().log;
        assert_eq!((log.level, log.to_queue, log.connection_close), (6, true, false));
        assert!(log.debug.is_empty());
        b.set("debug", "Broker, CONF").unwrap();
        let config = b.build().unwrap();
        assert_eq!(config.log.level, 7, "a debug context raises log_level to 7, as in librdkafka");
        assert!(config.dump.iter().any(|l| l == "compression.codec = none"), "{:?}", config.dump);
        b.set("sasl.password", "hunter2").unwrap();
        let dump = b.build().unwrap().dump.join("\n");
        assert!(dump.contains("sasl.password = [redacted]") && !dump.contains("hunter2"), "{dump}");
        assert!(builder(&[]).build().unwrap().dump.is_empty(), "only at debug=conf");
    }

    #[test]
    fn options_honoured_with_one_value_refuse_the_others_with_why() {
        let mut b = builder(&[("api.version.request", "TRUE"), ("socket.max.fails", "01"), ("log_level", "3"), ("log.thread.name", "f")]);
        assert_eq!((b.get("api.version.request"), b.get("socket.max.fails")), (Some("true"), Some("1")));
        let err = b.set("api.version.request", "f").unwrap_err();
        assert!(
            err.message().ends_with(
                "not supported: every broker is asked for its API versions: brokers before 0.10 are not supported (only \"true\" is)"
            ),
            "{}",
            err.message()
        );
        let err = b.set("api.version.request", "maybe").unwrap_err();
        assert!(err.message().contains("expected true or false") && !err.message().contains("not supported"), "{}", err.message());
        assert_eq!(b.get("enable.metrics.push"), Some("false"), "an option honoured with one value reads as that value");
        // builtin.features checks what an application needs against what is built.
        b.set("builtin.features", " +GZIP, lz4,,sasl_scram").unwrap();
        assert_eq!(b.get("builtin.features"), Some("gzip,snappy,ssl,sasl,lz4,sasl_plain,sasl_scram,zstd"));
        assert!(b.set("builtin.features", "gzip,sasl_gssapi").unwrap_err().message().contains("not supported: sasl_gssapi: GSSAPI"));
        assert!(!b.set("builtin.features", "brotli").unwrap_err().message().contains("not supported"));
        let config = b.build().unwrap();
        assert_eq!((config.log.level, config.log.thread_name), (3, false));
        assert_eq!(config.api_version_timeout, Duration::from_secs(10));
        assert_eq!(config.receive_message_max_bytes, 100_000_000);
    }

    #[test]
    fn topics_have_their_own_topic_level_options() {
        let mut b = builder(&[("acks", "1"), ("compression.codec", "gzip")]);
        b.set_topic("orders", "request.required.acks", "all").unwrap();
        b.set_topic("orders", "compression.type", "ZSTD").unwrap();
        b.set_topic("orders", "compression.level", "12").unwrap();
        b.set_topic("logs", "delivery.timeout.ms", "0").unwrap();
        assert_eq!(b.get_topic("orders", "acks"), Some("-1"));
        assert_eq!(b.get_topic("orders", "compression.codec"), Some("zstd"));
        assert_eq!(b.get_topic("logs", "compression.codec"), Some("gzip"), "the producer's, where the topic has none");
        assert_eq!(b.get_topic("other", "acks"), Some("1"));
        assert_eq!(b.get_topic("orders", "linger.ms"), None, "not topic-level");
        let config = b.build().unwrap();
        let orders = config.topic("orders");
        assert_eq!((orders.acks, orders.codec, orders.compression_level), (-1, Codec::Zstd, 12));
        assert_eq!(config.topic("logs").message_timeout, None);
        assert_eq!(config.topic("logs").acks, 1);
        assert_eq!(*config.topic("unconfigured"), *config.topic_defaults);
        assert_eq!((config.topic_defaults.acks, config.topic_defaults.codec), (1, Codec::Gzip));
    }

    #[test]
    fn topic_options_are_refused_as_librdkafka_refuses_them() {
        let mut b = builder(&[]);
        let err = b.set_topic("t", "linger.ms", "5").unwrap_err();
        assert_eq!(err.code(), -2, "a global property is unknown to a topic configuration: {}", err.message());
        assert_eq!(b.set_topic("t", "acks", "2000").unwrap_err().code(), -1);
        let err = b.set_topic("bad topic", "acks", "1").unwrap_err();
        assert!(err.code() == -1 && err.message().contains("bad topic"), "{}", err.message());
        assert_eq!(b.get_topic("t", "acks"), Some("-1"), "nothing was kept");
        let mut idempotent = builder(&[("enable.idempotence", "true")]);
        idempotent.set_topic("t", "acks", "1").expect("checked at build, as the producer's acks is");
        let err = idempotent.build().unwrap_err();
        assert!(err.message().contains("topic \"t\"") && err.message().contains("enable.idempotence"), "{}", err.message());
    }

    #[test]
    fn the_topic_prefix_sets_the_default_topic_configuration() {
        let mut b = builder(&[]);
        b.set("topic.acks", "0").unwrap();
        b.set("topic.compression.codec", "lz4").unwrap();
        assert_eq!((b.get("acks"), b.get("topic.acks")), (Some("0"), Some("0")));
        assert_eq!(b.build().unwrap().topic_defaults.codec, Codec::Lz4);
        assert_eq!(b.set("topic.linger.ms", "1").unwrap_err().code(), -2, "linger.ms is not topic-level");
        b.set("topic.metadata.refresh.interval.ms", "1000").unwrap();
        assert_eq!(b.get("topic.metadata.refresh.interval.ms"), Some("1000"), "a global name that starts with topic.");
    }

    #[test]
    fn socket_options_have_librdkafkas_defaults_and_ranges() {
        let c = builder(&[]).build().unwrap();
        assert_eq!(c.socket, SocketOptions::default());
        assert_eq!((c.socket.keepalive, c.socket.nodelay, c.socket.family), (false, true, AddressFamily::Any));
        assert_eq!((c.socket.send_buffer, c.socket.receive_buffer), (None, None), "0: the system's default");
        let c = builder(&[
            ("socket.keepalive.enable", "t"),
            ("socket.nagle.disable", "false"),
            ("socket.send.buffer.bytes", "100000000"),
            ("socket.receive.buffer.bytes", "4096"),
            ("broker.address.family", "V6"),
        ])
        .build()
        .unwrap();
        let socket = SocketOptions {
            keepalive: true,
            nodelay: false,
            send_buffer: Some(100_000_000),
            receive_buffer: Some(4096),
            family: AddressFamily::V6,
        };
        assert_eq!(c.socket, socket);
        let mut b = builder(&[]);
        for (name, value) in
            [("socket.send.buffer.bytes", "100000001"), ("socket.receive.buffer.bytes", "-1"), ("broker.address.family", "v5")]
        {
            assert_eq!(b.set(name, value).unwrap_err().code(), -1, "{name}={value}");
        }
        assert_eq!(b.get("broker.address.family"), Some("any"));
    }

    #[test]
    fn socket_timeout_has_librdkafkas_default_and_range() {
        assert_eq!(builder(&[]).build().unwrap().socket_timeout, Duration::from_secs(60));
        assert_eq!(builder(&[("socket.timeout.ms", "10")]).build().unwrap().socket_timeout, Duration::from_millis(10));
        let mut b = builder(&[]);
        for value in ["9", "300001"] {
            assert_eq!(b.set("socket.timeout.ms", value).unwrap_err().code(), -1, "{value}");
        }
    }

    #[test]
    fn connections_max_idle_has_librdkafkas_default_and_range() {
        assert_eq!(builder(&[]).build().unwrap().connections_max_idle, None, "0: never closed for idleness");
        let c = builder(&[("connections.max.idle.ms", "2147483647")]).build().unwrap();
        assert_eq!(c.connections_max_idle, Some(Duration::from_millis(i32::MAX as u64)));
        assert_eq!(builder(&[]).set("connections.max.idle.ms", "-1").unwrap_err().code(), -1);
    }

    #[test]
    fn metadata_options_have_librdkafkas_defaults_and_ranges() {
        let c = builder(&[]).build().unwrap();
        assert_eq!((c.metadata_max_age, c.metadata_fast_interval), (Duration::from_secs(900), Duration::from_millis(100)));
        assert!(c.allow_auto_create_topics, "librdkafka's producer default");
        assert!(!builder(&[("allow.auto.create.topics", "0")]).build().unwrap().allow_auto_create_topics);
        let mut b = builder(&[]);
        for (name, value) in
            [("metadata.max.age.ms", "0"), ("topic.metadata.refresh.fast.interval.ms", "60001"), ("topic.metadata.refresh.sparse", "maybe")]
        {
            assert_eq!(b.set(name, value).unwrap_err().code(), -1, "{name}={value}");
        }
        b.set("topic.metadata.refresh.sparse", "false").unwrap();
        assert_eq!(b.get("topic.metadata.refresh.sparse"), Some("false"), "accepted, read back; nothing else changes");
    }

    #[test]
    fn metadata_timings_default_as_librdkafka_derives_them() {
        let c = builder(&[("topic.metadata.refresh.interval.ms", "1000"), ("retry.backoff.ms", "250")]).build().unwrap();
        assert_eq!(c.metadata_max_age, Duration::from_secs(3), "three refresh intervals");
        assert_eq!(c.metadata_fast_interval, Duration::from_millis(250), "retry.backoff.ms");
        let c = builder(&[("topic.metadata.refresh.interval.ms", "-1")]).build().unwrap();
        assert_eq!(c.metadata_max_age, Duration::from_secs(900), "no interval to derive it from");
        let c = builder(&[
            ("topic.metadata.refresh.interval.ms", "1000"),
            ("metadata.max.age.ms", "5"),
            ("retry.backoff.ms", "250"),
            ("topic.metadata.refresh.fast.interval.ms", "100"),
        ])
        .build()
        .unwrap();
        assert_eq!((c.metadata_max_age, c.metadata_fast_interval), (Duration::from_millis(5), Duration::from_millis(100)), "set: kept");
    }

    #[test]
    fn client_software_ids_are_taken_as_librdkafka_takes_them() {
        let c = builder(&[]).build().unwrap();
        assert_eq!((c.client_software_name.as_str(), c.client_software_version.as_str()), ("ablkafka", env!("CARGO_PKG_VERSION")));
        // Pairs as librdkafka 2.16 sends them (rd_kafka_new's sanitizing, read back by rd_kafka_conf_get).
        for (value, sent) in [
            ("ablkafka", "ablkafka"),
            ("a b!", "a-b"),
            ("-x_y.", "x-y"),
            ("\u{e9}-z", "z"),
            ("a\u{e9}b", "a--b"),
            ("1.2.3-rc1+build", "1.2.3-rc1-build"),
            ("x..y", "x..y"),
        ] {
            let c = builder(&[("client.software.name", value), ("client.software.version", value)]).build().unwrap();
            assert_eq!((c.client_software_name.as_str(), c.client_software_version.as_str()), (sent, sent), "{value:?}");
            assert_eq!(builder(&[("client.software.name", value)]).get("client.software.name"), Some(value), "read back as set");
        }
        let mut b = builder(&[("client.software.name", "app"), ("client.software.version", "9")]);
        b.set("client.software.name", "").unwrap();
        b.set("client.software.version", "").unwrap();
        assert_eq!(b.get("client.software.name"), Some("ablkafka"), "empty: the default again");
        assert_eq!(b.get("client.software.version"), Some(env!("CARGO_PKG_VERSION")));
        // librdkafka sends garbage for a value with no letter or digit; refused at build here.
        let err = builder(&[("client.software.name", "..")]).build().unwrap_err();
        assert!(err.code() == -1 && err.message().contains("client.software.name"), "{}", err.message());
        assert_eq!(b.set("client.software.version", &"v".repeat(32_768)).unwrap_err().code(), -1, "must fit a compact string");
    }

    #[test]
    fn client_rack_is_kept_and_read_back() {
        let mut b = builder(&[]);
        assert_eq!(b.get("client.rack"), Some(""));
        b.set("client.rack", "eu-west-1a").unwrap();
        assert_eq!(b.get("client.rack"), Some("eu-west-1a"));
        assert!(b.build().is_ok());
    }

    #[test]
    fn every_listed_name_resolves() {
        for name in option_names() {
            assert!(spec(name).is_some(), "{name}");
        }
        assert!(option_names().count() > 25);
    }
}
