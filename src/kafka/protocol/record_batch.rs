//! RecordBatch v2 (magic 2): records are encoded straight into the batch's
//! buffer as they are appended; the batch is packed once (compressed into a
//! buffer of its own if it has a codec, and what goes on the wire summed with
//! CRC-32C); and the header, with the CRC combined, is written each time the
//! batch goes on the wire, in front of the payload, which goes out from its
//! own buffer.

use super::compression::{compress, Codec};
use super::crc32c_combine::crc32c_combine;
use super::primitives::{varint_len, varlong_len, Encoder};

/// Bytes of the RecordBatch header, from baseOffset to recordsCount.
pub const RECORD_BATCH_OVERHEAD: usize = 61;

/// The most bytes a record adds beyond its key and value: length (5),
/// attributes (1), timestamp delta (10), offset delta (5), key and value
/// lengths (5 each), header count (1).
pub const MAX_RECORD_OVERHEAD: usize = 32;

/// Offset of the attributes field: the CRC covers from here to the end.
const ATTRIBUTES_OFFSET: usize = 21;
const CRC_OFFSET: usize = 17;

/// Who wrote a batch, for the idempotent producer; all -1 when not idempotent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerIdentity {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    /// Part of a transaction: the attributes' transactional bit.
    pub transactional: bool,
}

/// The attributes' bit for a batch that is part of a transaction.
const TRANSACTIONAL_ATTRIBUTE: i16 = 0x10;

impl ProducerIdentity {
    pub const NONE: ProducerIdentity = ProducerIdentity { producer_id: -1, producer_epoch: -1, base_sequence: -1, transactional: false };
}

/// The uncompressed records of one batch under construction.
#[derive(Debug)]
pub struct RecordsBuilder {
    records: Vec<u8>,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    /// The records compressed (`pack`), which go on the wire instead.
    compressed: Option<Compressed>,
    /// CRC-32C of the payload, once packed.
    payload_crc: Option<u32>,
}

/// A batch's records compressed with a codec.
#[derive(Debug)]
struct Compressed {
    codec: Codec,
    bytes: Vec<u8>,
}

impl RecordsBuilder {
    pub fn with_capacity(bytes: usize) -> Self {
        Self::in_buffer(Vec::with_capacity(bytes))
    }

    /// Builds in `buffer` (emptied first), e.g. one taken from a pool.
    pub fn in_buffer(mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        RecordsBuilder { records: buffer, count: 0, base_timestamp: 0, max_timestamp: 0, compressed: None, payload_crc: None }
    }

    /// The buffers back, for reuse: the records' and, if compressed, the
    /// compressed form's.
    pub fn into_buffers(self) -> impl Iterator<Item = Vec<u8>> {
        std::iter::once(self.records).chain(self.compressed.map(|c| c.bytes))
    }

    pub fn count(&self) -> usize {
        self.count as usize
    }

    /// Bytes the batch would take uncompressed, header included.
    pub fn encoded_len(&self) -> usize {
        RECORD_BATCH_OVERHEAD + self.records.len()
    }

    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// Bytes that appending this record would add to `encoded_len`.
    /// `headers` is the record's header block (`RecordHeaders::encoded`, or
    /// `NO_HEADERS`).
    pub fn record_len(&self, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>, headers: &[u8]) -> usize {
        let body = self.body_len(timestamp, key, value, headers);
        varint_len(body as i32) + body
    }

    fn body_len(&self, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>, headers: &[u8]) -> usize {
        let base = if self.count == 0 { timestamp } else { self.base_timestamp };
        1 + varlong_len(timestamp.wrapping_sub(base)) + varint_len(self.count) + field_len(key) + field_len(value) + headers.len()
    }

    /// Appends one record; returns its offset delta. `headers` is its
    /// header block, count included (`NO_HEADERS` for none).
    ///
    /// The send path's encoder: the record's small fields are written into
    /// a stack buffer and copied with fixed-size moves, and the buffer
    /// grows at most once, instead of a capacity check per byte.
    pub fn append(&mut self, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>, headers: &[u8]) -> i32 {
        if self.count == 0 {
            self.base_timestamp = timestamp;
            self.max_timestamp = timestamp;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        let offset_delta = self.count;
        let length = |field: Option<&[u8]>| field.map_or(-1, |bytes| bytes.len() as i64);
        // [length][attributes][timestamp delta][offset delta][key length],
        // and the value's length too when there is no key between: the
        // length goes last, right-aligned before LENGTH_ROOM, once known.
        let mut head = [0u8; HEAD_BYTES];
        let mut end = put_varlong(&mut head, LENGTH_ROOM + 1, timestamp.wrapping_sub(self.base_timestamp));
        end = put_varlong(&mut head, end, i64::from(offset_delta));
        end = put_varlong(&mut head, end, length(key));
        let mut value_length = [0u8; 8];
        let value_length_end = match key {
            None => {
                end = put_varlong(&mut head, end, length(value));
                0
            }
            Some(_) => put_varlong(&mut value_length, 0, length(value)),
        };
        let (key, value) = (key.unwrap_or_default(), value.unwrap_or_default());
        let body = end - LENGTH_ROOM + key.len() + value_length_end + value.len() + headers.len();
        let start = LENGTH_ROOM - varint_len(body as i32);
        put_varlong(&mut head, start, body as i64);

        let records = &mut self.records;
        let at = records.len();
        records.reserve(HEAD_BYTES + key.len() + value_length.len() + value.len() + headers.len());
        // Fixed-size copies, then the length cut back to what was written.
        records.extend_from_slice(&head[start..start + HEAD_BYTES - LENGTH_ROOM]);
        records.truncate(at + end - start);
        if !key.is_empty() || value_length_end > 0 {
            records.extend_from_slice(key);
            let at = records.len();
            records.extend_from_slice(&value_length);
            records.truncate(at + value_length_end);
        }
        records.extend_from_slice(value);
        match headers {
            [count] => records.push(*count),
            _ => records.extend_from_slice(headers),
        }
        self.count += 1;
        offset_delta
    }

    /// Packs the batch for the wire, unless that is done already (a batch
    /// that is sent again keeps its packing): compresses the records with
    /// `codec` into a buffer from `take_buffer` (emptied first; e.g. one from
    /// a pool; not called for `Codec::None`), and sums the CRC-32C of the
    /// payload. The slow part of sealing a batch, and independent of the
    /// producer id and sequence, so it can run on any thread before the
    /// batch goes into a request.
    ///
    /// Should a codec fail (none can on in-memory buffers in practice), the
    /// batch stays uncompressed: still correct, only larger.
    pub fn pack(&mut self, codec: Codec, level: i32, take_buffer: impl FnOnce() -> Vec<u8>) {
        if self.is_packed() {
            return;
        }
        if codec != Codec::None {
            let mut buffer = take_buffer();
            if compress(codec, level, &self.records, &mut buffer).is_ok() {
                self.compressed = Some(Compressed { codec, bytes: buffer });
            }
        }
        self.payload_crc = Some(crc32c::crc32c(self.payload()));
    }

    pub fn is_packed(&self) -> bool {
        self.payload_crc.is_some()
    }

    /// The 61-byte header, with batchLength and crc left 0 for the caller.
    fn write_header(&self, out: &mut Vec<u8>, codec: Codec, identity: ProducerIdentity) {
        let mut e = Encoder::new(out);
        e.i64(0); // baseOffset: assigned by the broker
        e.i32(0); // batchLength: patched by the caller
        e.i32(-1); // partitionLeaderEpoch
        e.i8(2); // magic
        e.i32(0); // crc: patched by the caller
                  // attributes: the codec, CreateTime, the transactional bit.
        e.i16(codec as i16 | if identity.transactional { TRANSACTIONAL_ATTRIBUTE } else { 0 });
        e.i32(self.count - 1); // lastOffsetDelta
        e.i64(self.base_timestamp);
        e.i64(self.max_timestamp);
        e.i64(identity.producer_id);
        e.i16(identity.producer_epoch);
        e.i32(identity.base_sequence);
        e.i32(self.count);
    }

    /// Appends the batch's header to `out`, with its length and CRC-32C
    /// already covering `self.payload()`, which the caller writes right after
    /// it from this buffer (no copy into the frame). Cheap once packed: only
    /// the header is summed.
    pub fn seal_header_into(&self, out: &mut Vec<u8>, identity: ProducerIdentity) {
        let codec = self.compressed.as_ref().map_or(Codec::None, |c| c.codec);
        let payload = self.payload();
        let start = out.len();
        self.write_header(out, codec, identity);
        let batch_length = (RECORD_BATCH_OVERHEAD - 12 + payload.len()) as i32;
        out[start + 8..start + 12].copy_from_slice(&batch_length.to_be_bytes());
        let header_crc = crc32c::crc32c(&out[start + ATTRIBUTES_OFFSET..]);
        let crc = match self.payload_crc {
            Some(payload_crc) => crc32c_combine(header_crc, payload_crc, payload.len()),
            None => crc32c::crc32c_append(header_crc, payload),
        };
        out[start + CRC_OFFSET..start + ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
    }

    /// What follows `seal_header_into` on the wire: the records, compressed
    /// if `pack` did so.
    pub fn payload(&self) -> &[u8] {
        self.compressed.as_ref().map_or(&self.records, |c| &c.bytes)
    }

    /// The complete RecordBatch in a buffer of its own.
    #[cfg(test)]
    pub fn seal(&mut self, codec: Codec, level: i32, identity: ProducerIdentity) -> Vec<u8> {
        self.pack(codec, level, Vec::new);
        let mut batch = Vec::new();
        self.seal_header_into(&mut batch, identity);
        batch.extend_from_slice(self.payload());
        batch
    }
}

fn field_len(field: Option<&[u8]>) -> usize {
    match field {
        Some(bytes) => varint_len(bytes.len() as i32) + bytes.len(),
        None => varint_len(-1),
    }
}

/// Room before a record's fixed fields for its length (a varint).
const LENGTH_ROOM: usize = 5;

/// The stack buffer for a record's length and fixed fields: `LENGTH_ROOM`,
/// then attributes (1), timestamp delta (10), offset delta (5), key and
/// value lengths (5 each), then room for the copy of `HEAD_BYTES -
/// LENGTH_ROOM` bytes (as long as the longest length and fields) to start
/// anywhere in `LENGTH_ROOM`.
const HEAD_BYTES: usize = LENGTH_ROOM + 26 + LENGTH_ROOM;

/// Writes `v` zig-zag encoded (a varint when it fits 32 bits) at `buf[at..]`;
/// returns where it ends.
fn put_varlong(buf: &mut [u8], mut at: usize, v: i64) -> usize {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf[at] = (z as u8) | 0x80;
        z >>= 7;
        at += 1;
    }
    buf[at] = z as u8;
    at + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::primitives::Decoder;
    use crate::kafka::protocol::record_headers::{RecordHeaders, NO_HEADERS};

    #[test]
    fn crc32c_matches_published_vectors() {
        // RFC 3720 (iSCSI) appendix B.4 and the common check value.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c::crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let ascending: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c::crc32c(&ascending), 0x46DD_794E);
    }

    #[test]
    fn sealed_batch_header_is_well_formed() {
        let mut b = RecordsBuilder::with_capacity(64);
        assert_eq!(b.append(1_000, Some(b"k"), Some(b"value"), NO_HEADERS), 0);
        assert_eq!(b.append(1_005, None, Some(b""), NO_HEADERS), 1);
        assert_eq!(b.append(999, Some(b""), None, NO_HEADERS), 2);
        let batch = b.seal(Codec::None, -1, ProducerIdentity::NONE);
        assert_eq!(batch.len(), b.encoded_len());

        let mut d = Decoder::new(&batch);
        assert_eq!(d.i64().unwrap(), 0);
        assert_eq!(d.i32().unwrap() as usize, batch.len() - 12);
        assert_eq!(d.i32().unwrap(), -1);
        assert_eq!(d.i8().unwrap(), 2);
        let crc = d.i32().unwrap() as u32;
        assert_eq!(crc, crc32c::crc32c(&batch[21..]));
        assert_eq!(d.i16().unwrap(), 0);
        assert_eq!(d.i32().unwrap(), 2, "lastOffsetDelta");
        assert_eq!(d.i64().unwrap(), 1_000, "baseTimestamp");
        assert_eq!(d.i64().unwrap(), 1_005, "maxTimestamp");
        assert_eq!((d.i64().unwrap(), d.i16().unwrap(), d.i32().unwrap()), (-1, -1, -1));
        assert_eq!(d.i32().unwrap(), 3);

        let records = decode_records(&batch[RECORD_BATCH_OVERHEAD..], 3);
        assert_eq!(
            records,
            vec![(0, 0, Some(b"k".to_vec()), Some(b"value".to_vec())), (5, 1, None, Some(Vec::new())), (-1, 2, Some(Vec::new()), None),]
        );
    }

    #[test]
    fn max_record_overhead_bounds_every_record() {
        let mut b = RecordsBuilder::with_capacity(0);
        b.append(0, None, None, NO_HEADERS);
        for (ts, key, value) in [(i64::MIN, Some(&[1u8; 300][..]), Some(&[2u8; 70_000][..])), (i64::MAX, None, None)] {
            let payload = key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len);
            assert!(b.record_len(ts, key, value, NO_HEADERS) <= payload + MAX_RECORD_OVERHEAD);
        }
    }

    #[test]
    fn record_len_predicts_the_bytes_appended() {
        let mut b = RecordsBuilder::with_capacity(0);
        let big = vec![7u8; 300];
        for (ts, key, value) in [(5i64, Some(&b"a"[..]), Some(&big[..])), (1 << 40, None, None), (-3, Some(&big[..]), Some(&b""[..]))] {
            let before = b.encoded_len();
            let predicted = b.record_len(ts, key, value, NO_HEADERS);
            b.append(ts, key, value, NO_HEADERS);
            assert_eq!(b.encoded_len() - before, predicted);
        }
    }

    #[test]
    fn every_shape_of_record_decodes_as_it_was_appended() {
        let sizes: [Option<Vec<u8>>; 5] = [None, Some(vec![]), Some(vec![1]), Some(vec![2; 300]), Some(vec![3; 70_000])];
        let mut b = RecordsBuilder::with_capacity(0);
        let mut expected = Vec::new();
        let mut offset = 0;
        for timestamp in [1_700_000_000_000i64, 1_699_999_999_997, i64::MAX, i64::MIN] {
            for key in &sizes {
                for value in &sizes {
                    assert_eq!(b.append(timestamp, key.as_deref(), value.as_deref(), NO_HEADERS), offset);
                    let delta = timestamp.wrapping_sub(1_700_000_000_000);
                    expected.push((delta, offset, key.clone(), value.clone()));
                    offset += 1;
                }
            }
        }
        assert_eq!(decode_records(b.payload(), expected.len()), expected);
    }

    fn five_hundred_records() -> RecordsBuilder {
        let mut b = RecordsBuilder::with_capacity(0);
        for i in 0..500 {
            b.append(1_700_000_000_000 + i, Some(format!("key-{i}").as_bytes()), Some(&[i as u8; 100]), NO_HEADERS);
        }
        b
    }

    #[test]
    fn compressed_batches_decode_with_each_codec_crate() {
        let plain = five_hundred_records().seal(Codec::None, -1, ProducerIdentity::NONE);
        let plain_records = &plain[RECORD_BATCH_OVERHEAD..];
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let batch = five_hundred_records().seal(codec, -1, ProducerIdentity::NONE);
            assert!(batch.len() < plain.len() / 2, "{codec:?} did not compress");
            assert_eq!(i16::from_be_bytes([batch[21], batch[22]]), codec as i16);
            assert_eq!(u32::from_be_bytes(batch[8..12].try_into().unwrap()) as usize, batch.len() - 12);
            assert_eq!(u32::from_be_bytes(batch[17..21].try_into().unwrap()), crc32c::crc32c(&batch[21..]));
            let out = crate::kafka::protocol::compression::decompress(codec, &batch[RECORD_BATCH_OVERHEAD..]);
            assert_eq!(out, plain_records, "{codec:?}");
            assert_eq!(decode_records(&out, 500)[499].2.as_deref(), Some(&b"key-499"[..]));
        }
    }

    #[test]
    fn a_batch_is_packed_once_and_restamped_for_each_send() {
        let mut b = five_hundred_records();
        assert!(!b.is_packed());
        b.pack(Codec::Lz4, -1, || vec![0xAA; 10]); // a used buffer is emptied first
        assert!(b.is_packed());
        let compressed = b.payload().as_ptr();
        b.pack(Codec::Zstd, -1, || unreachable!("packed already"));
        assert_eq!(b.payload().as_ptr(), compressed, "packed once");
        for id in [
            ProducerIdentity { producer_id: 5, producer_epoch: 0, base_sequence: 0, transactional: false },
            ProducerIdentity { producer_id: 6, producer_epoch: 2, base_sequence: 40, transactional: false },
        ] {
            let mut header = Vec::new();
            b.seal_header_into(&mut header, id);
            let batch = [&header[..], b.payload()].concat();
            assert_eq!(i16::from_be_bytes([batch[21], batch[22]]), Codec::Lz4 as i16);
            assert_eq!(u32::from_be_bytes(batch[17..21].try_into().unwrap()), crc32c::crc32c(&batch[21..]));
            let mut d = Decoder::new(&batch[43..]);
            assert_eq!((d.i64().unwrap(), d.i16().unwrap(), d.i32().unwrap()), (id.producer_id, id.producer_epoch, id.base_sequence));
        }
        assert_eq!(b.into_buffers().count(), 2, "the records' buffer and the compressed one");
    }

    #[test]
    fn a_header_for_a_payload_packed_or_not_makes_the_sealed_batch() {
        // Packed (the payload's CRC is combined with the header's) and not
        // (the payload is summed after the header).
        for packed in [true, false] {
            let mut b = RecordsBuilder::in_buffer(Vec::new());
            for i in 0..50 {
                b.append(1_000 + i, Some(b"key"), Some(&vec![i as u8; 40 + i as usize]), NO_HEADERS);
            }
            if packed {
                b.pack(Codec::None, -1, || unreachable!("no buffer without a codec"));
            }
            assert_eq!(b.is_packed(), packed);
            let id = ProducerIdentity { producer_id: 9, producer_epoch: 1, base_sequence: 100, transactional: false };
            let mut header = vec![0xEE];
            b.seal_header_into(&mut header, id);
            assert_eq!(header.len(), 1 + RECORD_BATCH_OVERHEAD);
            let spliced = [&header[1..], b.payload()].concat();
            assert_eq!(u32::from_be_bytes(spliced[17..21].try_into().unwrap()), crc32c::crc32c(&spliced[21..]));
            assert_eq!(spliced, b.seal(Codec::None, -1, id), "packed: {packed}");
        }
    }

    #[test]
    fn identity_is_written_for_idempotent_batches() {
        let mut b = RecordsBuilder::with_capacity(0);
        b.append(1, None, Some(b"v"), NO_HEADERS);
        let id = ProducerIdentity { producer_id: 42, producer_epoch: 3, base_sequence: 17, transactional: false };
        let batch = b.seal(Codec::None, -1, id);
        let mut d = Decoder::new(&batch[43..]);
        assert_eq!((d.i64().unwrap(), d.i16().unwrap(), d.i32().unwrap()), (42, 3, 17));
    }

    type Decoded = (i64, i32, Option<Vec<u8>>, Option<Vec<u8>>);

    #[test]
    fn headers_go_into_the_record_and_its_length() {
        let mut headers = RecordHeaders::default();
        headers.add("trace", Some(&[0, 255, 7]));
        headers.add("trace", None);
        let block = headers.encoded();
        let mut b = RecordsBuilder::with_capacity(256);
        let predicted = b.record_len(5, Some(b"k"), Some(b"v"), &block);
        b.append(5, Some(b"k"), Some(b"v"), &block);
        assert_eq!(b.encoded_len() - RecordsBuilder::with_capacity(0).encoded_len(), predicted);
        let mut d = Decoder::new(b.payload());
        let len = d.varint().unwrap() as usize;
        let record = &b.payload()[b.payload().len() - len..];
        assert!(record.ends_with(&block), "the record ends with its header block");
        assert_eq!(block, [4, 10, b't', b'r', b'a', b'c', b'e', 6, 0, 255, 7, 10, b't', b'r', b'a', b'c', b'e', 1]);
    }

    fn decode_records(mut bytes: &[u8], count: usize) -> Vec<Decoded> {
        let mut out = Vec::new();
        for _ in 0..count {
            let mut d = Decoder::new(bytes);
            let len = d.varint().unwrap() as usize;
            let header = bytes.len() - d.remaining();
            let mut r = Decoder::new(&bytes[header..header + len]);
            assert_eq!(r.i8().unwrap(), 0);
            let ts = r.varlong().unwrap();
            let delta = r.varint().unwrap();
            let key = read_field(&mut r);
            let value = read_field(&mut r);
            assert_eq!(r.varint().unwrap(), 0);
            assert_eq!(r.remaining(), 0);
            out.push((ts, delta, key, value));
            bytes = &bytes[header + len..];
        }
        assert!(bytes.is_empty());
        out
    }

    fn read_field(d: &mut Decoder) -> Option<Vec<u8>> {
        let len = d.varint().unwrap();
        (len >= 0).then(|| (0..len).map(|_| d.i8().unwrap() as u8).collect())
    }
}
