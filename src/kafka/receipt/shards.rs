//! Where threads wait for receipts: one of `RECEIPT_SHARDS` condition
//! variables picked by the receipt's slot, so that a completed batch wakes
//! only the threads waiting on receipts that hash like its own, not every
//! thread that waits on a receipt (one thread per message, each waiting on
//! its own, is a common way to send synchronously). Flushes wait on one
//! more, which every completion wakes. Nothing here outlives the code: no
//! thread, no destructor.

use crate::kafka::lock::Locked;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

const RECEIPT_SHARDS: usize = 32;
const ANY_SHARD: usize = RECEIPT_SHARDS;
static SHARDS: [Shard; RECEIPT_SHARDS + 1] = [const { Shard::new() }; RECEIPT_SHARDS + 1];
/// Threads waiting in any shard: completions skip the shards while none is.
static WAITERS: AtomicUsize = AtomicUsize::new(0);

/// The shards to wake for a set of completed receipts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wakeups(u64);

impl Wakeups {
    pub(super) fn add(&mut self, slot: u32) {
        self.0 |= 1 << shard_of(slot);
    }
}

fn shard_of(slot: u32) -> usize {
    // Neighbouring slots belong to one batch: mix the bits.
    (u64::from(slot).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % RECEIPT_SHARDS
}

/// Wakes the threads blocked on any of the receipts in `wakeups` (just
/// completed), and those in a producer's flush. Called once per completed
/// batch, not per record; with no thread waiting anywhere it is a fence
/// and a load.
pub fn notify_completed(wakeups: Wakeups) {
    // Orders the completions (and the gauge's release) before the loads of
    // the waiter counts; a waiter orders its count before its check the
    // same way, so either it sees the completion or it is seen here.
    fence(Ordering::SeqCst);
    if WAITERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let shards = wakeups.0 | 1 << ANY_SHARD;
    for (i, shard) in SHARDS.iter().enumerate() {
        if shards & (1 << i) != 0 {
            shard.notify_all();
        }
    }
}

/// Blocks until `done()` or until `timeout` passes, woken by every
/// `notify_completed` (for a producer's flush).
pub fn wait_until(timeout: Option<Duration>, done: impl Fn() -> bool) -> bool {
    SHARDS[ANY_SHARD].wait_until(timeout, done)
}

/// Blocks until `done()` or until `timeout` passes, woken by completions
/// of receipts that share `slot`'s shard.
pub(super) fn wait_for_slot(slot: u32, timeout: Option<Duration>, done: impl Fn() -> bool) -> bool {
    SHARDS[shard_of(slot)].wait_until(timeout, done)
}

struct Shard {
    lock: Mutex<()>,
    cond: Condvar,
    waiters: AtomicUsize,
}

impl Shard {
    const fn new() -> Self {
        Shard { lock: Mutex::new(()), cond: Condvar::new(), waiters: AtomicUsize::new(0) }
    }

    fn notify_all(&self) {
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return;
        }
        // Taking the lock orders this notify after any waiter's last check.
        drop(self.lock.locked());
        self.cond.notify_all();
    }

    fn wait_until(&self, timeout: Option<Duration>, done: impl Fn() -> bool) -> bool {
        if done() {
            return true;
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut guard = self.lock.locked();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        WAITERS.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst); // see `notify_completed`
        let completed = loop {
            if done() {
                break true;
            }
            guard = match deadline {
                None => self.cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break false;
                    }
                    self.cond.wait_timeout(guard, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        };
        WAITERS.fetch_sub(1, Ordering::SeqCst);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_slots_spread_over_every_shard() {
        let mut used = [0usize; RECEIPT_SHARDS];
        for slot in 0..2_000 {
            used[shard_of(slot)] += 1;
        }
        assert!(used.iter().all(|&n| n > 0), "{used:?}");
        assert!(*used.iter().max().unwrap() < 4 * 2_000 / RECEIPT_SHARDS, "{used:?}");
    }
}
