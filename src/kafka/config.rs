//! Producer options by librdkafka's names, aliases, ranges and defaults.
//!
//! Each value is checked when it is set, so a bad value is refused at once
//! with a message naming the option; `build` then checks the combinations.

use std::collections::BTreeMap;
use std::time::Duration;

use super::partitioner::Partitioner;
use super::protocol::compression::Codec;

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
    pub acks: i16,
    pub linger: Duration,
    pub batch_num_messages: usize,
    pub batch_size: usize,
    pub codec: Codec,
    pub compression_level: i32,
    /// `None`: no limit (message.timeout.ms=0).
    pub message_timeout: Option<Duration>,
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
    pub partitioner: Partitioner,
    pub metadata_refresh_interval: Option<Duration>,
    pub metadata_propagation_max: Duration,
    /// enable.idempotence: producer id, sequence numbers, acks=all.
    pub idempotence: bool,
    /// Produce requests in flight at once on one broker connection.
    pub max_in_flight: usize,
}

/// How an option's value is checked and read.
#[derive(Clone, Copy)]
enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    /// Milliseconds, which librdkafka accepts as a decimal for linger.ms.
    Millis {
        min: f64,
        max: f64,
    },
    Bool,
    Choice(&'static [&'static str]),
    Text {
        required: bool,
        /// Longest value in bytes: a string that goes on the wire as a
        /// Kafka STRING must fit its INT16 length.
        max_bytes: usize,
    },
}

/// Longest Kafka STRING (INT16 length).
const WIRE_STRING_MAX: usize = i16::MAX as usize;

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

/// Every supported option. The order is the README's.
const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "bootstrap.servers",
        aliases: &["metadata.broker.list"],
        default: "",
        kind: Kind::Text { required: true, max_bytes: usize::MAX },
    },
    OptionSpec { name: "client.id", aliases: &[], default: "rdkafka", kind: Kind::Text { required: false, max_bytes: WIRE_STRING_MAX } },
    OptionSpec { name: "acks", aliases: &["request.required.acks"], default: "-1", kind: Kind::Choice(&["-1", "all", "0", "1"]) },
    OptionSpec { name: "linger.ms", aliases: &["queue.buffering.max.ms"], default: "5", kind: Kind::Millis { min: 0.0, max: 900_000.0 } },
    OptionSpec { name: "batch.num.messages", aliases: &[], default: "10000", kind: int(1, 1_000_000) },
    OptionSpec { name: "batch.size", aliases: &[], default: "1000000", kind: int(1, INT_MAX) },
    OptionSpec { name: "compression.codec", aliases: &["compression.type"], default: "none", kind: Kind::Choice(&Codec::NAMES) },
    OptionSpec { name: "compression.level", aliases: &[], default: "-1", kind: int(-1, 22) },
    OptionSpec { name: "message.timeout.ms", aliases: &["delivery.timeout.ms"], default: "300000", kind: int(0, INT_MAX) },
    OptionSpec { name: "request.timeout.ms", aliases: &[], default: "30000", kind: int(1, 900_000) },
    OptionSpec { name: "retries", aliases: &["message.send.max.retries"], default: "2147483647", kind: int(0, INT_MAX) },
    OptionSpec { name: "retry.backoff.ms", aliases: &[], default: "100", kind: int(1, 300_000) },
    OptionSpec { name: "retry.backoff.max.ms", aliases: &[], default: "1000", kind: int(1, 300_000) },
    OptionSpec { name: "reconnect.backoff.ms", aliases: &[], default: "100", kind: int(0, 3_600_000) },
    OptionSpec { name: "reconnect.backoff.max.ms", aliases: &[], default: "10000", kind: int(0, 3_600_000) },
    OptionSpec { name: "socket.connection.setup.timeout.ms", aliases: &[], default: "30000", kind: int(1000, INT_MAX) },
    OptionSpec { name: "message.max.bytes", aliases: &[], default: "1000000", kind: int(1000, 1_000_000_000) },
    OptionSpec { name: "queue.buffering.max.messages", aliases: &[], default: "100000", kind: int(1, INT_MAX) },
    OptionSpec { name: "queue.buffering.max.kbytes", aliases: &[], default: "1048576", kind: int(1, INT_MAX) },
    OptionSpec { name: "partitioner", aliases: &[], default: "consistent_random", kind: Kind::Choice(&Partitioner::NAMES) },
    OptionSpec { name: "topic.metadata.refresh.interval.ms", aliases: &[], default: "300000", kind: int(-1, 3_600_000) },
    OptionSpec { name: "topic.metadata.propagation.max.ms", aliases: &[], default: "30000", kind: int(0, 3_600_000) },
    OptionSpec { name: "enable.idempotence", aliases: &[], default: "false", kind: Kind::Bool },
    OptionSpec { name: "max.in.flight.requests.per.connection", aliases: &["max.in.flight"], default: "1000000", kind: int(1, 1_000_000) },
    OptionSpec { name: "security.protocol", aliases: &[], default: "plaintext", kind: Kind::Choice(&["plaintext"]) },
];

fn spec(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|s| s.name == name || s.aliases.contains(&name))
}

/// Names of every supported option, canonical names first then aliases.
pub fn option_names() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
}

/// Collects options; cheap to clone, reusable after `build`.
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    values: BTreeMap<&'static str, String>,
}

impl ConfigBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an option by librdkafka name or alias. Nothing changes on error.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let spec = spec(name).ok_or_else(|| ConfigError::Unknown(format!("No such configuration property: \"{name}\"")))?;
        let value = value.trim();
        check(spec, name, value)?;
        self.values.insert(spec.name, value.to_owned());
        Ok(())
    }

    /// The current value (or default) of an option, by name or alias.
    pub fn get(&self, name: &str) -> Option<&str> {
        let spec = spec(name)?;
        Some(self.values.get(spec.name).map_or(spec.default, String::as_str))
    }

    fn value(&self, name: &'static str) -> &str {
        self.get(name).expect("every name read by build is in OPTIONS")
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
        let codec = Codec::from_name(self.value("compression.codec")).expect("checked when set");
        let level = self.int("compression.level") as i32;
        if !codec.level_range().contains(&level) {
            let range = codec.level_range();
            return Err(ConfigError::Invalid(format!(
                "Invalid value {level} for configuration property \"compression.level\": {} accepts {}..{}",
                codec.name(),
                range.start(),
                range.end()
            )));
        }
        let acks = match self.value("acks") {
            "all" | "-1" => -1,
            other => other.parse().expect("checked when set"),
        };
        let idempotence = self.value("enable.idempotence") == "true";
        let mut max_in_flight = self.int("max.in.flight.requests.per.connection") as usize;
        if idempotence {
            // librdkafka's rules: acks=all, at most 5 in flight, retries > 0;
            // an unset max.in.flight is lowered to 5 rather than refused.
            if acks != -1 {
                return Err(ConfigError::Invalid("`acks` must be set to `all` when `enable.idempotence` is true".into()));
            }
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
        let message_timeout = match self.int("message.timeout.ms") {
            0 => None,
            n => Some(Duration::from_millis(n as u64)),
        };
        let metadata_refresh_interval = match self.int("topic.metadata.refresh.interval.ms") {
            n if n <= 0 => None,
            n => Some(Duration::from_millis(n as u64)),
        };
        Ok(Config {
            bootstrap_servers: servers,
            client_id: self.value("client.id").to_owned(),
            acks,
            linger: self.millis("linger.ms"),
            batch_num_messages: self.int("batch.num.messages") as usize,
            batch_size: self.int("batch.size") as usize,
            codec,
            compression_level: level,
            message_timeout,
            request_timeout: ms("request.timeout.ms"),
            retries: self.int("retries") as u32,
            retry_backoff: ms("retry.backoff.ms"),
            retry_backoff_max: ms("retry.backoff.max.ms").max(ms("retry.backoff.ms")),
            reconnect_backoff: ms("reconnect.backoff.ms"),
            reconnect_backoff_max: ms("reconnect.backoff.max.ms").max(ms("reconnect.backoff.ms")),
            connect_timeout: ms("socket.connection.setup.timeout.ms"),
            message_max_bytes: self.int("message.max.bytes") as usize,
            queue_max_messages: self.int("queue.buffering.max.messages") as usize,
            queue_max_bytes: (self.int("queue.buffering.max.kbytes") as usize).saturating_mul(1024),
            partitioner: Partitioner::from_name(self.value("partitioner")).expect("checked when set"),
            metadata_refresh_interval,
            metadata_propagation_max: ms("topic.metadata.propagation.max.ms"),
            idempotence,
            max_in_flight,
        })
    }
}

fn check(spec: &OptionSpec, name: &str, value: &str) -> Result<(), ConfigError> {
    // A long value is shown by its start only: the message is for a person.
    let shown: String = match value.chars().count() > 64 {
        true => value.chars().take(64).chain("...".chars()).collect(),
        false => value.to_owned(),
    };
    let invalid = |why: String| ConfigError::Invalid(format!("Invalid value \"{shown}\" for configuration property \"{name}\": {why}"));
    match spec.kind {
        Kind::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(()),
            Ok(_) => Err(invalid(format!("value must be {min}..{max}"))),
            Err(_) => Err(invalid("expected an integer".into())),
        },
        Kind::Millis { min, max } => match value.parse::<f64>() {
            Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(()),
            Ok(_) => Err(invalid(format!("value must be {min}..{max}"))),
            Err(_) => Err(invalid("expected a number of milliseconds".into())),
        },
        Kind::Bool => match value {
            "true" | "false" => Ok(()),
            _ => Err(invalid("expected true or false".into())),
        },
        Kind::Choice(choices) => match choices.contains(&value) {
            true => Ok(()),
            false => Err(invalid(format!("expected one of: {}", choices.join(", ")))),
        },
        Kind::Text { required: true, .. } if value.is_empty() => Err(invalid("must not be empty".into())),
        Kind::Text { max_bytes, .. } if value.len() > max_bytes => {
            Err(invalid(format!("{} bytes, longer than the {max_bytes} a Kafka string can carry", value.len())))
        }
        Kind::Text { .. } => Ok(()),
    }
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
        assert_eq!(c.acks, -1);
        assert_eq!(c.linger, Duration::from_millis(5));
        assert_eq!((c.batch_num_messages, c.batch_size), (10_000, 1_000_000));
        assert_eq!(c.codec, Codec::None);
        assert_eq!(c.message_timeout, Some(Duration::from_secs(300)));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.retries, i32::MAX as u32);
        assert_eq!(c.message_max_bytes, 1_000_000);
        assert_eq!((c.queue_max_messages, c.queue_max_bytes), (100_000, 1_048_576 * 1024));
        assert_eq!(c.partitioner, Partitioner::ConsistentRandom);
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
        assert_eq!(c.acks, 1);
        assert_eq!(c.linger, Duration::from_micros(500));
        assert_eq!(c.codec, Codec::Zstd);
        assert_eq!(c.message_timeout, None);
        assert_eq!(c.retries, 3);
        assert_eq!(builder(&[("acks", "all")]).build().unwrap().acks, -1);
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
            ("acks", "7"),
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
        let err = builder(&[("compression.codec", "gzip"), ("compression.level", "12")]).build().unwrap_err();
        assert!(err.message().contains("compression.level"), "{}", err.message());
        assert!(builder(&[("compression.codec", "zstd"), ("compression.level", "22")]).build().is_ok());
        assert!(builder(&[("compression.codec", "snappy"), ("compression.level", "3")]).build().is_err());
        assert!(ConfigBuilder::new().build().unwrap_err().message().contains("bootstrap.servers"));
    }

    #[test]
    fn idempotence_forces_librdkafkas_rules() {
        let c = builder(&[("enable.idempotence", "true")]).build().unwrap();
        assert!(c.idempotence);
        assert_eq!((c.acks, c.max_in_flight), (-1, 5));
        assert_eq!(builder(&[]).build().unwrap().max_in_flight, 1_000_000);
        for (name, value) in [("acks", "1"), ("acks", "0"), ("max.in.flight", "6"), ("retries", "0")] {
            let err = builder(&[("enable.idempotence", "true"), (name, value)]).build().unwrap_err();
            let option = if name == "max.in.flight" { "max.in.flight.requests.per.connection" } else { name };
            assert!(err.message().contains(option) && err.message().contains("enable.idempotence"), "{}", err.message());
        }
        assert_eq!(builder(&[("enable.idempotence", "true"), ("max.in.flight", "3")]).build().unwrap().max_in_flight, 3);
    }

    #[test]
    fn every_listed_name_resolves() {
        for name in option_names() {
            assert!(spec(name).is_some(), "{name}");
        }
        assert!(option_names().count() > 25);
    }
}
