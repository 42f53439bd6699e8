//! The one drain: takes what is due out of the accumulator (which honours
//! max.in.flight and queue.buffering.backpressure.threshold), fails what
//! expired, and hands each leader's batches to `dispatch`.
//!
//! Two threads run it: the sender, whenever it wakes, and the application's
//! thread at linger.ms=0 with nothing in flight, right after its record
//! opened a batch: there is nothing to batch with, and draining in place
//! saves the runtime's wake-up (about 70 µs of latency per record at
//! linger.ms=0, and CPU). Whoever runs it holds the producer's `DrainClaim`
//! (franz-go's `maybeBegin`/`maybeFinish`): a thread that asks while another
//! drains leaves the work to that one, which drains again before it lets go,
//! so no record waits for a drain that never comes and no two threads build
//! requests at once. One claim serves every leader: a pass over the
//! accumulator covers them all, and a drain never waits (connecting and
//! packing big batches go to a task), so a claim per leader would only
//! scan the accumulator once per leader.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dispatch::dispatch;
use super::shared::Shared;
use crate::kafka::error::ErrorCode;

/// What a drain left for the sender to act on.
#[derive(Debug, Default)]
pub(super) struct Drained {
    /// Some topic or partition lacks a leader or a partition count.
    pub needs_metadata: bool,
    /// A leader's connection is backed up: look again soon.
    pub backpressured: bool,
    /// When something will next be due (a linger, a backoff, an expiry).
    pub next_due: Option<Instant>,
    /// Partitions to add to the transaction before their batches go.
    pub to_add: Vec<(Arc<str>, i32)>,
}

/// The sender looks at the accumulator at least this often, so a drain
/// elsewhere wakes it only for what is due sooner.
pub(super) const SENDER_IDLE_WAKE: Duration = Duration::from_secs(1);

impl Drained {
    /// Whether the sender must look before its next idle look: to ask for
    /// metadata or partitions added to the transaction, to retry a
    /// backed-up connection, or for something due
    /// within `SENDER_IDLE_WAKE` of `now`. (Each record's expiry, minutes
    /// away, is not worth a wake-up.)
    pub fn needs_the_sender(&self, now: Instant) -> bool {
        self.needs_metadata || self.backpressured || !self.to_add.is_empty() || self.next_due.is_some_and(|t| t < now + SENDER_IDLE_WAKE)
    }
}

/// Drains until no drain was asked for meanwhile; None when another thread
/// holds the claim (it drains again for this ask).
pub(super) fn drain(shared: &Arc<Shared>) -> Option<Drained> {
    let holding = shared.drain_claim.ask()?;
    loop {
        let asked = holding.asked();
        let drained = drain_once(shared);
        if holding.finish(asked) {
            return Some(drained);
        }
    }
}

fn drain_once(shared: &Arc<Shared>) -> Drained {
    let now = Instant::now();
    let flushing = shared.flushing.load(Ordering::Acquire) > 0;
    let untransmitted = shared.cluster.untransmitted();
    let due = shared.queues().take_due(now, flushing, &untransmitted);
    shared.transaction_records_failed(ErrorCode::MSG_TIMED_OUT, due.expired.iter().map(|r| r.records()).sum());
    for receipts in due.expired {
        receipts.fail(ErrorCode::MSG_TIMED_OUT);
    }
    for (leader, batches) in due.requests {
        dispatch(shared, leader, batches);
    }
    Drained { needs_metadata: due.needs_metadata, backpressured: due.backpressured, next_due: due.next_due, to_add: due.to_add }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::client::test_broker::{Script, TestBroker, PRODUCE};
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::producer::{Outgoing, Producer};
    use crate::kafka::protocol::record_headers::NO_HEADERS;

    /// The drain runs on the application's thread at linger.ms=0 with
    /// nothing in flight (acks=0 holds nothing in flight): the record's
    /// request reaches the broker while the producer's runtime is blocked,
    /// which a send that only woke the sender could not do.
    #[tokio::test(flavor = "current_thread")]
    async fn at_linger_0_a_send_writes_its_request_without_the_runtime() {
        let broker = TestBroker::start(Script { topic: Some("t"), ..Script::default() }).await;
        let mut builder = ConfigBuilder::new();
        for (name, value) in [("bootstrap.servers", broker.address.as_str()), ("acks", "0"), ("linger.ms", "0")] {
            builder.set(name, value).unwrap();
        }
        let producer = Producer::start(builder.build().unwrap()).unwrap();
        let record = Outgoing { key: None, value: Some(b"v"), headers: NO_HEADERS, partition: None, timestamp: 0 };
        let produced = |n: usize| {
            move |seen: &crate::kafka::client::test_broker::Seen| seen.requests.iter().filter(|r| r.api_key == PRODUCE).count() == n
        };
        // The first goes through the sender: it learns the leader and connects.
        assert_eq!(producer.send_without_receipt("t", record), ErrorCode::NO_ERROR);
        assert!(broker.wait_for(Duration::from_secs(30), produced(1)).await, "no first Produce: {:?}", broker.seen().requests.len());

        let (blocked_tx, blocked_rx) = std::sync::mpsc::channel();
        producer.shared.runtime.spawn(async move {
            blocked_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_secs(3));
        });
        blocked_rx.recv_timeout(Duration::from_secs(10)).expect("the producer's runtime ran the blocking task");
        assert_eq!(producer.send_without_receipt("t", record), ErrorCode::NO_ERROR);
        let written = broker.wait_for(Duration::from_secs(2), produced(2)).await;
        producer.close(Some(Duration::from_secs(5)));
        assert!(written, "the second Produce waited for the runtime: {} requests seen", broker.seen().requests.len());
    }
}
