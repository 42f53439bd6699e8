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
    rtt: Mutex<Window>,
    /// The brokers' throttle times, in ms as librdkafka keeps them.
    throttle: Mutex<Window>,
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
}

impl BrokerCounters {
    /// `statistics`: keep the round-trip window (statistics.interval.ms > 0).
    pub fn new(statistics: bool) -> BrokerCounters {
        BrokerCounters { statistics, ..BrokerCounters::default() }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A request of `bytes` went to the wire (or its queue).
    pub fn sent(&self, bytes: usize) {
        Self::add(&self.tx, 1);
        Self::add(&self.txbytes, bytes as u64);
    }

    /// A response of `bytes` came in; `rtt` since its request was sent,
    /// when it answered one that was awaited.
    pub fn received(&self, bytes: usize, rtt: Option<Duration>) {
        Self::add(&self.rx, 1);
        Self::add(&self.rxbytes, bytes as u64);
        if let (true, Some(rtt)) = (self.statistics, rtt) {
            let mut window = self.rtt.locked();
            window.record(i64::try_from(micros(rtt)).unwrap_or(i64::MAX));
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
        }
    }

    /// The round-trip times since the last call, summed up.
    pub fn roll_rtt(&self) -> Summary {
        self.rtt.locked().roll()
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
        let off = BrokerCounters::new(false);
        off.received(10, Some(Duration::from_micros(1500)));
        assert_eq!((off.totals().rx, off.roll_rtt().cnt), (1, 0));
    }
}
