//! Per-topic, per-partition queues of batches. The application's threads
//! append under one short lock; the sender, and only it, takes out what is
//! ready to go (full, lingered long enough, flushed or retried), and
//! retried batches return to the front of their partition's queue.
//!
//! At most one Produce request per partition is in flight, so retries can
//! never reorder a partition's records.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

mod census;
mod partition_queue;
mod take_due;
#[cfg(test)]
mod tests;
mod topic_queue;

use partition_queue::PartitionQueue;
use topic_queue::{AppendShared, NewRecord, TopicIndex, TopicQueue, WaitingRecord};

use super::batch::{payload_len, Batch, Receipts};
use super::gauge::QueueGauge;
use super::idempotence::ProducerIdentityState;
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::config::Config;
use crate::kafka::error::ErrorCode;
use crate::kafka::partitioner::StickyRandom;
use crate::kafka::receipt::{Handle, Lane};

use crate::kafka::protocol::record_headers::NO_HEADERS;
use crate::kafka::topic_name::{self, InvalidTopic, TopicLabel};

/// One record as the application sends it.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Its header block (`RecordHeaders::encoded`), or `NO_HEADERS`.
    pub headers: &'a [u8],
    /// The partition the application chose, if any: it wins over the key.
    pub partition: Option<i32>,
    /// CreateTime, in milliseconds since the epoch.
    pub timestamp: i64,
}

/// A record `append` queued.
#[derive(Debug)]
pub struct Appended {
    /// The sender must look at the queues now: a batch filled up, a new
    /// batch started its linger clock, or metadata is needed.
    pub wake: bool,
    /// Its receipt, if it asked for one.
    pub receipt: Option<Handle>,
}

/// Why `append` refused a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Topic(InvalidTopic),
    /// The record asked for a partition the topic does not have.
    UnknownPartition,
    /// No receipt could be made: 2^28 receipts are held (the application
    /// frees none) or the library is being unloaded.
    NoReceipt,
}

/// A topic's partitions and their leaders, as metadata reported them.
pub struct TopicLayout<'a> {
    pub topic: &'a str,
    /// (partition id, leader id) for partitions 0..n.
    pub leaders: &'a [(i32, i32)],
}

pub struct Accumulator {
    config: Arc<Config>,
    gauge: Arc<QueueGauge>,
    buffers: Arc<BufferPool>,
    topics: Vec<TopicQueue>,
    topic_index: TopicIndex,
    /// The topic of the last append: most applications send to one topic
    /// at a time, and a string compare is cheaper than a hash lookup.
    last_topic: usize,
    random: StickyRandom,
    /// Produce requests in flight per broker, bounded by max.in.flight.
    broker_requests: HashMap<i32, usize>,
    /// The idempotent producer's id and epoch; nothing is sent without them.
    identity: ProducerIdentityState,
    /// Why new records are refused: `_DESTROY` once closed, `_FATAL` after
    /// a fatal error.
    refusal: Option<ErrorCode>,
}

impl Accumulator {
    pub fn new(config: Arc<Config>, gauge: Arc<QueueGauge>, buffers: Arc<BufferPool>, seed: u64) -> Self {
        let transactional = config.transactional_id.is_some();
        Accumulator {
            config,
            gauge,
            buffers,
            topics: Vec::new(),
            topic_index: TopicIndex::default(),
            last_topic: 0,
            random: StickyRandom::seeded(seed),
            broker_requests: HashMap::new(),
            identity: ProducerIdentityState::new(transactional),
            refusal: None,
        }
    }

    /// Why a new record would be refused, if it would.
    pub fn refusal(&self) -> Option<ErrorCode> {
        self.refusal
    }

    /// Refuses later appends with `code`; what is queued still goes out.
    pub fn refuse_new(&mut self, code: ErrorCode) {
        self.refusal.get_or_insert(code);
    }

    /// Refuses later appends with `code` and hands back every record not yet
    /// in flight, for the caller to fail.
    pub fn close(&mut self, code: ErrorCode) -> Vec<Receipts> {
        self.refuse_new(code);
        self.purge()
    }

    /// Hands back every record not yet in flight, for the caller to fail
    /// (an aborted transaction's); later appends are taken as before.
    pub fn purge(&mut self) -> Vec<Receipts> {
        let mut out = Vec::new();
        for topic in &mut self.topics {
            out.extend(topic.waiting.drain(..).map(|w| w.receipts));
            for p in &mut topic.partitions {
                let open = p.take_open();
                out.extend(p.ready.drain(..).chain(open).map(|b| b.receipts));
            }
        }
        out
    }

    /// Adds one record, with a receipt if `with_receipt` (made here, where
    /// the topic's shared label is at hand). The caller has reserved its
    /// room in the gauge. `now` is read only when the record starts a batch or must wait for
    /// metadata: most records join an open batch and need no clock at all.
    /// A topic new to the producer is checked against Kafka's naming rules
    /// first (known topics were checked when they were added); an illegal
    /// one is refused and never added.
    pub fn append(&mut self, topic: &str, record: Outgoing, now: impl Fn() -> Instant, with_receipt: bool) -> Result<Appended, Refusal> {
        let Outgoing { key, value, headers, partition, timestamp } = record;
        let is_last = self.topics.get(self.last_topic).is_some_and(|q| &*q.name == topic);
        if !is_last {
            self.last_topic = match self.topic_index.get(topic) {
                Some(&i) => i,
                None => {
                    topic_name::validate(topic).map_err(Refusal::Topic)?;
                    let name: Arc<str> = Arc::from(topic);
                    self.topics.push(TopicQueue {
                        name: Arc::clone(&name),
                        receipts: Lane::new(TopicLabel::new(topic)),
                        settings: self.config.topic(topic),
                        partitions: Vec::new(),
                        waiting: VecDeque::new(),
                        sticky: None,
                        sticky_until: None,
                        unknown_since: None,
                        used: true,
                        last_used: None,
                        created: Instant::now(),
                        metadata_at: None,
                        waited: 0,
                    });
                    self.topic_index.insert(name, self.topics.len() - 1);
                    self.topics.len() - 1
                }
            };
        }
        let queue = &mut self.topics[self.last_topic];
        queue.used = true;
        let (receipt, callers) = match with_receipt {
            true => queue.receipts.issue(timestamp).map(|(pending, handle)| (Some(pending), Some(handle))).ok_or(Refusal::NoReceipt)?,
            false => (None, None),
        };
        if queue.partitions.is_empty() {
            let mut waiting = Receipts::new(Arc::clone(&self.gauge));
            waiting.push(receipt, payload_len(key, value, headers));
            // Counted one by one only here, before metadata gives the partition count.
            queue.waited += 1;
            queue.waiting.push_back(WaitingRecord {
                timestamp,
                key: key.map(<[u8]>::to_vec),
                value: value.map(<[u8]>::to_vec),
                headers: if headers == NO_HEADERS { Vec::new() } else { headers.to_vec() },
                partition,
                sent_at: now(),
                receipts: waiting,
            });
            return Ok(Appended { wake: queue.waiting.len() == 1, receipt: callers });
        }
        let mut shared = AppendShared { config: &self.config, gauge: &self.gauge, buffers: &self.buffers, random: &mut self.random };
        let record = NewRecord { key, value, headers, partition, timestamp, sent_at: None, receipt };
        match queue.append(&mut shared, record, &now) {
            Ok(wake) => Ok(Appended { wake, receipt: callers }),
            Err(pending) => {
                // Neither part reaches anyone: let go of both.
                drop(pending);
                callers.map(Handle::free);
                Err(Refusal::UnknownPartition)
            }
        }
    }

    /// Applies metadata for one topic and places its waiting records.
    /// Returns those that asked for a partition the topic does not have, to
    /// fail with `_UNKNOWN_PARTITION` outside the lock.
    #[must_use]
    pub fn set_layout(&mut self, layout: &TopicLayout, now: Instant) -> Vec<Receipts> {
        let Some(&i) = self.topic_index.get(layout.topic) else { return Vec::new() };
        let queue = &mut self.topics[i];
        queue.unknown_since = None;
        queue.metadata_at = Some(now);
        if queue.partitions.len() < layout.leaders.len() {
            queue.partitions.resize_with(layout.leaders.len(), || PartitionQueue { leader: -1, leader_epoch: -1, ..Default::default() });
        }
        for &(partition, leader) in layout.leaders {
            if let Some(p) = usize::try_from(partition).ok().and_then(|i| queue.partitions.get_mut(i)) {
                p.leader = leader;
            }
        }
        let mut unknown_partition = Vec::new();
        if queue.partitions.is_empty() {
            return unknown_partition;
        }
        while let Some(w) = queue.waiting.pop_front() {
            let WaitingRecord { timestamp, key, value, headers, partition, sent_at, receipts } = w;
            let receipt = receipts.into_receipt();
            let mut shared = AppendShared { config: &self.config, gauge: &self.gauge, buffers: &self.buffers, random: &mut self.random };
            let headers = if headers.is_empty() { NO_HEADERS } else { &headers };
            let record =
                NewRecord { key: key.as_deref(), value: value.as_deref(), headers, partition, timestamp, sent_at: Some(sent_at), receipt };
            if let Err(receipt) = queue.append(&mut shared, record, &|| now) {
                let mut failed = Receipts::new(Arc::clone(&self.gauge));
                failed.push(receipt, payload_len(key.as_deref(), value.as_deref(), headers));
                unknown_partition.push(failed);
            }
        }
        unknown_partition
    }

    /// Metadata says `topic` does not exist (or cannot be used). Returns the
    /// waiting records to fail: at once for a permanent error, and for an
    /// unknown topic once topic.metadata.propagation.max.ms has passed.
    pub fn topic_error(&mut self, topic: &str, code: ErrorCode, now: Instant) -> Option<(Vec<Receipts>, ErrorCode)> {
        let metadata_propagation_max = self.config.metadata_propagation_max;
        let queue = self.topic_mut(topic)?;
        let fail_as = if code == ErrorCode::UNKNOWN_TOPIC_OR_PART || code == ErrorCode::LEADER_NOT_AVAILABLE {
            let since = *queue.unknown_since.get_or_insert(now);
            if now.duration_since(since) < metadata_propagation_max || !queue.partitions.is_empty() {
                return None;
            }
            ErrorCode::UNKNOWN_TOPIC
        } else if code.is_retriable() {
            return None;
        } else {
            code
        };
        let failed: Vec<Receipts> = queue.waiting.drain(..).map(|w| w.receipts).collect();
        Some((failed, fail_as))
    }

    /// Forgets the topics nobody has sent to for `max_age` and that hold
    /// nothing (librdkafka's metadata.max.age.ms idea), so that one-off
    /// topic names do not keep memory and ride in every Metadata request.
    /// A forgotten topic that is sent to again is simply learnt again.
    pub fn forget_idle_topics(&mut self, now: Instant, max_age: std::time::Duration) {
        let before = self.topics.len();
        self.topics.retain_mut(|t| {
            if std::mem::take(&mut t.used) || t.last_used.is_none() {
                t.last_used = Some(now);
            }
            let idle_since = t.last_used.unwrap_or(now);
            !(t.is_empty() && now.duration_since(idle_since) >= max_age)
        });
        if self.topics.len() != before {
            self.topic_index = self.topics.iter().enumerate().map(|(i, t)| (Arc::clone(&t.name), i)).collect();
            self.last_topic = 0;
        }
    }

    /// Names of every topic the producer has seen, for metadata requests.
    pub fn topic_names(&self) -> Vec<Arc<str>> {
        self.topics.iter().map(|t| Arc::clone(&t.name)).collect()
    }

    /// The coordinator added these partitions to the transaction: their
    /// batches may go.
    pub fn added_to_transaction(&mut self, partitions: &[(Arc<str>, i32)]) {
        for (topic, partition) in partitions {
            if let Some(p) = self.partition_mut(topic, *partition) {
                p.in_transaction = true;
            }
        }
    }

    /// The transaction ended: the next one adds its partitions anew.
    pub fn transaction_ended(&mut self) {
        for p in self.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
            p.in_transaction = false;
        }
    }

    /// A Produce request to `leader` that `take_due` counted is over.
    pub fn release_request_slot(&mut self, leader: i32) {
        if let Some(n) = self.broker_requests.get_mut(&leader) {
            *n = n.saturating_sub(1);
        }
    }

    /// Produce requests in flight to all brokers.
    pub fn requests_in_flight(&self) -> usize {
        self.broker_requests.values().sum()
    }

    pub fn producer(&self) -> Option<(i64, i16)> {
        self.identity.current()
    }

    /// A new producer id and epoch (or None while one is being fetched):
    /// sequences restart at 0, and every batch not yet acknowledged is
    /// stamped anew when sent, in its partition's order, even when the id
    /// and epoch equal the old ones (a broker that lost its state gives the
    /// same again, and old sequences would then overlap new ones).
    pub fn set_producer(&mut self, producer: Option<(i64, i16)>) {
        if self.identity.set(producer) {
            for p in self.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                p.next_sequence = 0;
                p.next_ack_seq = 0;
            }
        }
    }

    /// The broker lost the sequence state of the producer id `batch` was
    /// stamped under: drop that id (unless a newer one was already taken),
    /// so that a new one is fetched once nothing is in flight.
    pub fn forget_producer_of(&mut self, batch: &Batch) {
        self.identity.forget_id_of(batch);
    }

    /// A sent batch came back for a retry: it goes first in its queue again,
    /// not before `not_before`.
    pub fn retry(&mut self, batch: Batch, not_before: Instant) {
        match self.partition_mut(&batch.topic, batch.partition) {
            Some(p) => {
                p.in_flight = 0;
                p.not_before = Some(not_before);
                p.ready.push_front(batch);
            }
            None => batch.receipts.fail(ErrorCode::UNKNOWN_PARTITION),
        }
    }

    /// Batches taken out that could not be sent (no connection): back to
    /// the front of their partitions' queues, not before `not_before`,
    /// without counting a retry.
    pub fn put_back(&mut self, batches: Vec<Batch>, not_before: Instant) {
        for batch in batches {
            self.retry(batch, not_before);
        }
    }

    /// Metadata's leader epochs for `topic`'s partitions, (partition, epoch).
    pub fn set_leader_epochs(&mut self, topic: &str, epochs: impl Iterator<Item = (i32, i32)>) {
        for (partition, epoch) in epochs {
            if let Some(p) = self.partition_mut(topic, partition) {
                p.leader_epoch = epoch;
            }
        }
    }

    /// The partition's batch was delivered: for the idempotent producer,
    /// acknowledged up to its last sequence and msgid.
    pub fn partition_delivered(&mut self, batch: &Batch) {
        if let Some(p) = self.partition_mut(&batch.topic, batch.partition) {
            p.in_flight = 0;
            let identity = batch.identity;
            if identity.producer_id >= 0 {
                let next = i64::from(identity.base_sequence) + batch.records.count() as i64;
                p.next_ack_seq = (next % (i64::from(i32::MAX) + 1)) as i32;
                // A late answer to an older batch does not move it back (librdkafka's rule).
                p.acked_msgid = p.acked_msgid.max(batch.last_msgid);
            }
        }
    }

    /// The partition's batch is over (delivered or failed for good).
    pub fn partition_done(&mut self, topic: &str, partition: i32) {
        if let Some(p) = self.partition_mut(topic, partition) {
            p.in_flight = 0;
        }
    }

    fn topic_mut(&mut self, topic: &str) -> Option<&mut TopicQueue> {
        let i = *self.topic_index.get(topic)?;
        self.topics.get_mut(i)
    }

    fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut PartitionQueue> {
        let queue = self.topic_mut(topic)?;
        usize::try_from(partition).ok().and_then(|i| queue.partitions.get_mut(i))
    }
}
