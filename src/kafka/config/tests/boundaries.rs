//! Every option at its default, at its bounds and at each of its choices,
//! built: the resulting `Config` (or the refusal) must be the one the
//! configuration built before option values were parsed once, at set
//! (`boundaries.txt`, written by the code of that time). A `Config` is
//! compared by a CRC-32 of its `Debug` text, topics in order and the TLS
//! configuration reduced to whether there is one.
//!
//! `ABLKAFKA_BLESS=1 cargo test --lib boundaries` rewrites the file, for a
//! change to `Config` that is meant.

use std::collections::BTreeMap;

use super::super::lookup::{accepted, topic_spec};
use super::super::spec::{Kind, OptionSpec};
use super::super::*;
use crate::kafka::topic_config::TOPIC_OPTIONS;

/// The table's options in order, each with the values a case sets.
pub(super) fn samples(spec: &OptionSpec) -> Vec<String> {
    let kind_samples = |kind: &Kind| -> Vec<String> {
        match *kind {
            Kind::Int { min, max } => vec![min.to_string(), max.to_string()],
            Kind::Millis { min, max } => vec![min.to_string(), max.to_string(), "0.5".into()],
            Kind::Bool => vec!["true".into(), "F".into()],
            Kind::Acks => ["all", "-1", "0", "1", "1000"].map(String::from).to_vec(),
            Kind::Choice(choices) | Kind::ChoiceRefusing(choices, _) => choices.iter().map(|c| c.to_uppercase()).collect(),
            Kind::Only { value, .. } => vec![value.to_owned()],
            Kind::DebugContexts => ["all", "conf", "Broker, topic"].map(String::from).to_vec(),
            Kind::Flags { .. } => vec!["gzip,-lz4".into()],
            Kind::Secret => vec!["s3cret".into()],
            Kind::Text { .. } if spec.name == "bootstrap.servers" => vec!["h1, h2:9093,[::1]:9,".into()],
            Kind::Text { .. } => vec!["some text".into()],
            Kind::SoftwareId => vec!["my app!".into(), "".into()],
        }
    };
    kind_samples(&spec.kind)
}

/// A case: producer-level pairs, then topic-level (topic, name, value).
struct Case {
    pairs: Vec<(String, String)>,
    topic_pairs: Vec<(String, String, String)>,
}

fn case(pairs: &[(&str, &str)]) -> Case {
    Case { pairs: pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(), topic_pairs: Vec::new() }
}

fn cases() -> Vec<Case> {
    let mut cases = vec![case(&[])];
    for spec in accepted() {
        for value in samples(spec) {
            cases.push(case(&[(spec.name, &value)]));
        }
    }
    for name in TOPIC_OPTIONS {
        let spec = topic_spec(name).unwrap();
        for value in samples(spec) {
            cases.push(Case { pairs: Vec::new(), topic_pairs: vec![("orders".into(), name.to_string(), value.clone())] });
            cases.push(case(&[(&format!("topic.{name}"), &value)]));
        }
    }
    let combinations: &[&[(&str, &str)]] = &[
        &[("enable.idempotence", "true")],
        &[("enable.idempotence", "true"), ("max.in.flight", "5"), ("retries", "1"), ("acks", "all")],
        &[("enable.idempotence", "true"), ("max.in.flight", "6")],
        &[("enable.idempotence", "true"), ("retries", "0")],
        &[("enable.idempotence", "true"), ("acks", "1")],
        &[("security.protocol", "sasl_plaintext")],
        &[("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "plain"), ("sasl.username", "u")],
        &[("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"), ("sasl.username", "u"), ("sasl.password", "p")],
        &[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "scram-sha-256"), ("sasl.username", "u"), ("sasl.password", "p")],
        &[
            ("security.protocol", "ssl"),
            ("enable.ssl.certificate.verification", "false"),
            ("ssl.endpoint.identification.algorithm", "none"),
        ],
        &[("security.protocol", "ssl"), ("ssl.ca.location", "/no/such/ca.pem")],
        &[("topic.metadata.refresh.interval.ms", "1000"), ("retry.backoff.ms", "250")],
        &[("topic.metadata.refresh.interval.ms", "1000"), ("metadata.max.age.ms", "5"), ("topic.metadata.refresh.fast.interval.ms", "7")],
        &[("retry.backoff.ms", "300"), ("retry.backoff.max.ms", "200"), ("reconnect.backoff.ms", "50"), ("reconnect.backoff.max.ms", "10")],
        &[("compression.codec", "gzip"), ("compression.level", "12")],
        &[("compression.codec", "snappy"), ("compression.level", "3")],
        &[("debug", "conf"), ("sasl.password", "hunter2"), ("ssl.key.password", "k"), ("group.id", "g")],
        &[("client.software.name", ".."), ("client.software.version", "1.2.3-rc1+build")],
        &[("log_level", "3"), ("debug", "broker")],
    ];
    cases.extend(combinations.iter().map(|pairs| case(pairs)));
    let mut topics = case(&[("acks", "1"), ("compression.codec", "gzip")]);
    topics.topic_pairs = vec![
        ("orders".into(), "acks".into(), "all".into()),
        ("orders".into(), "compression.level".into(), "12".into()),
        ("logs".into(), "delivery.timeout.ms".into(), "0".into()),
        ("audit".into(), "partitioner".into(), "murmur2".into()),
    ];
    cases.push(topics);
    let mut idempotent = case(&[("enable.idempotence", "true")]);
    idempotent.topic_pairs = vec![("orders".into(), "acks".into(), "all".into()), ("logs".into(), "acks".into(), "1".into())];
    cases.push(idempotent);
    cases
}

/// One line per case: what it sets, then the `Config`'s CRC-32 or the refusal.
fn outcome(case: &Case) -> String {
    let mut b = ConfigBuilder::new();
    b.set("bootstrap.servers", "127.0.0.1:9092").unwrap();
    let mut what = Vec::new();
    let mut refused = None;
    for (name, value) in &case.pairs {
        what.push(format!("{name}={value:?}"));
        if let Err(e) = b.set(name, value) {
            refused.get_or_insert(format!("set refused {}: {}", e.code(), e.message()));
        }
    }
    for (topic, name, value) in &case.topic_pairs {
        what.push(format!("{topic}:{name}={value:?}"));
        if let Err(e) = b.set_topic(topic, name, value) {
            refused.get_or_insert(format!("set refused {}: {}", e.code(), e.message()));
        }
    }
    let result = refused.unwrap_or_else(|| match b.build() {
        Ok(config) => format!("{:08x}", crc32fast::hash(fingerprint(&config).as_bytes())),
        Err(e) => format!("build refused {}: {}", e.code(), e.message()),
    });
    format!("{} -> {result}", if what.is_empty() { "defaults".to_owned() } else { what.join(" ") })
}

/// A `Config`'s `Debug` text, the same in every process: topics in order,
/// the TLS configuration (rustls's, not ours) reduced to whether there is one.
fn fingerprint(config: &Config) -> String {
    let mut config = config.clone();
    let topics: BTreeMap<String, _> = std::mem::take(&mut config.topics).into_iter().collect();
    let tls = config.security.tls.take().is_some();
    format!("{config:?} topics={topics:?} tls={tls}")
}

#[test]
fn every_option_at_its_bounds_builds_what_it_built_before() {
    let lines: Vec<String> = cases().iter().map(outcome).collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/kafka/config/tests/boundaries.txt");
    if std::env::var_os("ABLKAFKA_BLESS").is_some() {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
        return;
    }
    let before = include_str!("boundaries.txt");
    assert_eq!(before.lines().count(), lines.len(), "the cases changed: bless the file only for a change that is meant");
    for (line, old) in lines.iter().zip(before.lines()) {
        assert_eq!(line, old);
    }
}
