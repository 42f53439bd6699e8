//! The producer: `send` encodes a record into its partition's batch on the
//! caller's thread, wakes the sender if a batch opened or filled, and
//! returns its receipt at once; a background thread with its own
//! single-threaded tokio runtime does the network work. Requests are built
//! by one drain (`drain`, then `dispatch`), which the sender runs, and which
//! `send` runs in place at linger.ms=0 with nothing in flight, where waking
//! the sender would only add latency.
//!
//! The runtime belongs to the producer: `close` stops and joins it, so a
//! library with no open producer runs no thread at all.

mod accumulator;
mod answer;
mod batch;
mod decision;
mod dispatch;
mod drain;
mod drain_claim;
mod gauge;
mod idempotence;
mod jobs;
mod packer;
mod sender;
mod shared;
mod statistics;
mod transaction;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use accumulator::Outgoing;
use accumulator::{Accumulator, Appended, Refusal};
use batch::payload_len;
use drain_claim::DrainClaim;
use gauge::QueueGauge;
use packer::Packer;
pub use shared::ProducerStatus;
use shared::Shared;
use statistics::Statistics;
pub use transaction::calls::GroupOffset;
pub use transaction::error::TxnError;
use transaction::state::Transactions;

use super::buffer_pool::BufferPool;
use super::client::cluster::Cluster;
use super::clock;
use super::config::Config;
use super::error::ErrorCode;
use super::log::{Context, LogLine, Logger, LOG_WARNING};
use super::protocol::record_headers::NO_HEADERS;
use super::receipt::{self, Handle};
use super::topic_name::InvalidTopic;
use crate::kafka::lock::Locked;

/// How long close waits for the runtime's helper threads (DNS look-ups,
/// compression).
const RUNTIME_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What librdkafka logs when a client starts: its configuration warnings
/// (CONFWARN), and at debug=conf its configuration.
fn log_start(logger: &Logger, config: &Config) {
    for warning in config.warnings() {
        logger.log(LOG_WARNING, "CONFWARN", format_args!("{warning}"));
    }
    if !config.dump.is_empty() {
        logger.debug(Context::Conf, "CONF", format_args!("Client configuration:"));
        for line in &config.dump {
            logger.debug(Context::Conf, "CONF", format_args!("  {line}"));
        }
    }
}

/// A producer made before fork() belongs to the parent: the child has its
/// memory but not its thread (the C layer refuses such a copy, see ffi::fork).
pub struct Producer {
    shared: Arc<Shared>,
    lifecycle: Mutex<Lifecycle>,
    /// Notified when a close ends, for the closes that wait on it.
    closed: Condvar,
}

/// Where the producer is between start and close.
enum Lifecycle {
    Running(JoinHandle<()>),
    /// A close is under way on another thread.
    Closing,
    /// Closed; what that close returned.
    Closed(ErrorCode),
}

impl Producer {
    /// Starts the background thread. Fails only when the OS refuses a thread
    /// or the runtime's timer/IO driver.
    pub fn start(config: Config) -> Result<Producer, String> {
        let config = Arc::new(config);
        let logger = Arc::new(Logger::new(&config.client_id, config.log.clone()));
        log_start(&logger, &config);
        let gauge = Arc::new(QueueGauge::default());
        clock::prepare();
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64) ^ (Arc::as_ptr(&gauge) as u64);
        // A batch buffer grows by doubling up to batch.size, and a request
        // frame holds only headers: larger ones come from rare large records.
        let buffers = Arc::new(BufferPool::keeping_up_to(config.batch_size.max(1 << 20).saturating_mul(2)));
        let wake = Arc::new(tokio::sync::Notify::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("could not start the producer's runtime: {e}"))?;
        let txn = config.transactional_id.clone().map(|id| Arc::new(Transactions::new(id)));
        let shared = Arc::new(Shared {
            stats: Statistics::new(config.statistics_interval),
            queues: Mutex::new(Accumulator::new(Arc::clone(&config), Arc::clone(&gauge), Arc::clone(&buffers), seed)),
            cluster: Arc::new(Cluster::new(Arc::clone(&config), Arc::clone(&buffers), Arc::clone(&logger))),
            packer: Packer::new(Arc::clone(&buffers)),
            runtime: runtime.handle().clone(),
            drain_claim: DrainClaim::default(),
            config,
            gauge,
            buffers,
            wake,
            flushing: AtomicUsize::new(0),
            metadata_wanted: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            status: Mutex::new(ProducerStatus { code: ErrorCode::NO_ERROR, message: String::new() }),
            logger: Arc::clone(&logger),
            txn,
        });
        let background = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ablkafka".into())
            .spawn(move || {
                runtime.block_on(sender::run(background));
                // Drops every task; a batch still in flight fails with _DESTROY.
                runtime.shutdown_timeout(RUNTIME_SHUTDOWN_GRACE);
            })
            .map_err(|e| format!("could not start the producer's thread: {e}"))?;
        Ok(Producer { shared, lifecycle: Mutex::new(Lifecycle::Running(thread)), closed: Condvar::new() })
    }

    /// Queues one record and returns its receipt; never blocks on the
    /// network. Failures known now come back as completed receipts. None
    /// only when no receipt can be made (2^28 held: the application frees
    /// none; or the library is being unloaded).
    pub fn send(&self, topic: &str, key: Option<&[u8]>, value: Option<&[u8]>) -> Option<Handle> {
        self.send_record(topic, Outgoing { key, value, headers: NO_HEADERS, partition: None, timestamp: 0 })
    }

    /// `send` for a record with headers, a partition of its own (it wins
    /// over the partitioner; one the topic does not have fails the receipt
    /// with `_UNKNOWN_PARTITION` once metadata is known) or a timestamp of
    /// its own (CreateTime; 0 means now, as in librdkafka).
    pub fn send_record(&self, topic: &str, record: Outgoing) -> Option<Handle> {
        let timestamp = timestamp_or_now(record.timestamp);
        match self.enqueue(topic, Outgoing { timestamp, ..record }, true) {
            Ok(receipt) => receipt,
            Err(Refused::Topic(reason)) => receipt::refused(topic, ErrorCode::INVALID_ARG, Some(reason)),
            Err(Refused::Code(code)) => receipt::refused(topic, code, None),
            Err(Refused::NoReceipt) => None,
        }
    }

    /// `send_record` without a receipt: accepted (NO_ERROR) or refused now
    /// with the code a receipt would carry. A later failure is counted
    /// (`failed_without_receipt`); flush and close wait for these records
    /// as for the others.
    pub fn send_without_receipt(&self, topic: &str, record: Outgoing) -> ErrorCode {
        let timestamp = timestamp_or_now(record.timestamp);
        match self.enqueue(topic, Outgoing { timestamp, ..record }, false) {
            Ok(_) => ErrorCode::NO_ERROR,
            Err(Refused::Topic(_)) => ErrorCode::INVALID_ARG,
            Err(Refused::Code(code)) => code,
            // Only a send that asks for a receipt can lack one.
            Err(Refused::NoReceipt) => ErrorCode::FAIL,
        }
    }

    /// How many records sent without a receipt have failed since the
    /// producer started, and the latest one's code (NO_ERROR before any).
    pub fn failed_without_receipt(&self) -> (u64, ErrorCode) {
        self.shared.gauge.failed_without_receipt()
    }

    /// Queues one record stamped with its timestamp; returns its receipt if
    /// `with_receipt`.
    fn enqueue(&self, topic: &str, record: Outgoing, with_receipt: bool) -> Result<Option<Handle>, Refused> {
        let config = &self.shared.config;
        if topic.is_empty() {
            return Err(Refused::Topic(InvalidTopic::Empty));
        }
        let payload = payload_len(record.key, record.value, record.headers);
        if payload > config.message_max_bytes {
            return Err(Refused::Code(ErrorCode::MSG_SIZE_TOO_LARGE));
        }
        // A transactional producer takes records only inside a transaction.
        if let Some(txn) = &self.shared.txn {
            txn.accepts_records().map_err(Refused::Code)?;
        }
        if !self.shared.gauge.try_reserve(payload, config.queue_max_messages, config.queue_max_bytes) {
            return Err(Refused::Code(ErrorCode::QUEUE_FULL));
        }
        let (wake, drain_here, receipt) = {
            let mut queues = self.shared.queues();
            if let Some(code) = queues.refusal() {
                drop(queues);
                self.shared.gauge.release(1, payload);
                return Err(Refused::Code(code));
            }
            let Appended { wake, receipt } = match queues.append(topic, record, Instant::now, with_receipt) {
                Ok(appended) => appended,
                Err(refusal) => {
                    drop(queues);
                    self.shared.gauge.release(1, payload);
                    return Err(match refusal {
                        Refusal::Topic(reason) => Refused::Topic(reason),
                        Refusal::UnknownPartition => Refused::Code(ErrorCode::UNKNOWN_PARTITION),
                        Refusal::NoReceipt => Refused::NoReceipt,
                    });
                }
            };
            // linger.ms=0 with nothing in flight: nothing to batch with.
            let drain_here = wake && config.linger.is_zero() && queues.requests_in_flight() == 0;
            (wake, drain_here, receipt)
        };
        if drain_here {
            // The sender is woken only for what the drain leaves (or, if
            // another thread drains, by that thread).
            if drain::drain(&self.shared).is_some_and(|left| left.needs_the_sender(Instant::now())) {
                self.shared.wake.notify_one();
            }
        } else if wake {
            self.shared.wake.notify_one();
        }
        Ok(receipt)
    }

    /// The oldest log line kept for the application (log.queue=true),
    /// taken out; None when there is none or lines go to stderr.
    pub fn next_log_line(&self) -> Option<LogLine> {
        self.shared.logger.next()
    }

    /// The latest statistics snapshot (librdkafka's JSON, see
    /// `statistics`); None when statistics.interval.ms is 0 or before the
    /// first interval has passed.
    pub fn statistics(&self) -> Option<String> {
        self.shared.stats.latest()
    }

    /// The latest producer-level error: `_ALL_BROKERS_DOWN` or `_TRANSPORT`
    /// while brokers cannot be reached, `_FATAL` after a fatal error,
    /// NO_ERROR when the cluster last answered.
    pub fn status(&self) -> ProducerStatus {
        self.shared.status().clone()
    }

    /// Sends what is lingering and waits until nothing is outstanding, or
    /// `timeout` (None = forever) passes: NO_ERROR or `_TIMED_OUT`.
    pub fn flush(&self, timeout: Option<Duration>) -> ErrorCode {
        let gauge = &self.shared.gauge;
        if gauge.outstanding_messages() == 0 {
            return ErrorCode::NO_ERROR;
        }
        self.shared.flushing.fetch_add(1, Ordering::AcqRel);
        self.shared.wake.notify_one();
        let done = receipt::wait_until(timeout, || gauge.outstanding_messages() == 0);
        self.shared.flushing.fetch_sub(1, Ordering::AcqRel);
        match done {
            true => ErrorCode::NO_ERROR,
            false => ErrorCode::TIMED_OUT,
        }
    }

    /// Refuses new records, flushes for up to `timeout`, fails whatever is
    /// still pending with `_DESTROY`, and stops and joins the background
    /// thread. Returns what the flush returned: NO_ERROR only when
    /// everything completed. A close while another is under way waits for
    /// it (within its own `timeout`) and returns the same, or `_TIMED_OUT`;
    /// a close after a close has nothing left to wait for (NO_ERROR).
    pub fn close(&self, timeout: Option<Duration>) -> ErrorCode {
        let mut lifecycle = self.lifecycle.locked();
        match std::mem::replace(&mut *lifecycle, Lifecycle::Closing) {
            Lifecycle::Running(thread) => {
                drop(lifecycle);
                let outcome = self.stop(thread, timeout);
                *self.lifecycle.locked() = Lifecycle::Closed(outcome);
                self.closed.notify_all();
                outcome
            }
            Lifecycle::Closed(outcome) => {
                *lifecycle = Lifecycle::Closed(outcome);
                ErrorCode::NO_ERROR
            }
            Lifecycle::Closing => {
                let deadline = timeout.map(|t| Instant::now() + t);
                loop {
                    if let Lifecycle::Closed(outcome) = *lifecycle {
                        return outcome;
                    }
                    let wait = match deadline {
                        None => Duration::from_secs(3600),
                        Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                            Some(left) if !left.is_zero() => left,
                            _ => return ErrorCode::TIMED_OUT,
                        },
                    };
                    lifecycle = self.closed.wait_timeout(lifecycle, wait).unwrap_or_else(|e| e.into_inner()).0;
                }
            }
        }
    }

    /// The work of the one close that runs: see `close`.
    fn stop(&self, thread: JoinHandle<()>, timeout: Option<Duration>) -> ErrorCode {
        self.shared.queues().refuse_new(ErrorCode::DESTROY);
        let flushed = self.flush(timeout);
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        // The thread cannot panic out of block_on without a bug; either way
        // its receipts were failed when its tasks were dropped.
        let _ = thread.join();
        let leftovers = self.shared.queues().close(ErrorCode::DESTROY);
        for receipts in leftovers {
            receipts.fail(ErrorCode::DESTROY);
        }
        // Requests still in flight: dropping them fails their receipts
        // (_DESTROY), and frees what their completions hold.
        self.shared.cluster.abandon_all();
        // A transaction call waiting on work the stopped runtime dropped
        // returns now rather than at its deadline.
        if let Some(txn) = &self.shared.txn {
            txn.task_ended(Err(TxnError::new(None, ErrorCode::DESTROY, "The producer was closed")));
        }
        flushed
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.close(Some(Duration::ZERO));
    }
}

/// Why a record was refused at send.
enum Refused {
    Topic(InvalidTopic),
    Code(ErrorCode),
    /// No receipt could be made (see `send`).
    NoReceipt,
}

/// A record's timestamp: its own, or now for 0 (librdkafka's rule).
fn timestamp_or_now(timestamp: i64) -> i64 {
    if timestamp != 0 {
        return timestamp;
    }
    clock::now_ms()
}
