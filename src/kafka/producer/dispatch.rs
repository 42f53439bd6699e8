//! Due batches into Produce requests. `dispatch` takes one leader's batches
//! from the drain (taken out of the accumulator, which marked their
//! partitions in flight and counted the leader's max.in.flight slot): when
//! the leader's connection is open and every batch small enough to pack in
//! place, it submits them at once on the draining thread; otherwise a task on
//! the producer's runtime (`send_to_leader`) connects, packs big batches on
//! the blocking pool, then submits. Either way `submit_produce` is the one
//! function that builds a Produce request and gives it to a connection's
//! wire.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::answer::{complete_produce, finish};
use super::batch::Batch;
use super::decision::Outcome;
use super::shared::Shared;
use crate::kafka::client::connection::{Connection, Unanswered};
use crate::kafka::client::error::{BrokerError, RequestFailure};
use crate::kafka::error::ErrorCode;
use crate::kafka::log::Context;
use crate::kafka::protocol::produce::ProduceRequest;
use crate::kafka::protocol::Request;

/// Shortest time a Produce request is given, even for records about to expire.
const MIN_REQUEST_TIMEOUT: Duration = Duration::from_millis(10);

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

/// Sends `batches`, due for `leader` and counted in one of its slots: at
/// once when its connection is open and they pack in place, else from a task.
pub(super) fn dispatch(shared: &Arc<Shared>, leader: i32, mut batches: Vec<Batch>) {
    let slot = RequestSlot::new(shared, leader);
    let packs_here = batches.iter().all(|b| shared.packer.packs_here(b));
    match shared.cluster.connected_broker(leader).filter(|_| packs_here) {
        Some(connection) => {
            let Some(version) = produce_version_or_fail(shared, &connection, &mut batches) else { return };
            for batch in &mut batches {
                shared.packer.pack_here(batch);
            }
            submit_produce(shared, &connection, slot, version, batches);
        }
        None => {
            shared.runtime.spawn(send_to_leader(Arc::clone(shared), slot, batches));
        }
    }
}

/// `dispatch`'s task: connects if need be (within the batches'
/// message.timeout.ms), packs, and submits.
async fn send_to_leader(shared: Arc<Shared>, slot: RequestSlot, mut batches: Vec<Batch>) {
    let Some(leader) = slot.leader else { return };
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
    let Some(version) = produce_version_or_fail(&shared, &connection, &mut batches) else { return };
    let batches = shared.packer.pack(batches).await;
    submit_produce(&shared, &connection, slot, version, batches);
}

/// The Produce version to speak to this broker: the newest both sides
/// know, and new enough for the batches' codecs. When there is none, the
/// batches fail (taken out of `batches`) and None comes back.
fn produce_version_or_fail(shared: &Shared, connection: &Connection, batches: &mut Vec<Batch>) -> Option<i16> {
    let oldest = min_produce_version(batches);
    let version = connection.version_for(ProduceRequest::<Batch>::API_KEY, oldest..=*PRODUCE_VERSIONS.end());
    if version.is_none() {
        let code = match oldest > *PRODUCE_VERSIONS.start() {
            true => ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
            false => ErrorCode::UNSUPPORTED_VERSION,
        };
        for batch in batches.drain(..) {
            finish(shared, batch, Outcome::Failed(RequestFailure { code, written: false }), None);
        }
    }
    version
}

/// Builds one Produce request from `batches` (packed already) and submits
/// it on `connection`; its answer completes, retries or fails each batch
/// (`answer::complete_produce`). Expired batches fail here instead.
fn submit_produce(shared: &Arc<Shared>, connection: &Connection, mut slot: RequestSlot, version: i16, batches: Vec<Batch>) {
    let Some((request, timeout)) = prepare_produce(shared, batches) else { return };
    for b in request.batches.iter().filter(|_| shared.logger.debugging(Context::Msg)) {
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
    if request.batches.iter().any(|b| b.retries > 0) {
        connection.counters().retried();
    }
    let answered = Arc::clone(shared);
    let submitted = connection.submit(request, version, timeout, move |request, answer| {
        slot.release();
        let after = complete_produce(&answered, request.batches, answer);
        answered.wake.notify_one();
        after
    });
    if let Err((failure, request)) = submitted {
        complete_produce(shared, request.batches, Err(Unanswered::Failed(failure)));
        shared.wake.notify_one();
    }
}

/// The Produce versions this client speaks.
const PRODUCE_VERSIONS: std::ops::RangeInclusive<i16> = ProduceRequest::<Batch>::VERSIONS;

/// The oldest Produce version that carries every batch's codec.
fn min_produce_version(batches: &[Batch]) -> i16 {
    batches.iter().map(|b| b.settings.codec.min_produce_version()).max().unwrap_or(*PRODUCE_VERSIONS.start())
}

/// A Produce request of the batches not expired (those fail here),
/// sorted by topic, and its timeout; None when none is left.
fn prepare_produce(shared: &Shared, mut batches: Vec<Batch>) -> Option<(ProduceRequest<Batch>, Duration)> {
    let now = Instant::now();
    // Expired before it could go: fail rather than send what nobody awaits.
    let (expired, mut live): (Vec<Batch>, Vec<Batch>) = batches.drain(..).partition(|b| b.expired(now));
    for batch in expired {
        finish(shared, batch, Outcome::Failed(RequestFailure { code: ErrorCode::MSG_TIMED_OUT, written: false }), None);
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
    let broker_timeout_ms = settings.request_timeout.as_millis().min(i32::MAX as u128) as i32;
    Some((
        ProduceRequest {
            transactional_id: shared.config.transactional_id.clone(),
            acks: settings.acks,
            timeout_ms: broker_timeout_ms,
            batches: live,
        },
        timeout,
    ))
}
