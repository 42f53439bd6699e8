//! InitProducerId (key 22), versions 0-4: a new producer id and epoch for
//! the idempotent producer (no transactional id). Versions 2+ are flexible;
//! 3+ carry the current id and epoch, which some brokers (tansu) require,
//! set to -1 to ask for a new id.

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::{Request, Splice};

/// The first flexible version (request header v2, response header v1).
const FLEXIBLE_SINCE: i16 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    pub error_code: i16,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// InitProducerId for a new, non-transactional producer id.
pub struct InitProducerIdRequest;

impl Request for InitProducerIdRequest {
    const NAME: &'static str = "InitProducerId";
    const API_KEY: i16 = 22;
    const VERSIONS: std::ops::RangeInclusive<i16> = 0..=4;
    const FLEXIBLE_SINCE: Option<i16> = Some(FLEXIBLE_SINCE);
    type Response = InitProducerIdResponse;

    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        let flexible = Self::is_flexible(version);
        match flexible {
            true => e.compact_nullable_string(None), // transactional_id
            false => e.nullable_string(None),
        }
        e.i32(-1); // transaction_timeout_ms: unused without a transactional id
        if version >= 3 {
            e.i64(-1); // producer_id: none yet
            e.i16(-1); // producer_epoch
        }
        if flexible {
            e.no_tagged_fields();
        }
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<InitProducerIdResponse> {
        let mut d = Decoder::new(body);
        d.i32()?; // throttle_time_ms
        let response = InitProducerIdResponse { error_code: d.i16()?, producer_id: d.i64()?, producer_epoch: d.i16()? };
        if Self::is_flexible(version) {
            d.skip_tagged_fields()?;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::decode_response;

    const VERSIONS: std::ops::RangeInclusive<i16> = InitProducerIdRequest::VERSIONS;

    fn request(version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        InitProducerIdRequest.encode(&mut Encoder::new(&mut body), version, &mut Vec::new());
        body
    }

    #[test]
    fn request_layout_by_version() {
        assert_eq!(request(0), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(request(2), [0x00, 0xff, 0xff, 0xff, 0xff, 0x00]);
        let v4 = request(4);
        assert_eq!(v4.len(), 1 + 4 + 8 + 2 + 1);
        assert_eq!(&v4[5..15], &[0xff; 10]);
    }

    fn response(version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        if version >= FLEXIBLE_SINCE {
            e.no_tagged_fields();
        }
        e.i32(0);
        e.i16(0);
        e.i64(4242);
        e.i16(3);
        if version >= FLEXIBLE_SINCE {
            e.no_tagged_fields();
        }
        body
    }

    #[test]
    fn decodes_every_version_and_refuses_truncations() {
        for version in VERSIONS {
            let body = response(version);
            let expected = InitProducerIdResponse { error_code: 0, producer_id: 4242, producer_epoch: 3 };
            assert_eq!(decode_response::<InitProducerIdRequest>(&body, version).unwrap(), expected, "v{version}");
            for len in 0..body.len() {
                assert!(decode_response::<InitProducerIdRequest>(&body[..len], version).is_err(), "v{version} prefix {len}");
            }
        }
    }
}
