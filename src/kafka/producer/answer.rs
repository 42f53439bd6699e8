//! A Produce answer applied to its batches: each batch's outcome is read
//! from the response, `decision::decide` says what becomes of it, and this
//! module does it (receipts, retry queue, producer id, fatal state).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::batch::{AnswerTexts, Batch};
use super::decision::{decide, BatchState, Decision, Outcome, Policy};
use super::shared::Shared;
use super::transaction::error::TxnError;
use super::transaction::state::{Phase, Transactions};
use crate::kafka::client::connection::Unanswered;
use crate::kafka::client::error::{broker_text, RequestFailure};
use crate::kafka::client::wire::AfterAnswer;
use crate::kafka::error::ErrorCode;
use crate::kafka::log::Context;
use crate::kafka::protocol::produce::{PartitionResult, ProduceResponse};

/// A lost answer: the request was written, its answer cannot be used.
const ANSWER_LOST: RequestFailure = RequestFailure { code: ErrorCode::TRANSPORT, written: true };

/// Completes, retries or fails each batch of a Produce request from its
/// answer. An answer that does not decode, or that leaves out one of the
/// request's partitions, is treated as lost, as a dropped connection's is:
/// the batches are retried and the connection is closed (its stream can no
/// longer be trusted).
pub(super) fn complete_produce(shared: &Shared, batches: Vec<Batch>, answer: Result<ProduceResponse, Unanswered>) -> AfterAnswer {
    // One request, one acks (`TopicConfig::request_class`).
    let expect_response = batches.first().is_some_and(|b| b.settings.expects_response());
    let results: Result<HashMap<(Arc<str>, i32), PartitionResult>, RequestFailure> = match answer {
        Err(Unanswered::Failed(failure)) => Err(failure),
        Err(Unanswered::Undecodable(_)) => Err(ANSWER_LOST),
        Ok(response) => Ok(response
            .topics
            .into_iter()
            .flat_map(|t| {
                let topic: Arc<str> = Arc::from(t.topic);
                t.partitions.into_iter().map(move |p| ((Arc::clone(&topic), p.partition), p))
            })
            .collect()),
    };
    let mut answer_lost = results.as_ref().is_err_and(|failure| *failure == ANSWER_LOST);
    let mut delivered_any = false;
    for batch in batches {
        let (outcome, texts) = match &results {
            Err(failure) => (Outcome::Failed(*failure), None),
            Ok(_) if !expect_response => (Outcome::Stored { base_offset: -1, log_append_time: None }, None),
            Ok(results) => match results.get(&(Arc::clone(&batch.topic), batch.partition)) {
                Some(r) => partition_outcome(r),
                None => {
                    answer_lost = true;
                    (Outcome::Failed(ANSWER_LOST), None)
                }
            },
        };
        delivered_any |= matches!(outcome, Outcome::Stored { .. });
        finish(shared, batch, outcome, texts.as_ref());
    }
    if delivered_any {
        shared.clear_status();
    }
    match answer_lost {
        true => AfterAnswer::Close,
        false => AfterAnswer::Keep,
    }
}

/// One partition's answer in a Produce response, and what the broker
/// said if it refused the batch.
fn partition_outcome(result: &PartitionResult) -> (Outcome, Option<AnswerTexts>) {
    let outcome = match ErrorCode::from_kafka(result.error_code) {
        code if code.is_ok() => {
            let log_append_time = (result.log_append_time_ms >= 0).then_some(result.log_append_time_ms);
            return (Outcome::Stored { base_offset: result.base_offset, log_append_time }, None);
        }
        ErrorCode::DUPLICATE_SEQUENCE_NUMBER => Outcome::Duplicate,
        code => Outcome::Failed(RequestFailure { code, written: true }),
    };
    (outcome, answer_texts(result))
}

/// The broker's texts of a refused partition, cut and cleaned here, where
/// they leave the protocol's types: once per partition, not per record,
/// and before anything can show them (the log line, the receipts, which
/// keep them for good). An empty text is none; None when it said nothing.
fn answer_texts(result: &PartitionResult) -> Option<AnswerTexts> {
    let said = |text: &Option<String>| text.as_deref().filter(|t| !t.is_empty()).map(broker_text);
    let message = said(&result.error_message);
    if result.record_errors.is_empty() && message.is_none() {
        return None;
    }
    let record_errors = result.record_errors.iter().map(|e| (e.batch_index, said(&e.message))).collect();
    Some(AnswerTexts::new(message, record_errors))
}

/// A transactional producer's decision: nothing is retried once the
/// transaction is being aborted (the batch fails with `_PURGE_INFLIGHT`);
/// a broker that lost the producer's state fails the batch and makes the
/// transaction abortable, its abort taking a new epoch (KIP-360, where the
/// idempotent producer would retry under a new id); and any failure makes
/// the transaction abortable, as librdkafka's.
fn in_transaction(txn: &Transactions, batch: &Batch, decision: Decision, failed_with: Option<ErrorCode>) -> Decision {
    let aborting = txn.is(Phase::Aborting);
    let abortable = |code: ErrorCode, bump: bool| {
        let why =
            format!("Failed to produce {} message(s) to {} [{}]: {}", batch.records.count(), batch.topic, batch.partition, code.message());
        txn.abortable(TxnError::abortable(code, why), bump);
    };
    match decision {
        Decision::Retry { .. } if aborting => Decision::Fail { code: ErrorCode::PURGE_INFLIGHT },
        Decision::Retry { new_producer_id: true, .. } => {
            let code = failed_with.unwrap_or(ErrorCode::UNKNOWN_PRODUCER_ID);
            abortable(code, true);
            Decision::Fail { code }
        }
        Decision::Fail { code } if !aborting => {
            abortable(code, false);
            decision
        }
        decision => decision,
    }
}

/// Applies `decide` to one batch; `texts` is what the broker said of a
/// failed attempt, which the receipts keep if the batch fails for good
/// (whatever the final code, as librdkafka does).
pub(super) fn finish(shared: &Shared, mut batch: Batch, outcome: Outcome, texts: Option<&AnswerTexts>) {
    let state = BatchState {
        written_before: batch.written_before_under_current_stamp(),
        retries: batch.retries,
        expired: batch.expired(Instant::now()),
    };
    if let Outcome::Failed(RequestFailure { written: true, .. }) | Outcome::Duplicate = outcome {
        batch.mark_written();
    }
    if let Outcome::Failed(failure) = outcome {
        if failure.code.needs_metadata_refresh() {
            shared.metadata_wanted.store(true, Ordering::Release);
        }
    }
    let failed_with = match outcome {
        Outcome::Failed(failure) => Some(failure.code),
        Outcome::Duplicate => Some(ErrorCode::DUPLICATE_SEQUENCE_NUMBER),
        Outcome::Stored { .. } => None,
    };
    let producer_failed = shared.queues().refusal() == Some(ErrorCode::FATAL);
    let mut decision = decide(outcome, state, Policy::of(&shared.config), producer_failed);
    // Before the queues' lock: the transaction's lock is never taken inside it.
    if let Some(txn) = &shared.txn {
        decision = in_transaction(txn, &batch, decision, failed_with);
    }
    if let Some(code) = failed_with {
        log_failure(shared, &batch, code, texts, decision);
    }
    let mut queues = shared.queues();
    match decision {
        Decision::Deliver { base_offset, log_append_time } => {
            queues.partition_delivered(&batch);
            drop(queues);
            let (topic, partition, count) = (&batch.topic, batch.partition, batch.records.count());
            let line = format_args!("{topic} [{partition}]: MessageSet with {count} message(s) delivered at offset {base_offset}");
            shared.logger.debug(Context::Msg, "MSGSET", line);
            let (records, payload, bytes) = (batch.records.count(), batch.receipts.payload_bytes(), batch.records.encoded_len());
            shared.stats.batch_delivered(&batch.topic, batch.partition, records, payload, bytes);
            batch.receipts.deliver(base_offset, log_append_time);
            for buffer in batch.records.into_buffers() {
                shared.buffers.give(buffer);
            }
        }
        Decision::Retry { backoff, new_producer_id } => {
            if new_producer_id {
                queues.forget_producer_of(&batch);
            }
            batch.retries += 1;
            queues.retry(batch, Instant::now() + backoff);
        }
        Decision::Fail { code } => {
            queues.partition_done(&batch.topic, batch.partition);
            drop(queues);
            fail_receipts(batch, code, texts);
        }
        Decision::Fatal { cause } => {
            queues.partition_done(&batch.topic, batch.partition);
            drop(queues);
            fail_receipts(batch, ErrorCode::FATAL, texts);
            shared.fail_fatal(cause, cause.message());
        }
    }
}

fn fail_receipts(batch: Batch, code: ErrorCode, texts: Option<&AnswerTexts>) {
    match texts {
        Some(texts) => batch.receipts.fail_answered(code, texts),
        None => batch.receipts.fail(code),
    }
}

/// librdkafka's debug line for a failed attempt (not one that turned out
/// delivered), with what the broker said (cut by `answer_texts`) after the
/// code's text.
fn log_failure(shared: &Shared, batch: &Batch, code: ErrorCode, texts: Option<&AnswerTexts>, decision: Decision) {
    let what = match decision {
        _ if !shared.logger.debugging(Context::Msg) => return,
        Decision::Deliver { .. } => return,
        Decision::Retry { .. } => "retried".to_owned(),
        Decision::Fail { code } | Decision::Fatal { cause: code } => format!("failed: {}", code.name()),
    };
    let said = texts.and_then(|t| t.message.as_deref()).map_or_else(String::new, |m| format!(": {m}"));
    let records = match texts.map(|t| t.record_errors.as_slice()) {
        Some(all @ [(index, text), ..]) => {
            let text = text.as_deref().map_or_else(String::new, |t| format!(": {t}"));
            format!("; {} record error(s), the first at record {index}{text}", all.len())
        }
        _ => String::new(),
    };
    let (topic, partition, count) = (&batch.topic, batch.partition, batch.records.count());
    let line = format_args!(
        "{topic} [{partition}]: MessageSet with {count} message(s) encountered error: {}{said}{records} ({what})",
        code.message()
    );
    shared.logger.debug(Context::Msg, "MSGSET", line);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::kafka::client::error::BROKER_TEXT_MAX_BYTES;
    use crate::kafka::client::test_broker::{Script, TestBroker};
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::producer::Producer;
    use crate::kafka::protocol::primitives::Encoder;
    use crate::kafka::protocol::produce::RecordError;
    use crate::kafka::receipt::Handle;

    #[test]
    fn texts_are_cut_and_cleaned_sorted_and_an_empty_one_is_none() {
        let refused = |message: Option<&str>, record_errors: Vec<RecordError>| PartitionResult {
            partition: 0,
            error_code: 87,
            base_offset: -1,
            log_append_time_ms: -1,
            record_errors,
            error_message: message.map(String::from),
        };
        assert_eq!(answer_texts(&refused(None, vec![])), None);
        assert_eq!(answer_texts(&refused(Some(""), vec![])), None);
        let errors = vec![
            RecordError { batch_index: 2, message: Some(String::new()) },
            RecordError { batch_index: 1, message: Some("x\ty".repeat(1000)) },
        ];
        let texts = answer_texts(&refused(Some("a\nb"), errors)).unwrap();
        assert_eq!(texts.message.as_deref(), Some("a b"));
        assert_eq!(texts.record_errors[1], (2, None));
        let (index, cut) = &texts.record_errors[0];
        assert_eq!((*index, cut.as_deref().map(str::len)), (1, Some(BROKER_TEXT_MAX_BYTES)), "cut to 512 bytes");
        assert!(cut.as_deref().is_some_and(|c| c.starts_with("x yx y") && c.ends_with("...")));
    }

    /// A Produce v8 body for topic "t", partition 0.
    fn produce_answer(version: i16, code: i16, record_errors: &[(i32, Option<&str>)], message: Option<&str>) -> Vec<u8> {
        assert_eq!(version, 8, "the test broker offers Produce up to v8");
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        e.array_len(1);
        e.string("t");
        e.array_len(1);
        e.i32(0);
        e.i16(code);
        e.i64(if code == 0 { 10 } else { -1 });
        e.i64(-1); // log_append_time
        e.i64(0); // log_start_offset
        e.array_len(record_errors.len());
        for &(index, text) in record_errors {
            e.i32(index);
            e.nullable_string(text);
        }
        e.nullable_string(message);
        e.i32(0); // throttle_time_ms
        body
    }

    /// The longest string Kafka carries (32 KiB less a byte), with a
    /// newline, a carriage return, an escape and a NUL in every 19 bytes.
    fn long_text() -> String {
        "line\nforged\r\x1b[31m\0".repeat(32_767 / 19) + &"x".repeat(32_767 % 19)
    }

    /// Sends `records` records to a TestBroker that answers Produce with
    /// `answer`, in one batch; every receipt's code and message, and the
    /// producer's "encountered error" log lines.
    async fn receipts_after(answer: fn(usize, i16) -> Vec<u8>, records: usize) -> (Vec<(ErrorCode, Option<String>)>, Vec<String>) {
        let broker = TestBroker::start(Script { topic: Some("t"), answers_produce: Some(answer), ..Script::default() }).await;
        let mut builder = ConfigBuilder::new();
        let batch = records.to_string();
        for (name, value) in [
            ("bootstrap.servers", broker.address.as_str()),
            ("linger.ms", "2000"),
            ("batch.num.messages", batch.as_str()),
            ("retry.backoff.ms", "10"),
            ("debug", "msg"),
            ("log.queue", "true"),
        ] {
            builder.set(name, value).unwrap();
        }
        let producer = Producer::start(builder.build().unwrap()).unwrap();
        let handles: Vec<Handle> = (0..records).map(|i| producer.send("t", None, Some(format!("v{i}").as_bytes())).unwrap()).collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !handles.iter().all(|h| h.outcome().is_some_and(crate::kafka::receipt::Outcome::is_completed)) {
            assert!(std::time::Instant::now() < deadline, "receipts still pending");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let got = handles
            .iter()
            .map(|h| {
                let receipt = h.read().unwrap();
                assert!(h.free());
                (receipt.outcome().error(), receipt.message().map(str::to_owned))
            })
            .collect();
        producer.close(Some(Duration::from_secs(5)));
        let lines =
            std::iter::from_fn(|| producer.next_log_line()).map(|l| l.message).filter(|m| m.contains("encountered error")).collect();
        (got, lines)
    }

    /// The text after the code's message: cut, and clean.
    fn assert_cut_and_clean(message: &str, prefix: &str) {
        let text = message.strip_prefix(prefix).unwrap_or_else(|| panic!("{message:?} does not start with {prefix:?}"));
        assert!(text.len() <= BROKER_TEXT_MAX_BYTES && text.ends_with("..."), "{} bytes", text.len());
        assert!(!text.chars().any(char::is_control), "control characters left: {text:?}");
        assert!(text.starts_with("line forged  [31m line forged"), "{text:?}");
    }

    fn long_message_only(_: usize, version: i16) -> Vec<u8> {
        produce_answer(version, 87, &[], Some(&long_text()))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn without_record_errors_every_receipt_carries_the_partitions_message_cut() {
        let (got, lines) = receipts_after(long_message_only, 3).await;
        for (code, message) in &got {
            assert_eq!(*code, ErrorCode::INVALID_RECORD);
            assert_cut_and_clean(message.as_deref().expect("a message"), "Broker: Broker failed to validate record: ");
        }
        assert!(got.windows(2).all(|w| w[0] == w[1]), "one message for all");
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = lines[0].strip_suffix(" (failed: INVALID_RECORD)").unwrap_or_else(|| panic!("{}", lines[0]));
        assert_cut_and_clean(line, "t [0]: MessageSet with 3 message(s) encountered error: Broker: Broker failed to validate record: ");
    }

    fn one_record_error(_: usize, version: i16) -> Vec<u8> {
        produce_answer(version, 32, &[(1, Some(&long_text()))], Some("one bad timestamp"))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_record_error_fails_that_record_with_the_partitions_code_and_the_rest_as_different() {
        let (got, _) = receipts_after(one_record_error, 3).await;
        let different =
            format!("{}: {}", ErrorCode::INVALID_DIFFERENT_RECORD.message(), super::super::batch::INVALID_DIFFERENT_RECORD_TEXT);
        assert_eq!(got[0], (ErrorCode::INVALID_DIFFERENT_RECORD, Some(different.clone())));
        assert_eq!(got[2], got[0]);
        assert_eq!(got[1].0, ErrorCode::INVALID_TIMESTAMP);
        assert_cut_and_clean(got[1].1.as_deref().unwrap(), "Broker: Invalid timestamp: ");
    }

    fn two_record_errors(_: usize, version: i16) -> Vec<u8> {
        produce_answer(version, 32, &[(3, None), (0, Some("bad\nkey"))], Some("two bad records"))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn several_record_errors_fail_those_records_as_invalid_record() {
        let (got, lines) = receipts_after(two_record_errors, 4).await;
        let different =
            Some(format!("{}: {}", ErrorCode::INVALID_DIFFERENT_RECORD.message(), super::super::batch::INVALID_DIFFERENT_RECORD_TEXT));
        assert_eq!(
            got,
            [
                (ErrorCode::INVALID_RECORD, Some("Broker: Broker failed to validate record: bad key".to_owned())),
                (ErrorCode::INVALID_DIFFERENT_RECORD, different.clone()),
                (ErrorCode::INVALID_DIFFERENT_RECORD, different),
                (ErrorCode::INVALID_RECORD, None),
            ]
        );
        assert_eq!(
            lines,
            ["t [0]: MessageSet with 4 message(s) encountered error: Broker: Invalid timestamp: two bad records; \
              2 record error(s), the first at record 0: bad key (failed: INVALID_TIMESTAMP)"]
        );
    }

    /// A retriable partition code is retried whatever records it names (as
    /// librdkafka decides by the partition's code alone); the retry's
    /// answer is what counts.
    fn retriable_then_stored(n: usize, version: i16) -> Vec<u8> {
        match n {
            0 => produce_answer(version, 19, &[(0, Some("not now"))], Some("not enough replicas")),
            _ => produce_answer(version, 0, &[], None),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn record_errors_with_a_retriable_code_are_retried_and_leave_no_text() {
        let (got, lines) = receipts_after(retriable_then_stored, 2).await;
        assert_eq!(got, [(ErrorCode::NO_ERROR, None), (ErrorCode::NO_ERROR, None)]);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].ends_with("not enough replicas; 1 record error(s), the first at record 0: not now (retried)"), "{}", lines[0]);
    }
}
