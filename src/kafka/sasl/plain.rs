//! PLAIN (RFC 4616): the user name and password in one message. It proves
//! nothing about the server, so use it only over TLS.

use zeroize::Zeroizing;

use super::exchange::{Credentials, Exchange, Step};

/// The PLAIN exchange: one message, then the server's empty answer.
pub struct Plain {
    username: String,
    password: Zeroizing<String>,
    sent: bool,
    done: bool,
}

impl Plain {
    pub fn new(credentials: &Credentials) -> Self {
        Plain { username: credentials.username.clone(), password: credentials.password.clone(), sent: false, done: false }
    }
}

impl Exchange for Plain {
    /// `\0username\0password`: no authorization identity, so the broker
    /// authorizes as the user name.
    fn first_message(&mut self) -> Vec<u8> {
        self.sent = true;
        let mut message = Vec::with_capacity(2 + self.username.len() + self.password.len());
        message.push(0);
        message.extend_from_slice(self.username.as_bytes());
        message.push(0);
        message.extend_from_slice(self.password.as_bytes());
        message
    }

    /// The server has nothing to say (Kafka answers with no bytes) and
    /// nothing to prove, so any answer that is not an error ends it.
    fn next_message(&mut self, _server: &[u8]) -> Result<Step, String> {
        if !self.sent || self.done {
            return Err("PLAIN: unexpected message from the server".to_owned());
        }
        self.done = true;
        Ok(Step::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::sasl::Mechanism;

    #[test]
    fn one_message_then_done() {
        let credentials = Credentials { mechanism: Mechanism::Plain, username: "alice".into(), password: Zeroizing::new("pw=1,2".into()) };
        let mut plain = Plain::new(&credentials);
        assert!(plain.next_message(b"").is_err(), "nothing sent yet");
        assert_eq!(plain.first_message(), b"\0alice\0pw=1,2");
        assert_eq!(plain.next_message(b""), Ok(Step::Done));
        let error = plain.next_message(b"").unwrap_err();
        assert!(!error.contains("pw=1,2"), "{error}");
    }
}
