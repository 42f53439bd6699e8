//! One TCP connection to one broker: requests are pipelined, and responses
//! are matched to them in order by correlation id (Kafka answers requests on
//! a connection in the order it received them).
//!
//! The requesting task writes its request itself, under a lock that keeps
//! each request whole and its place in the response queue in step with the
//! wire (any thread may, if it can without waiting: `try_request_now`); its
//! record batches go out from their own buffers (a vectored write), not
//! through a copy. A reader task owns the read half and answers each
//! waiting request. When a write or a read fails, the connection is
//! dead: every request waiting on it fails with `_TRANSPORT`, and the caller
//! makes a new connection.
//!
//! A request's timeout covers all of it: waiting for the writer, the write
//! (a peer that stops reading cannot hold a writer forever) and the answer.
//! A write cut off part way leaves the stream unusable, so it kills the
//! connection; so does an answer that does not match its request.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, Notify};

use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::api_versions::{self, ApiVersionsResponse};
use crate::kafka::protocol::primitives::{EncodeError, Encoder};
use crate::kafka::protocol::{frame_parts, frame_request, negotiate, split_response, Splice};

/// Larger responses than this are refused rather than read.
const MAX_RESPONSE_BYTES: usize = 256 << 20;
/// A response buffer starts this large and grows only as bytes arrive.
const INITIAL_FRAME_BYTES: usize = 64 << 10;
/// The reader takes in up to this much per system call, so that a small
/// response's size prefix and body come from one read, not two.
const READ_BUFFER_BYTES: usize = 64 << 10;

/// At most this many pieces go to one vectored write (IOV_MAX is 1024).
const MAX_WRITE_PIECES: usize = 64;

type ReplySender = oneshot::Sender<Result<Vec<u8>, ErrorCode>>;

/// State the reader task shares with the handle.
struct Wire {
    alive: AtomicBool,
    in_flight: Mutex<VecDeque<(i32, ReplySender)>>,
    /// Tells the reader to stop: the connection died on the writing side
    /// (or a timeout), and a frozen peer must not keep the socket open.
    closed: Notify,
}

impl Wire {
    /// Marks the connection dead, fails every request waiting on it and
    /// stops the reader (which closes the socket).
    fn die(&self) {
        self.alive.store(false, Ordering::Release);
        self.closed.notify_one();
        let waiting = std::mem::take(&mut *self.in_flight.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, reply) in waiting {
            let _ = reply.send(Err(ErrorCode::TRANSPORT));
        }
    }
}

/// Why a broker could not be used: a code for the receipts and a detail
/// for the producer's status (`producer_error_message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerError {
    pub code: ErrorCode,
    pub detail: String,
}

impl BrokerError {
    fn new(code: ErrorCode, address: &str, what: impl std::fmt::Display) -> Self {
        BrokerError { code, detail: format!("{address}: {what}") }
    }
}

/// Why a request failed, and whether any of it may have reached the broker:
/// a request never written cannot have been stored, one written may have
/// been, although its answer was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFailure {
    pub code: ErrorCode,
    pub written: bool,
}

impl RequestFailure {
    fn not_written(code: ErrorCode) -> Self {
        RequestFailure { code, written: false }
    }

    fn written(code: ErrorCode) -> Self {
        RequestFailure { code, written: true }
    }
}

/// How one request is framed, sent and awaited.
#[derive(Clone, Copy, Debug)]
pub struct RequestSpec {
    pub api_key: i16,
    pub version: i16,
    /// A flexible version: request header v2.
    pub flexible: bool,
    /// false for acks=0 Produce, which the broker does not answer.
    pub expect_response: bool,
    pub timeout: Duration,
    /// The body's expected size, so that its frame is allocated once.
    pub size_hint: usize,
}

pub struct Connection {
    address: String,
    client_id: String,
    versions: ApiVersionsResponse,
    next_correlation_id: AtomicI32,
    /// Held for the whole of one request's write.
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    wire: Arc<Wire>,
    /// Request frames come from here and go back once written.
    buffers: Arc<BufferPool>,
}

impl Connection {
    /// Connects, asks the broker's API versions, and starts the reader task.
    /// Must be called on the producer's runtime.
    pub async fn open(
        address: &str,
        client_id: &str,
        connect_timeout: Duration,
        request_timeout: Duration,
        buffers: Arc<BufferPool>,
        answered: Arc<Notify>,
    ) -> Result<Arc<Connection>, BrokerError> {
        let transport = |what: &dyn std::fmt::Display| BrokerError::new(ErrorCode::TRANSPORT, address, what);
        let mut stream = match tokio::time::timeout(connect_timeout, TcpStream::connect(address)).await {
            Err(_) => return Err(transport(&format_args!("connect timed out after {connect_timeout:?}"))),
            Ok(Err(e)) => return Err(transport(&format_args!("connect failed: {e}"))),
            Ok(Ok(stream)) => stream,
        };
        stream.set_nodelay(true).map_err(|e| transport(&e))?;

        let handshake = frame_request(Vec::new(), api_versions::API_KEY, api_versions::VERSION, false, 0, client_id, |_| {})
            .map_err(|e| BrokerError::new(ErrorCode::INVALID_ARG, address, e))?;
        let exchange = async {
            stream.write_all(&handshake).await?;
            read_frame(&mut stream).await
        };
        let frame = match tokio::time::timeout(request_timeout, exchange).await {
            Err(_) => return Err(transport(&"no ApiVersions response within request.timeout.ms")),
            Ok(Err(e)) => return Err(transport(&format_args!("ApiVersions failed: {e}"))),
            Ok(Ok(frame)) => frame,
        };
        let bad = |e: &dyn std::fmt::Display| BrokerError::new(ErrorCode::BAD_MSG, address, e);
        let (_, body) = split_response(&frame).map_err(|e| bad(&e))?;
        let versions = api_versions::decode_response(body).map_err(|e| bad(&e))?;
        if versions.error_code != 0 {
            let code = ErrorCode::from_kafka(versions.error_code);
            return Err(BrokerError::new(code, address, format_args!("ApiVersions: {}", code.message())));
        }

        let (reader, writer) = stream.into_split();
        let wire = Arc::new(Wire { alive: AtomicBool::new(true), in_flight: Mutex::new(VecDeque::new()), closed: Notify::new() });
        tokio::spawn(read_loop(reader, Arc::clone(&wire), answered));
        Ok(Arc::new(Connection {
            address: address.to_owned(),
            client_id: client_id.to_owned(),
            versions,
            next_correlation_id: AtomicI32::new(1),
            writer: tokio::sync::Mutex::new(writer),
            wire,
            buffers,
        }))
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn is_alive(&self) -> bool {
        self.wire.alive.load(Ordering::Acquire)
    }

    /// The highest version of `api_key` in `ours` that the broker speaks.
    pub fn version_for(&self, api_key: i16, ours: std::ops::RangeInclusive<i16>) -> Option<i16> {
        let range = self.versions.range(api_key)?;
        negotiate(ours, range.min_version, range.max_version)
    }

    /// Closes the connection: every request waiting on it fails with
    /// `_TRANSPORT`. For an answer that arrived but makes no sense.
    pub fn close(&self) {
        self.wire.die();
    }

    /// Sends one request and returns the response body (after the response
    /// header), or an empty body once written when `expect_response` is false.
    /// Fails with `_TRANSPORT` when the connection dies, and with `_TIMED_OUT`
    /// when `spec.timeout` passes, counted from this call: waiting for the
    /// writer, writing and awaiting the answer all count. A timeout after
    /// the write began closes the connection (as librdkafka does), so that
    /// neither half a frame nor a late answer can be taken for another
    /// request's.
    ///
    /// `body` encodes the request body; bytes it adds to the splice list go
    /// on the wire from their own buffers (they must outlive the write).
    pub async fn request<'a>(
        &self,
        spec: RequestSpec,
        body: impl FnOnce(&mut Encoder, &mut Vec<Splice<'a>>),
    ) -> Result<Vec<u8>, RequestFailure> {
        let deadline = Instant::now() + spec.timeout;
        let (frame, splices, correlation_id) = self.encode(spec, body).map_err(|_| RequestFailure::not_written(ErrorCode::INVALID_ARG))?;
        let reply = self.write(spec, deadline, correlation_id, &frame_parts(&frame, &splices)).await;
        self.buffers.give(frame);
        reply?.wait().await
    }

    /// Writes one framed request under the writer lock, both within `deadline`.
    async fn write(&self, spec: RequestSpec, deadline: Instant, correlation_id: i32, parts: &[&[u8]]) -> Result<Reply, RequestFailure> {
        let Ok(mut writer) = tokio::time::timeout_at(deadline.into(), self.writer.lock()).await else {
            return Err(RequestFailure::not_written(ErrorCode::TIMED_OUT));
        };
        if !self.is_alive() {
            return Err(RequestFailure::not_written(ErrorCode::TRANSPORT));
        }
        let reply = self.expect(spec, deadline, correlation_id);
        let failure = match tokio::time::timeout_at(deadline.into(), write_all_parts(&mut writer, parts)).await {
            Ok(Ok(())) => return Ok(reply),
            Ok(Err(_)) => ErrorCode::TRANSPORT,
            // The peer stopped reading: part of the frame may be on the wire.
            Err(_) => ErrorCode::TIMED_OUT,
        };
        self.wire.die();
        Err(RequestFailure::written(failure))
    }

    /// The same request, written at once by the calling thread (which need
    /// not be the runtime's) without waiting for anything. None when it
    /// cannot go at once: another request is being written, or the socket
    /// takes nothing now; then nothing was sent. Otherwise its answer is
    /// awaited with `Reply::wait` on the runtime; the `answered` notify given
    /// to `open` tells when it is in.
    pub fn try_request_now<'a>(&self, spec: RequestSpec, body: impl FnOnce(&mut Encoder, &mut Vec<Splice<'a>>)) -> Option<Reply> {
        let writer = self.writer.try_lock().ok()?;
        if !self.is_alive() {
            return None;
        }
        // One that cannot be encoded fails where the runtime sends it.
        let (frame, splices, correlation_id) = self.encode(spec, body).ok()?;
        let reply = self.expect(spec, Instant::now() + spec.timeout, correlation_id);
        let written = try_write_all_parts(&writer, &frame_parts(&frame, &splices));
        self.buffers.give(frame);
        match written {
            WriteNow::Complete => Some(reply),
            WriteNow::Nothing => {
                if spec.expect_response {
                    // Still under the writer lock: ours is the last entry.
                    self.wire.in_flight.lock().unwrap_or_else(|e| e.into_inner()).pop_back();
                }
                None
            }
            // Part of a frame went out: the stream is unusable, and the request
            // fails as a write on a dead connection does.
            WriteNow::Broken => {
                self.wire.die();
                Some(Reply::failed(ErrorCode::TRANSPORT, &self.wire))
            }
        }
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

    /// Queues the request for its answer, due by `deadline`. Called under
    /// the writer lock, just before the request is written, so the queue
    /// keeps wire order.
    fn expect(&self, spec: RequestSpec, deadline: Instant, correlation_id: i32) -> Reply {
        if !spec.expect_response {
            return Reply { state: ReplyState::NoAnswer, deadline, wire: Arc::clone(&self.wire) };
        }
        let (sender, receiver) = oneshot::channel();
        self.wire.in_flight.lock().unwrap_or_else(|e| e.into_inner()).push_back((correlation_id, sender));
        Reply { state: ReplyState::Awaited(receiver), deadline, wire: Arc::clone(&self.wire) }
    }
}

/// The answer to a written request, still to come.
pub struct Reply {
    state: ReplyState,
    deadline: Instant,
    wire: Arc<Wire>,
}

enum ReplyState {
    Awaited(oneshot::Receiver<Result<Vec<u8>, ErrorCode>>),
    /// acks=0 Produce: the broker sends nothing back.
    NoAnswer,
    Failed(ErrorCode),
}

impl Reply {
    fn failed(code: ErrorCode, wire: &Arc<Wire>) -> Reply {
        Reply { state: ReplyState::Failed(code), deadline: Instant::now(), wire: Arc::clone(wire) }
    }

    /// Whether `wait` would return at once: the answer (or the connection's
    /// death) is in, or none is expected.
    pub fn is_answered(&self) -> bool {
        match &self.state {
            ReplyState::Awaited(response) => !response.is_empty(),
            ReplyState::NoAnswer | ReplyState::Failed(_) => true,
        }
    }

    /// The response body; `_TIMED_OUT` (closing the connection) when none
    /// came by the request's deadline. The request was written, so every
    /// failure says so. Must run on the runtime.
    pub async fn wait(self) -> Result<Vec<u8>, RequestFailure> {
        let response = match self.state {
            ReplyState::NoAnswer => return Ok(Vec::new()),
            ReplyState::Failed(code) => return Err(RequestFailure::written(code)),
            ReplyState::Awaited(response) => response,
        };
        match tokio::time::timeout_at(self.deadline.into(), response).await {
            Err(_) => {
                self.wire.die();
                Err(RequestFailure::written(ErrorCode::TIMED_OUT))
            }
            Ok(Err(_)) => Err(RequestFailure::written(ErrorCode::TRANSPORT)),
            Ok(Ok(result)) => result.map_err(RequestFailure::written),
        }
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
        while self.index < parts.len() && self.offset == parts[self.index].len() {
            self.index += 1;
            self.offset = 0;
        }
        if self.index == parts.len() {
            return Vec::new();
        }
        std::iter::once(&parts[self.index][self.offset..])
            .chain(parts[self.index + 1..].iter().copied())
            .take(MAX_WRITE_PIECES)
            .map(IoSlice::new)
            .collect()
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

/// Writes every piece, in order, with as few system calls as it can.
async fn write_all_parts(writer: &mut OwnedWriteHalf, parts: &[&[u8]]) -> std::io::Result<()> {
    let mut cursor = WriteCursor::default();
    loop {
        let pieces = cursor.pending(parts);
        if pieces.is_empty() {
            return Ok(());
        }
        let written = writer.write_vectored(&pieces).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        cursor.advance(parts, written);
    }
}

/// How far a write without waiting got.
#[derive(Debug, PartialEq, Eq)]
enum WriteNow {
    Complete,
    /// The socket took nothing: the request can still go another way.
    Nothing,
    /// Part of it went out, or the socket failed.
    Broken,
}

/// Writes every piece now, or as much as the socket takes without waiting.
fn try_write_all_parts(writer: &OwnedWriteHalf, parts: &[&[u8]]) -> WriteNow {
    let mut cursor = WriteCursor::default();
    let mut wrote_any = false;
    loop {
        let pieces = cursor.pending(parts);
        if pieces.is_empty() {
            return WriteNow::Complete;
        }
        match writer.try_write_vectored(&pieces) {
            Ok(written) if written > 0 => {
                cursor.advance(parts, written);
                wrote_any = true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && !wrote_any => return WriteNow::Nothing,
            _ => return WriteNow::Broken,
        }
    }
}

/// Reads every response and answers its request; `answered` is notified
/// after each, for answers that no task awaits yet (see `Reply::is_answered`).
async fn read_loop(reader: OwnedReadHalf, wire: Arc<Wire>, answered: Arc<Notify>) {
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, reader);
    loop {
        let frame = tokio::select! {
            frame = read_frame(&mut reader) => frame,
            _ = wire.closed.notified() => break,
        };
        let Ok(frame) = frame else { break };
        let Ok((correlation_id, _)) = split_response(&frame) else { break };
        let next = wire.in_flight.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match next {
            Some((expected, reply)) if expected == correlation_id => {
                let mut body = frame;
                body.drain(..4); // response header v0: the correlation id
                let _ = reply.send(Ok(body));
                answered.notify_one();
                if reader.buffer().is_empty() {
                    // The requester just answered completes its receipts (and
                    // wakes the application) before this task tries a read
                    // that would most likely find nothing yet.
                    tokio::task::yield_now().await;
                }
            }
            // A response to another request: the stream is out of step, and
            // this request's answer is lost like every other one's on it.
            Some((_, reply)) => {
                let _ = reply.send(Err(ErrorCode::TRANSPORT));
                break;
            }
            None => break,
        }
    }
    wire.die();
    // The requests that just failed are answered too.
    answered.notify_one();
}

/// Reads one size-prefixed frame and returns it without the size. The
/// buffer grows as bytes arrive, so a size prefix alone (a broken or hostile
/// peer) cannot make us allocate what it never sends.
async fn read_frame(stream: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Vec<u8>> {
    let size = stream.read_i32().await?;
    if size < 0 || size as usize > MAX_RESPONSE_BYTES {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad response size"));
    }
    let size = size as usize;
    let mut frame = Vec::with_capacity(size.min(INITIAL_FRAME_BYTES));
    stream.take(size as u64).read_to_end(&mut frame).await?;
    if frame.len() < size {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "response cut short"));
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(size: i32, body: &[u8]) -> Vec<u8> {
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    #[tokio::test(flavor = "current_thread")]
    async fn frames_are_read_whole_and_lying_sizes_refused() {
        assert_eq!(read_frame(&mut &frame(3, b"abcd")[..]).await.unwrap(), b"abc");
        assert_eq!(read_frame(&mut &frame(0, b"")[..]).await.unwrap(), b"");
        assert!(read_frame(&mut &frame(-1, b"")[..]).await.is_err());
        assert!(read_frame(&mut &frame(MAX_RESPONSE_BYTES as i32 + 1, b"")[..]).await.is_err());
        // A large size followed by little: an error, not a large allocation.
        let err = read_frame(&mut &frame(200 << 20, b"only this")[..]).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn writes_without_waiting_go_whole_or_not_at_all() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let (_reader, writer) = client.into_split();
        writer.writable().await.unwrap();

        let parts: [&[u8]; 4] = [b"head", b"", b"spliced records", b"tail"];
        assert_eq!(try_write_all_parts(&writer, &parts), WriteNow::Complete);
        let mut got = vec![0u8; 23];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"headspliced recordstail");

        // Nobody reads: once the socket takes nothing more, a request is refused
        // whole, with not one byte of it written.
        let chunk = vec![0u8; 1 << 20];
        while writer.try_write(&chunk).is_ok() {}
        assert_eq!(try_write_all_parts(&writer, &parts), WriteNow::Nothing);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn buffered_frames_come_out_one_at_a_time() {
        let wire = [frame(3, b"abc"), frame(2, b"de"), frame(1, b"f")].concat();
        let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, &wire[..]);
        assert_eq!(read_frame(&mut reader).await.unwrap(), b"abc");
        assert_eq!(reader.buffer().len(), 11, "the rest was read in the same call");
        assert_eq!(read_frame(&mut reader).await.unwrap(), b"de");
        assert_eq!(read_frame(&mut reader).await.unwrap(), b"f");
        assert!(reader.buffer().is_empty());
        assert!(read_frame(&mut reader).await.is_err());
    }
}
