//! The three tasks that serve a wire on the producer's runtime: the
//! writer, the watchdog and the reader (see `wire`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, BufReader};

use super::{AfterAnswer, Wire, Written};
use crate::kafka::client::error::RequestFailure;
use crate::kafka::client::tls::TlsFailure;
use crate::kafka::client::transport::Inlet;
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::protocol::split_response;

/// A response buffer starts this large and grows only as bytes arrive.
const INITIAL_FRAME_BYTES: usize = 64 << 10;
/// The reader takes in up to this much per system call, so that a small
/// response's size prefix and body come from one read, not two.
pub(super) const READ_BUFFER_BYTES: usize = 64 << 10;

impl Wire {
    /// Drains the outbound buffer whenever the socket can take more.
    pub(super) async fn write_loop(self: Arc<Self>) {
        let wire = self;
        while wire.is_alive() {
            match wire.write_pending() {
                Ok(Written::All) => wire.pending.notified().await,
                Ok(Written::SocketFull) => {
                    if wire.outlet.writable().await.is_err() {
                        wire.die(ErrorCode::TRANSPORT);
                    }
                }
                // Woken early by a send or by death, it looks again.
                Ok(Written::HeldUntil(until)) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(until.into()) => {}
                        _ = wire.pending.notified() => {}
                    }
                }
                Err(_) => wire.die(ErrorCode::TRANSPORT),
            }
        }
    }

    /// Kills the connection when a request in flight passes its deadline.
    pub(super) async fn watchdog(self: Arc<Self>) {
        let wire = self;
        while wire.is_alive() {
            let earliest = {
                let mut in_flight = wire.in_flight.locked();
                let earliest = in_flight.requests.iter().map(|r| r.deadline).min();
                in_flight.armed = earliest;
                earliest
            };
            match earliest {
                Some(deadline) if deadline <= Instant::now() => {
                    wire.counters.timed_out(1);
                    wire.die(ErrorCode::TIMED_OUT);
                }
                Some(deadline) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline.into()) => {}
                        _ = wire.deadlines.notified() => {}
                    }
                }
                None => wire.deadlines.notified().await,
            }
        }
    }

    /// Reads every response and calls its request's completion; when the
    /// connection dies, fails every request still in flight.
    pub(super) async fn read_loop(self: Arc<Self>, inlet: Inlet, max_bytes: usize) {
        let wire = self;
        let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, inlet);
        while wire.is_alive() {
            let frame = tokio::select! {
                frame = read_frame(&mut reader, max_bytes) => frame,
                _ = wire.closed.notified() => break,
            };
            let frame = match frame {
                Ok(frame) => frame,
                Err(error) => {
                    wire.counters.receive_failed();
                    if let Some(tls) = TlsFailure::within(&error) {
                        wire.die_because(ErrorCode::SSL, format!("SSL error: {tls}"));
                    }
                    break;
                }
            };
            if wire.outlet.holds_bytes() {
                // Reading made TLS records to send (a key update's answer).
                wire.pending.notify_one();
            }
            let Ok((correlation_id, _)) = split_response(&frame) else {
                wire.counters.receive_failed();
                break;
            };
            let next = {
                let mut in_flight = wire.in_flight.locked();
                in_flight.last_answer = Instant::now();
                match in_flight.requests.front().filter(|r| r.correlation_id == correlation_id).map(|r| r.starts_at) {
                    // Answers come in order: requests before this one that
                    // expected none will get none now.
                    Some(starts_at) => {
                        while in_flight.unawaited.front().is_some_and(|&(_, at, _)| at < starts_at) {
                            in_flight.unawaited.pop_front();
                        }
                    }
                    None if in_flight.forget_unawaited(correlation_id) => {
                        wire.counters.received(frame.len() + 4, None);
                        continue;
                    }
                    None => {}
                }
                in_flight.requests.pop_front()
            };
            match next {
                Some(request) if request.correlation_id == correlation_id => {
                    wire.counters.received(frame.len() + 4, Some(request.sent_at.elapsed()));
                    let mut body = frame;
                    body.drain(..4); // response header v0: the correlation id
                    if (request.completion)(Ok(body)) == AfterAnswer::Close {
                        break;
                    }
                    if reader.buffer().is_empty() {
                        // The completion woke the application; let it run before
                        // this task tries a read that would most likely find nothing.
                        tokio::task::yield_now().await;
                    }
                }
                // An answer to another request: the stream is out of step, and
                // this request's answer is lost like every other one's on it.
                Some(request) => {
                    wire.counters.unexpected_answer();
                    wire.in_flight.locked().requests.push_front(request);
                    break;
                }
                None => {
                    wire.counters.unexpected_answer();
                    break;
                }
            }
        }
        wire.die(ErrorCode::TRANSPORT);
        let cause = ErrorCode(wire.cause.load(Ordering::Acquire));
        let written = wire.written();
        let failed = wire.take_in_flight();
        if cause != ErrorCode::DESTROY {
            wire.counters.failed(failed.len());
        }
        for request in failed {
            let failure = RequestFailure { code: cause, written: written > request.starts_at };
            (request.completion)(Err(failure));
        }
    }
}

/// Reads one size-prefixed frame of at most `max_bytes` and returns it
/// without the size. The buffer grows as bytes arrive, so a size prefix
/// alone (a broken or hostile peer) cannot make us allocate what it never
/// sends.
pub(super) async fn read_frame(stream: &mut (impl AsyncReadExt + Unpin), max_bytes: usize) -> std::io::Result<Vec<u8>> {
    let size = stream.read_i32().await?;
    if size < 0 || size as usize > max_bytes {
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
