//! One TCP connection to one broker: requests are pipelined, and responses
//! are matched to them in order by correlation id (Kafka answers requests on
//! a connection in the order it received them).
//!
//! A writer task and a reader task own the two halves of the socket. When
//! either fails, the connection is dead: every request waiting on it fails
//! with `_TRANSPORT`, and the caller makes a new connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::api_versions::{self, ApiVersionsResponse};
use crate::kafka::protocol::primitives::Encoder;
use crate::kafka::protocol::{frame_request, negotiate, split_response};

/// Larger responses than this are refused rather than read.
const MAX_RESPONSE_BYTES: usize = 256 << 20;
/// A response buffer starts this large and grows only as bytes arrive.
const INITIAL_FRAME_BYTES: usize = 64 << 10;

type ReplySender = oneshot::Sender<Result<Vec<u8>, ErrorCode>>;

struct Outgoing {
    frame: Vec<u8>,
    correlation_id: i32,
    /// false for acks=0 Produce: the broker sends nothing back, so the
    /// request is complete once written.
    expect_response: bool,
    reply: ReplySender,
}

/// State the writer and reader tasks share with the handle.
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
    outgoing: mpsc::UnboundedSender<Outgoing>,
    wire: Arc<Wire>,
    /// Request frames come from here and go back once written.
    buffers: Arc<BufferPool>,
}

impl Connection {
    /// Connects, asks the broker's API versions, and starts the I/O tasks.
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
        let (outgoing, requests) = mpsc::unbounded_channel();
        let wire = Arc::new(Wire { alive: AtomicBool::new(true), in_flight: Mutex::new(VecDeque::new()) });
        tokio::spawn(write_loop(writer, requests, Arc::clone(&wire), Arc::clone(&buffers)));
        tokio::spawn(read_loop(reader, Arc::clone(&wire)));
        Ok(Arc::new(Connection {
            address: address.to_owned(),
            client_id: client_id.to_owned(),
            versions,
            next_correlation_id: AtomicI32::new(1),
            outgoing,
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
    pub async fn request(&self, spec: RequestSpec, body: impl FnOnce(&mut Encoder)) -> Result<Vec<u8>, ErrorCode> {
        let RequestSpec { api_key, version, flexible, expect_response, timeout, size_hint } = spec;
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        let buffer = self.buffers.take(64 + self.client_id.len() + size_hint);
        let frame = frame_request(buffer, api_key, version, flexible, correlation_id, &self.client_id, body);
        let (reply, response) = oneshot::channel();
        self.outgoing.send(Outgoing { frame, correlation_id, expect_response, reply }).map_err(|_| ErrorCode::TRANSPORT)?;
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

async fn write_loop(
    mut writer: OwnedWriteHalf,
    mut requests: mpsc::UnboundedReceiver<Outgoing>,
    wire: Arc<Wire>,
    buffers: Arc<BufferPool>,
) {
    while let Some(request) = requests.recv().await {
        if !wire.alive.load(Ordering::Acquire) {
            let _ = request.reply.send(Err(ErrorCode::TRANSPORT));
            continue;
        }
        let Outgoing { frame, correlation_id, expect_response, reply } = request;
        let reply = match expect_response {
            true => {
                wire.in_flight.lock().unwrap_or_else(|e| e.into_inner()).push_back((correlation_id, reply));
                None
            }
            false => Some(reply),
        };
        let written = writer.write_all(&frame).await;
        buffers.give(frame);
        if written.is_err() {
            if let Some(reply) = reply {
                let _ = reply.send(Err(ErrorCode::TRANSPORT));
            }
            wire.die();
            continue;
        }
        if let Some(reply) = reply {
            let _ = reply.send(Ok(Vec::new()));
        }
    }
    // The handle is gone: close our half so the broker and the reader see EOF.
    let _ = writer.shutdown().await;
}

async fn read_loop(mut reader: OwnedReadHalf, wire: Arc<Wire>) {
    loop {
        let Ok(frame) = read_frame(&mut reader).await else { break };
        let Ok((correlation_id, _)) = split_response(&frame) else { break };
        let next = wire.in_flight.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match next {
            Some((expected, reply)) if expected == correlation_id => {
                let mut body = frame;
                body.drain(..4); // response header v0: the correlation id
                let _ = reply.send(Ok(body));
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
}
