//! The socket of one connection, and the requests in flight on it.
//!
//! Every byte a producer sends to a broker goes through `Wire::send`: it
//! queues the request for its answer and writes its frame, under one lock,
//! so the answer queue keeps the wire's order. It never waits. What the
//! socket does not take at once is copied into the outbound buffer, and the
//! connection's writer task writes that when the socket is writable again,
//! before anything sent later.
//!
//! Three tasks (`tasks.rs`) serve a wire on the runtime: the reader (answers each request
//! in order and calls its completion), the writer (drains the outbound
//! buffer) and the watchdog (a request past its deadline kills the
//! connection, as librdkafka does: a late answer could otherwise be taken
//! for another request's). When the connection dies, for whatever reason,
//! the reader fails every request still in flight, each told whether any of
//! it reached the wire.
//!
//! While the connection re-authenticates (KIP-368), `hold_for_login` lets
//! only the login's requests on it (`send_login`): any other is refused as
//! not written, as on a dead connection, since a broker takes a request in
//! the middle of a login for a broken login and closes the connection.
//!
//! A broker over a quota throttles the connection (KIP-219): `throttled`
//! holds every request sent after that in the outbound buffer until the
//! throttle time has passed, when the writer sends them, as the Java client
//! and franz-go do; sending more would only make the broker mute the
//! connection and the requests time out.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::error::RequestFailure;
use super::transport::{Inlet, Outlet};
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::log::Logger;
use crate::kafka::stats::BrokerCounters;

pub mod census;
mod tasks;
mod write_cursor;

use write_cursor::WriteCursor;

/// What the connection should do after a completion has seen its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterAnswer {
    Keep,
    /// The answer made no sense: the stream cannot be trusted any more.
    Close,
}

/// Called once with a request's answer (the response body after its
/// header), or with why there is none. Runs on the producer's runtime.
pub type Completion = Box<dyn FnOnce(Result<Vec<u8>, RequestFailure>) -> AfterAnswer + Send>;

/// A request written (or being written) that awaits its answer.
struct InFlight {
    correlation_id: i32,
    deadline: Instant,
    /// Where its frame starts in the stream: it reached the wire once more
    /// than this many bytes were written.
    starts_at: u64,
    /// When it was sent, for its round-trip time.
    sent_at: Instant,
    /// Records it carries (statistics' `outbuf_msg_cnt`, `waitresp_msg_cnt`).
    records: usize,
    completion: Completion,
}

/// The outbound side: the socket's write half and what it has not taken yet.
struct Outbound {
    /// Bytes of frames sent but not yet written, oldest first.
    pending: VecDeque<u8>,
    /// Bytes ever queued and ever written, to tell whether a request
    /// reached the wire.
    queued: u64,
    written: u64,
    /// When a request was last sent, for connections.max.idle.ms (and its
    /// round-trip time).
    last_sent: Instant,
    /// Nothing is written before this (the broker's throttle, KIP-219).
    held_until: Option<Instant>,
    /// A SASL login is under way: only its requests may be sent.
    login_only: bool,
    /// Frames left to the writer: where each ends in the stream and when it
    /// was handed over (statistics' `outbuf_latency`), oldest first.
    unwritten: VecDeque<(u64, Instant)>,
}

impl Outbound {
    /// The end of the throttle hold, if one lasts past `now`.
    fn held_after(&self, now: Instant) -> Option<Instant> {
        self.held_until.filter(|&until| until > now)
    }
}

/// What `write_pending` left.
#[derive(Debug, PartialEq, Eq)]
enum Written {
    All,
    /// The socket took no more.
    SocketFull,
    /// The broker's throttle holds the rest back until then.
    HeldUntil(Instant),
}

/// Correlation ids of requests sent without awaiting an answer (acks=0)
/// that are remembered, the most recent ones.
const UNAWAITED_KEPT: usize = 1024;

/// The requests in flight, and the deadline the watchdog is armed for.
struct InFlightQueue {
    requests: VecDeque<InFlight>,
    /// Recent requests that expect no answer (acks=0). A broker that answers
    /// them anyway (tansu does) answers in order; such an answer is dropped,
    /// as librdkafka drops answers to unknown correlation ids, instead of
    /// taking the stream for out of step and retrying what is in flight.
    /// Each with where its frame starts in the stream and its records, as `InFlight`.
    unawaited: VecDeque<(i32, u64, usize)>,
    /// When the watchdog will next look. It stays armed after the requests
    /// it was armed for are answered, so that a stream of requests, each
    /// due after it, never wakes the watchdog (nor the runtime) early.
    armed: Option<Instant>,
    /// When an answer was last read, for connections.max.idle.ms: set
    /// under this lock, which the reader takes for every answer anyway.
    last_answer: Instant,
}

impl InFlightQueue {
    /// True when `correlation_id` is a remembered request that expected no
    /// answer; it and those sent before it are forgotten.
    fn forget_unawaited(&mut self, correlation_id: i32) -> bool {
        match self.unawaited.iter().position(|&(id, _, _)| id == correlation_id) {
            Some(at) => {
                self.unawaited.drain(..=at);
                true
            }
            None => false,
        }
    }
}

pub struct Wire {
    alive: AtomicBool,
    /// Why it died: `_TRANSPORT`, `_TIMED_OUT` when the watchdog killed it,
    /// or `_SSL` when TLS failed (`failure` then says how).
    cause: AtomicI32,
    failure: Mutex<Option<String>>,
    outlet: Outlet,
    outbound: Mutex<Outbound>,
    in_flight: Mutex<InFlightQueue>,
    /// Wakes the writer task: bytes are pending.
    pending: Notify,
    /// Wakes the watchdog: a request due before it is armed for, or death.
    deadlines: Notify,
    /// Wakes the reader: the connection died elsewhere.
    closed: Notify,
    /// Its broker's statistics.
    counters: Arc<BrokerCounters>,
    /// The last answer carried a throttle time: a THROTTLE line was logged.
    throttled: AtomicBool,
    /// For the THROTTLE lines: the broker's address.
    address: String,
    logger: Arc<Logger>,
}

impl Wire {
    /// Starts the reader, writer and watchdog tasks. Must be called on the
    /// producer's runtime. A response larger than `max_response_bytes`
    /// (receive.message.max.bytes) is refused rather than read: the
    /// connection dies. `address` and `logger` are for its THROTTLE lines.
    pub fn start(
        inlet: Inlet,
        outlet: Outlet,
        max_response_bytes: usize,
        counters: Arc<BrokerCounters>,
        address: &str,
        logger: &Arc<Logger>,
    ) -> Arc<Wire> {
        let wire = Arc::new(Wire {
            alive: AtomicBool::new(true),
            cause: AtomicI32::new(ErrorCode::TRANSPORT.code()),
            failure: Mutex::new(None),
            outlet,
            outbound: Mutex::new(Outbound {
                pending: VecDeque::new(),
                queued: 0,
                written: 0,
                last_sent: Instant::now(),
                held_until: None,
                login_only: false,
                unwritten: VecDeque::new(),
            }),
            in_flight: Mutex::new(InFlightQueue {
                requests: VecDeque::new(),
                unawaited: VecDeque::new(),
                armed: None,
                last_answer: Instant::now(),
            }),
            pending: Notify::new(),
            deadlines: Notify::new(),
            closed: Notify::new(),
            counters,
            throttled: AtomicBool::new(false),
            address: address.to_owned(),
            logger: Arc::clone(logger),
        });
        tokio::spawn(Arc::clone(&wire).read_loop(inlet, max_response_bytes));
        tokio::spawn(Arc::clone(&wire).write_loop());
        tokio::spawn(Arc::clone(&wire).watchdog());
        wire
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Marks the connection dead. The reader then fails every request in
    /// flight with `cause` and stops, which closes the socket.
    pub fn die(&self, cause: ErrorCode) {
        if self.alive.swap(false, Ordering::AcqRel) {
            self.cause.store(cause.code(), Ordering::Release);
            self.counters.disconnected();
        }
        self.closed.notify_one();
        self.deadlines.notify_one();
        self.pending.notify_one();
    }

    /// Marks the connection dead for a reason worth telling (a TLS alert,
    /// a certificate): `failure` returns it.
    fn die_because(&self, cause: ErrorCode, why: String) {
        if self.is_alive() {
            *self.failure.locked() = Some(why);
        }
        self.die(cause);
    }

    /// Why the connection died, when it was more than a lost socket.
    pub fn failure(&self) -> Option<(ErrorCode, String)> {
        let why = self.failure.locked().clone()?;
        Some((ErrorCode(self.cause.load(Ordering::Acquire)), why))
    }

    /// Drops every request in flight without calling it (the producer is
    /// closing: their batches fail as they are dropped), breaking the
    /// references completions hold.
    pub fn abandon(&self) {
        self.die(ErrorCode::DESTROY);
        drop(std::mem::take(&mut self.in_flight.locked().requests));
    }

    /// Queues `completion` (if an answer is expected) for the answer to
    /// `correlation_id`, due by `deadline`, and writes `parts` (one framed
    /// request) now, as far as the socket takes them without waiting; the
    /// rest is copied and left to the writer task. While the broker's
    /// throttle lasts, all of it is copied and left, and the deadline moves
    /// by what is left of the throttle. Fails, with nothing sent and the
    /// completion given back, when the connection is dead or a login holds
    /// it (`hold_for_login`). `records`: how many the request carries, for
    /// statistics.
    pub fn send(
        &self,
        parts: &[&[u8]],
        correlation_id: i32,
        deadline: Instant,
        records: usize,
        completion: Option<Completion>,
    ) -> Result<(), (RequestFailure, Option<Completion>)> {
        self.write_request(parts, correlation_id, deadline, records, completion, false)
    }

    /// `send` for a request of a SASL login, which goes even while the
    /// login holds the connection.
    pub fn send_login(
        &self,
        parts: &[&[u8]],
        correlation_id: i32,
        deadline: Instant,
        completion: Option<Completion>,
    ) -> Result<(), (RequestFailure, Option<Completion>)> {
        self.write_request(parts, correlation_id, deadline, 0, completion, true)
    }

    /// Lets only a login's requests (`send_login`) on the connection, until
    /// `release_login`. Requests sent before this call are in flight
    /// (`requests_in_flight`) by the time it returns.
    pub fn hold_for_login(&self) {
        self.outbound.locked().login_only = true;
    }

    /// Ends `hold_for_login`.
    pub fn release_login(&self) {
        self.outbound.locked().login_only = false;
    }

    /// The one place that writes to the socket: `send`, `send_login`.
    fn write_request(
        &self,
        parts: &[&[u8]],
        correlation_id: i32,
        deadline: Instant,
        records: usize,
        completion: Option<Completion>,
        login: bool,
    ) -> Result<(), (RequestFailure, Option<Completion>)> {
        let mut out = self.outbound.locked();
        if !self.is_alive() || (out.login_only && !login) {
            return Err((RequestFailure { code: ErrorCode::TRANSPORT, written: false }, completion));
        }
        let starts_at = out.queued;
        let bytes = parts.iter().map(|p| p.len() as u64).sum::<u64>();
        out.queued += bytes;
        let now = Instant::now();
        out.last_sent = now;
        let held_until = out.held_after(now);
        // Held back, it goes out when the throttle ends: its time runs from then.
        let (deadline, sent_at) = match held_until {
            Some(until) => (deadline + (until - now), until),
            None => (deadline, now),
        };
        self.counters.sent(bytes as usize);
        if let Some(completion) = completion {
            let mut in_flight = self.in_flight.locked();
            in_flight.requests.push_back(InFlight { correlation_id, deadline, starts_at, sent_at, records, completion });
            let due_before_armed = match in_flight.armed {
                Some(armed) => deadline < armed,
                None => true,
            };
            if due_before_armed {
                in_flight.armed = Some(deadline);
                self.deadlines.notify_one();
            }
        } else {
            let mut in_flight = self.in_flight.locked();
            if in_flight.unawaited.len() == UNAWAITED_KEPT {
                in_flight.unawaited.pop_front();
            }
            in_flight.unawaited.push_back((correlation_id, starts_at, records));
        }
        let mut cursor = WriteCursor::default();
        if out.pending.is_empty() && held_until.is_none() {
            // Nothing is waiting: write straight from the caller's buffers.
            loop {
                let pieces = cursor.pending(parts);
                if pieces.is_empty() {
                    self.counters.written(now.elapsed());
                    if self.outlet.holds_bytes() {
                        // TLS records the socket did not take: the writer sends them.
                        drop(out);
                        self.pending.notify_one();
                    }
                    return Ok(());
                }
                match self.outlet.try_write_vectored(&pieces) {
                    Ok(n) if n > 0 => {
                        cursor.advance(parts, n);
                        out.written += n as u64;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    _ => {
                        drop(out);
                        self.die(ErrorCode::TRANSPORT);
                        return Ok(()); // the reader fails it, as written
                    }
                }
            }
        }
        // The socket is full (or others wait before this): keep the rest.
        for piece in cursor.pending_all(parts) {
            out.pending.extend(piece);
        }
        let ends_at = out.queued;
        out.unwritten.push_back((ends_at, now));
        drop(out);
        self.pending.notify_one();
        Ok(())
    }

    /// Writes what is pending, as far as the socket and the broker's
    /// throttle let it now.
    fn write_pending(&self) -> std::io::Result<Written> {
        let mut out = self.outbound.locked();
        if let Some(until) = out.held_after(Instant::now()) {
            return Ok(Written::HeldUntil(until));
        }
        while !out.pending.is_empty() {
            let (front, back) = out.pending.as_slices();
            let written = match self.outlet.try_write_vectored(&[IoSlice::new(front), IoSlice::new(back)]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(Written::SocketFull),
                Err(e) => return Err(e),
            };
            out.pending.drain(..written);
            out.written += written as u64;
            while let Some(&(_, handed)) = out.unwritten.front().filter(|&&(end, _)| end <= out.written) {
                self.counters.written(handed.elapsed());
                out.unwritten.pop_front();
            }
        }
        Ok(if self.outlet.flush_buffered()? { Written::All } else { Written::SocketFull })
    }

    /// An answer's throttle time (KIP-219), zero when it has none: kept in
    /// the statistics' `throttle` window, logged (THROTTLE) when the broker
    /// starts and stops throttling, and, when `hold` (the answer's version
    /// expects the client to hold back), no request is written before it
    /// has passed.
    pub fn throttled(&self, throttle: Duration, hold: bool) {
        let throttling = !throttle.is_zero();
        if throttling {
            self.counters.throttled(throttle);
        }
        if hold && throttling {
            let until = Instant::now() + throttle;
            let mut out = self.outbound.locked();
            out.held_until = Some(out.held_until.map_or(until, |held| held.max(until)));
        }
        if self.throttled.swap(throttling, Ordering::AcqRel) != throttling {
            let what = match (throttling, hold) {
                (true, true) => format!("throttled by the broker for {} ms: holding requests back", throttle.as_millis()),
                (true, false) => format!("throttled by the broker for {} ms (it delayed its answer)", throttle.as_millis()),
                (false, _) => "no longer throttled by the broker".to_owned(),
            };
            self.logger.log(if throttling { 5 } else { 6 }, "THROTTLE", format_args!("{}: {what}", self.address));
        }
    }

    /// Closes the connection when nothing is in flight or unwritten and
    /// nothing was sent or answered for `max_idle` before `now`
    /// (connections.max.idle.ms). Decided under the lock `send` takes, so a
    /// request either went out first (the connection is not idle) or finds
    /// it closed and is refused as not written. True when it closed it.
    pub fn close_if_idle(&self, max_idle: Duration, now: Instant) -> bool {
        let out = self.outbound.locked();
        let in_flight = self.in_flight.locked();
        let last_activity = out.last_sent.max(in_flight.last_answer);
        let idle = self.is_alive()
            && out.pending.is_empty()
            && in_flight.requests.is_empty()
            && now.saturating_duration_since(last_activity) >= max_idle;
        drop(in_flight);
        if idle {
            self.die(ErrorCode::TRANSPORT);
        }
        idle
    }

    /// Requests written (or being written) and not yet answered.
    pub fn requests_in_flight(&self) -> usize {
        self.in_flight.locked().requests.len()
    }

    /// Takes every request in flight, for failing.
    fn take_in_flight(&self) -> VecDeque<InFlight> {
        std::mem::take(&mut self.in_flight.locked().requests)
    }

    fn written(&self) -> u64 {
        self.outbound.locked().written
    }
}

#[cfg(test)]
mod tests {
    use super::census::QueueDepths;
    use super::tasks::{read_frame, READ_BUFFER_BYTES};
    use super::*;
    use crate::kafka::log::{Contexts, LogSettings};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    /// The largest response these tests read.
    const MAX: usize = 256 << 20;

    fn frame(size: i32, body: &[u8]) -> Vec<u8> {
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    #[tokio::test(flavor = "current_thread")]
    async fn frames_are_read_whole_and_lying_sizes_refused() {
        assert_eq!(read_frame(&mut &frame(3, b"abcd")[..], MAX).await.unwrap(), b"abc");
        assert_eq!(read_frame(&mut &frame(0, b"")[..], MAX).await.unwrap(), b"");
        assert!(read_frame(&mut &frame(-1, b"")[..], MAX).await.is_err());
        assert!(read_frame(&mut &frame(MAX as i32 + 1, b"")[..], MAX).await.is_err());
        // A large size followed by little: an error, not a large allocation.
        let err = read_frame(&mut &frame(200 << 20, b"only this")[..], MAX).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn buffered_frames_come_out_one_at_a_time() {
        let wire = [frame(3, b"abc"), frame(2, b"de"), frame(1, b"f")].concat();
        let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, &wire[..]);
        assert_eq!(read_frame(&mut reader, MAX).await.unwrap(), b"abc");
        assert_eq!(reader.buffer().len(), 11, "the rest was read in the same call");
        assert_eq!(read_frame(&mut reader, MAX).await.unwrap(), b"de");
        assert_eq!(read_frame(&mut reader, MAX).await.unwrap(), b"f");
        assert!(reader.buffer().is_empty());
        assert!(read_frame(&mut reader, MAX).await.is_err());
    }

    async fn pair() -> (Arc<Wire>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (reader, writer) = client.into_split();
        let quiet = LogSettings { level: 0, debug: Contexts::default(), to_queue: true, thread_name: false, connection_close: false };
        let logger = Arc::new(Logger::new("test", quiet));
        // Statistics on: the tests may read the windows.
        let counters = Arc::new(BrokerCounters::new(true));
        (Wire::start(Inlet::Plain(reader), Outlet::Plain(writer), MAX, counters, "test", &logger), server)
    }

    type Answers = Arc<Mutex<Vec<Result<Vec<u8>, RequestFailure>>>>;

    fn recorder(answers: &Answers) -> Option<Completion> {
        let answers = Arc::clone(answers);
        Some(Box::new(move |answer| {
            answers.lock().unwrap().push(answer);
            AfterAnswer::Keep
        }))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn answers_complete_their_requests_in_order_and_bytes_arrive_whole() {
        let (wire, mut server) = pair().await;
        let answers: Answers = Arc::default();
        let far = Instant::now() + std::time::Duration::from_secs(30);
        wire.send(&[b"head", b"", b"spliced records", b"tail"], 1, far, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"second"], 2, far, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        let mut got = vec![0u8; 29];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"headspliced recordstailsecond");
        server.write_all(&[frame(5, b"\0\0\0\x01a"), frame(5, b"\0\0\0\x02b")].concat()).await.unwrap();
        while answers.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(*answers.lock().unwrap(), [Ok(b"a".to_vec()), Ok(b"b".to_vec())]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn what_the_socket_cannot_take_is_written_later_in_order() {
        let (wire, mut server) = pair().await;
        let far = Instant::now() + std::time::Duration::from_secs(30);
        // Far more than the socket buffers hold: most of it waits in the outbound buffer.
        let big: Vec<u8> = (0..8u32 << 20).map(|i| i as u8).collect();
        wire.send(&[&big], 1, far, 0, None).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"after"], 2, far, 0, None).map_err(|(failure, _)| failure).unwrap();
        let mut got = vec![0u8; big.len() + 5];
        server.read_exact(&mut got).await.unwrap();
        assert!(got[..big.len()] == big[..], "the big frame arrives whole");
        assert_eq!(&got[big.len()..], b"after", "and what was sent after it, after it");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_throttled_wire_holds_requests_until_the_throttle_ends_and_their_deadline_moves_with_it() {
        let (wire, mut server) = pair().await;
        let answers: Answers = Arc::default();
        let throttle = std::time::Duration::from_millis(300);
        wire.throttled(throttle, true);
        let started = Instant::now();
        // Due before the throttle ends: held back, it must not time out.
        let soon = started + std::time::Duration::from_millis(100);
        wire.send(&[b"held"], 1, soon, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b" and after"], 2, soon + throttle, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        let mut got = vec![0u8; 14];
        server.read_exact(&mut got).await.unwrap();
        let waited = started.elapsed();
        assert_eq!(got, b"held and after", "in order, once");
        assert!(waited >= throttle, "written after {waited:?}, before the throttle of {throttle:?} ended");
        assert!(wire.is_alive(), "its deadline moved by the throttle");
        server.write_all(&[frame(5, b"\0\0\0\x01a"), frame(5, b"\0\0\0\x02b")].concat()).await.unwrap();
        while answers.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
        // Not held (the answer's version had the broker delay it): straight out.
        wire.throttled(throttle, false);
        let started = Instant::now();
        wire.send(&[b"now"], 3, started + throttle, 0, None).map_err(|(failure, _)| failure).unwrap();
        let mut got = vec![0u8; 3];
        server.read_exact(&mut got).await.unwrap();
        assert!(started.elapsed() < throttle, "an old version's throttle is not held: {:?}", started.elapsed());
    }

    /// While a login holds the wire (KIP-368 re-authentication), only its
    /// requests go out; another is refused as not written, its completion
    /// given back, and nothing of it reaches the socket.
    #[tokio::test(flavor = "current_thread")]
    async fn a_login_holds_the_wire_for_its_own_requests() {
        let (wire, mut server) = pair().await;
        let answers: Answers = Arc::default();
        let far = Instant::now() + std::time::Duration::from_secs(30);
        wire.hold_for_login();
        let Err((refused, given_back)) = wire.send(&[b"produce"], 1, far, 3, recorder(&answers)) else {
            panic!("a request went out in the middle of a login")
        };
        assert_eq!((refused.code, refused.written, given_back.is_some()), (ErrorCode::TRANSPORT, false, true));
        wire.send_login(&[b"login"], 2, far, None).map_err(|(failure, _)| failure).unwrap();
        wire.release_login();
        wire.send(&[b"after"], 3, far, 0, None).map_err(|(failure, _)| failure).unwrap();
        let mut got = vec![0u8; 10];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"loginafter", "the login's request, then the next after the login");
        assert!(wire.is_alive() && answers.lock().unwrap().is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_past_its_deadline_kills_the_connection_and_says_it_was_written() {
        let (wire, _server) = pair().await;
        let answers: Answers = Arc::default();
        let soon = Instant::now() + std::time::Duration::from_millis(50);
        wire.send(&[b"request"], 1, soon, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!wire.is_alive());
        assert_eq!(*answers.lock().unwrap(), [Err(RequestFailure { code: ErrorCode::TIMED_OUT, written: true })]);
        let late = wire.send(&[b"late"], 2, soon, 0, None).map_err(|(failure, _)| failure);
        assert_eq!(late, Err(RequestFailure { code: ErrorCode::TRANSPORT, written: false }), "a dead wire sends nothing");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn only_a_connection_with_nothing_in_flight_and_nothing_sent_for_max_idle_is_closed_as_idle() {
        let (wire, mut server) = pair().await;
        let answers: Answers = Arc::default();
        let max_idle = std::time::Duration::from_secs(60);
        let far = Instant::now() + std::time::Duration::from_secs(300);
        wire.send(&[b"request"], 1, far, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        assert!(!wire.close_if_idle(max_idle, Instant::now() + 2 * max_idle), "a request awaits its answer");
        server.write_all(&frame(5, b"\0\0\0\x01a")).await.unwrap();
        while answers.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(!wire.close_if_idle(max_idle, Instant::now()), "answered just now");
        assert!(wire.is_alive());
        assert!(wire.close_if_idle(max_idle, Instant::now() + max_idle), "nothing for max_idle");
        assert!(!wire.is_alive());
        drop(wire); // its tasks end, and the socket closes with them
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"request", "the client closed the socket");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_answer_to_another_request_fails_every_request_in_flight() {
        let (wire, mut server) = pair().await;
        let answers: Answers = Arc::default();
        let far = Instant::now() + std::time::Duration::from_secs(30);
        wire.send(&[b"one"], 1, far, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"two"], 2, far, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        server.write_all(&frame(5, b"\0\0\0\x07x")).await.unwrap();
        while answers.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
        let lost = RequestFailure { code: ErrorCode::TRANSPORT, written: true };
        assert_eq!(*answers.lock().unwrap(), [Err(lost), Err(lost)]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_answer_to_a_request_that_expected_none_is_dropped() {
        // tansu answers acks=0 Produce requests; the answer must not fail
        // the requests in flight around it.
        let (wire, mut server) = pair().await;
        let answers: Answers = Arc::default();
        let far = Instant::now() + std::time::Duration::from_secs(30);
        wire.send(&[b"one"], 1, far, 0, None).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"two"], 2, far, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"three"], 3, far, 0, None).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"four"], 4, far, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        let answered = [frame(5, b"\0\0\0\x01a"), frame(5, b"\0\0\0\x02b"), frame(5, b"\0\0\0\x04d")].concat();
        server.write_all(&answered).await.unwrap();
        while answers.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(*answers.lock().unwrap(), [Ok(b"b".to_vec()), Ok(b"d".to_vec())], "3 was not answered: fine too");
        assert!(wire.is_alive());
        // An answer to a request that is neither awaited nor remembered is out of step.
        wire.send(&[b"five"], 5, far, 0, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        server.write_all(&frame(5, b"\0\0\0\x03c")).await.unwrap();
        while answers.lock().unwrap().len() < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(answers.lock().unwrap()[2], Err(RequestFailure { code: ErrorCode::TRANSPORT, written: true }));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn requests_not_written_whole_are_counted_until_the_socket_takes_them() {
        let (wire, mut server) = pair().await;
        let far = Instant::now() + std::time::Duration::from_secs(30);
        let depths = |outbuf_cnt, outbuf_msg_cnt, waitresp_cnt, waitresp_msg_cnt| QueueDepths {
            outbuf_cnt,
            outbuf_msg_cnt,
            waitresp_cnt,
            waitresp_msg_cnt,
        };
        assert_eq!(wire.queue_depths(), depths(0, 0, 0, 0));
        // The server reads nothing: most of the first frame waits in the
        // outbound buffer, and the next two wait whole behind it.
        let big = vec![7u8; 8 << 20];
        wire.send(&[&big], 1, far, 100, None).map_err(|(failure, _)| failure).unwrap();
        let answers: Answers = Arc::default();
        wire.send(&[b"second"], 2, far, 20, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"third"], 3, far, 3, None).map_err(|(failure, _)| failure).unwrap();
        assert_eq!(wire.queue_depths(), depths(3, 123, 0, 0), "three frames unwritten, none waiting for an answer yet");
        assert_eq!(wire.counters().roll_outbuf_latency().cnt, 0, "a wait is counted once the frame is written whole");
        let mut got = vec![0u8; big.len() + 11];
        server.read_exact(&mut got).await.unwrap();
        while wire.queue_depths().outbuf_cnt > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(&got[big.len()..], b"secondthird");
        assert_eq!(wire.queue_depths(), depths(0, 0, 1, 20), "written whole; the awaited one waits for its answer");
        assert_eq!(wire.counters().roll_outbuf_latency().cnt, 3, "each frame's wait, once written");
    }
}
