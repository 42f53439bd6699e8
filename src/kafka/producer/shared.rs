//! What the application's threads and the producer's background thread
//! share: one struct, in a file of its own so that the producer's parts
//! (sender, dispatch, answer, jobs, statistics) import it and not the
//! producer module that starts them.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};

use super::accumulator::Accumulator;
use super::drain_claim::DrainClaim;
use super::gauge::QueueGauge;
use super::packer::Packer;
use super::statistics::Statistics;
use super::transaction;
use super::transaction::error::TxnError;
use super::transaction::state::Transactions;
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::client::cluster::Cluster;
use crate::kafka::config::Config;
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::log::{Logger, LOG_ERR};

/// What the application's threads and the background thread share.
pub(super) struct Shared {
    pub(super) config: Arc<Config>,
    pub(super) gauge: Arc<QueueGauge>,
    /// Batch and request buffers, reused rather than allocated afresh.
    pub(super) buffers: Arc<BufferPool>,
    pub(super) queues: Mutex<Accumulator>,
    /// The brokers and the connections to them.
    pub(super) cluster: Arc<Cluster>,
    /// Packs batches (compressed, summed) before they are sent.
    pub(super) packer: Packer,
    /// The producer's runtime, for the tasks a drain starts on any thread.
    pub(super) runtime: tokio::runtime::Handle,
    /// Who drains the accumulator now (`drain`).
    pub(super) drain_claim: DrainClaim,
    /// Wakes the sender: a batch is due, metadata is wanted, a request is
    /// over, a job ended, or it must stop.
    pub(super) wake: Arc<tokio::sync::Notify>,
    /// Flush calls in progress: lingering batches go at once.
    pub(super) flushing: AtomicUsize,
    pub(super) metadata_wanted: AtomicBool,
    pub(super) stopping: AtomicBool,
    /// The latest producer-level error, NO_ERROR once things work again.
    pub(super) status: Mutex<ProducerStatus>,
    /// Where its log lines go (stderr, or a queue the application polls).
    pub(super) logger: Arc<Logger>,
    /// statistics.interval.ms: the latest snapshot, and deliveries counted for the next.
    pub(super) stats: Statistics,
    /// The transactional producer's state (transactional.id set).
    pub(super) txn: Option<Arc<Transactions>>,
}

/// A producer-level error: what a polling application can read early,
/// before any receipt fails (librdkafka's error callback, without a callback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerStatus {
    pub code: ErrorCode,
    pub message: String,
}

impl Shared {
    pub(super) fn queues(&self) -> MutexGuard<'_, Accumulator> {
        self.queues.locked()
    }

    pub(super) fn status(&self) -> MutexGuard<'_, ProducerStatus> {
        self.status.locked()
    }

    /// Records a connection-level problem; a fatal error is never replaced.
    pub(super) fn set_status(&self, code: ErrorCode, message: String) {
        let mut status = self.status();
        if status.code != ErrorCode::FATAL {
            // librdkafka logs "n/n brokers are down" once, when it happens.
            if code == ErrorCode::ALL_BROKERS_DOWN && status.code != code {
                self.logger.log(LOG_ERR, "ERROR", format_args!("{message}"));
            }
            *status = ProducerStatus { code, message };
        }
    }

    /// The cluster answered: clears the status unless it is fatal.
    pub(super) fn clear_status(&self) {
        let mut status = self.status();
        if status.code != ErrorCode::NO_ERROR && status.code != ErrorCode::FATAL {
            *status = ProducerStatus { code: ErrorCode::NO_ERROR, message: String::new() };
        }
    }

    /// `records` of the open transaction failed without a Produce answer
    /// (expired, or their partition or topic refused by metadata): the
    /// transaction must be aborted, as librdkafka's commit refuses once
    /// any delivery failed. Called before their receipts fail, so that a
    /// commit waiting for them sees it.
    pub(super) fn transaction_records_failed(&self, code: ErrorCode, records: usize) {
        if let (Some(txn), true) = (&self.txn, records > 0) {
            txn.abortable(TxnError::abortable(code, format!("{records} message(s) failed delivery: {}", code.message())), false);
        }
    }

    /// A fatal error (idempotence can no longer be guaranteed): every queued
    /// and later record fails with `_FATAL`; in-flight ones fail when they return.
    pub(super) fn fail_fatal(&self, cause: ErrorCode, detail: &str) {
        self.stats.fatal_raised(cause, detail);
        if let Some(txn) = &self.txn {
            txn.fatal(TxnError::fatal(transaction::error::reported_code(cause), format!("{}: {detail}", cause.message())));
        }
        let queued = self.queues().close(ErrorCode::FATAL);
        let message = format!("Fatal error: {}: {} ({detail})", cause.name(), cause.message());
        self.logger.log(LOG_ERR, "FATAL", format_args!("{message}"));
        *self.status() = ProducerStatus { code: ErrorCode::FATAL, message };
        for receipts in queued {
            receipts.fail(ErrorCode::FATAL);
        }
    }
}
