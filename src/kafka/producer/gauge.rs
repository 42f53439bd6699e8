//! The queue gauge: messages and payload bytes the application has sent
//! and not yet seen completed, bounded by queue.buffering.max.messages and
//! .kbytes; and the count of failures of records sent without a receipt.

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

use crate::kafka::error::ErrorCode;

/// Messages and payload bytes sent but not yet completed, bounded by
/// queue.buffering.max.messages and queue.buffering.max.kbytes.
#[derive(Debug, Default)]
pub struct QueueGauge {
    messages: AtomicUsize,
    bytes: AtomicUsize,
    /// Records sent without a receipt that failed, and the latest one's code.
    failed_without_receipt: AtomicU64,
    last_failure_without_receipt: AtomicI32,
}

impl QueueGauge {
    /// Reserves room for one message, or says the queue is full.
    pub fn try_reserve(&self, payload: usize, max_messages: usize, max_bytes: usize) -> bool {
        let messages = self.messages.fetch_add(1, Ordering::AcqRel);
        let bytes = self.bytes.fetch_add(payload, Ordering::AcqRel);
        if messages >= max_messages || bytes.saturating_add(payload) > max_bytes {
            self.release(1, payload);
            return false;
        }
        true
    }

    pub fn release(&self, messages: usize, bytes: usize) {
        self.messages.fetch_sub(messages, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Messages and payload bytes outstanding.
    pub fn outstanding(&self) -> (usize, usize) {
        (self.messages.load(Ordering::Acquire), self.bytes.load(Ordering::Acquire))
    }

    pub fn outstanding_messages(&self) -> usize {
        self.messages.load(Ordering::Acquire)
    }

    pub(super) fn count_failed_without_receipt(&self, records: usize, code: ErrorCode) {
        if records > 0 {
            self.last_failure_without_receipt.store(code.code(), Ordering::Release);
            self.failed_without_receipt.fetch_add(records as u64, Ordering::AcqRel);
        }
    }

    /// How many records sent without a receipt have failed, and the latest
    /// failure's code (NO_ERROR before any).
    pub fn failed_without_receipt(&self) -> (u64, ErrorCode) {
        let count = self.failed_without_receipt.load(Ordering::Acquire);
        (count, ErrorCode(self.last_failure_without_receipt.load(Ordering::Acquire)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_refuses_past_either_limit_and_undoes_the_reservation() {
        let g = QueueGauge::default();
        assert!(g.try_reserve(10, 2, 100));
        assert!(g.try_reserve(10, 2, 100));
        assert!(!g.try_reserve(1, 2, 100), "message limit");
        g.release(1, 10);
        assert!(!g.try_reserve(91, 2, 100), "byte limit");
        assert!(g.try_reserve(90, 2, 100));
        assert_eq!(g.outstanding_messages(), 2);
    }
}
