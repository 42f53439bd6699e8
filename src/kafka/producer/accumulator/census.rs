//! What a statistics snapshot reads from the queues, under their lock:
//! each topic's partitions, their leaders and what they hold not yet sent
//! (librdkafka's `msgq_cnt`, `msgq_bytes`).

use std::time::Instant;

use std::sync::Arc;

use super::Accumulator;
use crate::kafka::producer::idempotence::IdentityCensus;

/// One topic, as a snapshot shows it.
pub struct TopicCensus {
    pub topic: Arc<str>,
    /// Since it was first sent to.
    pub age_ms: u64,
    /// Since metadata last gave its partitions; 0 before it did.
    pub metadata_age_ms: u64,
    /// Metadata gave its partitions (librdkafka's `metadata_cache_cnt` counts these).
    pub metadata_known: bool,
    /// Partitions 0..n, then -1 (librdkafka's unassigned partition): the
    /// records waiting for the partition count.
    pub partitions: Vec<PartitionCensus>,
}

pub struct PartitionCensus {
    pub partition: i32,
    /// Broker id of the leader, -1 when unknown.
    pub leader: i32,
    pub leader_epoch: i32,
    /// Records queued and not yet sent (open and sealed batches, retries
    /// waiting), and their key + value + header bytes.
    pub msgq_cnt: usize,
    pub msgq_bytes: usize,
    /// Records sent and not yet answered.
    pub msgs_inflight: usize,
    /// Records the partition took (in batches, or waiting for the
    /// partition count for -1): librdkafka's `msgs`.
    pub msgs: u64,
    /// Idempotence's `next_ack_seq` and `acked_msgid` (0 otherwise).
    pub next_ack_seq: i32,
    pub acked_msgid: u64,
}

impl Accumulator {
    /// The idempotent producer's id, as statistics' `eos` shows it.
    pub fn identity_census(&self) -> IdentityCensus {
        self.identity.census()
    }

    pub fn census(&self, now: Instant) -> Vec<TopicCensus> {
        let ms = |since: Instant| now.saturating_duration_since(since).as_millis() as u64;
        self.topics
            .iter()
            .map(|t| {
                let mut partitions: Vec<PartitionCensus> = t
                    .partitions
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let batches = p.open.iter().chain(&p.ready);
                        let (msgq_cnt, msgq_bytes) =
                            batches.fold((0, 0), |(n, b), batch| (n + batch.records.count(), b + batch.receipts.payload_bytes()));
                        PartitionCensus {
                            partition: i as i32,
                            leader: p.leader,
                            leader_epoch: p.leader_epoch,
                            msgq_cnt,
                            msgq_bytes,
                            msgs_inflight: p.in_flight,
                            msgs: p.sealed_records + p.open.as_ref().map_or(0, |b| b.records.count() as u64),
                            next_ack_seq: p.next_ack_seq,
                            acked_msgid: p.acked_msgid,
                        }
                    })
                    .collect();
                let waiting_bytes = t.waiting.iter().map(|w| w.receipts.payload_bytes()).sum();
                partitions.push(PartitionCensus {
                    partition: -1,
                    leader: -1,
                    leader_epoch: -1,
                    msgq_cnt: t.waiting.len(),
                    msgq_bytes: waiting_bytes,
                    msgs_inflight: 0,
                    msgs: t.waited,
                    next_ack_seq: 0,
                    acked_msgid: 0,
                });
                TopicCensus {
                    topic: Arc::clone(&t.name),
                    age_ms: ms(t.created),
                    metadata_age_ms: t.metadata_at.map_or(0, ms),
                    metadata_known: t.metadata_at.is_some(),
                    partitions,
                }
            })
            .collect()
    }
}
