//! librdkafka properties a producer accepts and ignores, as librdkafka's
//! producer does: consumer properties, and deprecated ones librdkafka no
//! longer uses. Each value is still checked as librdkafka checks it, kept,
//! and readable; build warns about each one set (`super::warnings`).

use super::options::{int, INT_MAX, OPTIONAL_TEXT};
use super::spec::{Kind, OptionSpec};

const fn spec(name: &'static str, default: &'static str, kind: Kind) -> OptionSpec {
    OptionSpec { name, aliases: &[], default, kind }
}

/// Consumer properties (librdkafka's scope C), global ones first as
/// librdkafka lists them. Where a topic property has the name of a global
/// one (auto.commit.interval.ms, offset.store.method, enable.auto.commit),
/// rd_kafka_conf_set sets the global one, whose range this is.
pub(super) const CONSUMER_ONLY: &[OptionSpec] = &[
    spec("group.id", "", OPTIONAL_TEXT),
    spec("group.instance.id", "", OPTIONAL_TEXT),
    spec("partition.assignment.strategy", "range,roundrobin", OPTIONAL_TEXT),
    spec("session.timeout.ms", "45000", int(1, 3_600_000)),
    spec("heartbeat.interval.ms", "3000", int(1, 3_600_000)),
    spec("group.protocol.type", "consumer", OPTIONAL_TEXT),
    spec("group.protocol", "classic", Kind::Choice(&["classic", "consumer"])),
    spec("group.remote.assignor", "", OPTIONAL_TEXT),
    spec("coordinator.query.interval.ms", "600000", int(1, 3_600_000)),
    spec("max.poll.interval.ms", "300000", int(1, 86_400_000)),
    spec("enable.auto.commit", "true", Kind::Bool),
    spec("auto.commit.interval.ms", "5000", int(0, 86_400_000)),
    spec("enable.auto.offset.store", "true", Kind::Bool),
    spec("queued.min.messages", "100000", int(1, 10_000_000)),
    spec("queued.max.messages.kbytes", "65536", int(1, 2_097_151)),
    spec("fetch.wait.max.ms", "500", int(0, 300_000)),
    spec("fetch.queue.backoff.ms", "1000", int(0, 300_000)),
    OptionSpec {
        name: "fetch.message.max.bytes",
        aliases: &["max.partition.fetch.bytes"],
        default: "1048576",
        kind: int(1, 1_000_000_000),
    },
    spec("fetch.max.bytes", "52428800", int(0, 2_147_483_135)),
    spec("fetch.min.bytes", "1", int(0, INT_MAX)),
    spec("fetch.error.backoff.ms", "500", int(0, 300_000)),
    spec("offset.store.method", "broker", Kind::Choice(&["none", "file", "broker"])),
    spec("isolation.level", "read_committed", Kind::Choice(&["read_uncommitted", "read_committed"])),
    spec("enable.partition.eof", "false", Kind::Bool),
    spec("check.crcs", "false", Kind::Bool),
    spec("max.poll.records", "500", int(1, INT_MAX)),
    spec("share.acknowledgement.mode", "implicit", OPTIONAL_TEXT),
    // Topic properties.
    spec("auto.commit.enable", "true", Kind::Bool),
    spec("auto.offset.reset", "largest", Kind::Choice(&["smallest", "earliest", "beginning", "largest", "latest", "end", "error"])),
    spec("offset.store.path", ".", OPTIONAL_TEXT),
    spec("offset.store.sync.interval.ms", "-1", int(-1, 86_400_000)),
    spec("consume.callback.max.messages", "0", int(0, 1_000_000)),
];

/// Deprecated producer properties librdkafka describes as "No longer used"
/// (metadata.request.timeout.ms: "Not used", and not in its list).
pub(super) const NO_LONGER_USED: &[OptionSpec] = &[
    spec("topic.metadata.refresh.fast.cnt", "10", int(0, 1000)),
    spec("socket.blocking.max.ms", "1000", int(1, 60_000)),
    spec("reconnect.backoff.jitter.ms", "0", int(0, 3_600_000)),
    spec("produce.offset.report", "false", Kind::Bool),
    spec("metadata.request.timeout.ms", "10", int(10, 900_000)),
];

/// True for a consumer property.
pub(super) fn is_consumer_only(name: &str) -> bool {
    CONSUMER_ONLY.iter().any(|s| s.name == name)
}
