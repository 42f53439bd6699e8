//! A partition's batch of records and the receipts waiting on it.

use std::sync::Arc;
use std::time::Instant;

use super::gauge::QueueGauge;
use crate::kafka::error::ErrorCode;
use crate::kafka::protocol::produce::ProduceBatch;
use crate::kafka::protocol::record_batch::{ProducerIdentity, RecordsBuilder};
use crate::kafka::receipt::{self, FailureText, Pending, Wakeups};
use crate::kafka::topic_config::TopicConfig;

/// Receipts that complete together, and the gauge room they hold. Dropping
/// it unsettled fails every receipt with `_DESTROY`, so no receipt can be
/// left pending forever, whatever path drops it (close, a runtime shutdown).
/// A record sent without a receipt holds its place as None: its failure is
/// counted in the gauge instead.
#[derive(Debug)]
pub struct Receipts {
    receipts: Vec<Option<Pending>>,
    payload_bytes: usize,
    gauge: Arc<QueueGauge>,
}

impl Receipts {
    pub fn new(gauge: Arc<QueueGauge>) -> Self {
        Receipts { receipts: Vec::new(), payload_bytes: 0, gauge }
    }

    pub fn push(&mut self, receipt: Option<Pending>, payload: usize) {
        self.receipts.push(receipt);
        self.payload_bytes += payload;
    }

    /// Its records, with or without a receipt.
    pub fn records(&self) -> usize {
        self.receipts.len()
    }

    /// Key + value + header bytes of its records.
    pub fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// Takes out the one receipt of a waiting record, unsettled, so that it
    /// can move into a batch (which then holds its gauge room).
    pub fn into_receipt(mut self) -> Option<Pending> {
        debug_assert_eq!(self.receipts.len(), 1);
        self.payload_bytes = 0;
        self.receipts.pop().flatten()
    }

    /// Delivered: record `i` has offset `base_offset + i` (-1 with acks=0).
    pub fn deliver(mut self, base_offset: i64, log_append_time: Option<i64>) {
        let records = self.receipts.len();
        let mut wakeups = Wakeups::default();
        for (i, d) in self.receipts.drain(..).enumerate() {
            if let Some(d) = d {
                let offset = if base_offset < 0 { -1 } else { base_offset + i as i64 };
                d.deliver(offset, log_append_time, &mut wakeups);
            }
        }
        self.settle(records, wakeups);
    }

    pub fn fail(mut self, code: ErrorCode) {
        self.fail_each(|_| (code, None));
    }

    /// Failed for good with `code` after an answer that said why, as
    /// librdkafka applies a Produce v8 answer: when the broker named
    /// records, each named one gets its own text (and INVALID_RECORD instead
    /// of `code` when more than one is named), every other record fails
    /// with `_INVALID_DIFFERENT_RECORD`; else every record gets the
    /// partition's text. A text the table has no room for is left out.
    pub fn fail_answered(mut self, code: ErrorCode, texts: &AnswerTexts) {
        let intern = |code, text: Option<&str>| text.and_then(|text| FailureText::intern(code, text));
        if texts.record_errors.is_empty() {
            let text = intern(code, texts.message.as_deref());
            return self.fail_each(|_| (code, text));
        }
        let named_code = if texts.record_errors.len() > 1 { ErrorCode::INVALID_RECORD } else { code };
        let mut others = None;
        self.fail_each(|i| match texts.named(i) {
            Some(text) => (named_code, intern(named_code, text)),
            None => {
                let code = ErrorCode::INVALID_DIFFERENT_RECORD;
                (code, *others.get_or_insert_with(|| intern(code, Some(INVALID_DIFFERENT_RECORD_TEXT))))
            }
        });
    }

    /// Fails record `i` with `failure(i)`.
    fn fail_each(&mut self, mut failure: impl FnMut(usize) -> (ErrorCode, Option<FailureText>)) {
        let records = self.receipts.len();
        let mut wakeups = Wakeups::default();
        let (mut without_receipt, mut last_code) = (0, ErrorCode::NO_ERROR);
        for (i, d) in self.receipts.drain(..).enumerate() {
            let (code, text) = failure(i);
            match d {
                Some(d) => d.fail(code, text, &mut wakeups),
                None => (without_receipt, last_code) = (without_receipt + 1, code),
            }
        }
        self.gauge.count_failed_without_receipt(without_receipt, last_code);
        self.settle(records, wakeups);
    }

    fn settle(&mut self, records: usize, wakeups: Wakeups) {
        self.gauge.release(records, self.payload_bytes);
        receipt::notify_completed(wakeups);
        self.payload_bytes = 0;
    }
}

impl Drop for Receipts {
    fn drop(&mut self) {
        if !self.receipts.is_empty() {
            self.fail_each(|_| (ErrorCode::DESTROY, None));
        }
    }
}

/// What librdkafka says of a record failed for another record's fault
/// (its words, typo included, so that a search for them finds both).
pub const INVALID_DIFFERENT_RECORD_TEXT: &str =
    "Failed to append record because it was part of a batch which had one more more invalid records";

/// What a broker said of a batch it refused (Produce v8), already cut and
/// cleaned by `broker_text`: what its receipts' messages and the log show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnswerTexts {
    /// The partition's error_message.
    pub message: Option<String>,
    /// The records it named: (index in the batch, text), sorted by index,
    /// the broker's order kept among equal ones (the first one counts).
    pub record_errors: Vec<(i32, Option<String>)>,
}

impl AnswerTexts {
    pub fn new(message: Option<String>, mut record_errors: Vec<(i32, Option<String>)>) -> Self {
        // Stable: of two texts for one record, the first listed is kept.
        record_errors.sort_by_key(|&(index, _)| index);
        AnswerTexts { message, record_errors }
    }

    /// Some(text) when record `i` is named, None when not.
    fn named(&self, i: usize) -> Option<Option<&str>> {
        let at = self.record_errors.partition_point(|&(index, _)| i64::from(index) < i as i64);
        match self.record_errors.get(at) {
            Some((index, text)) if i64::from(*index) == i as i64 => Some(text.as_deref()),
            _ => None,
        }
    }
}

/// One partition's records, encoded as they arrive.
#[derive(Debug)]
pub struct Batch {
    pub topic: Arc<str>,
    /// Its topic's options: codec, acks, timeouts.
    pub settings: Arc<TopicConfig>,
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
    /// Its last record's place among the records its partition took
    /// (librdkafka's msgid, from 1), set when it is sealed.
    pub last_msgid: u64,
}

/// What a Produce request carries of a batch: its header (stamped with
/// its producer identity) in the frame, its packed records from their buffer.
impl ProduceBatch for Batch {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn partition(&self) -> i32 {
        self.partition
    }

    fn write_header(&self, out: &mut Vec<u8>) {
        self.records.seal_header_into(out, self.identity);
    }

    fn records(&self) -> &[u8] {
        self.records.payload()
    }

    fn record_count(&self) -> usize {
        self.records.count()
    }
}

impl Batch {
    /// A new batch whose records go into `buffer` (taken from a pool).
    pub fn open(
        topic: Arc<str>,
        settings: Arc<TopicConfig>,
        partition: i32,
        gauge: Arc<QueueGauge>,
        now: Instant,
        oldest_send: Instant,
        buffer: Vec<u8>,
    ) -> Self {
        Batch {
            topic,
            settings,
            partition,
            records: RecordsBuilder::in_buffer(buffer),
            receipts: Receipts::new(gauge),
            opened_at: now,
            oldest_send,
            identity: ProducerIdentity::NONE,
            stamp_generation: 0,
            written_under: None,
            retries: 0,
            last_msgid: 0,
        }
    }

    /// Appends a record (`headers`: its header block, `NO_HEADERS` for none).
    pub fn append(&mut self, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>, headers: &[u8], receipt: Option<Pending>) {
        if let Some(receipt) = &receipt {
            receipt.set_partition(self.partition);
        }
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

    /// Whether its topic's message.timeout.ms has run out for its oldest record.
    pub fn expired(&self, now: Instant) -> bool {
        self.settings.message_timeout.is_some_and(|t| now >= self.oldest_send + t)
    }

    /// Time left before message.timeout.ms runs out (None: no limit).
    pub fn time_left(&self, now: Instant) -> Option<std::time::Duration> {
        self.settings.message_timeout.map(|t| (self.oldest_send + t).saturating_duration_since(now))
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
    use crate::kafka::receipt::test_pending;

    #[test]
    fn dropped_receipts_fail_with_destroy_and_release_the_gauge() {
        let gauge = Arc::new(QueueGauge::default());
        assert!(gauge.try_reserve(5, 10, 100));
        let (pending, d) = test_pending(1);
        let mut r = Receipts::new(Arc::clone(&gauge));
        r.push(Some(pending), 5);
        drop(r);
        assert_eq!(d.read().unwrap().outcome().error(), ErrorCode::DESTROY);
        assert_eq!(gauge.outstanding_messages(), 0);
        assert!(d.free());
    }

    #[test]
    fn delivered_offsets_count_from_the_base() {
        let gauge = Arc::new(QueueGauge::default());
        let mut r = Receipts::new(Arc::clone(&gauge));
        let ds: Vec<_> = (0..3)
            .map(|_| {
                let (pending, d) = test_pending(1);
                assert!(gauge.try_reserve(1, 10, 100));
                r.push(Some(pending), 1);
                d
            })
            .collect();
        r.deliver(40, None);
        assert_eq!(ds.iter().map(|d| d.read().unwrap().outcome().offset()).collect::<Vec<_>>(), [40, 41, 42]);
        assert_eq!(gauge.outstanding_messages(), 0);
        assert!(ds.iter().all(|d| d.free()));
    }

    /// A batch of `n` records, each with a receipt, failed with `code`
    /// after `texts`: each receipt's code and message.
    fn failed_after(n: usize, code: ErrorCode, texts: &AnswerTexts) -> Vec<(ErrorCode, Option<&'static str>)> {
        let gauge = Arc::new(QueueGauge::default());
        let mut r = Receipts::new(Arc::clone(&gauge));
        let ds: Vec<_> = (0..n)
            .map(|_| {
                let (pending, d) = test_pending(1);
                assert!(gauge.try_reserve(1, 100, 1000));
                r.push(Some(pending), 1);
                d
            })
            .collect();
        r.fail_answered(code, texts);
        assert_eq!(gauge.outstanding_messages(), 0);
        ds.iter()
            .map(|d| {
                let read = d.read().unwrap();
                assert!(d.free());
                (read.outcome().error(), read.message())
            })
            .collect()
    }

    fn record_errors(errors: &[(i32, Option<&str>)]) -> AnswerTexts {
        AnswerTexts::new(Some("batch refused".into()), errors.iter().map(|&(i, text)| (i, text.map(String::from))).collect())
    }

    const DIFFERENT: Option<&str> = Some(
        "Local: an invalid record in the same batch caused the failure of this message too: \
         Failed to append record because it was part of a batch which had one more more invalid records",
    );

    #[test]
    fn without_record_errors_every_record_gets_the_partitions_text() {
        let texts = AnswerTexts::new(Some("timestamp 5 out of range".into()), vec![]);
        let want = (ErrorCode::INVALID_TIMESTAMP, Some("Broker: Invalid timestamp: timestamp 5 out of range"));
        assert_eq!(failed_after(3, ErrorCode::INVALID_TIMESTAMP, &texts), [want; 3]);
        let silent = AnswerTexts::default();
        assert_eq!(failed_after(2, ErrorCode::INVALID_TIMESTAMP, &silent), [(ErrorCode::INVALID_TIMESTAMP, None); 2], "no text: none kept");
    }

    #[test]
    fn one_record_error_keeps_the_partitions_code_for_that_record() {
        let got = failed_after(3, ErrorCode::INVALID_TIMESTAMP, &record_errors(&[(1, Some("bad timestamp"))]));
        assert_eq!(
            got,
            [
                (ErrorCode::INVALID_DIFFERENT_RECORD, DIFFERENT),
                (ErrorCode::INVALID_TIMESTAMP, Some("Broker: Invalid timestamp: bad timestamp")),
                (ErrorCode::INVALID_DIFFERENT_RECORD, DIFFERENT),
            ]
        );
    }

    #[test]
    fn several_record_errors_are_invalid_record_each_with_its_text() {
        // Unsorted, one without a text, one past the batch's end.
        let texts = record_errors(&[(3, None), (0, Some("bad key")), (9, Some("not here"))]);
        let got = failed_after(4, ErrorCode::INVALID_TIMESTAMP, &texts);
        assert_eq!(
            got,
            [
                (ErrorCode::INVALID_RECORD, Some("Broker: Broker failed to validate record: bad key")),
                (ErrorCode::INVALID_DIFFERENT_RECORD, DIFFERENT),
                (ErrorCode::INVALID_DIFFERENT_RECORD, DIFFERENT),
                (ErrorCode::INVALID_RECORD, None),
            ]
        );
    }

    #[test]
    fn records_without_a_receipt_keep_their_place_and_their_failures_are_counted() {
        let gauge = Arc::new(QueueGauge::default());
        let batch = |with: &[bool]| {
            let mut r = Receipts::new(Arc::clone(&gauge));
            let mut ds = Vec::new();
            for &w in with {
                assert!(gauge.try_reserve(1, 100, 1000));
                let (pending, d) = w.then(|| test_pending(1)).unzip();
                r.push(pending, 1);
                ds.push(d);
            }
            (r, ds)
        };
        let (r, ds) = batch(&[false, true, false, true]);
        r.deliver(10, None);
        let offsets: Vec<i64> = ds.iter().flatten().map(|d| d.read().unwrap().outcome().offset()).collect();
        assert_eq!(offsets, [11, 13], "the receipt-less records hold their offsets");
        assert_eq!(gauge.failed_without_receipt(), (0, ErrorCode::NO_ERROR));
        let (r, ds) = batch(&[false, true, false]);
        r.fail(ErrorCode::MSG_TIMED_OUT);
        assert_eq!(ds[1].map(|d| d.read().unwrap().outcome().error()), Some(ErrorCode::MSG_TIMED_OUT));
        assert_eq!(gauge.failed_without_receipt(), (2, ErrorCode::MSG_TIMED_OUT));
        drop(batch(&[false]).0);
        assert_eq!(gauge.failed_without_receipt(), (3, ErrorCode::DESTROY), "dropped unsettled: failed with _DESTROY");
        assert_eq!(gauge.outstanding_messages(), 0);
    }
}
