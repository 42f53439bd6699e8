//! Due batches into Produce requests: `send_to_leader`, a task the sender
//! starts on the producer's runtime for each leader's due batches (taken
//! out of the accumulator, which marked their partitions in flight, counted
//! the leader's max.in.flight slot and held back leaders over
//! queue.buffering.backpressure.threshold), connects if need be, packs big
//! batches on the blocking pool, and hands them to `submit_produce`, the one
//! function that builds a Produce request and gives it to a connection's wire.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// A request the accumulator made for a leader, counted twice there until
/// given back, each exactly once: as dispatching (toward the backpressure
/// threshold) until it is on the connection, and in the leader's
/// max.in.flight slots until its answer is in, before its receipts
/// complete (so that a record sent on seeing a receipt finds the slot
/// free); both when dropped.
pub(super) struct RequestSlot {
    shared: Arc<Shared>,
    leader: i32,
    dispatching: bool,
    in_flight: bool,
}

impl RequestSlot {
    fn new(shared: &Arc<Shared>, leader: i32) -> Self {
        RequestSlot { shared: Arc::clone(shared), leader, dispatching: true, in_flight: true }
    }

    /// The request is on its connection (or never will be).
    fn dispatched(&mut self) {
        if std::mem::take(&mut self.dispatching) {
            self.shared.queues().request_dispatched(self.leader);
        }
    }

    fn release(&mut self) {
        self.dispatched();
        if std::mem::take(&mut self.in_flight) {
            self.shared.queues().release_request_slot(self.leader);
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
    // On the connection from here: the wire counts it as unwritten. (No
    // await between the two, so the sender never sees it in neither count.)
    slot.dispatched();
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
