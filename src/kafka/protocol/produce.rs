//! Produce (key 0), versions 3-8: RecordBatch v2 per partition, one
//! result per partition back (none at all when acks=0).

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::Splice;

pub const API_KEY: i16 = 0;
pub const VERSIONS: std::ops::RangeInclusive<i16> = 3..=8;

/// Writes the request up to its topic array: then, for each topic,
/// `encode_topic` and for each of its partitions `encode_partition`.
pub fn encode_request_start(e: &mut Encoder, acks: i16, timeout_ms: i32, topic_count: usize) {
    e.nullable_string(None); // transactional_id
    e.i16(acks);
    e.i32(timeout_ms);
    e.array_len(topic_count);
}

pub fn encode_topic(e: &mut Encoder, topic: &str, partition_count: usize) {
    e.string(topic);
    e.array_len(partition_count);
}

/// One partition's RecordBatch, its records spliced in rather than copied:
/// `write_header` appends the part that goes before them (the batch's
/// header), then `spliced` follows on the wire from its own buffer.
pub fn encode_partition<'a>(
    e: &mut Encoder,
    partition: i32,
    write_header: impl FnOnce(&mut Vec<u8>),
    spliced: &'a [u8],
    splices: &mut Vec<Splice<'a>>,
) {
    e.i32(partition);
    let length_at = e.position();
    e.i32(0);
    write_header(e.buffer());
    let length = e.position() - length_at - 4 + spliced.len();
    e.patch_i32(length_at, length as i32);
    splices.push(Splice { at: e.position(), bytes: spliced });
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResult {
    pub partition: i32,
    pub error_code: i16,
    pub base_offset: i64,
    /// -1 unless the topic uses LogAppendTime.
    pub log_append_time_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicResult {
    pub topic: String,
    pub partitions: Vec<PartitionResult>,
}

pub fn decode_response(body: &[u8], version: i16) -> DecodeResult<Vec<TopicResult>> {
    let mut d = Decoder::new(body);
    let topic_count = d.array_len(6)?;
    let mut topics = Vec::with_capacity(topic_count);
    for _ in 0..topic_count {
        let topic = d.string()?;
        let partition_count = d.array_len(22)?;
        let mut partitions = Vec::with_capacity(partition_count);
        for _ in 0..partition_count {
            let partition = d.i32()?;
            let error_code = d.i16()?;
            let base_offset = d.i64()?;
            let log_append_time_ms = d.i64()?;
            if version >= 5 {
                d.i64()?; // log_start_offset
            }
            if version >= 8 {
                for _ in 0..d.array_len(6)? {
                    d.i32()?; // batch_index
                    d.nullable_string()?; // batch_index_error_message
                }
                d.nullable_string()?; // error_message
            }
            partitions.push(PartitionResult { partition, error_code, base_offset, log_append_time_ms });
        }
        topics.push(TopicResult { topic, partitions });
    }
    d.i32()?; // throttle_time_ms
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout_with_spliced_records() {
        let mut frame = Vec::new();
        let mut splices = Vec::new();
        let records = [1u8, 2, 3, 4, 5];
        let mut e = Encoder::new(&mut frame);
        encode_request_start(&mut e, -1, 30_000, 1);
        encode_topic(&mut e, "t", 1);
        encode_partition(&mut e, 2, |out| out.extend_from_slice(b"HDR"), &records, &mut splices);
        assert_eq!(splices.len(), 1);
        let body = crate::kafka::protocol::frame_parts(&frame, &splices).concat();
        let mut d = Decoder::new(&body);
        assert_eq!(d.nullable_string().unwrap(), None);
        assert_eq!(d.i16().unwrap(), -1);
        assert_eq!(d.i32().unwrap(), 30_000);
        assert_eq!(d.array_len(1).unwrap(), 1);
        assert_eq!(d.string().unwrap(), "t");
        assert_eq!(d.array_len(1).unwrap(), 1);
        assert_eq!(d.i32().unwrap(), 2);
        assert_eq!(d.i32().unwrap(), 8, "header and records");
        assert_eq!(&body[body.len() - d.remaining()..], b"HDR\x01\x02\x03\x04\x05");
    }

    fn response(version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        e.array_len(1);
        e.string("t");
        e.array_len(2);
        for (p, err, offset) in [(0, 0i16, 100i64), (1, 10, -1)] {
            e.i32(p);
            e.i16(err);
            e.i64(offset);
            e.i64(-1);
            if version >= 5 {
                e.i64(0);
            }
            if version >= 8 {
                e.array_len(0);
                e.nullable_string(if err != 0 { Some("too large") } else { None });
            }
        }
        e.i32(0);
        body
    }

    #[test]
    fn decodes_every_supported_version() {
        for version in VERSIONS {
            let r = decode_response(&response(version), version).unwrap();
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].topic, "t");
            assert_eq!(
                r[0].partitions,
                vec![
                    PartitionResult { partition: 0, error_code: 0, base_offset: 100, log_append_time_ms: -1 },
                    PartitionResult { partition: 1, error_code: 10, base_offset: -1, log_append_time_ms: -1 },
                ],
                "v{version}"
            );
        }
    }

    #[test]
    fn truncated_responses_fail_cleanly() {
        let full = response(8);
        for len in 0..full.len() {
            assert!(decode_response(&full[..len], 8).is_err(), "prefix of {len} bytes");
        }
    }
}
