//! The producer's background side, on its own runtime thread: it takes due
//! batches out of the accumulator, keeps metadata fresh, holds the
//! idempotent producer's id, has batches packed (compressed and summed,
//! see `packer`), seals them into Produce requests to partition leaders,
//! and completes, retries or fails every batch from the answer. `send_now` is the exception: the application's
//! thread writes a request itself when linger.ms=0 leaves nothing to batch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accumulator::{Plan, TopicLayout};
use super::batch::Batch;
use super::Shared;
use crate::kafka::client::cluster::Cluster;
use crate::kafka::client::connection::{BrokerError, Connection, Reply, RequestFailure, RequestSpec};
use crate::kafka::config::Config;
use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::init_producer_id;
use crate::kafka::protocol::primitives::Encoder;
use crate::kafka::protocol::produce::{self, PartitionResult};
use crate::kafka::protocol::record_batch::RECORD_BATCH_OVERHEAD;
use crate::kafka::protocol::Splice;

/// Longest sleep with nothing due, so periodic work still happens.
const IDLE_WAKE: Duration = Duration::from_secs(1);
/// Shortest time a Produce request is given, even for records about to expire.
const MIN_REQUEST_TIMEOUT: Duration = Duration::from_millis(10);

/// A background job of which at most one runs at a time, not more often
/// than its backoff allows.
struct Job {
    busy: Arc<AtomicBool>,
    next_allowed: Instant,
}

impl Job {
    fn new() -> Self {
        Job { busy: Arc::new(AtomicBool::new(false)), next_allowed: Instant::now() }
    }

    /// Claims the job if it may run now; otherwise says when it may.
    fn try_start(&mut self, now: Instant, backoff: Duration) -> Result<Arc<AtomicBool>, Option<Instant>> {
        if self.busy.load(Ordering::Acquire) {
            return Err(None); // the running job wakes the sender when it ends
        }
        if now < self.next_allowed {
            return Err(Some(self.next_allowed));
        }
        self.busy.store(true, Ordering::Release);
        self.next_allowed = now + backoff;
        Ok(Arc::clone(&self.busy))
    }
}

pub(super) async fn run(shared: Arc<Shared>) {
    let config = Arc::clone(&shared.config);
    let cluster = Arc::clone(&shared.cluster);
    let mut metadata = Job::new();
    let mut producer_id = Job::new();
    let mut last_metadata: Option<Instant> = None;
    // Learn the cluster at once, so an unreachable one is reported early.
    shared.metadata_wanted.store(true, Ordering::Release);

    while !shared.stopping.load(Ordering::Acquire) {
        await_answers(&shared).await;
        let now = Instant::now();
        let flushing = shared.flushing.load(Ordering::Acquire) > 0;
        let (plan, needs_producer_id) = {
            let mut queues = shared.queues();
            let plan = queues.plan(now, flushing);
            // A new producer id is fetched only once no request is in flight,
            // so no answer under the old epoch can arrive after it.
            let needs = config.idempotence && queues.producer().is_none() && queues.refusal().is_none() && queues.requests_in_flight() == 0;
            (plan, needs)
        };
        for receipts in plan.expired {
            receipts.fail(ErrorCode::MSG_TIMED_OUT);
        }
        let mut next_due = plan.next_due;
        let mut due_at = |t: Option<Instant>| {
            if let Some(t) = t {
                next_due = Some(next_due.map_or(t, |d| d.min(t)));
            }
        };

        let periodic = match (config.metadata_refresh_interval, last_metadata) {
            (Some(interval), Some(last)) => now >= last + interval,
            _ => false,
        };
        if plan.needs_metadata || periodic || shared.metadata_wanted.swap(false, Ordering::AcqRel) {
            match metadata.try_start(now, config.retry_backoff) {
                Ok(busy) => {
                    last_metadata = Some(now);
                    tokio::spawn(refresh_metadata(Arc::clone(&shared), Arc::clone(&cluster), busy));
                }
                Err(retry_at) => {
                    shared.metadata_wanted.store(true, Ordering::Release);
                    due_at(retry_at);
                }
            }
        }
        if needs_producer_id {
            match producer_id.try_start(now, config.retry_backoff) {
                Ok(busy) => {
                    tokio::spawn(fetch_producer_id(Arc::clone(&shared), Arc::clone(&cluster), busy));
                }
                Err(retry_at) => due_at(retry_at),
            }
        }
        // Batches the application's thread planned but could not send itself.
        let handed_over = std::mem::take(&mut *shared.handed_over());
        for (leader, batches) in plan.to_send.into_iter().chain(handed_over) {
            tokio::spawn(send_to_leader(Arc::clone(&shared), Arc::clone(&cluster), leader, batches));
        }

        let sleep_until = next_due.unwrap_or(now + IDLE_WAKE).min(now + IDLE_WAKE);
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep_until(sleep_until.into()) => {}
        }
    }
}

/// How long a topic nobody sends to is remembered: librdkafka's
/// metadata.max.age.ms default, three refresh intervals.
const TOPIC_MAX_IDLE: Duration = Duration::from_secs(900);

async fn refresh_metadata(shared: Arc<Shared>, cluster: Arc<Cluster>, busy: Arc<AtomicBool>) {
    let topics = {
        let mut queues = shared.queues();
        queues.forget_idle_topics(Instant::now(), TOPIC_MAX_IDLE);
        queues.topic_names()
    };
    match cluster.fetch_metadata(&topics).await {
        Ok(response) => {
            shared.clear_status();
            let now = Instant::now();
            let mut failures = Vec::new();
            {
                let mut queues = shared.queues();
                for topic in &response.topics {
                    let code = ErrorCode::from_kafka(topic.error_code);
                    if code.is_ok() {
                        let mut leaders: Vec<(i32, i32)> = topic.partitions.iter().map(|p| (p.partition, p.leader_id)).collect();
                        leaders.sort_unstable();
                        queues.set_layout(&TopicLayout { topic: &topic.name, leaders: &leaders }, now);
                    } else if let Some(failed) = queues.topic_error(&topic.name, code, now) {
                        failures.push(failed);
                    }
                }
            }
            for (receipts, code) in failures {
                for r in receipts {
                    r.fail(code);
                }
            }
        }
        Err(error) => shared.set_status(error.code, error.detail),
    }
    busy.store(false, Ordering::Release);
    shared.wake.notify_one();
}

/// InitProducerId for the idempotent producer: a new id and epoch, after
/// which every partition's sequence starts again at 0.
async fn fetch_producer_id(shared: Arc<Shared>, cluster: Arc<Cluster>, busy: Arc<AtomicBool>) {
    let request_timeout = shared.config.request_timeout;
    let result = cluster
        .with_any_broker(|connection| async move {
            let broker_error =
                |code: ErrorCode| BrokerError { code, detail: format!("{}: InitProducerId: {}", connection.address(), code.message()) };
            let version = connection
                .version_for(init_producer_id::API_KEY, init_producer_id::VERSIONS)
                .ok_or(broker_error(ErrorCode::UNSUPPORTED_VERSION))?;
            let body = connection
                .request(
                    RequestSpec {
                        api_key: init_producer_id::API_KEY,
                        version,
                        flexible: version >= init_producer_id::FLEXIBLE_SINCE,
                        expect_response: true,
                        timeout: request_timeout,
                        size_hint: 0,
                    },
                    |e, _| init_producer_id::encode_request(e, version),
                )
                .await
                .map_err(|failure| broker_error(failure.code))?;
            let response = init_producer_id::decode_response(&body, version).map_err(|_| broker_error(ErrorCode::BAD_MSG))?;
            match ErrorCode::from_kafka(response.error_code) {
                code if code.is_ok() => Ok((response.producer_id, response.producer_epoch)),
                code => Err(broker_error(code)),
            }
        })
        .await;
    match result {
        Ok(id) => {
            shared.queues().set_producer(Some(id));
            shared.clear_status();
        }
        // A broker's permanent refusal (authorization, a broker too old for
        // idempotence) ends the producer; anything else is tried again.
        Err(error) if error.code.is_broker() && !error.code.is_retriable() => shared.fail_fatal(error.code, &error.detail),
        Err(error) => shared.set_status(error.code, error.detail),
    }
    busy.store(false, Ordering::Release);
    shared.wake.notify_one();
}

/// Sends `batches` to their leader in one Produce request, one slot of
/// max.in.flight: packed, then sealed into the request.
async fn send_to_leader(shared: Arc<Shared>, cluster: Arc<Cluster>, leader: i32, batches: Vec<Batch>) {
    let mut slot = RequestSlot { shared: &shared, leader: Some(leader) };
    deliver_to_leader(&shared, &cluster, &mut slot, batches).await;
    drop(slot);
    shared.wake.notify_one();
}

/// A leader's max.in.flight slot that `plan` counted, given back exactly
/// once: as soon as the request's answer is in, before its receipts
/// complete, so that an application sending its next record on seeing a
/// receipt finds the slot free (and can send that record itself, see
/// `send_now`); otherwise when dropped.
struct RequestSlot<'a> {
    shared: &'a Shared,
    leader: Option<i32>,
}

impl RequestSlot<'_> {
    fn release(&mut self) {
        if let Some(leader) = self.leader.take() {
            self.shared.queues().request_done(leader);
        }
    }
}

impl Drop for RequestSlot<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

async fn deliver_to_leader(shared: &Shared, cluster: &Cluster, slot: &mut RequestSlot<'_>, batches: Vec<Batch>) {
    let leader = slot.leader.expect("a slot not yet released");
    let config = &shared.config;
    // Connecting (TCP, then ApiVersions) may take up to its own timeouts;
    // the batches' message.timeout.ms bounds it too, so that a broker that
    // accepts connections but never answers cannot keep them past it.
    let time_left = batches.iter().filter_map(|b| b.time_left(Instant::now(), config.message_timeout)).min();
    let connecting = cluster.broker(leader);
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
            let not_before = Instant::now() + config.reconnect_backoff;
            let mut queues = shared.queues();
            for batch in batches {
                queues.retry(batch, not_before);
            }
            drop(queues);
            shared.metadata_wanted.store(true, Ordering::Release);
            return;
        }
    };
    let Some(version) = produce_version(config, &connection) else {
        let code = match config.codec.min_produce_version() > *produce::VERSIONS.start() {
            true => ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
            false => ErrorCode::UNSUPPORTED_VERSION,
        };
        for batch in batches {
            finish(shared, batch, Outcome::Failed(RequestFailure { code, written: false }));
        }
        return;
    };

    // `plan` kept the request within message.max.bytes.
    let batches = shared.packer.pack(batches).await;
    let Some((batches, spec)) = prepare_produce(shared, version, batches) else { return };
    let result = connection.request(spec, |e, splices| encode_produce(config, &batches, e, splices)).await;
    slot.release();
    complete_produce(shared, &connection, version, batches, result);
}

/// The Produce version to speak to this broker: the newest both sides
/// know, and new enough for the codec; None when there is none.
fn produce_version(config: &Config, connection: &Connection) -> Option<i16> {
    connection.version_for(produce::API_KEY, config.codec.min_produce_version()..=*produce::VERSIONS.end())
}

/// A Produce request's batches (the expired ones failed and left out),
/// sorted by topic, and how to send them; None when none is left.
fn prepare_produce(shared: &Shared, version: i16, mut batches: Vec<Batch>) -> Option<(Vec<Batch>, RequestSpec)> {
    let config = &shared.config;
    let now = Instant::now();
    // Expired before it could go: fail rather than send what nobody awaits.
    let (expired, mut live): (Vec<Batch>, Vec<Batch>) = batches.drain(..).partition(|b| b.expired(now, config.message_timeout));
    for batch in expired {
        finish(shared, batch, Outcome::Failed(RequestFailure { code: ErrorCode::MSG_TIMED_OUT, written: false }));
    }
    if live.is_empty() {
        return None;
    }
    live.sort_by(|a, b| a.topic.cmp(&b.topic));
    // A request may not outlive its records' message.timeout.ms (librdkafka too).
    let time_left = live.iter().filter_map(|b| b.time_left(now, config.message_timeout)).min();
    let timeout = time_left.map_or(config.request_timeout, |t| t.min(config.request_timeout)).max(MIN_REQUEST_TIMEOUT);
    // The frame holds what is not spliced: the batches' headers.
    let size_hint = live.iter().map(|b| RECORD_BATCH_OVERHEAD + b.topic.len() + 16).sum();
    let expect_response = config.acks != 0;
    Some((live, RequestSpec { api_key: produce::API_KEY, version, flexible: false, expect_response, timeout, size_hint }))
}

/// The Produce request body for `batches` (sorted by topic, packed
/// already): each batch's header goes into the frame, and its payload goes
/// on the wire from the batch's own buffer.
fn encode_produce<'a>(config: &Config, batches: &'a [Batch], e: &mut Encoder, splices: &mut Vec<Splice<'a>>) {
    let broker_timeout_ms = config.request_timeout.as_millis().min(i32::MAX as u128) as i32;
    let topics: Vec<&[Batch]> = batches.chunk_by(|a, b| a.topic == b.topic).collect();
    produce::encode_request_start(e, config.acks, broker_timeout_ms, topics.len());
    for topic in topics {
        produce::encode_topic(e, &topic[0].topic, topic.len());
        for b in topic {
            let header = |out: &mut Vec<u8>| b.records.seal_header_into(out, b.identity);
            produce::encode_partition(e, b.partition, header, b.records.payload(), splices);
        }
    }
}

/// What became of one batch of a Produce request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Stored at `base_offset` (-1 with acks=0).
    Stored {
        base_offset: i64,
        log_append_time: Option<i64>,
    },
    /// DUPLICATE_SEQUENCE_NUMBER (46): the broker says it holds these
    /// sequences already; `finish` decides whether that can be true.
    Duplicate,
    Failed(RequestFailure),
}

/// A lost answer: the request was written, its answer cannot be used.
const ANSWER_LOST: RequestFailure = RequestFailure { code: ErrorCode::TRANSPORT, written: true };

/// Completes, retries or fails each batch of a Produce request from its
/// answer. An answer that does not decode, or that leaves a partition out,
/// is treated as lost, as a dropped connection's is: the connection is
/// closed (its stream can no longer be trusted) and the batches retried.
fn complete_produce(shared: &Shared, connection: &Connection, version: i16, batches: Vec<Batch>, result: Result<Vec<u8>, RequestFailure>) {
    let expect_response = shared.config.acks != 0;
    let results: Result<HashMap<(String, i32), PartitionResult>, RequestFailure> = match result {
        Err(failure) => Err(failure),
        Ok(_) if !expect_response => Ok(HashMap::new()),
        Ok(body) => produce::decode_response(&body, version)
            .map(|topics| {
                topics.into_iter().flat_map(|t| t.partitions.into_iter().map(move |p| ((t.topic.clone(), p.partition), p))).collect()
            })
            .map_err(|_| ANSWER_LOST),
    };
    let mut delivered_any = false;
    let mut answer_lost = results.as_ref().is_err_and(|failure| *failure == ANSWER_LOST);
    for batch in batches {
        let outcome = match &results {
            Err(failure) => Outcome::Failed(*failure),
            Ok(_) if !expect_response => Outcome::Stored { base_offset: -1, log_append_time: None },
            Ok(results) => match results.get(&(batch.topic.to_string(), batch.partition)) {
                Some(r) => partition_outcome(r),
                None => {
                    answer_lost = true;
                    Outcome::Failed(ANSWER_LOST)
                }
            },
        };
        delivered_any |= matches!(outcome, Outcome::Stored { .. });
        finish(shared, batch, outcome);
    }
    if answer_lost {
        connection.close();
    }
    if delivered_any {
        shared.clear_status();
    }
}

/// One partition's answer in a Produce response.
fn partition_outcome(result: &PartitionResult) -> Outcome {
    match ErrorCode::from_kafka(result.error_code) {
        code if code.is_ok() => Outcome::Stored {
            base_offset: result.base_offset,
            log_append_time: (result.log_append_time_ms >= 0).then_some(result.log_append_time_ms),
        },
        ErrorCode::DUPLICATE_SEQUENCE_NUMBER => Outcome::Duplicate,
        code => Outcome::Failed(RequestFailure { code, written: true }),
    }
}

/// Largest request the application's thread writes itself (`send_now`).
const SEND_NOW_MAX_BYTES: usize = 64 << 10;

/// Sends a plan made on the application's thread (linger.ms=0 and no
/// request in flight) from that thread: each leader's batches are written
/// at once if its connection is open and free, and their answer is left to
/// the runtime. That takes the wake-up of the network thread off the path
/// of a record that nothing could be batched with. What cannot go at once
/// (no connection yet, a busy socket, a large request) is handed
/// to the network thread. Returns true when nothing was handed over, so
/// that thread needs no wake-up.
pub(super) fn send_now(shared: &Shared, plan: Plan) -> bool {
    for receipts in plan.expired {
        receipts.fail(ErrorCode::MSG_TIMED_OUT);
    }
    if plan.needs_metadata {
        shared.metadata_wanted.store(true, Ordering::Release);
    }
    // `plan.next_due` needs no wake-up: with linger.ms=0 nothing lingers,
    // and retry backoffs and expiries were known to the sender's own plan
    // (which also looks again at least every IDLE_WAKE). A plan with nothing
    // to send (no producer id yet, a backoff) is left to the sender.
    let mut handed_over = plan.needs_metadata || plan.to_send.is_empty();
    for (leader, batches) in plan.to_send {
        if let Err(batches) = try_produce_now(shared, leader, batches) {
            shared.handed_over().push((leader, batches));
            handed_over = true;
        }
    }
    !handed_over
}

/// Writes one Produce request for `batches` now, or gives them back.
fn try_produce_now(shared: &Shared, leader: i32, mut batches: Vec<Batch>) -> Result<(), Vec<Batch>> {
    let config = &shared.config;
    let bytes: usize = batches.iter().map(|b| b.records.encoded_len()).sum();
    if bytes > SEND_NOW_MAX_BYTES.min(config.message_max_bytes) {
        return Err(batches);
    }
    let Some(connection) = shared.cluster.connected_broker(leader) else { return Err(batches) };
    let Some(version) = produce_version(config, &connection) else { return Err(batches) };
    for batch in &mut batches {
        shared.packer.pack_here(batch);
    }
    // Expired batches fail here, as in `deliver_to_leader`; if none is left, so is the slot.
    let Some((batches, spec)) = prepare_produce(shared, version, batches) else {
        shared.queues().request_done(leader);
        return Ok(());
    };
    let Some(reply) = connection.try_request_now(spec, |e, splices| encode_produce(config, &batches, e, splices)) else {
        return Err(batches);
    };
    // The sender awaits the answer: every response wakes it. An answer that
    // came before this entry was queued woke it for nothing, so it is woken
    // again here (rare: a response is seldom that quick).
    let answered = {
        let mut awaited = shared.awaited();
        awaited.push(AwaitedAnswer { leader, connection, version, batches, reply });
        awaited.last().is_some_and(|a| a.reply.is_answered())
    };
    if answered {
        shared.wake.notify_one();
    }
    Ok(())
}

/// A Produce request the application's thread wrote (`send_now`), whose
/// answer the sender awaits.
pub(super) struct AwaitedAnswer {
    leader: i32,
    connection: Arc<Connection>,
    version: i16,
    batches: Vec<Batch>,
    reply: Reply,
}

/// Awaits the answers to requests the application's thread wrote, each in
/// a task of its own, and lets those that are in complete their receipts
/// before the sender goes on. No wake-up is spent on the way out: a
/// request's answer wakes the sender, which comes here first.
async fn await_answers(shared: &Arc<Shared>) {
    let awaited = std::mem::take(&mut *shared.awaited());
    if awaited.is_empty() {
        return;
    }
    for AwaitedAnswer { leader, connection, version, batches, reply } in awaited {
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            let mut slot = RequestSlot { shared: &shared, leader: Some(leader) };
            let result = reply.wait().await;
            // The slot goes back before the receipts complete, as in `deliver_to_leader`.
            slot.release();
            complete_produce(&shared, &connection, version, batches, result);
            shared.wake.notify_one();
        });
    }
    tokio::task::yield_now().await;
}

/// Completes a sent batch, or puts it back for a retry when the error is
/// transient and neither `retries` nor message.timeout.ms has run out.
fn finish(shared: &Shared, mut batch: Batch, outcome: Outcome) {
    let config = &shared.config;
    let failure = match outcome {
        Outcome::Stored { base_offset, log_append_time } => return deliver(shared, batch, base_offset, log_append_time),
        // The broker holds these sequences: true only if an earlier attempt
        // of this batch was written under this very stamp (its answer was
        // lost). The broker does not say where it stored them: offset -1.
        Outcome::Duplicate if config.idempotence && batch.written_before_under_current_stamp() => {
            return deliver(shared, batch, -1, None);
        }
        // Otherwise the broker's sequence state and ours disagree (a broker
        // that lost its state, say): treated as OUT_OF_ORDER below, never
        // as delivered.
        Outcome::Duplicate => RequestFailure { code: ErrorCode::DUPLICATE_SEQUENCE_NUMBER, written: true },
        Outcome::Failed(failure) => failure,
    };
    if failure.written {
        batch.mark_written();
    }
    let code = failure.code;
    if code.needs_metadata_refresh() {
        shared.metadata_wanted.store(true, Ordering::Release);
    }
    let mut queues = shared.queues();
    if queues.refusal() == Some(ErrorCode::FATAL) {
        queues.finished(&batch.topic, batch.partition);
        drop(queues);
        batch.receipts.fail(ErrorCode::FATAL);
        return;
    }
    let mut retriable = code.is_retriable();
    if config.idempotence {
        match code {
            // The broker lost or never had this producer's sequence state for
            // the partition. One request per partition is in flight, so no
            // earlier record of it is unacknowledged: take a new producer id
            // (KIP-360), under which every unacknowledged batch is numbered
            // anew from sequence 0.
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::UNKNOWN_PRODUCER_ID | ErrorCode::DUPLICATE_SEQUENCE_NUMBER => {
                queues.forget_producer_of(&batch);
                retriable = true;
            }
            // Another producer took over this id: nothing more may be sent.
            ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED => {
                queues.finished(&batch.topic, batch.partition);
                drop(queues);
                batch.receipts.fail(ErrorCode::FATAL);
                shared.fail_fatal(code, code.message());
                return;
            }
            _ => {}
        }
    }
    let now = Instant::now();
    let expired = batch.expired(now, config.message_timeout);
    if retriable && batch.retries < config.retries && !expired {
        batch.retries += 1;
        let backoff = config.retry_backoff.saturating_mul(1 << (batch.retries - 1).min(16)).min(config.retry_backoff_max);
        queues.retry(batch, now + backoff);
        return;
    }
    queues.finished(&batch.topic, batch.partition);
    drop(queues);
    let final_code = if expired && retriable { ErrorCode::MSG_TIMED_OUT } else { code };
    batch.receipts.fail(final_code);
}

/// The broker stored `batch`: its receipts complete, its buffers go back.
fn deliver(shared: &Shared, batch: Batch, base_offset: i64, log_append_time: Option<i64>) {
    shared.queues().finished(&batch.topic, batch.partition);
    batch.receipts.deliver(base_offset, log_append_time);
    for buffer in batch.records.into_buffers() {
        shared.buffers.give(buffer);
    }
}
