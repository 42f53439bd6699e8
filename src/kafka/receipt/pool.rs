//! Where receipt blocks live: chunks of blocks that never move and are not
//! freed while the library is loaded, so that any handle, however stale,
//! names memory that can be checked. Free blocks are reused oldest first,
//! which spreads generations over every slot.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, OnceLock};

use once_cell::sync::Lazy;

use super::block::{Block, SLOTS};
use crate::kafka::lock::Locked;

const CHUNK_BLOCKS: usize = 64;
const MAX_CHUNKS: usize = 1 << 16;
/// Bits of a block's number (`MAX_CHUNKS * CHUNK_BLOCKS` blocks).
pub(super) const BLOCK_NUMBER_BITS: u32 = 22;
const _: () = assert!(CHUNK_BLOCKS * MAX_CHUNKS == 1 << BLOCK_NUMBER_BITS);

/// Made on first use; read without a lock. The static array is zero
/// pages until used.
static CHUNKS: [OnceLock<&'static [Block]>; MAX_CHUNKS] = [const { OnceLock::new() }; MAX_CHUNKS];

struct Pool {
    /// Blocks all of whose slots are free, oldest first.
    free: VecDeque<u32>,
    /// Blocks made so far (numbers 0..made).
    made: u32,
    /// Blocks claimed and not yet recycled.
    claimed: u32,
    /// Set by `unload`: nothing is claimed after it.
    unloaded: bool,
}

static POOL: Mutex<Pool> = Mutex::new(Pool { free: VecDeque::new(), made: 0, claimed: 0, unloaded: false });

fn pool() -> MutexGuard<'static, Pool> {
    POOL.locked()
}

/// Block `number`, if it was ever made.
pub(super) fn block(number: u32) -> Option<&'static Block> {
    let n = number as usize;
    CHUNKS.get(n / CHUNK_BLOCKS)?.get()?.get(n % CHUNK_BLOCKS)
}

/// A free block and its number; None when 2^22 blocks (2^28 receipts) are
/// held, or after `unload`.
pub(super) fn claim() -> Option<(u32, &'static Block)> {
    let mut pool = pool();
    if pool.unloaded {
        return None;
    }
    let number = match pool.free.pop_front() {
        Some(number) => number,
        None => {
            let number = pool.made;
            let chunk = CHUNKS.get(number as usize / CHUNK_BLOCKS)?;
            if number as usize % CHUNK_BLOCKS == 0 {
                let first_slot = |block: usize| ((number as usize + block) * SLOTS) as u64;
                let blocks: &'static [Block] =
                    Box::leak((0..CHUNK_BLOCKS).map(|b| Block::new(|i| first_generation(first_slot(b) + i as u64))).collect());
                chunk.set(blocks).ok()?;
            }
            pool.made += 1;
            number
        }
    };
    pool.claimed += 1;
    Some((number, block(number)?))
}

/// Where slot `slot`'s generations start: anywhere, so that neighbouring
/// slots do not share them (splitmix64 of the slot, keyed once per process
/// by std's random hasher keys).
fn first_generation(slot: u64) -> u32 {
    static KEY: Lazy<u64> = Lazy::new(|| RandomState::new().hash_one(0u64));
    let mut z = (slot ^ *KEY).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

/// Takes back a block whose slots are all free.
pub(super) fn recycle(number: u32, block: &Block) {
    block.clear();
    let mut pool = pool();
    pool.claimed -= 1;
    pool.free.push_back(number);
}

/// Memory the pool leaked on purpose, handed back by `unload`.
pub struct Chunk(pub(super) &'static [Block]);

impl Chunk {
    /// The chunk as `Box::leak` made it, for `Box::from_raw`.
    pub fn into_raw(self) -> *mut [Block] {
        std::ptr::from_ref(self.0).cast_mut()
    }
}

/// For the library's unload: when no block is claimed (no receipt is held
/// by anyone), refuses every later claim and returns the chunks, for the
/// caller to free; else returns None and leaves everything as it is.
pub(super) fn unload() -> Option<Vec<Chunk>> {
    let mut pool = pool();
    if pool.claimed > 0 || pool.unloaded {
        return None;
    }
    pool.unloaded = true;
    // The free list's own buffer goes too (std::mem::take leaves none).
    drop(std::mem::take(&mut pool.free));
    let chunks = pool.made.div_ceil(CHUNK_BLOCKS as u32) as usize;
    Some(CHUNKS[..chunks].iter().filter_map(|c| c.get().map(|&blocks| Chunk(blocks))).collect())
}
