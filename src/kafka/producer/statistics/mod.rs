//! librdkafka's statistics (`statistics.interval.ms`): every interval the
//! background thread builds a JSON snapshot with librdkafka's field names
//! and keeps the latest for `Producer::statistics`.
//!
//! Nothing is counted per record: deliveries are counted per batch where
//! batches complete (`answer::finish`), requests and bytes per request by
//! each broker's wire (`stats::BrokerCounters`); queue depths are read at
//! snapshot time under the locks that guard them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::stats::window::Window;

/// The snapshot, built from everything the producer shares.
pub(super) mod snapshot;

/// The latest snapshot and what is counted between snapshots.
pub(super) struct Statistics {
    interval: Option<Duration>,
    started: Instant,
    latest: Mutex<Option<String>>,
    delivered: Mutex<Delivered>,
    fatal: Mutex<Option<Fatal>>,
}

/// librdkafka's `fatal`: the first fatal error's code and reason, and how
/// many were raised.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fatal {
    cause: ErrorCode,
    reason: String,
    cnt: u32,
}

#[derive(Default)]
struct Delivered {
    txmsgs: u64,
    txmsg_bytes: u64,
    topics: HashMap<Arc<str>, TopicDelivered>,
}

#[derive(Default)]
struct TopicDelivered {
    /// Delivered batches' bytes (uncompressed, header included) and record counts.
    batchsize: Window,
    batchcnt: Window,
    /// Per partition: records delivered and their payload bytes.
    partitions: BTreeMap<i32, (u64, u64)>,
}

impl Statistics {
    pub(super) fn new(interval: Option<Duration>) -> Statistics {
        Statistics { interval, started: Instant::now(), latest: Mutex::new(None), delivered: Mutex::default(), fatal: Mutex::new(None) }
    }

    fn delivered(&self) -> MutexGuard<'_, Delivered> {
        self.delivered.locked()
    }

    /// A batch of `records` was delivered: `payload` key + value + header
    /// bytes in a batch of `batch_bytes`. Does nothing with statistics off.
    pub(super) fn batch_delivered(&self, topic: &Arc<str>, partition: i32, records: usize, payload: usize, batch_bytes: usize) {
        if self.interval.is_none() {
            return;
        }
        let mut delivered = self.delivered();
        delivered.txmsgs += records as u64;
        delivered.txmsg_bytes += payload as u64;
        let topic = match delivered.topics.get_mut(topic) {
            Some(t) => t,
            None => delivered.topics.entry(Arc::clone(topic)).or_default(),
        };
        topic.batchsize.record(batch_bytes as i64);
        topic.batchcnt.record(records as i64);
        let counts = topic.partitions.entry(partition).or_default();
        counts.0 += records as u64;
        counts.1 += payload as u64;
    }

    /// A fatal error was raised: the first one's `cause` and `reason` are
    /// kept, the others counted (as librdkafka's).
    pub(super) fn fatal_raised(&self, cause: ErrorCode, reason: &str) {
        let mut fatal = self.fatal.locked();
        match fatal.as_mut() {
            Some(first) => first.cnt += 1,
            None => *fatal = Some(Fatal { cause, reason: reason.to_owned(), cnt: 1 }),
        }
    }

    /// The latest snapshot; None with statistics off or before the first.
    pub(super) fn latest(&self) -> Option<String> {
        self.latest.locked().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_fatal_error_is_kept_and_every_one_counted() {
        let stats = Statistics::new(None);
        assert_eq!(*stats.fatal.locked(), None);
        stats.fatal_raised(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, "first");
        stats.fatal_raised(ErrorCode::INVALID_PRODUCER_EPOCH, "second");
        let fatal = stats.fatal.locked().clone().unwrap();
        assert_eq!(fatal, Fatal { cause: ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, reason: "first".into(), cnt: 2 });
    }
}
