//! SASL authentication, client side: PLAIN (RFC 4616) and SCRAM-SHA-256/512
//! (RFC 5802, RFC 7677). A mechanism is an `Exchange` of opaque messages,
//! sans-IO; `client::sasl_login` carries them to the broker in
//! SaslAuthenticate requests.
//!
//! Secrets stay out of error strings: those name what went wrong and may
//! quote the broker, never the password or anything derived from it.

pub mod plain;
pub mod scram;

use std::fmt;

use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

/// A SASL mechanism this client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    /// Every mechanism's name, for configuration errors.
    pub const NAMES: [&'static str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];
    const ALL: [Mechanism; 3] = [Mechanism::Plain, Mechanism::ScramSha256, Mechanism::ScramSha512];

    /// The mechanism named `name`, in any case (as librdkafka accepts it).
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Self::ALL.into_iter().find(|m| m.name().eq_ignore_ascii_case(name))
    }

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

/// Starts an exchange for `credentials`, with a fresh random nonce for
/// SCRAM. Fails only when the system has no randomness to give.
pub fn start(credentials: &Credentials) -> Result<Box<dyn Exchange>, String> {
    Ok(match credentials.mechanism {
        Mechanism::Plain => Box::new(plain::Plain::new(credentials)),
        Mechanism::ScramSha256 => Box::new(scram::Scram::new(scram::Hash::Sha256, credentials, random_nonce()?)),
        Mechanism::ScramSha512 => Box::new(scram::Scram::new(scram::Hash::Sha512, credentials, random_nonce()?)),
    })
}

/// 24 random bytes in base64: printable, and without the ',' SCRAM forbids.
fn random_nonce() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| "no random bytes for the SCRAM nonce".to_owned())?;
    Ok(Base64::encode_string(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(mechanism: Mechanism) -> Credentials {
        Credentials { mechanism, username: "alice".into(), password: Zeroizing::new("s3cr3t-pw".into()) }
    }

    #[test]
    fn mechanisms_are_found_by_name_in_any_case() {
        for (name, mechanism) in Mechanism::NAMES.iter().zip(Mechanism::ALL) {
            assert_eq!(Mechanism::from_name(name), Some(mechanism));
            assert_eq!(mechanism.name(), *name);
        }
        assert_eq!(Mechanism::from_name("scram-sha-512"), Some(Mechanism::ScramSha512));
        assert_eq!(Mechanism::from_name("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
        assert_eq!(Mechanism::from_name("SCRAM-SHA-1"), None);
    }

    #[test]
    fn debug_output_hides_the_password() {
        let shown = format!("{:?}", credentials(Mechanism::ScramSha256));
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(shown.contains("[redacted]") && shown.contains("alice") && shown.contains("ScramSha256"), "{shown}");
    }

    #[test]
    fn scram_nonces_are_fresh_and_printable() {
        let a = random_nonce().unwrap();
        let b = random_nonce().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_graphic() && c != b','), "{a}");

        let first = |mechanism| String::from_utf8(start(&credentials(mechanism)).unwrap().first_message()).unwrap();
        let (one, two) = (first(Mechanism::ScramSha512), first(Mechanism::ScramSha512));
        assert!(one.starts_with("n,,n=alice,r=") && one.len() == "n,,n=alice,r=".len() + 32, "{one}");
        assert_ne!(one, two);
        assert_eq!(first(Mechanism::Plain), "\0alice\0s3cr3t-pw");
    }
}
