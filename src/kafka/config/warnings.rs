//! The configuration warnings librdkafka logs (CONFWARN) when a producer is
//! created, in its words: for each deprecated or experimental property set,
//! and for each consumer property set. They name properties, never values,
//! so none can quote a secret.

use super::ignored::is_consumer_only;

/// librdkafka's deprecated or experimental properties that a producer
/// accepts: what librdkafka calls each, and its description, as
/// rd_kafka_conf_properties_show prints them (librdkafka 2.16).
/// librdkafka joins "deprecated" and "experimental" with " and " only for a
/// property of the other role too; queuing.strategy is not one, hence its
/// "deprecatedexperimental", kept so the lines are librdkafka's.
const NOTICES: &[(&str, &str, &str)] = &[
    ("topic.metadata.refresh.fast.cnt", "deprecated", "No longer used."),
    ("socket.blocking.max.ms", "deprecated", "No longer used."),
    ("reconnect.backoff.jitter.ms", "deprecated", "No longer used. See `reconnect.backoff.ms` and `reconnect.backoff.max.ms`."),
    ("metadata.request.timeout.ms", "deprecated", "Not used."),
    (
        "api.version.request",
        "deprecated",
        "**Post-deprecation actions: remove this configuration property, brokers < 0.10.0 won't be supported anymore in \
         librdkafka 3.x.** Request broker's supported API versions to adjust functionality to available protocol features. If set \
         to false, or the ApiVersionRequest fails, the fallback version `broker.version.fallback` will be used. **NOTE**: Depends \
         on broker version >=0.10.0. If the request is not supported by (an older) broker the `broker.version.fallback` fallback \
         is used.",
    ),
    (
        "api.version.fallback.ms",
        "deprecated",
        "**Post-deprecation actions: remove this configuration property, brokers < 0.10.0 won't be supported anymore in \
         librdkafka 3.x.** Dictates how long the `broker.version.fallback` fallback is used in the case the ApiVersionRequest \
         fails. **NOTE**: The ApiVersionRequest is only issued when a new connection to the broker is made (such as after an \
         upgrade).",
    ),
    (
        "broker.version.fallback",
        "deprecated",
        "**Post-deprecation actions: remove this configuration property, brokers < 0.10.0 won't be supported anymore in \
         librdkafka 3.x.** Older broker versions (before 0.10.0) provide no way for a client to query for supported protocol \
         features (ApiVersionRequest, see `api.version.request`) making it impossible for the client to know what features it \
         may use. As a workaround a user may set this property to the expected broker version and the client will automatically \
         adjust its feature set accordingly if the ApiVersionRequest fails (or is disabled). The fallback broker version will be \
         used for `api.version.fallback.ms`. Valid values are: 0.9.0, 0.8.2, 0.8.1, 0.8.0. Any other value >= 0.10, such as \
         0.10.2.1, enables ApiVersionRequests.",
    ),
    (
        "offset.store.method",
        "deprecated",
        "Offset commit store method: 'file' - DEPRECATED: local file store (offset.store.path, et.al), 'broker' - broker commit \
         store (requires Apache Kafka 0.8.2 or later on the broker).",
    ),
    (
        "enable.gapless.guarantee",
        "experimental",
        "When set to `true`, any error that could result in a gap in the produced message series when a batch of messages fails, \
         will raise a fatal error (ERR__GAPLESS_GUARANTEE) and stop the producer. Messages failing due to `message.timeout.ms` \
         are not covered by this guarantee. Requires `enable.idempotence=true`.",
    ),
    (
        "queuing.strategy",
        "deprecatedexperimental",
        "Producer queuing strategy. FIFO preserves produce ordering, while LIFO prioritizes new messages.",
    ),
    ("produce.offset.report", "deprecated", "No longer used."),
    (
        "auto.commit.enable",
        "deprecated",
        "[**LEGACY PROPERTY:** This property is used by the simple legacy consumer only. When using the high-level \
         KafkaConsumer, the global `enable.auto.commit` property must be used instead]. If true, periodically commit offset of \
         the last message handed to the application. This committed offset will be used when the process restarts to pick up \
         where it left off. If false, the application will have to call `rd_kafka_offset_store()` to store an offset \
         (optional). Offsets will be written to broker or local file according to offset.store.method.",
    ),
    (
        "offset.store.path",
        "deprecated",
        "Path to local file for storing offsets. If the path is a directory a filename will be automatically generated in that \
         directory based on the topic and partition. File-based offset storage will be removed in a future version.",
    ),
    (
        "offset.store.sync.interval.ms",
        "deprecated",
        "fsync() interval for the offset file, in milliseconds. Use -1 to disable syncing, and 0 for immediate sync after each \
         write. File-based offset storage will be removed in a future version.",
    ),
];

/// The warnings for the properties `set` (canonical names), in its order:
/// librdkafka's rd_kafka_anyconf_warn_deprecated, for a producer.
pub(super) fn warnings<'a>(set: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut lines = Vec::new();
    for name in set {
        if let Some((_, what, description)) = NOTICES.iter().find(|(n, _, _)| *n == name) {
            lines.push(format!("Configuration property {name} is {what}: {description}"));
        }
        if is_consumer_only(name) {
            lines.push(format!("Configuration property {name} is a consumer property and will be ignored by this producer instance"));
        }
    }
    lines
}
