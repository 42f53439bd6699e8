//! What becomes of a batch after a Produce attempt: deliver, retry, fail or
//! end the producer. A pure function of the attempt's outcome and the
//! batch's state, so the README's "What the caller sees" table is tested
//! row by row here; `answer` applies the decision.

use std::time::Duration;

use crate::kafka::client::error::RequestFailure;
use crate::kafka::config::Config;
use crate::kafka::error::ErrorCode;

/// What a Produce attempt came to for one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored at `base_offset` (-1 with acks=0).
    Stored {
        base_offset: i64,
        log_append_time: Option<i64>,
    },
    /// DUPLICATE_SEQUENCE_NUMBER (46): the broker says it holds these
    /// sequences already.
    Duplicate,
    Failed(RequestFailure),
}

/// The batch as the decision needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchState {
    /// An earlier attempt was written under the batch's current producer id,
    /// epoch and sequence (so a duplicate can be the broker's copy of it).
    pub written_before: bool,
    /// Attempts that failed and were retried so far.
    pub retries: u32,
    /// Its message.timeout.ms has run out.
    pub expired: bool,
}

/// The options the decision depends on.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub idempotence: bool,
    pub retries: u32,
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
}

impl Policy {
    pub fn of(config: &Config) -> Policy {
        Policy {
            idempotence: config.idempotence,
            retries: config.retries,
            retry_backoff: config.retry_backoff,
            retry_backoff_max: config.retry_backoff_max,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Complete the receipts as delivered.
    Deliver { base_offset: i64, log_append_time: Option<i64> },
    /// Back to the front of its partition's queue, not before `backoff` has
    /// passed; with `new_producer_id`, the broker lost the producer's
    /// sequence state and a new id must be taken first.
    Retry { backoff: Duration, new_producer_id: bool },
    /// Complete the receipts as failed with `code`.
    Fail { code: ErrorCode },
    /// Another producer took over the id: fail with `_FATAL` and end the
    /// producer, giving `cause`.
    Fatal { cause: ErrorCode },
}

/// The decision for one batch. `producer_failed` is true once the producer
/// has had a fatal error: then a batch the broker holds (stored, or a
/// duplicate of one written before) is still delivered, and every other
/// fails with `_FATAL`, never retried.
pub fn decide(outcome: Outcome, batch: BatchState, policy: Policy, producer_failed: bool) -> Decision {
    let failure = match outcome {
        Outcome::Stored { base_offset, log_append_time } => return Decision::Deliver { base_offset, log_append_time },
        // A lost answer's batch, which the broker holds: the broker does not
        // say where (offset -1).
        Outcome::Duplicate if policy.idempotence && batch.written_before => {
            return Decision::Deliver { base_offset: -1, log_append_time: None };
        }
        // Otherwise the broker's sequence state and ours disagree (a broker
        // that lost its state): like OUT_OF_ORDER, never a delivery.
        Outcome::Duplicate => RequestFailure { code: ErrorCode::DUPLICATE_SEQUENCE_NUMBER, written: true },
        Outcome::Failed(failure) => failure,
    };
    let code = failure.code;
    if producer_failed {
        return Decision::Fail { code: ErrorCode::FATAL };
    }
    let mut retriable = code.is_retriable();
    let mut new_producer_id = false;
    if policy.idempotence {
        match code {
            // The broker lost (or never had) the sequence state: a new id,
            // under which every unacknowledged batch is numbered anew.
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::UNKNOWN_PRODUCER_ID | ErrorCode::DUPLICATE_SEQUENCE_NUMBER => {
                retriable = true;
                new_producer_id = true;
            }
            ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED => return Decision::Fatal { cause: code },
            _ => {}
        }
    }
    if retriable && batch.retries < policy.retries && !batch.expired {
        return Decision::Retry { backoff: retry_backoff(policy, batch.retries + 1), new_producer_id };
    }
    // A transient error that outlived the message's time is a timeout.
    let code = if batch.expired && retriable { ErrorCode::MSG_TIMED_OUT } else { code };
    Decision::Fail { code }
}

/// retry.backoff.ms doubling per retry, up to retry.backoff.max.ms.
fn retry_backoff(policy: Policy, retry: u32) -> Duration {
    policy.retry_backoff.saturating_mul(1 << (retry.saturating_sub(1)).min(16)).min(policy.retry_backoff_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn policy(idempotence: bool) -> Policy {
        Policy { idempotence, retries: 3, retry_backoff: 100 * MS, retry_backoff_max: 1000 * MS }
    }

    fn fresh() -> BatchState {
        BatchState { written_before: false, retries: 0, expired: false }
    }

    fn failed(code: i32, written: bool) -> Outcome {
        Outcome::Failed(RequestFailure { code: ErrorCode(code), written })
    }

    fn retry(new_producer_id: bool) -> Decision {
        Decision::Retry { backoff: 100 * MS, new_producer_id }
    }

    fn fail(code: i32) -> Decision {
        Decision::Fail { code: ErrorCode(code) }
    }

    /// The README's "What the caller sees" table, row by row: (row, outcome,
    /// batch, idempotence, what must happen).
    #[test]
    fn every_row_of_the_callers_table() {
        let expired = BatchState { expired: true, ..fresh() };
        let exhausted = BatchState { retries: 3, ..fresh() };
        let written_before = BatchState { written_before: true, ..fresh() };
        let stored = Outcome::Stored { base_offset: 42, log_append_time: None };
        #[rustfmt::skip]
        let rows: &[(&str, Outcome, BatchState, bool, Decision)] = &[
            ("delivered", stored, fresh(), false, Decision::Deliver { base_offset: 42, log_append_time: None }),
            ("never sent: retried", failed(-195, false), fresh(), false, retry(false)),
            ("never sent: expired", failed(-195, false), expired, false, fail(-192)),
            ("leader moved: retried", failed(6, true), fresh(), false, retry(false)),
            ("leader unknown: retried", failed(5, true), fresh(), false, retry(false)),
            ("unknown topic or partition: retried", failed(3, true), fresh(), false, retry(false)),
            ("leader moved: retries run out", failed(6, true), exhausted, false, fail(6)),
            ("leader moved: expired", failed(6, true), expired, false, fail(-192)),
            ("answer lost: connection dropped", failed(-195, true), fresh(), false, retry(false)),
            ("answer lost: request timed out", failed(-185, true), fresh(), false, retry(false)),
            ("answer lost: broker's REQUEST_TIMED_OUT", failed(7, true), fresh(), false, retry(false)),
            ("answer lost: retries run out", failed(-195, true), exhausted, false, fail(-195)),
            ("answer lost: expired", failed(-185, true), expired, false, fail(-192)),
            ("not enough replicas", failed(19, true), fresh(), false, retry(false)),
            ("not enough replicas after append", failed(20, true), fresh(), false, retry(false)),
            ("permanent: message too large", failed(10, true), fresh(), false, fail(10)),
            ("permanent: record list too large", failed(18, true), fresh(), false, fail(18)),
            ("permanent: topic authorization", failed(29, true), fresh(), false, fail(29)),
            ("permanent: corrupt message", failed(2, true), fresh(), false, fail(2)),
            ("permanent: invalid required acks", failed(21, true), fresh(), false, fail(21)),
            ("permanent: invalid record", failed(87, true), fresh(), false, fail(87)),
            ("permanent, idempotent", failed(10, true), fresh(), true, fail(10)),
            ("lost state: out of order", failed(45, true), fresh(), true, retry(true)),
            ("lost state: unknown producer id", failed(59, true), fresh(), true, retry(true)),
            ("lost state: duplicate never written", Outcome::Duplicate, fresh(), true, retry(true)),
            ("lost state: expired", failed(45, true), expired, true, fail(-192)),
            ("duplicate of a lost answer's batch", Outcome::Duplicate, written_before, true, Decision::Deliver { base_offset: -1, log_append_time: None }),
            ("out of order without idempotence", failed(45, true), fresh(), false, fail(45)),
            ("duplicate without idempotence", Outcome::Duplicate, written_before, false, fail(46)),
            ("fenced: invalid epoch", failed(47, true), fresh(), true, Decision::Fatal { cause: ErrorCode(47) }),
            ("fenced: producer fenced", failed(90, true), fresh(), true, Decision::Fatal { cause: ErrorCode(90) }),
            ("closed: destroyed", failed(-197, true), fresh(), false, fail(-197)),
        ];
        for (row, outcome, batch, idempotence, want) in rows {
            assert_eq!(decide(*outcome, *batch, policy(*idempotence), false), *want, "{row}");
        }
    }

    #[test]
    fn after_a_fatal_error_nothing_is_retried() {
        assert_eq!(decide(failed(6, true), fresh(), policy(true), true), fail(-150));
        let stored = Outcome::Stored { base_offset: 1, log_append_time: Some(5) };
        assert_eq!(decide(stored, fresh(), policy(true), true), Decision::Deliver { base_offset: 1, log_append_time: Some(5) });
    }

    #[test]
    fn backoff_doubles_up_to_its_maximum() {
        let backoffs: Vec<Duration> = (0..6)
            .map(|retries| {
                match decide(failed(6, true), BatchState { retries, ..fresh() }, Policy { retries: 10, ..policy(false) }, false) {
                    Decision::Retry { backoff, .. } => backoff,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        assert_eq!(backoffs, [100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]);
    }
}
