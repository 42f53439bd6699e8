//! What `build` reads of the options: each one's value as `check` left it,
//! `topic`'s own where it has one, else the producer's, else the default's.
//! Nothing is parsed here. A read that an option's kind cannot answer would
//! be a table and `build` that disagree: it is refused as an invalid
//! configuration naming the option, never a panic (the table test and
//! `tests/boundaries.rs` show none happens).

use std::time::Duration;

use super::builder::ConfigBuilder;
use super::error::ConfigError;
use super::value::Value;
use crate::kafka::log::Contexts;

/// The options as one topic, or the producer, sees them.
pub(super) struct Read<'a> {
    options: &'a ConfigBuilder,
    topic: Option<&'a str>,
}

impl<'a> Read<'a> {
    /// The producer's options (and the topic-level ones of topics without
    /// their own).
    pub(super) fn producer(options: &'a ConfigBuilder) -> Self {
        Read { options, topic: None }
    }

    /// `topic`'s topic-level options.
    pub(super) fn topic(options: &'a ConfigBuilder, topic: &'a str) -> Self {
        Read { options, topic: Some(topic) }
    }

    pub(super) fn topic_name(&self) -> Option<&'a str> {
        self.topic
    }

    /// Whether the option was set (the topic's own or the producer's), as
    /// librdkafka's "is modified".
    pub(super) fn is_set(&self, name: &'static str) -> bool {
        self.options.is_set_for(self.topic, name)
    }

    /// The text as set (or the default's), secrets included.
    pub(super) fn text(&self, name: &'static str) -> Result<&'a str, ConfigError> {
        Ok(self.current(name)?.0)
    }

    /// The text, None when unset or empty.
    pub(super) fn set_text(&self, name: &'static str) -> Result<Option<&'a str>, ConfigError> {
        Ok(Some(self.text(name)?).filter(|text| !text.is_empty()))
    }

    pub(super) fn int(&self, name: &'static str) -> Result<i64, ConfigError> {
        match self.value(name)? {
            Some(Value::Int(n)) => Ok(n),
            _ => Err(disagree(name, "has no integer value")),
        }
    }

    /// A whole (`Int`) or decimal (`Millis`) number of milliseconds; a
    /// negative one is no duration (`build` reads none whose range has one).
    pub(super) fn millis(&self, name: &'static str) -> Result<Duration, ConfigError> {
        match self.value(name)? {
            Some(Value::Int(n)) => u64::try_from(n).map(Duration::from_millis).map_err(|_| disagree(name, "is negative, not a duration")),
            Some(Value::Duration(duration)) => Ok(duration),
            _ => Err(disagree(name, "has no value in milliseconds")),
        }
    }

    pub(super) fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.value(name)? {
            Some(Value::Bool(flag)) => Ok(flag),
            _ => Err(disagree(name, "is not true or false")),
        }
    }

    /// The value of a choice, from `all`: the values of the table whose
    /// names the option's kind lists.
    pub(super) fn choice<T: Copy>(&self, name: &'static str, all: &[T]) -> Result<T, ConfigError> {
        self.listed(name, all)?.ok_or_else(|| disagree(name, "is none of its choices"))
    }

    /// `choice`, or None where the value is none of them: a default that
    /// a caller could not set (sasl.mechanism's GSSAPI).
    pub(super) fn listed<T: Copy>(&self, name: &'static str, all: &[T]) -> Result<Option<T>, ConfigError> {
        match self.value(name)? {
            None => Ok(None),
            Some(Value::Choice(index)) => all.get(index).copied().map(Some).ok_or_else(|| disagree(name, "is none of its choices")),
            Some(_) => Err(disagree(name, "is none of its choices")),
        }
    }

    /// The debug contexts; none while the option has its empty default
    /// (which a caller could not set).
    pub(super) fn debug_contexts(&self, name: &'static str) -> Result<Contexts, ConfigError> {
        match self.value(name)? {
            None => Ok(Contexts::default()),
            Some(Value::DebugContexts(contexts)) => Ok(contexts),
            Some(_) => Err(disagree(name, "is not a list of debug contexts")),
        }
    }

    /// The typed value; None for a default a caller could not set.
    fn value(&self, name: &'static str) -> Result<Option<Value>, ConfigError> {
        Ok(self.current(name)?.1)
    }

    fn current(&self, name: &'static str) -> Result<(&'a str, Option<Value>), ConfigError> {
        self.options.current(self.topic, name).ok_or_else(|| disagree(name, "is not in the option table"))
    }
}

/// The refusal of a read the option table cannot answer.
fn disagree(name: &str, what: &str) -> ConfigError {
    ConfigError::Invalid(format!("Configuration property \"{name}\" {what}: the option table and build disagree (a bug)"))
}
