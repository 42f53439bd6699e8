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

use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::api_versions::{self, ApiVersionsResponse};
use crate::kafka::protocol::primitives::Encoder;
use crate::kafka::protocol::{frame_request, negotiate, split_response};

/// Larger responses than this are refused rather than allocated.
const MAX_RESPONSE_BYTES: usize = 256 << 20;

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

pub struct Connection {
    address: String,
    client_id: String,
    request_timeout: Duration,
    versions: ApiVersionsResponse,
    next_correlation_id: AtomicI32,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    wire: Arc<Wire>,
}

impl Connection {
    /// Connects, asks the broker's API versions, and starts the I/O tasks.
    /// Must be called on the producer's runtime.
    pub async fn open(address: &str, client_id: &str, connect_timeout: Duration, request_timeout: Duration) -> Result<Arc<Connection>, ErrorCode> {
        let mut stream = tokio::time::timeout(connect_timeout, TcpStream::connect(address))
            .await
            .map_err(|_| ErrorCode::TRANSPORT)?
            .map_err(|_| ErrorCode::TRANSPORT)?;
        stream.set_nodelay(true).map_err(|_| ErrorCode::TRANSPORT)?;

        let handshake = frame_request(api_versions::API_KEY, api_versions::VERSION, 0, client_id, |_| {});
        let exchange = async {
            stream.write_all(&handshake).await.ok()?;
            read_frame(&mut stream).await.ok()
        };
        let frame = tokio::time::timeout(request_timeout, exchange).await.ok().flatten().ok_or(ErrorCode::TRANSPORT)?;
        let (_, body) = split_response(&frame).map_err(|_| ErrorCode::BAD_MSG)?;
        let versions = api_versions::decode_response(body).map_err(|_| ErrorCode::BAD_MSG)?;
        if versions.error_code != 0 {
            return Err(ErrorCode::from_kafka(versions.error_code));
        }

        let (reader, writer) = stream.into_split();
        let (outgoing, requests) = mpsc::unbounded_channel();
        let wire = Arc::new(Wire { alive: AtomicBool::new(true), in_flight: Mutex::new(VecDeque::new()) });
        tokio::spawn(write_loop(writer, requests, Arc::clone(&wire)));
        tokio::spawn(read_loop(reader, Arc::clone(&wire)));
        Ok(Arc::new(Connection {
            address: address.to_owned(),
            client_id: client_id.to_owned(),
            request_timeout,
            versions,
            next_correlation_id: AtomicI32::new(1),
            outgoing,
            wire,
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
    /// Fails with `_TRANSPORT` when the connection dies and `_TIMED_OUT` after
    /// request.timeout.ms.
    pub async fn request(
        &self,
        api_key: i16,
        version: i16,
        expect_response: bool,
        body: impl FnOnce(&mut Encoder),
    ) -> Result<Vec<u8>, ErrorCode> {
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        let frame = frame_request(api_key, version, correlation_id, &self.client_id, body);
        let (reply, response) = oneshot::channel();
        self.outgoing
            .send(Outgoing { frame, correlation_id, expect_response, reply })
            .map_err(|_| ErrorCode::TRANSPORT)?;
        match tokio::time::timeout(self.request_timeout, response).await {
            Err(_) => Err(ErrorCode::TIMED_OUT),
            Ok(Err(_)) => Err(ErrorCode::TRANSPORT),
            Ok(Ok(result)) => result,
        }
    }
}

async fn write_loop(mut writer: OwnedWriteHalf, mut requests: mpsc::UnboundedReceiver<Outgoing>, wire: Arc<Wire>) {
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
        if writer.write_all(&frame).await.is_err() {
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
        let Ok((correlation_id, body)) = split_response(&frame) else { break };
        let next = wire.in_flight.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match next {
            Some((expected, reply)) if expected == correlation_id => {
                let _ = reply.send(Ok(body.to_vec()));
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

/// Reads one size-prefixed frame and returns it without the size.
async fn read_frame(stream: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Vec<u8>> {
    let size = stream.read_i32().await?;
    if size < 0 || size as usize > MAX_RESPONSE_BYTES {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad response size"));
    }
    let mut frame = vec![0u8; size as usize];
    stream.read_exact(&mut frame).await?;
    Ok(frame)
}
