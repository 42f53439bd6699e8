//! Topic-level options: what librdkafka keeps per topic (its default topic
//! configuration, and one per topic an application configures, as
//! OpenEdge's `AddTopicConfiguration`). A topic without options of its own
//! uses the producer's.

use std::time::Duration;

use super::partitioner::Partitioner;
use super::protocol::compression::Codec;

/// The options a topic may set for itself (canonical names; their aliases
/// work too): librdkafka's topic-level producer properties that this
/// library implements.
pub const TOPIC_OPTIONS: &[&str] =
    &["acks", "request.timeout.ms", "message.timeout.ms", "partitioner", "compression.codec", "compression.level"];

/// One topic's settings, fixed when the producer is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicConfig {
    pub acks: i16,
    /// The broker's time to answer a Produce request.
    pub request_timeout: Duration,
    /// `None`: no limit (message.timeout.ms=0).
    pub message_timeout: Option<Duration>,
    pub partitioner: Partitioner,
    pub codec: Codec,
    /// The level the codec uses (clamped or ignored per codec).
    pub compression_level: i32,
}

impl TopicConfig {
    /// A Produce request carries one acks and one timeout for all its
    /// batches: batches whose topics differ in either never share one.
    pub fn request_class(&self) -> (i16, Duration) {
        (self.acks, self.request_timeout)
    }

    /// True when the broker answers Produce requests (acks is not 0).
    pub fn expects_response(&self) -> bool {
        self.acks != 0
    }
}
