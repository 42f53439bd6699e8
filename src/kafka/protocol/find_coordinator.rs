//! FindCoordinator (key 10), versions 1-4: which broker coordinates a
//! transactional id (its transactions) or a consumer group (its offsets).
//! v1 adds the key type (v0 finds only group coordinators), v3 is flexible,
//! v4 (KIP-699) asks for a list of keys and answers one entry per key: we
//! ask for one and read its one entry, so every version answers alike.

use super::primitives::{DecodeError, DecodeResult, Decoder, Encoder};
use super::{Request, Splice};

/// The first flexible version (request header v2, response header v1).
const FLEXIBLE_SINCE: i16 = 3;
/// The first version that carries a list of keys (KIP-699).
const BATCHED_SINCE: i16 = 4;

/// Whose coordinator is asked for: the key is a group id or a
/// transactional id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinatorType {
    Group,
    Transaction,
}

impl CoordinatorType {
    /// The key type on the wire.
    pub fn key_type(self) -> i8 {
        match self {
            CoordinatorType::Group => 0,
            CoordinatorType::Transaction => 1,
        }
    }
}

/// The coordinator of one group or transactional id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindCoordinatorRequest<'a> {
    pub key: &'a str,
    pub key_type: CoordinatorType,
}

impl<'a> FindCoordinatorRequest<'a> {
    /// The transaction coordinator of `transactional_id`.
    pub fn transaction(transactional_id: &'a str) -> Self {
        FindCoordinatorRequest { key: transactional_id, key_type: CoordinatorType::Transaction }
    }

    /// The group coordinator of `group_id` (where TxnOffsetCommit goes).
    pub fn group(group_id: &'a str) -> Self {
        FindCoordinatorRequest { key: group_id, key_type: CoordinatorType::Group }
    }
}

/// The coordinator, or why there is none. On an error the broker sends
/// node -1 and an empty host (librdkafka's mock cluster: a null host, read
/// as empty here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindCoordinatorResponse {
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub error_message: Option<String>,
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

impl Request for FindCoordinatorRequest<'_> {
    const NAME: &'static str = "FindCoordinator";
    const API_KEY: i16 = 10;
    const VERSIONS: std::ops::RangeInclusive<i16> = 1..=4;
    const FLEXIBLE_SINCE: Option<i16> = Some(FLEXIBLE_SINCE);
    type Response = FindCoordinatorResponse;
    const CLIENT_THROTTLES_SINCE: Option<i16> = Some(2);

    fn throttle_time_ms(response: &FindCoordinatorResponse) -> i32 {
        response.throttle_time_ms
    }

    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        let flexible = Self::is_flexible(version);
        if version < BATCHED_SINCE {
            e.string_for(flexible, self.key);
        }
        e.i8(self.key_type.key_type());
        if version >= BATCHED_SINCE {
            e.compact_array_len(1); // coordinator_keys
            e.compact_string(self.key);
        }
        e.tagged_fields_for(flexible);
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<FindCoordinatorResponse> {
        let flexible = Self::is_flexible(version);
        let mut d = Decoder::new(body);
        let throttle_time_ms = d.i32()?;
        let response = match version >= BATCHED_SINCE {
            true => decode_batched(&mut d, throttle_time_ms)?,
            false => FindCoordinatorResponse {
                throttle_time_ms,
                error_code: d.i16()?,
                error_message: d.nullable_string_for(flexible)?,
                node_id: d.i32()?,
                host: d.nullable_string_for(flexible)?.unwrap_or_default(),
                port: d.i32()?,
            },
        };
        d.tagged_fields_for(flexible)?;
        Ok(response)
    }
}

/// v4+: the one entry of the coordinators array (one key was asked).
fn decode_batched(d: &mut Decoder, throttle_time_ms: i32) -> DecodeResult<FindCoordinatorResponse> {
    // key, node_id, host, port, error_code, error_message, tags
    if d.compact_array_len(1 + 4 + 1 + 4 + 2 + 1 + 1)? != 1 {
        return Err(DecodeError("not one coordinator for the one key asked"));
    }
    d.compact_string()?; // key: the one asked
    let node_id = d.i32()?;
    let host = d.compact_nullable_string()?.unwrap_or_default();
    let port = d.i32()?;
    let error_code = d.i16()?;
    let error_message = d.compact_nullable_string()?;
    d.skip_tagged_fields()?;
    Ok(FindCoordinatorResponse { throttle_time_ms, error_code, error_message, node_id, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::decode_response;

    const VERSIONS: std::ops::RangeInclusive<i16> = FindCoordinatorRequest::VERSIONS;

    fn request(request: &FindCoordinatorRequest, version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        request.encode(&mut Encoder::new(&mut body), version, &mut Vec::new());
        body
    }

    #[test]
    fn request_layout_by_version() {
        let txn = FindCoordinatorRequest::transaction("tx");
        // key (INT16 length), key_type
        assert_eq!(request(&txn, 1), [0x00, 0x02, b't', b'x', 0x01]);
        assert_eq!(request(&txn, 2), [0x00, 0x02, b't', b'x', 0x01]);
        // key (compact: length + 1), key_type, no tagged fields
        assert_eq!(request(&txn, 3), [0x03, b't', b'x', 0x01, 0x00]);
        // key_type, coordinator_keys (compact array of one compact string), no tagged fields
        assert_eq!(request(&txn, 4), [0x01, 0x02, 0x03, b't', b'x', 0x00]);
        let group = FindCoordinatorRequest::group("g");
        assert_eq!(request(&group, 1), [0x00, 0x01, b'g', 0x00]);
        assert_eq!(request(&group, 4), [0x00, 0x02, 0x02, b'g', 0x00]);
    }

    /// A response of `version` as a broker writes it.
    fn response(version: i16, error_code: i16, error_message: Option<&str>, host: Option<&str>) -> Vec<u8> {
        let flexible = version >= FLEXIBLE_SINCE;
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        if flexible {
            e.no_tagged_fields(); // response header v1
        }
        e.i32(7); // throttle_time_ms
        if version >= BATCHED_SINCE {
            e.compact_array_len(1);
            e.compact_string("tx");
            e.i32(2);
            e.compact_nullable_string(host);
            e.i32(9093);
            e.i16(error_code);
            e.compact_nullable_string(error_message);
            e.no_tagged_fields();
        } else {
            e.i16(error_code);
            e.nullable_string_for(flexible, error_message);
            e.i32(2);
            e.nullable_string_for(flexible, host);
            e.i32(9093);
        }
        e.tagged_fields_for(flexible);
        body
    }

    #[test]
    fn decodes_every_version_and_refuses_truncations() {
        for version in VERSIONS {
            let body = response(version, 0, None, Some("broker-2"));
            let expected = FindCoordinatorResponse {
                throttle_time_ms: 7,
                error_code: 0,
                error_message: None,
                node_id: 2,
                host: "broker-2".into(),
                port: 9093,
            };
            assert_eq!(decode_response::<FindCoordinatorRequest>(&body, version).unwrap(), expected, "v{version}");
            for len in 0..body.len() {
                assert!(decode_response::<FindCoordinatorRequest>(&body[..len], version).is_err(), "v{version} prefix {len}");
            }
        }
    }

    #[test]
    fn an_error_decodes_with_its_message_and_a_null_host_as_empty() {
        for version in VERSIONS {
            let body = response(version, 15, Some("not available"), None);
            let r = decode_response::<FindCoordinatorRequest>(&body, version).unwrap();
            assert_eq!(r.error_code, 15, "v{version}: COORDINATOR_NOT_AVAILABLE");
            assert_eq!(r.error_message.as_deref(), Some("not available"), "v{version}");
            assert_eq!(r.host, "", "v{version}");
        }
    }

    #[test]
    fn the_v1_bytes_decode() {
        // throttle 0, error 0, null message, node 1, host "h", port 9092
        let body = [0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1, 0, 1, b'h', 0, 0, 0x23, 0x84];
        let r = FindCoordinatorRequest::decode(&body, 1).unwrap();
        assert_eq!((r.node_id, r.host.as_str(), r.port, r.error_message), (1, "h", 9092, None));
    }

    #[test]
    fn v4_needs_exactly_one_coordinator() {
        for count in [0usize, 2] {
            let mut body = Vec::new();
            let mut e = Encoder::new(&mut body);
            e.i32(0);
            e.compact_array_len(count);
            for _ in 0..count {
                e.compact_string("tx");
                e.i32(1);
                e.compact_string("h");
                e.i32(9092);
                e.i16(0);
                e.compact_nullable_string(None);
                e.no_tagged_fields();
            }
            e.no_tagged_fields();
            assert!(FindCoordinatorRequest::decode(&body, 4).is_err(), "{count} coordinators");
        }
    }
}
