//! Values are parsed once: `check` gives each its meaning, which is what
//! `build` reads, for every option of the table and every kind.

use std::time::Duration;

use super::super::builder::REDACTED;
use super::super::check::check;
use super::super::lookup::{accepted, default_value, topic_spec};
use super::super::read::Read;
use super::super::spec::Kind;
use super::super::value::{Checked, Value};
use super::super::*;
use super::boundaries::samples;
use crate::kafka::log::Contexts;
use crate::kafka::protocol::compression::Codec;
use crate::kafka::sasl::Mechanism;
use crate::kafka::topic_config::TOPIC_OPTIONS;

fn builder_with(name: &str, value: &str) -> ConfigBuilder {
    let mut b = ConfigBuilder::new();
    b.set("bootstrap.servers", "127.0.0.1:9092").unwrap();
    b.set(name, value).unwrap_or_else(|e| panic!("{name}={value}: {}", e.message()));
    b
}

/// The meaning `kind` promises for a value it accepted as `text`.
fn promised(kind: &Kind, text: &str) -> Value {
    match *kind {
        Kind::Int { .. } | Kind::Acks => Value::Int(text.parse().unwrap()),
        Kind::Millis { .. } => Value::Duration(Duration::from_secs_f64(text.parse::<f64>().unwrap() / 1000.0)),
        Kind::Bool => Value::Bool(text == "true"),
        Kind::Choice(choices) | Kind::ChoiceRefusing(choices, _) => Value::Choice(choices.iter().position(|&c| c == text).unwrap()),
        Kind::Only { kind, .. } => promised(kind, text),
        Kind::DebugContexts => Value::DebugContexts(Contexts::parse(text).unwrap()),
        Kind::Flags { .. } | Kind::Secret | Kind::Text { .. } | Kind::SoftwareId => Value::Text,
    }
}

/// What `build` reads of `name`, by the reader its kind answers.
fn read_back(kind: &Kind, read: &Read, name: &'static str) -> Value {
    match *kind {
        Kind::Int { .. } | Kind::Acks => Value::Int(read.int(name).unwrap()),
        Kind::Millis { .. } => Value::Duration(read.millis(name).unwrap()),
        Kind::Bool => Value::Bool(read.flag(name).unwrap()),
        Kind::Choice(choices) | Kind::ChoiceRefusing(choices, _) => {
            let places: Vec<usize> = (0..choices.len()).collect();
            Value::Choice(read.choice(name, &places).unwrap())
        }
        Kind::Only { kind, .. } => read_back(kind, read, name),
        Kind::DebugContexts => Value::DebugContexts(read.debug_contexts(name).unwrap()),
        Kind::Flags { .. } | Kind::Secret | Kind::Text { .. } | Kind::SoftwareId => {
            read.text(name).unwrap();
            Value::Text
        }
    }
}

#[test]
fn every_kind_checks_to_the_meaning_build_reads() {
    let mut checked = 0;
    for spec in accepted() {
        for sample in samples(spec).iter().chain([&spec.default.to_owned()]) {
            let Ok(Checked { text, value }) = check(spec, spec.name, sample) else {
                assert!(["bootstrap.servers", "debug", "sasl.mechanism"].contains(&spec.name), "{}={sample:?}", spec.name);
                continue;
            };
            assert_eq!(value, promised(&spec.kind, text), "{}={sample:?}", spec.name);
            let b = builder_with(spec.name, sample);
            assert_eq!(b.get(spec.name).unwrap(), if matches!(spec.kind, Kind::Secret) { REDACTED } else { text });
            assert_eq!(read_back(&spec.kind, &Read::producer(&b), spec.name), value, "{}={sample:?}", spec.name);
            checked += 1;
        }
    }
    assert!(checked > 250, "{checked}");
}

#[test]
fn topic_values_are_read_as_their_topic_set_them() {
    for name in TOPIC_OPTIONS {
        let spec = topic_spec(name).unwrap();
        for sample in samples(spec) {
            let mut b = builder_with("compression.codec", "zstd");
            b.set_topic("t", name, &sample).unwrap();
            let value = check(spec, name, &sample).unwrap().value;
            assert_eq!(read_back(&spec.kind, &Read::topic(&b, "t"), spec.name), value, "{name}={sample:?}");
            assert_eq!(Read::topic(&b, "other").choice("compression.codec", &Codec::ALL).unwrap(), Codec::Zstd);
        }
    }
}

#[test]
fn defaults_are_checked_once_as_set_values_are() {
    let mut without = Vec::new();
    for spec in accepted() {
        match default_value(spec) {
            Some(value) => assert_eq!(Some(value), check(spec, spec.name, spec.default).ok().map(|c| c.value), "{}", spec.name),
            None => without.push(spec.name),
        }
    }
    // Defaults a caller could not set: read as text, as no contexts, and
    // as "not supported" when SASL needs a mechanism.
    assert_eq!(without, ["bootstrap.servers", "sasl.mechanism", "debug"]);
}

#[test]
fn build_reads_every_option_by_its_kind_in_every_branch() {
    let branches: &[&[(&str, &str)]] = &[
        &[],
        &[
            ("security.protocol", "ssl"),
            ("enable.ssl.certificate.verification", "false"),
            ("ssl.endpoint.identification.algorithm", "none"),
        ],
        &[("security.protocol", "sasl_ssl"), ("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.username", "u"), ("sasl.password", "p")],
        &[("enable.idempotence", "true"), ("max.in.flight", "5"), ("debug", "conf")],
        &[("topic.metadata.refresh.interval.ms", "-1"), ("topic.metadata.refresh.fast.interval.ms", "9"), ("metadata.max.age.ms", "9")],
    ];
    for pairs in branches {
        let mut b = builder_with("linger.ms", "0.25");
        for (name, value) in *pairs {
            b.set(name, value).unwrap();
        }
        b.set_topic("t", "compression.codec", "lz4").unwrap();
        let config = b.build().unwrap_or_else(|e| panic!("{pairs:?}: {}", e.message()));
        assert_eq!(config.linger, Duration::from_micros(250));
        assert_eq!(config.topic("t").codec, Codec::Lz4);
    }
}

#[test]
fn a_read_the_table_cannot_answer_is_refused_naming_the_option() {
    let mut b = builder_with("compression.codec", "zstd");
    b.set("topic.metadata.refresh.interval.ms", "-1").unwrap();
    let read = Read::producer(&b);
    let refusals = [
        read.int("compression.codec").unwrap_err(),
        read.flag("linger.ms").unwrap_err(),
        read.millis("enable.idempotence").unwrap_err(),
        read.millis("topic.metadata.refresh.interval.ms").unwrap_err(),
        read.debug_contexts("acks").unwrap_err(),
        read.choice("client.id", &[1, 2]).unwrap_err(),
        // zstd is the fifth choice: a list of values shorter than the names.
        read.choice("compression.codec", &[Codec::None, Codec::Gzip]).unwrap_err(),
        read.int("no.such.option").unwrap_err(),
        read.text("no.such.option").unwrap_err(),
    ];
    for (refusal, name) in refusals.iter().zip([
        "compression.codec",
        "linger.ms",
        "enable.idempotence",
        "topic.metadata.refresh.interval.ms",
        "acks",
        "client.id",
        "compression.codec",
        "no.such.option",
        "no.such.option",
    ]) {
        assert_eq!(refusal.code(), -1);
        assert!(refusal.message().contains(&format!("\"{name}\"")) && refusal.message().contains("disagree"), "{}", refusal.message());
    }
    assert_eq!(read.listed("sasl.mechanism", &Mechanism::ALL).unwrap(), None, "GSSAPI, the default, is none of them");
    assert!(read.debug_contexts("debug").unwrap().is_empty(), "the empty default: no context");
}
