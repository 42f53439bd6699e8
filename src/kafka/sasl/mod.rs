//! SASL authentication, client side: PLAIN (RFC 4616) and SCRAM-SHA-256/512
//! (RFC 5802, RFC 7677). A mechanism is an `Exchange` of opaque messages,
//! sans-IO; `client::sasl_login` carries them to the broker in
//! SaslAuthenticate requests.
//!
//! Secrets stay out of error strings: those name what went wrong and may
//! quote the broker, never the password or anything derived from it.

mod exchange;
pub mod plain;
pub mod scram;

use base64ct::{Base64, Encoding};

pub use exchange::{Credentials, Exchange, Mechanism, Step};

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
    use zeroize::Zeroizing;

    use super::*;

    fn credentials(mechanism: Mechanism) -> Credentials {
        Credentials { mechanism, username: "alice".into(), password: Zeroizing::new("s3cr3t-pw".into()) }
    }

    #[test]
    fn mechanisms_are_named_as_brokers_know_them() {
        // Found by name in any case by the sasl.mechanism option's check.
        assert_eq!(Mechanism::NAMES, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
        for (name, mechanism) in Mechanism::NAMES.iter().zip(Mechanism::ALL) {
            assert_eq!(mechanism.name(), *name);
        }
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
