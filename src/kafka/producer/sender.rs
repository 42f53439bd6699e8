//! The producer's background loop, on its own runtime thread: it drains the
//! accumulator (`drain`: due batches to their leaders, expired ones failed),
//! starts the background jobs (metadata, producer id) when they are wanted,
//! and once a second closes idle connections whose SASL session ends soon.
//! It sleeps until something is due or it is woken: by a send that started
//! or filled a batch, a request that is over, a flush, a job that ended, or
//! close.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::drain::{drain, Drained, SENDER_IDLE_WAKE};
use super::jobs::{fetch_producer_id, refresh_metadata, FastRefresh, Job};
use super::shared::Shared;
use super::statistics::snapshot::Timer;
use super::transaction;
use super::transaction::state::Phase;

/// Longest sleep with nothing due, so periodic work still happens.
const IDLE_WAKE: Duration = SENDER_IDLE_WAKE;
/// How soon a producer held back by queue.buffering.backpressure.threshold
/// looks again at its connections, and the sender looks again after finding
/// another thread draining (which wakes it only for what it leaves).
const RECHECK: Duration = Duration::from_millis(1);

pub(super) async fn run(shared: Arc<Shared>) {
    let config = Arc::clone(&shared.config);
    let mut metadata = Job::new();
    let mut fast_refresh = FastRefresh::new(config.metadata_fast_interval, config.retry_backoff_max);
    let refresh_period = metadata_refresh_period(config.metadata_refresh_interval, config.metadata_max_age);
    let mut producer_id = Job::new();
    let mut add_partitions = Job::new();
    let mut last_metadata: Option<Instant> = None;
    let mut next_session_check = Instant::now() + IDLE_WAKE;
    let mut statistics = Timer::new(&shared);
    // Learn the cluster at once, so an unreachable one is reported early.
    shared.metadata_wanted.store(true, Ordering::Release);

    while !shared.stopping.load(Ordering::Acquire) {
        let now = Instant::now();
        // Another thread draining wakes the sender only for what it leaves
        // behind; a look shortly after makes sure of it.
        let due = drain(&shared).unwrap_or(Drained { next_due: Some(now + RECHECK), ..Drained::default() });
        // A new producer id is fetched only once no request is in flight,
        // so no answer under the old id can arrive after it.
        // (A transactional producer takes its id in init_transactions.)
        let needs_producer_id = config.idempotence && shared.txn.is_none() && {
            let queues = shared.queues();
            queues.producer().is_none() && queues.refusal().is_none() && queues.requests_in_flight() == 0
        };
        let mut next_due = due.next_due;
        if due.backpressured {
            // The connection's writer drains on its own: look again shortly.
            next_due = Some(next_due.map_or(now + RECHECK, |d| d.min(now + RECHECK)));
        }
        let mut due_at = |t: Option<Instant>| {
            if let Some(t) = t {
                next_due = Some(next_due.map_or(t, |d| d.min(t)));
            }
        };

        let periodic = last_metadata.is_some_and(|last| now >= last + refresh_period);
        let wanted = shared.metadata_wanted.swap(false, Ordering::AcqRel);
        if !(due.needs_metadata || periodic || wanted) {
            fast_refresh.reset();
        } else {
            match metadata.try_start(now, fast_refresh.wait()) {
                Ok(done) => {
                    fast_refresh.started();
                    last_metadata = Some(now);
                    tokio::spawn(refresh_metadata(Arc::clone(&shared), done));
                }
                Err(retry_at) => {
                    shared.metadata_wanted.store(true, Ordering::Release);
                    due_at(retry_at);
                }
            }
        }
        // Partitions are added only while the transaction can take them: in
        // an abortable one its records wait for the abort's purge.
        let adding = shared.txn.as_ref().filter(|txn| txn.is(Phase::InTransaction) || txn.is(Phase::Committing));
        if let (Some(txn), false) = (adding, due.to_add.is_empty()) {
            match add_partitions.try_start(now, Duration::ZERO) {
                Ok(done) => {
                    tokio::spawn(transaction::tasks::add_partitions(Arc::clone(&shared), Arc::clone(txn), due.to_add, done));
                }
                Err(retry_at) => due_at(retry_at),
            }
        }
        if needs_producer_id {
            match producer_id.try_start(now, config.retry_backoff) {
                Ok(done) => {
                    tokio::spawn(fetch_producer_id(Arc::clone(&shared), done));
                }
                Err(retry_at) => due_at(retry_at),
            }
        }
        if now >= next_session_check {
            shared.cluster.report_disconnects();
            shared.cluster.renew_due_sessions();
            if let Some(max_idle) = config.connections_max_idle {
                shared.cluster.close_idle_connections(max_idle, now);
            }
            next_session_check = now + IDLE_WAKE;
        }
        if let Some(at) = statistics.tick(&shared, now) {
            next_due = Some(next_due.map_or(at, |d| d.min(at)));
        }

        let sleep_until = next_due.unwrap_or(now + IDLE_WAKE).min(now + IDLE_WAKE);
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep_until(sleep_until.into()) => {}
        }
    }
}

/// How often metadata is refreshed with nothing missing:
/// topic.metadata.refresh.interval.ms (None: off), but never less often
/// than metadata.max.age.ms, the oldest metadata that is used.
fn metadata_refresh_period(interval: Option<Duration>, max_age: Duration) -> Duration {
    interval.map_or(max_age, |interval| interval.min(max_age))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::client::test_broker::{Script, TestBroker, PRODUCE};
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::error::ErrorCode;
    use crate::kafka::producer::{Outgoing, Producer};
    use crate::kafka::protocol::record_headers::NO_HEADERS;

    #[tokio::test(flavor = "current_thread")]
    async fn the_sender_closes_connections_idle_for_connections_max_idle_ms() {
        let broker = TestBroker::start(Script::default()).await;
        let mut builder = ConfigBuilder::new();
        builder.set("bootstrap.servers", &broker.address).unwrap();
        builder.set("connections.max.idle.ms", "100").unwrap();
        let producer = Producer::start(builder.build().unwrap()).unwrap();
        // The sender asks for metadata at once, then has nothing to send.
        let closed = broker.wait_for(Duration::from_secs(30), |seen| seen.accepted == 1 && seen.ended == 1).await;
        producer.close(Some(Duration::from_secs(5)));
        assert!(closed, "the idle connection was not closed within 30 s: {:?}", broker.seen());
    }

    /// At acks=0 a request gives its max.in.flight slot back as soon as it
    /// is queued, so only queue.buffering.backpressure.threshold keeps
    /// requests from piling up in front of a broker that stopped reading;
    /// at linger.ms=0 the application's thread used to build requests
    /// itself, past that check (1,025 unwritten and 2.4 GB queued in 60 s).
    /// Every request comes from the one drain now, the sender's or the
    /// application thread's (which runs it here, at acks=0 and linger.ms=0,
    /// on almost every send): no new one while the
    /// connection holds the threshold's count unwritten, so at most the
    /// ones taken before the first was written (each holds a max.in.flight
    /// slot until then), and what waits is bounded by
    /// queue.buffering.max.kbytes.
    #[tokio::test(flavor = "current_thread")]
    async fn a_broker_that_stops_reading_gets_no_more_than_the_backpressure_threshold() {
        let script = Script { topic: Some("t"), stops_reading_at_produce: true, ..Script::default() };
        let broker = TestBroker::start(script).await;
        let mut builder = ConfigBuilder::new();
        for (name, value) in [
            ("bootstrap.servers", broker.address.as_str()),
            ("acks", "0"),
            ("linger.ms", "0"),
            ("queue.buffering.backpressure.threshold", "1"),
            ("queue.buffering.max.kbytes", "4096"),
            ("socket.send.buffer.bytes", "65536"),
        ] {
            builder.set(name, value).unwrap();
        }
        let producer = Producer::start(builder.build().unwrap()).unwrap();
        let value = vec![7u8; 16 << 10];
        let record = Outgoing { key: None, value: Some(&value), headers: NO_HEADERS, partition: None, timestamp: 0 };
        // The first record's request freezes the connection; the rest are
        // sent on it, connected and frozen.
        assert_eq!(producer.send_without_receipt("t", record), ErrorCode::NO_ERROR);
        let frozen = broker.wait_for(Duration::from_secs(30), |seen| seen.requests.iter().any(|r| r.api_key == PRODUCE)).await;
        assert!(frozen, "no Produce request within 30 s: {:?}", broker.seen().requests.len());
        let (mut accepted, mut refused, mut most_unwritten) = (1, 0, 0);
        let deadline = Instant::now() + Duration::from_secs(60);
        // Until the queue is full for a while: the broker's socket buffers
        // and then 4 MiB of batches have filled.
        while refused < 200 && Instant::now() < deadline {
            match producer.send_without_receipt("t", record) {
                ErrorCode::NO_ERROR => accepted += 1,
                ErrorCode::QUEUE_FULL => {
                    refused += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                other => panic!("send refused with {other:?}"),
            }
            let unwritten = producer.shared.cluster.untransmitted().iter().map(|&(_, n)| n).max();
            most_unwritten = most_unwritten.max(unwritten.unwrap_or(0));
        }
        producer.close(Some(Duration::ZERO));
        assert!(refused >= 200, "the queue never filled: {accepted} accepted in 60 s");
        // At most max.in.flight (5) Produce requests, taken before the
        // first was written, and a Metadata request queued behind them (the
        // sender's refresh; one at a time).
        assert!(most_unwritten <= 5 + 1, "a connection held {most_unwritten} requests unwritten ({accepted} accepted)");
        let produce_requests = broker.seen().requests.iter().filter(|r| r.api_key == PRODUCE).count();
        assert_eq!(produce_requests, 1, "the broker read one Produce request, then stopped reading");
    }

    #[test]
    fn metadata_is_refreshed_before_it_is_older_than_its_max_age() {
        let s = Duration::from_secs;
        assert_eq!(metadata_refresh_period(Some(s(300)), s(900)), s(300));
        assert_eq!(metadata_refresh_period(Some(s(300)), s(60)), s(60));
        assert_eq!(metadata_refresh_period(None, s(900)), s(900), "with the periodic refresh off too");
    }
}
