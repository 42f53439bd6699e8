//! The wall clock, in milliseconds since the epoch, for the timestamp of
//! every record sent without one of its own.
//!
//! Read once per send, the system clock was a sixth of the send path's CPU
//! (`clock_gettime` through the vDSO takes about 30 ns on the VMs measured,
//! plus `SystemTime`'s checked arithmetic). Here each thread reads the system
//! clock once per `ANCHOR_LIFETIME` and extrapolates from it with the CPU's
//! cycle counter (quanta's calibrated TSC, about 10 ns), so that a send costs
//! a counter read and a multiply. Where the counter cannot be trusted quanta
//! falls back to the monotonic clock: as accurate, only not faster.
//!
//! The extrapolation errs by the counter's calibration error over at most
//! `ANCHOR_LIFETIME` (microseconds), far below the millisecond a timestamp
//! has; a step of the system clock (settimeofday, a VM resumed) shows within
//! `ANCHOR_LIFETIME`, and a counter that reads backwards (another core's
//! TSC) makes the thread read the system clock again.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use once_cell::sync::Lazy;

/// How long a thread extrapolates from one reading of the system clock.
const ANCHOR_LIFETIME_NS: u64 = 100_000_000;

/// The cycle counter, calibrated against the monotonic clock on first use
/// (under a millisecond usually, 200 ms at most: `prepare` does it when a
/// producer is built, not on a send). quanta's `Clock` rather than its
/// `Instant::now`, which checks a thread-local override (with a destructor,
/// which would keep the library from unloading) on every call.
static COUNTER: Lazy<quanta::Clock> = Lazy::new(quanta::Clock::new);

thread_local! {
    /// This thread's last reading of the system clock: the counter's raw
    /// value then and the wall clock in ns since the epoch; `None` before
    /// its first. Plain data, so the thread keeps no destructor.
    static ANCHOR: Cell<Option<(u64, i64)>> = const { Cell::new(None) };
}

/// Calibrates the counter now, so that no send waits for it.
pub fn prepare() {
    Lazy::force(&COUNTER);
}

/// Now, in milliseconds since the epoch (0 for a clock set before 1970).
pub fn now_ms() -> i64 {
    let counter = &*COUNTER;
    let raw = counter.raw();
    ANCHOR.with(|anchor| {
        if let Some((at, wall_ns)) = anchor.get() {
            let elapsed = counter.delta_as_nanos(at, raw);
            if raw >= at && elapsed < ANCHOR_LIFETIME_NS {
                return (wall_ns + elapsed as i64) / 1_000_000;
            }
        }
        let wall_ns = system_ns();
        anchor.set(Some((counter.raw(), wall_ns)));
        wall_ns / 1_000_000
    })
}

fn system_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn system_ms() -> i64 {
        system_ns() / 1_000_000
    }

    #[test]
    fn agrees_with_the_system_clock_to_the_millisecond() {
        prepare();
        // Across more than one anchor lifetime, so that extrapolated and
        // freshly anchored readings are both checked.
        let until = system_ms() + 3 * (ANCHOR_LIFETIME_NS / 1_000_000) as i64;
        let mut readings = 0;
        while system_ms() < until {
            let before = system_ms();
            let now = now_ms();
            let after = system_ms();
            assert!(before - 1 <= now && now <= after + 1, "{before} <= {now} <= {after}");
            readings += 1;
            if readings % 1000 == 0 {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        assert!(readings > 1000, "{readings} readings");
    }

    #[test]
    fn each_thread_keeps_its_own_anchor() {
        let from_threads: Vec<i64> = (0..4).map(|_| std::thread::spawn(now_ms)).map(|t| t.join().unwrap()).collect();
        let now = system_ms();
        for ms in from_threads {
            assert!((now - 1000..=now + 1).contains(&ms), "{ms} against {now}");
        }
    }
}
