//! The builder an application sets options on, by librdkafka's names, and
//! reads them back from; each value is checked as it is set and kept with
//! its meaning for `build`.

use std::collections::BTreeMap;

use super::check::check;
use super::error::ConfigError;
use super::lookup::{default_value, spec, topic_spec, unknown};
use super::refused;
use super::spec::Kind;
use super::value::{Setting, Value};
use crate::kafka::topic_name;

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
pub(super) const REDACTED: &str = "[redacted]";

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
    pub(super) fn current(&self, topic: Option<&str>, name: &str) -> Option<(&str, Option<Value>)> {
        let spec = spec(name)?;
        let own = topic.and_then(|t| self.topics.get(t)).and_then(|values| values.get(spec.name));
        Some(match own.or_else(|| self.values.get(spec.name)) {
            Some(setting) => (setting.text.as_str(), Some(setting.value)),
            None => (spec.default, default_value(spec)),
        })
    }

    /// Whether the producer's value of an option was set.
    pub(super) fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Whether `topic`'s value of an option was set, its own or the producer's.
    pub(super) fn is_set_for(&self, topic: Option<&str>, name: &str) -> bool {
        topic.and_then(|t| self.topics.get(t)).is_some_and(|values| values.contains_key(name)) || self.is_set(name)
    }

    /// The topics with options of their own.
    pub(super) fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.keys().map(String::as_str)
    }
}
