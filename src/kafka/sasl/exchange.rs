//! What a SASL exchange is made of: the mechanisms, the credentials, and
//! the `Exchange` every mechanism implements (each in a file of its own,
//! which imports only this).

use std::fmt;

use zeroize::Zeroizing;

use crate::kafka::names::{names_of, values_of};

/// A SASL mechanism this client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

/// Every mechanism with the name brokers know it by.
const MECHANISMS: [(Mechanism, &str); 3] =
    [(Mechanism::Plain, "PLAIN"), (Mechanism::ScramSha256, "SCRAM-SHA-256"), (Mechanism::ScramSha512, "SCRAM-SHA-512")];

impl Mechanism {
    /// The sasl.mechanism choices, as brokers know them.
    pub const NAMES: [&'static str; MECHANISMS.len()] = names_of(&MECHANISMS);
    /// The mechanisms, in `NAMES`' order.
    pub const ALL: [Mechanism; MECHANISMS.len()] = values_of(&MECHANISMS);

    /// The name brokers know it by, as sent in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => Self::NAMES[0],
            Mechanism::ScramSha256 => Self::NAMES[1],
            Mechanism::ScramSha512 => Self::NAMES[2],
        }
    }
}

/// Who to authenticate as, and how.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub mechanism: Mechanism,
    pub username: String,
    /// Wiped from memory when dropped.
    pub password: Zeroizing<String>,
}

/// Never shows the password: credentials sit in a `Debug` configuration.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &format_args!("[redacted]"))
            .finish()
    }
}

/// What the client does after a server message.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this message (it may hold secrets: wipe it once sent).
    Send(Vec<u8>),
    /// The exchange is complete and the server proved itself if the
    /// mechanism can (SCRAM).
    Done,
}

/// The client side of one SASL exchange.
pub trait Exchange: Send {
    /// The client's opening message (it may hold secrets: PLAIN's does).
    fn first_message(&mut self) -> Vec<u8>;
    /// Takes the server's answer to our last message. The error is for a
    /// person and holds no secret.
    fn next_message(&mut self, server: &[u8]) -> Result<Step, String>;
}
