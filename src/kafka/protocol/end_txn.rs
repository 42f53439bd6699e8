//! EndTxn (key 26), versions 0-3: commits or aborts the transaction at its
//! coordinator. v2 lets the broker answer PRODUCER_FENCED
//! (INVALID_PRODUCER_EPOCH before), v3 is flexible. v5 (KIP-890's epoch
//! bump on every transaction) changes the producer's epoch: not spoken.
//! A broker may offer no EndTxn at all (tansu 0.6.0 does not).

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::{Request, Splice};

/// The first flexible version (request header v2, response header v1).
const FLEXIBLE_SINCE: i16 = 3;

/// Ends the transaction of `transactional_id`: commit, or abort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndTxnRequest<'a> {
    pub transactional_id: &'a str,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub committed: bool,
}

impl<'a> EndTxnRequest<'a> {
    pub fn commit(transactional_id: &'a str, producer_id: i64, producer_epoch: i16) -> Self {
        EndTxnRequest { transactional_id, producer_id, producer_epoch, committed: true }
    }

    pub fn abort(transactional_id: &'a str, producer_id: i64, producer_epoch: i16) -> Self {
        EndTxnRequest { transactional_id, producer_id, producer_epoch, committed: false }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndTxnResponse {
    pub throttle_time_ms: i32,
    pub error_code: i16,
}

impl Request for EndTxnRequest<'_> {
    const NAME: &'static str = "EndTxn";
    const API_KEY: i16 = 26;
    const VERSIONS: std::ops::RangeInclusive<i16> = 0..=3;
    const FLEXIBLE_SINCE: Option<i16> = Some(FLEXIBLE_SINCE);
    type Response = EndTxnResponse;
    const CLIENT_THROTTLES_SINCE: Option<i16> = Some(1);

    fn throttle_time_ms(response: &EndTxnResponse) -> i32 {
        response.throttle_time_ms
    }

    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        let flexible = Self::is_flexible(version);
        e.string_for(flexible, self.transactional_id);
        e.i64(self.producer_id);
        e.i16(self.producer_epoch);
        e.bool(self.committed);
        e.tagged_fields_for(flexible);
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<EndTxnResponse> {
        let mut d = Decoder::new(body);
        let response = EndTxnResponse { throttle_time_ms: d.i32()?, error_code: d.i16()? };
        d.tagged_fields_for(Self::is_flexible(version))?;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::decode_response;

    const VERSIONS: std::ops::RangeInclusive<i16> = EndTxnRequest::VERSIONS;

    fn request(request: EndTxnRequest, version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        request.encode(&mut Encoder::new(&mut body), version, &mut Vec::new());
        body
    }

    #[test]
    fn request_layout_by_version() {
        #[rustfmt::skip]
        let v0 = [
            0, 2, b't', b'x',            // transactional_id
            0, 0, 0, 0, 0, 0, 0, 7,      // producer_id
            0, 1,                        // producer_epoch
            1,                           // committed
        ];
        assert_eq!(request(EndTxnRequest::commit("tx", 7, 1), 0), v0);
        assert_eq!(request(EndTxnRequest::commit("tx", 7, 1), 2), v0, "v1 and v2 are v0's layout");
        let v3_abort = [3, b't', b'x', 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 0, 0];
        assert_eq!(request(EndTxnRequest::abort("tx", 7, 1), 3), v3_abort);
    }

    fn response(version: i16, error_code: i16) -> Vec<u8> {
        let flexible = version >= FLEXIBLE_SINCE;
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        if flexible {
            e.no_tagged_fields(); // response header v1
        }
        e.i32(100);
        e.i16(error_code);
        e.tagged_fields_for(flexible);
        body
    }

    #[test]
    fn decodes_every_version_and_refuses_truncations() {
        for version in VERSIONS {
            // CONCURRENT_TRANSACTIONS
            let body = response(version, 51);
            let expected = EndTxnResponse { throttle_time_ms: 100, error_code: 51 };
            assert_eq!(decode_response::<EndTxnRequest>(&body, version).unwrap(), expected, "v{version}");
            for len in 0..body.len() {
                assert!(decode_response::<EndTxnRequest>(&body[..len], version).is_err(), "v{version} prefix {len}");
            }
        }
    }

    #[test]
    fn the_v0_bytes_decode() {
        let r = EndTxnRequest::decode(&[0, 0, 0, 0, 0, 47], 0).unwrap();
        assert_eq!(r, EndTxnResponse { throttle_time_ms: 0, error_code: 47 }, "INVALID_PRODUCER_EPOCH");
    }
}
