//! `build`: the options read (as `check` left them), checked together and
//! made into the producer's `Config`: its topics' options, TLS and SASL,
//! sockets and logs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::builder::ConfigBuilder;
use super::error::ConfigError;
use super::lookup::accepted;
use super::options::{MECHANISMS_NOT_SUPPORTED, OPTIONS};
use super::producer_config::Config;
use super::read::Read;
use super::socket::{AddressFamily, SocketOptions};
use super::warnings;
use crate::kafka::log::{Context, LogSettings, LOG_DEBUG};
use crate::kafka::partitioner::Partitioner;
use crate::kafka::protocol::compression::Codec;
use crate::kafka::sasl::{Credentials, Mechanism};
use crate::kafka::security::tls_settings::{self, TlsOptions};
use crate::kafka::security::{Protocol, Security};
use crate::kafka::topic_config::TopicConfig;

impl ConfigBuilder {
    /// The configuration these options make, or why they cannot make one:
    /// a combination librdkafka refuses, a TLS file or key that cannot be
    /// read, SASL without a mechanism or credentials.
    pub fn build(&self) -> Result<Config, ConfigError> {
        let read = Read::producer(self);
        let servers: Vec<String> =
            read.text("bootstrap.servers")?.split(',').map(str::trim).filter(|s| !s.is_empty()).map(with_default_port).collect();
        if servers.is_empty() {
            return Err(ConfigError::Invalid("bootstrap.servers must be set to at least one host[:port]".into()));
        }
        let transactional_id: Option<Arc<str>> = Some(read.text("transactional.id")?).filter(|id| !id.is_empty()).map(Arc::from);
        let transaction_timeout = read.millis("transaction.timeout.ms")?;
        let mut idempotence = read.flag("enable.idempotence")?;
        if transactional_id.is_some() && !idempotence {
            // As librdkafka: a transactional producer is idempotent, unless
            // told otherwise, which is refused.
            if self.is_set("enable.idempotence") {
                return Err(ConfigError::Invalid("`transactional.id` requires `enable.idempotence=true`".into()));
            }
            idempotence = true;
        }
        let eos = Eos { idempotence, transaction_timeout: transactional_id.as_ref().map(|_| transaction_timeout) };
        let topic_defaults = Arc::new(topic_config(&read, eos)?);
        let topics = self
            .topics()
            .map(|topic| Ok((topic.to_owned(), Arc::new(topic_config(&Read::topic(self, topic), eos)?))))
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
            transactional_id,
            transaction_timeout,
            max_in_flight,
            security: security(&read)?,
            socket: socket_options(&read)?,
            socket_timeout: self.socket_timeout(&read, eos)?,
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
        Ok(match read.debug_contexts("debug")?.has(Context::Conf) {
            false => Vec::new(),
            true => OPTIONS.iter().map(|s| format!("{} = {}", s.name, self.get(s.name).unwrap_or_default())).collect(),
        })
    }

    /// socket.timeout.ms; for a transactional producer librdkafka makes it
    /// 100 ms less than transaction.timeout.ms (at least 900 ms) unless set,
    /// and refuses one set higher than transaction.timeout.ms + 100, so
    /// that a request can be sent before the transaction times out.
    fn socket_timeout(&self, read: &Read, eos: Eos) -> Result<Duration, ConfigError> {
        let set = read.millis("socket.timeout.ms")?;
        let Some(transaction_timeout) = eos.transaction_timeout else { return Ok(set) };
        let margin = Duration::from_millis(100);
        if !self.is_set("socket.timeout.ms") {
            return Ok(transaction_timeout.saturating_sub(margin).max(Duration::from_millis(900)));
        }
        if transaction_timeout + margin < set {
            return Err(ConfigError::Invalid("`socket.timeout.ms` must be set <= `transaction.timeout.ms` + 100".into()));
        }
        Ok(set)
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

/// Exactly-once settings the topic-level options are checked against.
#[derive(Clone, Copy)]
struct Eos {
    idempotence: bool,
    /// transaction.timeout.ms, for a transactional producer.
    transaction_timeout: Option<Duration>,
}

/// The topic-level options `read` sees: a topic's own, or the producer's
/// for topics without their own.
fn topic_config(read: &Read, eos: Eos) -> Result<TopicConfig, ConfigError> {
    let acks = read.int("acks")? as i16;
    let whose = || read.topic_name().map_or(String::new(), |t| format!(" (topic \"{t}\")"));
    if eos.idempotence && acks != -1 {
        return Err(ConfigError::Invalid(format!("`acks`{} must be set to `all` when `enable.idempotence` is true", whose())));
    }
    let mut message_timeout = read.millis("message.timeout.ms")?;
    // As librdkafka: a transaction's records may not outlive it.
    if let Some(transaction_timeout) = eos.transaction_timeout {
        if !read.is_set("message.timeout.ms") {
            message_timeout = transaction_timeout;
        } else if message_timeout > transaction_timeout {
            return Err(ConfigError::Invalid(format!("`message.timeout.ms`{} must be set <= `transaction.timeout.ms`", whose())));
        }
    }
    let codec = read.choice("compression.codec", &Codec::ALL)?;
    Ok(TopicConfig {
        acks,
        request_timeout: read.millis("request.timeout.ms")?,
        message_timeout: Some(message_timeout).filter(|timeout| !timeout.is_zero()),
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
