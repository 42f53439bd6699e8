//! Property test of the broker-response decoders: a broker is input too.
//!
//! Feeds a few hundred thousand byte strings, from a fixed seed, to every
//! response parser (`split_response`, ApiVersions v0 and v3, Metadata v1-v8,
//! Produce v3-v8, InitProducerId v0-v4, SaslHandshake v1, SaslAuthenticate
//! v0-v1, and the transactions' FindCoordinator v1-v4, AddPartitionsToTxn,
//! AddOffsetsToTxn, TxnOffsetCommit and EndTxn v0-v3, each through
//! `decode_response` as the connection reads answers, and the `Decoder`
//! primitives): purely random bytes, valid
//! responses built by an encoder, and those valid responses mutated (bit
//! flips, byte overwrites, truncation, insertion, and length fields replaced
//! by hostile values such as -1, 0x7fff and 0x7fffffff). For each it checks:
//!
//! - no panic (each case runs under `catch_unwind`; a failure prints the
//!   input in hex so it can be replayed);
//! - no allocation larger than the input can justify: every length is
//!   checked against the bytes that remain before anything is allocated, so
//!   no single allocation may exceed `ALLOC_FACTOR` times the input length
//!   (plus a small constant), and neither may the peak of live bytes;
//! - valid responses decode to exactly what was encoded.
//!
//! The allocator below counts only on the thread that asked it to, so the
//! other tests of this binary (none today) could not disturb the numbers.
//!
//! `FUZZ_CASES` (default 300000) scales the run; `FUZZ_SEED` changes the seed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ablkafka::testing::protocol::add_offsets_to_txn::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use ablkafka::testing::protocol::add_partitions_to_txn::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, PartitionError, TopicErrors,
};
use ablkafka::testing::protocol::api_versions::{self, ApiVersionsRequest};
use ablkafka::testing::protocol::end_txn::{EndTxnRequest, EndTxnResponse};
use ablkafka::testing::protocol::find_coordinator::{FindCoordinatorRequest, FindCoordinatorResponse};
use ablkafka::testing::protocol::init_producer_id::InitProducerIdRequest;
use ablkafka::testing::protocol::metadata::{self, MetadataRequest};
use ablkafka::testing::protocol::primitives::{Decoder, Encoder};
use ablkafka::testing::protocol::produce::{self, ProduceRequest, RawBatch};
use ablkafka::testing::protocol::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use ablkafka::testing::protocol::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use ablkafka::testing::protocol::txn_offset_commit::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use ablkafka::testing::protocol::{decode_response, split_response, Request};

type Produce<'a> = ProduceRequest<RawBatch<'a>>;

// ------------------------------------------------------------------ allocation accounting

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    // try_with: the allocator may run while thread-locals are being torn down.
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            LIVE.with(|l| {
                let live = l.get() + size;
                l.set(live);
                PEAK.with(|p| p.set(p.get().max(live)));
            });
            LARGEST.with(|m| m.set(m.get().max(size)));
        }
    });
}

fn note_free(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            LIVE.with(|l| l.set(l.get().saturating_sub(size)));
        }
    });
}

// SAFETY: forwards to the system allocator; the bookkeeping allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_free(layout.size());
        note_alloc(new_size);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one decode allocated: the largest single allocation and the peak of live bytes.
#[derive(Debug, Clone, Copy)]
struct Usage {
    largest: usize,
    peak: usize,
}

fn measured<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    LARGEST.with(|m| m.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    (out, Usage { largest: LARGEST.with(Cell::get), peak: PEAK.with(Cell::get) })
}

/// A decoded value may take more room than its encoding (a 9-byte topic entry
/// becomes a 56-byte struct, a String and a Vec), but only by a constant factor.
const ALLOC_FACTOR: usize = 16;
const ALLOC_SLACK: usize = 1024;

// ------------------------------------------------------------------ deterministic randomness

/// xorshift64*: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn text(&mut self, max: usize) -> String {
        let n = self.below(max + 1);
        (0..n).map(|_| (b'a' + self.below(26) as u8) as char).collect()
    }
}

// ------------------------------------------------------------------ valid responses

/// A valid ApiVersions response to a request of `version` (0 or 3) and its
/// content; UNSUPPORTED_VERSION (35) is answered in v0's format whatever
/// was asked.
fn api_versions_response(rng: &mut Rng, version: i16) -> (Vec<u8>, api_versions::ApiVersionsResponse) {
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    let error_code = if rng.chance(4) { 35 } else { 0 };
    let flexible = version >= 3 && error_code != 35;
    e.i16(error_code);
    let n = rng.below(40);
    match flexible {
        true => e.compact_array_len(n),
        false => e.array_len(n),
    }
    let mut apis = Vec::new();
    for _ in 0..n {
        let r =
            api_versions::ApiRange { api_key: rng.below(70) as i16, min_version: rng.below(3) as i16, max_version: rng.below(13) as i16 };
        e.i16(r.api_key);
        e.i16(r.min_version);
        e.i16(r.max_version);
        if flexible {
            tagged_fields(rng, &mut e);
        }
        apis.push(r);
    }
    if flexible {
        e.i32(rng.below(1000) as i32); // throttle_time_ms
        tagged_fields(rng, &mut e);
    }
    (body, api_versions::ApiVersionsResponse { error_code, apis })
}

/// A tagged-field section of up to two fields with random contents.
fn tagged_fields(rng: &mut Rng, e: &mut Encoder) {
    let count = rng.below(3);
    e.unsigned_varint(count as u32);
    for tag in 0..count {
        e.unsigned_varint(tag as u32);
        let len = rng.below(6);
        let content = rng.bytes(len);
        e.unsigned_varint(content.len() as u32);
        e.raw(&content);
    }
}

/// A valid Metadata response of `version` and its content.
fn metadata_response(rng: &mut Rng, version: i16) -> (Vec<u8>, metadata::MetadataResponse) {
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    let throttle_time_ms = if version >= 3 { rng.below(100) as i32 } else { 0 };
    if version >= 3 {
        e.i32(throttle_time_ms);
    }
    let mut brokers = Vec::new();
    let nb = rng.below(5);
    e.array_len(nb);
    for _ in 0..nb {
        let b = metadata::BrokerMetadata { node_id: rng.below(10) as i32, host: rng.text(20), port: 9000 + rng.below(1000) as i32 };
        e.i32(b.node_id);
        e.string(&b.host);
        e.i32(b.port);
        e.nullable_string(if rng.chance(2) { Some("rack") } else { None });
        brokers.push(b);
    }
    if version >= 2 {
        e.nullable_string(if rng.chance(2) { Some("cluster-id") } else { None });
    }
    e.i32(rng.below(10) as i32);
    let mut topics = Vec::new();
    let nt = rng.below(5);
    e.array_len(nt);
    for _ in 0..nt {
        let name = rng.text(30);
        let error_code = if rng.chance(5) { 3 } else { 0 };
        e.i16(error_code);
        e.string(&name);
        e.bool(false);
        let np = rng.below(8);
        e.array_len(np);
        let mut partitions = Vec::new();
        for p in 0..np {
            let mut part = metadata::PartitionMetadata {
                error_code: if rng.chance(6) { 5 } else { 0 },
                partition: p as i32,
                leader_id: rng.below(4) as i32 - 1,
                leader_epoch: -1,
            };
            e.i16(part.error_code);
            e.i32(part.partition);
            e.i32(part.leader_id);
            if version >= 7 {
                part.leader_epoch = rng.below(50) as i32;
                e.i32(part.leader_epoch);
            }
            let arrays = if version >= 5 { 3 } else { 2 };
            for _ in 0..arrays {
                let n = rng.below(4);
                e.array_len(n);
                for _ in 0..n {
                    e.i32(rng.below(10) as i32);
                }
            }
            partitions.push(part);
        }
        if version >= 8 {
            e.i32(-2147483648);
        }
        topics.push(metadata::TopicMetadata { error_code, name, partitions });
    }
    if version >= 8 {
        e.i32(-2147483648);
    }
    (body, metadata::MetadataResponse { throttle_time_ms, brokers, topics })
}

/// A valid Produce response of `version` and its content.
fn produce_response(rng: &mut Rng, version: i16) -> (Vec<u8>, produce::ProduceResponse) {
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    let mut topics = Vec::new();
    let nt = rng.below(4);
    e.array_len(nt);
    for _ in 0..nt {
        let topic = rng.text(30);
        e.string(&topic);
        let np = rng.below(6);
        e.array_len(np);
        let mut partitions = Vec::new();
        for p in 0..np {
            let error_code = if rng.chance(5) { 10 } else { 0 };
            let mut r = produce::PartitionResult {
                partition: p as i32,
                error_code,
                base_offset: rng.next() as i64 >> 20,
                log_append_time_ms: if rng.chance(3) { -1 } else { rng.next() as i64 >> 24 },
                record_errors: vec![],
                error_message: None,
            };
            e.i32(r.partition);
            e.i16(r.error_code);
            e.i64(r.base_offset);
            e.i64(r.log_append_time_ms);
            if version >= 5 {
                e.i64(0);
            }
            if version >= 8 {
                let n = rng.below(3);
                e.array_len(n);
                for i in 0..n {
                    let message = rng.chance(2).then(|| "bad record".to_owned());
                    e.i32(i as i32);
                    e.nullable_string(message.as_deref());
                    r.record_errors.push(produce::RecordError { batch_index: i as i32, message });
                }
                r.error_message = (r.error_code != 0).then(|| "too large".to_owned());
                e.nullable_string(r.error_message.as_deref());
            }
            partitions.push(r);
        }
        topics.push(produce::TopicResult { topic, partitions });
    }
    let throttle_time_ms = rng.below(1000) as i32;
    e.i32(throttle_time_ms);
    (body, produce::ProduceResponse { topics, throttle_time_ms })
}

/// The transaction messages are flexible from this version.
const TXN_FLEXIBLE_SINCE: i16 = 3;

/// A valid FindCoordinator response of `version` (1-4), response header
/// included, and its content.
fn find_coordinator_response(rng: &mut Rng, version: i16) -> (Vec<u8>, FindCoordinatorResponse) {
    let flexible = version >= TXN_FLEXIBLE_SINCE;
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    if flexible {
        tagged_fields(rng, &mut e); // response header v1
    }
    let failed = rng.chance(3);
    let want = FindCoordinatorResponse {
        throttle_time_ms: rng.below(1000) as i32,
        error_code: if failed { 15 } else { 0 },
        error_message: if failed || rng.chance(4) { Some(rng.text(40)) } else { None },
        node_id: if failed { -1 } else { rng.below(10) as i32 },
        host: if failed { String::new() } else { rng.text(20) },
        port: if failed { -1 } else { 9000 + rng.below(1000) as i32 },
    };
    // A failure's host: "" from Kafka, null from librdkafka's mock cluster.
    let host = if failed && rng.chance(2) { None } else { Some(want.host.as_str()) };
    e.i32(want.throttle_time_ms);
    if version >= 4 {
        e.compact_array_len(1);
        e.compact_string(&rng.text(20)); // key
        e.i32(want.node_id);
        e.compact_nullable_string(host);
        e.i32(want.port);
        e.i16(want.error_code);
        e.compact_nullable_string(want.error_message.as_deref());
        tagged_fields(rng, &mut e);
    } else {
        e.i16(want.error_code);
        e.nullable_string_for(flexible, want.error_message.as_deref());
        e.i32(want.node_id);
        e.nullable_string_for(flexible, host);
        e.i32(want.port);
    }
    if flexible {
        tagged_fields(rng, &mut e);
    }
    (body, want)
}

/// A valid answer of AddPartitionsToTxn or TxnOffsetCommit (the same shape)
/// of `version` (0-3), response header included, its throttle time and its
/// per-topic per-partition error codes.
fn topic_errors_response(rng: &mut Rng, version: i16) -> (Vec<u8>, i32, Vec<TopicErrors>) {
    let flexible = version >= TXN_FLEXIBLE_SINCE;
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    if flexible {
        tagged_fields(rng, &mut e);
    }
    let throttle_time_ms = rng.below(1000) as i32;
    e.i32(throttle_time_ms);
    let mut topics = Vec::new();
    let nt = rng.below(5);
    e.array_len_for(flexible, nt);
    for _ in 0..nt {
        let name = rng.text(30);
        e.string_for(flexible, &name);
        let np = rng.below(8);
        e.array_len_for(flexible, np);
        let mut partitions = Vec::new();
        for p in 0..np {
            let r = PartitionError { partition: p as i32, error_code: if rng.chance(4) { 51 } else { 0 } };
            e.i32(r.partition);
            e.i16(r.error_code);
            if flexible {
                tagged_fields(rng, &mut e);
            }
            partitions.push(r);
        }
        if flexible {
            tagged_fields(rng, &mut e);
        }
        topics.push(TopicErrors { name, partitions });
    }
    if flexible {
        tagged_fields(rng, &mut e);
    }
    (body, throttle_time_ms, topics)
}

/// A valid answer of AddOffsetsToTxn or EndTxn (the same shape) of
/// `version` (0-3), response header included, its throttle time and error code.
fn error_code_response(rng: &mut Rng, version: i16) -> (Vec<u8>, i32, i16) {
    let flexible = version >= TXN_FLEXIBLE_SINCE;
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    if flexible {
        tagged_fields(rng, &mut e);
    }
    let (throttle_time_ms, error_code) = (rng.below(1000) as i32, if rng.chance(3) { 51 } else { 0 });
    e.i32(throttle_time_ms);
    e.i16(error_code);
    if flexible {
        tagged_fields(rng, &mut e);
    }
    (body, throttle_time_ms, error_code)
}

/// A valid response of some transaction message and version (for mutation).
fn txn_response(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        0 => {
            let v = 1 + rng.below(4) as i16;
            find_coordinator_response(rng, v).0
        }
        1 => {
            let v = rng.below(4) as i16;
            topic_errors_response(rng, v).0
        }
        _ => {
            let v = rng.below(4) as i16;
            error_code_response(rng, v).0
        }
    }
}

// ------------------------------------------------------------------ mutations

/// Values that make length fields lie.
const HOSTILE_I32: [i32; 8] = [-1, 0, 1, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, i32::MIN];
const HOSTILE_I16: [i16; 5] = [-1, 0, 1, 0x7fff, i16::MIN];

/// A valid SaslHandshake v1 response and its content.
fn sasl_handshake_response(rng: &mut Rng) -> (Vec<u8>, SaslHandshakeResponse) {
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    let error_code = if rng.chance(3) { 33 } else { 0 };
    let mechanisms: Vec<String> = (0..rng.below(4)).map(|_| rng.text(16)).collect();
    e.i16(error_code);
    e.array_len(mechanisms.len());
    for m in &mechanisms {
        e.string(m);
    }
    (body, SaslHandshakeResponse { error_code, mechanisms })
}

/// A valid SaslAuthenticate response of `version` (0 or 1) and its content.
fn sasl_authenticate_response(rng: &mut Rng, version: i16) -> (Vec<u8>, SaslAuthenticateResponse) {
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    let error_message = rng.chance(2).then(|| rng.text(40));
    let want = SaslAuthenticateResponse {
        error_code: if error_message.is_some() { 58 } else { 0 },
        error_message,
        auth_bytes: {
            let n = rng.below(64);
            rng.bytes(n)
        },
        session_lifetime_ms: if version >= 1 { rng.below(1 << 20) as i64 } else { 0 },
    };
    e.i16(want.error_code);
    e.nullable_string(want.error_message.as_deref());
    e.bytes(&want.auth_bytes);
    if version >= 1 {
        e.i64(want.session_lifetime_ms);
    }
    (body, want)
}

fn mutate(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                bytes[i] = rng.next() as u8;
            }
            2 => bytes.truncate(rng.below(len + 1)),
            3 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let extra = rng.bytes(n);
                bytes.splice(at..at, extra);
            }
            4 if len >= 4 => {
                let at = rng.below(len - 3);
                let v = HOSTILE_I32[rng.below(HOSTILE_I32.len())];
                bytes[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            5 if len >= 2 => {
                let at = rng.below(len - 1);
                let v = HOSTILE_I16[rng.below(HOSTILE_I16.len())];
                bytes[at..at + 2].copy_from_slice(&v.to_be_bytes());
            }
            6 if len > 0 => {
                // Duplicate a slice: repeated structures with inconsistent counts.
                let from = rng.below(len);
                let to = (from + 1 + rng.below(16)).min(len);
                let copy = bytes[from..to].to_vec();
                let at = rng.below(len + 1);
                bytes.splice(at..at, copy);
            }
            _ => {
                if len > 0 {
                    let at = rng.below(len);
                    bytes[at] = [0x00, 0xff, 0x7f, 0x80][rng.below(4)];
                }
            }
        }
    }
    bytes
}

// ------------------------------------------------------------------ the parsers

/// Every response parser on one input; returns how many accepted it.
fn decode_everything(input: &[u8]) -> usize {
    let mut ok = 0;
    if let Ok((_, body)) = split_response(input) {
        ok += decode_as::<ApiVersionsRequest>(body);
    }
    ok += decode_as::<ApiVersionsRequest>(input);
    ok += decode_as::<MetadataRequest>(input);
    ok += decode_as::<Produce>(input);
    ok += decode_as::<InitProducerIdRequest>(input);
    ok += decode_as::<SaslHandshakeRequest>(input);
    ok += decode_as::<SaslAuthenticateRequest>(input);
    ok += decode_as::<FindCoordinatorRequest>(input);
    ok += decode_as::<AddPartitionsToTxnRequest>(input);
    ok += decode_as::<AddOffsetsToTxnRequest>(input);
    ok += decode_as::<TxnOffsetCommitRequest>(input);
    ok += decode_as::<EndTxnRequest>(input);
    ok + decode_primitives(input)
}

/// `input` as the answer to `R` in every version it speaks (how many
/// accepted it), and in versions it does not, which must not panic either.
fn decode_as<R: Request>(input: &[u8]) -> usize {
    let ok = R::VERSIONS.filter(|&v| decode_response::<R>(input, v).is_ok()).count();
    for v in [i16::MIN, -1, 9, 100, i16::MAX] {
        let _ = decode_response::<R>(input, v);
    }
    ok
}

/// Reads the input as a stream of primitives chosen by the input itself.
fn decode_primitives(input: &[u8]) -> usize {
    let mut d = Decoder::new(input);
    let mut ok = 0;
    let mut i = 0usize;
    while d.remaining() > 0 && i < 64 {
        let before = d.remaining();
        let r = match (input[i % input.len()] as usize + i) % 14 {
            0 => d.i8().map(drop),
            1 => d.i16().map(drop),
            2 => d.i32().map(drop),
            3 => d.i64().map(drop),
            4 => d.bool().map(drop),
            5 => d.string().map(drop),
            6 => d.nullable_string().map(drop),
            7 => d.compact_string().map(drop),
            8 => d.compact_nullable_string().map(drop),
            9 => d.array_len(1 + i % 8).map(drop),
            10 => d.compact_array_len(1 + i % 8).map(drop),
            11 => d.skip_tagged_fields(),
            12 => d.varint().map(drop),
            _ => d.varlong().map(drop),
        };
        if r.is_err() {
            break;
        }
        assert!(d.remaining() <= before, "a read grew the remaining input");
        ok += 1;
        i += 1;
    }
    ok
}

/// Runs one case: no panic, bounded allocation.
fn check_case(input: &[u8], what: impl Fn() -> String) -> usize {
    let result = catch_unwind(AssertUnwindSafe(|| measured(|| decode_everything(input))));
    let (accepted, usage) = match result {
        Ok(r) => r,
        Err(_) => panic!("{}: a decoder panicked on {} bytes: {}", what(), input.len(), hex(input)),
    };
    let limit = ALLOC_FACTOR * input.len() + ALLOC_SLACK;
    assert!(
        usage.largest <= limit && usage.peak <= limit,
        "{}: decoding {} bytes allocated {} bytes at once, {} at peak (limit {limit}): {}",
        what(),
        input.len(),
        usage.largest,
        usage.peak,
        hex(input)
    );
    accepted
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(512).map(|b| format!("{b:02x}")).collect()
}

fn cases() -> usize {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x0ab1_cafe_f00d_5eed)
}

// ------------------------------------------------------------------ tests

#[test]
fn valid_responses_decode_to_what_was_encoded() {
    let mut rng = Rng(seed());
    for _ in 0..2_000 {
        for v in [0, api_versions::VERSION] {
            let (body, want) = api_versions_response(&mut rng, v);
            assert_eq!(decode_response::<ApiVersionsRequest>(&body, v).unwrap(), want, "ApiVersions v{v}");
        }
        for v in MetadataRequest::VERSIONS {
            let (body, want) = metadata_response(&mut rng, v);
            assert_eq!(decode_response::<MetadataRequest>(&body, v).unwrap(), want, "Metadata v{v}");
        }
        for v in Produce::VERSIONS {
            let (body, want) = produce_response(&mut rng, v);
            assert_eq!(decode_response::<Produce>(&body, v).unwrap(), want, "Produce v{v}");
        }
        let (body, want) = sasl_handshake_response(&mut rng);
        assert_eq!(decode_response::<SaslHandshakeRequest>(&body, 1).unwrap(), want, "SaslHandshake v1");
        for v in SaslAuthenticateRequest::VERSIONS {
            let (body, want) = sasl_authenticate_response(&mut rng, v);
            assert_eq!(decode_response::<SaslAuthenticateRequest>(&body, v).unwrap(), want, "SaslAuthenticate v{v}");
        }
        for v in FindCoordinatorRequest::VERSIONS {
            let (body, want) = find_coordinator_response(&mut rng, v);
            assert_eq!(decode_response::<FindCoordinatorRequest>(&body, v).unwrap(), want, "FindCoordinator v{v}");
        }
        for v in AddPartitionsToTxnRequest::VERSIONS {
            let (body, throttle_time_ms, topics) = topic_errors_response(&mut rng, v);
            let want = AddPartitionsToTxnResponse { throttle_time_ms, topics };
            assert_eq!(decode_response::<AddPartitionsToTxnRequest>(&body, v).unwrap(), want, "AddPartitionsToTxn v{v}");
        }
        for v in TxnOffsetCommitRequest::VERSIONS {
            let (body, throttle_time_ms, topics) = topic_errors_response(&mut rng, v);
            let want = TxnOffsetCommitResponse { throttle_time_ms, topics };
            assert_eq!(decode_response::<TxnOffsetCommitRequest>(&body, v).unwrap(), want, "TxnOffsetCommit v{v}");
        }
        for v in AddOffsetsToTxnRequest::VERSIONS {
            let (body, throttle_time_ms, error_code) = error_code_response(&mut rng, v);
            let want = AddOffsetsToTxnResponse { throttle_time_ms, error_code };
            assert_eq!(decode_response::<AddOffsetsToTxnRequest>(&body, v).unwrap(), want, "AddOffsetsToTxn v{v}");
        }
        for v in EndTxnRequest::VERSIONS {
            let (body, throttle_time_ms, error_code) = error_code_response(&mut rng, v);
            let want = EndTxnResponse { throttle_time_ms, error_code };
            assert_eq!(decode_response::<EndTxnRequest>(&body, v).unwrap(), want, "EndTxn v{v}");
        }
    }
}

#[test]
fn arbitrary_bytes_never_panic_nor_over_allocate() {
    let total = cases();
    let mut rng = Rng(seed() ^ 0x5555);
    let (mut accepted, mut nonempty) = (0usize, 0usize);
    let start = std::time::Instant::now();
    for case in 0..total {
        let input = match case % 6 {
            // Purely random, mostly short.
            0 => {
                let n = if rng.chance(10) { rng.below(2048) } else { rng.below(64) };
                rng.bytes(n)
            }
            // A valid response of some API and version, mutated.
            1 => {
                let version = if rng.chance(2) { api_versions::VERSION } else { 0 };
                let valid = api_versions_response(&mut rng, version).0;
                mutate(&mut rng, valid)
            }
            2 => {
                let v = 1 + rng.below(8) as i16;
                let valid = metadata_response(&mut rng, v).0;
                mutate(&mut rng, valid)
            }
            3 => {
                let v = 3 + rng.below(6) as i16;
                let valid = produce_response(&mut rng, v).0;
                mutate(&mut rng, valid)
            }
            4 if rng.chance(2) => {
                let valid = match rng.chance(2) {
                    true => sasl_handshake_response(&mut rng).0,
                    false => {
                        let v = rng.below(2) as i16;
                        sasl_authenticate_response(&mut rng, v).0
                    }
                };
                mutate(&mut rng, valid)
            }
            5 => {
                let valid = txn_response(&mut rng);
                mutate(&mut rng, valid)
            }
            // A size-prefixed frame around a mutated response, as read from the socket.
            _ => {
                let v = 1 + rng.below(8) as i16;
                let mut frame = (rng.next() as i32).to_be_bytes().to_vec();
                frame.extend(metadata_response(&mut rng, v).0);
                mutate(&mut rng, frame)
            }
        };
        if !input.is_empty() || case % 1000 == 0 {
            accepted += check_case(&input, || format!("case {case}"));
        }
        nonempty += usize::from(!input.is_empty());
    }
    eprintln!(
        "decoder_fuzz: {total} cases ({nonempty} non-empty), {accepted} successful parses or primitive reads, in {:?}",
        start.elapsed()
    );
}

#[test]
fn hostile_lengths_at_every_offset_are_refused_cheaply() {
    // Every 2- and 4-byte window of valid responses (of moderate size, with some
    // content) set to each hostile value.
    let mut rng = Rng(seed() ^ 0xaaaa);
    let fits = |b: &Vec<u8>| (40..=400).contains(&b.len());
    let mut inputs = Vec::new();
    for v in [0, api_versions::VERSION] {
        inputs.push(std::iter::repeat_with(|| api_versions_response(&mut rng, v).0).find(fits).unwrap());
    }
    for v in MetadataRequest::VERSIONS {
        inputs.push(std::iter::repeat_with(|| metadata_response(&mut rng, v).0).find(fits).unwrap());
    }
    for v in Produce::VERSIONS {
        inputs.push(std::iter::repeat_with(|| produce_response(&mut rng, v).0).find(fits).unwrap());
    }
    for v in FindCoordinatorRequest::VERSIONS {
        inputs.push(std::iter::repeat_with(|| find_coordinator_response(&mut rng, v).0).find(fits).unwrap());
    }
    for v in AddPartitionsToTxnRequest::VERSIONS {
        inputs.push(std::iter::repeat_with(|| topic_errors_response(&mut rng, v).0).find(fits).unwrap());
    }
    for base in &inputs {
        for at in 0..base.len() {
            for v in HOSTILE_I32 {
                if at + 4 <= base.len() {
                    let mut b = base.clone();
                    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
                    check_case(&b, || format!("i32 {v} at {at}"));
                }
            }
            for v in HOSTILE_I16 {
                if at + 2 <= base.len() {
                    let mut b = base.clone();
                    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
                    check_case(&b, || format!("i16 {v} at {at}"));
                }
            }
        }
    }
}

#[test]
fn the_allocation_check_can_fail() {
    // The measurement is real: an allocation the input cannot justify is seen.
    let input = [0u8; 4];
    let (_, usage) = measured(|| vec![0u8; 1 << 20]);
    assert!(usage.largest >= 1 << 20 && usage.largest > ALLOC_FACTOR * input.len() + ALLOC_SLACK);
}
