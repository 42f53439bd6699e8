//! Locking that survives a panic: the library's mutexes guard state that
//! stays consistent between statements (a panic cannot leave it half
//! changed in a way a later caller would trip on), and a producer must keep
//! working, and closing, after a panic was caught at the C boundary. So a
//! poisoned lock is taken as it is, in one place instead of at every lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub trait Locked<T> {
    /// The lock, also when a thread panicked while holding it.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> Locked<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
