//! Options by name: the table entry of a name or alias, and the meaning of
//! each default.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::check::check;
use super::error::ConfigError;
use super::ignored;
use super::options::OPTIONS;
use super::spec::OptionSpec;
use super::value::Value;
use crate::kafka::topic_config::TOPIC_OPTIONS;

/// Every option a producer accepts: the honoured ones, then those it
/// ignores as librdkafka's producer does.
pub(super) fn accepted() -> impl Iterator<Item = &'static OptionSpec> {
    OPTIONS.iter().chain(ignored::NO_LONGER_USED).chain(ignored::CONSUMER_ONLY)
}

/// An option by name or alias, or by `topic.` and a topic-level name.
pub(super) fn spec(name: &str) -> Option<&'static OptionSpec> {
    accepted().find(|s| s.name == name || s.aliases.contains(&name)).or_else(|| {
        // librdkafka's `topic.` prefix on a global configuration sets the
        // default topic configuration's property.
        name.strip_prefix("topic.").and_then(topic_spec)
    })
}

/// A topic-level option, by name or alias.
pub(super) fn topic_spec(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|s| (s.name == name || s.aliases.contains(&name)) && TOPIC_OPTIONS.contains(&s.name))
}

/// librdkafka's answer for a name a topic configuration does not have.
pub(super) fn unknown(name: &str) -> ConfigError {
    ConfigError::Unknown(format!("No such configuration property: \"{name}\""))
}

/// The meaning of an option's default: checked once, on first use, by the
/// same `check` as a value set. None where the default is not a value a
/// caller could set (bootstrap.servers' and debug's empty ones,
/// sasl.mechanism's GSSAPI).
pub(super) fn default_value(spec: &OptionSpec) -> Option<Value> {
    static DEFAULTS: OnceLock<BTreeMap<&'static str, Value>> = OnceLock::new();
    let defaults = DEFAULTS.get_or_init(|| accepted().filter_map(|s| Some((s.name, check(s, s.name, s.default).ok()?.value))).collect());
    defaults.get(spec.name).copied()
}
