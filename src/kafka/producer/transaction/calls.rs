//! The transaction calls, on the application's thread, with librdkafka's
//! semantics: each blocks until its work is done or its time is up (a
//! retriable `_TIMED_OUT`: the same call again resumes the same work), and
//! any other call meanwhile conflicts. The work with the coordinator runs
//! on the producer's runtime (`tasks`); the waits for the transaction's
//! records run here.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::TxnError;
use super::state::{Call, Phase, Task, Transactions};
use super::tasks;
use crate::kafka::error::ErrorCode;
use crate::kafka::producer::Producer;
use crate::kafka::receipt;

/// One offset of a consumer group's, committed with the transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl Producer {
    /// Finds the transaction coordinator and takes a producer id and epoch
    /// for transactional.id (fencing older producers with the same id);
    /// once, before the first transaction. `timeout` None:
    /// transaction.timeout.ms.
    pub fn init_transactions(&self, timeout: Option<Duration>) -> Result<(), TxnError> {
        self.transaction_call(Call::Init, |txn| {
            // As librdkafka: no timeout given is twice transaction.timeout.ms,
            // since the coordinator may first finish an older instance's
            // transaction.
            let deadline = self.txn_deadline(Some(timeout.unwrap_or(2 * self.shared.config.transaction_timeout)));
            let mut state = txn.state();
            if state.task.is_none() {
                state.require(&[Phase::Init])?;
                txn.set_phase(&mut state, Phase::WaitPid);
            }
            let work = || tasks::init(Arc::clone(&self.shared), Arc::clone(txn));
            self.await_task(txn, state, Call::Init, deadline, work)
        })
    }

    /// Opens a transaction: records sent from now on belong to it.
    pub fn begin_transaction(&self) -> Result<(), TxnError> {
        self.transaction_call(Call::Begin, |txn| {
            let mut state = txn.state();
            state.require(&[Phase::Ready])?;
            state.generation += 1;
            txn.set_phase(&mut state, Phase::InTransaction);
            Ok(())
        })
    }

    /// Commits `offsets` of consumer group `group` with the transaction
    /// (AddOffsetsToTxn, then TxnOffsetCommit to the group's coordinator).
    /// An empty `offsets` sends nothing and succeeds, as librdkafka's.
    pub fn send_offsets_to_transaction(&self, group: &str, offsets: &[GroupOffset], timeout: Option<Duration>) -> Result<(), TxnError> {
        if let Err(why) = check_offsets(group, offsets) {
            return Err(self.transaction_argument_refused(why));
        }
        self.transaction_call(Call::SendOffsets, |txn| {
            let deadline = self.txn_deadline(timeout);
            let state = txn.state();
            if state.task.is_none() {
                state.require(&[Phase::InTransaction])?;
            }
            if offsets.is_empty() {
                return Ok(());
            }
            let offsets: Vec<(String, i32, i64)> = offsets.iter().map(|o| (o.topic.clone(), o.partition, o.offset)).collect();
            let work = || tasks::send_offsets(Arc::clone(&self.shared), Arc::clone(txn), group.to_owned(), offsets);
            self.await_task(txn, state, Call::SendOffsets, deadline, work)
        })
    }

    /// Flushes the transaction's records and commits it. Fails as "abort
    /// needed" when any of its records failed.
    pub fn commit_transaction(&self, timeout: Option<Duration>) -> Result<(), TxnError> {
        self.transaction_call(Call::Commit, |txn| {
            let deadline = self.txn_deadline(timeout);
            let resuming = resume_or_move(txn, Call::Commit, &[Phase::InTransaction, Phase::Committing], Phase::Committing)?;
            if !resuming {
                let remaining = self.wait_for_records(txn, deadline, true);
                let state = txn.state();
                state.require(&[Phase::Committing])?;
                if remaining > 0 {
                    let why = format!("Failed to flush all outstanding messages within the API timeout: {remaining} message(s) remaining");
                    return Err(TxnError::retriable(ErrorCode::TIMED_OUT, why));
                }
            }
            let work = || tasks::end(Arc::clone(&self.shared), Arc::clone(txn), true);
            self.await_task(txn, txn.state(), Call::Commit, deadline, work)
        })
    }

    /// Aborts the transaction: its queued records fail with
    /// `_PURGE_QUEUE`, those in flight are waited for, and the coordinator
    /// is told (then a new epoch is taken, if the broker lost the
    /// producer's state).
    pub fn abort_transaction(&self, timeout: Option<Duration>) -> Result<(), TxnError> {
        self.transaction_call(Call::Abort, |txn| {
            let deadline = self.txn_deadline(timeout);
            let allowed = [Phase::InTransaction, Phase::AbortableError, Phase::Aborting];
            let resuming = resume_or_move(txn, Call::Abort, &allowed, Phase::Aborting)?;
            if !resuming {
                let purged = self.shared.queues().purge();
                for receipts in purged {
                    receipts.fail(ErrorCode::PURGE_QUEUE);
                }
                let remaining = self.wait_for_records(txn, deadline, false);
                txn.state().require(&[Phase::Aborting])?;
                if remaining > 0 {
                    let why = format!("Failed to wait for outstanding messages within the API timeout: {remaining} message(s) remaining");
                    return Err(TxnError::retriable(ErrorCode::TIMED_OUT, why));
                }
            }
            let work = || tasks::end(Arc::clone(&self.shared), Arc::clone(txn), false);
            self.await_task(txn, txn.state(), Call::Abort, deadline, work)
        })
    }

    /// The last failed transaction call's error; None after a success.
    /// Without transactional.id every call fails with `_NOT_CONFIGURED`.
    pub fn transaction_error(&self) -> Option<TxnError> {
        match &self.shared.txn {
            Some(txn) => txn.state().last_error.clone(),
            None => Some(not_configured()),
        }
    }

    /// A call refused for its arguments before it began: `_INVALID_ARG`
    /// with `why`, kept for `transaction_error`.
    pub fn transaction_argument_refused(&self, why: String) -> TxnError {
        let error = TxnError::new(None, ErrorCode::INVALID_ARG, why);
        if let Some(txn) = &self.shared.txn {
            txn.state().last_error = Some(error.clone());
        }
        error
    }

    /// Enters `call`, runs `body`, leaves with its result (kept for
    /// `transaction_error`). `_NOT_CONFIGURED` without transactional.id.
    fn transaction_call(&self, call: Call, body: impl FnOnce(&Arc<Transactions>) -> Result<(), TxnError>) -> Result<(), TxnError> {
        let Some(txn) = self.shared.txn.as_ref() else { return Err(not_configured()) };
        // Closed: its runtime would never do the work.
        if self.shared.stopping.load(Ordering::Acquire) {
            return Err(TxnError::new(None, ErrorCode::DESTROY, "The producer is closed"));
        }
        txn.state().enter(call)?;
        let result = body(txn);
        txn.state().leave(result)
    }

    /// The call's deadline: `timeout`, or transaction.timeout.ms.
    fn txn_deadline(&self, timeout: Option<Duration>) -> Instant {
        Instant::now() + timeout.unwrap_or(self.shared.config.transaction_timeout)
    }

    /// Starts `call`'s background work unless it runs already, and waits
    /// for it until `deadline`: its result, or a retriable `_TIMED_OUT`
    /// (the work goes on; the same call again waits for it).
    fn await_task<'t, F>(
        &self,
        txn: &'t Transactions,
        mut state: std::sync::MutexGuard<'t, super::state::TxnState>,
        call: Call,
        deadline: Instant,
        work: impl FnOnce() -> F,
    ) -> Result<(), TxnError>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if state.task.as_ref().is_some_and(|t| t.call != call && t.result.is_none()) {
            // Another call's work still runs (a send_offsets that timed out):
            // it ends first, so that its end is not taken for this call's.
            let (waited, _) = txn.wait_task(state, Some(deadline));
            state = waited;
            if state.task.is_some() {
                return Err(TxnError::retriable(ErrorCode::TIMED_OUT, format!("{} timed out", call.name())));
            }
        }
        if state.task.as_ref().map(|t| t.call) != Some(call) {
            state.task = Some(Task { call, result: None });
            self.shared.runtime.spawn(work());
        }
        let (_state, result) = txn.wait_task(state, Some(deadline));
        result.unwrap_or_else(|| Err(TxnError::retriable(ErrorCode::TIMED_OUT, format!("{} timed out", call.name()))))
    }

    /// Waits until none of the producer's records is outstanding, the
    /// transaction failed, or `deadline`; `flushing` sends lingering
    /// batches at once. The records still outstanding.
    fn wait_for_records(&self, txn: &Transactions, deadline: Instant, flushing: bool) -> usize {
        let gauge = &self.shared.gauge;
        if flushing {
            self.shared.flushing.fetch_add(1, Ordering::AcqRel);
            self.shared.wake.notify_one();
        }
        let timeout = deadline.saturating_duration_since(Instant::now());
        receipt::wait_until(Some(timeout), || gauge.outstanding_messages() == 0 || txn.failed());
        if flushing {
            self.shared.flushing.fetch_sub(1, Ordering::AcqRel);
        }
        gauge.outstanding_messages()
    }
}

/// Whether `call`'s coordinator work already runs (the call again after its
/// timeout: it only waits for that work); otherwise the phase must be one of
/// `allowed`, and becomes `phase`.
fn resume_or_move(txn: &Transactions, call: Call, allowed: &[Phase], phase: Phase) -> Result<bool, TxnError> {
    let mut state = txn.state();
    if state.task.as_ref().is_some_and(|t| t.call == call) {
        return Ok(true);
    }
    state.require(allowed)?;
    txn.set_phase(&mut state, phase);
    Ok(false)
}

fn not_configured() -> TxnError {
    TxnError::new(None, ErrorCode::NOT_CONFIGURED, "The Transactional API requires transactional.id to be configured")
}

/// A group id and offsets as Kafka takes them, else why not.
fn check_offsets(group: &str, offsets: &[GroupOffset]) -> Result<(), String> {
    if group.is_empty() {
        return Err("group_id must be a non-empty string".into());
    }
    for o in offsets {
        if o.topic.is_empty() {
            return Err("an offset's topic must be a non-empty string".into());
        }
        if o.partition < 0 {
            return Err(format!("{} [{}]: the partition must be 0 or more", o.topic, o.partition));
        }
        if o.offset < 0 {
            return Err(format!("{} [{}]: the offset {} must be 0 or more", o.topic, o.partition, o.offset));
        }
    }
    Ok(())
}
