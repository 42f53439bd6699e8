//! Tests of option names, values, defaults and their combinations.

use std::time::Duration;

use super::builder::REDACTED;
use super::lookup::spec;
use super::options::OPTIONS;
use super::socket::{AddressFamily, SocketOptions};
use super::*;
use crate::kafka::partitioner::Partitioner;
use crate::kafka::protocol::compression::Codec;

/// Names of every supported option, canonical names first then aliases.
fn option_names() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
}

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
    assert_eq!(builder(&[("compression.codec", "gzip"), ("compression.level", "12")]).build().unwrap().topic_defaults.compression_level, 9);
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
fn a_transactional_id_makes_the_producer_idempotent_and_bounds_its_timeouts_as_librdkafka() {
    let c = builder(&[("transactional.id", "tx-1")]).build().unwrap();
    assert_eq!(c.transactional_id.as_deref(), Some("tx-1"));
    assert!(c.idempotence, "enable.idempotence is forced");
    assert_eq!(c.transaction_timeout, Duration::from_millis(60_000));
    assert_eq!(c.socket_timeout, Duration::from_millis(59_900), "transaction.timeout.ms - 100 unless set");
    assert_eq!(c.topic_defaults.message_timeout, Some(Duration::from_millis(60_000)), "transaction.timeout.ms unless set");
    let c = builder(&[("transactional.id", "tx-1"), ("transaction.timeout.ms", "1000")]).build().unwrap();
    assert_eq!(c.socket_timeout, Duration::from_millis(900), "never below 900 ms");
    let refusals = [
        (("enable.idempotence", "false"), "`transactional.id` requires `enable.idempotence=true`"),
        (("socket.timeout.ms", "60101"), "`socket.timeout.ms` must be set <= `transaction.timeout.ms` + 100"),
        (("message.timeout.ms", "60001"), "`message.timeout.ms` must be set <= `transaction.timeout.ms`"),
        (("acks", "1"), "`acks` must be set to `all` when `enable.idempotence` is true"),
    ];
    for ((name, value), why) in refusals {
        let err = builder(&[("transactional.id", "tx-1"), (name, value)]).build().unwrap_err();
        assert!(err.message().contains(why), "{name}={value}: {}", err.message());
    }
    assert_eq!(
        builder(&[("transactional.id", "tx-1"), ("socket.timeout.ms", "60100")]).build().unwrap().socket_timeout,
        Duration::from_millis(60_100)
    );
    assert_eq!(builder(&[]).set("transaction.timeout.ms", "999").unwrap_err().code(), -1, "librdkafka's range starts at 1000");
    let plain = builder(&[]).build().unwrap();
    assert_eq!((plain.transactional_id, plain.idempotence), (None, false));
    assert_eq!(plain.topic_defaults.message_timeout, Some(Duration::from_millis(300_000)));
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
    let err = builder(&[("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"), ("sasl.username", "u")]).build().unwrap_err();
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
        (&[("ssl.ca.location", "probe"), ("ssl.key.pem", "garbage"), ("ssl.certificate.pem", CERTIFICATE_PEM)], "ssl.key.pem: not a PEM"),
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

/// `ssl.*.location` naming a device, a FIFO, `/dev` or `/proc`: refused at
/// once, naming the option and the file, or skipped inside a CA directory;
/// never read without end, never a hang (issue 24).
#[test]
fn tls_files_are_read_with_a_bound_and_never_block_the_build() {
    let started = std::time::Instant::now();
    let tls = |location: &str| builder(&[("security.protocol", "ssl"), ("ssl.ca.location", location)]).build();
    let error = tls("/dev/zero").unwrap_err();
    assert!(error.message().contains("ssl.ca.location: /dev/zero: not a regular file"), "{}", error.message());
    for dir in ["/dev", "/proc"] {
        let error = tls(dir).unwrap_err();
        assert!(error.message().contains(&format!("ssl.ca.location: {dir}: no PEM certificate in this directory")), "{}", error.message());
    }
    let dir = std::env::temp_dir().join(format!("ablkafka-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(dir.join("a-fifo")).status().unwrap().success());
    // A real CA certificate: the directory's certificates are parsed.
    let system = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").expect("the system CA bundle (ca-certificates)");
    let end = system.find("-----END CERTIFICATE-----").expect("a certificate in the bundle") + "-----END CERTIFICATE-----\n".len();
    std::fs::write(dir.join("ca.pem"), &system[..end]).unwrap();
    let with_fifo = tls(dir.to_str().unwrap());
    let fifo_as_file = tls(dir.join("a-fifo").to_str().unwrap()).unwrap_err();
    let key =
        builder(&[("security.protocol", "ssl"), ("ssl.certificate.pem", CERTIFICATE_PEM), ("ssl.key.location", "/dev/urandom")]).build();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(with_fifo.is_ok(), "a FIFO beside a certificate is skipped: {:?}", with_fifo.err().map(|e| e.message().to_owned()));
    assert!(fifo_as_file.message().ends_with("a-fifo: not a regular file"), "{}", fifo_as_file.message());
    assert!(key.unwrap_err().message().contains("ssl.key.location: /dev/urandom: not a regular file"));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "nothing blocked: {:?}", started.elapsed());
}

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
    let config =
        builder(&[("socket.blocking.max.ms", "5"), ("queuing.strategy", "FIFO"), ("enable.gapless.guarantee", "false")]).build().unwrap();
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
    let err = b.set("metadata.recovery.rebootstrap.trigger.ms", "300000").unwrap_err();
    assert_eq!(err.code(), -1);
    assert!(err.message().contains("rebootstrap") && err.message().contains("not supported yet: "), "{}", err.message());
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
    assert!(err.message().contains("nope") && err.message().contains("generic, broker, topic"), "lists the contexts: {}", err.message());
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
    for (name, value) in [("socket.send.buffer.bytes", "100000001"), ("socket.receive.buffer.bytes", "-1"), ("broker.address.family", "v5")]
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

mod boundaries;
mod typed;
