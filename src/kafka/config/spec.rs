//! What an option is: its kind of value and its entry in the tables
//! (`options.rs`, `ignored.rs`), apart from the builder that reads them, so
//! that the tables import only this.

use super::refused::Refusal;

/// How an option's value is checked and read.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// librdkafka's `debug` contexts, comma-separated, in any case.
    DebugContexts,
    Int {
        min: i64,
        max: i64,
    },
    /// Milliseconds, which librdkafka accepts as a decimal for linger.ms.
    Millis {
        min: f64,
        max: f64,
    },
    /// librdkafka's spellings: true, t, 1, false, f, 0, in any case; kept as
    /// true or false.
    Bool,
    /// `acks`: all, or -1..1000.
    Acks,
    /// One of these, in any case (as librdkafka compares them); kept as spelled here.
    Choice(&'static [&'static str]),
    /// A `Choice`, and values librdkafka has that are refused here, each
    /// with the reason.
    ChoiceRefusing(&'static [&'static str], &'static [(&'static str, &'static str)]),
    /// A value of `kind` that is honoured as `value` only: the others ask
    /// for what ablkafka does not do, and are refused with why.
    Only {
        kind: &'static Kind,
        value: &'static str,
        refusal: Refusal,
    },
    /// librdkafka's CSV flags (builtin.features): names in any case, each
    /// with an optional +/- prefix; refused names with why. Setting only
    /// checks them: the value stays the default, as in librdkafka, whose
    /// default holds every flag.
    Flags {
        names: &'static [&'static str],
        refused: &'static [(&'static str, &'static str)],
    },
    /// A password or key: never shown, never read back, wiped when dropped.
    Secret,
    Text {
        required: bool,
        /// Longest value in bytes: a string that goes on the wire as a
        /// Kafka STRING must fit its INT16 length.
        max_bytes: usize,
    },
    /// client.software.name or .version: any text, as librdkafka takes it
    /// (sanitized for KIP-511 at build); empty is the default.
    SoftwareId,
}

/// Longest Kafka STRING (INT16 length).
pub(super) const WIRE_STRING_MAX: usize = i16::MAX as usize;

/// One option: its name, its aliases, its default and how its value is
/// checked.
#[derive(Clone, Copy)]
pub(super) struct OptionSpec {
    pub(super) name: &'static str,
    pub(super) aliases: &'static [&'static str],
    pub(super) default: &'static str,
    pub(super) kind: Kind,
}
