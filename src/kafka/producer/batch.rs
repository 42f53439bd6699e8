//! A partition's batch of records and the receipts waiting on it, and the
//! queue gauge that bounds how much the application may have outstanding.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::record_batch::{ProducerIdentity, RecordsBuilder};
use crate::kafka::receipt::{self, Receipt};

/// Messages and payload bytes sent but not yet completed, bounded by
/// queue.buffering.max.messages and queue.buffering.max.kbytes.
#[derive(Debug, Default)]
pub struct QueueGauge {
    messages: AtomicUsize,
    bytes: AtomicUsize,
}

impl QueueGauge {
    /// Reserves room for one message, or says the queue is full.
    pub fn try_reserve(&self, payload: usize, max_messages: usize, max_bytes: usize) -> bool {
        let messages = self.messages.fetch_add(1, Ordering::AcqRel);
        let bytes = self.bytes.fetch_add(payload, Ordering::AcqRel);
        if messages >= max_messages || bytes.saturating_add(payload) > max_bytes {
            self.release(1, payload);
            return false;
        }
        true
    }

    pub fn release(&self, messages: usize, bytes: usize) {
        self.messages.fetch_sub(messages, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    pub fn outstanding_messages(&self) -> usize {
        self.messages.load(Ordering::Acquire)
    }
}

/// Receipts that complete together, and the gauge room they hold. Dropping
/// it unsettled fails every receipt with `_DESTROY`, so no receipt can be
/// left pending forever, whatever path drops it (close, a runtime shutdown).
#[derive(Debug)]
pub struct Receipts {
    receipts: Vec<Arc<Receipt>>,
    payload_bytes: usize,
    gauge: Arc<QueueGauge>,
}

impl Receipts {
    pub fn new(gauge: Arc<QueueGauge>) -> Self {
        Receipts { receipts: Vec::new(), payload_bytes: 0, gauge }
    }

    pub fn push(&mut self, receipt: Arc<Receipt>, payload: usize) {
        self.receipts.push(receipt);
        self.payload_bytes += payload;
    }

    /// Takes out the one receipt of a waiting record, unsettled, so that it
    /// can move into a batch (which then holds its gauge room).
    pub fn into_receipt(mut self) -> Arc<Receipt> {
        debug_assert_eq!(self.receipts.len(), 1);
        self.payload_bytes = 0;
        self.receipts.pop().expect("a waiting record has one receipt")
    }

    /// Delivered: record `i` has offset `base_offset + i` (-1 with acks=0).
    pub fn deliver(mut self, base_offset: i64, log_append_time: Option<i64>) {
        for (i, d) in self.receipts.iter().enumerate() {
            let offset = if base_offset < 0 { -1 } else { base_offset + i as i64 };
            d.deliver(offset, log_append_time);
        }
        self.settle();
    }

    pub fn fail(mut self, code: ErrorCode) {
        for d in &self.receipts {
            d.fail(code);
        }
        self.settle();
    }

    fn settle(&mut self) {
        self.gauge.release(self.receipts.len(), self.payload_bytes);
        receipt::notify_completed(&self.receipts);
        self.receipts.clear();
        self.payload_bytes = 0;
    }
}

impl Drop for Receipts {
    fn drop(&mut self) {
        if !self.receipts.is_empty() {
            for d in &self.receipts {
                d.fail(ErrorCode::DESTROY);
            }
            self.settle();
        }
    }
}

/// One partition's records, encoded as they arrive.
#[derive(Debug)]
pub struct Batch {
    pub topic: Arc<str>,
    pub partition: i32,
    pub records: RecordsBuilder,
    pub receipts: Receipts,
    /// When the first record went in: linger.ms counts from here.
    pub opened_at: Instant,
    /// When its oldest record was sent: message.timeout.ms counts from here.
    pub oldest_send: Instant,
    /// Producer id, epoch and base sequence (idempotence), stamped when the
    /// batch is first taken for sending and again after any new producer id
    /// (even one equal to the old: a broker that lost its state hands the
    /// same one out again); a retry seals the same records with the same
    /// identity again.
    pub identity: ProducerIdentity,
    /// Which producer id the identity was stamped under: the accumulator's
    /// count of ids taken, 0 for never stamped.
    pub stamp_generation: u32,
    /// The stamp of the last attempt that reached the wire (or may have):
    /// only a batch written before under its current stamp can be a
    /// duplicate the broker already holds.
    pub written_under: Option<(ProducerIdentity, u32)>,
    /// Produce attempts that failed and were retried.
    pub retries: u32,
}

impl Batch {
    /// A new batch whose records go into `buffer` (taken from a pool).
    pub fn open(topic: Arc<str>, partition: i32, gauge: Arc<QueueGauge>, now: Instant, oldest_send: Instant, buffer: Vec<u8>) -> Self {
        Batch {
            topic,
            partition,
            records: RecordsBuilder::in_buffer(buffer),
            receipts: Receipts::new(gauge),
            opened_at: now,
            oldest_send,
            identity: ProducerIdentity::NONE,
            stamp_generation: 0,
            written_under: None,
            retries: 0,
        }
    }

    /// Appends a record (`headers`: its header block, `NO_HEADERS` for none).
    pub fn append(&mut self, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>, headers: &[u8], receipt: Arc<Receipt>) {
        receipt.set_partition(self.partition);
        self.records.append(timestamp, key, value, headers);
        self.receipts.push(receipt, payload_len(key, value, headers));
    }

    /// An attempt under the current stamp reached the wire (or may have).
    pub fn mark_written(&mut self) {
        self.written_under = Some((self.identity, self.stamp_generation));
    }

    /// Whether an earlier attempt was written under the current stamp: then
    /// the broker answering DUPLICATE_SEQUENCE_NUMBER means it holds the records.
    pub fn written_before_under_current_stamp(&self) -> bool {
        self.written_under == Some((self.identity, self.stamp_generation))
    }

    /// Whether message.timeout.ms has run out for its oldest record.
    pub fn expired(&self, now: Instant, timeout: Option<std::time::Duration>) -> bool {
        timeout.is_some_and(|t| now >= self.oldest_send + t)
    }

    /// Time left before message.timeout.ms runs out (None: no limit).
    pub fn time_left(&self, now: Instant, timeout: Option<std::time::Duration>) -> Option<std::time::Duration> {
        timeout.map(|t| (self.oldest_send + t).saturating_duration_since(now))
    }
}

/// A record's size as counted against message.max.bytes and the queue's
/// byte limit: key, value and the headers' names and values (as librdkafka
/// counts them), not the framing.
pub fn payload_len(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[u8]) -> usize {
    key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len) + headers.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_refuses_past_either_limit_and_undoes_the_reservation() {
        let g = QueueGauge::default();
        assert!(g.try_reserve(10, 2, 100));
        assert!(g.try_reserve(10, 2, 100));
        assert!(!g.try_reserve(1, 2, 100), "message limit");
        g.release(1, 10);
        assert!(!g.try_reserve(91, 2, 100), "byte limit");
        assert!(g.try_reserve(90, 2, 100));
        assert_eq!(g.outstanding_messages(), 2);
    }

    #[test]
    fn dropped_receipts_fail_with_destroy_and_release_the_gauge() {
        let gauge = Arc::new(QueueGauge::default());
        assert!(gauge.try_reserve(5, 10, 100));
        let d = Receipt::pending(1);
        let mut r = Receipts::new(Arc::clone(&gauge));
        r.push(Arc::clone(&d), 5);
        drop(r);
        assert_eq!(d.error(), ErrorCode::DESTROY);
        assert_eq!(gauge.outstanding_messages(), 0);
    }

    #[test]
    fn delivered_offsets_count_from_the_base() {
        let gauge = Arc::new(QueueGauge::default());
        let ds: Vec<_> = (0..3).map(|_| Receipt::pending(1)).collect();
        let mut r = Receipts::new(Arc::clone(&gauge));
        for d in &ds {
            assert!(gauge.try_reserve(1, 10, 100));
            r.push(Arc::clone(d), 1);
        }
        r.deliver(40, None);
        assert_eq!(ds.iter().map(|d| d.offset()).collect::<Vec<_>>(), [40, 41, 42]);
        assert_eq!(gauge.outstanding_messages(), 0);
    }
}
