//! A block of receipt slots: what one receipt is in memory (20 bytes, read
//! from one place), and what its topic's receipts in the block share (the
//! topic, a base timestamp). A failed slot has no timestamp: its stamp
//! holds the number of its message in `texts` instead (0: none).
//!
//! A slot's word holds its generation, who holds it (the application, by a
//! handle; the producer, until it completes the slot) and whether it is
//! completed. The producer completes a slot and lets go of it in one
//! atomic step, after writing the outcome, so a reader that sees the slot
//! completed sees the outcome. The slot is free again only once both
//! holders have let go; a handle is valid only while its generation matches
//! and the application's bit is set. Readers check the word before and
//! after reading the fields (a sequence lock), so a slot freed or reused
//! meanwhile reads as invalid, never as a mix.

use std::sync::atomic::{AtomicI32, AtomicI64, AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::topic_name::TopicLabel;

/// Slots per block: a block is claimed by one topic's sends and recycled
/// once all of its slots are free.
pub(super) const SLOTS: usize = 64;

/// The application holds a handle to the slot.
pub(super) const HELD_BY_APPLICATION: u32 = 1;
/// A producer will complete the slot.
pub(super) const HELD_BY_PRODUCER: u32 = 2;
const HOLDERS: u32 = HELD_BY_APPLICATION | HELD_BY_PRODUCER;
/// The outcome is written: the record was delivered or failed.
const COMPLETED: u32 = 4;
const GENERATION_SHIFT: u32 = 4;
/// Bits of a generation: a slot is reused this many times before a stale
/// handle to it could match again.
pub(super) const GENERATION_BITS: u32 = 28;
const GENERATION_MASK: u32 = (1 << GENERATION_BITS) - 1;

/// A failed receipt's outcome is this plus its code: below every offset
/// (and -1, delivered with acks=0).
const FAILED: i64 = -(1 << 40);
/// A stamp that did not fit 32 bits: the timestamp is in `wide_stamps`.
const WIDE: i32 = i32::MIN;

/// What a completion writes in a slot's stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stamp {
    /// Delivered: the create time stays.
    Keep,
    /// Delivered to a LogAppendTime topic: the broker's time.
    AppendTime(i64),
    /// Failed: the message's number in `texts`, 0 for none.
    Text(u32),
}

/// What a slot says about its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    /// Delivered at this offset (-1 with acks=0, which gives none).
    Delivered(i64),
    Failed(ErrorCode),
}

impl Outcome {
    pub fn is_completed(self) -> bool {
        self != Outcome::Pending
    }

    pub fn succeeded(self) -> bool {
        matches!(self, Outcome::Delivered(_))
    }

    /// NO_ERROR unless completed with an error.
    pub fn error(self) -> ErrorCode {
        match self {
            Outcome::Failed(code) => code,
            _ => ErrorCode::NO_ERROR,
        }
    }

    /// -1 unless delivered (or delivered with acks=0, which gives no offset).
    pub fn offset(self) -> i64 {
        match self {
            Outcome::Delivered(offset) => offset,
            _ => -1,
        }
    }

    /// A completed outcome as 64 bits (a pending one has none: it is the
    /// word's completed bit that says whether these bits mean anything).
    fn encode(self) -> i64 {
        match self {
            Outcome::Pending => i64::MIN,
            Outcome::Delivered(offset) => offset.max(-1),
            Outcome::Failed(code) => FAILED + i64::from(code.code()),
        }
    }

    fn decode(value: i64) -> Outcome {
        match value {
            v if v >= -1 => Outcome::Delivered(v),
            v => Outcome::Failed(ErrorCode((v - FAILED) as i32)),
        }
    }
}

/// One slot's fields, read together and checked (see `Block::read`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Fields {
    pub outcome: Outcome,
    /// The partition (-1 until chosen), or for a topic refused at send
    /// the refusal's index.
    pub partition: i32,
    /// -1 once failed.
    pub timestamp: i64,
    /// A failed slot's message number in `texts` (0: none; 0 unless failed).
    pub text: u32,
    /// The topic's name with a NUL after it, valid while the slot is held.
    pub topic: *const u8,
}

/// One receipt. The outcome is two halves (the slot stays 20 bytes, not
/// 24), written before the word says the slot is completed.
struct Slot {
    word: AtomicU32,
    /// The partition (-1 until chosen), or for a topic refused at send
    /// the refusal's index.
    partition: AtomicI32,
    /// The timestamp as an offset from the block's base, or `WIDE`; once
    /// failed, the message's number. (Not the partition: a reader that
    /// finds the slot pending reads the partition, never the stamp.)
    stamp: AtomicI32,
    outcome: [AtomicU32; 2],
}

impl Slot {
    fn outcome(&self) -> i64 {
        let low = u64::from(self.outcome[0].load(Ordering::Relaxed));
        let high = u64::from(self.outcome[1].load(Ordering::Relaxed));
        (high << 32 | low) as i64
    }

    fn set_outcome(&self, outcome: Outcome) {
        let bits = outcome.encode() as u64;
        self.outcome[0].store(bits as u32, Ordering::Relaxed);
        self.outcome[1].store((bits >> 32) as u32, Ordering::Relaxed);
    }
}

/// 64 receipt slots and what they share (opaque outside this module).
pub struct Block {
    slots: [Slot; SLOTS],
    /// Made the first time a timestamp does not fit a stamp; kept with the block.
    wide_stamps: OnceLock<Box<[AtomicI64; SLOTS]>>,
    base_timestamp: AtomicI64,
    /// `label`'s bytes, for readers that must not lock.
    topic: AtomicPtr<u8>,
    /// The topic of every receipt in the block, while it is claimed.
    label: Mutex<Option<Arc<TopicLabel>>>,
    /// Slots not yet let go by both holders, counting every slot of the
    /// block from its claim, plus one while a lane issues from it.
    live: AtomicU32,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Block")
    }
}

fn generation_of(word: u32) -> u32 {
    word >> GENERATION_SHIFT
}

impl Block {
    /// A block whose slots start at generations drawn from `seed` (one
    /// per slot): neighbouring slots do not share generations, so a handle
    /// with a bit of its slot changed does not name a live receipt.
    pub(super) fn new(seed: impl Fn(usize) -> u32) -> Block {
        Block {
            slots: std::array::from_fn(|i| Slot {
                word: AtomicU32::new((seed(i) & GENERATION_MASK) << GENERATION_SHIFT),
                partition: AtomicI32::new(-1),
                stamp: AtomicI32::new(0),
                outcome: [AtomicU32::new(0), AtomicU32::new(0)],
            }),
            wide_stamps: OnceLock::new(),
            base_timestamp: AtomicI64::new(0),
            topic: AtomicPtr::new(std::ptr::null_mut()),
            label: Mutex::new(None),
            live: AtomicU32::new(0),
        }
    }

    /// Prepares a free block for `label`'s receipts: every slot counted
    /// live until issued and let go, or returned unissued (`return_unissued`).
    pub(super) fn claim(&self, label: &Arc<TopicLabel>, base_timestamp: i64) {
        self.topic.store(label.with_nul().as_ptr().cast_mut(), Ordering::Release);
        *self.label.locked() = Some(Arc::clone(label));
        self.base_timestamp.store(base_timestamp, Ordering::Relaxed);
        self.live.store(SLOTS as u32 + 1, Ordering::Release);
    }

    /// Called when the last slot is let go: forgets the topic.
    pub(super) fn clear(&self) {
        self.topic.store(std::ptr::null_mut(), Ordering::Release);
        self.label.locked().take();
    }

    /// Hands out slot `i` (never handed out since the claim) with a new
    /// generation to `holders`, pending; returns the generation.
    pub(super) fn issue(&self, i: usize, holders: u32, timestamp: i64) -> u32 {
        let slot = &self.slots[i];
        let generation = match generation_of(slot.word.load(Ordering::Relaxed)).wrapping_add(1) & GENERATION_MASK {
            0 => 1,
            g => g,
        };
        slot.word.store(generation << GENERATION_SHIFT | holders, Ordering::Relaxed);
        // A reader of the old generation that sees any field below sees the
        // new word too, and refuses what it read.
        std::sync::atomic::fence(Ordering::Release);
        slot.partition.store(-1, Ordering::Relaxed);
        self.write_timestamp(i, timestamp);
        generation
    }

    /// Returns slots issued by no one (a lane let go of the block before
    /// filling it) and the lane's own count; true when the block is free.
    pub(super) fn return_unissued(&self, unissued: usize) -> bool {
        self.let_go(unissued as u32 + 1)
    }

    fn let_go(&self, count: u32) -> bool {
        self.live.fetch_sub(count, Ordering::AcqRel) == count
    }

    pub(super) fn set_partition(&self, i: usize, partition: i32) {
        self.slots[i].partition.store(partition, Ordering::Release);
    }

    fn write_timestamp(&self, i: usize, timestamp: i64) {
        let stamp = timestamp.wrapping_sub(self.base_timestamp.load(Ordering::Relaxed));
        match i32::try_from(stamp) {
            Ok(stamp) if stamp != WIDE => self.slots[i].stamp.store(stamp, Ordering::Relaxed),
            _ => {
                let wide = self.wide_stamps.get_or_init(|| Box::new([const { AtomicI64::new(0) }; SLOTS]));
                wide[i].store(timestamp, Ordering::Relaxed);
                self.slots[i].stamp.store(WIDE, Ordering::Relaxed);
            }
        }
    }

    fn read_timestamp(&self, i: usize) -> i64 {
        match self.slots[i].stamp.load(Ordering::Relaxed) {
            WIDE => self.wide_stamps.get().map_or(-1, |wide| wide[i].load(Ordering::Relaxed)),
            stamp => self.base_timestamp.load(Ordering::Relaxed).wrapping_add(i64::from(stamp)),
        }
    }

    /// Completes slot `i` and lets go of it for `holder` (the producer, or
    /// for a receipt refused at send the lane that made it): `partition` is
    /// written for a refusal's reason, `stamp` as it says (a failure must
    /// write its text number, 0 for none, over the create time). One
    /// atomic step marks it completed and lets go, after the fields are
    /// written. True when that frees the whole block.
    pub(super) fn complete(&self, i: usize, holder: u32, outcome: Outcome, partition: Option<i32>, stamp: Stamp) -> bool {
        debug_assert!(outcome != Outcome::Pending);
        debug_assert_eq!(matches!(outcome, Outcome::Failed(_)), matches!(stamp, Stamp::Text(_)), "a failure, and only one, has a text");
        let slot = &self.slots[i];
        // As in `issue`: a stale reader that sees these writes sees the
        // word of the generation they belong to.
        std::sync::atomic::fence(Ordering::Release);
        if let Some(partition) = partition {
            slot.partition.store(partition, Ordering::Relaxed);
        }
        match stamp {
            Stamp::Keep => {}
            Stamp::AppendTime(timestamp) => self.write_timestamp(i, timestamp),
            // At most `texts::MAX_TEXTS`: never `WIDE`.
            Stamp::Text(number) => slot.stamp.store(number as i32, Ordering::Relaxed),
        }
        slot.set_outcome(outcome);
        let before = slot.word.fetch_xor(COMPLETED | holder, Ordering::AcqRel);
        debug_assert!(before & (COMPLETED | holder) == holder, "completed once, by its holder");
        before & HOLDERS == holder && self.let_go(1)
    }

    /// The application lets go of slot `i` of generation `generation`:
    /// Some(true) when that frees the whole block, None when the handle was
    /// not valid (freed before, or never this slot's).
    pub(super) fn release_by_application(&self, i: usize, generation: u32) -> Option<bool> {
        let word = &self.slots[i].word;
        let mut now = word.load(Ordering::Acquire);
        loop {
            if !Self::valid(now, generation) {
                return None;
            }
            match word.compare_exchange_weak(now, now & !HELD_BY_APPLICATION, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(now & HOLDERS == HELD_BY_APPLICATION && self.let_go(1)),
                Err(changed) => now = changed,
            }
        }
    }

    fn valid(word: u32, generation: u32) -> bool {
        generation_of(word) == generation && word & HELD_BY_APPLICATION != 0
    }

    /// Slot `i`'s fields, if a handle of `generation` to it is valid
    /// before and after they are read.
    pub(super) fn read(&self, i: usize, generation: u32) -> Option<Fields> {
        self.read_checked(i, generation, |outcome| {
            let (timestamp, text) = match outcome {
                Outcome::Failed(_) => (-1, self.slots[i].stamp.load(Ordering::Relaxed) as u32),
                _ => (self.read_timestamp(i), 0),
            };
            Fields {
                outcome,
                partition: self.slots[i].partition.load(Ordering::Acquire),
                timestamp,
                text,
                topic: self.topic.load(Ordering::Acquire),
            }
        })
    }

    /// Slot `i`'s outcome alone (the slot's own bytes, not the block's
    /// shared ones: what a poll loop reads), checked as `read` is.
    pub(super) fn read_outcome(&self, i: usize, generation: u32) -> Option<Outcome> {
        self.read_checked(i, generation, |outcome| outcome)
    }

    /// The sequence lock: `fields` reads what it needs given the outcome,
    /// and counts only if the handle is valid before and after.
    fn read_checked<T>(&self, i: usize, generation: u32, fields: impl FnOnce(Outcome) -> T) -> Option<T> {
        let slot = &self.slots[i];
        let word = slot.word.load(Ordering::Acquire);
        if !Self::valid(word, generation) {
            return None;
        }
        let outcome = match word & COMPLETED {
            0 => Outcome::Pending,
            _ => Outcome::decode(slot.outcome()),
        };
        let read = fields(outcome);
        // Pairs with the fences in `issue` and `complete`: a read that saw
        // a later use's fields sees its word below.
        std::sync::atomic::fence(Ordering::Acquire);
        Self::valid(slot.word.load(Ordering::Relaxed), generation).then_some(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_and_do_not_overlap() {
        let mut all = vec![Outcome::Delivered(-1), Outcome::Delivered(0), Outcome::Delivered(i64::MAX)];
        all.extend(ErrorCode::all().iter().filter(|c| !c.is_ok()).map(|&c| Outcome::Failed(c)));
        all.push(Outcome::Failed(ErrorCode(i32::MIN)));
        all.push(Outcome::Failed(ErrorCode(i32::MAX)));
        for o in &all {
            assert_eq!(Outcome::decode(o.encode()), *o);
        }
        let mut encoded: Vec<i64> = all.iter().map(|o| o.encode()).collect();
        encoded.sort_unstable();
        encoded.dedup();
        assert_eq!(encoded.len(), all.len());
    }

    #[test]
    fn a_slot_is_twenty_bytes_and_a_block_about_that_per_slot() {
        assert_eq!(std::mem::size_of::<Slot>(), 20);
        let per_slot = std::mem::size_of::<Block>() as f64 / SLOTS as f64;
        assert!(per_slot <= 21.0, "{per_slot} bytes per slot");
    }

    #[test]
    fn timestamps_far_from_the_base_take_the_wide_path() {
        let block = Block::new(|i| i as u32);
        block.claim(&TopicLabel::new("t"), 1_700_000_000_000);
        for (i, ts) in [1_700_000_000_123, -1, 0, i64::MAX, i64::MIN, 1_700_000_000_000 + i64::from(i32::MIN)].into_iter().enumerate() {
            let g = block.issue(i, HELD_BY_APPLICATION, ts);
            assert_eq!(block.read(i, g).map(|f| f.timestamp), Some(ts));
        }
    }

    #[test]
    fn a_failed_slot_keeps_its_text_number_where_the_timestamp_was() {
        let block = Block::new(|i| i as u32);
        block.claim(&TopicLabel::new("t"), 1_700_000_000_000);
        // A narrow stamp and a wide one, both replaced.
        for (i, ts) in [1_700_000_000_005, i64::MAX].into_iter().enumerate() {
            let g = block.issue(i, HELD_BY_APPLICATION | HELD_BY_PRODUCER, ts);
            block.complete(i, HELD_BY_PRODUCER, Outcome::Failed(ErrorCode::INVALID_RECORD), None, Stamp::Text(7));
            let f = block.read(i, g).unwrap();
            assert_eq!((f.outcome, f.timestamp, f.text), (Outcome::Failed(ErrorCode::INVALID_RECORD), -1, 7), "slot {i}");
        }
        let g = block.issue(2, HELD_BY_APPLICATION | HELD_BY_PRODUCER, 1_700_000_000_009);
        block.complete(2, HELD_BY_PRODUCER, Outcome::Delivered(3), None, Stamp::Keep);
        assert_eq!(block.read(2, g).map(|f| (f.timestamp, f.text)), Some((1_700_000_000_009, 0)), "delivered: no text");
    }

    #[test]
    fn a_slot_is_free_only_once_both_holders_let_go() {
        let block = Block::new(|i| i as u32);
        block.claim(&TopicLabel::new("t"), 0);
        let g = block.issue(0, HELD_BY_APPLICATION | HELD_BY_PRODUCER, 0);
        assert!(!block.return_unissued(SLOTS - 1), "slot 0 is still held");
        assert_eq!(block.read(0, g).map(|f| f.outcome), Some(Outcome::Pending));
        assert_eq!(block.release_by_application(0, g), Some(false), "the producer still holds it");
        assert_eq!(block.release_by_application(0, g), None, "a second free is refused");
        assert!(block.read(0, g).is_none());
        assert!(block.complete(0, HELD_BY_PRODUCER, Outcome::Delivered(5), None, Stamp::Keep), "the last holder frees the block");
    }
}
