//! The transaction calls' background work, on the producer's runtime:
//! requests to the transaction coordinator (and to a consumer group's
//! coordinator), retried as librdkafka retries them. A call's work ends in
//! `Transactions::task_ended`, which the waiting call reads; what fails for
//! good makes the transaction abortable or the producer fatal here, so the
//! sender and the calls see it at once.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::error::{bumps_epoch, reported_code, unsupported, verdict, CoordinatorApi, ErrorClass, TxnError, Verdict};
use super::state::{Phase, Transactions};
use crate::kafka::client::error::broker_text;
use crate::kafka::error::ErrorCode;
use crate::kafka::producer::jobs::JobDone;
use crate::kafka::producer::shared::Shared;
use crate::kafka::protocol::add_offsets_to_txn::AddOffsetsToTxnRequest;
use crate::kafka::protocol::add_partitions_to_txn::{AddPartitionsToTxnRequest, TopicErrors};
use crate::kafka::protocol::end_txn::EndTxnRequest;
use crate::kafka::protocol::find_coordinator::FindCoordinatorRequest;
use crate::kafka::protocol::init_producer_id::InitProducerIdRequest;
use crate::kafka::protocol::txn_offset_commit::TxnOffsetCommitRequest;
use crate::kafka::protocol::Request;

/// Which coordinator a request goes to.
#[derive(Clone, Copy)]
enum Coordinator<'a> {
    /// The transactional id's (found once, found again when it moves).
    Transaction,
    /// A consumer group's (found for each request).
    Group(&'a str),
}

/// init_transactions' work: the coordinator, then the producer id and
/// epoch for the transactional id; Ready after.
pub(in crate::kafka::producer) async fn init(shared: Arc<Shared>, txn: Arc<Transactions>) {
    let result = take_producer_id(&shared, &txn, false).await;
    if result.is_ok() {
        let mut state = txn.state();
        txn.set_phase(&mut state, Phase::Ready);
    }
    txn.task_ended(result);
}

/// commit_transaction's or abort_transaction's work once the records are
/// done: EndTxn if the coordinator heard of this transaction, then a new
/// epoch if an abort needs one (KIP-360); Ready after.
pub(in crate::kafka::producer) async fn end(shared: Arc<Shared>, txn: Arc<Transactions>, commit: bool) {
    let result = end_transaction(&shared, &txn, commit).await;
    if result.is_ok() {
        shared.queues().transaction_ended();
        let mut state = txn.state();
        state.coordinator_involved = false;
        state.bump_epoch = false;
        state.reason = None;
        txn.set_phase(&mut state, Phase::Ready);
    }
    txn.task_ended(result);
    // Records the sender held back for the ended transaction may go.
    shared.wake.notify_one();
}

/// As librdkafka: EndTxn first, under the current epoch, if the
/// coordinator heard of the transaction; then, for an abort that needs one,
/// the new epoch (KIP-360). An abort's EndTxn answered with a lost producer
/// state is not an error: the new epoch ends the transaction.
async fn end_transaction(shared: &Shared, txn: &Transactions, commit: bool) -> Result<(), TxnError> {
    if txn.state().coordinator_involved {
        let (producer_id, epoch) = producer(shared)?;
        let request = match commit {
            true => EndTxnRequest::commit(&txn.id, producer_id, epoch),
            false => EndTxnRequest::abort(&txn.id, producer_id, epoch),
        };
        let ended =
            ask(shared, txn, CoordinatorApi::EndTxn, Coordinator::Transaction, &request, |r| ErrorCode::from_kafka(r.error_code)).await;
        match ended {
            Err(e) if !commit && bumps_epoch(CoordinatorApi::EndTxn, e.code) => txn.state().bump_epoch = true,
            ended => ended.map(drop)?,
        }
    }
    if !commit && txn.state().bump_epoch {
        take_producer_id(shared, txn, true).await?;
    }
    Ok(())
}

/// send_offsets_to_transaction's work: AddOffsetsToTxn to the transaction
/// coordinator, then TxnOffsetCommit to the group's.
pub(in crate::kafka::producer) async fn send_offsets(
    shared: Arc<Shared>,
    txn: Arc<Transactions>,
    group: String,
    offsets: Vec<(String, i32, i64)>,
) {
    let result = async {
        let (producer_id, epoch) = producer(&shared)?;
        txn.state().coordinator_involved = true;
        let add = AddOffsetsToTxnRequest::new(&txn.id, producer_id, epoch, &group);
        ask(&shared, &txn, CoordinatorApi::AddOffsetsToTxn, Coordinator::Transaction, &add, |r| ErrorCode::from_kafka(r.error_code))
            .await?;
        let offsets = offsets.iter().map(|(topic, partition, offset)| (topic.as_str(), *partition, *offset));
        let commit = TxnOffsetCommitRequest::new(&txn.id, &group, producer_id, epoch, offsets);
        ask(&shared, &txn, CoordinatorApi::TxnOffsetCommit, Coordinator::Group(&group), &commit, |r| first_error(&r.topics)).await.map(drop)
    }
    .await;
    txn.task_ended(result);
}

/// The sender's AddPartitionsToTxn job: once the coordinator added them,
/// the partitions' batches may go. A failure was applied by `ask`.
pub(in crate::kafka::producer) async fn add_partitions(
    shared: Arc<Shared>,
    txn: Arc<Transactions>,
    partitions: Vec<(Arc<str>, i32)>,
    done: JobDone,
) {
    let generation = txn.state().open_generation();
    if let (Some(generation), Ok((producer_id, epoch))) = (generation, producer(&shared)) {
        // Counted before it is sent: an answer lost on the way still
        // leaves the coordinator knowing of the transaction.
        txn.state().coordinator_involved = true;
        let request = AddPartitionsToTxnRequest::new(&txn.id, producer_id, epoch, partitions.iter().map(|(t, p)| (&**t, *p)));
        let api = CoordinatorApi::AddPartitionsToTxn;
        let added = ask_for(&shared, &txn, Some(generation), api, Coordinator::Transaction, &request, |r| first_error(&r.topics)).await;
        // Added to this transaction only: one that ended meanwhile takes its
        // partitions anew.
        let state = txn.state();
        if added.is_ok() && state.is_open(generation) {
            shared.queues().added_to_transaction(&partitions);
        }
    }
    done.finish(&shared);
}

/// InitProducerId for the transactional id: a new id and epoch, or with
/// `bump` the current one's next epoch (KIP-360). Sequences start over.
async fn take_producer_id(shared: &Shared, txn: &Transactions, bump: bool) -> Result<(), TxnError> {
    let timeout_ms = shared.config.transaction_timeout.as_millis().min(i32::MAX as u128) as i32;
    let mut request = InitProducerIdRequest::transactional(&txn.id, timeout_ms);
    if let Some((producer_id, epoch)) = shared.queues().producer().filter(|_| bump) {
        request = request.with_current(producer_id, epoch);
    }
    let response =
        ask(shared, txn, CoordinatorApi::InitProducerId, Coordinator::Transaction, &request, |r| ErrorCode::from_kafka(r.error_code))
            .await?;
    shared.queues().set_producer(Some((response.producer_id, response.producer_epoch)));
    shared.clear_status();
    Ok(())
}

fn producer(shared: &Shared) -> Result<(i64, i16), TxnError> {
    shared.queues().producer().ok_or_else(|| TxnError::retriable(ErrorCode::STATE, "No PID available"))
}

/// The code of a per-partition answer: the first real error (a partition
/// not attempted because another failed says nothing of its own).
fn first_error(topics: &[TopicErrors]) -> ErrorCode {
    let codes = topics.iter().flat_map(|t| &t.partitions).map(|p| ErrorCode::from_kafka(p.error_code));
    let mut not_attempted = false;
    for code in codes {
        match code {
            ErrorCode::NO_ERROR => {}
            ErrorCode::OPERATION_NOT_ATTEMPTED => not_attempted = true,
            code => return code,
        }
    }
    if not_attempted {
        ErrorCode::OPERATION_NOT_ATTEMPTED
    } else {
        ErrorCode::NO_ERROR
    }
}

/// Sends `request` to its coordinator until its answer's code
/// (`code_of`) is done, finding the coordinator again and retrying as
/// librdkafka does (`error::verdict`). An error for good is applied here
/// (the transaction abortable, or the producer fatal) and returned.
async fn ask<R: Request>(
    shared: &Shared,
    txn: &Transactions,
    api: CoordinatorApi,
    to: Coordinator<'_>,
    request: &R,
    code_of: impl Fn(&R::Response) -> ErrorCode,
) -> Result<R::Response, TxnError> {
    ask_for(shared, txn, None, api, to, request, code_of).await
}

/// `ask`, for transaction `generation` only when Some: it gives up once that
/// transaction is over (a late AddPartitionsToTxn must not be retried into
/// the next one, nor under a newer epoch, where it would look fenced).
async fn ask_for<R: Request>(
    shared: &Shared,
    txn: &Transactions,
    generation: Option<u64>,
    api: CoordinatorApi,
    to: Coordinator<'_>,
    request: &R,
    code_of: impl Fn(&R::Response) -> ErrorCode,
) -> Result<R::Response, TxnError> {
    let config = &shared.config;
    let over = || generation.is_some_and(|g| !txn.state().is_open(g));
    loop {
        if shared.stopping.load(Ordering::Acquire) {
            return Err(TxnError::new(None, ErrorCode::DESTROY, "The producer is closing"));
        }
        if over() {
            return Err(TxnError::state("The transaction ended"));
        }
        let (code, detail, answer, asked) = match coordinator(shared, txn, to).await {
            Err((code, detail)) => (code, detail, None, FindCoordinatorRequest::NAME),
            Ok(node) => match call(shared, node, request).await {
                Ok(answer) => (code_of(&answer), String::new(), Some(answer), R::NAME),
                Err((code, detail)) => (code, detail, None, R::NAME),
            },
        };
        if code == ErrorCode::UNSUPPORTED_VERSION && answer.is_none() {
            let error = unsupported(api, asked);
            if error.class == Some(ErrorClass::Fatal) {
                shared.fail_fatal(error.code, &error.message);
                txn.fatal(error.clone());
            }
            return Err(error);
        }
        let why = || match detail.is_empty() {
            true => format!("{} failed: {}", api.name(), code.message()),
            false => format!("{} failed: {}: {detail}", api.name(), code.message()),
        };
        match verdict(api, code, config.retry_backoff) {
            Verdict::Done => return answer.ok_or_else(|| TxnError::fatal(ErrorCode::FAIL, why())),
            Verdict::FindCoordinator => {
                if let Coordinator::Transaction = to {
                    txn.state().coordinator = None;
                }
                tokio::time::sleep(config.retry_backoff).await;
            }
            Verdict::RetryAfter(wait) => tokio::time::sleep(wait).await,
            _ if over() => return Err(TxnError::state("The transaction ended")),
            Verdict::Abortable { bump } => {
                let error = TxnError::abortable(reported_code(code), why());
                txn.abortable(error.clone(), bump);
                return Err(error);
            }
            Verdict::Fatal => {
                let error = TxnError::fatal(reported_code(code), why());
                shared.fail_fatal(code, &error.message);
                txn.fatal(error.clone());
                return Err(error);
            }
        }
    }
}

/// The coordinator's node id: the transaction's as found before, else
/// asked of any broker (FindCoordinator), its address learnt.
async fn coordinator(shared: &Shared, txn: &Transactions, to: Coordinator<'_>) -> Result<i32, (ErrorCode, String)> {
    if let (Coordinator::Transaction, Some(node)) = (to, txn.state().coordinator) {
        return Ok(node);
    }
    let request = match to {
        Coordinator::Transaction => FindCoordinatorRequest::transaction(&txn.id),
        Coordinator::Group(group) => FindCoordinatorRequest::group(group),
    };
    let request = &request;
    let timeout = shared.config.socket_timeout;
    let response = shared
        .cluster
        .with_any_broker(|connection| async move { connection.call(request, timeout).await })
        .await
        .map_err(|e| (e.code, e.detail))?;
    let code = ErrorCode::from_kafka(response.error_code);
    if !code.is_ok() {
        let why = response.error_message.as_deref().filter(|m| !m.is_empty()).map_or_else(|| code.message().to_owned(), broker_text);
        return Err((code, format!("FindCoordinator: {why}")));
    }
    shared.cluster.learn_broker(response.node_id, &response.host, response.port);
    if let Coordinator::Transaction = to {
        txn.state().coordinator = Some(response.node_id);
    }
    Ok(response.node_id)
}

/// `request` to broker `node`, within socket.timeout.ms.
async fn call<R: Request>(shared: &Shared, node: i32, request: &R) -> Result<R::Response, (ErrorCode, String)> {
    let connection = shared.cluster.broker(node).await.map_err(|e| (e.code, e.detail))?;
    connection.call(request, shared.config.socket_timeout).await.map_err(|e| (e.code, e.detail))
}
