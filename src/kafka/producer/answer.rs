//! A Produce answer applied to its batches: each batch's outcome is read
//! from the response, `decision::decide` says what becomes of it, and this
//! module does it (receipts, retry queue, producer id, fatal state).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::batch::Batch;
use super::decision::{decide, BatchState, Decision, Outcome, Policy};
use super::shared::Shared;
use super::transaction::error::TxnError;
use super::transaction::state::{Phase, Transactions};
use crate::kafka::client::connection::Unanswered;
use crate::kafka::client::error::RequestFailure;
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
        let outcome = match &results {
            Err(failure) => Outcome::Failed(*failure),
            Ok(_) if !expect_response => Outcome::Stored { base_offset: -1, log_append_time: None },
            Ok(results) => match results.get(&(Arc::clone(&batch.topic), batch.partition)) {
                Some(r) => partition_outcome(r),
                None => {
                    answer_lost = true;
                    Outcome::Failed(ANSWER_LOST)
                }
            },
        };
        delivered_any |= matches!(outcome, Outcome::Stored { .. });
        finish(shared, batch, outcome);
    }
    if delivered_any {
        shared.clear_status();
    }
    match answer_lost {
        true => AfterAnswer::Close,
        false => AfterAnswer::Keep,
    }
}

/// One partition's answer in a Produce response.
fn partition_outcome(result: &PartitionResult) -> Outcome {
    match ErrorCode::from_kafka(result.error_code) {
        code if code.is_ok() => Outcome::Stored {
            base_offset: result.base_offset,
            log_append_time: (result.log_append_time_ms >= 0).then_some(result.log_append_time_ms),
        },
        ErrorCode::DUPLICATE_SEQUENCE_NUMBER => Outcome::Duplicate,
        code => Outcome::Failed(RequestFailure { code, written: true }),
    }
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

/// Applies `decide` to one batch.
pub(super) fn finish(shared: &Shared, mut batch: Batch, outcome: Outcome) {
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
            batch.receipts.fail(code);
        }
        Decision::Fatal { cause } => {
            queues.partition_done(&batch.topic, batch.partition);
            drop(queues);
            batch.receipts.fail(ErrorCode::FATAL);
            shared.fail_fatal(cause, cause.message());
        }
    }
}
