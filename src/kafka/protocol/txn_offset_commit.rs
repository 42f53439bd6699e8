//! TxnOffsetCommit (key 28), versions 0-3: a group's offsets, sent to the
//! group coordinator, committed with the transaction (after
//! AddOffsetsToTxn). v2 adds each partition's leader epoch, v3 (flexible)
//! the consumer's generation, member id and group instance id, which let
//! the broker fence a zombie consumer (KIP-447).
//!
//! The answer has AddPartitionsToTxn's shape and is read by its decoder.

use std::collections::BTreeMap;

use super::add_partitions_to_txn::decode_topic_errors;
pub use super::add_partitions_to_txn::{PartitionError, TopicErrors};
use super::primitives::{DecodeResult, Decoder, Encoder};
use super::{Request, Splice};

/// The first flexible version (request header v2, response header v1).
const FLEXIBLE_SINCE: i16 = 3;

/// One partition's offset to commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOffsetCommitPartition<'a> {
    pub partition: i32,
    /// The offset of the next record to consume.
    pub committed_offset: i64,
    /// v2+; -1: unknown.
    pub committed_leader_epoch: i32,
    pub committed_metadata: Option<&'a str>,
}

/// One topic's offsets to commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOffsetCommitTopic<'a> {
    pub name: &'a str,
    pub partitions: Vec<TxnOffsetCommitPartition<'a>>,
}

/// `group_id`'s offsets, committed if the transaction of
/// `transactional_id` commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOffsetCommitRequest<'a> {
    pub transactional_id: &'a str,
    pub group_id: &'a str,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// v3+; -1 with no consumer's group metadata.
    pub generation_id: i32,
    /// v3+; "" with no consumer's group metadata.
    pub member_id: &'a str,
    /// v3+; null with no consumer's group metadata.
    pub group_instance_id: Option<&'a str>,
    pub topics: Vec<TxnOffsetCommitTopic<'a>>,
}

impl<'a> TxnOffsetCommitRequest<'a> {
    /// The request for these (topic, partition, offset) triples, grouped by
    /// topic (sorted; the last offset given for a partition wins), with
    /// what librdkafka sends when it is given only a group id
    /// (`rd_kafka_consumer_group_metadata_new`): generation -1, member id
    /// "", no group instance id, leader epochs -1, and "" as each
    /// partition's metadata (old brokers cannot read a null one).
    pub fn new(
        transactional_id: &'a str,
        group_id: &'a str,
        producer_id: i64,
        producer_epoch: i16,
        offsets: impl IntoIterator<Item = (&'a str, i32, i64)>,
    ) -> Self {
        let mut by_topic: BTreeMap<&'a str, BTreeMap<i32, i64>> = BTreeMap::new();
        for (topic, partition, offset) in offsets {
            by_topic.entry(topic).or_default().insert(partition, offset);
        }
        let topics = by_topic
            .into_iter()
            .map(|(name, offsets)| TxnOffsetCommitTopic {
                name,
                partitions: offsets
                    .into_iter()
                    .map(|(partition, committed_offset)| TxnOffsetCommitPartition {
                        partition,
                        committed_offset,
                        committed_leader_epoch: -1,
                        committed_metadata: Some(""),
                    })
                    .collect(),
            })
            .collect();
        TxnOffsetCommitRequest {
            transactional_id,
            group_id,
            producer_id,
            producer_epoch,
            generation_id: -1,
            member_id: "",
            group_instance_id: None,
            topics,
        }
    }
}

/// An error code per partition sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOffsetCommitResponse {
    pub throttle_time_ms: i32,
    pub topics: Vec<TopicErrors>,
}

impl Request for TxnOffsetCommitRequest<'_> {
    const NAME: &'static str = "TxnOffsetCommit";
    const API_KEY: i16 = 28;
    const VERSIONS: std::ops::RangeInclusive<i16> = 0..=3;
    const FLEXIBLE_SINCE: Option<i16> = Some(FLEXIBLE_SINCE);
    type Response = TxnOffsetCommitResponse;
    const CLIENT_THROTTLES_SINCE: Option<i16> = Some(1);

    fn throttle_time_ms(response: &TxnOffsetCommitResponse) -> i32 {
        response.throttle_time_ms
    }

    /// Before v3 the generation, member id and group instance id are not
    /// sent (as librdkafka; Java's producer refuses instead when they are
    /// set), before v2 the leader epochs.
    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        let flexible = Self::is_flexible(version);
        e.string_for(flexible, self.transactional_id);
        e.string_for(flexible, self.group_id);
        e.i64(self.producer_id);
        e.i16(self.producer_epoch);
        if version >= 3 {
            e.i32(self.generation_id);
            e.string_for(flexible, self.member_id);
            e.nullable_string_for(flexible, self.group_instance_id);
        }
        e.array_len_for(flexible, self.topics.len());
        for topic in &self.topics {
            e.string_for(flexible, topic.name);
            e.array_len_for(flexible, topic.partitions.len());
            for p in &topic.partitions {
                e.i32(p.partition);
                e.i64(p.committed_offset);
                if version >= 2 {
                    e.i32(p.committed_leader_epoch);
                }
                e.nullable_string_for(flexible, p.committed_metadata);
                e.tagged_fields_for(flexible);
            }
            e.tagged_fields_for(flexible);
        }
        e.tagged_fields_for(flexible);
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<TxnOffsetCommitResponse> {
        let flexible = Self::is_flexible(version);
        let mut d = Decoder::new(body);
        let throttle_time_ms = d.i32()?;
        let topics = decode_topic_errors(&mut d, flexible)?;
        d.tagged_fields_for(flexible)?;
        Ok(TxnOffsetCommitResponse { throttle_time_ms, topics })
    }

    fn size_hint(&self) -> usize {
        let partitions: usize = self.topics.iter().map(|t| t.name.len() + 8 + 24 * t.partitions.len()).sum();
        self.transactional_id.len() + self.group_id.len() + self.member_id.len() + 32 + partitions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::decode_response;

    const VERSIONS: std::ops::RangeInclusive<i16> = TxnOffsetCommitRequest::VERSIONS;

    fn request(request: &TxnOffsetCommitRequest, version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        request.encode(&mut Encoder::new(&mut body), version, &mut Vec::new());
        body
    }

    fn offsets() -> TxnOffsetCommitRequest<'static> {
        TxnOffsetCommitRequest::new("t", "g", 1, 2, [("a", 0, 4), ("a", 0, 5)])
    }

    #[test]
    fn request_layout_by_version() {
        #[rustfmt::skip]
        let v0 = [
            0, 1, b't',                  // transactional_id
            0, 1, b'g',                  // group_id
            0, 0, 0, 0, 0, 0, 0, 1,      // producer_id
            0, 2,                        // producer_epoch
            0, 0, 0, 1,                  // one topic
            0, 1, b'a',
            0, 0, 0, 1,                  // one partition
            0, 0, 0, 0,                  // partition 0
            0, 0, 0, 0, 0, 0, 0, 5,      // committed_offset: the last given
            0, 0,                        // committed_metadata ""
        ];
        assert_eq!(request(&offsets(), 0), v0);
        assert_eq!(request(&offsets(), 1), v0, "v1 is v0's layout");
        #[rustfmt::skip]
        let v2 = [
            0, 1, b't', 0, 1, b'g', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2,
            0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
            0xff, 0xff, 0xff, 0xff,      // committed_leader_epoch -1
            0, 0,
        ];
        assert_eq!(request(&offsets(), 2), v2);
        #[rustfmt::skip]
        let v3 = [
            2, b't', 2, b'g',            // compact strings
            0, 0, 0, 0, 0, 0, 0, 1, 0, 2,
            0xff, 0xff, 0xff, 0xff,      // generation_id -1
            1,                           // member_id ""
            0,                           // group_instance_id null
            2, 2, b'a',                  // one topic
            2, 0, 0, 0, 0,               // one partition: 0
            0, 0, 0, 0, 0, 0, 0, 5,
            0xff, 0xff, 0xff, 0xff,
            1,                           // committed_metadata ""
            0,                           // the partition's tagged fields
            0,                           // the topic's
            0,                           // the request's
        ];
        assert_eq!(request(&offsets(), 3), v3);
    }

    #[test]
    fn v3_carries_the_consumers_group_metadata() {
        let mut r = TxnOffsetCommitRequest::new("t", "g", 1, 2, []);
        r.generation_id = 3;
        r.member_id = "m";
        r.group_instance_id = Some("i");
        let v3 = request(&r, 3);
        assert_eq!(&v3[14..], [0, 0, 0, 3, 2, b'm', 2, b'i', 1, 0]);
        assert_eq!(request(&r, 2).len(), 3 + 3 + 8 + 2 + 4, "not before v3");
    }

    #[test]
    fn new_groups_by_topic_and_a_null_metadata_can_be_sent() {
        let mut r = TxnOffsetCommitRequest::new("t", "g", 1, 2, [("b", 1, 10), ("a", 2, 20), ("b", 0, 30)]);
        let names: Vec<_> = r.topics.iter().map(|t| (t.name, t.partitions.iter().map(|p| p.partition).collect::<Vec<_>>())).collect();
        assert_eq!(names, [("a", vec![2]), ("b", vec![0, 1])]);
        r.topics.truncate(1);
        r.topics[0].partitions[0].committed_metadata = None;
        assert!(request(&r, 1).ends_with(&[0xff, 0xff]), "null metadata");
        assert!(request(&r, 3).ends_with(&[0, 0, 0, 0]), "compact null metadata, then three tagged-field sections");
    }

    /// One topic, two partitions, the second refused.
    fn response(version: i16) -> Vec<u8> {
        let flexible = version >= FLEXIBLE_SINCE;
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        if flexible {
            e.no_tagged_fields(); // response header v1
        }
        e.i32(3);
        e.array_len_for(flexible, 1);
        e.string_for(flexible, "in");
        e.array_len_for(flexible, 2);
        for (partition, error_code) in [(0, 0), (1, 22)] {
            e.i32(partition);
            e.i16(error_code);
            e.tagged_fields_for(flexible);
        }
        e.tagged_fields_for(flexible);
        e.tagged_fields_for(flexible);
        body
    }

    #[test]
    fn decodes_every_version_and_refuses_truncations() {
        let expected = TxnOffsetCommitResponse {
            throttle_time_ms: 3,
            topics: vec![TopicErrors {
                name: "in".into(),
                partitions: vec![
                    PartitionError { partition: 0, error_code: 0 },
                    PartitionError { partition: 1, error_code: 22 }, // ILLEGAL_GENERATION
                ],
            }],
        };
        for version in VERSIONS {
            let body = response(version);
            assert_eq!(decode_response::<TxnOffsetCommitRequest>(&body, version).unwrap(), expected, "v{version}");
            for len in 0..body.len() {
                assert!(decode_response::<TxnOffsetCommitRequest>(&body[..len], version).is_err(), "v{version} prefix {len}");
            }
        }
    }

    #[test]
    fn the_v3_bytes_decode() {
        // throttle 0; one topic "x": partition 4, NOT_COORDINATOR (16); no tags
        let body = [0, 0, 0, 0, 2, 2, b'x', 2, 0, 0, 0, 4, 0, 16, 0, 0, 0];
        let r = TxnOffsetCommitRequest::decode(&body, 3).unwrap();
        assert_eq!(r.topics, [TopicErrors { name: "x".into(), partitions: vec![PartitionError { partition: 4, error_code: 16 }] }]);
    }
}
