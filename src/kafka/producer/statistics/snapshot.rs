//! The snapshot: every interval, librdkafka's statistics JSON built from
//! what the producer shares (`Shared`) and the counters in `Statistics`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{Statistics, TopicDelivered};
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::producer::shared::Shared;
use crate::kafka::stats::json::Json;
use crate::kafka::stats::window::Window;
use crate::kafka::stats::{micros, monotonic_us, REQUEST_NAMES};

/// When the sender builds the next snapshot.
pub(in crate::kafka::producer) struct Timer {
    next: Option<Instant>,
}

impl Timer {
    pub(in crate::kafka::producer) fn new(shared: &Shared) -> Timer {
        Timer { next: shared.stats.interval.map(|interval| Instant::now() + interval) }
    }

    /// Builds and keeps a snapshot if one is due at `now`; returns when the
    /// next is due (None with statistics off).
    pub(in crate::kafka::producer) fn tick(&mut self, shared: &Shared, now: Instant) -> Option<Instant> {
        let (next, interval) = (self.next?, shared.stats.interval?);
        if now >= next {
            let snapshot = snapshot(shared);
            *shared.stats.latest.locked() = Some(snapshot);
            // Late wake-ups do not pile up snapshots.
            self.next = Some((next + interval).max(now + interval / 2));
        }
        self.next
    }
}

/// The JSON snapshot, librdkafka's fields for a producer (its STATISTICS.md).
fn snapshot(shared: &Shared) -> String {
    let now = Instant::now();
    let config = &shared.config;
    let brokers = shared.cluster.census();
    let topics = shared.queues().census(now);
    let mut json = Json::new();
    json.str("name", shared.logger.name());
    json.str("client_id", &config.client_id);
    json.str("type", "producer");
    json.count("ts", monotonic_us());
    json.count("time", SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    json.count("age", micros(now.duration_since(shared.stats.started)));
    json.int("replyq", 0);
    let (msg_cnt, msg_size) = shared.gauge.outstanding();
    json.count("msg_cnt", msg_cnt as u64);
    json.count("msg_size", msg_size as u64);
    // 0 for no limit (queue.buffering.max.messages=0).
    json.count("msg_max", if config.queue_max_messages == usize::MAX { 0 } else { config.queue_max_messages as u64 });
    json.count("msg_size_max", config.queue_max_bytes as u64);
    // librdkafka's legacy simple consumers: a producer has none.
    json.int("simple_cnt", 0);
    json.count("metadata_cache_cnt", topics.iter().filter(|t| t.metadata_known).count() as u64);
    let totals: Vec<_> = brokers.iter().map(|b| b.counters.totals()).collect();
    json.count("tx", totals.iter().map(|t| t.tx).sum());
    json.count("tx_bytes", totals.iter().map(|t| t.txbytes).sum());
    json.count("rx", totals.iter().map(|t| t.rx).sum());
    json.count("rx_bytes", totals.iter().map(|t| t.rxbytes).sum());
    let mut delivered = shared.stats.delivered();
    json.count("txmsgs", delivered.txmsgs);
    json.count("txmsg_bytes", delivered.txmsg_bytes);
    // Consumed messages: a producer consumes none.
    json.int("rxmsgs", 0);
    json.int("rxmsg_bytes", 0);

    json.open("brokers");
    let clock = monotonic_us();
    for (broker, t) in brokers.iter().zip(&totals) {
        json.open(&broker.name);
        json.str("name", &broker.name);
        json.int("nodeid", broker.nodeid.into());
        json.str("nodename", &broker.nodename);
        json.str("source", if broker.nodeid < 0 { "configured" } else { "learned" });
        json.str("state", broker.state);
        let since = if t.connects == 0 { shared.stats.started_us() } else { t.state_since };
        json.count("stateage", clock.saturating_sub(since));
        json.count("outbuf_cnt", broker.depths.outbuf_cnt as u64);
        json.count("outbuf_msg_cnt", broker.depths.outbuf_msg_cnt as u64);
        json.count("waitresp_cnt", broker.depths.waitresp_cnt as u64);
        json.count("waitresp_msg_cnt", broker.depths.waitresp_msg_cnt as u64);
        json.count("tx", t.tx);
        json.count("txbytes", t.txbytes);
        json.count("txerrs", t.txerrs);
        json.count("txretries", t.txretries);
        // As librdkafka: -1 unless up and used on this connection.
        let idle = |at: u64| if broker.state == "UP" && at > 0 { clock.saturating_sub(at) as i64 } else { -1 };
        json.int("txidle", idle(t.last_sent));
        json.count("req_timeouts", t.req_timeouts);
        json.count("rx", t.rx);
        json.count("rxbytes", t.rxbytes);
        json.count("rxerrs", t.rxerrs);
        json.count("rxcorriderrs", t.rxcorriderrs);
        // Partial message sets in Fetch answers, and decompression buffers
        // grown for them: a producer fetches nothing. librdkafka never
        // counts buf_grow at all.
        json.int("rxpartial", 0);
        json.int("rxidle", idle(t.last_received));
        json.int("zbuf_grow", 0);
        json.int("buf_grow", 0);
        json.count("connects", t.connects);
        json.count("disconnects", t.disconnects);
        broker.counters.roll_outbuf_latency().write(&mut json, "outbuf_latency");
        broker.counters.roll_rtt().write(&mut json, "rtt");
        broker.counters.roll_throttle().write(&mut json, "throttle");
        json.open("req");
        for (api_key, name) in REQUEST_NAMES {
            json.count(name, broker.counters.requests(api_key));
        }
        json.close();
        json.open("toppars");
        for topic in &topics {
            for p in topic.partitions.iter().filter(|p| p.leader == broker.nodeid && p.partition >= 0) {
                json.open(&format!("{}-{}", topic.topic, p.partition));
                json.str("topic", &topic.topic);
                json.int("partition", p.partition.into());
                json.close();
            }
        }
        json.close();
        json.close();
    }
    json.close();

    // Topics in the queues, and topics forgotten since that delivered records.
    let mut names: BTreeMap<Arc<str>, Option<&_>> = delivered.topics.keys().map(|t| (Arc::clone(t), None)).collect();
    for topic in &topics {
        names.insert(Arc::clone(&topic.topic), Some(topic));
    }
    json.open("topics");
    for (name, census) in names {
        let mut own = delivered.topics.get_mut(&name);
        json.open(&name);
        json.str("topic", &name);
        json.count("age", census.map_or(0, |c| c.age_ms));
        json.count("metadata_age", census.map_or(0, |c| c.metadata_age_ms));
        let mut window = |json: &mut Json, key: &str, pick: fn(&mut TopicDelivered) -> &mut Window| {
            own.as_deref_mut().map_or_else(|| Window::default().roll(), |t| pick(t).roll()).write(json, key)
        };
        window(&mut json, "batchsize", |t| &mut t.batchsize);
        window(&mut json, "batchcnt", |t| &mut t.batchcnt);
        json.open("partitions");
        let queued = census.map_or(&[][..], |c| &c.partitions[..]);
        let mut numbers: Vec<i32> = queued.iter().map(|p| p.partition).collect();
        if let Some(t) = own.as_deref() {
            numbers.extend(t.partitions.keys().filter(|p| !queued.iter().any(|q| q.partition == **p)));
        }
        for number in numbers {
            let queue = queued.iter().find(|p| p.partition == number);
            let (txmsgs, txbytes) = own.as_deref().and_then(|t| t.partitions.get(&number)).copied().unwrap_or_default();
            let leader = queue.map_or(-1, |q| q.leader);
            json.open(&number.to_string());
            json.int("partition", number.into());
            json.int("broker", leader.into());
            json.int("leader", leader.into());
            // A consumer's assignment flags: a producer's partitions are
            // neither desired nor, once in metadata, unknown (librdkafka's).
            json.bool("desired", false);
            json.bool("unknown", false);
            json.count("msgq_cnt", queue.map_or(0, |q| q.msgq_cnt) as u64);
            json.count("msgq_bytes", queue.map_or(0, |q| q.msgq_bytes) as u64);
            // librdkafka writes 0 here always: its broker thread's queue.
            json.int("xmit_msgq_cnt", 0);
            json.int("xmit_msgq_bytes", 0);
            consumer_fields(&mut json);
            json.int("leader_epoch", queue.map_or(-1, |q| q.leader_epoch).into());
            json.count("txmsgs", txmsgs);
            json.count("txbytes", txbytes);
            json.int("rxmsgs", 0);
            json.int("rxbytes", 0);
            json.count("msgs", queue.map_or(0, |q| q.msgs));
            json.int("rx_ver_drops", 0);
            json.count("msgs_inflight", queue.map_or(0, |q| q.msgs_inflight) as u64);
            let next_ack_seq = queue.map_or(0, |q| q.next_ack_seq);
            json.int("next_ack_seq", next_ack_seq.into());
            // Diverges from next_ack_seq only while librdkafka waits for an
            // error it expects; this producer never proceeds past one.
            json.int("next_err_seq", next_ack_seq.into());
            json.count("acked_msgid", queue.map_or(0, |q| q.acked_msgid));
            json.close();
        }
        json.close();
        json.close();
    }
    json.close();
    drop(delivered);
    if config.idempotence {
        eos(&mut json, shared, now);
    }
    if let Some(fatal) = shared.stats.fatal.locked().as_ref() {
        json.open("fatal");
        // librdkafka's err2str text, which the error table keeps.
        json.str("error", fatal.cause.message());
        json.str("reason", &fatal.reason);
        json.count("cnt", fatal.cnt.into());
        json.close();
    }
    json.finish()
}

/// librdkafka's `eos`, which it writes for the idempotent producer only.
fn eos(json: &mut Json, shared: &Shared, now: Instant) {
    let identity = shared.queues().identity_census();
    let fatal = shared.queues().refusal() == Some(ErrorCode::FATAL);
    let ms = |since: Instant| now.saturating_duration_since(since).as_millis() as u64;
    // librdkafka's RequestPID, WaitTransport and WaitPID are one state here:
    // no id, one being fetched.
    let idemp_state = match (fatal, identity.current) {
        (true, _) => "FatalError",
        (false, Some(_)) => "Assigned",
        (false, None) => "RequestPID",
    };
    json.open("eos");
    json.str("idemp_state", idemp_state);
    json.count("idemp_stateage", ms(identity.changed_at.unwrap_or(shared.stats.started)));
    // Not transactional, librdkafka's txn_state stays Init, its age counted
    // from its clock's origin (as `ts` is).
    let (txn_state, txn_stateage, txn_may_enq) = match &shared.txn {
        Some(txn) => {
            let state = txn.state();
            (state.phase.name(), ms(state.phase_since), txn.accepts_records().is_ok())
        }
        None => ("Init", monotonic_us() / 1000, false),
    };
    json.str("txn_state", txn_state);
    json.count("txn_stateage", txn_stateage);
    json.bool("txn_may_enq", txn_may_enq);
    let (producer_id, producer_epoch) = identity.current.unwrap_or((-1, -1));
    json.int("producer_id", producer_id);
    json.int("producer_epoch", producer_epoch.into());
    json.count("epoch_cnt", identity.taken.into());
    json.close();
}

/// librdkafka's consumer fields of a partition, as it writes them for a
/// producer: no fetch, no offsets (-1001, its OFFSET_INVALID), no lag.
fn consumer_fields(json: &mut Json) {
    const INVALID: i64 = -1001;
    json.int("fetchq_cnt", 0);
    json.int("fetchq_size", 0);
    json.str("fetch_state", "none");
    json.int("query_offset", INVALID);
    json.int("next_offset", 0);
    json.int("app_offset", INVALID);
    json.int("stored_offset", INVALID);
    json.int("stored_leader_epoch", -1);
    // Both spellings, as librdkafka writes them.
    json.int("commited_offset", INVALID);
    json.int("committed_offset", INVALID);
    json.int("committed_leader_epoch", -1);
    json.int("eof_offset", INVALID);
    json.int("lo_offset", INVALID);
    json.int("hi_offset", INVALID);
    json.int("ls_offset", INVALID);
    json.int("consumer_lag", -1);
    json.int("consumer_lag_stored", -1);
}

impl Statistics {
    /// `monotonic_us` when the producer started.
    fn started_us(&self) -> u64 {
        monotonic_us().saturating_sub(micros(self.started.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::producer::Producer;

    #[test]
    fn eos_and_a_fatal_error_show_as_librdkafka_writes_them() {
        let mut builder = ConfigBuilder::new();
        builder.set("bootstrap.servers", "127.0.0.1:1").unwrap();
        builder.set("enable.idempotence", "true").unwrap();
        builder.set("statistics.interval.ms", "60000").unwrap();
        let producer = Producer::start(builder.build().unwrap()).unwrap();
        let shared = &producer.shared;
        let before = snapshot(shared);
        assert!(before.contains(r#""eos":{"idemp_state":"RequestPID","#), "{before}");
        assert!(before.contains(r#""producer_id":-1,"producer_epoch":-1,"epoch_cnt":0}"#), "{before}");
        assert!(!before.contains("fatal"));
        shared.fail_fatal(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, "sequence desynchronization");
        shared.fail_fatal(ErrorCode::INVALID_PRODUCER_EPOCH, "a later one");
        let after = snapshot(shared);
        assert!(after.contains(r#""idemp_state":"FatalError""#), "{after}");
        let message = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.message();
        let fatal = format!(r#","fatal":{{"error":"{message}","reason":"sequence desynchronization","cnt":2}}}}"#);
        assert!(after.ends_with(&fatal), "{after}");
    }
}
