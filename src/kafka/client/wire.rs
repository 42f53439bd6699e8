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
use crate::kafka::stats::BrokerCounters;

mod census;
mod tasks;

/// At most this many pieces go to one vectored write (IOV_MAX is 1024).
const MAX_WRITE_PIECES: usize = 64;

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
    /// Each with where its frame starts in the stream, as `InFlight`.
    unawaited: VecDeque<(i32, u64)>,
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
        match self.unawaited.iter().position(|&(id, _)| id == correlation_id) {
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
}

impl Wire {
    /// Starts the reader, writer and watchdog tasks. Must be called on the
    /// producer's runtime. A response larger than `max_response_bytes`
    /// (receive.message.max.bytes) is refused rather than read: the
    /// connection dies.
    pub fn start(inlet: Inlet, outlet: Outlet, max_response_bytes: usize, counters: Arc<BrokerCounters>) -> Arc<Wire> {
        let wire = Arc::new(Wire {
            alive: AtomicBool::new(true),
            cause: AtomicI32::new(ErrorCode::TRANSPORT.code()),
            failure: Mutex::new(None),
            outlet,
            outbound: Mutex::new(Outbound { pending: VecDeque::new(), queued: 0, written: 0, last_sent: Instant::now() }),
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

    /// The one place that writes to the socket. Queues `completion` (if an
    /// answer is expected) for the answer to `correlation_id`, due by
    /// `deadline`, and writes `parts` (one framed request) now, as far as
    /// the socket takes them without waiting; the rest is copied and left
    /// to the writer task. Fails, with nothing sent and the completion given
    /// back, when the connection is dead.
    pub fn send(
        &self,
        parts: &[&[u8]],
        correlation_id: i32,
        deadline: Instant,
        completion: Option<Completion>,
    ) -> Result<(), (RequestFailure, Option<Completion>)> {
        let mut out = self.outbound.locked();
        if !self.is_alive() {
            return Err((RequestFailure { code: ErrorCode::TRANSPORT, written: false }, completion));
        }
        let starts_at = out.queued;
        let bytes = parts.iter().map(|p| p.len() as u64).sum::<u64>();
        out.queued += bytes;
        out.last_sent = Instant::now();
        self.counters.sent(bytes as usize);
        if let Some(completion) = completion {
            let mut in_flight = self.in_flight.locked();
            in_flight.requests.push_back(InFlight { correlation_id, deadline, starts_at, sent_at: out.last_sent, completion });
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
            in_flight.unawaited.push_back((correlation_id, starts_at));
        }
        let mut cursor = WriteCursor::default();
        if out.pending.is_empty() {
            // Nothing is waiting: write straight from the caller's buffers.
            loop {
                let pieces = cursor.pending(parts);
                if pieces.is_empty() {
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
        drop(out);
        self.pending.notify_one();
        Ok(())
    }

    /// Writes what is pending, as far as the socket takes it now. True when
    /// nothing is left.
    fn write_pending(&self) -> std::io::Result<bool> {
        let mut out = self.outbound.locked();
        while !out.pending.is_empty() {
            let (front, back) = out.pending.as_slices();
            let written = match self.outlet.try_write_vectored(&[IoSlice::new(front), IoSlice::new(back)]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            };
            out.pending.drain(..written);
            out.written += written as u64;
        }
        self.outlet.flush_buffered()
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

/// Where a write of a list of pieces has got to.
#[derive(Default)]
struct WriteCursor {
    index: usize,
    offset: usize,
}

impl WriteCursor {
    /// What is left, as at most MAX_WRITE_PIECES slices; empty when done.
    fn pending<'p>(&mut self, parts: &[&'p [u8]]) -> Vec<IoSlice<'p>> {
        self.pending_all(parts).into_iter().take(MAX_WRITE_PIECES).map(IoSlice::new).collect()
    }

    /// Everything that is left.
    fn pending_all<'p>(&mut self, parts: &[&'p [u8]]) -> Vec<&'p [u8]> {
        while self.index < parts.len() && self.offset == parts[self.index].len() {
            self.index += 1;
            self.offset = 0;
        }
        match parts.get(self.index) {
            Some(first) => std::iter::once(&first[self.offset..]).chain(parts[self.index + 1..].iter().copied()).collect(),
            None => Vec::new(),
        }
    }

    fn advance(&mut self, parts: &[&[u8]], mut written: usize) {
        while written > 0 {
            let left = parts[self.index].len() - self.offset;
            if written < left {
                self.offset += written;
                written = 0;
            } else {
                written -= left;
                self.index += 1;
                self.offset = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tasks::{read_frame, READ_BUFFER_BYTES};
    use super::*;
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
        (Wire::start(Inlet::Plain(reader), Outlet::Plain(writer), MAX, Arc::default()), server)
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
        wire.send(&[b"head", b"", b"spliced records", b"tail"], 1, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"second"], 2, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
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
        wire.send(&[&big], 1, far, None).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"after"], 2, far, None).map_err(|(failure, _)| failure).unwrap();
        let mut got = vec![0u8; big.len() + 5];
        server.read_exact(&mut got).await.unwrap();
        assert!(got[..big.len()] == big[..], "the big frame arrives whole");
        assert_eq!(&got[big.len()..], b"after", "and what was sent after it, after it");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_past_its_deadline_kills_the_connection_and_says_it_was_written() {
        let (wire, _server) = pair().await;
        let answers: Answers = Arc::default();
        let soon = Instant::now() + std::time::Duration::from_millis(50);
        wire.send(&[b"request"], 1, soon, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!wire.is_alive());
        assert_eq!(*answers.lock().unwrap(), [Err(RequestFailure { code: ErrorCode::TIMED_OUT, written: true })]);
        let late = wire.send(&[b"late"], 2, soon, None).map_err(|(failure, _)| failure);
        assert_eq!(late, Err(RequestFailure { code: ErrorCode::TRANSPORT, written: false }), "a dead wire sends nothing");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn only_a_connection_with_nothing_in_flight_and_nothing_sent_for_max_idle_is_closed_as_idle() {
        let (wire, mut server) = pair().await;
        let answers: Answers = Arc::default();
        let max_idle = std::time::Duration::from_secs(60);
        let far = Instant::now() + std::time::Duration::from_secs(300);
        wire.send(&[b"request"], 1, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
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
        wire.send(&[b"one"], 1, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"two"], 2, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
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
        wire.send(&[b"one"], 1, far, None).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"two"], 2, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"three"], 3, far, None).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"four"], 4, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        let answered = [frame(5, b"\0\0\0\x01a"), frame(5, b"\0\0\0\x02b"), frame(5, b"\0\0\0\x04d")].concat();
        server.write_all(&answered).await.unwrap();
        while answers.lock().unwrap().len() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(*answers.lock().unwrap(), [Ok(b"b".to_vec()), Ok(b"d".to_vec())], "3 was not answered: fine too");
        assert!(wire.is_alive());
        // An answer to a request that is neither awaited nor remembered is out of step.
        wire.send(&[b"five"], 5, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
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
        assert_eq!(wire.queue_depths(), (0, 0));
        // The server reads nothing: most of the first frame waits in the
        // outbound buffer, and the next two wait whole behind it.
        let big = vec![7u8; 8 << 20];
        wire.send(&[&big], 1, far, None).map_err(|(failure, _)| failure).unwrap();
        let answers: Answers = Arc::default();
        wire.send(&[b"second"], 2, far, recorder(&answers)).map_err(|(failure, _)| failure).unwrap();
        wire.send(&[b"third"], 3, far, None).map_err(|(failure, _)| failure).unwrap();
        assert_eq!(wire.queue_depths(), (3, 0), "three frames unwritten, none waiting for an answer yet");
        let mut got = vec![0u8; big.len() + 11];
        server.read_exact(&mut got).await.unwrap();
        while wire.queue_depths().0 > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(&got[big.len()..], b"secondthird");
        assert_eq!(wire.queue_depths(), (0, 1), "written whole; the awaited one waits for its answer");
    }
}
