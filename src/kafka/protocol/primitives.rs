//! Kafka's primitive wire types: big-endian integers, (compact) strings and
//! bytes, arrays, zig-zag varints and tagged fields.
//!
//! `Decoder` never trusts a length it reads: every length is checked against
//! the bytes that remain before anything is allocated, so a hostile or broken
//! broker cannot make us allocate more than it sent.

use std::fmt;

/// A response that does not parse. The connection it came from is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed response: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

pub type DecodeResult<T> = Result<T, DecodeError>;

/// A request that cannot be encoded: a length does not fit its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeError(pub &'static str);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request not encodable: {}", self.0)
    }
}

impl std::error::Error for EncodeError {}

/// Appends Kafka primitives to a byte buffer.
///
/// A length that does not fit its field (a string over 32,767 bytes, say)
/// is never written wrapped: the encoder remembers the first such error,
/// which `error` reports, and the request must then not be sent.
pub struct Encoder<'a> {
    buf: &'a mut Vec<u8>,
    error: Option<EncodeError>,
}

impl<'a> Encoder<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        Encoder { buf, error: None }
    }

    /// The first length that did not fit, if any: then the bytes written
    /// are not a valid request.
    pub fn error(&self) -> Option<EncodeError> {
        self.error
    }

    fn fail(&mut self, what: &'static str) {
        self.error.get_or_insert(EncodeError(what));
    }

    /// Bytes written to the underlying buffer so far (from its start).
    pub fn position(&self) -> usize {
        self.buf.len()
    }

    /// Overwrites four bytes at `at` (a length written before it was known).
    pub fn patch_i32(&mut self, at: usize, v: i32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// The underlying buffer, for writers that append to a `Vec` directly.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.buf
    }

    pub fn i8(&mut self, v: i8) {
        self.buf.push(v as u8);
    }

    pub fn i16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// INT16 length, then the bytes.
    pub fn string(&mut self, s: &str) {
        match i16::try_from(s.len()) {
            Ok(len) => {
                self.i16(len);
                self.raw(s.as_bytes());
            }
            Err(_) => self.fail("a string longer than 32767 bytes"),
        }
    }

    /// -1 for null.
    pub fn nullable_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.i16(-1),
        }
    }

    /// UNSIGNED_VARINT length + 1, then the bytes (flexible versions);
    /// Kafka bounds these strings as INT16 ones.
    pub fn compact_string(&mut self, s: &str) {
        match i16::try_from(s.len()) {
            Ok(len) => {
                self.unsigned_varint(len as u32 + 1);
                self.raw(s.as_bytes());
            }
            Err(_) => self.fail("a string longer than 32767 bytes"),
        }
    }

    pub fn compact_nullable_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.compact_string(s),
            None => self.unsigned_varint(0),
        }
    }

    /// INT32 length, then the bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        match i32::try_from(b.len()) {
            Ok(len) => {
                self.i32(len);
                self.raw(b);
            }
            Err(_) => self.fail("bytes longer than 2147483647"),
        }
    }

    pub fn compact_bytes(&mut self, b: &[u8]) {
        match i32::try_from(b.len()) {
            Ok(len) => {
                self.unsigned_varint(len as u32 + 1);
                self.raw(b);
            }
            Err(_) => self.fail("bytes longer than 2147483647"),
        }
    }

    pub fn array_len(&mut self, len: usize) {
        match i32::try_from(len) {
            Ok(len) => self.i32(len),
            Err(_) => self.fail("an array longer than 2147483647"),
        }
    }

    pub fn compact_array_len(&mut self, len: usize) {
        match i32::try_from(len) {
            Ok(len) => self.unsigned_varint(len as u32 + 1),
            Err(_) => self.fail("an array longer than 2147483647"),
        }
    }

    /// An empty tagged-field section.
    pub fn no_tagged_fields(&mut self) {
        self.unsigned_varint(0);
    }

    // The same field in either form, chosen by whether the message's
    // version is flexible: one line per field in the messages, not a match.

    /// `compact_string` when `flexible`, else `string`.
    pub fn string_for(&mut self, flexible: bool, s: &str) {
        match flexible {
            true => self.compact_string(s),
            false => self.string(s),
        }
    }

    /// `compact_nullable_string` when `flexible`, else `nullable_string`.
    pub fn nullable_string_for(&mut self, flexible: bool, s: Option<&str>) {
        match flexible {
            true => self.compact_nullable_string(s),
            false => self.nullable_string(s),
        }
    }

    /// `compact_array_len` when `flexible`, else `array_len`.
    pub fn array_len_for(&mut self, flexible: bool, len: usize) {
        match flexible {
            true => self.compact_array_len(len),
            false => self.array_len(len),
        }
    }

    /// An empty tagged-field section when `flexible`; nothing otherwise.
    pub fn tagged_fields_for(&mut self, flexible: bool) {
        if flexible {
            self.no_tagged_fields();
        }
    }

    pub fn unsigned_varint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub fn varint(&mut self, v: i32) {
        self.unsigned_varint(((v << 1) ^ (v >> 31)) as u32);
    }

    pub fn varlong(&mut self, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            self.buf.push((z as u8) | 0x80);
            z >>= 7;
        }
        self.buf.push(z as u8);
    }
}

/// Bytes a zig-zag varint of `v` takes.
pub fn varint_len(v: i32) -> usize {
    varlong_len(i64::from(v))
}

/// Bytes a zig-zag varlong of `v` takes.
pub fn varlong_len(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    let bits = 64 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads Kafka primitives from a response body.
pub struct Decoder<'a> {
    buf: &'a [u8],
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        if n > self.buf.len() {
            return Err(DecodeError("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn i8(&mut self) -> DecodeResult<i8> {
        Ok(self.array::<1>()?[0] as i8)
    }

    pub fn bool(&mut self) -> DecodeResult<bool> {
        Ok(self.i8()? != 0)
    }

    pub fn i16(&mut self) -> DecodeResult<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> DecodeResult<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> DecodeResult<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub fn string(&mut self) -> DecodeResult<String> {
        self.nullable_string()?.ok_or(DecodeError("null where a string is required"))
    }

    pub fn nullable_string(&mut self) -> DecodeResult<Option<String>> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        self.utf8(len as usize).map(Some)
    }

    pub fn compact_string(&mut self) -> DecodeResult<String> {
        self.compact_nullable_string()?.ok_or(DecodeError("null where a string is required"))
    }

    pub fn compact_nullable_string(&mut self) -> DecodeResult<Option<String>> {
        match self.unsigned_varint()? {
            0 => Ok(None),
            n => self.utf8(n as usize - 1).map(Some),
        }
    }

    fn utf8(&mut self, len: usize) -> DecodeResult<String> {
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("string is not UTF-8"))
    }

    /// INT32 length, then the bytes.
    pub fn bytes(&mut self) -> DecodeResult<Vec<u8>> {
        let len = self.i32()?;
        if len < 0 {
            return Err(DecodeError("null where bytes are required"));
        }
        Ok(self.take(len as usize)?.to_vec())
    }

    /// An INT32 array length; -1 (null) reads as 0. The count is bounded by
    /// the remaining bytes at `min_item_len` bytes an item.
    pub fn array_len(&mut self, min_item_len: usize) -> DecodeResult<usize> {
        let len = self.i32()?;
        self.checked_count(i64::from(len.max(0)), min_item_len)
    }

    pub fn compact_array_len(&mut self, min_item_len: usize) -> DecodeResult<usize> {
        let len = i64::from(self.unsigned_varint()?) - 1;
        self.checked_count(len.max(0), min_item_len)
    }

    fn checked_count(&self, count: i64, min_item_len: usize) -> DecodeResult<usize> {
        let max = (self.buf.len() / min_item_len.max(1)) as i64;
        if count > max {
            return Err(DecodeError("array length exceeds the response"));
        }
        Ok(count as usize)
    }

    /// Skips a tagged-field section (flexible versions).
    pub fn skip_tagged_fields(&mut self) -> DecodeResult<()> {
        let count = self.unsigned_varint()?;
        for _ in 0..count {
            self.unsigned_varint()?;
            let len = self.unsigned_varint()? as usize;
            self.take(len)?;
        }
        Ok(())
    }

    /// `compact_string` when `flexible`, else `string`.
    pub fn string_for(&mut self, flexible: bool) -> DecodeResult<String> {
        match flexible {
            true => self.compact_string(),
            false => self.string(),
        }
    }

    /// `compact_nullable_string` when `flexible`, else `nullable_string`.
    pub fn nullable_string_for(&mut self, flexible: bool) -> DecodeResult<Option<String>> {
        match flexible {
            true => self.compact_nullable_string(),
            false => self.nullable_string(),
        }
    }

    /// `compact_array_len` when `flexible`, else `array_len`.
    pub fn array_len_for(&mut self, flexible: bool, min_item_len: usize) -> DecodeResult<usize> {
        match flexible {
            true => self.compact_array_len(min_item_len),
            false => self.array_len(min_item_len),
        }
    }

    /// Skips a tagged-field section when `flexible`; reads nothing otherwise.
    pub fn tagged_fields_for(&mut self, flexible: bool) -> DecodeResult<()> {
        match flexible {
            true => self.skip_tagged_fields(),
            false => Ok(()),
        }
    }

    pub fn unsigned_varint(&mut self) -> DecodeResult<u32> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.array::<1>()?[0];
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError("varint longer than 5 bytes"))
    }

    pub fn varint(&mut self) -> DecodeResult<i32> {
        let z = self.unsigned_varint()?;
        Ok(((z >> 1) as i32) ^ -((z & 1) as i32))
    }

    pub fn varlong(&mut self) -> DecodeResult<i64> {
        let mut z: u64 = 0;
        for shift in (0..70).step_by(7) {
            let byte = self.array::<1>()?[0];
            z |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        Err(DecodeError("varlong longer than 10 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(f: impl FnOnce(&mut Encoder)) -> Vec<u8> {
        let mut buf = Vec::new();
        f(&mut Encoder::new(&mut buf));
        buf
    }

    #[test]
    fn zigzag_varints_match_the_protobuf_encoding() {
        // Values and encodings from the protobuf encoding guide.
        assert_eq!(encoded(|e| e.varint(0)), [0x00]);
        assert_eq!(encoded(|e| e.varint(-1)), [0x01]);
        assert_eq!(encoded(|e| e.varint(1)), [0x02]);
        assert_eq!(encoded(|e| e.varint(-2)), [0x03]);
        assert_eq!(encoded(|e| e.varint(150)), [0xac, 0x02]);
        assert_eq!(encoded(|e| e.varint(i32::MAX)), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(encoded(|e| e.varint(i32::MIN)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(encoded(|e| e.varlong(i64::MIN)).len(), 10);
    }

    #[test]
    fn varints_round_trip_and_lengths_agree() {
        for v in [0i64, 1, -1, 63, 64, -64, -65, 8191, 8192, 1 << 40, -(1 << 40), i64::MAX, i64::MIN] {
            let bytes = encoded(|e| e.varlong(v));
            assert_eq!(bytes.len(), varlong_len(v), "length of {v}");
            assert_eq!(Decoder::new(&bytes).varlong().unwrap(), v);
        }
        for v in [0i32, 1, -1, 300, -300, i32::MAX, i32::MIN] {
            let bytes = encoded(|e| e.varint(v));
            assert_eq!(bytes.len(), varint_len(v));
            assert_eq!(Decoder::new(&bytes).varint().unwrap(), v);
        }
    }

    #[test]
    fn strings_and_nulls_round_trip() {
        let bytes = encoded(|e| {
            e.string("topic");
            e.nullable_string(None);
            e.compact_string("abc");
            e.compact_nullable_string(None);
        });
        let mut d = Decoder::new(&bytes);
        assert_eq!(d.string().unwrap(), "topic");
        assert_eq!(d.nullable_string().unwrap(), None);
        assert_eq!(d.compact_string().unwrap(), "abc");
        assert_eq!(d.compact_nullable_string().unwrap(), None);
        assert_eq!(d.remaining(), 0);
    }

    #[test]
    fn lengths_beyond_the_buffer_are_refused_before_allocating() {
        let bytes = encoded(|e| e.i32(i32::MAX));
        assert!(Decoder::new(&bytes).array_len(4).is_err());
        let bytes = encoded(|e| e.i16(100));
        assert!(Decoder::new(&bytes).string().is_err());
        assert!(Decoder::new(&[0xff; 6]).unsigned_varint().is_err());
        assert!(Decoder::new(&[]).i32().is_err());
        assert!(Decoder::new(&[0x7f, 0xff, 0xff, 0xff, 1]).bytes().is_err());
        assert!(Decoder::new(&[0xff, 0xff, 0xff, 0xff]).bytes().is_err(), "null bytes");
    }

    #[test]
    fn the_for_forms_pick_compact_in_flexible_versions() {
        let classic = encoded(|e| {
            e.string_for(false, "ab");
            e.array_len_for(false, 1);
            e.nullable_string_for(false, None);
            e.tagged_fields_for(false);
        });
        assert_eq!(classic, [0, 2, b'a', b'b', 0, 0, 0, 1, 0xff, 0xff]);
        let flexible = encoded(|e| {
            e.string_for(true, "ab");
            e.array_len_for(true, 1);
            e.nullable_string_for(true, None);
            e.tagged_fields_for(true);
        });
        assert_eq!(flexible, [3, b'a', b'b', 2, 0, 0]);
        for (bytes, flexible) in [(classic, false), (flexible, true)] {
            let mut d = Decoder::new(&bytes);
            assert_eq!(d.string_for(flexible).unwrap(), "ab");
            assert_eq!(d.array_len_for(flexible, 1).unwrap(), 1);
            assert_eq!(d.nullable_string_for(flexible).unwrap(), None);
            d.tagged_fields_for(flexible).unwrap();
            assert_eq!(d.remaining(), 0, "flexible: {flexible}");
        }
    }

    #[test]
    fn bytes_round_trip() {
        let bytes = encoded(|e| {
            e.bytes(b"auth");
            e.bytes(b"");
        });
        let mut d = Decoder::new(&bytes);
        assert_eq!(d.bytes().unwrap(), b"auth");
        assert_eq!(d.bytes().unwrap(), b"");
        assert_eq!(d.remaining(), 0);
    }
}
