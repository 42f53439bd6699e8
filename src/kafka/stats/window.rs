//! librdkafka's window statistics (`rtt`, `batchsize`, `batchcnt`): the
//! values recorded since the last snapshot, summed up as min, max, average,
//! standard deviation and percentiles, then started afresh.
//!
//! librdkafka keeps an HDR histogram; this keeps the values themselves, up
//! to `KEPT` per window, then a uniform sample of them (reservoir sampling),
//! so percentiles are exact for up to `KEPT` values and estimates past it;
//! min, max, sum, count, average and deviation are always exact.

use super::json::Json;

/// Values a window keeps for its percentiles.
pub const KEPT: usize = 10_000;

#[derive(Debug)]
pub struct Window {
    samples: Vec<i64>,
    cnt: u64,
    sum: i64,
    min: i64,
    max: i64,
    squares: f64,
    /// xorshift64 state for the sample past `KEPT`.
    dice: u64,
}

impl Default for Window {
    fn default() -> Self {
        Window { samples: Vec::new(), cnt: 0, sum: 0, min: 0, max: 0, squares: 0.0, dice: 0x9e37_79b9_7f4a_7c15 }
    }
}

/// One window as a snapshot shows it (librdkafka's fields, all integers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub min: i64,
    pub max: i64,
    pub avg: i64,
    pub sum: i64,
    pub cnt: i64,
    pub stddev: i64,
    pub p50: i64,
    pub p75: i64,
    pub p90: i64,
    pub p95: i64,
    pub p99: i64,
    pub p99_99: i64,
    /// Values left out: none here (librdkafka's histogram has a range).
    pub outofrange: i64,
    /// Bytes the window holds for its values (librdkafka: its histogram's).
    pub hdrsize: i64,
}

impl Window {
    pub fn record(&mut self, value: i64) {
        if self.cnt == 0 {
            (self.min, self.max) = (value, value);
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.cnt += 1;
        self.sum = self.sum.saturating_add(value);
        self.squares += (value as f64) * (value as f64);
        if self.samples.len() < KEPT {
            self.samples.push(value);
        } else {
            // Algorithm R: the value replaces a kept one with probability KEPT/cnt.
            self.dice ^= self.dice << 13;
            self.dice ^= self.dice >> 7;
            self.dice ^= self.dice << 17;
            let slot = self.dice % self.cnt;
            if let Ok(slot) = usize::try_from(slot) {
                if slot < KEPT {
                    self.samples[slot] = value;
                }
            }
        }
    }

    /// The window so far, summed up; the window starts afresh.
    pub fn roll(&mut self) -> Summary {
        let hdrsize = (self.samples.capacity() * std::mem::size_of::<i64>()) as i64;
        if self.cnt == 0 {
            return Summary { hdrsize, ..Summary::default() };
        }
        self.samples.sort_unstable();
        let n = self.cnt as f64;
        let mean = self.sum as f64 / n;
        let variance = (self.squares / n - mean * mean).max(0.0);
        let at = |p: f64| percentile(&self.samples, p);
        let summary = Summary {
            min: self.min,
            max: self.max,
            avg: (self.sum as f64 / n).round() as i64,
            sum: self.sum,
            cnt: self.cnt as i64,
            stddev: variance.sqrt().round() as i64,
            p50: at(50.0),
            p75: at(75.0),
            p90: at(90.0),
            p95: at(95.0),
            p99: at(99.0),
            p99_99: at(99.99),
            outofrange: 0,
            hdrsize,
        };
        let dice = self.dice;
        let mut samples = std::mem::take(&mut self.samples);
        samples.clear();
        *self = Window { samples, dice, ..Window::default() };
        summary
    }
}

/// The nearest-rank percentile `p` of `sorted` (not empty).
fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Summary {
    /// Writes it as the object `name`, in librdkafka's field order.
    pub fn write(&self, json: &mut Json, name: &str) {
        json.open(name);
        for (key, value) in [
            ("min", self.min),
            ("max", self.max),
            ("avg", self.avg),
            ("sum", self.sum),
            ("stddev", self.stddev),
            ("p50", self.p50),
            ("p75", self.p75),
            ("p90", self.p90),
            ("p95", self.p95),
            ("p99", self.p99),
            ("p99_99", self.p99_99),
            ("outofrange", self.outofrange),
            ("hdrsize", self.hdrsize),
            ("cnt", self.cnt),
        ] {
            json.int(key, value);
        }
        json.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_window_is_all_zero() {
        let summary = Window::default().roll();
        assert_eq!(Summary { hdrsize: 0, ..summary }, Summary::default());
    }

    #[test]
    fn percentiles_are_nearest_rank_and_the_window_starts_afresh() {
        let mut window = Window::default();
        for v in (1..=100).rev() {
            window.record(v);
        }
        let s = window.roll();
        assert_eq!((s.min, s.max, s.sum, s.cnt, s.avg), (1, 100, 5050, 100, 51), "avg 50.5 rounds up");
        assert_eq!((s.p50, s.p75, s.p90, s.p95, s.p99, s.p99_99), (50, 75, 90, 95, 99, 100));
        assert_eq!(s.stddev, 29, "population deviation of 1..=100 is 28.87");
        assert!(s.hdrsize >= 800);
        window.record(7);
        let s = window.roll();
        assert_eq!((s.min, s.max, s.cnt, s.p50, s.p99_99, s.stddev), (7, 7, 1, 7, 7, 0), "only what came after the roll");
        assert_eq!(window.roll().cnt, 0);
    }

    #[test]
    fn past_kept_values_percentiles_come_from_a_uniform_sample() {
        let mut window = Window::default();
        let n = (KEPT * 10) as i64;
        for v in 0..n {
            window.record(v);
        }
        let s = window.roll();
        assert_eq!((s.min, s.max, s.cnt), (0, n - 1, n), "exact");
        for (p, got) in [(50.0, s.p50), (90.0, s.p90), (99.0, s.p99)] {
            let want = p / 100.0 * n as f64;
            assert!((got as f64 - want).abs() < n as f64 * 0.02, "p{p}: {got}, about {want} expected");
        }
    }

    #[test]
    fn a_summary_is_written_with_librdkafkas_keys() {
        let mut json = Json::new();
        let mut window = Window::default();
        window.record(3);
        window.roll().write(&mut json, "rtt");
        let text = json.finish();
        assert!(text.starts_with(r#"{"rtt":{"min":3,"max":3,"avg":3,"sum":3,"stddev":0,"p50":3,"#), "{text}");
        assert!(text.ends_with(r#""p99_99":3,"outofrange":0,"hdrsize":32,"cnt":1}}"#), "{text}");
    }
}
