//! The transactional producer's state, as librdkafka's transaction manager
//! keeps it: the phase, why a transaction must be aborted or the producer
//! is done, the coordinator, and the call in progress. A leaf: the calls
//! (`calls.rs`) and the background work (`tasks.rs`) change it; `send`
//! reads one flag of it per record.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::error::{ErrorClass, TxnError};
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::receipt;

/// Where the transactional producer is; librdkafka's states, less the
/// "not acked" ones (a call here returns only once its work is done or its
/// time is up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// init_transactions not called yet.
    Init,
    /// init_transactions at work: finding the coordinator, InitProducerId.
    WaitPid,
    /// No transaction open.
    Ready,
    /// begin_transaction called: records are accepted.
    InTransaction,
    /// commit_transaction at work: flushing, then EndTxn(commit).
    Committing,
    /// abort_transaction at work: purging, waiting, then EndTxn(abort).
    Aborting,
    /// Something of the transaction failed: only abort_transaction helps.
    AbortableError,
    /// Fenced, or refused for good: the producer can only be closed.
    Fatal,
}

impl Phase {
    /// librdkafka's name for it, in "Operation not valid in state ...".
    pub fn name(self) -> &'static str {
        match self {
            Phase::Init => "Init",
            Phase::WaitPid => "WaitPID",
            Phase::Ready => "Ready",
            Phase::InTransaction => "InTransaction",
            Phase::Committing => "CommittingTransaction",
            Phase::Aborting => "AbortingTransaction",
            Phase::AbortableError => "AbortableError",
            Phase::Fatal => "FatalError",
        }
    }
}

/// The transaction calls, for conflicts and resumption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Init,
    Begin,
    SendOffsets,
    Commit,
    Abort,
}

impl Call {
    pub fn name(self) -> &'static str {
        match self {
            Call::Init => "init_transactions",
            Call::Begin => "begin_transaction",
            Call::SendOffsets => "send_offsets_to_transaction",
            Call::Commit => "commit_transaction",
            Call::Abort => "abort_transaction",
        }
    }
}

/// A call's background work (coordinator requests), which goes on when
/// the call's time is up: the same call again waits for it.
#[derive(Debug)]
pub struct Task {
    pub call: Call,
    /// Set when the work ended.
    pub result: Option<Result<(), TxnError>>,
}

#[derive(Debug)]
pub struct TxnState {
    pub phase: Phase,
    /// Why the transaction must be aborted, or why the producer is done.
    pub reason: Option<TxnError>,
    /// The transaction coordinator's node id, once found.
    pub coordinator: Option<i32>,
    /// A request about this transaction may have reached the coordinator
    /// (AddPartitionsToTxn, AddOffsetsToTxn): ending it needs EndTxn.
    pub coordinator_involved: bool,
    /// The broker lost the producer's state (KIP-360): the abort takes a
    /// new epoch after EndTxn, and sequences start over.
    pub bump_epoch: bool,
    /// The application thread inside a call now, if any.
    pub in_call: Option<Call>,
    /// A call that returned a retriable error: until it is called again
    /// and ends, other calls conflict with it (librdkafka's resumable calls).
    pub pending_call: Option<Call>,
    /// The background work of a call, if any runs or ended unread.
    pub task: Option<Task>,
    /// The last failed call's error, as the application reads it.
    pub last_error: Option<TxnError>,
    /// How many transactions have begun: work started for one transaction
    /// is not applied to the next.
    pub generation: u64,
    /// When the phase last changed (statistics' `txn_stateage`).
    pub phase_since: Instant,
}

/// The transactional producer's shared state.
pub struct Transactions {
    pub id: Arc<str>,
    state: Mutex<TxnState>,
    changed: Condvar,
    /// The phase, for readers that do not take the lock: `send`, once per
    /// record, and the waits for the transaction's records.
    phase_now: AtomicU8,
}

impl Transactions {
    pub fn new(id: Arc<str>) -> Self {
        let state = TxnState {
            phase: Phase::Init,
            reason: None,
            coordinator: None,
            coordinator_involved: false,
            bump_epoch: false,
            in_call: None,
            pending_call: None,
            task: None,
            last_error: None,
            generation: 0,
            phase_since: Instant::now(),
        };
        Transactions { id, state: Mutex::new(state), changed: Condvar::new(), phase_now: AtomicU8::new(Phase::Init as u8) }
    }

    pub fn state(&self) -> MutexGuard<'_, TxnState> {
        self.state.locked()
    }

    /// Whether a record may be sent now; else the code its receipt fails
    /// with: `_FATAL` once the producer is done, `_STATE` outside a
    /// transaction (librdkafka's produce refuses it so).
    pub fn accepts_records(&self) -> Result<(), ErrorCode> {
        match self.phase_now.load(Ordering::Acquire) {
            p if p == Phase::InTransaction as u8 => Ok(()),
            p if p == Phase::Fatal as u8 => Err(ErrorCode::FATAL),
            _ => Err(ErrorCode::STATE),
        }
    }

    /// Whether the phase is `phase`, without the lock.
    pub fn is(&self, phase: Phase) -> bool {
        self.phase_now.load(Ordering::Acquire) == phase as u8
    }

    /// The transaction must be aborted, or the producer is done.
    pub fn failed(&self) -> bool {
        let phase = self.phase_now.load(Ordering::Acquire);
        phase == Phase::AbortableError as u8 || phase == Phase::Fatal as u8
    }

    /// Moves to `phase`; wakes the calls waiting on a change.
    pub fn set_phase(&self, state: &mut TxnState, phase: Phase) {
        state.phase = phase;
        state.phase_since = Instant::now();
        self.phase_now.store(phase as u8, Ordering::Release);
        self.changed.notify_all();
        // A commit or abort waiting for the records stops waiting once the
        // transaction failed.
        if matches!(phase, Phase::AbortableError | Phase::Fatal) {
            receipt::notify_completed(receipt::Wakeups::default());
        }
    }

    /// Something of the open transaction failed for good: it must be
    /// aborted. The first reason is kept. Nothing changes outside a
    /// transaction, or once the producer is done.
    pub fn abortable(&self, error: TxnError, bump_epoch: bool) {
        let mut state = self.state();
        state.bump_epoch |= bump_epoch;
        if matches!(state.phase, Phase::InTransaction | Phase::Committing) {
            state.reason = Some(TxnError::abortable(error.code, error.message));
            self.set_phase(&mut state, Phase::AbortableError);
        }
    }

    /// The producer is done; every later call fails with `error`.
    pub fn fatal(&self, error: TxnError) {
        let mut state = self.state();
        if state.phase != Phase::Fatal {
            state.reason = Some(TxnError::fatal(error.code, error.message));
            self.set_phase(&mut state, Phase::Fatal);
        }
    }

    /// A call's background work ended with `result`.
    pub fn task_ended(&self, result: Result<(), TxnError>) {
        let mut state = self.state();
        // The first end counts (a close ends unfinished work with _DESTROY).
        if let Some(task) = state.task.as_mut().filter(|t| t.result.is_none()) {
            task.result = Some(result);
        }
        self.changed.notify_all();
    }

    /// Waits until the running task of `state` ended, or `deadline`: its
    /// result (the task then forgotten), or None at the deadline.
    pub fn wait_task<'a>(
        &'a self,
        mut state: MutexGuard<'a, TxnState>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, TxnState>, Option<Result<(), TxnError>>) {
        loop {
            if state.task.as_ref().is_some_and(|t| t.result.is_some()) {
                let result = state.task.take().and_then(|t| t.result);
                return (state, result);
            }
            state = match wait(&self.changed, state, deadline) {
                Some(state) => state,
                None => return (self.state(), None),
            };
        }
    }
}

/// One wait on `changed` until `deadline` (None: no deadline); None once
/// it has passed.
fn wait<'a>(changed: &Condvar, state: MutexGuard<'a, TxnState>, deadline: Option<Instant>) -> Option<MutexGuard<'a, TxnState>> {
    let wait = match deadline {
        None => std::time::Duration::from_secs(3600),
        Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => left,
            _ => return None,
        },
    };
    Some(changed.wait_timeout(state, wait).unwrap_or_else(|e| e.into_inner()).0)
}

impl TxnState {
    /// The open transaction's generation, if one is open (or committing).
    pub fn open_generation(&self) -> Option<u64> {
        matches!(self.phase, Phase::InTransaction | Phase::Committing).then_some(self.generation)
    }

    /// Whether transaction `generation` is still open (or committing).
    pub fn is_open(&self, generation: u64) -> bool {
        self.open_generation() == Some(generation)
    }

    /// librdkafka's `rd_kafka_txn_require_state`: Ok in one of `allowed`;
    /// otherwise the producer's fatal error, the transaction's abortable
    /// error, or `_STATE`.
    pub fn require(&self, allowed: &[Phase]) -> Result<(), TxnError> {
        if allowed.contains(&self.phase) {
            return Ok(());
        }
        match (self.phase, &self.reason) {
            (Phase::Fatal | Phase::AbortableError, Some(reason)) => Err(reason.clone()),
            (phase, _) => Err(TxnError::state(format!("Operation not valid in state {}", phase.name()))),
        }
    }

    /// Enters `call` on this thread, as librdkafka's
    /// `rd_kafka_txn_curr_api_begin`: `_PREV_IN_PROGRESS` while another
    /// thread is inside the same call, `_CONFLICT` while another call is
    /// under way or waits to be called again. Nothing changes when refused.
    pub fn enter(&mut self, call: Call) -> Result<(), TxnError> {
        let refused = match (self.in_call, self.pending_call) {
            (Some(c), _) if c == call => {
                Some(TxnError::retriable(ErrorCode::PREV_IN_PROGRESS, format!("Simultaneous {} API calls not allowed", c.name())))
            }
            (Some(other), _) | (None, Some(other)) if other != call => {
                Some(TxnError::retriable(ErrorCode::CONFLICT, format!("Conflicting {} API call is already in progress", other.name())))
            }
            _ => None,
        };
        if let Some(error) = refused {
            self.last_error = Some(error.clone());
            return Err(error);
        }
        self.in_call = Some(call);
        Ok(())
    }

    /// The call entered returns `result`: kept for the application if it
    /// failed; a retriable failure leaves the call to be called again.
    pub fn leave(&mut self, result: Result<(), TxnError>) -> Result<(), TxnError> {
        let call = self.in_call.take();
        // send_offsets_to_transaction is not resumable in librdkafka: after
        // its timeout the application may abort (which first lets its work
        // end) or call it again.
        self.pending_call = match &result {
            Err(e) if e.class == Some(ErrorClass::Retriable) => call.filter(|&c| c != Call::SendOffsets),
            _ => None,
        };
        self.last_error = result.as_ref().err().cloned();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_outside_its_states_gets_the_reason_or_state() {
        let txn = Transactions::new(Arc::from("t"));
        let mut state = txn.state();
        let err = state.require(&[Phase::Ready]).unwrap_err();
        assert_eq!((err.code, err.class), (ErrorCode::STATE, None));
        assert_eq!(err.message, "Operation not valid in state Init");
        state.reason = Some(TxnError::abortable(ErrorCode::MSG_TIMED_OUT, "a record failed"));
        txn.set_phase(&mut state, Phase::AbortableError);
        let err = state.require(&[Phase::InTransaction]).unwrap_err();
        assert_eq!((err.code, err.class), (ErrorCode::MSG_TIMED_OUT, Some(ErrorClass::Abortable)));
        assert!(state.require(&[Phase::AbortableError]).is_ok());
    }

    #[test]
    fn records_are_accepted_only_in_a_transaction() {
        let txn = Transactions::new(Arc::from("t"));
        assert_eq!(txn.accepts_records(), Err(ErrorCode::STATE));
        let mut state = txn.state();
        txn.set_phase(&mut state, Phase::InTransaction);
        drop(state);
        assert_eq!(txn.accepts_records(), Ok(()));
        txn.abortable(TxnError::abortable(ErrorCode::MSG_TIMED_OUT, "x"), false);
        assert_eq!(txn.accepts_records(), Err(ErrorCode::STATE));
        assert_eq!(txn.state().phase, Phase::AbortableError);
    }

    #[test]
    fn a_call_that_timed_out_must_be_called_again_before_another() {
        let txn = Transactions::new(Arc::from("t"));
        let mut state = txn.state();
        state.enter(Call::Commit).unwrap();
        let err = state.enter(Call::Commit).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (ErrorCode::PREV_IN_PROGRESS, "Simultaneous commit_transaction API calls not allowed")
        );
        let err = state.enter(Call::Abort).unwrap_err();
        assert_eq!(err.code, ErrorCode::CONFLICT);
        let timed_out = state.leave(Err(TxnError::retriable(ErrorCode::TIMED_OUT, "commit timed out")));
        assert_eq!(timed_out.unwrap_err().code, ErrorCode::TIMED_OUT);
        let err = state.enter(Call::Abort).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (ErrorCode::CONFLICT, "Conflicting commit_transaction API call is already in progress")
        );
        assert_eq!(state.last_error.as_ref().map(|e| e.code), Some(ErrorCode::CONFLICT));
        state.enter(Call::Commit).expect("the same call resumes");
        state.leave(Ok(())).unwrap();
        assert!(state.last_error.is_none());
        state.enter(Call::SendOffsets).unwrap();
        let _ = state.leave(Err(TxnError::retriable(ErrorCode::TIMED_OUT, "send_offsets timed out")));
        state.enter(Call::Abort).expect("a send_offsets that timed out leaves nothing pending (librdkafka's is not resumable)");
    }

    #[test]
    fn a_waiter_gets_the_tasks_result_or_nothing_at_its_deadline() {
        let txn = Arc::new(Transactions::new(Arc::from("t")));
        txn.state().task = Some(Task { call: Call::Init, result: None });
        let (state, result) = txn.wait_task(txn.state(), Some(Instant::now() + std::time::Duration::from_millis(20)));
        assert!(result.is_none() && state.task.is_some());
        drop(state);
        let ender = Arc::clone(&txn);
        let thread = std::thread::spawn(move || ender.task_ended(Ok(())));
        let (state, result) = txn.wait_task(txn.state(), None);
        thread.join().unwrap();
        assert_eq!(result, Some(Ok(())));
        assert!(state.task.is_none(), "a result is read once");
    }
}
