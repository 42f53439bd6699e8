//! AddOffsetsToTxn (key 25), versions 0-3: tells the transaction
//! coordinator that the transaction will commit a group's offsets, before
//! TxnOffsetCommit sends them to the group coordinator. v2 lets the broker
//! answer PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before), v3 is flexible.

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::{Request, Splice};

/// The first flexible version (request header v2, response header v1).
const FLEXIBLE_SINCE: i16 = 3;

/// `group_id`'s offsets join the transaction of `transactional_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddOffsetsToTxnRequest<'a> {
    pub transactional_id: &'a str,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub group_id: &'a str,
}

impl<'a> AddOffsetsToTxnRequest<'a> {
    pub fn new(transactional_id: &'a str, producer_id: i64, producer_epoch: i16, group_id: &'a str) -> Self {
        AddOffsetsToTxnRequest { transactional_id, producer_id, producer_epoch, group_id }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddOffsetsToTxnResponse {
    pub throttle_time_ms: i32,
    pub error_code: i16,
}

impl Request for AddOffsetsToTxnRequest<'_> {
    const NAME: &'static str = "AddOffsetsToTxn";
    const API_KEY: i16 = 25;
    const VERSIONS: std::ops::RangeInclusive<i16> = 0..=3;
    const FLEXIBLE_SINCE: Option<i16> = Some(FLEXIBLE_SINCE);
    type Response = AddOffsetsToTxnResponse;
    const CLIENT_THROTTLES_SINCE: Option<i16> = Some(1);

    fn throttle_time_ms(response: &AddOffsetsToTxnResponse) -> i32 {
        response.throttle_time_ms
    }

    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        let flexible = Self::is_flexible(version);
        e.string_for(flexible, self.transactional_id);
        e.i64(self.producer_id);
        e.i16(self.producer_epoch);
        e.string_for(flexible, self.group_id);
        e.tagged_fields_for(flexible);
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<AddOffsetsToTxnResponse> {
        let mut d = Decoder::new(body);
        let response = AddOffsetsToTxnResponse { throttle_time_ms: d.i32()?, error_code: d.i16()? };
        d.tagged_fields_for(Self::is_flexible(version))?;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::decode_response;

    const VERSIONS: std::ops::RangeInclusive<i16> = AddOffsetsToTxnRequest::VERSIONS;

    fn request(version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        AddOffsetsToTxnRequest::new("t", 0x0102, 3, "gr").encode(&mut Encoder::new(&mut body), version, &mut Vec::new());
        body
    }

    #[test]
    fn request_layout_by_version() {
        #[rustfmt::skip]
        let v0 = [
            0, 1, b't',                  // transactional_id
            0, 0, 0, 0, 0, 0, 1, 2,      // producer_id
            0, 3,                        // producer_epoch
            0, 2, b'g', b'r',            // group_id
        ];
        assert_eq!(request(0), v0);
        assert_eq!(request(2), v0, "v1 and v2 are v0's layout");
        assert_eq!(request(3), [2, b't', 0, 0, 0, 0, 0, 0, 1, 2, 0, 3, 3, b'g', b'r', 0]);
    }

    fn response(version: i16, error_code: i16) -> Vec<u8> {
        let flexible = version >= FLEXIBLE_SINCE;
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        if flexible {
            e.no_tagged_fields(); // response header v1
        }
        e.i32(9);
        e.i16(error_code);
        e.tagged_fields_for(flexible);
        body
    }

    #[test]
    fn decodes_every_version_and_refuses_truncations() {
        for version in VERSIONS {
            // COORDINATOR_LOAD_IN_PROGRESS
            let body = response(version, 14);
            let expected = AddOffsetsToTxnResponse { throttle_time_ms: 9, error_code: 14 };
            assert_eq!(decode_response::<AddOffsetsToTxnRequest>(&body, version).unwrap(), expected, "v{version}");
            for len in 0..body.len() {
                assert!(decode_response::<AddOffsetsToTxnRequest>(&body[..len], version).is_err(), "v{version} prefix {len}");
            }
        }
    }

    #[test]
    fn the_v0_and_v3_bytes_decode() {
        let v0 = AddOffsetsToTxnRequest::decode(&[0, 0, 0, 1, 0, 0], 0).unwrap();
        assert_eq!(v0, AddOffsetsToTxnResponse { throttle_time_ms: 1, error_code: 0 });
        // A tagged field the client does not know is skipped.
        let v3 = AddOffsetsToTxnRequest::decode(&[0, 0, 0, 0, 0, 90, 1, 7, 1, 0xee], 3).unwrap();
        assert_eq!(v3, AddOffsetsToTxnResponse { throttle_time_ms: 0, error_code: 90 });
    }
}
