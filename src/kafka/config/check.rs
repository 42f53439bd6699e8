//! `check`: a value's text against its option's kind, as librdkafka checks
//! it, refused with a message naming the option, or accepted with the text
//! to keep and what it means.

use std::time::Duration;

use super::error::ConfigError;
use super::options::SECRET_MAX_BYTES;
use super::spec::{Kind, OptionSpec, WIRE_STRING_MAX};
use super::value::{Checked, Value};
use crate::kafka::log::{Contexts, DEBUG_CONTEXTS};

/// Checks a value; returns it as it is kept (a choice in its listed
/// spelling) with what it means.
pub(super) fn check<'v>(spec: &OptionSpec, name: &str, value: &'v str) -> Result<Checked<'v>, ConfigError> {
    // A long value is shown by its start only: the message is for a person.
    let shown: String = match value.chars().count() > 64 {
        true => value.chars().take(64).chain("...".chars()).collect(),
        false => value.to_owned(),
    };
    let invalid = |why: String| ConfigError::Invalid(format!("Invalid value \"{shown}\" for configuration property \"{name}\": {why}"));
    match spec.kind {
        Kind::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Checked { text: value, value: Value::Int(n) }),
            Ok(_) => Err(invalid(format!("value must be {min}..{max}"))),
            Err(_) => Err(invalid("expected an integer".into())),
        },
        Kind::Millis { min, max } => match value.parse::<f64>() {
            // In range, so neither negative nor too long for a Duration.
            Ok(n) if n.is_finite() && (min..=max).contains(&n) => match Duration::try_from_secs_f64(n / 1000.0) {
                Ok(duration) => Ok(Checked { text: value, value: Value::Duration(duration) }),
                Err(_) => Err(invalid(format!("value must be {min}..{max}"))),
            },
            Ok(_) => Err(invalid(format!("value must be {min}..{max}"))),
            Err(_) => Err(invalid("expected a number of milliseconds".into())),
        },
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Ok(Checked { text: "true", value: Value::Bool(true) }),
            "false" | "f" | "0" => Ok(Checked { text: "false", value: Value::Bool(false) }),
            _ => Err(invalid("expected true or false".into())),
        },
        Kind::Acks if value.eq_ignore_ascii_case("all") => Ok(Checked { text: "-1", value: Value::Int(-1) }),
        Kind::Acks => match value.parse::<i64>() {
            Ok(n) if (-1..=1000).contains(&n) => Ok(Checked { text: value, value: Value::Int(n) }),
            _ => Err(invalid("expected all, or -1..1000".into())),
        },
        Kind::Choice(choices) | Kind::ChoiceRefusing(choices, _) => {
            match choices.iter().enumerate().find(|(_, c)| c.eq_ignore_ascii_case(value)) {
                Some((index, choice)) => Ok(Checked { text: choice, value: Value::Choice(index) }),
                None => {
                    let refusals = match spec.kind {
                        Kind::ChoiceRefusing(_, refusals) => refusals,
                        _ => &[],
                    };
                    match refusals.iter().find(|(refused, _)| refused.eq_ignore_ascii_case(value)) {
                        Some((_, why)) => Err(invalid(format!("not supported: {why}"))),
                        None => Err(invalid(format!("expected one of: {}", choices.join(", ")))),
                    }
                }
            }
        }
        Kind::Only { kind, value: only, refusal } => {
            let checked = check(&OptionSpec { kind: *kind, ..*spec }, name, value)?;
            // A number is compared as one ("01" asks for 1).
            let same = checked.text == only || matches!((checked.text.parse::<i64>(), only.parse::<i64>()), (Ok(a), Ok(b)) if a == b);
            match same {
                true => Ok(Checked { text: only, value: checked.value }),
                false => Err(invalid(format!("{refusal} (only \"{only}\" is)"))),
            }
        }
        Kind::DebugContexts if value.is_empty() => Err(invalid("must not be empty".into())),
        Kind::DebugContexts => match Contexts::parse(value) {
            Some(contexts) => Ok(Checked { text: value, value: Value::DebugContexts(contexts) }),
            None => Err(invalid(format!("expected a comma-separated list of: {}", DEBUG_CONTEXTS.join(", ")))),
        },
        Kind::Flags { names, refused } => {
            if value.is_empty() {
                return Err(invalid("must not be empty".into()));
            }
            for flag in value.split(',').map(|f| f.trim().trim_start_matches(['+', '-'])).filter(|f| !f.is_empty()) {
                if let Some((_, why)) = refused.iter().find(|(r, _)| r.eq_ignore_ascii_case(flag)) {
                    return Err(invalid(format!("not supported: {flag}: {why}")));
                }
                if !names.iter().any(|n| n.eq_ignore_ascii_case(flag)) {
                    return Err(invalid(format!("{flag}: expected any of: {}", names.join(", "))));
                }
            }
            Ok(Checked { text: spec.default, value: Value::Text })
        }
        // Whatever it is, it is not repeated: it may be a password or a key.
        Kind::Secret if value.len() > SECRET_MAX_BYTES => {
            Err(ConfigError::Invalid(format!("Invalid value for configuration property \"{name}\": {} bytes is too long", value.len())))
        }
        Kind::Secret => Ok(Checked { text: value, value: Value::Text }),
        Kind::Text { required: true, .. } if value.is_empty() => Err(invalid("must not be empty".into())),
        Kind::Text { max_bytes, .. } if value.len() > max_bytes => {
            Err(invalid(format!("{} bytes, longer than the {max_bytes} a Kafka string can carry", value.len())))
        }
        Kind::Text { .. } => Ok(Checked { text: value, value: Value::Text }),
        Kind::SoftwareId if value.is_empty() => Ok(Checked { text: spec.default, value: Value::Text }),
        Kind::SoftwareId if value.len() > WIRE_STRING_MAX => {
            Err(invalid(format!("{} bytes, longer than the {WIRE_STRING_MAX} a Kafka string can carry", value.len())))
        }
        Kind::SoftwareId => Ok(Checked { text: value, value: Value::Text }),
    }
}
