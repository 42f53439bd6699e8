//! AddPartitionsToTxn (key 24), versions 0-3: the partitions a transaction
//! writes to, told to its coordinator before the first batch to each. v2
//! lets the broker answer PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before),
//! v3 is flexible. v4+ batches several transactions and is for brokers
//! only (KIP-890): not spoken.
//!
//! The answer, per topic per partition error codes, has the shape of
//! TxnOffsetCommit's, which reads it with `decode_topic_errors`.

use std::collections::{BTreeMap, BTreeSet};

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::{Request, Splice};

/// The first flexible version (request header v2, response header v1).
const FLEXIBLE_SINCE: i16 = 3;

/// One topic's partitions to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddPartitionsToTxnTopic<'a> {
    pub name: &'a str,
    pub partitions: Vec<i32>,
}

/// Partitions to add to the ongoing transaction of `transactional_id`,
/// each topic once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddPartitionsToTxnRequest<'a> {
    pub transactional_id: &'a str,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub topics: Vec<AddPartitionsToTxnTopic<'a>>,
}

impl<'a> AddPartitionsToTxnRequest<'a> {
    /// The request for these (topic, partition) pairs, grouped by topic
    /// as the wire wants them (sorted, duplicates dropped).
    pub fn new(
        transactional_id: &'a str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: impl IntoIterator<Item = (&'a str, i32)>,
    ) -> Self {
        let mut by_topic: BTreeMap<&'a str, BTreeSet<i32>> = BTreeMap::new();
        for (topic, partition) in partitions {
            by_topic.entry(topic).or_default().insert(partition);
        }
        let topics = by_topic
            .into_iter()
            .map(|(name, partitions)| AddPartitionsToTxnTopic { name, partitions: partitions.into_iter().collect() })
            .collect();
        AddPartitionsToTxnRequest { transactional_id, producer_id, producer_epoch, topics }
    }
}

/// One partition's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionError {
    pub partition: i32,
    pub error_code: i16,
}

/// One topic's answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicErrors {
    pub name: String,
    pub partitions: Vec<PartitionError>,
}

/// An error code per partition asked. The whole request's failure (not
/// the coordinator, fenced) comes as that code on every partition; when
/// some partitions fail (unknown topic, not authorized) the others carry
/// OPERATION_NOT_ATTEMPTED (55).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddPartitionsToTxnResponse {
    pub throttle_time_ms: i32,
    pub topics: Vec<TopicErrors>,
}

impl Request for AddPartitionsToTxnRequest<'_> {
    const NAME: &'static str = "AddPartitionsToTxn";
    const API_KEY: i16 = 24;
    const VERSIONS: std::ops::RangeInclusive<i16> = 0..=3;
    const FLEXIBLE_SINCE: Option<i16> = Some(FLEXIBLE_SINCE);
    type Response = AddPartitionsToTxnResponse;
    const CLIENT_THROTTLES_SINCE: Option<i16> = Some(1);

    fn throttle_time_ms(response: &AddPartitionsToTxnResponse) -> i32 {
        response.throttle_time_ms
    }

    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        let flexible = Self::is_flexible(version);
        e.string_for(flexible, self.transactional_id);
        e.i64(self.producer_id);
        e.i16(self.producer_epoch);
        e.array_len_for(flexible, self.topics.len());
        for topic in &self.topics {
            e.string_for(flexible, topic.name);
            e.array_len_for(flexible, topic.partitions.len());
            for &partition in &topic.partitions {
                e.i32(partition);
            }
            e.tagged_fields_for(flexible);
        }
        e.tagged_fields_for(flexible);
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<AddPartitionsToTxnResponse> {
        let flexible = Self::is_flexible(version);
        let mut d = Decoder::new(body);
        let throttle_time_ms = d.i32()?;
        let topics = decode_topic_errors(&mut d, flexible)?;
        d.tagged_fields_for(flexible)?;
        Ok(AddPartitionsToTxnResponse { throttle_time_ms, topics })
    }

    fn size_hint(&self) -> usize {
        self.transactional_id.len() + 16 + self.topics.iter().map(|t| t.name.len() + 8 + 4 * t.partitions.len()).sum::<usize>()
    }
}

/// [name, [partition, error_code]] per topic, tagged fields after each
/// struct in flexible versions: the answer of AddPartitionsToTxn and of
/// TxnOffsetCommit alike.
pub(super) fn decode_topic_errors(d: &mut Decoder, flexible: bool) -> DecodeResult<Vec<TopicErrors>> {
    let (topic_len, partition_len) = if flexible { (3, 7) } else { (6, 6) };
    let topic_count = d.array_len_for(flexible, topic_len)?;
    let mut topics = Vec::with_capacity(topic_count);
    for _ in 0..topic_count {
        let name = d.string_for(flexible)?;
        let partition_count = d.array_len_for(flexible, partition_len)?;
        let mut partitions = Vec::with_capacity(partition_count);
        for _ in 0..partition_count {
            partitions.push(PartitionError { partition: d.i32()?, error_code: d.i16()? });
            d.tagged_fields_for(flexible)?;
        }
        d.tagged_fields_for(flexible)?;
        topics.push(TopicErrors { name, partitions });
    }
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::decode_response;

    const VERSIONS: std::ops::RangeInclusive<i16> = AddPartitionsToTxnRequest::VERSIONS;

    fn request(version: i16) -> Vec<u8> {
        let request = AddPartitionsToTxnRequest::new("t", 1, 2, [("a", 1), ("a", 0), ("a", 1)]);
        let mut body = Vec::new();
        request.encode(&mut Encoder::new(&mut body), version, &mut Vec::new());
        body
    }

    #[test]
    fn request_layout_by_version() {
        #[rustfmt::skip]
        let v0 = [
            0, 1, b't',                  // transactional_id
            0, 0, 0, 0, 0, 0, 0, 1,      // producer_id
            0, 2,                        // producer_epoch
            0, 0, 0, 1,                  // one topic
            0, 1, b'a',                  // name
            0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, // partitions [0, 1]
        ];
        assert_eq!(request(0), v0);
        assert_eq!(request(2), v0, "v1 and v2 are v0's layout");
        #[rustfmt::skip]
        let v3 = [
            2, b't',
            0, 0, 0, 0, 0, 0, 0, 1,
            0, 2,
            2,                           // one topic (compact: count + 1)
            2, b'a',
            3, 0, 0, 0, 0, 0, 0, 0, 1,   // partitions [0, 1]
            0,                           // the topic's tagged fields
            0,                           // the request's
        ];
        assert_eq!(request(3), v3);
    }

    #[test]
    fn new_groups_pairs_by_topic_sorted_and_once() {
        let request = AddPartitionsToTxnRequest::new("t", 1, 2, [("b", 3), ("a", 1), ("b", 0), ("b", 3)]);
        assert_eq!(
            request.topics,
            [AddPartitionsToTxnTopic { name: "a", partitions: vec![1] }, AddPartitionsToTxnTopic { name: "b", partitions: vec![0, 3] }]
        );
    }

    /// Two topics, the second with an error on one of its two partitions.
    fn response(version: i16) -> Vec<u8> {
        let flexible = version >= FLEXIBLE_SINCE;
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        if flexible {
            e.no_tagged_fields(); // response header v1
        }
        e.i32(5);
        e.array_len_for(flexible, 2);
        for (name, errors) in [("a", &[(0, 0)][..]), ("bb", &[(0, 0), (1, 3)][..])] {
            e.string_for(flexible, name);
            e.array_len_for(flexible, errors.len());
            for &(partition, error_code) in errors {
                e.i32(partition);
                e.i16(error_code);
                e.tagged_fields_for(flexible);
            }
            e.tagged_fields_for(flexible);
        }
        e.tagged_fields_for(flexible);
        body
    }

    #[test]
    fn decodes_every_version_and_refuses_truncations() {
        let expected = AddPartitionsToTxnResponse {
            throttle_time_ms: 5,
            topics: vec![
                TopicErrors { name: "a".into(), partitions: vec![PartitionError { partition: 0, error_code: 0 }] },
                TopicErrors {
                    name: "bb".into(),
                    partitions: vec![
                        PartitionError { partition: 0, error_code: 0 },
                        PartitionError { partition: 1, error_code: 3 }, // UNKNOWN_TOPIC_OR_PARTITION
                    ],
                },
            ],
        };
        for version in VERSIONS {
            let body = response(version);
            assert_eq!(decode_response::<AddPartitionsToTxnRequest>(&body, version).unwrap(), expected, "v{version}");
            for len in 0..body.len() {
                assert!(decode_response::<AddPartitionsToTxnRequest>(&body[..len], version).is_err(), "v{version} prefix {len}");
            }
        }
    }

    #[test]
    fn the_v0_bytes_decode() {
        // throttle 0; topic "t": partition 2 CONCURRENT_TRANSACTIONS (51)
        let body = [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 2, 0, 51];
        let r = AddPartitionsToTxnRequest::decode(&body, 0).unwrap();
        assert_eq!(r.topics, [TopicErrors { name: "t".into(), partitions: vec![PartitionError { partition: 2, error_code: 51 }] }]);
    }
}
