//! The sender's background jobs, at most one of each at a time: a metadata
//! refresh (leaders, partition counts, topics that do not exist) and, for
//! the idempotent producer, InitProducerId.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accumulator::TopicLayout;
use super::shared::Shared;
use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::init_producer_id::InitProducerIdRequest;

/// A background job of which at most one runs at a time, not more often
/// than its backoff allows.
pub(super) struct Job {
    busy: Arc<AtomicBool>,
    next_allowed: Instant,
}

impl Job {
    pub(super) fn new() -> Self {
        Job { busy: Arc::new(AtomicBool::new(false)), next_allowed: Instant::now() }
    }

    /// Claims the job if it may run now; otherwise says when it may.
    pub(super) fn try_start(&mut self, now: Instant, backoff: Duration) -> Result<JobDone, Option<Instant>> {
        if self.busy.load(Ordering::Acquire) {
            return Err(None); // the running job wakes the sender when it ends
        }
        if now < self.next_allowed {
            return Err(Some(self.next_allowed));
        }
        self.busy.store(true, Ordering::Release);
        self.next_allowed = now + backoff;
        Ok(JobDone(Arc::clone(&self.busy)))
    }
}

/// The wait between Metadata requests while a topic or a leader is
/// missing, as librdkafka paces them: topic.metadata.refresh.fast.interval.ms
/// at first, doubling up to retry.backoff.max.ms, until a refresh finds
/// nothing missing.
pub(super) struct FastRefresh {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl FastRefresh {
    pub(super) fn new(first: Duration, max: Duration) -> Self {
        FastRefresh { first, max: max.max(first), next: first }
    }

    /// The wait after a refresh that starts now.
    pub(super) fn wait(&self) -> Duration {
        self.next
    }

    /// A refresh started: the next one waits twice as long.
    pub(super) fn started(&mut self) {
        self.next = (self.next * 2).min(self.max);
    }

    /// Nothing is missing: the next miss is chased quickly again.
    pub(super) fn reset(&mut self) {
        self.next = self.first;
    }
}

/// Frees the job and wakes the sender when the job's task ends.
pub(super) struct JobDone(Arc<AtomicBool>);

impl JobDone {
    pub(super) fn finish(self, shared: &Shared) {
        self.0.store(false, Ordering::Release);
        shared.wake.notify_one();
    }
}

/// Asks for every known topic's metadata and applies it: leaders and
/// partition counts, records waiting for a topic placed, records for a
/// topic that does not exist failed.
pub(super) async fn refresh_metadata(shared: Arc<Shared>, done: JobDone) {
    let topics = {
        let mut queues = shared.queues();
        queues.forget_idle_topics(Instant::now(), shared.config.metadata_max_age);
        queues.topic_names()
    };
    match shared.cluster.fetch_metadata(&topics).await {
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
                        let unknown_partition = queues.set_layout(&TopicLayout { topic: &topic.name, leaders: &leaders }, now);
                        queues.set_leader_epochs(&topic.name, topic.partitions.iter().map(|p| (p.partition, p.leader_epoch)));
                        if !unknown_partition.is_empty() {
                            failures.push((unknown_partition, ErrorCode::UNKNOWN_PARTITION));
                        }
                    } else if let Some(failed) = queues.topic_error(&topic.name, code, now) {
                        failures.push(failed);
                    }
                }
            }
            for (receipts, code) in failures {
                shared.transaction_records_failed(code, receipts.iter().map(|r| r.records()).sum());
                for r in receipts {
                    r.fail(code);
                }
            }
        }
        Err(error) => shared.set_status(error.code, error.detail),
    }
    done.finish(&shared);
}

/// InitProducerId for the idempotent producer: a new id and epoch, under
/// which every unacknowledged batch is numbered anew.
pub(super) async fn fetch_producer_id(shared: Arc<Shared>, done: JobDone) {
    let timeout = shared.config.socket_timeout;
    let result = shared
        .cluster
        .with_any_broker(|connection| async move {
            let response = connection.call(&InitProducerIdRequest::idempotent(), timeout).await?;
            match ErrorCode::from_kafka(response.error_code) {
                code if code.is_ok() => Ok((response.producer_id, response.producer_epoch)),
                code => Err(crate::kafka::client::error::BrokerError {
                    code,
                    detail: format!("{}: InitProducerId: {}", connection.address(), code.message()),
                }),
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
    done.finish(&shared);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_refreshes_double_up_to_the_retry_backoff_max_and_start_over_once_nothing_is_missing() {
        let ms = Duration::from_millis;
        let mut fast = FastRefresh::new(ms(250), ms(1000));
        let mut waits = Vec::new();
        for _ in 0..5 {
            waits.push(fast.wait());
            fast.started();
        }
        assert_eq!(waits, [ms(250), ms(500), ms(1000), ms(1000), ms(1000)]);
        fast.reset();
        assert_eq!(fast.wait(), ms(250));
        let mut above_max = FastRefresh::new(ms(2000), ms(1000));
        above_max.started();
        assert_eq!(above_max.wait(), ms(2000), "never below its first wait");
    }
}
