//! Options by name: the table entry of a name or alias, and the meaning of
//! each default.

use once_cell::sync::Lazy;

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

/// How many options a producer accepts.
const ACCEPTED: usize = OPTIONS.len() + ignored::NO_LONGER_USED.len() + ignored::CONSUMER_ONLY.len();

/// The meaning of an option's default: checked once, on first use, by the
/// same `check` as a value set. None where the default is not a value a
/// caller could set (bootstrap.servers' and debug's empty ones,
/// sasl.mechanism's GSSAPI).
pub(super) fn default_value(spec: &OptionSpec) -> Option<Value> {
    // An array in static memory, not a map on the heap: a library unloaded
    // by dlclose leaves nothing behind (the dlopen_cycle test's leak check).
    static DEFAULTS: Lazy<[Option<Value>; ACCEPTED]> = Lazy::new(|| {
        let mut defaults = [None; ACCEPTED];
        for (default, s) in defaults.iter_mut().zip(accepted()) {
            *default = check(s, s.name, s.default).ok().map(|checked| checked.value);
        }
        defaults
    });
    let place = accepted().position(|s| s.name == spec.name)?;
    DEFAULTS.get(place).copied().flatten()
}
