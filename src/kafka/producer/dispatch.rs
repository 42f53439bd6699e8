//! Due batches into Produce requests. `submit_produce` is the one function
//! that builds a Produce request and hands it to a connection's wire; it is
//! reached two ways, both after the batches were taken out of the
//! accumulator (which marks their partitions in flight and counts the
//! leader's max.in.flight slot, so only one thread ever holds them):
//!
//! - `send_to_leader`, a task on the producer's runtime: connects if need
//!   be, packs big batches on the blocking pool, then submits;
//! - `send_from_caller`, on the application's thread at linger.ms=0 with
//!   nothing in flight (nothing to batch with): if the leader's connection
//!   is open and the request small, it packs in place and submits at once,
//!   saving the runtime's wake-up; otherwise the batches go back to the
//!   accumulator and the runtime sends them.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accumulator::DueBatches;
use super::answer::{complete_produce, finish};
use super::batch::Batch;
use super::decision::Outcome;
use super::shared::Shared;
use crate::kafka::client::connection::{Connection, RequestSpec};
use crate::kafka::client::error::{BrokerError, RequestFailure};
use crate::kafka::error::ErrorCode;
use crate::kafka::log::Context;
use crate::kafka::protocol::primitives::Encoder;
use crate::kafka::protocol::produce;
use crate::kafka::protocol::record_batch::RECORD_BATCH_OVERHEAD;
use crate::kafka::protocol::Splice;

/// Shortest time a Produce request is given, even for records about to expire.
const MIN_REQUEST_TIMEOUT: Duration = Duration::from_millis(10);
/// Largest request the application's thread sends itself.
const FROM_CALLER_MAX_BYTES: usize = 64 << 10;

/// A leader's max.in.flight slot that the accumulator counted, given back
/// exactly once: as soon as the request's answer is in, before its receipts
/// complete (so that a record sent on seeing a receipt finds the slot
/// free), or when dropped.
pub(super) struct RequestSlot {
    shared: Arc<Shared>,
    leader: Option<i32>,
}

impl RequestSlot {
    fn new(shared: &Arc<Shared>, leader: i32) -> Self {
        RequestSlot { shared: Arc::clone(shared), leader: Some(leader) }
    }

    fn release(&mut self) {
        if let Some(leader) = self.leader.take() {
            self.shared.queues().release_request_slot(leader);
        }
    }
}

impl Drop for RequestSlot {
    fn drop(&mut self) {
        self.release();
    }
}

/// Sends `batches`, due for `leader` and counted in one of its slots, from
/// the producer's runtime.
pub(super) async fn send_to_leader(shared: Arc<Shared>, leader: i32, batches: Vec<Batch>) {
    let slot = RequestSlot::new(&shared, leader);
    let config = &shared.config;
    // Connecting (TCP, then ApiVersions) may take up to its own timeouts;
    // the batches' message.timeout.ms bounds it too, so that a broker that
    // accepts connections but never answers cannot keep them past it.
    let time_left = batches.iter().filter_map(|b| b.time_left(Instant::now())).min();
    let connecting = shared.cluster.broker(leader);
    let connected = match time_left {
        Some(limit) => tokio::time::timeout(limit, connecting).await.unwrap_or_else(|_| {
            Err(BrokerError { code: ErrorCode::TIMED_OUT, detail: format!("broker {leader}: no connection within message.timeout.ms") })
        }),
        None => connecting.await,
    };
    let connection = match connected {
        Ok(c) => c,
        Err(error) => {
            // Never sent: back in the queue without using up a retry.
            shared.set_status(error.code, error.detail);
            shared.queues().put_back(batches, Instant::now() + config.reconnect_backoff);
            shared.metadata_wanted.store(true, Ordering::Release);
            drop(slot);
            shared.wake.notify_one();
            return;
        }
    };
    let Some(version) = produce_version(&batches, &connection) else {
        let code = match min_produce_version(&batches) > *produce::VERSIONS.start() {
            true => ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
            false => ErrorCode::UNSUPPORTED_VERSION,
        };
        for batch in batches {
            finish(&shared, batch, Outcome::Failed(RequestFailure { code, written: false }));
        }
        return;
    };
    let batches = shared.packer.pack(batches).await;
    submit_produce(&shared, &connection, slot, version, batches);
}

/// Sends what the application's thread took out at linger.ms=0 (see the
/// module doc). Returns true when the sender must look: something went back
/// to the accumulator, or metadata is wanted.
pub(super) fn send_from_caller(shared: &Arc<Shared>, due: DueBatches) -> bool {
    for receipts in due.expired {
        receipts.fail(ErrorCode::MSG_TIMED_OUT);
    }
    if due.needs_metadata {
        shared.metadata_wanted.store(true, Ordering::Release);
    }
    // Nothing taken (no producer id yet, a backoff): the sender's own look
    // knows when it is due.
    let mut wake = due.needs_metadata || due.requests.is_empty();
    for (leader, mut batches) in due.requests {
        let slot = RequestSlot::new(shared, leader);
        let bytes: usize = batches.iter().map(|b| b.records.encoded_len()).sum();
        let connection = shared.cluster.connected_broker(leader);
        let version = connection.as_ref().and_then(|c| produce_version(&batches, c));
        match (connection, version) {
            (Some(connection), Some(version)) if bytes <= FROM_CALLER_MAX_BYTES => {
                for batch in &mut batches {
                    shared.packer.pack_here(batch);
                }
                submit_produce(shared, &connection, slot, version, batches);
            }
            _ => {
                shared.queues().put_back(batches, Instant::now());
                drop(slot);
                wake = true;
            }
        }
    }
    wake
}

/// Builds one Produce request from `batches` (packed already) and submits
/// it on `connection`; its answer completes, retries or fails each batch
/// (`answer::complete_produce`). Expired batches fail here instead.
fn submit_produce(shared: &Arc<Shared>, connection: &Connection, mut slot: RequestSlot, version: i16, batches: Vec<Batch>) {
    let Some((batches, spec)) = prepare_produce(shared, version, batches) else { return };
    for b in batches.iter().filter(|_| shared.logger.debugging(Context::Msg)) {
        let message = format_args!(
            "{}: {} [{}]: Produce MessageSet with {} message(s) ({} bytes, ApiVersion {version}, MsgVersion 2, BaseSeq {}, {})",
            connection.address(),
            b.topic,
            b.partition,
            b.records.count(),
            b.records.encoded_len(),
            b.identity.base_sequence,
            b.settings.codec.name(),
        );
        shared.logger.debug(Context::Msg, "PRODUCE", message);
    }
    if batches.iter().any(|b| b.retries > 0) {
        connection.counters().retried();
    }
    let answered = Arc::clone(shared);
    let submitted = connection.submit(
        spec,
        batches,
        |batches, e, splices| encode_produce(batches, e, splices),
        move |batches, answer| {
            slot.release();
            let after = complete_produce(&answered, version, batches, answer);
            answered.wake.notify_one();
            after
        },
    );
    if let Err((failure, batches)) = submitted {
        complete_produce(shared, version, batches, Err(failure));
        shared.wake.notify_one();
    }
}

/// The Produce version to speak to this broker: the newest both sides
/// know, and new enough for the batches' codecs; None when there is none.
fn produce_version(batches: &[Batch], connection: &Connection) -> Option<i16> {
    connection.version_for(produce::API_KEY, min_produce_version(batches)..=*produce::VERSIONS.end())
}

/// The oldest Produce version that carries every batch's codec.
fn min_produce_version(batches: &[Batch]) -> i16 {
    batches.iter().map(|b| b.settings.codec.min_produce_version()).max().unwrap_or(*produce::VERSIONS.start())
}

/// A Produce request's batches (the expired ones failed and left out),
/// sorted by topic, and how to send them; None when none is left.
fn prepare_produce(shared: &Shared, version: i16, mut batches: Vec<Batch>) -> Option<(Vec<Batch>, RequestSpec)> {
    let now = Instant::now();
    // Expired before it could go: fail rather than send what nobody awaits.
    let (expired, mut live): (Vec<Batch>, Vec<Batch>) = batches.drain(..).partition(|b| b.expired(now));
    for batch in expired {
        finish(shared, batch, Outcome::Failed(RequestFailure { code: ErrorCode::MSG_TIMED_OUT, written: false }));
    }
    if live.is_empty() {
        return None;
    }
    live.sort_by(|a, b| a.topic.cmp(&b.topic));
    // A request may not outlive its records' message.timeout.ms (librdkafka too).
    // One request class (acks, request.timeout.ms) per request: the first
    // batch's is every batch's.
    let settings = Arc::clone(&live[0].settings);
    let time_left = live.iter().filter_map(|b| b.time_left(now)).min();
    let timeout = time_left.map_or(settings.request_timeout, |t| t.min(settings.request_timeout)).max(MIN_REQUEST_TIMEOUT);
    // The frame holds what is not spliced: the batches' headers.
    let size_hint = live.iter().map(|b| RECORD_BATCH_OVERHEAD + b.topic.len() + 16).sum();
    let expect_response = settings.expects_response();
    Some((
        live,
        RequestSpec {
            name: "Produce",
            api_key: produce::API_KEY,
            version,
            flexible: false,
            expect_response,
            timeout,
            size_hint,
            secret: false,
        },
    ))
}

/// The Produce request body for `batches` (sorted by topic, packed
/// already): each batch's header goes into the frame, and its payload goes
/// on the wire from the batch's own buffer.
fn encode_produce<'a>(batches: &'a [Batch], e: &mut Encoder, splices: &mut Vec<Splice<'a>>) {
    let settings = &batches[0].settings; // one request class per request
    let broker_timeout_ms = settings.request_timeout.as_millis().min(i32::MAX as u128) as i32;
    let topics: Vec<&[Batch]> = batches.chunk_by(|a, b| a.topic == b.topic).collect();
    produce::encode_request_start(e, settings.acks, broker_timeout_ms, topics.len());
    for topic in topics {
        produce::encode_topic(e, &topic[0].topic, topic.len());
        for b in topic {
            let header = |out: &mut Vec<u8>| b.records.seal_header_into(out, b.identity);
            produce::encode_partition(e, b.partition, header, b.records.payload(), splices);
        }
    }
}
