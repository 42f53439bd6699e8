//! Produce (key 0), versions 3-8: RecordBatch v2 per partition, one
//! result per partition back (none at all when acks=0). The records are
//! spliced in from their batches' buffers, never copied into the frame.

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::record_batch::RECORD_BATCH_OVERHEAD;
use super::{Request, Splice};

/// One partition's batch as a Produce request carries it: the RecordBatch
/// header goes into the request's frame, the records go on the wire from
/// their own buffer.
pub trait ProduceBatch {
    fn topic(&self) -> &str;
    fn partition(&self) -> i32;
    /// Appends the batch's header (everything before its records).
    fn write_header(&self, out: &mut Vec<u8>);
    fn records(&self) -> &[u8];
    /// How many records `records` holds.
    fn record_count(&self) -> usize;
}

/// Batches for one broker, sorted by topic, under one acks and timeout.
pub struct ProduceRequest<B> {
    /// The transactional producer's transactional.id, else None.
    pub transactional_id: Option<std::sync::Arc<str>>,
    pub acks: i16,
    pub timeout_ms: i32,
    pub batches: Vec<B>,
}

impl<B: ProduceBatch> Request for ProduceRequest<B> {
    const NAME: &'static str = "Produce";
    const API_KEY: i16 = 0;
    const VERSIONS: std::ops::RangeInclusive<i16> = 3..=8;
    const FLEXIBLE_SINCE: Option<i16> = None;
    type Response = ProduceResponse;
    const CLIENT_THROTTLES_SINCE: Option<i16> = Some(6);

    fn throttle_time_ms(response: &ProduceResponse) -> i32 {
        response.throttle_time_ms
    }

    fn records(&self) -> usize {
        self.batches.iter().map(ProduceBatch::record_count).sum()
    }

    fn encode<'a>(&'a self, e: &mut Encoder, _version: i16, splices: &mut Vec<Splice<'a>>) {
        let topics: Vec<&[B]> = self.batches.chunk_by(|a, b| a.topic() == b.topic()).collect();
        e.nullable_string(self.transactional_id.as_deref());
        e.i16(self.acks);
        e.i32(self.timeout_ms);
        e.array_len(topics.len());
        for topic in topics {
            e.string(topic[0].topic());
            e.array_len(topic.len());
            for batch in topic {
                e.i32(batch.partition());
                let length_at = e.position();
                e.i32(0);
                batch.write_header(e.buffer());
                let length = e.position() - length_at - 4 + batch.records().len();
                e.patch_i32(length_at, length as i32);
                splices.push(Splice { at: e.position(), bytes: batch.records() });
            }
        }
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<ProduceResponse> {
        decode_results(body, version)
    }

    /// acks=0: the broker answers nothing, and nothing is known.
    fn unanswered(&self) -> Option<ProduceResponse> {
        (self.acks == 0).then(ProduceResponse::default)
    }

    /// The frame holds the batches' headers and the topic names.
    fn size_hint(&self) -> usize {
        self.batches.iter().map(|b| RECORD_BATCH_OVERHEAD + b.topic().len() + 16).sum()
    }
}

/// A batch given as its bytes (tests, and the decoders' fuzz targets).
pub struct RawBatch<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub header: &'a [u8],
    pub records: &'a [u8],
}

impl ProduceBatch for RawBatch<'_> {
    fn topic(&self) -> &str {
        self.topic
    }

    fn partition(&self) -> i32 {
        self.partition
    }

    fn write_header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.header);
    }

    fn records(&self) -> &[u8] {
        self.records
    }

    /// Not counted: only statistics ask, and tests send these.
    fn record_count(&self) -> usize {
        0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResult {
    pub partition: i32,
    pub error_code: i16,
    pub base_offset: i64,
    /// -1 unless the topic uses LogAppendTime.
    pub log_append_time_ms: i64,
    /// v8+: the records that failed the broker's validation, in the order
    /// sent (empty on success, and before v8).
    pub record_errors: Vec<RecordError>,
    /// v8+: the broker's own text for `error_code`, as it sent it (the
    /// producer cuts it before showing it).
    pub error_message: Option<String>,
}

/// One refused record of a v8+ answer: its index in the batch and the
/// broker's text for it, as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub batch_index: i32,
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicResult {
    pub topic: String,
    pub partitions: Vec<PartitionResult>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProduceResponse {
    pub topics: Vec<TopicResult>,
    pub throttle_time_ms: i32,
}

fn decode_results(body: &[u8], version: i16) -> DecodeResult<ProduceResponse> {
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
            let (mut record_errors, mut error_message) = (Vec::new(), None);
            if version >= 8 {
                // Bounded by the answer's size (6 bytes an item at least).
                let count = d.array_len(6)?;
                record_errors.reserve_exact(count);
                for _ in 0..count {
                    record_errors.push(RecordError { batch_index: d.i32()?, message: d.nullable_string()? });
                }
                error_message = d.nullable_string()?;
            }
            partitions.push(PartitionResult { partition, error_code, base_offset, log_append_time_ms, record_errors, error_message });
        }
        topics.push(TopicResult { topic, partitions });
    }
    let throttle_time_ms = d.i32()?;
    Ok(ProduceResponse { topics, throttle_time_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERSIONS: std::ops::RangeInclusive<i16> = ProduceRequest::<RawBatch>::VERSIONS;
    fn decode_response(body: &[u8], version: i16) -> DecodeResult<ProduceResponse> {
        ProduceRequest::<RawBatch>::decode(body, version)
    }

    #[test]
    fn request_layout_with_spliced_records() {
        let mut frame = Vec::new();
        let mut splices = Vec::new();
        let records = [1u8, 2, 3, 4, 5];
        let batch = RawBatch { topic: "t", partition: 2, header: b"HDR", records: &records };
        let request = ProduceRequest { transactional_id: None, acks: -1, timeout_ms: 30_000, batches: vec![batch] };
        request.encode(&mut Encoder::new(&mut frame), 8, &mut splices);
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

    #[test]
    fn batches_of_one_topic_share_its_entry() {
        let batch = |topic, partition| RawBatch { topic, partition, header: b"H", records: b"R" };
        let request =
            ProduceRequest { transactional_id: None, acks: 1, timeout_ms: 1, batches: vec![batch("a", 0), batch("a", 1), batch("b", 0)] };
        let mut frame = Vec::new();
        let mut splices = Vec::new();
        request.encode(&mut Encoder::new(&mut frame), 8, &mut splices);
        let body = crate::kafka::protocol::frame_parts(&frame, &splices).concat();
        let mut d = Decoder::new(&body[2 + 2 + 4..]);
        assert_eq!(d.array_len(1).unwrap(), 2, "two topics");
        assert_eq!((d.string().unwrap(), d.array_len(1).unwrap()), ("a".to_owned(), 2));
        assert_eq!(splices.len(), 3);
        assert_eq!(request.unanswered(), None, "acks=1 is answered");
        assert_eq!(
            ProduceRequest::<RawBatch> { transactional_id: None, acks: 0, timeout_ms: 1, batches: vec![] }.unanswered(),
            Some(ProduceResponse::default())
        );
    }

    /// Partition 0 stored, partition 1 refused: from v8 with two record
    /// errors (one without a text) and the partition's message.
    fn response(version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        e.array_len(1);
        e.string("t");
        e.array_len(2);
        for (p, err, offset) in [(0, 0i16, 100i64), (1, 87, -1)] {
            e.i32(p);
            e.i16(err);
            e.i64(offset);
            e.i64(-1);
            if version >= 5 {
                e.i64(0);
            }
            if version >= 8 {
                let record_errors: &[(i32, Option<&str>)] = if err != 0 { &[(0, Some("bad key\n")), (3, None)] } else { &[] };
                e.array_len(record_errors.len());
                for &(index, message) in record_errors {
                    e.i32(index);
                    e.nullable_string(message);
                }
                e.nullable_string(if err != 0 { Some("batch refused") } else { None });
            }
        }
        e.i32(250); // throttle_time_ms
        body
    }

    fn stored() -> PartitionResult {
        PartitionResult {
            partition: 0,
            error_code: 0,
            base_offset: 100,
            log_append_time_ms: -1,
            record_errors: vec![],
            error_message: None,
        }
    }

    #[test]
    fn decodes_every_supported_version() {
        for version in VERSIONS {
            let r = decode_response(&response(version), version).unwrap();
            assert_eq!(r.throttle_time_ms, 250, "v{version}");
            let r = r.topics;
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].topic, "t");
            assert_eq!(r[0].partitions[0], stored(), "v{version}");
            assert_eq!((r[0].partitions[1].partition, r[0].partitions[1].error_code), (1, 87), "v{version}");
        }
    }

    /// v8 keeps what the broker said, as it said it (control characters
    /// and all: the producer cuts and cleans it).
    #[test]
    fn v8_keeps_the_record_errors_and_the_message() {
        let r = decode_response(&response(8), 8).unwrap();
        let refused = &r.topics[0].partitions[1];
        assert_eq!(
            refused.record_errors,
            [RecordError { batch_index: 0, message: Some("bad key\n".into()) }, RecordError { batch_index: 3, message: None }]
        );
        assert_eq!(refused.error_message.as_deref(), Some("batch refused"));
        assert_eq!(r.topics[0].partitions[0], stored(), "a stored partition has neither");
    }

    #[test]
    fn before_v8_there_are_no_texts() {
        for version in [3, 7] {
            let r = decode_response(&response(version), version).unwrap();
            let refused = &r.topics[0].partitions[1];
            assert_eq!((refused.record_errors.len(), refused.error_message.as_deref()), (0, None), "v{version}");
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
