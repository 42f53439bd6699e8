//! Which topic names Kafka accepts: 1 to 249 characters from
//! `[a-zA-Z0-9._-]`, and neither `.` nor `..` (Java's `Topic.validate`,
//! which librdkafka's produce applies too). A name outside these rules
//! could not be created on a broker, and one over 32,767 bytes could not
//! even be encoded: it is refused at send, before it joins the producer's
//! topics and every Metadata request.

use std::sync::Arc;

/// Longest legal topic name (Kafka's `Topic.MAX_NAME_LENGTH`).
pub const MAX_LENGTH: usize = 249;

/// Why a topic name is not legal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidTopic {
    Empty,
    TooLong,
    DotOrDotDot,
    IllegalCharacter,
}

impl InvalidTopic {
    /// The reason, for the receipt's error message.
    pub fn reason(self) -> &'static str {
        match self {
            InvalidTopic::Empty => "Invalid topic name: empty",
            InvalidTopic::TooLong => "Invalid topic name: longer than 249 characters",
            InvalidTopic::DotOrDotDot => "Invalid topic name: \".\" and \"..\" are not allowed",
            InvalidTopic::IllegalCharacter => "Invalid topic name: only ASCII letters, digits, '.', '_' and '-' are allowed",
        }
    }

    /// Every reason, in a stable order (`index` is a position here).
    pub const ALL: [InvalidTopic; 4] =
        [InvalidTopic::Empty, InvalidTopic::TooLong, InvalidTopic::DotOrDotDot, InvalidTopic::IllegalCharacter];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Checks `name` against Kafka's rules.
pub fn validate(name: &str) -> Result<(), InvalidTopic> {
    if name.is_empty() {
        return Err(InvalidTopic::Empty);
    }
    if name.len() > MAX_LENGTH {
        return Err(InvalidTopic::TooLong);
    }
    if name == "." || name == ".." {
        return Err(InvalidTopic::DotOrDotDot);
    }
    match name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        true => Ok(()),
        false => Err(InvalidTopic::IllegalCharacter),
    }
}

/// A topic's name as receipts keep it (OpenEdge's `TopicName` of a
/// response): one per topic, shared by its receipts. Kept with a NUL after
/// it so that the C API can lend it out as a C string, without a copy per
/// receipt.
#[derive(Debug)]
pub struct TopicLabel {
    with_nul: Box<str>,
}

impl TopicLabel {
    pub fn new(name: &str) -> Arc<TopicLabel> {
        Arc::new(TopicLabel { with_nul: format!("{name}\0").into_boxed_str() })
    }

    pub fn as_str(&self) -> &str {
        &self.with_nul[..self.with_nul.len() - 1]
    }

    /// The name and a NUL after it (a name with a NUL inside ends there
    /// for C).
    pub fn with_nul(&self) -> &[u8] {
        self.with_nul.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_rules() {
        for ok in ["t", "my-topic", "a.b_c-D9", "...", ".x", &"t".repeat(249)] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        assert_eq!(validate(""), Err(InvalidTopic::Empty));
        assert_eq!(validate(&"t".repeat(250)), Err(InvalidTopic::TooLong));
        assert_eq!(validate(&"t".repeat(32_768)), Err(InvalidTopic::TooLong));
        assert_eq!(validate("."), Err(InvalidTopic::DotOrDotDot));
        assert_eq!(validate(".."), Err(InvalidTopic::DotOrDotDot));
        for bad in ["a b", "a/b", "tøpic", "a:b", "a\nb"] {
            assert_eq!(validate(bad), Err(InvalidTopic::IllegalCharacter), "{bad:?}");
        }
    }

    #[test]
    fn a_label_is_the_name_with_a_nul_after_it() {
        let label = TopicLabel::new("orders");
        assert_eq!((label.as_str(), label.with_nul()), ("orders", &b"orders\0"[..]));
        assert_eq!(TopicLabel::new("").with_nul(), b"\0");
    }

    #[test]
    fn reasons_are_indexed_in_order() {
        for (i, reason) in InvalidTopic::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i);
        }
    }
}
