//! Authenticates a connection, when it opens and again before its session
//! ends (KIP-368): SaslHandshake v1 names the mechanism, then the
//! mechanism's messages (`sasl`, sans-IO) go back and forth in
//! SaslAuthenticate requests (KIP-152) until the exchange is done. The
//! mechanism's own work (SCRAM's PBKDF2, up to 1,000,000 iterations: about
//! half a second) runs on a blocking thread, as compression does, so that
//! the producer's one runtime thread goes on serving the other brokers. It
//! knows a connection only as `Exchanger`, so the connection, which logs in
//! through it, is not imported here.

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::error::broker_text;
use super::error::BrokerError;
use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::sasl_authenticate::SaslAuthenticateRequest;
use crate::kafka::protocol::sasl_handshake::SaslHandshakeRequest;
use crate::kafka::protocol::Request;
use crate::kafka::sasl::{self, Credentials, Step};

/// What a login needs of a connection: its address, and one request
/// answered within a timeout.
pub(super) trait Exchanger {
    fn address(&self) -> &str;
    async fn call<R: Request>(&self, request: &R, timeout: Duration) -> Result<R::Response, BrokerError>;
}

/// How long a login may take: each request up to `per_request`
/// (socket.timeout.ms), and none past `until` (when the connection opens:
/// the end of socket.connection.setup.timeout.ms, as librdkafka bounds its
/// whole set-up).
#[derive(Clone, Copy, Debug)]
pub(super) struct Within {
    pub per_request: Duration,
    pub until: Instant,
}

impl Within {
    fn next_request(&self) -> Duration {
        self.per_request.min(self.until.saturating_duration_since(Instant::now()))
    }
}

/// Authenticates `connection` (within `within`) before any other request
/// but ApiVersions goes on it, or, on a connection whose session ends soon,
/// once nothing is in flight on it. Returns how long the broker keeps the
/// session, if it limits it (KIP-368): the connection must re-authenticate
/// before then.
///
/// A refusal, by the broker (an error, or the connection closed) or by us
/// of the broker's messages, fails with `_AUTHENTICATION`; running past
/// `within.until` with `_TRANSPORT`, as librdkafka's set-up timeout; a
/// request's own timeout keeps its code. Either way the connection is
/// unusable.
pub(super) async fn authenticate(
    connection: &impl Exchanger,
    credentials: &Credentials,
    within: Within,
) -> Result<Option<Duration>, BrokerError> {
    let refused =
        |what: std::fmt::Arguments| BrokerError { code: ErrorCode::AUTHENTICATION, detail: format!("{}: {what}", connection.address()) };
    let mechanism = credentials.mechanism.name();

    let failed = |error: BrokerError| match error.code == ErrorCode::TIMED_OUT && Instant::now() >= within.until {
        true => BrokerError {
            code: ErrorCode::TRANSPORT,
            detail: format!(
                "{}: connection set-up timed out in SASL authentication (socket.connection.setup.timeout.ms)",
                connection.address()
            ),
        },
        false => in_sasl(connection, error),
    };
    let handshake = connection.call(&SaslHandshakeRequest { mechanism }, within.next_request()).await.map_err(failed)?;
    match ErrorCode::from_kafka(handshake.error_code) {
        ErrorCode::NO_ERROR => {}
        ErrorCode::UNSUPPORTED_SASL_MECHANISM => {
            let enabled = match handshake.mechanisms.is_empty() {
                true => "none".to_owned(),
                false => broker_text(&handshake.mechanisms.join(", ")),
            };
            return Err(refused(format_args!("SASL handshake: broker does not enable {mechanism} (it enables: {enabled})")));
        }
        code => return Err(refused(format_args!("SASL handshake: {}", code.message()))),
    }

    let mut exchange = sasl::start(credentials).map_err(|why| refused(format_args!("SASL authentication: {why}")))?;
    // Client messages can hold the password (PLAIN) or the proof (SCRAM).
    let mut message = Zeroizing::new(exchange.first_message());
    loop {
        let answer = connection.call(&SaslAuthenticateRequest { auth_bytes: &message }, within.next_request()).await.map_err(failed)?;
        if answer.error_code != 0 {
            let code = ErrorCode::from_kafka(answer.error_code);
            let why = answer.error_message.as_deref().filter(|m| !m.is_empty()).map_or_else(|| code.message().to_owned(), broker_text);
            return Err(refused(format_args!("SASL authentication failed: {why}")));
        }
        let server = answer.auth_bytes;
        let (back, step) = tokio::task::spawn_blocking(move || {
            let step = exchange.next_message(&server);
            (exchange, step)
        })
        .await
        .map_err(|_| refused(format_args!("SASL authentication: the mechanism's thread failed")))?;
        exchange = back;
        match step {
            Ok(Step::Send(next)) => message = Zeroizing::new(next),
            Ok(Step::Done) => {
                let lifetime = u64::try_from(answer.session_lifetime_ms).ok().filter(|&ms| ms > 0);
                return Ok(lifetime.map(Duration::from_millis));
            }
            Err(why) => return Err(refused(format_args!("SASL authentication: {why}"))),
        }
    }
}

/// A failed request, said to have happened while authenticating: "host:9092:
/// SASL authentication: SaslAuthenticate: ...". The broker closing the
/// connection in answer is `_AUTHENTICATION`: that is how a broker refuses a
/// mechanism it does not enable when it does not answer with an error (tansu
/// 0.6.0 does so for PLAIN) and how SaslAuthenticate v0 refuses credentials.
/// Any other failure (a timeout) keeps its code.
fn in_sasl(connection: &impl Exchanger, error: BrokerError) -> BrokerError {
    let address = connection.address();
    let what = error.detail.strip_prefix(address).and_then(|rest| rest.strip_prefix(": ")).unwrap_or(&error.detail);
    match error.code {
        ErrorCode::TRANSPORT => BrokerError {
            code: ErrorCode::AUTHENTICATION,
            detail: format!(
                "{address}: SASL authentication failed: the broker closed the connection ({what}): does it enable this mechanism?"
            ),
        },
        code => BrokerError { code, detail: format!("{address}: SASL authentication: {what}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::protocol::primitives::Encoder;
    use std::sync::Mutex;

    /// A broker that answers each request with the next of its bodies.
    struct Scripted {
        answers: Mutex<Vec<Vec<u8>>>,
    }

    impl Exchanger for Scripted {
        fn address(&self) -> &str {
            "broker:9092"
        }

        async fn call<R: Request>(&self, _request: &R, _timeout: Duration) -> Result<R::Response, BrokerError> {
            let body = self.answers.lock().unwrap().remove(0);
            Ok(R::decode(&body, *R::VERSIONS.end()).expect("a scripted answer decodes"))
        }
    }

    /// A broker's refusal text (32 KiB, with a newline that starts a forged
    /// log line and a terminal escape) reaches the error cut and cleaned.
    #[tokio::test(flavor = "current_thread")]
    async fn a_refusals_text_is_cut_and_cleaned() {
        let mut handshake = Vec::new();
        let mut e = Encoder::new(&mut handshake);
        e.i16(0);
        e.array_len(1);
        e.string("SCRAM-SHA-256");
        // Nearly the longest string Kafka's INT16 length allows.
        let text = format!("bad proof\n%3|1700000000.000|FAIL|rdkafka#producer-1| forged\x1b[2J{}", "x".repeat(32_000));
        let mut refusal = Vec::new();
        let mut e = Encoder::new(&mut refusal);
        e.i16(58); // SASL_AUTHENTICATION_FAILED
        e.nullable_string(Some(&text));
        e.bytes(&[]);
        e.i64(0);
        let broker = Scripted { answers: Mutex::new(vec![handshake, refusal]) };
        let mut options = ConfigBuilder::new();
        for (name, value) in [
            ("bootstrap.servers", "b:1"),
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ] {
            options.set(name, value).unwrap();
        }
        let config = options.build().unwrap();
        let credentials = config.security.sasl.as_ref().unwrap();
        let within = Within { per_request: Duration::from_secs(1), until: Instant::now() + Duration::from_secs(5) };
        let error = authenticate(&broker, credentials, within).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::AUTHENTICATION);
        assert!(error.detail.len() <= 600, "{} bytes", error.detail.len());
        assert!(error.detail.starts_with("broker:9092: SASL authentication failed: bad proof %3|"), "{}", &error.detail[..80]);
        assert!(!error.detail.chars().any(char::is_control), "no control character: {:?}", &error.detail[..100]);
        assert!(error.detail.ends_with("..."));
    }
}
