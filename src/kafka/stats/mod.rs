//! Statistics as librdkafka's `statistics.interval.ms` gives them: a JSON
//! snapshot with librdkafka's field names (its STATISTICS.md). This module
//! has the parts that do not know the producer: the JSON writer, the
//! window statistics and each broker's counters; the producer builds the
//! snapshot (`producer::statistics`).

use crate::kafka::lock::Locked;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use once_cell::sync::Lazy;
use std::time::{Duration, Instant};

pub mod json;
pub mod window;

use window::{Summary, Window};

/// Microseconds on a monotonic clock (librdkafka's `ts`); its origin is
/// the first time the library read it.
pub fn monotonic_us() -> u64 {
    static ORIGIN: Lazy<Instant> = Lazy::new(Instant::now);
    micros(ORIGIN.elapsed())
}

pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// What one broker's connections did, over the producer's life (one per
/// broker, kept across its connections). Counted per request, never per
/// record; the round-trip window only when statistics are on.
#[derive(Debug, Default)]
pub struct BrokerCounters {
    statistics: bool,
    tx: AtomicU64,
    txbytes: AtomicU64,
    txerrs: AtomicU64,
    txretries: AtomicU64,
    req_timeouts: AtomicU64,
    rx: AtomicU64,
    rxbytes: AtomicU64,
    connects: AtomicU64,
    disconnects: AtomicU64,
    /// `monotonic_us` at the last connect attempt, connection or disconnect.
    state_since: AtomicU64,
    /// Answers that failed to read or made no sense (librdkafka's `rxerrs`),
    /// and answers to no request waiting (`rxcorriderrs`).
    rxerrs: AtomicU64,
    rxcorriderrs: AtomicU64,
    /// `monotonic_us` of the last request and answer on the current
    /// connection, 0 for none (librdkafka's `txidle`, `rxidle`).
    last_sent: AtomicU64,
    last_received: AtomicU64,
    /// Requests by API key (librdkafka's `req`); keys past the table are
    /// not ones this client sends.
    requests: RequestCounts,
    rtt: Mutex<Window>,
    /// How long requests waited to be written whole (librdkafka's `outbuf_latency`, µs).
    outbuf_latency: Mutex<Window>,
    /// The brokers' throttle times, in ms as librdkafka keeps them.
    throttle: Mutex<Window>,
}

#[derive(Debug)]
struct RequestCounts([AtomicU64; API_KEYS]);

impl Default for RequestCounts {
    fn default() -> Self {
        RequestCounts(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// The counters' values at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BrokerTotals {
    pub tx: u64,
    pub txbytes: u64,
    pub txerrs: u64,
    pub txretries: u64,
    pub req_timeouts: u64,
    pub rx: u64,
    pub rxbytes: u64,
    pub connects: u64,
    pub disconnects: u64,
    pub state_since: u64,
    pub rxerrs: u64,
    pub rxcorriderrs: u64,
    pub last_sent: u64,
    pub last_received: u64,
}

/// API keys 0..API_KEYS have a `req` counter.
pub const API_KEYS: usize = 80;

/// The `req` object's keys for a producer, in librdkafka 2.16's order: every
/// key it does not filter out for a producer, by its `rd_kafka_ApiKey2str`
/// name ("Unknown-62?" for keys its table has no name for, as it writes them).
pub const REQUEST_NAMES: [(i16, &str); 27] = [
    (0, "Produce"),
    (2, "ListOffsets"),
    (3, "Metadata"),
    (10, "FindCoordinator"),
    (17, "SaslHandshake"),
    (18, "ApiVersion"),
    (22, "InitProducerId"),
    (24, "AddPartitionsToTxn"),
    (25, "AddOffsetsToTxn"),
    (26, "EndTxn"),
    (28, "TxnOffsetCommit"),
    (36, "SaslAuthenticate"),
    (60, "DescribeCluster"),
    (61, "DescribeProducers"),
    (62, "Unknown-62?"),
    (65, "DescribeTransactions"),
    (66, "ListTransactions"),
    (70, "Unknown-70?"),
    (71, "GetTelemetrySubscriptions"),
    (72, "PushTelemetry"),
    (73, "Unknown-73?"),
    (74, "Unknown-74?"),
    (75, "Unknown-75?"),
    (76, "ShareGroupHeartbeat"),
    (77, "Unknown-77?"),
    (78, "ShareFetch"),
    (79, "ShareAcknowledge"),
];

impl BrokerCounters {
    /// `statistics`: keep the round-trip window (statistics.interval.ms > 0).
    pub fn new(statistics: bool) -> BrokerCounters {
        BrokerCounters { statistics, ..BrokerCounters::default() }
    }

    /// `monotonic_us`, never 0: 0 stands for "none yet" (its origin is the
    /// first read, which may be this one).
    fn now_us() -> u64 {
        monotonic_us().max(1)
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A request of `bytes` went to the wire (or its queue).
    pub fn sent(&self, bytes: usize) {
        Self::add(&self.tx, 1);
        Self::add(&self.txbytes, bytes as u64);
        self.last_sent.store(Self::now_us(), Ordering::Relaxed);
    }

    /// The request `sent` just counted was of `api_key`.
    pub fn sent_request(&self, api_key: i16) {
        if let Some(counter) = usize::try_from(api_key).ok().and_then(|k| self.requests.0.get(k)) {
            Self::add(counter, 1);
        }
    }

    /// Requests of `api_key` sent so far.
    pub fn requests(&self, api_key: i16) -> u64 {
        usize::try_from(api_key).ok().and_then(|k| self.requests.0.get(k)).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// An answer could not be read, or was not a Kafka answer.
    pub fn receive_failed(&self) {
        Self::add(&self.rxerrs, 1);
    }

    /// An answer's correlation id matched no request waiting for one.
    pub fn unexpected_answer(&self) {
        Self::add(&self.rxcorriderrs, 1);
    }

    /// A response of `bytes` came in; `rtt` since its request was sent,
    /// when it answered one that was awaited.
    pub fn received(&self, bytes: usize, rtt: Option<Duration>) {
        Self::add(&self.rx, 1);
        Self::add(&self.rxbytes, bytes as u64);
        self.last_received.store(Self::now_us(), Ordering::Relaxed);
        if let (true, Some(rtt)) = (self.statistics, rtt) {
            let mut window = self.rtt.locked();
            window.record(i64::try_from(micros(rtt)).unwrap_or(i64::MAX));
        }
    }

    /// A request's last byte reached the socket `waited` after it was handed to the wire.
    pub fn written(&self, waited: Duration) {
        if self.statistics {
            self.outbuf_latency.locked().record(i64::try_from(micros(waited)).unwrap_or(i64::MAX));
        }
    }

    /// An answer asked the client to hold back for `throttle` (KIP-219).
    pub fn throttled(&self, throttle: Duration) {
        if self.statistics {
            let ms = i64::try_from(throttle.as_millis()).unwrap_or(i64::MAX);
            self.throttle.locked().record(ms);
        }
    }

    /// Requests that failed because their connection died.
    pub fn failed(&self, requests: usize) {
        Self::add(&self.txerrs, requests as u64);
    }

    /// Requests that passed their deadline.
    pub fn timed_out(&self, requests: usize) {
        Self::add(&self.req_timeouts, requests as u64);
    }

    /// A Produce request that carries a batch sent before.
    pub fn retried(&self) {
        Self::add(&self.txretries, 1);
    }

    /// A connection attempt starts.
    pub fn connecting(&self) {
        Self::add(&self.connects, 1);
        // Idle times are the current connection's, as librdkafka's.
        self.last_sent.store(0, Ordering::Relaxed);
        self.last_received.store(0, Ordering::Relaxed);
        self.state_changed();
    }

    /// A connection is up (connected, versions known, authenticated).
    pub fn state_changed(&self) {
        self.state_since.store(monotonic_us(), Ordering::Relaxed);
    }

    /// A connection died.
    pub fn disconnected(&self) {
        Self::add(&self.disconnects, 1);
        self.state_changed();
    }

    pub fn totals(&self) -> BrokerTotals {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BrokerTotals {
            tx: get(&self.tx),
            txbytes: get(&self.txbytes),
            txerrs: get(&self.txerrs),
            txretries: get(&self.txretries),
            req_timeouts: get(&self.req_timeouts),
            rx: get(&self.rx),
            rxbytes: get(&self.rxbytes),
            connects: get(&self.connects),
            disconnects: get(&self.disconnects),
            state_since: get(&self.state_since),
            rxerrs: get(&self.rxerrs),
            rxcorriderrs: get(&self.rxcorriderrs),
            last_sent: get(&self.last_sent),
            last_received: get(&self.last_received),
        }
    }

    /// The round-trip times since the last call, summed up.
    pub fn roll_rtt(&self) -> Summary {
        self.rtt.locked().roll()
    }

    /// The waits to be written since the last call, summed up.
    pub fn roll_outbuf_latency(&self) -> Summary {
        self.outbuf_latency.locked().roll()
    }

    /// The throttle times since the last call, summed up.
    pub fn roll_throttle(&self) -> Summary {
        self.throttle.locked().roll()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_and_rtt_is_kept_only_with_statistics_on() {
        let on = BrokerCounters::new(true);
        on.sent(100);
        on.sent(50);
        on.received(10, Some(Duration::from_micros(1500)));
        on.received(10, None);
        on.connecting();
        on.disconnected();
        let t = on.totals();
        assert_eq!((t.tx, t.txbytes, t.rx, t.rxbytes, t.connects, t.disconnects), (2, 150, 2, 20, 1, 1));
        let rtt = on.roll_rtt();
        assert_eq!((rtt.cnt, rtt.min, rtt.max), (1, 1500, 1500), "answers to awaited requests only");
        assert_eq!((t.rxerrs, t.rxcorriderrs), (0, 0));
        on.written(Duration::from_micros(20));
        assert_eq!(on.roll_outbuf_latency().max, 20);
        let off = BrokerCounters::new(false);
        off.received(10, Some(Duration::from_micros(1500)));
        off.written(Duration::from_micros(20));
        assert_eq!((off.totals().rx, off.roll_rtt().cnt, off.roll_outbuf_latency().cnt), (1, 0, 0));
    }

    #[test]
    fn requests_are_counted_by_api_key_and_idle_times_by_connection() {
        let counters = BrokerCounters::new(true);
        counters.sent(10);
        counters.sent_request(0);
        counters.sent(10);
        counters.sent_request(0);
        counters.sent(10);
        counters.sent_request(18);
        counters.sent_request(-1); // no counter: ignored
        counters.sent_request(API_KEYS as i16);
        assert_eq!((counters.requests(0), counters.requests(18), counters.requests(3)), (2, 1, 0));
        assert_eq!(REQUEST_NAMES.iter().map(|&(key, _)| counters.requests(key)).sum::<u64>(), counters.totals().tx);
        counters.received(5, None);
        counters.receive_failed();
        counters.unexpected_answer();
        let t = counters.totals();
        assert!(t.last_sent > 0 && t.last_received > 0);
        assert_eq!((t.rxerrs, t.rxcorriderrs), (1, 1));
        counters.connecting();
        let t = counters.totals();
        assert_eq!((t.last_sent, t.last_received), (0, 0), "a new connection has sent and received nothing");
    }

    #[test]
    fn request_names_are_librdkafkas_in_key_order() {
        assert!(REQUEST_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(REQUEST_NAMES.iter().all(|&(key, _)| (key as usize) < API_KEYS));
        let named = |key| REQUEST_NAMES.iter().find(|&&(k, _)| k == key).map(|&(_, name)| name);
        assert_eq!((named(0), named(3), named(18), named(1)), (Some("Produce"), Some("Metadata"), Some("ApiVersion"), None));
    }
}
