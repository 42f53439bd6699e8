//! One record's delivery receipt (a `Response` in the C API), shared
//! between the producer (which completes it) and the application (which
//! polls or waits on it).
//!
//! A receipt is a handful of atomics and its topic: the background thread
//! writes the result fields, then publishes them with one release store of
//! the result code, which reads `PENDING` until then; a reader that sees a
//! code with an acquire load sees the fields. (No separate state field, and
//! `triomphe`'s Arc, which has no weak count: 32 bytes and one reference
//! count take a 48-byte allocation, not 64. One is kept per message, and
//! fresh heap pages cost.)
//! Exactly one owner completes a receipt (the batch that holds it, see
//! `Receipts`), so completing needs no read-modify-write; a second attempt
//! is ignored all the same, so a receipt never changes once completed.

use std::sync::atomic::{fence, AtomicI32, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::error::ErrorCode;
use super::topic_name::{InvalidTopic, TopicLabel};

/// A receipt as the producer and the application share it.
pub type SharedReceipt = triomphe::Arc<Receipt>;

/// The result code of a receipt not completed yet (no error code is this).
const PENDING: i32 = i32::MIN;

#[derive(Debug)]
pub struct Receipt {
    /// The error code (0 when delivered), `PENDING` until completed.
    result: AtomicI32,
    partition: AtomicI32,
    offset: AtomicI64,
    timestamp: AtomicI64,
    /// Shared by the topic's receipts (one reference count per receipt).
    topic: Arc<TopicLabel>,
}

impl Receipt {
    /// A receipt for a record of `topic` created at `timestamp` (ms since
    /// the epoch).
    pub fn pending(topic: Arc<TopicLabel>, timestamp: i64) -> SharedReceipt {
        SharedReceipt::new(Receipt {
            result: AtomicI32::new(PENDING),
            partition: AtomicI32::new(-1),
            offset: AtomicI64::new(-1),
            timestamp: AtomicI64::new(timestamp),
            topic,
        })
    }

    /// A receipt that failed before the record was accepted.
    pub fn failed(topic: Arc<TopicLabel>, code: ErrorCode) -> SharedReceipt {
        let receipt = Receipt::pending(topic, -1);
        receipt.fail(code);
        receipt
    }

    /// A receipt refused at send (`_INVALID_ARG`) for an illegal topic name.
    /// The offset field, unused by a failed receipt, keeps the reason.
    pub fn invalid_topic(topic: Arc<TopicLabel>, reason: InvalidTopic) -> SharedReceipt {
        let receipt = Receipt::pending(topic, -1);
        receipt.complete(ErrorCode::INVALID_ARG, |d| d.offset.store(reason.index() as i64, Ordering::Relaxed));
        receipt
    }

    /// Why the topic was refused, for a receipt made by `invalid_topic`.
    pub fn topic_refusal(&self) -> Option<InvalidTopic> {
        if self.error() != ErrorCode::INVALID_ARG {
            return None;
        }
        let index = usize::try_from(self.offset.load(Ordering::Relaxed)).ok()?;
        InvalidTopic::ALL.get(index).copied()
    }

    /// The record's topic, as the application named it.
    pub fn topic(&self) -> &TopicLabel {
        &self.topic
    }

    pub fn is_completed(&self) -> bool {
        self.result.load(Ordering::Acquire) != PENDING
    }

    /// Blocks until completed or until `timeout` (None = forever) passes.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        SHARDS[shard_of(self)].wait_until(timeout, || self.is_completed())
    }

    pub fn succeeded(&self) -> bool {
        self.result.load(Ordering::Acquire) == 0
    }

    /// NO_ERROR unless completed with an error.
    pub fn error(&self) -> ErrorCode {
        match self.result.load(Ordering::Acquire) {
            PENDING => ErrorCode::NO_ERROR,
            code => ErrorCode(code),
        }
    }

    /// -1 until the partition is chosen, and after a failure (OpenEdge's
    /// `PartitionId` is unknown then).
    pub fn partition(&self) -> i32 {
        match self.result.load(Ordering::Acquire) {
            PENDING | 0 => self.partition.load(Ordering::Acquire),
            _ => -1,
        }
    }

    /// -1 unless delivered (or delivered with acks=0, which gives no offset).
    pub fn offset(&self) -> i64 {
        match self.succeeded() {
            true => self.offset.load(Ordering::Relaxed),
            false => -1,
        }
    }

    /// -1 unless delivered.
    pub fn timestamp(&self) -> i64 {
        match self.succeeded() {
            true => self.timestamp.load(Ordering::Relaxed),
            false => -1,
        }
    }

    pub(crate) fn set_partition(&self, partition: i32) {
        self.partition.store(partition, Ordering::Release);
    }

    /// Records success; `log_append_time` replaces the create time when the
    /// topic uses LogAppendTime. Does not wake waiters: see `notify_completed`.
    pub(crate) fn deliver(&self, offset: i64, log_append_time: Option<i64>) -> bool {
        self.complete(ErrorCode::NO_ERROR, |d| {
            d.offset.store(offset, Ordering::Relaxed);
            if let Some(ts) = log_append_time {
                d.timestamp.store(ts, Ordering::Relaxed);
            }
        })
    }

    /// Records failure. Does not wake waiters: see `notify_completed`.
    pub(crate) fn fail(&self, code: ErrorCode) -> bool {
        debug_assert!(!code.is_ok());
        self.complete(code, |_| {})
    }

    fn complete(&self, code: ErrorCode, write: impl FnOnce(&Self)) -> bool {
        // Only the owning thread writes `result`, so a plain load suffices.
        if self.result.load(Ordering::Relaxed) != PENDING {
            return false;
        }
        write(self);
        self.result.store(code.code(), Ordering::Release);
        true
    }
}

/// Wakes the threads blocked in `Receipt::wait` on any of `deliveries`
/// (just completed), and those in a producer's flush. Called once per
/// completed batch, not per record; with no thread waiting anywhere it is a
/// fence and a load.
pub fn notify_completed<'a>(deliveries: impl IntoIterator<Item = &'a SharedReceipt>) {
    // Orders the completions (and the gauge's release) before the loads of
    // the waiter counts; a waiter orders its count before its check the
    // same way, so either it sees the completion or it is seen here.
    fence(Ordering::SeqCst);
    if WAITERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut shards = 1u64 << ANY_SHARD;
    for d in deliveries {
        shards |= 1 << shard_of(d);
    }
    for (i, shard) in SHARDS.iter().enumerate() {
        if shards & (1 << i) != 0 {
            shard.notify_all();
        }
    }
}

/// Blocks until `done()` or until `timeout` passes, woken by every
/// `notify_completed` (for a producer's flush).
pub fn wait_until(timeout: Option<Duration>, done: impl Fn() -> bool) -> bool {
    SHARDS[ANY_SHARD].wait_until(timeout, done)
}

/// Receipts' waiters sleep on one of `RECEIPT_SHARDS` condition variables,
/// picked by the receipt's address, so that a completed batch wakes only the
/// threads waiting on receipts that hash like its own, not every thread
/// that waits on a receipt (one thread per message, each waiting on its
/// own, is a common way to send synchronously). Flushes wait on one more,
/// which every completion wakes. Nothing here outlives the code: no
/// thread, no destructor.
const RECEIPT_SHARDS: usize = 32;
const ANY_SHARD: usize = RECEIPT_SHARDS;
static SHARDS: [Shard; RECEIPT_SHARDS + 1] = [const { Shard::new() }; RECEIPT_SHARDS + 1];
/// Threads waiting in any shard: completions skip the shards while none is.
static WAITERS: AtomicUsize = AtomicUsize::new(0);

fn shard_of(receipt: &Receipt) -> usize {
    // Receipts are 48-byte allocations: mix the address's bits above them.
    let address = receipt as *const Receipt as usize as u64;
    ((address >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % RECEIPT_SHARDS
}

struct Shard {
    lock: Mutex<()>,
    cond: Condvar,
    waiters: AtomicUsize,
}

impl Shard {
    const fn new() -> Self {
        Shard { lock: Mutex::new(()), cond: Condvar::new(), waiters: AtomicUsize::new(0) }
    }

    fn notify_all(&self) {
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return;
        }
        // Taking the lock orders this notify after any waiter's last check.
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        self.cond.notify_all();
    }

    fn wait_until(&self, timeout: Option<Duration>, done: impl Fn() -> bool) -> bool {
        if done() {
            return true;
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_add(1, Ordering::SeqCst);
        WAITERS.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst); // see `notify_completed`
        let completed = loop {
            if done() {
                break true;
            }
            guard = match deadline {
                None => self.cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break false;
                    }
                    self.cond.wait_timeout(guard, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        };
        WAITERS.fetch_sub(1, Ordering::SeqCst);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        completed
    }
}

/// A pending receipt of topic "t", for tests.
#[cfg(test)]
impl Receipt {
    pub(crate) fn test_pending(timestamp: i64) -> SharedReceipt {
        Receipt::pending(TopicLabel::new("t"), timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_fits_a_48_byte_allocation() {
        // One reference count and the receipt: glibc's smallest chunk that
        // holds 40 bytes is 48.
        assert_eq!(std::mem::size_of::<Receipt>(), 32);
        assert_eq!(std::mem::size_of::<SharedReceipt>(), 8);
        assert!(ErrorCode::all().iter().all(|c| c.code() != PENDING));
    }

    #[test]
    fn pending_receipts_report_unknowns() {
        let d = Receipt::test_pending(123);
        assert!(!d.is_completed() && !d.succeeded());
        assert_eq!((d.error(), d.partition(), d.offset(), d.timestamp()), (ErrorCode::NO_ERROR, -1, -1, -1));
        d.set_partition(2);
        assert_eq!(d.partition(), 2);
        assert!(!d.wait(Some(Duration::from_millis(20))));
    }

    #[test]
    fn first_completion_wins() {
        let d = Receipt::test_pending(123);
        assert!(d.deliver(77, None));
        assert!(!d.fail(ErrorCode::DESTROY));
        assert!(d.succeeded());
        assert_eq!((d.error(), d.offset(), d.timestamp()), (ErrorCode::NO_ERROR, 77, 123));

        let f = Receipt::test_pending(123);
        f.set_partition(4);
        assert!(f.fail(ErrorCode::MSG_TIMED_OUT));
        assert!(!f.deliver(1, None));
        assert_eq!((f.succeeded(), f.error(), f.offset(), f.timestamp()), (false, ErrorCode::MSG_TIMED_OUT, -1, -1));
        assert_eq!(f.partition(), -1, "a failed record's partition is unknown");
        assert_eq!(Receipt::failed(TopicLabel::new("orders"), ErrorCode::QUEUE_FULL).topic().as_str(), "orders");
    }

    #[test]
    fn log_append_time_replaces_create_time() {
        let d = Receipt::test_pending(5);
        d.deliver(0, Some(9));
        assert_eq!(d.timestamp(), 9);
    }

    #[test]
    fn receipts_spread_over_every_shard() {
        let receipts: Vec<_> = (0..2_000).map(|_| Receipt::test_pending(1)).collect();
        let mut used = [0usize; RECEIPT_SHARDS];
        for d in &receipts {
            used[shard_of(d)] += 1;
        }
        assert!(used.iter().all(|&n| n > 0), "{used:?}");
        assert!(*used.iter().max().unwrap() < 4 * 2_000 / RECEIPT_SHARDS, "{used:?}");
    }

    #[test]
    fn many_threads_each_waiting_on_its_own_receipt_all_wake() {
        // Completed one at a time, in reverse order, each with its own notify:
        // every waiter must see its own completion, whatever shard it shares.
        let receipts: Vec<_> = (0..48).map(|_| Receipt::test_pending(1)).collect();
        let waiters: Vec<_> = receipts
            .iter()
            .map(|d| {
                let d = SharedReceipt::clone(d);
                std::thread::spawn(move || d.wait(Some(Duration::from_secs(20))))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        let completing = Instant::now();
        for (i, d) in receipts.iter().enumerate().rev() {
            d.deliver(i as i64, None);
            notify_completed(std::slice::from_ref(d));
        }
        for w in waiters {
            assert!(w.join().unwrap());
        }
        // A missed wake-up would show as a wait that ran into its 20 s.
        assert!(completing.elapsed() < Duration::from_secs(10), "a waiter slept through its completion");
    }

    #[test]
    fn waiters_wake_on_completion_from_another_thread() {
        let d = Receipt::test_pending(1);
        let remote = SharedReceipt::clone(&d);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            remote.deliver(5, None);
            notify_completed(&[remote]);
        });
        assert!(d.wait(None));
        assert_eq!(d.offset(), 5);
        t.join().unwrap();
    }
}
