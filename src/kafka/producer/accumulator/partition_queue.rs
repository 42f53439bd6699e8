//! One partition's batches: the open one that takes records, the sealed
//! ones ready to go (retried ones back at the front), and whether one is in
//! flight.

use std::collections::VecDeque;
use std::time::Instant;

use crate::kafka::config::Config;
use crate::kafka::producer::batch::Batch;
use crate::kafka::protocol::record_batch::{MAX_RECORD_OVERHEAD, RECORD_BATCH_OVERHEAD};

#[derive(Debug, Default)]
pub(super) struct PartitionQueue {
    /// Broker id of the leader, -1 when unknown.
    pub(super) leader: i32,
    /// Metadata's leader epoch, -1 when unknown (statistics only).
    pub(super) leader_epoch: i32,
    pub(super) open: Option<Batch>,
    pub(super) ready: VecDeque<Batch>,
    /// Records of the batch in flight, 0 when none is (librdkafka's
    /// `msgs_inflight`; one batch at a time keeps the partition's order).
    pub(super) in_flight: usize,
    pub(super) not_before: Option<Instant>,
    /// The idempotent producer's next sequence number for this partition.
    pub(super) next_sequence: i32,
    /// Added to the open transaction (a transactional producer's).
    pub(super) in_transaction: bool,
    /// Bytes of the last batch that filled up, to size the next one's buffer.
    pub(super) last_batch_len: usize,
    /// Records in the batches sealed so far (librdkafka's `msgs` is these
    /// and the open batch's; counted per batch).
    pub(super) sealed_records: u64,
    /// The sequence after the last batch acknowledged under the current
    /// producer id, and the highest msgid acknowledged (librdkafka's
    /// `next_ack_seq`, `acked_msgid`; idempotence only).
    pub(super) next_ack_seq: i32,
    pub(super) acked_msgid: u64,
}

impl PartitionQueue {
    /// Moves the open batch to the ready queue if this record could take it
    /// past batch.size (judged by the record's largest possible encoding, a
    /// few bytes early at most, to keep the send path cheap); true when it did.
    pub(super) fn seal_if_full(&mut self, config: &Config, payload: usize) -> bool {
        let full = self.open.as_ref().is_some_and(|b| b.records.encoded_len() + payload + MAX_RECORD_OVERHEAD > config.batch_size);
        if full {
            self.seal_open();
        }
        full
    }

    /// Closes the open batch to more records: it waits in the ready queue,
    /// and its size sizes the next batch's buffer.
    pub(super) fn seal_open(&mut self) {
        if let Some(mut batch) = self.open.take() {
            self.last_batch_len = batch.records.encoded_len();
            self.sealed_records += batch.records.count() as u64;
            batch.last_msgid = self.sealed_records;
            self.ready.push_back(batch);
        }
    }

    /// Takes the open batch out unsealed (to fail it): its records stay
    /// counted among those the partition took.
    pub(super) fn take_open(&mut self) -> Option<Batch> {
        let batch = self.open.take()?;
        self.sealed_records += batch.records.count() as u64;
        Some(batch)
    }

    /// A new batch's buffer: as large as this partition's last full batch
    /// (so it rarely grows), 64 KiB to start, never over batch.size.
    pub(super) fn capacity_hint(&self, config: &Config) -> usize {
        let wanted = if self.last_batch_len == 0 { 64 * 1024 } else { self.last_batch_len };
        wanted.min(config.batch_size).max(RECORD_BATCH_OVERHEAD)
    }
}
