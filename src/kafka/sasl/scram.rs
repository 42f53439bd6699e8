//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), client side,
//! without channel binding ("n,,"). The password never crosses the wire:
//! the client proves it knows it, and the server proves it knows the
//! password's salted form, each with an HMAC over the whole exchange.
//!
//! The password is used as its UTF-8 bytes, without SASLprep (RFC 4013):
//! like the Java client and librdkafka, so a password works here exactly
//! when it works for them.

use base64ct::{Base64, Encoding};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

use super::exchange::{Credentials, Exchange, Step};

/// Kafka refuses SCRAM credentials stored with fewer iterations.
const MIN_ITERATIONS: u32 = 4096;
/// Kafka stores at most 16384; far more would only be a hostile server
/// stalling the thread that computes the salted password.
const MAX_ITERATIONS: u32 = 1_000_000;

/// The hash a SCRAM mechanism is built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha512,
}

impl Hash {
    fn mechanism(self) -> &'static str {
        match self {
            Hash::Sha256 => "SCRAM-SHA-256",
            Hash::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        }
    }

    /// Hi(): PBKDF2 with HMAC over this hash, one output block.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![0u8; self.output_len()]);
        match self {
            Hash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
            Hash::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
        }
        out
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Zeroizing<Vec<u8>> {
        match self {
            Hash::Sha256 => mac_output(keyed::<Hmac<Sha256>>(key).chain_update(data)),
            Hash::Sha512 => mac_output(keyed::<Hmac<Sha512>>(key).chain_update(data)),
        }
    }

    fn digest(self, data: &[u8]) -> Zeroizing<Vec<u8>> {
        match self {
            Hash::Sha256 => Zeroizing::new(Sha256::digest(data).to_vec()),
            Hash::Sha512 => Zeroizing::new(Sha512::digest(data).to_vec()),
        }
    }

    /// Whether `tag` is HMAC(key, data), compared in constant time.
    fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        match self {
            Hash::Sha256 => keyed::<Hmac<Sha256>>(key).chain_update(data).verify_slice(tag).is_ok(),
            Hash::Sha512 => keyed::<Hmac<Sha512>>(key).chain_update(data).verify_slice(tag).is_ok(),
        }
    }
}

fn keyed<M: Mac + hmac::digest::KeyInit>(key: &[u8]) -> M {
    <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// The tag, with the stack copy it came in wiped.
fn mac_output(mac: impl Mac) -> Zeroizing<Vec<u8>> {
    let mut tag = mac.finalize().into_bytes();
    let out = Zeroizing::new(tag.to_vec());
    tag.as_mut_slice().zeroize();
    out
}

enum State {
    Start,
    SentFirst { client_first_bare: String },
    SentFinal { server_key: Zeroizing<Vec<u8>>, auth_message: String },
    Done,
}

/// One SCRAM exchange: client-first, server-first, client-final,
/// server-final.
pub struct Scram {
    hash: Hash,
    username: String,
    password: Zeroizing<String>,
    nonce: String,
    state: State,
}

impl Scram {
    /// `nonce` must be printable ASCII without ','; `super::start` draws a
    /// random one, tests pass their own.
    pub fn new(hash: Hash, credentials: &Credentials, nonce: String) -> Self {
        Scram { hash, username: credentials.username.clone(), password: credentials.password.clone(), nonce, state: State::Start }
    }

    fn error(&self, what: impl std::fmt::Display) -> String {
        format!("{}: {what}", self.hash.mechanism())
    }

    /// Checks server-first and computes client-final and what verifies
    /// server-final.
    fn client_final(&self, client_first_bare: &str, server_first: &str) -> Result<(Vec<u8>, State), String> {
        let server = parse_server_first(server_first, &self.nonce).map_err(|what| self.error(what))?;
        let without_proof = format!("c=biws,r={}", server.nonce);
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");

        let hash = self.hash;
        let salted_password = hash.salted_password(self.password.as_bytes(), &server.salt, server.iterations);
        let client_key = hash.hmac(&salted_password, b"Client Key");
        let stored_key = hash.digest(&client_key);
        let client_signature = hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Zeroizing<Vec<u8>> = Zeroizing::new(client_key.iter().zip(client_signature.iter()).map(|(k, s)| k ^ s).collect());
        let proof = Zeroizing::new(Base64::encode_string(&proof));
        let server_key = hash.hmac(&salted_password, b"Server Key");

        // Sized up front so that no copy of the proof is left behind by a reallocation.
        let mut message = Vec::with_capacity(without_proof.len() + 3 + proof.len());
        message.extend_from_slice(without_proof.as_bytes());
        message.extend_from_slice(b",p=");
        message.extend_from_slice(proof.as_bytes());
        Ok((message, State::SentFinal { server_key, auth_message }))
    }

    fn check_server_final(&self, server_final: &str, server_key: &[u8], auth_message: &str) -> Result<(), String> {
        // Extensions may follow; neither value can hold a ','.
        let value = server_final.split(',').next().unwrap_or_default();
        if let Some(error) = value.strip_prefix("e=") {
            return Err(self.error(format_args!("the server refused the exchange: {error}")));
        }
        let Some(signature) = value.strip_prefix("v=") else {
            return Err(self.error("the server's final message has no signature (v=)"));
        };
        let signature = Base64::decode_vec(signature).map_err(|_| self.error("the server's signature is not base64"))?;
        if !self.hash.verify(server_key, auth_message.as_bytes(), &signature) {
            return Err(self.error("the server's signature does not verify: it does not know this user's credentials"));
        }
        Ok(())
    }
}

impl Exchange for Scram {
    /// client-first: "n,," (no channel binding, no authorization identity)
    /// then "n=<user>,r=<nonce>".
    fn first_message(&mut self) -> Vec<u8> {
        let client_first_bare = format!("n={},r={}", escape_username(&self.username), self.nonce);
        let message = format!("n,,{client_first_bare}").into_bytes();
        self.state = State::SentFirst { client_first_bare };
        message
    }

    fn next_message(&mut self, server: &[u8]) -> Result<Step, String> {
        // A failed exchange cannot be resumed: unless this message moves it
        // on, it is over.
        let state = std::mem::replace(&mut self.state, State::Done);
        let server = std::str::from_utf8(server).map_err(|_| self.error("the server's message is not UTF-8"))?;
        match state {
            State::SentFirst { client_first_bare } => {
                let (message, next) = self.client_final(&client_first_bare, server)?;
                self.state = next;
                Ok(Step::Send(message))
            }
            State::SentFinal { server_key, auth_message } => {
                self.check_server_final(server, &server_key, &auth_message)?;
                Ok(Step::Done)
            }
            State::Start | State::Done => Err(self.error("unexpected message from the server")),
        }
    }
}

/// RFC 5802's saslname: '=' and ',' escaped (and nothing else: no SASLprep).
fn escape_username(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

struct ServerFirst<'a> {
    nonce: &'a str,
    salt: Vec<u8>,
    iterations: u32,
}

/// "r=<nonce>,s=<salt>,i=<iterations>", in that order, perhaps followed by
/// extensions we ignore (RFC 5802 section 7).
fn parse_server_first<'a>(message: &'a str, our_nonce: &str) -> Result<ServerFirst<'a>, String> {
    if message.starts_with("m=") {
        return Err("the server requires an extension (m=) this client does not know".into());
    }
    let mut attributes = message.split(',');
    let mut next = |name: &str, what: &str| {
        attributes.next().and_then(|a| a.strip_prefix(name)).ok_or_else(|| format!("the server's first message has no {what} ({name})"))
    };
    let nonce = next("r=", "nonce")?;
    let salt = next("s=", "salt")?;
    let iterations = next("i=", "iteration count")?;

    if nonce.len() <= our_nonce.len() || !nonce.starts_with(our_nonce) {
        return Err("the server's nonce does not extend ours".into());
    }
    let salt = Base64::decode_vec(salt).map_err(|_| "the server's salt is not base64".to_owned())?;
    if salt.is_empty() {
        return Err("the server's salt is empty".into());
    }
    let iterations: u32 = iterations.parse().map_err(|_| format!("the server's iteration count {iterations:?} is not a number"))?;
    if iterations < MIN_ITERATIONS {
        return Err(format!("the server asks for {iterations} iterations, fewer than the {MIN_ITERATIONS} Kafka requires"));
    }
    if iterations > MAX_ITERATIONS {
        return Err(format!("the server asks for {iterations} iterations, more than the {MAX_ITERATIONS} this client allows"));
    }
    Ok(ServerFirst { nonce, salt, iterations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::sasl::Mechanism;

    const PASSWORD: &str = "pencil";

    fn scram(hash: Hash, username: &str, nonce: &str) -> Scram {
        let mechanism = if hash == Hash::Sha256 { Mechanism::ScramSha256 } else { Mechanism::ScramSha512 };
        let credentials = Credentials { mechanism, username: username.into(), password: Zeroizing::new(PASSWORD.into()) };
        Scram::new(hash, &credentials, nonce.into())
    }

    fn sent(step: Step) -> String {
        match step {
            Step::Send(message) => String::from_utf8(message).unwrap(),
            Step::Done => panic!("expected a message"),
        }
    }

    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let mut client = scram(Hash::Sha256, "user", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(client.first_message(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            sent(client.next_message(server_first).unwrap()),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(client.next_message(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), Ok(Step::Done));
        assert!(client.next_message(b"v=").is_err(), "nothing after the end");
    }

    #[test]
    fn user_names_escape_equals_and_comma() {
        let mut client = scram(Hash::Sha256, "a=b,c", "nonce");
        assert_eq!(client.first_message(), b"n,,n=a=3Db=2Cc,r=nonce");
    }

    /// The server side of SCRAM-SHA-512, from the RustCrypto primitives
    /// directly rather than through `Hash`.
    struct Server {
        stored_key: Vec<u8>,
        server_key: Vec<u8>,
    }

    fn hmac512(key: &[u8], data: &[u8]) -> Vec<u8> {
        <Hmac<Sha512> as Mac>::new_from_slice(key).unwrap().chain_update(data).finalize().into_bytes().to_vec()
    }

    impl Server {
        fn new(salt: &[u8], iterations: u32) -> Self {
            let mut salted = [0u8; 64];
            pbkdf2::pbkdf2_hmac::<Sha512>(PASSWORD.as_bytes(), salt, iterations, &mut salted);
            let stored_key = Sha512::digest(hmac512(&salted, b"Client Key")).to_vec();
            Server { stored_key, server_key: hmac512(&salted, b"Server Key") }
        }

        /// Checks client-final's proof; returns the server signature.
        fn verify(&self, auth_message: &str, proof: &[u8]) -> Result<Vec<u8>, ()> {
            let client_signature = hmac512(&self.stored_key, auth_message.as_bytes());
            let client_key: Vec<u8> = proof.iter().zip(&client_signature).map(|(p, s)| p ^ s).collect();
            match Sha512::digest(&client_key).to_vec() == self.stored_key {
                true => Ok(hmac512(&self.server_key, auth_message.as_bytes())),
                false => Err(()),
            }
        }
    }

    /// Runs an exchange up to client-final; returns the client and the
    /// server signature it should accept.
    fn sha512_up_to_client_final(password_known: bool) -> (Scram, Vec<u8>, Result<Vec<u8>, ()>) {
        let salt = b"sixteen byte slt";
        let server = Server::new(salt, 4096);
        let mut client = scram(Hash::Sha512, "alice", "fyko+d2lbbFgONRv9qkxdawL");
        let client_first = String::from_utf8(client.first_message()).unwrap();
        let client_first_bare = client_first.strip_prefix("n,,").unwrap();
        let server_first = format!("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s={},i=4096", Base64::encode_string(salt));
        let client_final = sent(client.next_message(server_first.as_bytes()).unwrap());
        let (without_proof, proof) = client_final.split_once(",p=").unwrap();
        assert_eq!(without_proof, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j");
        let mut proof = Base64::decode_vec(proof).unwrap();
        assert_eq!(proof.len(), 64);
        if !password_known {
            proof[0] ^= 1;
        }
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let verified = server.verify(&auth_message, &proof);
        (client, server.server_key.clone(), verified)
    }

    #[test]
    fn scram_sha_512_proof_verifies_on_the_server_and_back() {
        let (mut client, _, verified) = sha512_up_to_client_final(true);
        let signature = verified.expect("the server accepts the client's proof");
        let server_final = format!("v={}", Base64::encode_string(&signature));
        assert_eq!(client.next_message(server_final.as_bytes()), Ok(Step::Done));

        let (_, _, tampered) = sha512_up_to_client_final(false);
        assert!(tampered.is_err(), "the test server does check proofs");
    }

    #[test]
    fn a_wrong_server_signature_is_refused() {
        let (mut client, _, verified) = sha512_up_to_client_final(true);
        let mut signature = verified.unwrap();
        signature[63] ^= 0x80;
        let server_final = format!("v={}", Base64::encode_string(&signature));
        let error = client.next_message(server_final.as_bytes()).unwrap_err();
        assert!(error.contains("SCRAM-SHA-512") && error.contains("does not verify"), "{error}");
    }

    /// The error for `server_first`, or for `server_final` after the RFC
    /// 7677 server-first.
    fn refusal(server_first: &str, server_final: Option<&str>) -> String {
        let mut client = scram(Hash::Sha256, "user", "rOprNGfwEbeRWgbNEkqO");
        client.first_message();
        let Some(server_final) = server_final else {
            return client.next_message(server_first.as_bytes()).unwrap_err();
        };
        client.next_message(server_first.as_bytes()).unwrap();
        client.next_message(server_final.as_bytes()).unwrap_err()
    }

    const RFC_SERVER_FIRST: &str = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    #[test]
    fn bad_server_messages_are_refused_without_revealing_secrets() {
        let salt = "s=W22ZaJ0SNY7soEsUEjb6gQ==";
        let cases = [
            (format!("r=someoneElsesNonce123,{salt},i=4096"), None, "does not extend ours"),
            (format!("r=rOprNGfwEbeRWgbNEkqO,{salt},i=4096"), None, "does not extend ours"),
            (format!("r=rOprNGfwEbeRWgbNEkqOx,{salt},i=4095"), None, "4095 iterations"),
            (format!("r=rOprNGfwEbeRWgbNEkqOx,{salt},i=1000001"), None, "1000001 iterations"),
            (format!("r=rOprNGfwEbeRWgbNEkqOx,{salt},i=many"), None, "not a number"),
            (format!("m=ext,r=rOprNGfwEbeRWgbNEkqOx,{salt},i=4096"), None, "(m=)"),
            ("r=rOprNGfwEbeRWgbNEkqOx,s=***,i=4096".to_owned(), None, "salt is not base64"),
            ("r=rOprNGfwEbeRWgbNEkqOx,i=4096".to_owned(), None, "no salt"),
            (RFC_SERVER_FIRST.to_owned(), Some("e=invalid-proof"), "invalid-proof"),
            (RFC_SERVER_FIRST.to_owned(), Some("e=other-error,ext=1"), "other-error"),
            (RFC_SERVER_FIRST.to_owned(), Some("x=1"), "no signature"),
            (RFC_SERVER_FIRST.to_owned(), Some("v=%%%"), "not base64"),
        ];
        for (server_first, server_final, expected) in cases {
            let error = refusal(&server_first, server_final);
            assert!(error.starts_with("SCRAM-SHA-256: ") && error.contains(expected), "{server_first} / {server_final:?}: {error}");
            assert!(!error.contains(PASSWORD), "{error}");
        }

        let mut client = scram(Hash::Sha256, "user", "n");
        assert!(client.next_message(b"r=nx,s=AA==,i=4096").is_err(), "nothing sent yet");
        client.first_message();
        assert!(client.next_message(b"\xff").unwrap_err().contains("not UTF-8"));
    }
}
