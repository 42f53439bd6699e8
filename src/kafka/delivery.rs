//! One record's delivery receipt, shared between the producer (which
//! completes it) and the application (which polls or waits on it).
//!
//! A receipt is a handful of atomics: the background thread writes the
//! result fields, then publishes them with one release store of the result
//! code, which reads `PENDING` until then; a reader that sees a code with an
//! acquire load sees the fields. (No separate state field: 24 bytes, so
//! with its reference counts a receipt takes a 48-byte allocation, not 64.
//! One is kept per message, and fresh heap pages cost.)
//! Exactly one owner completes a receipt (the batch that holds it, see
//! `Receipts`), so completing needs no read-modify-write; a second attempt
//! is ignored all the same, so a receipt never changes once completed.

use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::error::ErrorCode;

/// The result code of a receipt not completed yet (no error code is this).
const PENDING: i32 = i32::MIN;

#[derive(Debug)]
pub struct Delivery {
    /// The error code (0 when delivered), `PENDING` until completed.
    result: AtomicI32,
    partition: AtomicI32,
    offset: AtomicI64,
    timestamp: AtomicI64,
}

impl Delivery {
    /// A receipt for a record created at `timestamp` (ms since the epoch).
    pub fn pending(timestamp: i64) -> Arc<Delivery> {
        Arc::new(Delivery {
            result: AtomicI32::new(PENDING),
            partition: AtomicI32::new(-1),
            offset: AtomicI64::new(-1),
            timestamp: AtomicI64::new(timestamp),
        })
    }

    /// A receipt that failed before the record was accepted.
    pub fn failed(code: ErrorCode) -> Arc<Delivery> {
        let delivery = Delivery::pending(-1);
        delivery.fail(code);
        delivery
    }

    pub fn is_completed(&self) -> bool {
        self.result.load(Ordering::Acquire) != PENDING
    }

    /// Blocks until completed or until `timeout` (None = forever) passes.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        COMPLETIONS.wait_until(timeout, || self.is_completed())
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

    /// -1 until the partition is chosen.
    pub fn partition(&self) -> i32 {
        self.partition.load(Ordering::Acquire)
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
    /// topic uses LogAppendTime. Does not wake waiters: see `notify_all`.
    pub(crate) fn deliver(&self, offset: i64, log_append_time: Option<i64>) -> bool {
        self.complete(ErrorCode::NO_ERROR, |d| {
            d.offset.store(offset, Ordering::Relaxed);
            if let Some(ts) = log_append_time {
                d.timestamp.store(ts, Ordering::Relaxed);
            }
        })
    }

    /// Records failure. Does not wake waiters: see `notify_all`.
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

/// Wakes every thread blocked in `Delivery::wait` or a producer's flush.
/// Called once per completed batch, not per record.
pub fn notify_all() {
    COMPLETIONS.notify_all();
}

/// Blocks until `done()` or until `timeout` passes, woken by `notify_all`.
pub fn wait_until(timeout: Option<Duration>, done: impl Fn() -> bool) -> bool {
    COMPLETIONS.wait_until(timeout, done)
}

/// One process-wide condition variable for every receipt and flush: a
/// completion costs one notify per batch, a receipt costs no lock of its
/// own, and nothing here outlives the code (no thread, no destructor).
struct Completions {
    lock: Mutex<()>,
    cond: Condvar,
}

static COMPLETIONS: Completions = Completions { lock: Mutex::new(()), cond: Condvar::new() };

impl Completions {
    fn notify_all(&self) {
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
        loop {
            if done() {
                return true;
            }
            guard = match deadline {
                None => self.cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    self.cond.wait_timeout(guard, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_fits_a_48_byte_allocation() {
        // Two reference counts and the receipt: glibc's smallest chunk that
        // holds 40 bytes is 48.
        assert_eq!(std::mem::size_of::<Delivery>(), 24);
        assert!(ErrorCode::all().iter().all(|c| c.code() != PENDING));
    }

    #[test]
    fn pending_receipts_report_unknowns() {
        let d = Delivery::pending(123);
        assert!(!d.is_completed() && !d.succeeded());
        assert_eq!((d.error(), d.partition(), d.offset(), d.timestamp()), (ErrorCode::NO_ERROR, -1, -1, -1));
        d.set_partition(2);
        assert_eq!(d.partition(), 2);
        assert!(!d.wait(Some(Duration::from_millis(20))));
    }

    #[test]
    fn first_completion_wins() {
        let d = Delivery::pending(123);
        assert!(d.deliver(77, None));
        assert!(!d.fail(ErrorCode::DESTROY));
        assert!(d.succeeded());
        assert_eq!((d.error(), d.offset(), d.timestamp()), (ErrorCode::NO_ERROR, 77, 123));

        let f = Delivery::failed(ErrorCode::MSG_TIMED_OUT);
        assert!(!f.deliver(1, None));
        assert_eq!((f.succeeded(), f.error(), f.offset(), f.timestamp()), (false, ErrorCode::MSG_TIMED_OUT, -1, -1));
    }

    #[test]
    fn log_append_time_replaces_create_time() {
        let d = Delivery::pending(5);
        d.deliver(0, Some(9));
        assert_eq!(d.timestamp(), 9);
    }

    #[test]
    fn waiters_wake_on_completion_from_another_thread() {
        let d = Delivery::pending(1);
        let remote = Arc::clone(&d);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            remote.deliver(5, None);
            notify_all();
        });
        assert!(d.wait(None));
        assert_eq!(d.offset(), 5);
        t.join().unwrap();
    }
}
