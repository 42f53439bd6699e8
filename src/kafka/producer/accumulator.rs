//! Per-topic, per-partition queues of batches. The application's thread
//! appends under one short lock; the sender thread takes out what is ready
//! to go (full, lingered long enough, flushed or retried) and returns
//! retried batches to the front of their partition's queue.
//!
//! At most one Produce request per partition is in flight, so retries can
//! never reorder a partition's records.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Instant;

use super::batch::{Batch, QueueGauge, Receipts};
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::config::Config;
use crate::kafka::delivery::Delivery;
use crate::kafka::error::ErrorCode;
use crate::kafka::partitioner::StickyRandom;
use crate::kafka::protocol::record_batch::{ProducerIdentity, MAX_RECORD_OVERHEAD, RECORD_BATCH_OVERHEAD};
use crate::kafka::topic_name::{self, InvalidTopic};

/// Fx-style hashing of topic names, looked up once per record: they are the
/// application's own strings, so SipHash's flooding resistance buys nothing
/// and it showed in profiles of the send path.
#[derive(Default)]
struct TopicHasher(u64);

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
type TopicIndex = HashMap<Arc<str>, usize, BuildHasherDefault<TopicHasher>>;

/// A record sent before its topic's partition count was known.
#[derive(Debug)]
struct WaitingRecord {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    sent_at: Instant,
    receipt: Receipts,
}

#[derive(Debug, Default)]
struct PartitionQueue {
    /// Broker id of the leader, -1 when unknown.
    leader: i32,
    open: Option<Batch>,
    ready: VecDeque<Batch>,
    in_flight: bool,
    not_before: Option<Instant>,
    /// The idempotent producer's next sequence number for this partition.
    next_sequence: i32,
    /// Bytes of the last batch that filled up, to size the next one's buffer.
    last_batch_len: usize,
}

#[derive(Debug)]
struct TopicQueue {
    name: Arc<str>,
    /// Empty until metadata gives the partition count.
    partitions: Vec<PartitionQueue>,
    waiting: VecDeque<WaitingRecord>,
    sticky: Option<u32>,
    /// Since when metadata has said the topic does not exist.
    unknown_since: Option<Instant>,
    /// A record was appended since the last `forget_idle_topics`.
    used: bool,
    /// When `forget_idle_topics` last found it used (or it was added).
    last_used: Option<Instant>,
}

impl TopicQueue {
    /// Nothing of it is waiting, queued or in flight.
    fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.partitions.iter().all(|p| p.open.is_none() && p.ready.is_empty() && !p.in_flight)
    }
}

/// What `take_due` took out, and what the sender should do next.
#[derive(Debug, Default)]
pub struct DueBatches {
    /// Produce requests to send: each its leader's broker id and its
    /// batches (one per partition), within message.max.bytes unless a
    /// single batch is bigger, each counted in one of the leader's
    /// max.in.flight slots and its partitions marked in flight. A broker may
    /// get several at once: they are pipelined, so it stores one while the
    /// next is on its way.
    pub requests: Vec<(i32, Vec<Batch>)>,
    /// Batches whose message.timeout.ms ran out before they were sent.
    pub expired: Vec<Receipts>,
    /// Some topic or partition lacks a leader or a partition count.
    pub needs_metadata: bool,
    /// When something will next be due (a linger, a backoff, an expiry).
    pub next_due: Option<Instant>,
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
    /// The idempotent producer's id and epoch; nothing is sent without it.
    producer: Option<(i64, i16)>,
    /// How many producer ids have been taken: batches stamped under an
    /// earlier one are stamped anew, whatever the id's value.
    producer_generation: u32,
    /// Why new records are refused: `_DESTROY` once closed, `_FATAL` after
    /// a fatal error.
    refusal: Option<ErrorCode>,
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Accumulator {
    pub fn new(config: Arc<Config>, gauge: Arc<QueueGauge>, buffers: Arc<BufferPool>, seed: u64) -> Self {
        Accumulator {
            config,
            gauge,
            buffers,
            topics: Vec::new(),
            topic_index: TopicIndex::default(),
            last_topic: 0,
            random: StickyRandom::seeded(seed),
            broker_requests: HashMap::new(),
            producer: None,
            producer_generation: 0,
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
        let mut out = Vec::new();
        for topic in &mut self.topics {
            out.extend(topic.waiting.drain(..).map(|w| w.receipt));
            for p in &mut topic.partitions {
                out.extend(p.ready.drain(..).chain(p.open.take()).map(|b| b.receipts));
            }
        }
        out
    }

    /// Adds one record. The caller has reserved its room in the gauge.
    /// Returns true when the sender must look at the queues now: a batch
    /// filled up, a new batch started its linger clock, or metadata is needed.
    /// `now` is read only when the record starts a batch or must wait for
    /// metadata: most records join an open batch and need no clock at all.
    /// A topic new to the producer is checked against Kafka's naming rules
    /// first (known topics were checked when they were added); an illegal
    /// one is refused and never added.
    pub fn append(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: i64,
        now: impl Fn() -> Instant,
        delivery: Arc<Delivery>,
    ) -> Result<bool, InvalidTopic> {
        let is_last = self.topics.get(self.last_topic).is_some_and(|q| &*q.name == topic);
        if !is_last {
            self.last_topic = match self.topic_index.get(topic) {
                Some(&i) => i,
                None => {
                    topic_name::validate(topic)?;
                    let name: Arc<str> = Arc::from(topic);
                    self.topics.push(TopicQueue {
                        name: Arc::clone(&name),
                        partitions: Vec::new(),
                        waiting: VecDeque::new(),
                        sticky: None,
                        unknown_since: None,
                        used: true,
                        last_used: None,
                    });
                    self.topic_index.insert(name, self.topics.len() - 1);
                    self.topics.len() - 1
                }
            };
        }
        let queue = &mut self.topics[self.last_topic];
        queue.used = true;
        if queue.partitions.is_empty() {
            let payload = key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len);
            let mut receipt = Receipts::new(Arc::clone(&self.gauge));
            receipt.push(delivery, payload);
            queue.waiting.push_back(WaitingRecord {
                timestamp,
                key: key.map(<[u8]>::to_vec),
                value: value.map(<[u8]>::to_vec),
                sent_at: now(),
                receipt,
            });
            return Ok(queue.waiting.len() == 1);
        }
        Ok(queue.append(&self.config, &self.gauge, &self.buffers, &mut self.random, key, value, timestamp, &now, None, delivery))
    }

    /// Applies metadata for one topic and places its waiting records.
    pub fn set_layout(&mut self, layout: &TopicLayout, now: Instant) {
        let Some(&i) = self.topic_index.get(layout.topic) else { return };
        let queue = &mut self.topics[i];
        queue.unknown_since = None;
        if queue.partitions.len() < layout.leaders.len() {
            queue.partitions.resize_with(layout.leaders.len(), || PartitionQueue { leader: -1, ..Default::default() });
        }
        for &(partition, leader) in layout.leaders {
            if let Some(p) = usize::try_from(partition).ok().and_then(|i| queue.partitions.get_mut(i)) {
                p.leader = leader;
            }
        }
        if queue.partitions.is_empty() {
            return;
        }
        while let Some(w) = queue.waiting.pop_front() {
            let WaitingRecord { timestamp, key, value, sent_at, receipt } = w;
            let delivery = receipt.into_delivery();
            queue.append(
                &self.config,
                &self.gauge,
                &self.buffers,
                &mut self.random,
                key.as_deref(),
                value.as_deref(),
                timestamp,
                &|| now,
                Some(sent_at),
                delivery,
            );
        }
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
        let failed: Vec<Receipts> = queue.waiting.drain(..).map(|w| w.receipt).collect();
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

    /// Takes out what is due now, stamped (idempotence) and counted in its
    /// leader's slots; fails nothing itself but hands back what expired.
    /// `flushing` sends lingering batches at once.
    pub fn take_due(&mut self, now: Instant, flushing: bool) -> DueBatches {
        let config = Arc::clone(&self.config);
        let timeout = config.message_timeout;
        let mut plan = DueBatches::default();
        // Idempotence: no batch leaves without the producer id to stamp it with.
        let can_send = !config.idempotence || self.producer.is_some();
        // This plan's last request to each leader: its index in `requests`
        // and its bytes so far.
        let mut filling: HashMap<i32, (usize, usize)> = HashMap::new();
        let Accumulator { topics, broker_requests, producer, producer_generation, .. } = self;
        for queue in topics.iter_mut() {
            if queue.partitions.is_empty() {
                plan.needs_metadata |= !queue.waiting.is_empty();
                while queue.waiting.front().is_some_and(|w| timeout.is_some_and(|t| now >= w.sent_at + t)) {
                    plan.expired.push(queue.waiting.pop_front().expect("checked").receipt);
                }
                if let (Some(w), Some(t)) = (queue.waiting.front(), timeout) {
                    plan.next_due = earliest(plan.next_due, Some(w.sent_at + t));
                }
                continue;
            }
            for p in &mut queue.partitions {
                // Expire what has waited too long, wherever it waits.
                if p.open.as_ref().is_some_and(|b| b.expired(now, timeout)) {
                    plan.expired.push(p.open.take().expect("checked").receipts);
                }
                let before = p.ready.len();
                let mut kept = VecDeque::with_capacity(before);
                for b in p.ready.drain(..) {
                    match b.expired(now, timeout) {
                        true => plan.expired.push(b.receipts),
                        false => kept.push_back(b),
                    }
                }
                p.ready = kept;
                if let Some(t) = timeout {
                    let oldest = p.ready.front().map(|b| b.oldest_send).or(p.open.as_ref().map(|b| b.oldest_send));
                    plan.next_due = earliest(plan.next_due, oldest.map(|o| o + t));
                }

                // A batch whose linger is over (or that a flush wants) takes no
                // more records, even while its partition cannot send: a record
                // sent later starts a new batch with its own deadline, so none
                // times out more than one linger period early.
                match p.open.as_ref().map(|b| b.opened_at + config.linger) {
                    Some(linger_end) if flushing || now >= linger_end => p.seal_open(),
                    Some(linger_end) => plan.next_due = earliest(plan.next_due, Some(linger_end)),
                    None => {}
                }
                if p.leader < 0 && (p.open.is_some() || !p.ready.is_empty()) {
                    plan.needs_metadata = true;
                    continue;
                }
                if p.ready.is_empty() || p.in_flight || !can_send {
                    continue;
                }
                // Into this plan's request to the leader while it stays within
                // message.max.bytes (counted uncompressed, an upper bound);
                // otherwise a new request, within max.in.flight.
                let bytes = p.ready.front().map_or(0, |b| b.records.encoded_len());
                let room = filling.get(&p.leader).filter(|&&(_, filled)| filled + bytes <= config.message_max_bytes);
                if room.is_none() && broker_requests.get(&p.leader).copied().unwrap_or(0) >= config.max_in_flight {
                    continue;
                }
                if let Some(not_before) = p.not_before.filter(|&t| t > now) {
                    plan.next_due = earliest(plan.next_due, Some(not_before));
                    continue;
                }
                let Some(mut b) = p.ready.pop_front() else { continue };
                if let Some((producer_id, producer_epoch)) = *producer {
                    stamp(&mut b, p, producer_id, producer_epoch, *producer_generation);
                }
                p.in_flight = true;
                p.not_before = None;
                match room.copied() {
                    Some((request, filled)) => {
                        plan.requests[request].1.push(b);
                        filling.insert(p.leader, (request, filled + bytes));
                    }
                    None => {
                        *broker_requests.entry(p.leader).or_default() += 1;
                        filling.insert(p.leader, (plan.requests.len(), bytes));
                        plan.requests.push((p.leader, vec![b]));
                    }
                }
            }
        }
        plan
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
        self.producer
    }

    /// A new producer id and epoch (or None while one is being fetched):
    /// sequences restart at 0, and every batch not yet acknowledged is
    /// stamped anew when sent, in its partition's order, even when the id
    /// and epoch equal the old ones (a broker that lost its state gives the
    /// same again, and old sequences would then overlap new ones).
    pub fn set_producer(&mut self, producer: Option<(i64, i16)>) {
        self.producer = producer;
        if producer.is_some() {
            self.producer_generation += 1;
            for p in self.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                p.next_sequence = 0;
            }
        }
    }

    /// The broker lost the sequence state of the producer id `batch` was
    /// stamped under: drop that id (unless a newer one was already taken),
    /// so that a new one is fetched once nothing is in flight.
    pub fn forget_producer_of(&mut self, batch: &Batch) {
        if self.producer.is_some() && batch.stamp_generation == self.producer_generation {
            self.producer = None;
        }
    }

    /// A sent batch came back for a retry: it goes first in its queue again,
    /// not before `not_before`.
    pub fn retry(&mut self, batch: Batch, not_before: Instant) {
        match self.partition_mut(&batch.topic, batch.partition) {
            Some(p) => {
                p.in_flight = false;
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

    /// The partition's batch is over (delivered or failed for good).
    pub fn partition_done(&mut self, topic: &str, partition: i32) {
        if let Some(p) = self.partition_mut(topic, partition) {
            p.in_flight = false;
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

/// Gives `batch` the current producer id and epoch and, unless it was
/// stamped under this very id already, the partition's next sequence
/// numbers: a retry under the same id resends the same sequences (which is
/// what lets the broker drop a duplicate), a batch stamped before the latest
/// InitProducerId gets new ones.
fn stamp(batch: &mut Batch, partition: &mut PartitionQueue, producer_id: i64, producer_epoch: i16, generation: u32) {
    if batch.stamp_generation == generation {
        return;
    }
    batch.stamp_generation = generation;
    batch.identity = ProducerIdentity { producer_id, producer_epoch, base_sequence: partition.next_sequence };
    // Sequences wrap from i32::MAX to 0, as Kafka's do.
    partition.next_sequence = ((i64::from(partition.next_sequence) + batch.records.count() as i64) % (i64::from(i32::MAX) + 1)) as i32;
}

impl PartitionQueue {
    /// Moves the open batch to the ready queue if this record could take it
    /// past batch.size (judged by the record's largest possible encoding, a
    /// few bytes early at most, to keep the send path cheap); true when it did.
    fn seal_if_full(&mut self, config: &Config, payload: usize) -> bool {
        let full = self.open.as_ref().is_some_and(|b| b.records.encoded_len() + payload + MAX_RECORD_OVERHEAD > config.batch_size);
        if full {
            self.seal_open();
        }
        full
    }

    /// Moves the open batch to the ready queue.
    fn seal_open(&mut self) {
        if let Some(batch) = self.open.take() {
            self.last_batch_len = batch.records.encoded_len();
            self.ready.push_back(batch);
        }
    }

    /// A new batch's buffer: as large as this partition's last full batch
    /// (so it rarely grows), 64 KiB to start, never over batch.size.
    fn capacity_hint(&self, config: &Config) -> usize {
        let wanted = if self.last_batch_len == 0 { 64 * 1024 } else { self.last_batch_len };
        wanted.min(config.batch_size).max(RECORD_BATCH_OVERHEAD)
    }
}

impl TopicQueue {
    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        config: &Config,
        gauge: &Arc<QueueGauge>,
        buffers: &BufferPool,
        random: &mut StickyRandom,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: i64,
        now: &dyn Fn() -> Instant,
        sent_at: Option<Instant>,
        delivery: Arc<Delivery>,
    ) -> bool {
        let count = self.partitions.len() as u32;
        let payload = key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len);
        let mut wake = false;
        let (index, sticky) = match config.partitioner.partition(key, count) {
            Some(p) => (p as usize, false),
            None => {
                // A new sticky partition for every new batch, as Java's
                // sticky partitioner does: move on when the current batch
                // has gone or this record would overflow it.
                if let Some(p) = self.sticky {
                    wake |= self.partitions[p as usize].seal_if_full(config, payload);
                }
                let current = self.sticky.filter(|&p| self.partitions[p as usize].open.is_some());
                let p = current.unwrap_or_else(|| random.below(count));
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
                index as i32,
                Arc::clone(gauge),
                opened_at,
                sent_at.unwrap_or(opened_at),
                buffers.take(capacity),
            )
        });
        batch.append(timestamp, key, value, delivery);
        if batch.records.count() >= config.batch_num_messages || batch.records.encoded_len() >= config.batch_size {
            partition.seal_open();
            if sticky {
                self.sticky = None;
            }
            wake = true;
        }
        wake
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::config::ConfigBuilder;

    fn accumulator(options: &[(&str, &str)]) -> Accumulator {
        let mut b = ConfigBuilder::new();
        b.set("bootstrap.servers", "127.0.0.1:1").unwrap();
        for (k, v) in options {
            b.set(k, v).unwrap();
        }
        Accumulator::new(Arc::new(b.build().unwrap()), Arc::new(QueueGauge::default()), Arc::default(), 12345)
    }

    /// The one batch a plan sends, in its one request, to `leader`.
    fn only_batch(plan: DueBatches, leader: i32) -> Batch {
        let mut requests = plan.requests;
        assert_eq!(requests.len(), 1);
        let (to, mut batches) = requests.remove(0);
        assert_eq!((to, batches.len()), (leader, 1));
        batches.remove(0)
    }

    fn send(acc: &mut Accumulator, key: Option<&[u8]>, now: Instant) -> Arc<Delivery> {
        let d = Delivery::pending(1);
        acc.append("t", key, Some(b"value"), 1, || now, Arc::clone(&d)).unwrap();
        d
    }

    #[test]
    fn null_keys_stick_to_one_partition_per_batch_and_then_move() {
        let mut acc = accumulator(&[("batch.num.messages", "10")]);
        let now = Instant::now();
        send(&mut acc, None, now);
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1), (1, 1), (2, 1)] }, now);
        let partitions: Vec<i32> = (0..300).map(|_| send(&mut acc, None, now).partition()).collect();
        let mut used = [0; 3];
        for chunk in partitions[9..].chunks(10) {
            assert!(chunk.iter().all(|&p| p == chunk[0]), "one batch, one partition: {chunk:?}");
            used[chunk[0] as usize] += 1;
        }
        assert!(used.iter().all(|&n| n > 0), "every partition gets batches: {used:?}");
    }

    #[test]
    fn a_batch_full_by_bytes_moves_the_sticky_partition_too() {
        // Each record takes 14 bytes here, so batch.size=200 holds 9.
        let mut acc = accumulator(&[("batch.size", "200")]);
        let now = Instant::now();
        acc.append("t", None, Some(b"v"), 1, || now, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1), (1, 1), (2, 1), (3, 1)] }, now);
        let partitions: Vec<i32> = (0..400).map(|_| send(&mut acc, None, now).partition()).collect();
        let changes = partitions.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(changes >= 20, "sticky partition moved only {changes} times");
        let plan = acc.take_due(now, true);
        let sent: usize = plan.requests.iter().flat_map(|(_, batches)| batches).map(|b| b.records.count()).sum();
        assert!(plan.requests.iter().flat_map(|(_, batches)| batches).all(|b| b.records.encoded_len() <= 200));
        assert!(sent > 0);
    }

    #[test]
    fn keyed_records_keep_their_partition_and_plan_respects_linger() {
        let mut acc = accumulator(&[("linger.ms", "50"), ("partitioner", "murmur2_random")]);
        let now = Instant::now();
        acc.append("t", Some(b"k"), Some(b"v"), 1, || now, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 7), (1, 7), (2, 7)] }, now);
        let expected = crate::kafka::partitioner::Partitioner::Murmur2Random.partition(Some(b"k"), 3).unwrap() as i32;
        assert!((0..5).all(|_| send(&mut acc, Some(b"k"), now).partition() == expected));
        let early = acc.take_due(now, false);
        assert!(early.requests.is_empty(), "lingering");
        assert_eq!(early.next_due, Some(now + std::time::Duration::from_millis(50)));
        let due = acc.take_due(now + std::time::Duration::from_millis(50), false);
        let (leader, batches) = &due.requests[0];
        assert_eq!((*leader, due.requests.len()), (7, 1));
        assert_eq!((batches.len(), batches[0].records.count(), batches[0].partition), (1, 6, expected));
        assert!(acc.take_due(now + std::time::Duration::from_secs(1), true).requests.is_empty(), "one request in flight per partition");
    }

    #[test]
    fn idempotent_batches_wait_for_an_id_then_get_consecutive_sequences() {
        let mut acc = accumulator(&[("enable.idempotence", "true"), ("batch.num.messages", "3")]);
        let now = Instant::now();
        acc.append("t", Some(b"k"), Some(b"v"), 1, || now, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, now);
        for _ in 0..5 {
            send(&mut acc, Some(b"k"), now);
        }
        assert!(acc.take_due(now, true).requests.is_empty(), "nothing leaves without a producer id");
        acc.set_producer(Some((77, 2)));
        let first = only_batch(acc.take_due(now, true), 1);
        assert_eq!(first.identity, ProducerIdentity { producer_id: 77, producer_epoch: 2, base_sequence: 0 });
        assert_eq!(first.records.count(), 3);
        // A retry under the same epoch keeps its sequence; the next batch follows it.
        acc.retry(first, now);
        acc.release_request_slot(1);
        let again = only_batch(acc.take_due(now, true), 1);
        assert_eq!(again.identity.base_sequence, 0);
        acc.partition_done("t", 0);
        acc.release_request_slot(1);
        let second = only_batch(acc.take_due(now, true), 1);
        assert_eq!(second.identity.base_sequence, 3);
        // A new epoch restarts the partition at 0 and restamps old batches.
        acc.retry(second, now);
        acc.release_request_slot(1);
        acc.set_producer(Some((78, 0)));
        let restamped = only_batch(acc.take_due(now, true), 1);
        assert_eq!(restamped.identity, ProducerIdentity { producer_id: 78, producer_epoch: 0, base_sequence: 0 });
    }

    #[test]
    fn a_new_producer_id_equal_to_the_old_renumbers_every_unacknowledged_batch() {
        // A broker that lost its state hands out the same id and epoch again:
        // the batch that was in flight and those queued behind it must not
        // keep sequences from before, or they would overlap.
        let mut acc = accumulator(&[("enable.idempotence", "true"), ("batch.num.messages", "3")]);
        let now = Instant::now();
        acc.append("t", Some(b"k"), Some(b"v"), 1, || now, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, now);
        for _ in 0..8 {
            send(&mut acc, Some(b"k"), now);
        }
        acc.set_producer(Some((1, 0)));
        let first = only_batch(acc.take_due(now, true), 1);
        assert_eq!(first.identity.base_sequence, 0);
        acc.retry(first, now);
        acc.release_request_slot(1);
        acc.set_producer(None);
        acc.set_producer(Some((1, 0)));
        let again = only_batch(acc.take_due(now, true), 1);
        assert_eq!(again.identity, ProducerIdentity { producer_id: 1, producer_epoch: 0, base_sequence: 0 });
        acc.partition_done("t", 0);
        acc.release_request_slot(1);
        let next = only_batch(acc.take_due(now, true), 1);
        assert_eq!(next.identity.base_sequence, 3, "numbered after the renumbered first batch, not from 0 again");
        assert_ne!(next.stamp_generation, 1, "stamped under the second id");
    }

    #[test]
    fn only_the_current_ids_batches_can_make_it_forget_the_id() {
        let mut acc = accumulator(&[("enable.idempotence", "true"), ("batch.num.messages", "1")]);
        let now = Instant::now();
        acc.append("t", Some(b"k"), Some(b"v"), 1, || now, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, now);
        acc.set_producer(Some((1, 0)));
        let old = only_batch(acc.take_due(now, true), 1);
        acc.set_producer(Some((1, 0))); // taken again meanwhile
        acc.forget_producer_of(&old);
        assert_eq!(acc.producer(), Some((1, 0)), "a late answer under the old id leaves the new one alone");
        acc.retry(old, now);
        acc.release_request_slot(1);
        let current = only_batch(acc.take_due(now, true), 1);
        acc.forget_producer_of(&current);
        assert_eq!(acc.producer(), None);
    }

    #[test]
    fn idle_empty_topics_are_forgotten_and_learnt_again() {
        use std::time::Duration;
        let mut acc = accumulator(&[]);
        let t0 = Instant::now();
        let age = Duration::from_secs(900);
        let old = Delivery::pending(1);
        acc.append("one-off", None, Some(b"v"), 1, || t0, Arc::clone(&old)).unwrap();
        acc.append("busy", None, Some(b"v"), 1, || t0, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "one-off", leaders: &[(0, 1)] }, t0);
        acc.set_layout(&TopicLayout { topic: "busy", leaders: &[(0, 1)] }, t0);
        acc.forget_idle_topics(t0, age); // both just used
        let sent = acc.take_due(t0, true).requests.remove(0).1;
        for b in sent.into_iter().filter(|b| &*b.topic == "one-off") {
            acc.partition_done(&b.topic, b.partition);
            b.receipts.deliver(0, None);
        }
        acc.forget_idle_topics(t0 + age, age);
        let names: Vec<String> = acc.topic_names().iter().map(|n| n.to_string()).collect();
        assert_eq!(names, ["busy"], "the delivered one-off topic is forgotten; the one in flight is kept");
        // Sent to again: learnt again, with its records waiting for metadata.
        let again = Delivery::pending(1);
        assert!(acc.append("one-off", None, Some(b"v"), 1, || t0, Arc::clone(&again)).unwrap());
        assert_eq!(acc.topic_names().len(), 2);
        acc.forget_idle_topics(t0 + age * 3, age);
        assert_eq!(acc.topic_names().len(), 2, "a topic with a waiting record is kept however long");
        assert!(!again.is_completed());
    }

    #[test]
    fn max_in_flight_bounds_requests_per_broker() {
        let mut acc = accumulator(&[("max.in.flight", "1")]);
        let now = Instant::now();
        acc.append("t", None, Some(b"v"), 1, || now, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 5), (1, 5)] }, now);
        send(&mut acc, Some(b"a"), now);
        send(&mut acc, Some(b"b"), now);
        send(&mut acc, Some(b"c"), now);
        let first = acc.take_due(now, true);
        assert_eq!(first.requests.len(), 1, "one request to broker 5");
        assert_eq!(acc.requests_in_flight(), 1);
        assert_eq!(first.requests[0].0, 5);
        let partitions_sent: usize = first.requests[0].1.len();
        let total_partitions_with_data = 2;
        assert_eq!(partitions_sent, total_partitions_with_data, "one request carries every due partition");
        for b in first.requests.into_iter().flat_map(|(_, batches)| batches) {
            acc.partition_done(&b.topic, b.partition);
        }
        send(&mut acc, Some(b"a"), now);
        assert!(acc.take_due(now, true).requests.is_empty(), "the broker's only slot is still taken");
        acc.release_request_slot(5);
        assert_eq!(acc.requests_in_flight(), 0);
        only_batch(acc.take_due(now, true), 5); // the freed slot takes the waiting batch
    }

    #[test]
    fn big_batches_go_in_requests_of_their_own_within_max_in_flight() {
        // Batches of about 600 bytes against message.max.bytes=1000: one per
        // request, so a broker gets several requests in one plan, each
        // counted against max.in.flight=2; small batches share a request.
        let mut acc = accumulator(&[("max.in.flight", "2"), ("message.max.bytes", "1000")]);
        let now = Instant::now();
        acc.append("t", Some(b"k"), Some(b"v"), 1, || now, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 5), (1, 5), (2, 5)] }, now);
        let key_of = |partition: i32| {
            (0u32..)
                .map(|i| i.to_string())
                .find(|k| {
                    crate::kafka::partitioner::Partitioner::ConsistentRandom.partition(Some(k.as_bytes()), 3) == Some(partition as u32)
                })
                .unwrap()
        };
        for p in 0..3 {
            acc.append("t", Some(key_of(p).as_bytes()), Some(&[7; 500]), 1, || now, Delivery::pending(1)).unwrap();
        }
        let plan = acc.take_due(now, true);
        assert_eq!(plan.requests.len(), 2, "two requests, then max.in.flight is reached");
        assert!(plan.requests.iter().all(|(leader, batches)| *leader == 5 && batches.len() == 1));
        assert_eq!(acc.requests_in_flight(), 2);
        assert!(acc.take_due(now, true).requests.is_empty(), "the third waits for a free slot");
        acc.release_request_slot(5);
        assert_eq!(acc.take_due(now, true).requests.len(), 1, "and takes it");
    }

    #[test]
    fn records_sent_while_a_partition_is_blocked_keep_their_own_deadline() {
        use std::time::Duration;
        let mut acc = accumulator(&[("linger.ms", "10"), ("message.timeout.ms", "1000")]);
        let t0 = Instant::now();
        acc.append("t", Some(b"k"), Some(b"v"), 1, || t0, Delivery::pending(1)).unwrap();
        acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, t0);
        let in_flight = acc.take_due(t0 + Duration::from_millis(10), false);
        assert_eq!(in_flight.requests[0].1.len(), 1, "the first batch is in flight and stays so");
        let late = send(&mut acc, Some(b"k"), t0 + Duration::from_millis(20));
        acc.take_due(t0 + Duration::from_millis(30), false); // lingered: sealed although blocked
        let later = send(&mut acc, Some(b"k"), t0 + Duration::from_millis(500));
        let plan = acc.take_due(t0 + Duration::from_millis(1020), false);
        assert_eq!(plan.expired.len(), 1, "only the batch sent at +20 ms has expired");
        for r in plan.expired {
            r.fail(ErrorCode::MSG_TIMED_OUT);
        }
        assert_eq!(late.error(), ErrorCode::MSG_TIMED_OUT);
        assert!(!later.is_completed(), "sent at +500 ms, due at +1500 ms");
        assert_eq!(acc.take_due(t0 + Duration::from_millis(1400), false).expired.len(), 0);
        assert_eq!(acc.take_due(t0 + Duration::from_millis(1500), false).expired.len(), 1);
    }
}
