//! An option's value as `check` read it, kept beside its text: the text is
//! what reads back, the value is what `build` reads, so nothing is parsed
//! twice.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::kafka::log::Contexts;

/// What a value means, by its option's `Kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Value {
    /// `Int`, and `Acks` (all is -1).
    Int(i64),
    /// `Millis`, which may be a decimal.
    Duration(Duration),
    Bool(bool),
    /// `Choice` and `ChoiceRefusing`: the place in the kind's list, which is
    /// the place in the list of values of the same table (`names_of`,
    /// `values_of`).
    Choice(usize),
    DebugContexts(Contexts),
    /// `Text`, `Secret`, `SoftwareId` and `Flags`: the text is the value.
    Text,
}

/// A value `check` accepted: the text to keep (a choice in its listed
/// spelling, a flag as true or false) and what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Checked<'v> {
    pub(super) text: &'v str,
    pub(super) value: Value,
}

/// A value as set: its text, wiped from memory when dropped (it may be a
/// secret), and its meaning.
#[derive(Clone)]
pub(super) struct Setting {
    pub(super) text: Zeroizing<String>,
    pub(super) value: Value,
}

impl From<Checked<'_>> for Setting {
    fn from(checked: Checked<'_>) -> Self {
        Setting { text: Zeroizing::new(checked.text.to_owned()), value: checked.value }
    }
}
