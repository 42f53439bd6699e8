//! Producer options by librdkafka's names, aliases, ranges and defaults.
//!
//! Each value is checked when it is set, so a bad value is refused at once
//! with a message naming the option, and kept with what it means; `build`
//! reads those meanings and checks the combinations.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use zeroize::Zeroizing;

use super::log::{Contexts, LogSettings, LOG_DEBUG};
use super::partitioner::Partitioner;
use super::protocol::compression::Codec;
use super::sasl::{Credentials, Mechanism};
use super::security::tls_settings::{self, TlsOptions};
use super::security::{Protocol, Security};
use super::topic_config::{TopicConfig, TOPIC_OPTIONS};
use super::topic_name;

mod ignored;
mod options;
mod read;
mod refused;
pub mod socket;
mod spec;
mod value;
mod warnings;

use socket::{AddressFamily, SocketOptions};

use options::{MECHANISMS_NOT_SUPPORTED, OPTIONS, SECRET_MAX_BYTES};
use read::Read;
use spec::{Kind, OptionSpec, WIRE_STRING_MAX};
use value::{Checked, Setting, Value};

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
    /// The producer's request.timeout.ms (each Produce request has its
    /// topic's): how long a connection being replaced waits for the
    /// answers in flight on it.
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
#[cfg(test)]
pub fn option_names() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
}

/// The meaning of an option's default: checked once, on first use, by the
/// same `check` as a value set. None where the default is not a value a
/// caller could set (bootstrap.servers' and debug's empty ones,
/// sasl.mechanism's GSSAPI).
fn default_value(spec: &OptionSpec) -> Option<Value> {
    static DEFAULTS: OnceLock<BTreeMap<&'static str, Value>> = OnceLock::new();
    let defaults = DEFAULTS.get_or_init(|| accepted().filter_map(|s| Some((s.name, check(s, s.name, s.default).ok()?.value))).collect());
    defaults.get(spec.name).copied()
}

/// Collects options; cheap to clone, reusable after `build`.
#[derive(Clone, Default)]
pub struct ConfigBuilder {
    /// Values as set, each with its meaning; every text is wiped from
    /// memory when dropped, secrets among them.
    values: BTreeMap<&'static str, Setting>,
    /// Topic-level values set for one topic, by topic.
    topics: BTreeMap<String, BTreeMap<&'static str, Setting>>,
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
        let checked = check(spec, name, value.trim())?;
        self.values.insert(spec.name, checked.into());
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
        let checked = check(spec, name, value.trim())?;
        self.topics.entry(topic.to_owned()).or_default().insert(spec.name, checked.into());
        Ok(())
    }

    /// A topic-level option's value for `topic`: its own, else the
    /// producer's (or the default). None for a name that is not topic-level.
    pub fn get_topic(&self, topic: &str, name: &str) -> Option<&str> {
        let spec = topic_spec(name)?;
        Some(self.current(Some(topic), spec.name)?.0)
    }

    /// The current value (or default) of an option, by name or alias, as an
    /// application may read it back: a secret that is set reads as
    /// `[redacted]`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let spec = spec(name)?;
        match (spec.kind, self.values.contains_key(spec.name)) {
            (Kind::Secret, true) => Some(REDACTED),
            _ => Some(self.current(None, spec.name)?.0),
        }
    }

    /// An option's text (secrets included) and meaning: `topic`'s own if
    /// it has one, else the producer's, else the default's. None for a name
    /// that is not an option.
    fn current(&self, topic: Option<&str>, name: &str) -> Option<(&str, Option<Value>)> {
        let spec = spec(name)?;
        let own = topic.and_then(|t| self.topics.get(t)).and_then(|values| values.get(spec.name));
        Some(match own.or_else(|| self.values.get(spec.name)) {
            Some(setting) => (setting.text.as_str(), Some(setting.value)),
            None => (spec.default, default_value(spec)),
        })
    }

    /// Whether the producer's value of an option was set.
    fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn build(&self) -> Result<Config, ConfigError> {
        let read = Read::producer(self);
        let servers: Vec<String> =
            read.text("bootstrap.servers")?.split(',').map(str::trim).filter(|s| !s.is_empty()).map(with_default_port).collect();
        if servers.is_empty() {
            return Err(ConfigError::Invalid("bootstrap.servers must be set to at least one host[:port]".into()));
        }
        let idempotence = read.flag("enable.idempotence")?;
        let topic_defaults = Arc::new(topic_config(&read, idempotence)?);
        let topics = self
            .topics
            .keys()
            .map(|topic| Ok((topic.clone(), Arc::new(topic_config(&Read::topic(self, topic), idempotence)?))))
            .collect::<Result<HashMap<_, _>, ConfigError>>()?;
        let mut max_in_flight = read.int("max.in.flight.requests.per.connection")? as usize;
        let retries = read.int("retries")?;
        if idempotence {
            // librdkafka's rules: acks=all (checked per topic), at most 5 in
            // flight, retries > 0; an unset max.in.flight is lowered to 5
            // rather than refused.
            if !self.is_set("max.in.flight.requests.per.connection") {
                max_in_flight = 5;
            } else if max_in_flight > 5 {
                return Err(ConfigError::Invalid(
                    "`max.in.flight.requests.per.connection` must be set <= 5 when `enable.idempotence` is true".into(),
                ));
            }
            if retries == 0 {
                return Err(ConfigError::Invalid("`retries` must be greater than 0 when `enable.idempotence` is true".into()));
            }
        }
        let metadata_refresh_interval = match read.int("topic.metadata.refresh.interval.ms")? {
            n if n <= 0 => None,
            n => Some(Duration::from_millis(n as u64)),
        };
        Ok(Config {
            bootstrap_servers: servers,
            client_id: read.text("client.id")?.to_owned(),
            linger: read.millis("linger.ms")?,
            batch_num_messages: read.int("batch.num.messages")? as usize,
            batch_size: read.int("batch.size")? as usize,
            topic_defaults,
            topics,
            request_timeout: read.millis("request.timeout.ms")?,
            retries: retries as u32,
            retry_backoff: read.millis("retry.backoff.ms")?,
            retry_backoff_max: read.millis("retry.backoff.max.ms")?.max(read.millis("retry.backoff.ms")?),
            reconnect_backoff: read.millis("reconnect.backoff.ms")?,
            reconnect_backoff_max: read.millis("reconnect.backoff.max.ms")?.max(read.millis("reconnect.backoff.ms")?),
            connect_timeout: read.millis("socket.connection.setup.timeout.ms")?,
            message_max_bytes: read.int("message.max.bytes")? as usize,
            // 0: no limit, as in librdkafka.
            queue_max_messages: match read.int("queue.buffering.max.messages")? {
                0 => usize::MAX,
                n => n as usize,
            },
            queue_max_bytes: (read.int("queue.buffering.max.kbytes")? as usize).saturating_mul(1024),
            sticky_linger: read.millis("sticky.partitioning.linger.ms")?,
            backpressure_threshold: read.int("queue.buffering.backpressure.threshold")? as usize,
            metadata_refresh_interval,
            metadata_propagation_max: read.millis("topic.metadata.propagation.max.ms")?,
            idempotence,
            max_in_flight,
            security: security(&read)?,
            socket: socket_options(&read)?,
            socket_timeout: read.millis("socket.timeout.ms")?,
            connections_max_idle: Some(read.millis("connections.max.idle.ms")?).filter(|idle| !idle.is_zero()),
            metadata_max_age: self.metadata_max_age(&read)?,
            metadata_fast_interval: match self.is_set("topic.metadata.refresh.fast.interval.ms") {
                true => read.millis("topic.metadata.refresh.fast.interval.ms")?,
                false => read.millis("retry.backoff.ms")?,
            },
            allow_auto_create_topics: read.flag("allow.auto.create.topics")?,
            client_software_name: software_id(&read, "client.software.name")?,
            client_software_version: software_id(&read, "client.software.version")?,
            receive_message_max_bytes: read.int("receive.message.max.bytes")? as usize,
            api_version_timeout: read.millis("api.version.request.timeout.ms")?,
            log: log_settings(&read)?,
            statistics_interval: Some(read.millis("statistics.interval.ms")?).filter(|interval| !interval.is_zero()),
            dump: self.dump(&read)?,
            warnings: warnings::warnings(accepted().map(|s| s.name).filter(|name| self.is_set(name))),
        })
    }

    /// "name = value" for every option a producer honours, as it reads
    /// back (secrets redacted); empty unless `debug` names `conf`.
    fn dump(&self, read: &Read) -> Result<Vec<String>, ConfigError> {
        Ok(match read.debug_contexts("debug")?.has(super::log::Context::Conf) {
            false => Vec::new(),
            true => OPTIONS.iter().map(|s| format!("{} = {}", s.name, self.get(s.name).unwrap_or_default())).collect(),
        })
    }

    fn metadata_max_age(&self, read: &Read) -> Result<Duration, ConfigError> {
        let interval = read.int("topic.metadata.refresh.interval.ms")?;
        let max_age = match self.is_set("metadata.max.age.ms") || interval <= 0 {
            true => read.int("metadata.max.age.ms")?,
            false => interval * 3,
        };
        Ok(Duration::from_millis(max_age as u64))
    }
}

fn log_settings(read: &Read) -> Result<LogSettings, ConfigError> {
    let debug = read.debug_contexts("debug")?;
    // As librdkafka: naming a debug context raises log_level to debug.
    let level = if debug.is_empty() { read.int("log_level")? as u8 } else { LOG_DEBUG };
    Ok(LogSettings {
        level,
        debug,
        to_queue: read.flag("log.queue")?,
        thread_name: read.flag("log.thread.name")?,
        connection_close: read.flag("log.connection.close")?,
    })
}

/// The topic-level options `read` sees: a topic's own, or the producer's
/// for topics without their own.
fn topic_config(read: &Read, idempotence: bool) -> Result<TopicConfig, ConfigError> {
    let acks = read.int("acks")? as i16;
    if idempotence && acks != -1 {
        let whose = read.topic_name().map_or(String::new(), |t| format!(" (topic \"{t}\")"));
        return Err(ConfigError::Invalid(format!("`acks`{whose} must be set to `all` when `enable.idempotence` is true")));
    }
    let codec = read.choice("compression.codec", &Codec::ALL)?;
    Ok(TopicConfig {
        acks,
        request_timeout: read.millis("request.timeout.ms")?,
        message_timeout: Some(read.millis("message.timeout.ms")?).filter(|timeout| !timeout.is_zero()),
        partitioner: read.choice("partitioner", &Partitioner::ALL)?,
        codec,
        compression_level: codec.effective_level(read.int("compression.level")? as i32),
    })
}

fn socket_options(read: &Read) -> Result<SocketOptions, ConfigError> {
    // 0: the system's default size.
    let buffer = |name| Ok::<_, ConfigError>(Some(read.int(name)? as u32).filter(|&size| size > 0));
    Ok(SocketOptions {
        keepalive: read.flag("socket.keepalive.enable")?,
        nodelay: read.flag("socket.nagle.disable")?,
        send_buffer: buffer("socket.send.buffer.bytes")?,
        receive_buffer: buffer("socket.receive.buffer.bytes")?,
        family: read.choice("broker.address.family", &AddressFamily::ALL)?,
    })
}

/// A client.software.* value as KIP-511 allows it on the wire; one with
/// nothing left is refused (librdkafka would send garbage).
fn software_id(read: &Read, name: &'static str) -> Result<String, ConfigError> {
    let value = read.text(name)?;
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
fn security(read: &Read) -> Result<Security, ConfigError> {
    let protocol = read.choice("security.protocol", &Protocol::ALL)?;
    let tls = match protocol.uses_tls() {
        false => None,
        true => {
            let options = TlsOptions {
                ca_location: read.set_text("ssl.ca.location")?,
                ca_pem: read.set_text("ssl.ca.pem")?,
                certificate_location: read.set_text("ssl.certificate.location")?,
                certificate_pem: read.set_text("ssl.certificate.pem")?,
                key_location: read.set_text("ssl.key.location")?,
                key_pem: read.set_text("ssl.key.pem")?,
                key_password: read.set_text("ssl.key.password")?,
                verify_certificate: read.flag("enable.ssl.certificate.verification")?,
                // Its choices are none and https.
                verify_name: read.choice("ssl.endpoint.identification.algorithm", &[false, true])?,
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
            let Some(mechanism) = read.listed("sasl.mechanism", &Mechanism::ALL)? else {
                let mechanism_name = read.text("sasl.mechanism")?;
                let why = MECHANISMS_NOT_SUPPORTED.iter().find(|(m, _)| *m == mechanism_name).map_or("not supported", |(_, why)| why);
                return Err(ConfigError::Invalid(format!("sasl.mechanism {mechanism_name} is not supported: {why}")));
            };
            let username = read.set_text("sasl.username")?;
            let password = read.set_text("sasl.password")?;
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

impl Config {
    /// The topic-level options records of `topic` use.
    pub fn topic(&self, topic: &str) -> Arc<TopicConfig> {
        Arc::clone(self.topics.get(topic).unwrap_or(&self.topic_defaults))
    }
}

/// Checks a value; returns it as it is kept (a choice in its listed
/// spelling) with what it means.
fn check<'v>(spec: &OptionSpec, name: &str, value: &'v str) -> Result<Checked<'v>, ConfigError> {
    // A long value is shown by its start only: the message is for a person.
    let shown: String = match value.chars().count() > 64 {
        true => value.chars().take(64).chain("...".chars()).collect(),
        false => value.to_owned(),
    };
    let invalid = |why: String| ConfigError::Invalid(format!("Invalid value \"{shown}\" for configuration property \"{name}\": {why}"));
    match spec.kind {
        Kind::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Checked { text: value, value: Value::Int(n) }),
            Ok(_) => Err(invalid(format!("value must be {min}..{max}"))),
            Err(_) => Err(invalid("expected an integer".into())),
        },
        Kind::Millis { min, max } => match value.parse::<f64>() {
            // In range, so neither negative nor too long for a Duration.
            Ok(n) if n.is_finite() && (min..=max).contains(&n) => match Duration::try_from_secs_f64(n / 1000.0) {
                Ok(duration) => Ok(Checked { text: value, value: Value::Duration(duration) }),
                Err(_) => Err(invalid(format!("value must be {min}..{max}"))),
            },
            Ok(_) => Err(invalid(format!("value must be {min}..{max}"))),
            Err(_) => Err(invalid("expected a number of milliseconds".into())),
        },
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Ok(Checked { text: "true", value: Value::Bool(true) }),
            "false" | "f" | "0" => Ok(Checked { text: "false", value: Value::Bool(false) }),
            _ => Err(invalid("expected true or false".into())),
        },
        Kind::Acks if value.eq_ignore_ascii_case("all") => Ok(Checked { text: "-1", value: Value::Int(-1) }),
        Kind::Acks => match value.parse::<i64>() {
            Ok(n) if (-1..=1000).contains(&n) => Ok(Checked { text: value, value: Value::Int(n) }),
            _ => Err(invalid("expected all, or -1..1000".into())),
        },
        Kind::Choice(choices) | Kind::ChoiceRefusing(choices, _) => match choices.iter().position(|c| c.eq_ignore_ascii_case(value)) {
            Some(index) => Ok(Checked { text: choices[index], value: Value::Choice(index) }),
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
            let checked = check(&OptionSpec { kind: *kind, ..*spec }, name, value)?;
            // A number is compared as one ("01" asks for 1).
            let same = checked.text == only || matches!((checked.text.parse::<i64>(), only.parse::<i64>()), (Ok(a), Ok(b)) if a == b);
            match same {
                true => Ok(Checked { text: only, value: checked.value }),
                false => Err(invalid(format!("{refusal} (only \"{only}\" is)"))),
            }
        }
        Kind::DebugContexts if value.is_empty() => Err(invalid("must not be empty".into())),
        Kind::DebugContexts => match Contexts::parse(value) {
            Some(contexts) => Ok(Checked { text: value, value: Value::DebugContexts(contexts) }),
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
            Ok(Checked { text: spec.default, value: Value::Text })
        }
        // Whatever it is, it is not repeated: it may be a password or a key.
        Kind::Secret if value.len() > SECRET_MAX_BYTES => {
            Err(ConfigError::Invalid(format!("Invalid value for configuration property \"{name}\": {} bytes is too long", value.len())))
        }
        Kind::Secret => Ok(Checked { text: value, value: Value::Text }),
        Kind::Text { required: true, .. } if value.is_empty() => Err(invalid("must not be empty".into())),
        Kind::Text { max_bytes, .. } if value.len() > max_bytes => {
            Err(invalid(format!("{} bytes, longer than the {max_bytes} a Kafka string can carry", value.len())))
        }
        Kind::Text { .. } => Ok(Checked { text: value, value: Value::Text }),
        Kind::SoftwareId if value.is_empty() => Ok(Checked { text: spec.default, value: Value::Text }),
        Kind::SoftwareId if value.len() > WIRE_STRING_MAX => {
            Err(invalid(format!("{} bytes, longer than the {WIRE_STRING_MAX} a Kafka string can carry", value.len())))
        }
        Kind::SoftwareId => Ok(Checked { text: value, value: Value::Text }),
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
mod tests;
