//! Delivery receipts (a `Response` in the C API): one slot per record in
//! a process-wide table, completed by the producer and read or waited on
//! by the application through a checked handle.
//!
//! A handle is a number, not a pointer: a tag, the slot's place and the
//! slot's generation. Every read checks the generation against the slot
//! (before and after reading its fields), and the table's memory is never
//! freed while the library is loaded, so a freed, foreign or made-up handle
//! reads as invalid and never touches freed memory, on any thread, even
//! after its producer is gone. A send costs no allocation: slots come
//! from 64-slot blocks that one topic's sends fill in turn (the topic is
//! kept once per block), and a block is reused once every slot in it has
//! been let go by both holders, the application (`Handle::free`) and the
//! producer (on completion).
//!
//! A slot is 20 bytes, read from one place: its word (generation, holders,
//! completed), partition, timestamp (32 bits from the block's base, wider
//! ones aside; once failed, the number of its message in `texts`) and
//! outcome (the offset or the error code), written before the word says
//! completed, so a reader that sees it completed sees the rest.

mod block;
mod pool;
mod shards;
mod texts;

use std::mem::ManuallyDrop;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use block::{Block, Outcome};
use block::{Stamp, HELD_BY_APPLICATION, HELD_BY_PRODUCER, SLOTS};
pub use pool::Chunk;
pub use shards::{notify_completed, wait_until, Wakeups};
pub use texts::{FailureText, StoredText};

use super::error::ErrorCode;
use super::topic_name::{InvalidTopic, TopicLabel};
use crate::kafka::lock::Locked;

const SLOT_INDEX_BITS: u32 = SLOTS.trailing_zeros();
/// A slot's number: its block's number, then its index in the block.
const SLOT_BITS: u32 = pool::BLOCK_NUMBER_BITS + SLOT_INDEX_BITS;
/// A handle's top byte: a small integer or a pointer is never a handle.
const HANDLE_TAG: u64 = 0x52;
const TAG_SHIFT: u32 = 56;
const _: () = assert!(SLOT_BITS + block::GENERATION_BITS == TAG_SHIFT);

/// What the application holds for one receipt: a tag, a slot and the
/// generation the slot had when the receipt was made. Any 64-bit value can
/// be turned into one; only the handles this module made read as valid,
/// and only until freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle(u64);

impl Handle {
    fn new(slot: u32, generation: u32) -> Handle {
        Handle(HANDLE_TAG << TAG_SHIFT | u64::from(slot) << block::GENERATION_BITS | u64::from(generation))
    }

    pub fn from_raw(raw: u64) -> Handle {
        Handle(raw)
    }

    pub fn into_raw(self) -> u64 {
        self.0
    }

    /// The slot's number and generation, if the tag is right.
    fn parts(self) -> Option<(u32, u32)> {
        if self.0 >> TAG_SHIFT != HANDLE_TAG {
            return None;
        }
        let slot = (self.0 >> block::GENERATION_BITS) as u32 & ((1 << SLOT_BITS) - 1);
        let generation = self.0 as u32 & ((1 << block::GENERATION_BITS) - 1);
        Some((slot, generation))
    }

    /// The receipt as it is now; None for an invalid handle.
    pub fn read(self) -> Option<Receipt> {
        let (slot, generation) = self.parts()?;
        let (block, i) = locate(slot)?;
        block.read(i, generation).map(|fields| Receipt { fields })
    }

    /// The receipt's outcome alone, cheaper than `read` (one slot, not the
    /// block's shared fields); None for an invalid handle.
    pub fn outcome(self) -> Option<Outcome> {
        let (slot, generation) = self.parts()?;
        let (block, i) = locate(slot)?;
        block.read_outcome(i, generation)
    }

    /// Blocks until the receipt completes or `timeout` (None = forever)
    /// passes: Some(completed), or None for an invalid handle (also one
    /// freed by another thread while this one waited).
    pub fn wait(self, timeout: Option<Duration>) -> Option<bool> {
        let (slot, generation) = self.parts()?;
        let (block, i) = locate(slot)?;
        let done = || block.read_outcome(i, generation).map_or(true, Outcome::is_completed);
        let completed = shards::wait_for_slot(slot, timeout, done);
        // `done` also ends the wait for a handle freed meanwhile.
        block.read(i, generation)?;
        Some(completed)
    }

    /// Lets go of the receipt: the handle is invalid from now on. False
    /// (and nothing changed) for a handle that was not valid.
    pub fn free(self) -> bool {
        let Some((slot, generation)) = self.parts() else { return false };
        let Some((block, i)) = locate(slot) else { return false };
        match block.release_by_application(i, generation) {
            None => false,
            Some(block_free) => {
                if block_free {
                    pool::recycle(slot >> SLOT_INDEX_BITS, block);
                }
                true
            }
        }
    }
}

/// Slot `slot`'s block and its index there, if the block was ever made.
fn locate(slot: u32) -> Option<(&'static Block, usize)> {
    let block = pool::block(slot >> SLOT_INDEX_BITS)?;
    Some((block, slot as usize & (SLOTS - 1)))
}

/// A receipt as read through a valid handle, at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Receipt {
    fields: block::Fields,
}

impl Receipt {
    pub fn outcome(&self) -> Outcome {
        self.fields.outcome
    }

    /// -1 until the partition is chosen, and after a failure (OpenEdge's
    /// `PartitionId` is unknown then).
    pub fn partition(&self) -> i32 {
        match self.fields.outcome {
            Outcome::Failed(_) => -1,
            _ => self.fields.partition,
        }
    }

    /// -1 unless delivered.
    pub fn timestamp(&self) -> i64 {
        match self.fields.outcome {
            Outcome::Delivered(_) => self.fields.timestamp,
            _ => -1,
        }
    }

    /// Why the topic was refused, for a receipt refused at send for its
    /// topic's name.
    pub fn topic_refusal(&self) -> Option<InvalidTopic> {
        match self.fields.outcome {
            Outcome::Failed(ErrorCode::INVALID_ARG) => InvalidTopic::ALL.get(usize::try_from(self.fields.partition).ok()?).copied(),
            _ => None,
        }
    }

    /// A failure's message with the broker's text after the code's
    /// ("<code's message>: <text>"), with a NUL after it; None without a
    /// text (the code's message says it all). Valid while the library is
    /// loaded.
    pub fn message_with_nul(&self) -> Option<&'static str> {
        texts::with_nul(self.fields.text)
    }

    /// `message_with_nul` without its NUL.
    #[cfg(test)]
    pub fn message(&self) -> Option<&'static str> {
        self.message_with_nul().map(|m| &m[..m.len() - 1])
    }

    /// The record's topic as the application named it, with a NUL after
    /// it: valid until the handle is freed. Null only for a slot read while
    /// its block was being recycled, which a valid handle never is.
    pub fn topic_with_nul(&self) -> *const u8 {
        self.fields.topic
    }
}

/// A receipt as its producer holds it until it completes it: the slot's
/// number (plus one). Completing it, or dropping it (which fails it with
/// `_DESTROY`), lets go of the slot, so no receipt stays pending forever.
#[derive(Debug, PartialEq, Eq)]
pub struct Pending(NonZeroU32);

impl Pending {
    fn slot(&self) -> u32 {
        self.0.get() - 1
    }

    /// The partition chosen for the record.
    pub fn set_partition(&self, partition: i32) {
        if let Some((block, i)) = locate(self.slot()) {
            block.set_partition(i, partition);
        }
    }

    /// Records success; `log_append_time` replaces the create time when the
    /// topic uses LogAppendTime. Wakes no one: collect `wakeups` and call
    /// `notify_completed` once for the batch.
    pub fn deliver(self, offset: i64, log_append_time: Option<i64>, wakeups: &mut Wakeups) {
        self.finish(Outcome::Delivered(offset), log_append_time.map_or(Stamp::Keep, Stamp::AppendTime), wakeups);
    }

    /// Records failure, with the broker's text if it gave one
    /// (`FailureText::intern`, made with the same code); wakes no one (see
    /// `deliver`).
    pub fn fail(self, code: ErrorCode, text: Option<FailureText>, wakeups: &mut Wakeups) {
        debug_assert!(!code.is_ok());
        self.finish(Outcome::Failed(code), Stamp::Text(text.map_or(0, FailureText::number)), wakeups);
    }

    fn finish(self, outcome: Outcome, stamp: Stamp, wakeups: &mut Wakeups) {
        let this = ManuallyDrop::new(self);
        let slot = this.slot();
        wakeups.add(slot);
        if let Some((block, i)) = locate(slot) {
            if block.complete(i, HELD_BY_PRODUCER, outcome, None, stamp) {
                pool::recycle(slot >> SLOT_INDEX_BITS, block);
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let this = Pending(self.0);
        let mut wakeups = Wakeups::default();
        this.finish(Outcome::Failed(ErrorCode::DESTROY), Stamp::Text(0), &mut wakeups);
        notify_completed(wakeups);
    }
}

/// Where one topic's receipts come from: the block it fills in turn.
#[derive(Debug)]
pub struct Lane {
    label: Arc<TopicLabel>,
    /// The block being filled, its number, and its next slot.
    current: Option<(u32, &'static Block)>,
    next: usize,
}

impl Lane {
    pub fn new(label: Arc<TopicLabel>) -> Lane {
        Lane { label, current: None, next: SLOTS }
    }

    /// A pending receipt for a record created at `timestamp` (ms since the
    /// epoch): the producer's part and the application's. None when the
    /// table is full (2^28 receipts held) or the library is unloading.
    pub fn issue(&mut self, timestamp: i64) -> Option<(Pending, Handle)> {
        let (slot, generation) = self.take_slot(timestamp)?;
        Some((Pending(NonZeroU32::new(slot + 1)?), Handle::new(slot, generation)))
    }

    /// A receipt completed at once (a record refused at send), as a
    /// producer would complete it; a refused topic's reason goes where the
    /// partition would.
    fn issue_refused(&mut self, code: ErrorCode, reason: Option<InvalidTopic>) -> Option<Handle> {
        let (slot, generation) = self.take_slot(-1)?;
        let (block, i) = locate(slot)?;
        let reason = reason.map(|r| r.index() as i32);
        // The lane still holds the block: completing cannot free it.
        block.complete(i, HELD_BY_PRODUCER, Outcome::Failed(code), reason, Stamp::Text(0));
        Some(Handle::new(slot, generation))
    }

    /// A slot for the application and a producer to hold.
    fn take_slot(&mut self, timestamp: i64) -> Option<(u32, u32)> {
        if self.next == SLOTS {
            self.let_go_of_block();
            let (number, block) = pool::claim()?;
            block.claim(&self.label, timestamp);
            self.current = Some((number, block));
            self.next = 0;
        }
        let (number, block) = self.current?;
        let i = self.next;
        self.next += 1;
        let generation = block.issue(i, HELD_BY_APPLICATION | HELD_BY_PRODUCER, timestamp);
        Some((number << SLOT_INDEX_BITS | i as u32, generation))
    }

    fn let_go_of_block(&mut self) {
        if let Some((number, block)) = self.current.take() {
            if block.return_unissued(SLOTS - self.next) {
                pool::recycle(number, block);
            }
        }
        self.next = SLOTS;
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        self.let_go_of_block();
    }
}

/// Receipts of records refused at send, from one lane shared by every
/// producer (and by sends that never reached one): refusals are rare, and
/// a run of them is usually for one topic.
static REFUSALS: Mutex<Option<Lane>> = Mutex::new(None);

/// A receipt completed at once with `code` (a record refused at send), or
/// with `_INVALID_ARG` and `reason` for a topic name refused at send.
pub fn refused(topic: &str, code: ErrorCode, reason: Option<InvalidTopic>) -> Option<Handle> {
    let mut lane = REFUSALS.locked();
    if lane.as_ref().map_or(true, |lane| lane.label.as_str() != topic) {
        *lane = Some(Lane::new(TopicLabel::new(topic)));
    }
    lane.as_mut()?.issue_refused(code, reason)
}

/// The memory `unload` hands back, for the caller to free.
#[derive(Default)]
pub struct Unloaded {
    pub chunks: Vec<Chunk>,
    pub texts: Vec<StoredText>,
}

/// For the library's unload (dlclose): when no receipt is held by anyone,
/// every later receipt is refused and the table's memory, and the failed
/// receipts' messages, are handed back for the caller to free; else
/// nothing is returned and nothing changes.
pub fn unload() -> Unloaded {
    drop(REFUSALS.locked().take());
    match pool::unload() {
        Some(chunks) => Unloaded { chunks, texts: texts::unload() },
        None => Unloaded::default(),
    }
}

/// A pending receipt of topic "t", for tests: the producer's part and the
/// application's.
#[cfg(test)]
pub(crate) fn test_pending(timestamp: i64) -> (Pending, Handle) {
    Lane::new(TopicLabel::new("t")).issue(timestamp).expect("room for a receipt")
}

#[cfg(test)]
mod tests;
