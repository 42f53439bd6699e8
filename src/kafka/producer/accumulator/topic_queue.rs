//! One topic's partitions, the records waiting for its partition count,
//! and the choice of partition for each record (the partitioner, or the
//! sticky partition for records it leaves to it).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Instant;

use super::partition_queue::PartitionQueue;
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::config::Config;
use crate::kafka::partitioner::StickyRandom;
use crate::kafka::producer::batch::{payload_len, Batch, Receipts};
use crate::kafka::producer::gauge::QueueGauge;
use crate::kafka::receipt::{Lane, Pending};
use crate::kafka::topic_config::TopicConfig;

/// What every topic's append uses: the options, the queue gauge the new
/// batches hold room in, their buffers, and the sticky partitions' dice.
pub(super) struct AppendShared<'a> {
    pub config: &'a Config,
    pub gauge: &'a Arc<QueueGauge>,
    pub buffers: &'a BufferPool,
    pub random: &'a mut StickyRandom,
}

/// One record to append, and its receipt.
pub(super) struct NewRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Its header block (`NO_HEADERS` for none).
    pub headers: &'a [u8],
    /// The partition the application chose, if it did: it wins over the
    /// partitioner.
    pub partition: Option<i32>,
    pub timestamp: i64,
    /// When it was sent, for a record that waited for metadata (else now).
    pub sent_at: Option<Instant>,
    /// None for a record sent without a receipt.
    pub receipt: Option<Pending>,
}

/// Fx-style hashing of topic names, looked up once per record: they are the
/// application's own strings, so SipHash's flooding resistance buys nothing
/// and it showed in profiles of the send path.
#[derive(Default)]
pub(super) struct TopicHasher(u64);

impl Hasher for TopicHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Topic name to its place in `Accumulator::topics`.
pub(super) type TopicIndex = HashMap<Arc<str>, usize, BuildHasherDefault<TopicHasher>>;

/// A record sent before its topic's partition count was known.
#[derive(Debug)]
pub(super) struct WaitingRecord {
    pub(super) timestamp: i64,
    pub(super) key: Option<Vec<u8>>,
    pub(super) value: Option<Vec<u8>>,
    /// Its header block, empty for none.
    pub(super) headers: Vec<u8>,
    pub(super) partition: Option<i32>,
    pub(super) sent_at: Instant,
    /// Its one receipt, holding its room in the queue gauge.
    pub(super) receipts: Receipts,
}

#[derive(Debug)]
pub(super) struct TopicQueue {
    pub(super) name: Arc<str>,
    /// Where its receipts come from (they carry its name).
    pub(super) receipts: Lane,
    /// Its options (its own, or the producer's).
    pub(super) settings: Arc<TopicConfig>,
    /// Empty until metadata gives the partition count.
    pub(super) partitions: Vec<PartitionQueue>,
    pub(super) waiting: VecDeque<WaitingRecord>,
    pub(super) sticky: Option<u32>,
    /// Until when `sticky` is kept once its batch has gone.
    pub(super) sticky_until: Option<Instant>,
    /// Since when metadata has said the topic does not exist.
    pub(super) unknown_since: Option<Instant>,
    /// A record was appended since the last `forget_idle_topics`.
    pub(super) used: bool,
    /// When `forget_idle_topics` last found it used (or it was added).
    pub(super) last_used: Option<Instant>,
    /// When it was added, and when metadata last gave its partitions (statistics).
    pub(super) created: Instant,
    pub(super) metadata_at: Option<Instant>,
    /// Records that waited for the partition count (librdkafka's `msgs` of
    /// partition -1).
    pub(super) waited: u64,
}

impl TopicQueue {
    /// Nothing of it is waiting, queued or in flight.
    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.partitions.iter().all(|p| p.open.is_none() && p.ready.is_empty() && p.in_flight == 0)
    }
}

impl TopicQueue {
    /// Adds `record` to its partition's open batch (opening one if need
    /// be); true when the sender must look now (a batch was sealed or
    /// opened). `now` is read only when a batch is opened. A partition the
    /// topic does not have fails the record's receipt with
    /// `_UNKNOWN_PARTITION` (returned, for the caller to fail outside the
    /// accumulator's lock).
    pub(super) fn append(
        &mut self,
        shared: &mut AppendShared,
        record: NewRecord,
        now: &dyn Fn() -> Instant,
    ) -> Result<bool, Option<Pending>> {
        let AppendShared { config, gauge, buffers, random } = shared;
        let NewRecord { key, value, headers, partition, timestamp, sent_at, receipt } = record;
        let count = self.partitions.len() as u32;
        let payload = payload_len(key, value, headers);
        let mut wake = false;
        let chosen = match partition {
            Some(p) if (0..count as i64).contains(&i64::from(p)) => Some(p as u32),
            Some(_) => return Err(receipt),
            None => self.settings.partitioner.partition(key, count),
        };
        let (index, sticky) = match chosen {
            Some(p) => (p as usize, false),
            // sticky.partitioning.linger.ms=0: every record on its own.
            None if config.sticky_linger.is_zero() => (random.below(count) as usize, false),
            None => {
                // librdkafka's sticky partitioning: one partition for
                // sticky.partitioning.linger.ms, across batches; and, as
                // Java's, a new one when this record would overflow its batch.
                if let Some(p) = self.sticky {
                    if self.partitions[p as usize].seal_if_full(config, payload) {
                        wake = true;
                        self.sticky = None;
                    }
                }
                let open = self.sticky.filter(|&p| self.partitions[p as usize].open.is_some());
                // The clock is read only when the partition's batch has gone.
                let p = open.unwrap_or_else(|| {
                    let now = now();
                    match self.sticky.filter(|_| self.sticky_until.is_some_and(|until| now < until)) {
                        Some(p) => p,
                        None => {
                            self.sticky_until = Some(now + config.sticky_linger);
                            random.below(count)
                        }
                    }
                });
                self.sticky = Some(p);
                (p as usize, true)
            }
        };
        let partition = &mut self.partitions[index];
        wake |= partition.seal_if_full(config, payload);
        let capacity = partition.capacity_hint(config);
        let batch = partition.open.get_or_insert_with(|| {
            wake = true;
            let opened_at = now();
            Batch::open(
                Arc::clone(&self.name),
                Arc::clone(&self.settings),
                index as i32,
                Arc::clone(gauge),
                opened_at,
                sent_at.unwrap_or(opened_at),
                buffers.take(capacity),
            )
        });
        batch.append(timestamp, key, value, headers, receipt);
        if batch.records.count() >= config.batch_num_messages || batch.records.encoded_len() >= config.batch_size {
            partition.seal_open();
            if sticky {
                self.sticky = None;
            }
            wake = true;
        }
        Ok(wake)
    }
}
