//! Metadata (key 3), versions 1-8: brokers, and each topic's partitions and leaders.

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::Splice;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerMetadata {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub error_code: i16,
    pub partition: i32,
    /// -1 when the partition has no leader right now.
    pub leader_id: i32,
    /// -1 before version 7, which added it (statistics' `leader_epoch`).
    pub leader_epoch: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    pub error_code: i16,
    pub name: String,
    pub partitions: Vec<PartitionMetadata>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataResponse {
    /// 0 before v3.
    pub throttle_time_ms: i32,
    pub brokers: Vec<BrokerMetadata>,
    pub topics: Vec<TopicMetadata>,
}

/// A Metadata request for these topics (none: only the brokers; never
/// "all topics": a producer needs only its own).
pub struct MetadataRequest<'a> {
    pub topics: &'a [&'a str],
    pub allow_auto_topic_creation: bool,
}

impl super::Request for MetadataRequest<'_> {
    const NAME: &'static str = "Metadata";
    const API_KEY: i16 = 3;
    const VERSIONS: std::ops::RangeInclusive<i16> = 1..=8;
    const FLEXIBLE_SINCE: Option<i16> = None;
    type Response = MetadataResponse;
    const CLIENT_THROTTLES_SINCE: Option<i16> = Some(6);

    fn throttle_time_ms(response: &MetadataResponse) -> i32 {
        response.throttle_time_ms
    }

    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        e.array_len(self.topics.len());
        for topic in self.topics {
            e.string(topic);
        }
        if version >= 4 {
            e.bool(self.allow_auto_topic_creation);
        }
        if version >= 8 {
            e.bool(false); // include_cluster_authorized_operations
            e.bool(false); // include_topic_authorized_operations
        }
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<MetadataResponse> {
        decode_response(body, version)
    }
}

fn decode_response(body: &[u8], version: i16) -> DecodeResult<MetadataResponse> {
    let mut d = Decoder::new(body);
    let throttle_time_ms = if version >= 3 { d.i32()? } else { 0 };
    let broker_count = d.array_len(12)?;
    let mut brokers = Vec::with_capacity(broker_count);
    for _ in 0..broker_count {
        let node_id = d.i32()?;
        let host = d.string()?;
        let port = d.i32()?;
        d.nullable_string()?; // rack
        brokers.push(BrokerMetadata { node_id, host, port });
    }
    if version >= 2 {
        d.nullable_string()?; // cluster_id
    }
    d.i32()?; // controller_id
    let topic_count = d.array_len(9)?;
    let mut topics = Vec::with_capacity(topic_count);
    for _ in 0..topic_count {
        let error_code = d.i16()?;
        let name = d.string()?;
        d.bool()?; // is_internal
        let partition_count = d.array_len(18)?;
        let mut partitions = Vec::with_capacity(partition_count);
        for _ in 0..partition_count {
            let error_code = d.i16()?;
            let partition = d.i32()?;
            let leader_id = d.i32()?;
            let leader_epoch = if version >= 7 { d.i32()? } else { -1 };
            skip_i32_array(&mut d)?; // replica_nodes
            skip_i32_array(&mut d)?; // isr_nodes
            if version >= 5 {
                skip_i32_array(&mut d)?; // offline_replicas
            }
            partitions.push(PartitionMetadata { error_code, partition, leader_id, leader_epoch });
        }
        if version >= 8 {
            d.i32()?; // topic_authorized_operations
        }
        topics.push(TopicMetadata { error_code, name, partitions });
    }
    if version >= 8 {
        d.i32()?; // cluster_authorized_operations
    }
    Ok(MetadataResponse { throttle_time_ms, brokers, topics })
}

fn skip_i32_array(d: &mut Decoder) -> DecodeResult<()> {
    for _ in 0..d.array_len(4)? {
        d.i32()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::Request;

    const VERSIONS: std::ops::RangeInclusive<i16> = MetadataRequest::VERSIONS;

    /// Encodes a response the way a broker would, for `version`.
    fn response(version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        if version >= 3 {
            e.i32(0);
        }
        e.array_len(1);
        e.i32(1);
        e.string("127.0.0.1");
        e.i32(9092);
        e.nullable_string(None);
        if version >= 2 {
            e.nullable_string(Some("cluster"));
        }
        e.i32(1);
        e.array_len(1);
        e.i16(0);
        e.string("t");
        e.bool(false);
        e.array_len(2);
        for p in 0..2 {
            e.i16(if p == 1 { 5 } else { 0 });
            e.i32(p);
            e.i32(if p == 1 { -1 } else { 1 });
            if version >= 7 {
                e.i32(p + 4); // leader_epoch
            }
            for _ in 0..if version >= 5 { 3 } else { 2 } {
                e.array_len(1);
                e.i32(1);
            }
        }
        if version >= 8 {
            e.i32(0);
            e.i32(0);
        }
        body
    }

    #[test]
    fn decodes_every_supported_version() {
        for version in VERSIONS {
            let r = decode_response(&response(version), version).unwrap();
            assert_eq!(r.brokers, vec![BrokerMetadata { node_id: 1, host: "127.0.0.1".into(), port: 9092 }]);
            assert_eq!(r.topics.len(), 1, "v{version}");
            let t = &r.topics[0];
            assert_eq!((t.error_code, t.name.as_str()), (0, "t"));
            let epoch = |e| if version >= 7 { e } else { -1 };
            assert_eq!(
                t.partitions,
                vec![
                    PartitionMetadata { error_code: 0, partition: 0, leader_id: 1, leader_epoch: epoch(4) },
                    PartitionMetadata { error_code: 5, partition: 1, leader_id: -1, leader_epoch: epoch(5) },
                ]
            );
        }
    }

    #[test]
    fn request_carries_topics_and_flags_by_version() {
        let request = MetadataRequest { topics: &["ab"], allow_auto_topic_creation: true };
        let mut v1 = Vec::new();
        request.encode(&mut Encoder::new(&mut v1), 1, &mut Vec::new());
        assert_eq!(v1, [0, 0, 0, 1, 0, 2, b'a', b'b']);
        let mut v8 = Vec::new();
        request.encode(&mut Encoder::new(&mut v8), 8, &mut Vec::new());
        assert_eq!(&v8[8..], [1, 0, 0]);
    }

    #[test]
    fn truncated_responses_fail_cleanly() {
        let full = response(8);
        for len in 0..full.len() {
            assert!(decode_response(&full[..len], 8).is_err(), "prefix of {len} bytes");
        }
    }
}
