//! Reused byte buffers for batch records (and their compressed form) and
//! request frames. A producer fills a batch of up to batch.size bytes every
//! few milliseconds; taking its buffer from here instead of the allocator
//! avoids page-faulting and zeroing fresh memory for every batch, which
//! profiles showed to cost as much as encoding the records.
//!
//! The buffer idle longest is reused first. The one given back last was
//! just read by the producer's thread (the socket write) on the other core,
//! so the application's thread filling it again paid a cross-core
//! ownership transfer per cache line: first-in-first-out cut the 100 B
//! send path's CPU by 9% (BENCHMARKS.md, session 8) for the same memory.

use crate::kafka::lock::Locked;
use std::collections::VecDeque;
use std::sync::Mutex;

/// At most this many idle buffers are kept; more are freed. A compressed
/// batch holds two (its records and their compressed form).
const MAX_IDLE: usize = 16;

/// Idle buffers are bounded in number and in size: a buffer larger than
/// `max_buffer_bytes` (grown by one unusually large record or request) is
/// freed rather than kept, so memory returns after a burst.
#[derive(Debug)]
pub struct BufferPool {
    idle: Mutex<VecDeque<Vec<u8>>>,
    max_buffer_bytes: usize,
}

impl Default for BufferPool {
    /// No size bound: for tests.
    fn default() -> Self {
        BufferPool::keeping_up_to(usize::MAX)
    }
}

impl BufferPool {
    /// A pool that keeps idle buffers of at most `max_buffer_bytes` capacity.
    pub fn keeping_up_to(max_buffer_bytes: usize) -> Self {
        BufferPool { idle: Mutex::new(VecDeque::new()), max_buffer_bytes }
    }

    /// An empty buffer with room for at least `capacity` bytes: the one
    /// idle longest, or a new one.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        let reused = self.idle.locked().pop_front();
        match reused {
            Some(mut buffer) => {
                buffer.reserve(capacity);
                buffer
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// Returns a buffer for reuse (its contents are dropped).
    pub fn give(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() == 0 || buffer.capacity() > self.max_buffer_bytes {
            return;
        }
        buffer.clear();
        let mut idle = self.idle.locked();
        if idle.len() < MAX_IDLE {
            idle.push_back(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_with_their_memory() {
        let pool = BufferPool::default();
        let mut b = pool.take(1000);
        b.extend_from_slice(&[7; 500]);
        let address = b.as_ptr();
        pool.give(b);
        let again = pool.take(10);
        assert!(again.is_empty());
        assert!(again.capacity() >= 1000);
        assert_eq!(again.as_ptr(), address, "the same memory, not a new allocation");
        assert!(pool.take(64).capacity() >= 64, "an empty pool allocates");
    }

    #[test]
    fn the_buffer_idle_longest_is_reused_first() {
        let pool = BufferPool::default();
        let (first, second) = (Vec::with_capacity(100), Vec::with_capacity(100));
        let (a, b) = (first.as_ptr(), second.as_ptr());
        pool.give(first);
        pool.give(second);
        let (again_first, again_second) = (pool.take(10), pool.take(10));
        assert_eq!((again_first.as_ptr(), again_second.as_ptr()), (a, b));
    }

    #[test]
    fn the_pool_keeps_a_bounded_number() {
        let pool = BufferPool::default();
        for _ in 0..MAX_IDLE + 5 {
            pool.give(Vec::with_capacity(16));
        }
        pool.give(Vec::new());
        assert_eq!(pool.idle.lock().unwrap().len(), MAX_IDLE);
    }

    #[test]
    fn buffers_over_the_size_bound_are_freed_not_kept() {
        let pool = BufferPool::keeping_up_to(4096);
        pool.give(Vec::with_capacity(25 << 20));
        assert_eq!(pool.idle.lock().unwrap().len(), 0, "a burst's 25 MB buffer is not kept");
        pool.give(Vec::with_capacity(4096));
        assert_eq!(pool.idle.lock().unwrap().len(), 1);
    }
}
