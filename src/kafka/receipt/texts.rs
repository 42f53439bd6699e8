//! The messages of receipts that failed with a broker's own text: each
//! distinct message is stored once, in a bounded table that is never
//! freed while the library is loaded, and a failed slot keeps only its
//! number (in the stamp it no longer needs). So a failure costs a slot
//! nothing, a send costs nothing at all, and a message handed to C, or
//! read through a stale handle, never points at freed memory.
//!
//! Storing takes a lock (only batches that fail with a text get there);
//! reading takes none.

use std::num::NonZeroU16;
use std::sync::{Mutex, OnceLock};

use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;

/// How many distinct messages the process keeps. Texts are cut to 512
/// bytes, so the table holds at most about 650 KiB; a message that finds
/// it full is not stored, and its receipts say the code's text alone.
pub(super) const MAX_TEXTS: usize = 1024;

/// A stored message: its number in the table, from 1 (a slot's 0 is none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureText(NonZeroU16);

const _: () = assert!(MAX_TEXTS <= u16::MAX as usize);

impl FailureText {
    /// The message "<code's message>: <text>" (`text` already cut and
    /// cleaned by the caller), stored if new; None when the table is full
    /// or the library is unloading.
    pub fn intern(code: ErrorCode, text: &str) -> Option<FailureText> {
        TEXTS.intern(code, text)
    }

    /// The number a slot keeps.
    pub(super) fn number(self) -> u32 {
        u32::from(self.0.get())
    }
}

/// The message stored as `number` (0: none), with the NUL after it.
pub(super) fn with_nul(number: u32) -> Option<&'static str> {
    TEXTS.get(number)
}

/// For the library's unload, once no receipt is held: every message, for
/// the caller to free; none is stored after it.
pub(super) fn unload() -> Vec<StoredText> {
    TEXTS.unload().into_iter().map(StoredText).collect()
}

/// A message the table leaked on purpose, handed back by `unload`.
pub struct StoredText(&'static str);

impl StoredText {
    /// The message as `Box::leak` made it, for `Box::from_raw`.
    pub fn into_raw(self) -> *mut str {
        std::ptr::from_ref(self.0).cast_mut()
    }
}

static TEXTS: Table<MAX_TEXTS> = Table::new();

/// A table of `N` messages (tests make small ones).
struct Table<const N: usize> {
    /// Written once each, under `state`'s lock; read without it.
    entries: [OnceLock<&'static str>; N],
    state: Mutex<State>,
}

struct State {
    stored: usize,
    unloaded: bool,
}

impl<const N: usize> Table<N> {
    const fn new() -> Self {
        Table { entries: [const { OnceLock::new() }; N], state: Mutex::new(State { stored: 0, unloaded: false }) }
    }

    fn intern(&self, code: ErrorCode, text: &str) -> Option<FailureText> {
        let message = format!("{}: {text}\0", code.message());
        let mut state = self.state.locked();
        if state.unloaded {
            return None;
        }
        // A linear search: at most N short compares, on a failing batch only.
        let i = match self.entries[..state.stored].iter().position(|e| e.get() == Some(&message.as_str())) {
            Some(i) => i,
            None if state.stored < N => {
                let i = state.stored;
                // Leaked on purpose: freed only by `unload`.
                let leaked: &'static str = Box::leak(message.into_boxed_str());
                self.entries[i].set(leaked).ok()?;
                state.stored += 1;
                i
            }
            None => return None,
        };
        NonZeroU16::new(i as u16 + 1).map(FailureText)
    }

    fn get(&self, number: u32) -> Option<&'static str> {
        let i = (number as usize).checked_sub(1)?;
        self.entries.get(i)?.get().copied()
    }

    fn unload(&self) -> Vec<&'static str> {
        let mut state = self.state.locked();
        state.unloaded = true;
        // Taken: a second unload hands back nothing (no double free).
        let stored = std::mem::take(&mut state.stored);
        self.entries[..stored].iter().filter_map(|e| e.get().copied()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_stored_once_with_a_nul_and_a_full_table_stores_no_more() {
        let table = Table::<2>::new();
        let a = table.intern(ErrorCode::INVALID_RECORD, "bad key").unwrap();
        assert_eq!(table.intern(ErrorCode::INVALID_RECORD, "bad key"), Some(a), "the same message is the same entry");
        assert_eq!(table.get(a.number()), Some("Broker: Broker failed to validate record: bad key\0"));
        let b = table.intern(ErrorCode::INVALID_TIMESTAMP, "bad key").unwrap();
        assert_ne!(a, b, "another code is another message");
        assert_eq!(table.intern(ErrorCode::INVALID_RECORD, "other"), None, "full");
        assert_eq!(table.intern(ErrorCode::INVALID_RECORD, "bad key"), Some(a), "a stored one is still found");
        assert_eq!((table.get(0), table.get(3), table.get(u32::MAX)), (None, None, None));
        assert_eq!(table.unload().len(), 2, "both handed back to be freed");
        assert_eq!(table.intern(ErrorCode::INVALID_RECORD, "bad key"), None, "nothing after unload");
    }
}
