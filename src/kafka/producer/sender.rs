//! The producer's background side, on its own runtime thread: it takes due
//! batches out of the accumulator, keeps metadata fresh, seals (compresses)
//! batches, sends Produce requests to partition leaders, and completes,
//! retries or fails every batch from the answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::batch::Batch;
use super::Shared;
use crate::kafka::client::cluster::Cluster;
use crate::kafka::client::connection::Connection;
use crate::kafka::error::ErrorCode;
use crate::kafka::producer::accumulator::TopicLayout;
use crate::kafka::protocol::produce::{self, PartitionBatch, TopicBatches};
use crate::kafka::protocol::record_batch::ProducerIdentity;

/// Longest sleep with nothing due, so periodic work still happens.
const IDLE_WAKE: Duration = Duration::from_secs(1);

pub(super) async fn run(shared: Arc<Shared>) {
    let cluster = Arc::new(Cluster::new(Arc::clone(&shared.config)));
    let metadata_busy = Arc::new(AtomicBool::new(false));
    let mut next_metadata_allowed = Instant::now();
    let mut last_metadata: Option<Instant> = None;

    while !shared.stopping.load(Ordering::Acquire) {
        let now = Instant::now();
        let flushing = shared.flushing.load(Ordering::Acquire) > 0;
        let plan = shared.queues().plan(now, flushing);
        for receipts in plan.expired {
            receipts.fail(ErrorCode::MSG_TIMED_OUT);
        }
        let mut next_due = plan.next_due;

        let periodic = match (shared.config.metadata_refresh_interval, last_metadata) {
            (Some(interval), Some(last)) => now >= last + interval,
            _ => false,
        };
        if plan.needs_metadata || periodic || shared.metadata_wanted.swap(false, Ordering::AcqRel) {
            if !metadata_busy.load(Ordering::Acquire) && now >= next_metadata_allowed {
                metadata_busy.store(true, Ordering::Release);
                next_metadata_allowed = now + shared.config.retry_backoff;
                last_metadata = Some(now);
                tokio::spawn(refresh_metadata(Arc::clone(&shared), Arc::clone(&cluster), Arc::clone(&metadata_busy)));
            } else {
                // Remember the wish; the busy refresh wakes us when it ends.
                shared.metadata_wanted.store(true, Ordering::Release);
                next_due = Some(next_due.map_or(next_metadata_allowed, |d| d.min(next_metadata_allowed)));
            }
        }
        for (leader, batches) in plan.to_send {
            tokio::spawn(send_to_leader(Arc::clone(&shared), Arc::clone(&cluster), leader, batches));
        }

        let sleep_until = next_due.unwrap_or(now + IDLE_WAKE).min(now + IDLE_WAKE);
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep_until(sleep_until.into()) => {}
        }
    }
}

async fn refresh_metadata(shared: Arc<Shared>, cluster: Arc<Cluster>, busy: Arc<AtomicBool>) {
    let topics = shared.queues().topic_names();
    if !topics.is_empty() {
        if let Ok(response) = cluster.fetch_metadata(&topics).await {
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
    }
    busy.store(false, Ordering::Release);
    shared.wake.notify_one();
}

/// Seals `batches` and sends them to their leader, in as many requests as
/// message.max.bytes requires.
async fn send_to_leader(shared: Arc<Shared>, cluster: Arc<Cluster>, leader: i32, batches: Vec<Batch>) {
    let config = Arc::clone(&shared.config);
    let mut sealed = Vec::with_capacity(batches.len());
    for mut batch in batches {
        if batch.wire.is_none() {
            match batch.records.seal(config.codec, config.compression_level, ProducerIdentity::NONE) {
                Ok(wire) => batch.wire = Some(wire),
                Err(_) => {
                    finish(&shared, batch, Err(ErrorCode::BAD_COMPRESSION));
                    continue;
                }
            }
        }
        sealed.push(batch);
    }
    if sealed.is_empty() {
        return;
    }

    let connection = match cluster.broker(leader).await {
        Ok(c) => c,
        Err(_) => {
            // Never sent: back in the queue without using up a retry.
            let not_before = Instant::now() + config.reconnect_backoff;
            let mut queues = shared.queues();
            for batch in sealed {
                queues.retry(batch, not_before);
            }
            drop(queues);
            shared.metadata_wanted.store(true, Ordering::Release);
            shared.wake.notify_one();
            return;
        }
    };
    let Some(version) = connection.version_for(produce::API_KEY, config.codec.min_produce_version()..=*produce::VERSIONS.end()) else {
        let code = match config.codec.min_produce_version() > *produce::VERSIONS.start() {
            true => ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
            false => ErrorCode::UNSUPPORTED_VERSION,
        };
        for batch in sealed {
            finish(&shared, batch, Err(code));
        }
        shared.wake.notify_one();
        return;
    };

    let mut requests: Vec<Vec<Batch>> = Vec::new();
    let mut request_bytes = 0usize;
    for batch in sealed {
        let size = batch.wire.as_ref().map_or(0, Vec::len);
        match requests.last_mut() {
            Some(current) if request_bytes + size <= config.message_max_bytes => current.push(batch),
            _ => {
                requests.push(vec![batch]);
                request_bytes = 0;
            }
        }
        request_bytes += size;
    }
    let last = requests.pop().expect("sealed is not empty");
    for request in requests {
        tokio::spawn(produce(Arc::clone(&shared), Arc::clone(&connection), version, request));
    }
    produce(shared, connection, version, last).await;
}

/// One Produce request and what its answer means for each batch in it.
async fn produce(shared: Arc<Shared>, connection: Arc<Connection>, version: i16, mut batches: Vec<Batch>) {
    let config = &shared.config;
    batches.sort_by(|a, b| a.topic.cmp(&b.topic));
    let expect_response = config.acks != 0;
    let timeout_ms = config.request_timeout.as_millis().min(i32::MAX as u128) as i32;
    let result = connection
        .request(produce::API_KEY, version, expect_response, |e| {
            let mut topics: Vec<TopicBatches> = Vec::new();
            for b in &batches {
                let batch = PartitionBatch { partition: b.partition, records: b.wire.as_deref().unwrap_or_default() };
                match topics.last_mut() {
                    Some(t) if t.topic == &*b.topic => t.partitions.push(batch),
                    _ => topics.push(TopicBatches { topic: &b.topic, partitions: vec![batch] }),
                }
            }
            produce::encode_request(e, config.acks, timeout_ms, &topics);
        })
        .await;

    let outcome: Result<HashMap<(String, i32), produce::PartitionResult>, ErrorCode> = match result {
        Err(code) => Err(code),
        Ok(_) if !expect_response => Ok(HashMap::new()),
        Ok(body) => produce::decode_response(&body, version).map_err(|_| ErrorCode::BAD_MSG).map(|topics| {
            topics.into_iter().flat_map(|t| t.partitions.into_iter().map(move |p| ((t.topic.clone(), p.partition), p))).collect()
        }),
    };
    for batch in batches {
        let result = match &outcome {
            Err(code) => Err(*code),
            Ok(_) if !expect_response => Ok((-1, None)),
            Ok(results) => match results.get(&(batch.topic.to_string(), batch.partition)) {
                Some(r) if r.error_code == 0 => Ok((r.base_offset, (r.log_append_time_ms >= 0).then_some(r.log_append_time_ms))),
                Some(r) => Err(ErrorCode::from_kafka(r.error_code)),
                None => Err(ErrorCode::BAD_MSG),
            },
        };
        finish(&shared, batch, result);
    }
    shared.wake.notify_one();
}

/// Completes a sent batch, or puts it back for a retry when the error is
/// transient and neither `retries` nor message.timeout.ms has run out.
fn finish(shared: &Shared, mut batch: Batch, result: Result<(i64, Option<i64>), ErrorCode>) {
    let config = &shared.config;
    let code = match result {
        Ok((base_offset, log_append_time)) => {
            shared.queues().finished(&batch.topic, batch.partition);
            batch.receipts.deliver(base_offset, log_append_time);
            return;
        }
        Err(code) => code,
    };
    if code.needs_metadata_refresh() {
        shared.metadata_wanted.store(true, Ordering::Release);
    }
    let now = Instant::now();
    let expired = batch.expired(now, config.message_timeout);
    if code.is_retriable() && batch.retries < config.retries && !expired {
        batch.retries += 1;
        let backoff = config.retry_backoff.saturating_mul(1 << (batch.retries - 1).min(16)).min(config.retry_backoff_max);
        shared.queues().retry(batch, now + backoff);
        return;
    }
    shared.queues().finished(&batch.topic, batch.partition);
    let final_code = if expired && code.is_retriable() { ErrorCode::MSG_TIMED_OUT } else { code };
    batch.receipts.fail(final_code);
}
