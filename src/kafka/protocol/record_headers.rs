//! A record's headers as the RecordBatch v2 format carries them: a varint
//! count, then for each a varint-length UTF-8 name and a varint-length value
//! (-1 for a null value). Encoded once, when the application adds them, and
//! copied into the batch as they are.

use super::primitives::Encoder;

/// The encoded headers of one record; empty means "no headers" (count 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordHeaders {
    count: i32,
    /// The headers after the count.
    bytes: Vec<u8>,
}

/// The header block of a record without headers: a count of 0.
pub const NO_HEADERS: &[u8] = &[0];

impl RecordHeaders {
    /// Adds one header after the others (names may repeat, and be empty).
    pub fn add(&mut self, name: &str, value: Option<&[u8]>) {
        let mut e = Encoder::new(&mut self.bytes);
        e.varint(name.len() as i32);
        e.raw(name.as_bytes());
        match value {
            Some(value) => {
                e.varint(value.len() as i32);
                e.raw(value);
            }
            None => e.varint(-1),
        }
        self.count += 1;
    }

    pub fn count(&self) -> i32 {
        self.count
    }

    pub fn clear(&mut self) {
        self.count = 0;
        self.bytes.clear();
    }

    /// The block a record carries: the count, then the headers.
    pub fn encoded(&self) -> Vec<u8> {
        let mut block = Vec::with_capacity(5 + self.bytes.len());
        Encoder::new(&mut block).varint(self.count);
        block.extend_from_slice(&self.bytes);
        block
    }

    /// The bytes its names and values add to a record, as librdkafka counts
    /// headers against message.max.bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_encode_as_the_record_format_says() {
        let mut headers = RecordHeaders::default();
        assert_eq!(headers.encoded(), NO_HEADERS);
        headers.add("a", Some(b"xy"));
        headers.add("", None);
        headers.add("a", Some(b""));
        // count 3 (zigzag 6); "a" (len 1 -> 2) "xy" (len 2 -> 4); "" (0) null (-1 -> 1); "a" "" (0).
        assert_eq!(headers.encoded(), [6, 2, b'a', 4, b'x', b'y', 0, 1, 2, b'a', 0]);
        assert_eq!((headers.count(), headers.size()), (3, 10));
        headers.clear();
        assert_eq!(headers.encoded(), NO_HEADERS);
    }
}
