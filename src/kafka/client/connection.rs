//! One connection to one broker (TCP, or TLS over it, then SASL when
//! configured): requests are pipelined, and responses are matched to them
//! in order by correlation id (Kafka answers requests on a connection in the
//! order it received them).
//!
//! Every request, of every API (`protocol::Request`), takes one way: `send`
//! frames it (`protocol::frame_request`) and hands it to the connection's
//! wire (`wire::Wire::send`, the one place that writes to the socket), and
//! its answer is decoded by `answered` (`protocol::decode_response`, which
//! reads the response header as the API and version say). `submit` never
//! waits: the wire calls a completion with the answer (Produce, whose
//! record batches go out from their own buffers, copied only when the
//! socket cannot take them at once); `call` awaits it (ApiVersions,
//! Metadata, InitProducerId, SASL).
//!
//! A request's timeout runs from when it is submitted and covers the write
//! and the answer; when it passes, or the answer does not match its request,
//! the connection dies and every request on it fails.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use zeroize::Zeroize;

use super::error::{BrokerError, RequestFailure};
use super::sasl_login::{authenticate, Exchanger, Within};
use super::transport;
use super::wire::census::QueueDepths;
use super::wire::{AfterAnswer, Completion, Wire};
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::config::Config;
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::log::{Context, Logger};
use crate::kafka::protocol::api_versions::{self, ApiVersionsRequest, ApiVersionsResponse};
use crate::kafka::protocol::{decode_response, frame_parts, frame_request, negotiate, Request};
use crate::kafka::sasl::Credentials;
use crate::kafka::stats::BrokerCounters;

pub struct Connection {
    address: String,
    client_id: String,
    /// When the SASL session the broker granted should be renewed
    /// (KIP-368), in nanoseconds after `opened_at`; 0 when it need not be.
    /// The connection then authenticates again (`reauthenticate`).
    renew_session_at: AtomicU64,
    opened_at: Instant,
    versions: ApiVersionsResponse,
    next_correlation_id: AtomicI32,
    wire: Arc<Wire>,
    /// Request frames come from here and go back once written.
    buffers: Arc<BufferPool>,
    logger: Arc<Logger>,
}

impl Connection {
    /// Connects (TCP, then the TLS handshake when configured), starts the
    /// connection's wire, asks the broker's API versions through it (like
    /// every later request), then authenticates with SASL when configured;
    /// all of it within socket.connection.setup.timeout.ms, as librdkafka.
    /// Must be called on the producer's runtime.
    pub async fn open(
        address: &str,
        config: &Config,
        buffers: Arc<BufferPool>,
        logger: &Arc<Logger>,
        counters: Arc<BrokerCounters>,
    ) -> Result<Arc<Connection>, BrokerError> {
        let setup_ends = Instant::now() + config.connect_timeout;
        let (inlet, outlet) = transport::connect(address, &config.socket, config.security.tls.as_ref(), config.connect_timeout).await?;
        let mut connection = Connection {
            address: address.to_owned(),
            client_id: config.client_id.clone(),
            renew_session_at: AtomicU64::new(0),
            opened_at: Instant::now(),
            versions: ApiVersionsResponse::default(),
            next_correlation_id: AtomicI32::new(1),
            wire: Wire::start(inlet, outlet, config.receive_message_max_bytes, counters, address, logger),
            buffers,
            logger: Arc::clone(logger),
        };
        match connection.ask_versions(config, setup_ends).await {
            Ok(versions) => connection.versions = versions,
            Err(error) => {
                // Its tasks end, and the socket closes, when the wire dies.
                connection.close();
                return Err(error);
            }
        }
        if let Some(credentials) = &config.security.sasl {
            let within = Within { per_request: config.socket_timeout, until: setup_ends };
            if let Err(error) = connection.log_in(credentials, within).await {
                connection.close();
                return Err(error);
            }
        }
        Ok(Arc::new(connection))
    }

    /// Authenticates with SASL, and notes when to do it again if the broker
    /// limits the session (KIP-368).
    async fn log_in(&self, credentials: &Credentials, within: Within) -> Result<Option<Duration>, BrokerError> {
        let lifetime = authenticate(self, credentials, within).await?;
        let renew_at = lifetime.map_or(0, |lifetime| {
            let at = (Instant::now() + renewal_delay(lifetime)).duration_since(self.opened_at);
            u64::try_from(at.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        self.renew_session_at.store(renew_at, Ordering::Release);
        Ok(lifetime)
    }

    /// Authenticates again on this connection before its SASL session ends
    /// (KIP-368), as librdkafka and the Java client do: from this call on
    /// nothing but the login's requests goes on the connection, what is in
    /// flight is answered first (waiting up to `drain_limit`), and the
    /// exchange takes at most `socket_timeout`. Returns the new session's
    /// lifetime. On failure the connection is closed and the caller opens a
    /// new one (a broker may refuse re-authentication: tansu 0.6.0 does).
    pub async fn reauthenticate(
        &self,
        credentials: &Credentials,
        drain_limit: Duration,
        socket_timeout: Duration,
    ) -> Result<Option<Duration>, BrokerError> {
        self.wire.hold_for_login();
        let drained_by = Instant::now() + drain_limit;
        while self.is_alive() && self.requests_in_flight() > 0 && Instant::now() < drained_by {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let renewed = match self.requests_in_flight() {
            0 => self.log_in(credentials, Within { per_request: socket_timeout, until: Instant::now() + socket_timeout }).await,
            n => {
                Err(BrokerError::new(ErrorCode::TRANSPORT, &self.address, format_args!("{n} request(s) unanswered after {drain_limit:?}")))
            }
        };
        match renewed {
            Ok(_) => self.wire.release_login(),
            Err(_) => self.close(),
        }
        renewed
    }

    /// ApiVersions, the first request on every connection: v3, which gives
    /// the broker client.software.name and .version (KIP-511), or v0 when
    /// the broker does not speak v3; each within api.version.request.timeout.ms,
    /// and both before `setup_ends`.
    async fn ask_versions(&self, config: &Config, setup_ends: Instant) -> Result<ApiVersionsResponse, BrokerError> {
        let request = ApiVersionsRequest { software_name: &config.client_software_name, software_version: &config.client_software_version };
        for version in [api_versions::VERSION, api_versions::FALLBACK_VERSION] {
            let left = setup_ends.saturating_duration_since(Instant::now());
            let versions = match self.call_at(&request, version, config.api_version_timeout.min(left)).await {
                Ok(versions) => versions,
                Err(Unanswered::Undecodable(why)) => return Err(BrokerError::new(ErrorCode::BAD_MSG, &self.address, why)),
                Err(Unanswered::Failed(failure)) => {
                    let transport = |what: &dyn std::fmt::Display| BrokerError::new(ErrorCode::TRANSPORT, &self.address, what);
                    return Err(match self.wire.failure() {
                        // TLS refused after its handshake (a client certificate the broker rejects under TLS 1.3).
                        Some((code, why)) => BrokerError::new(code, &self.address, why),
                        None if failure.code == ErrorCode::TIMED_OUT && Instant::now() >= setup_ends => {
                            transport(&"connection set-up timed out in ApiVersions (socket.connection.setup.timeout.ms)")
                        }
                        None if failure.code == ErrorCode::TIMED_OUT => {
                            transport(&"no ApiVersions response within api.version.request.timeout.ms")
                        }
                        None => transport(&format_args!("ApiVersions failed: {}", failure.code.message())),
                    });
                }
            };
            match ErrorCode::from_kafka(versions.error_code) {
                _ if versions.error_code == api_versions::UNSUPPORTED_VERSION && version != api_versions::FALLBACK_VERSION => continue,
                code if code.is_ok() => return Ok(versions),
                code => return Err(BrokerError::new(code, &self.address, format_args!("ApiVersions: {}", code.message()))),
            }
        }
        // The fallback's answer returns above; no panic path on a connection.
        Err(BrokerError::new(ErrorCode::UNSUPPORTED_VERSION, &self.address, "ApiVersions: no version both sides speak"))
    }

    /// True once the SASL session should be renewed: the connection takes
    /// no new requests until it has re-authenticated (see `cluster`).
    pub fn session_expiring(&self) -> bool {
        match self.renew_session_at.load(Ordering::Acquire) {
            0 => false,
            at => Instant::now() >= self.opened_at + Duration::from_nanos(at),
        }
    }

    /// Requests sent and not yet answered: a connection with none can be
    /// closed or replaced (a SASL session renewal) without failing any.
    pub fn requests_in_flight(&self) -> usize {
        self.wire.requests_in_flight()
    }

    /// Requests not yet written whole to the socket.
    pub fn untransmitted_requests(&self) -> usize {
        self.wire.queue_depths().outbuf_cnt
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Requests not yet written, and written ones awaiting their answer.
    pub fn queue_depths(&self) -> QueueDepths {
        self.wire.queue_depths()
    }

    /// Its broker's statistics counters, which outlive the connection (a
    /// reconnect keeps counting in them).
    pub fn counters(&self) -> &BrokerCounters {
        self.wire.counters()
    }

    pub fn is_alive(&self) -> bool {
        self.wire.is_alive()
    }

    /// The highest version of `api_key` in `ours` that the broker speaks.
    pub fn version_for(&self, api_key: i16, ours: std::ops::RangeInclusive<i16>) -> Option<i16> {
        let range = self.versions.range(api_key)?;
        negotiate(ours, range.min_version, range.max_version)
    }

    /// Closes the connection if it has been idle for `max_idle` at `now`
    /// (see `Wire::close_if_idle`); true when it did.
    pub fn close_if_idle(&self, max_idle: Duration, now: Instant) -> bool {
        self.wire.close_if_idle(max_idle, now)
    }

    /// Closes the connection: every request waiting on it fails with
    /// `_TRANSPORT`.
    pub fn close(&self) {
        self.wire.die(ErrorCode::TRANSPORT);
    }

    /// Why the connection died, when it was more than a lost socket (a TLS
    /// alert, an answer out of step).
    pub fn failure(&self) -> Option<String> {
        self.wire.failure().map(|(_, why)| why)
    }

    /// Drops the requests in flight without answering them (the producer
    /// is closing): their batches fail as they are dropped.
    pub fn abandon(&self) {
        self.wire.abandon();
    }

    /// Sends `request` in `version` without waiting; then `complete` gets
    /// it back with its decoded answer, or with `_TRANSPORT` when the
    /// connection dies, `_TIMED_OUT` once `timeout` has passed since this
    /// call (the connection is then closed), or the decoder's complaint. A
    /// request the broker does not answer (`Request::unanswered`: acks=0) is
    /// complete once handed to the wire. Bytes it splices in go on the wire
    /// from its own buffers, copied only if the socket cannot take them at
    /// once. `complete` runs on the runtime, or on this thread if the answer
    /// is in before this call returns. Fails, giving the request back with
    /// nothing sent, when the connection is dead or the request cannot be
    /// encoded.
    pub fn submit<R: Request + Send + 'static>(
        &self,
        request: R,
        version: i16,
        timeout: Duration,
        complete: impl FnOnce(R, Result<R::Response, Unanswered>) -> AfterAnswer + Send + 'static,
    ) -> Result<(), (RequestFailure, R)> {
        let handoff = Handoff::new();
        let unanswered = request.unanswered();
        let correlation_id = match self.send(&request, version, timeout, unanswered.is_none().then(|| handoff.sink())) {
            Ok(correlation_id) => correlation_id,
            Err(failure) => return Err((failure, request)),
        };
        let sent = self.trace_sent::<R>(version, correlation_id);
        match unanswered {
            None => {
                let wire = Arc::clone(&self.wire);
                let completion: Completion = Box::new(move |answer| complete(request, answered::<R>(answer, version, sent, &wire)));
                handoff.complete_with(completion, &self.wire);
            }
            Some(silence) => {
                complete(request, Ok(silence));
            }
        }
        Ok(())
    }

    /// Sends `request` in the highest version both sides speak and awaits
    /// its decoded response, within `timeout`. The error names the broker,
    /// the request and what went wrong (a decoder's complaint included).
    pub async fn call<R: Request>(&self, request: &R, timeout: Duration) -> Result<R::Response, BrokerError> {
        let fail = |code: ErrorCode, why: &dyn std::fmt::Display| BrokerError::new(code, &self.address, format_args!("{}: {why}", R::NAME));
        let Some(version) = self.version_for(R::API_KEY, R::VERSIONS) else {
            return Err(fail(ErrorCode::UNSUPPORTED_VERSION, &ErrorCode::UNSUPPORTED_VERSION.message()));
        };
        self.call_at(request, version, timeout).await.map_err(|unanswered| match unanswered {
            Unanswered::Failed(f) => fail(f.code, &f.code.message()),
            Unanswered::Undecodable(why) => fail(ErrorCode::BAD_MSG, &why),
        })
    }

    /// `call` in `version`, chosen by the caller.
    async fn call_at<R: Request>(&self, request: &R, version: i16, timeout: Duration) -> Result<R::Response, Unanswered> {
        let (sender, receiver) = oneshot::channel();
        let completion: Completion = Box::new(move |answer| {
            let _ = sender.send(answer);
            AfterAnswer::Keep
        });
        // The request's bytes are on the wire, or copied, once `send` returns.
        let correlation_id = self.send(request, version, timeout, Some(completion)).map_err(Unanswered::Failed)?;
        let sent = self.trace_sent::<R>(version, correlation_id);
        // The wire calls the completion, or drops it when the producer closes.
        let answer = receiver.await.unwrap_or(Err(RequestFailure::written(ErrorCode::DESTROY)));
        answered::<R>(answer, version, sent, &self.wire)
    }

    /// Frames `request` and hands it to the wire, with `awaited` to call
    /// with its answer (None: the broker sends none); its correlation id.
    fn send<R: Request>(&self, request: &R, version: i16, timeout: Duration, awaited: Option<Completion>) -> Result<i32, RequestFailure> {
        let deadline = Instant::now() + timeout;
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        let buffer = self.buffers.take(64 + self.client_id.len() + request.size_hint());
        let (mut frame, splices) = frame_request(buffer, request, version, correlation_id, &self.client_id)
            .map_err(|_| RequestFailure::not_written(ErrorCode::INVALID_ARG))?;
        let parts = frame_parts(&frame, &splices);
        let sent = match R::LOGIN {
            true => self.wire.send_login(&parts, correlation_id, deadline, awaited),
            false => self.wire.send(&parts, correlation_id, deadline, request.records(), awaited),
        };
        if R::SECRET {
            frame.zeroize();
        }
        self.buffers.give(frame);
        sent.map_err(|(failure, _)| failure)?;
        self.wire.counters().sent_request(R::API_KEY);
        Ok(correlation_id)
    }

    /// debug=protocol: a line per request sent, as librdkafka's; what the
    /// answer's line needs.
    fn trace_sent<R: Request>(&self, version: i16, correlation_id: i32) -> Option<Sent> {
        self.logger.debugging(Context::Protocol).then(|| {
            let line = format_args!("{}: Sent {}Request (v{version}, CorrId {correlation_id})", self.address, R::NAME);
            self.logger.debug(Context::Protocol, "SEND", line);
            Sent { logger: Arc::clone(&self.logger), address: self.address.clone(), correlation_id, at: Instant::now() }
        })
    }
}

/// A request sent under debug=protocol, for its answer's line.
struct Sent {
    logger: Arc<Logger>,
    address: String,
    correlation_id: i32,
    at: Instant,
}

/// Why a request got no usable answer.
#[derive(Debug)]
pub enum Unanswered {
    /// Not sent, lost with its connection, or timed out.
    Failed(RequestFailure),
    /// The answer did not decode: what the decoder said.
    Undecodable(String),
}

/// A request's answer decoded (its response header handled as its API and
/// version say), its throttle time given to the wire, and under
/// debug=protocol its line logged.
fn answered<R: Request>(
    answer: Result<Vec<u8>, RequestFailure>,
    version: i16,
    sent: Option<Sent>,
    wire: &Wire,
) -> Result<R::Response, Unanswered> {
    if let Some(Sent { logger, address, correlation_id, at }) = sent {
        let rtt = at.elapsed().as_secs_f64() * 1000.0;
        let what = match &answer {
            Ok(body) => format!("{} bytes", body.len()),
            Err(failure) => format!("failed: {}", failure.code.message()),
        };
        let line = format_args!("{address}: Received {}Response (v{version}, {what}, CorrId {correlation_id}, rtt {rtt:.2}ms)", R::NAME);
        logger.debug(Context::Protocol, "RECV", line);
    }
    let body = answer.map_err(Unanswered::Failed)?;
    let response = decode_response::<R>(&body, version).map_err(|e| Unanswered::Undecodable(e.to_string()))?;
    if let Some(since) = R::CLIENT_THROTTLES_SINCE {
        let throttle = Duration::from_millis(u64::try_from(R::throttle_time_ms(&response)).unwrap_or(0));
        wire.throttled(throttle, version >= since);
    }
    Ok(response)
}

/// Meets a request's answer with its completion, whichever comes first: the
/// wire takes the request before its owner is free to move into the
/// completion (its buffers are being written), and on an application thread
/// the answer can come back in between.
struct Handoff(Arc<std::sync::Mutex<Rendezvous>>);

enum Rendezvous {
    Waiting,
    Completion(Completion),
    Answer(Result<Vec<u8>, RequestFailure>),
    Done,
}

impl Handoff {
    fn new() -> Self {
        Handoff(Arc::new(std::sync::Mutex::new(Rendezvous::Waiting)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rendezvous> {
        self.0.locked()
    }

    /// What the wire calls with the answer.
    fn sink(&self) -> Completion {
        let state = Arc::clone(&self.0);
        Box::new(move |answer| {
            let mut state = state.locked();
            match std::mem::replace(&mut *state, Rendezvous::Done) {
                Rendezvous::Completion(completion) => {
                    drop(state);
                    completion(answer)
                }
                _ => {
                    *state = Rendezvous::Answer(answer);
                    AfterAnswer::Keep
                }
            }
        })
    }

    /// Gives the completion; calls it now if the answer is already in.
    fn complete_with(&self, completion: Completion, wire: &Wire) {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, Rendezvous::Done) {
            Rendezvous::Answer(answer) => {
                drop(state);
                if completion(answer) == AfterAnswer::Close {
                    wire.die(ErrorCode::TRANSPORT);
                }
            }
            _ => *state = Rendezvous::Completion(completion),
        }
    }
}

/// A SASL session is renewed at most this often, whatever lifetime the
/// broker grants: a broker that grants a few milliseconds must not get a
/// login every few milliseconds on every connection.
const RENEWAL_FLOOR: Duration = Duration::from_secs(1);

/// When to renew a SASL session of `lifetime`: at 85% to 95% of it, as
/// Java's client does (the spread keeps a fleet from renewing at once;
/// librdkafka takes 90%), and never sooner than RENEWAL_FLOOR from now.
fn renewal_delay(lifetime: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let spread = (u64::from(nanos) ^ u64::from(std::process::id())) % 100;
    let fraction = 0.85 + 0.10 * (spread as f64 / 100.0);
    lifetime.mul_f64(fraction).max(RENEWAL_FLOOR)
}

/// The login (`sasl_login`) reaches the broker through `call`.
impl Exchanger for Connection {
    fn address(&self) -> &str {
        Connection::address(self)
    }

    async fn call<R: Request>(&self, request: &R, timeout: Duration) -> Result<R::Response, BrokerError> {
        Connection::call(self, request, timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::client::test_broker::{request_body, SaslScript, Script, TestBroker, API_VERSIONS, METADATA, METADATA_VERSION};
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::protocol::metadata::MetadataRequest;
    use crate::kafka::protocol::primitives::Decoder;

    fn config(address: &str, options: &[(&str, &str)]) -> Config {
        let mut builder = ConfigBuilder::new();
        builder.set("bootstrap.servers", address).unwrap();
        for (name, value) in options {
            builder.set(name, value).unwrap();
        }
        builder.build().unwrap()
    }

    async fn open(address: &str, options: &[(&str, &str)]) -> Result<Arc<Connection>, BrokerError> {
        let config = config(address, options);
        let logger = Arc::new(Logger::new(&config.client_id, config.log.clone()));
        Connection::open(address, &config, Arc::new(BufferPool::keeping_up_to(1 << 20)), &logger, Arc::default()).await
    }

    #[tokio::test(flavor = "current_thread")]
    async fn api_versions_v3_gives_the_broker_the_client_software_name_and_version() {
        let broker = TestBroker::start(Script::default()).await;
        let options = [("client.software.name", "my app!"), ("client.software.version", "1.0+build")];
        let connection = open(&broker.address, &options).await.unwrap();
        assert_eq!(connection.version_for(METADATA, MetadataRequest::VERSIONS), Some(METADATA_VERSION), "the v3 answer was read");
        let seen = broker.seen();
        let request = &seen.requests[0];
        assert_eq!((request.api_key, request.version), (API_VERSIONS, 3));
        let body = request_body(request, true);
        let mut d = Decoder::new(&body);
        let sent = (d.compact_string().unwrap(), d.compact_string().unwrap());
        assert_eq!(sent, ("my-app".to_owned(), "1.0-build".to_owned()), "sanitized for KIP-511 as librdkafka does");
        assert_eq!((d.unsigned_varint().unwrap(), d.remaining()), (0, 0), "no tagged fields, nothing after");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_broker_that_refuses_api_versions_v3_is_asked_v0_on_the_same_connection() {
        let broker = TestBroker::start(Script { refuses_api_versions_v3: true, ..Script::default() }).await;
        let connection = open(&broker.address, &[]).await.unwrap();
        assert_eq!(connection.version_for(METADATA, MetadataRequest::VERSIONS), Some(METADATA_VERSION));
        let seen = broker.seen();
        let asked: Vec<(usize, i16, i16)> = seen.requests.iter().map(|r| (r.connection, r.api_key, r.version)).collect();
        assert_eq!(asked, [(1, API_VERSIONS, 3), (1, API_VERSIONS, 0)]);
        assert!(request_body(&seen.requests[1], false).is_empty(), "v0 has an empty body");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn api_versions_waits_api_version_request_timeout_ms_not_request_timeout_ms() {
        let broker = TestBroker::start(Script { ignores_api_versions: true, ..Script::default() }).await;
        let options = [("api.version.request.timeout.ms", "100"), ("socket.timeout.ms", "300000"), ("request.timeout.ms", "900000")];
        let started = Instant::now();
        let opened = tokio::time::timeout(Duration::from_secs(60), open(&broker.address, &options)).await;
        let Ok(Err(error)) = opened else { panic!("no failure within 60 s (the other timeouts are 300 and 900 s)") };
        assert!(error.detail.contains("no ApiVersions response within api.version.request.timeout.ms"), "{}", error.detail);
        assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    }

    /// socket.connection.setup.timeout.ms bounds the whole set-up, SASL
    /// included, as librdkafka's does; not socket.timeout.ms per request.
    #[tokio::test(flavor = "current_thread")]
    async fn a_sasl_login_that_is_never_answered_ends_with_the_set_up_timeout() {
        let sasl = SaslScript { ignores_handshake: true, ..SaslScript::default() };
        let broker = TestBroker::start(Script { sasl: Some(sasl), ..Script::default() }).await;
        let options = [
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
            ("socket.connection.setup.timeout.ms", "1000"),
            ("socket.timeout.ms", "300000"),
        ];
        let started = Instant::now();
        let opened = tokio::time::timeout(Duration::from_secs(60), open(&broker.address, &options)).await;
        let Ok(Err(error)) = opened else { panic!("no failure within 60 s (socket.timeout.ms is 300 s)") };
        assert_eq!(error.code, ErrorCode::TRANSPORT, "{}", error.detail);
        assert!(error.detail.contains("connection set-up timed out in SASL authentication"), "{}", error.detail);
        assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    }

    /// SCRAM's PBKDF2 runs off the runtime's thread: on a current-thread
    /// runtime, another task keeps running while a login computes it.
    #[tokio::test(flavor = "current_thread")]
    async fn scrams_key_derivation_leaves_the_runtime_thread_free() {
        // Long enough to tell a stall from a tick (about 0.5 s optimised, 1.5 s in debug).
        let iterations = if cfg!(debug_assertions) { 60_000 } else { 1_000_000 };
        let sasl = SaslScript { scram_iterations: Some(iterations), ..SaslScript::default() };
        let broker = TestBroker::start(Script { sasl: Some(sasl), ..Script::default() }).await;
        let options =
            [("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.username", "u"), ("sasl.password", "p")];
        let longest_gap = Arc::new(std::sync::Mutex::new(Duration::ZERO));
        let ticker = tokio::spawn({
            let longest_gap = Arc::clone(&longest_gap);
            async move {
                let mut last = Instant::now();
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let mut longest = longest_gap.lock().unwrap();
                    *longest = (*longest).max(last.elapsed());
                    last = Instant::now();
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        let error = open(&broker.address, &options).await.err().expect("the broker refuses the proof");
        let login = started.elapsed();
        ticker.abort();
        assert_eq!(error.code, ErrorCode::AUTHENTICATION, "{}", error.detail);
        let longest = *longest_gap.lock().unwrap();
        assert!(login >= Duration::from_millis(100), "the derivation took {login:?}: too short to tell");
        assert!(longest < login / 3, "the runtime stalled {longest:?} during a {login:?} login");
    }

    #[test]
    fn a_sasl_session_is_renewed_at_85_to_95_percent_of_its_lifetime() {
        let minute = Duration::from_secs(60);
        for _ in 0..100 {
            let delay = renewal_delay(minute);
            assert!(delay >= minute.mul_f64(0.85) && delay <= minute.mul_f64(0.95), "{delay:?}");
        }
        // 95% of 1,050 ms is still under the floor; 1,100 ms is renewed at
        // 935-1,045 ms, so past the floor only some of the time.
        for lifetime in [1, 10, 500, 1050] {
            assert_eq!(renewal_delay(Duration::from_millis(lifetime)), RENEWAL_FLOOR, "{lifetime} ms: at most once a second");
        }
        for _ in 0..100 {
            let delay = renewal_delay(Duration::from_millis(1100));
            assert!(delay >= RENEWAL_FLOOR && delay <= Duration::from_millis(1045), "1100 ms: {delay:?}");
        }
    }
}
