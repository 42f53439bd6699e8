//! The producer's configuration as `build` makes it: every option read,
//! checked together and turned into what the producer uses.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::socket::SocketOptions;
use crate::kafka::log::LogSettings;
use crate::kafka::security::Security;
use crate::kafka::topic_config::TopicConfig;

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
    /// transactional.id: the transactional producer (idempotent too).
    pub transactional_id: Option<Arc<str>>,
    /// transaction.timeout.ms, sent in InitProducerId; also the default
    /// timeout of the transaction calls.
    pub transaction_timeout: Duration,
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
    pub(super) warnings: Vec<String>,
}

impl Config {
    /// The configuration warnings librdkafka would log (CONFWARN, level 4)
    /// when creating this producer: consumer, deprecated and experimental
    /// properties that were set. They name properties, never values.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The topic-level options records of `topic` use.
    pub fn topic(&self, topic: &str) -> Arc<TopicConfig> {
        Arc::clone(self.topics.get(topic).unwrap_or(&self.topic_defaults))
    }
}
