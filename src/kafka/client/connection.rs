//! One connection to one broker (TCP, or TLS over it, then SASL when
//! configured): requests are pipelined, and responses are matched to them
//! in order by correlation id (Kafka answers requests on a connection in the
//! order it received them).
//!
//! `Connection::submit` frames a request and hands it to the connection's
//! wire (`wire::Wire::send`, the one place that writes to the socket), with
//! a completion that the wire calls with the answer; it never waits, so the
//! runtime and an application thread (at linger.ms=0) send the same way.
//! Record batches go out from their own buffers (a vectored write), copied
//! only when the socket cannot take them at once. `request` is the same for
//! callers that await the answer (Metadata, InitProducerId).
//!
//! A request's timeout runs from when it is submitted and covers the write
//! and the answer; when it passes, or the answer does not match its request,
//! the connection dies and every request on it fails.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use zeroize::Zeroize;

use super::error::{BrokerError, RequestFailure};
use super::sasl_login::{authenticate, Exchanger};
use super::transport;
use super::wire::{AfterAnswer, Completion, Wire};
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::config::Config;
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::log::{Context, Logger};
use crate::kafka::protocol::api_versions::{self, ApiVersionsResponse};
use crate::kafka::protocol::primitives::{EncodeError, Encoder};
use crate::kafka::protocol::{frame_parts, frame_request, negotiate, Request, Splice};
use crate::kafka::stats::BrokerCounters;

/// How one request is framed, sent and awaited.
#[derive(Clone, Copy, Debug)]
pub struct RequestSpec {
    /// The API's name, for debug=protocol lines ("Produce").
    pub name: &'static str,
    pub api_key: i16,
    pub version: i16,
    /// A flexible version: request header v2.
    pub flexible: bool,
    /// false for acks=0 Produce, which the broker does not answer.
    pub expect_response: bool,
    pub timeout: Duration,
    /// The body's expected size, so that its frame is allocated once.
    pub size_hint: usize,
    /// The frame holds a secret (a SASL password or proof): it is wiped
    /// before its buffer goes back to the pool.
    pub secret: bool,
}

pub struct Connection {
    address: String,
    client_id: String,
    /// When the SASL session the broker granted should be renewed (KIP-368):
    /// the connection is then replaced by a newly authenticated one.
    renew_session_at: Option<Instant>,
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
    /// every later request), then authenticates with SASL when configured.
    /// Must be called on the producer's runtime.
    pub async fn open(
        address: &str,
        config: &Config,
        buffers: Arc<BufferPool>,
        logger: &Arc<Logger>,
        counters: Arc<BrokerCounters>,
    ) -> Result<Arc<Connection>, BrokerError> {
        let (inlet, outlet) = transport::connect(address, &config.socket, config.security.tls.as_ref(), config.connect_timeout).await?;
        let wire = Wire::start(inlet, outlet, config.receive_message_max_bytes, counters);
        let versions = match Self::ask_versions(&wire, address, config).await {
            Ok(versions) => versions,
            Err(error) => {
                // Its tasks end, and the socket closes, when the wire dies.
                wire.die(ErrorCode::TRANSPORT);
                return Err(error);
            }
        };
        let mut connection = Connection {
            address: address.to_owned(),
            client_id: config.client_id.clone(),
            renew_session_at: None,
            versions,
            next_correlation_id: AtomicI32::new(1),
            wire,
            buffers,
            logger: Arc::clone(logger),
        };
        if let Some(credentials) = &config.security.sasl {
            match authenticate(&connection, credentials, config.socket_timeout).await {
                Ok(lifetime) => connection.renew_session_at = lifetime.map(|lifetime| Instant::now() + renewal_delay(lifetime)),
                Err(error) => {
                    connection.close();
                    return Err(error);
                }
            }
        }
        Ok(Arc::new(connection))
    }

    /// ApiVersions, the first request on every connection: v3, which gives
    /// the broker client.software.name and .version (KIP-511), or v0 when
    /// the broker does not speak v3.
    async fn ask_versions(wire: &Wire, address: &str, config: &Config) -> Result<ApiVersionsResponse, BrokerError> {
        let mut versions = Self::exchange_versions(wire, address, config, api_versions::VERSION).await?;
        if versions.error_code == api_versions::UNSUPPORTED_VERSION {
            versions = Self::exchange_versions(wire, address, config, api_versions::FALLBACK_VERSION).await?;
        }
        match ErrorCode::from_kafka(versions.error_code) {
            code if code.is_ok() => Ok(versions),
            code => Err(BrokerError::new(code, address, format_args!("ApiVersions: {}", code.message()))),
        }
    }

    /// One ApiVersions request of `version` and its decoded answer,
    /// within api.version.request.timeout.ms.
    async fn exchange_versions(wire: &Wire, address: &str, config: &Config, version: i16) -> Result<ApiVersionsResponse, BrokerError> {
        let transport = |what: &dyn std::fmt::Display| BrokerError::new(ErrorCode::TRANSPORT, address, what);
        let encode =
            |e: &mut Encoder| api_versions::encode_request(e, version, &config.client_software_name, &config.client_software_version);
        let correlation_id = i32::from(version);
        let request = frame_request(
            Vec::new(),
            api_versions::API_KEY,
            version,
            api_versions::is_flexible(version),
            correlation_id,
            &config.client_id,
            encode,
        )
        .map_err(|e| BrokerError::new(ErrorCode::INVALID_ARG, address, e))?;
        let (sender, receiver) = oneshot::channel();
        let completion: Completion = Box::new(move |answer| {
            let _ = sender.send(answer);
            AfterAnswer::Keep
        });
        let answer = match wire.send(&[&request], correlation_id, Instant::now() + config.api_version_timeout, Some(completion)) {
            Ok(()) => receiver.await.unwrap_or(Err(RequestFailure::written(ErrorCode::DESTROY))),
            Err((failure, _)) => Err(failure),
        };
        let body = match answer {
            Ok(body) => body,
            Err(failure) => {
                return Err(match wire.failure() {
                    // TLS refused after its handshake (a client certificate the broker rejects under TLS 1.3).
                    Some((code, why)) => BrokerError::new(code, address, why),
                    None if failure.code == ErrorCode::TIMED_OUT => {
                        transport(&"no ApiVersions response within api.version.request.timeout.ms")
                    }
                    None => transport(&format_args!("ApiVersions failed: {}", failure.code.message())),
                });
            }
        };
        api_versions::decode_response(&body, version).map_err(|e| BrokerError::new(ErrorCode::BAD_MSG, address, e))
    }

    /// True once the SASL session should be renewed: the connection takes
    /// no new requests and is replaced (see `cluster`).
    pub fn session_expiring(&self) -> bool {
        self.renew_session_at.is_some_and(|at| Instant::now() >= at)
    }

    /// Requests sent and not yet answered.
    pub fn requests_in_flight(&self) -> usize {
        self.wire.requests_in_flight()
    }

    /// Requests not yet written whole to the socket.
    pub fn untransmitted_requests(&self) -> usize {
        self.wire.queue_depths().0
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Requests not yet written, and written ones awaiting their answer.
    pub fn queue_depths(&self) -> (usize, usize) {
        self.wire.queue_depths()
    }

    /// Its broker's statistics.
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

    /// Sends one request without waiting. `body` encodes it from `owner`
    /// (bytes it adds to the splice list go on the wire from `owner`'s own
    /// buffers, copied only if the socket cannot take them at once); then
    /// `complete` gets `owner` back with the answer (the response body after
    /// the response header), or with `_TRANSPORT` when the connection dies,
    /// or `_TIMED_OUT` once `spec.timeout` has passed since this call (the
    /// connection is then closed). A request the broker does not answer
    /// (`expect_response` false: acks=0) is complete once handed to the
    /// wire. `complete` runs on the runtime, or on this thread if the answer
    /// is in before this call returns. Fails, giving `owner` back with
    /// nothing sent, when the connection is dead or the request cannot be
    /// encoded.
    pub fn submit<T: Send + 'static>(
        &self,
        spec: RequestSpec,
        owner: T,
        body: impl for<'a> FnOnce(&'a T, &mut Encoder, &mut Vec<Splice<'a>>),
        complete: impl FnOnce(T, Result<Vec<u8>, RequestFailure>) -> AfterAnswer + Send + 'static,
    ) -> Result<(), (RequestFailure, T)> {
        let deadline = Instant::now() + spec.timeout;
        let handoff = Handoff::new();
        let (sent, correlation_id) = {
            let (frame, splices, correlation_id) = match self.encode(spec, |e, splices| body(&owner, e, splices)) {
                Ok(encoded) => encoded,
                Err(_) => return Err((RequestFailure::not_written(ErrorCode::INVALID_ARG), owner)),
            };
            let awaited = spec.expect_response.then(|| handoff.sink());
            let sent = self.wire.send(&frame_parts(&frame, &splices), correlation_id, deadline, awaited);
            let mut frame = frame;
            if spec.secret {
                frame.zeroize();
            }
            self.buffers.give(frame);
            (sent, correlation_id)
        };
        if let Err((failure, _)) = sent {
            return Err((failure, owner));
        }
        // debug=protocol: a line per request and per answer, as librdkafka's.
        let traced = self.logger.debugging(Context::Protocol).then(|| {
            self.logger.debug(
                Context::Protocol,
                "SEND",
                format_args!("{}: Sent {}Request (v{}, CorrId {correlation_id})", self.address, spec.name, spec.version),
            );
            (Arc::clone(&self.logger), self.address.clone(), Instant::now())
        });
        let completion: Completion = Box::new(move |answer| {
            if let Some((logger, address, sent_at)) = traced {
                let rtt = sent_at.elapsed().as_secs_f64() * 1000.0;
                let what = match &answer {
                    Ok(body) => format!("{} bytes", body.len()),
                    Err(failure) => format!("failed: {}", failure.code.message()),
                };
                let line = format_args!(
                    "{address}: Received {}Response (v{}, {what}, CorrId {correlation_id}, rtt {rtt:.2}ms)",
                    spec.name, spec.version
                );
                logger.debug(Context::Protocol, "RECV", line);
            }
            complete(owner, answer)
        });
        match spec.expect_response {
            true => handoff.complete_with(completion, &self.wire),
            false => {
                completion(Ok(Vec::new()));
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
        let spec = RequestSpec {
            name: R::NAME,
            api_key: R::API_KEY,
            version,
            flexible: R::FLEXIBLE_SINCE.is_some_and(|since| version >= since),
            expect_response: true,
            timeout,
            size_hint: 0,
            secret: R::SECRET,
        };
        let body = self.request(spec, |e| request.encode(e, version)).await.map_err(|f| fail(f.code, &f.code.message()))?;
        R::decode(&body, version).map_err(|e| fail(ErrorCode::BAD_MSG, &e))
    }

    /// `submit` for a request without splices, awaiting the answer.
    async fn request(&self, spec: RequestSpec, body: impl FnOnce(&mut Encoder)) -> Result<Vec<u8>, RequestFailure> {
        let (sender, receiver) = oneshot::channel();
        let submitted = self.submit(
            spec,
            (),
            |_, e, _| body(e),
            move |_, answer| {
                let _ = sender.send(answer);
                AfterAnswer::Keep
            },
        );
        if let Err((failure, ())) = submitted {
            return Err(failure);
        }
        // The wire calls the completion, or drops it when the producer closes.
        receiver.await.unwrap_or(Err(RequestFailure::written(ErrorCode::DESTROY)))
    }

    /// One request's frame, its size prefix set, and its correlation id.
    #[allow(clippy::type_complexity)]
    fn encode<'a>(
        &self,
        spec: RequestSpec,
        body: impl FnOnce(&mut Encoder, &mut Vec<Splice<'a>>),
    ) -> Result<(Vec<u8>, Vec<Splice<'a>>, i32), EncodeError> {
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        let buffer = self.buffers.take(64 + self.client_id.len() + spec.size_hint);
        let mut splices = Vec::new();
        let mut frame =
            frame_request(buffer, spec.api_key, spec.version, spec.flexible, correlation_id, &self.client_id, |e| body(e, &mut splices))?;
        let size = frame.len() - 4 + splices.iter().map(|s| s.bytes.len()).sum::<usize>();
        let size = i32::try_from(size).map_err(|_| EncodeError("a request over 2 GiB"))?;
        frame[..4].copy_from_slice(&size.to_be_bytes());
        Ok((frame, splices, correlation_id))
    }
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

/// When to renew a SASL session of `lifetime`: at 85% to 95% of it, as
/// Java's client does (the spread keeps a fleet from renewing at once),
/// and never sooner than a second from now.
fn renewal_delay(lifetime: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let spread = (u64::from(nanos) ^ u64::from(std::process::id())) % 100;
    let fraction = 0.85 + 0.10 * (spread as f64 / 100.0);
    lifetime.mul_f64(fraction).max(Duration::from_secs(1).min(lifetime))
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
    use crate::kafka::client::test_broker::{request_body, Script, TestBroker, METADATA_VERSION};
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::protocol::metadata;
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
        assert_eq!(connection.version_for(metadata::API_KEY, metadata::VERSIONS), Some(METADATA_VERSION), "the v3 answer was read");
        let seen = broker.seen();
        let request = &seen.requests[0];
        assert_eq!((request.api_key, request.version), (api_versions::API_KEY, 3));
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
        assert_eq!(connection.version_for(metadata::API_KEY, metadata::VERSIONS), Some(METADATA_VERSION));
        let seen = broker.seen();
        let asked: Vec<(usize, i16, i16)> = seen.requests.iter().map(|r| (r.connection, r.api_key, r.version)).collect();
        assert_eq!(asked, [(1, api_versions::API_KEY, 3), (1, api_versions::API_KEY, 0)]);
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

    #[test]
    fn a_sasl_session_is_renewed_at_85_to_95_percent_of_its_lifetime() {
        let minute = Duration::from_secs(60);
        for _ in 0..100 {
            let delay = renewal_delay(minute);
            assert!(delay >= minute.mul_f64(0.85) && delay <= minute.mul_f64(0.95), "{delay:?}");
        }
        assert_eq!(renewal_delay(Duration::from_millis(500)), Duration::from_millis(500), "never later than the session's end");
        assert!(renewal_delay(Duration::from_millis(1100)) >= Duration::from_secs(1), "nor sooner than a second from now");
    }
}
