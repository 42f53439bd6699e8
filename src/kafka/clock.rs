//! The wall clock, in milliseconds since the epoch, for the timestamp of
//! every record sent without one of its own.
//!
//! Read once per send, the system clock was a sixth of the send path's CPU
//! (`clock_gettime` through the vDSO takes about 30 ns on the VMs measured,
//! plus `SystemTime`'s checked arithmetic). A record's timestamp needs only
//! the millisecond, and at high rates thousands of sends share one. So each
//! thread keeps the millisecond it last read from the system clock and, by
//! the CPU's cycle counter (quanta's calibrated TSC, about 10 ns), how much
//! of that millisecond was left; a send within it gets the same millisecond,
//! which is exactly what the system clock would have said. The window ends
//! `MARGIN` before the millisecond does, far more than the counter's error
//! over a millisecond, so the answer is never one the system clock would not
//! give; after it, or when the counter reads backwards (another core's TSC),
//! the system clock is read again. Where the counter cannot be trusted
//! quanta falls back to the monotonic clock: as exact, only not faster.
//!
//! (An earlier version extrapolated from the counter for 100 ms. Its error
//! was a few microseconds, and that put about 1 in 2,600 timestamps a
//! millisecond before the system clock's reading just before their send.)

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use once_cell::sync::Lazy;

/// How long before the end of its millisecond a thread stops trusting the
/// counter and reads the system clock again.
const MARGIN_NS: u64 = 50_000;

const NANOS_PER_MILLI: i64 = 1_000_000;

/// The cycle counter, calibrated against the monotonic clock on first use
/// (under a millisecond usually, 200 ms at most: `prepare` does it when a
/// producer is built, not on a send). quanta's `Clock` rather than its
/// `Instant::now`, which checks a thread-local override (with a destructor,
/// which would keep the library from unloading) on every call.
static COUNTER: Lazy<quanta::Clock> = Lazy::new(quanta::Clock::new);

/// A millisecond as a thread last read it from the system clock.
#[derive(Clone, Copy)]
struct Millisecond {
    ms: i64,
    /// The counter just before the system clock was read: time since is
    /// counted from here, which can only overstate it.
    read_at: u64,
    /// How long the same millisecond may still be given, in nanoseconds.
    lasts_ns: u64,
}

thread_local! {
    /// This thread's current millisecond; `None` before its first read.
    /// Plain data, so the thread keeps no destructor.
    static CURRENT: Cell<Option<Millisecond>> = const { Cell::new(None) };
}

/// Calibrates the counter now, so that no send waits for it.
pub fn prepare() {
    Lazy::force(&COUNTER);
}

/// Now, in milliseconds since the epoch (0 for a clock set before 1970).
pub fn now_ms() -> i64 {
    let counter = &*COUNTER;
    let raw = counter.raw();
    CURRENT.with(|current| {
        if let Some(m) = current.get() {
            if raw >= m.read_at && counter.delta_as_nanos(m.read_at, raw) < m.lasts_ns {
                return m.ms;
            }
        }
        let read_at = counter.raw();
        let wall_ns = system_ns();
        let ms = wall_ns / NANOS_PER_MILLI;
        let left_ns = (NANOS_PER_MILLI - wall_ns % NANOS_PER_MILLI) as u64;
        current.set(Some(Millisecond { ms, read_at, lasts_ns: left_ns.saturating_sub(MARGIN_NS) }));
        ms
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
        system_ns() / NANOS_PER_MILLI
    }

    #[test]
    fn gives_what_the_system_clock_gives_around_it() {
        prepare();
        let until = system_ms() + 300;
        let (mut readings, mut from_the_counter) = (0, 0);
        while system_ms() < until {
            let before = system_ms();
            let now = now_ms();
            let after = system_ms();
            assert!(before <= now && now <= after, "{before} <= {now} <= {after}");
            readings += 1;
            from_the_counter += usize::from(CURRENT.with(|c| c.get().is_some_and(|m| m.ms == now)));
            if readings % 5000 == 0 {
                std::thread::sleep(Duration::from_micros(700));
            }
        }
        assert!(readings > 10_000, "{readings} readings");
        assert!(from_the_counter > readings / 2, "{from_the_counter} of {readings} from the counter");
    }

    #[test]
    fn each_thread_keeps_its_own_millisecond() {
        let from_threads: Vec<i64> = (0..4).map(|_| std::thread::spawn(now_ms)).map(|t| t.join().unwrap()).collect();
        let now = system_ms();
        for ms in from_threads {
            assert!((now - 1000..=now).contains(&ms), "{ms} against {now}");
        }
    }
}
