//! One TCP connection to one broker: requests are pipelined, and responses
//! are matched to them in order by correlation id (Kafka answers requests on
//! a connection in the order it received them).
//!
//! The requesting task writes its request itself, under a lock that keeps
//! each request whole and its place in the response queue in step with the
//! wire; its record batches go out from their own buffers (a vectored
//! write), not through a copy. A reader task owns the read half and answers
//! each waiting request. When a write or a read fails, the connection is
//! dead: every request waiting on it fails with `_TRANSPORT`, and the caller
//! makes a new connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::io::IoSlice;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::api_versions::{self, ApiVersionsResponse};
use crate::kafka::protocol::primitives::Encoder;
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
}

impl Wire {
    /// Marks the connection dead and fails every request waiting on it.
    fn die(&self) {
        self.alive.store(false, Ordering::Release);
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
    ) -> Result<Arc<Connection>, BrokerError> {
        let transport = |what: &dyn std::fmt::Display| BrokerError::new(ErrorCode::TRANSPORT, address, what);
        let mut stream = match tokio::time::timeout(connect_timeout, TcpStream::connect(address)).await {
            Err(_) => return Err(transport(&format_args!("connect timed out after {connect_timeout:?}"))),
            Ok(Err(e)) => return Err(transport(&format_args!("connect failed: {e}"))),
            Ok(Ok(stream)) => stream,
        };
        stream.set_nodelay(true).map_err(|e| transport(&e))?;

        let handshake = frame_request(Vec::new(), api_versions::API_KEY, api_versions::VERSION, false, 0, client_id, |_| {});
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
        let wire = Arc::new(Wire { alive: AtomicBool::new(true), in_flight: Mutex::new(VecDeque::new()) });
        tokio::spawn(read_loop(reader, Arc::clone(&wire)));
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

    /// Sends one request and returns the response body (after the response
    /// header), or an empty body once written when `expect_response` is false.
    /// Fails with `_TRANSPORT` when the connection dies, and with `_TIMED_OUT`
    /// after `spec.timeout`, which also closes the connection (as librdkafka
    /// does), so that a late answer can never be taken for another request's.
    ///
    /// `body` encodes the request body; bytes it adds to the splice list go
    /// on the wire from their own buffers (they must outlive the write).
    pub async fn request<'a>(
        &self,
        spec: RequestSpec,
        body: impl FnOnce(&mut Encoder, &mut Vec<Splice<'a>>),
    ) -> Result<Vec<u8>, ErrorCode> {
        let RequestSpec { api_key, version, flexible, expect_response, timeout, size_hint } = spec;
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        let buffer = self.buffers.take(64 + self.client_id.len() + size_hint);
        let mut splices = Vec::new();
        let mut frame = frame_request(buffer, api_key, version, flexible, correlation_id, &self.client_id, |e| body(e, &mut splices));
        let size = frame.len() - 4 + splices.iter().map(|s| s.bytes.len()).sum::<usize>();
        frame[..4].copy_from_slice(&(size as i32).to_be_bytes());

        let (reply, response) = oneshot::channel();
        let written = {
            let mut writer = self.writer.lock().await;
            if !self.is_alive() {
                Err(ErrorCode::TRANSPORT)
            } else {
                if expect_response {
                    self.wire.in_flight.lock().unwrap_or_else(|e| e.into_inner()).push_back((correlation_id, reply));
                }
                write_all_parts(&mut writer, &frame_parts(&frame, &splices)).await.map_err(|_| {
                    self.wire.die();
                    ErrorCode::TRANSPORT
                })
            }
        };
        self.buffers.give(frame);
        written?;
        if !expect_response {
            return Ok(Vec::new());
        }
        match tokio::time::timeout(timeout, response).await {
            Err(_) => {
                self.wire.die();
                Err(ErrorCode::TIMED_OUT)
            }
            Ok(Err(_)) => Err(ErrorCode::TRANSPORT),
            Ok(Ok(result)) => result,
        }
    }
}

/// Writes every piece, in order, with as few system calls as it can.
async fn write_all_parts(writer: &mut OwnedWriteHalf, parts: &[&[u8]]) -> std::io::Result<()> {
    let (mut index, mut offset) = (0, 0);
    loop {
        while index < parts.len() && offset == parts[index].len() {
            index += 1;
            offset = 0;
        }
        if index == parts.len() {
            return Ok(());
        }
        let pieces: Vec<IoSlice> = std::iter::once(&parts[index][offset..])
            .chain(parts[index + 1..].iter().copied())
            .take(MAX_WRITE_PIECES)
            .map(IoSlice::new)
            .collect();
        let mut written = writer.write_vectored(&pieces).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let left = parts[index].len() - offset;
            if written < left {
                offset += written;
                written = 0;
            } else {
                written -= left;
                index += 1;
                offset = 0;
            }
        }
    }
}

async fn read_loop(reader: OwnedReadHalf, wire: Arc<Wire>) {
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, reader);
    loop {
        let Ok(frame) = read_frame(&mut reader).await else { break };
        let Ok((correlation_id, _)) = split_response(&frame) else { break };
        let next = wire.in_flight.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match next {
            Some((expected, reply)) if expected == correlation_id => {
                let mut body = frame;
                body.drain(..4); // response header v0: the correlation id
                let _ = reply.send(Ok(body));
                if reader.buffer().is_empty() {
                    // The requester just answered completes its receipts (and
                    // wakes the application) before this task tries a read
                    // that would most likely find nothing yet.
                    tokio::task::yield_now().await;
                }
            }
            // A response nobody asked for: the stream is out of step.
            Some((_, reply)) => {
                let _ = reply.send(Err(ErrorCode::BAD_MSG));
                break;
            }
            None => break,
        }
    }
    wire.die();
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
