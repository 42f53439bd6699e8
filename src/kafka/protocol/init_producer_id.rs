//! InitProducerId (key 22), versions 0-4: a producer id and epoch, for the
//! idempotent producer (no transactional id) or for a transactional id,
//! whose coordinator then fences older producers of that id by the epoch.
//! Versions 2+ are flexible; 3+ carry the current id and epoch (KIP-360):
//! -1 to ask for a new id (some brokers, tansu, require them), or a
//! transactional producer's current ones to bump its epoch after an
//! abortable error instead of being fenced. v4 lets the broker answer
//! PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before).

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::{Request, Splice};

/// The first flexible version (request header v2, response header v1).
const FLEXIBLE_SINCE: i16 = 2;
/// The first version that carries the current id and epoch (KIP-360).
pub const CURRENT_ID_SINCE: i16 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// InitProducerId for the idempotent producer (`idempotent`) or for a
/// transactional id (`transactional`, `with_current` to bump an epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitProducerIdRequest<'a> {
    pub transactional_id: Option<&'a str>,
    /// How long the coordinator lets a transaction stay open before it
    /// aborts it; -1 without a transactional id.
    pub transaction_timeout_ms: i32,
    /// The current id and epoch, -1 for none. Sent from v3 only: an older
    /// broker cannot bump an epoch (librdkafka then fails with
    /// _UNSUPPORTED_FEATURE), so check that the broker speaks
    /// `CURRENT_ID_SINCE` (`Connection::version_for`) before setting them.
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl<'a> InitProducerIdRequest<'a> {
    /// A new id for the idempotent producer: what it has always sent.
    pub fn idempotent() -> Self {
        InitProducerIdRequest { transactional_id: None, transaction_timeout_ms: -1, producer_id: -1, producer_epoch: -1 }
    }

    /// The id and a new epoch for `transactional_id`, fencing any older
    /// producer of it and aborting its open transaction.
    pub fn transactional(transactional_id: &'a str, transaction_timeout_ms: i32) -> Self {
        InitProducerIdRequest { transactional_id: Some(transactional_id), transaction_timeout_ms, producer_id: -1, producer_epoch: -1 }
    }

    /// The same request carrying the current id and epoch (KIP-360, v3+):
    /// the coordinator bumps this epoch rather than fence it.
    pub fn with_current(self, producer_id: i64, producer_epoch: i16) -> Self {
        InitProducerIdRequest { producer_id, producer_epoch, ..self }
    }
}

impl Request for InitProducerIdRequest<'_> {
    const NAME: &'static str = "InitProducerId";
    const API_KEY: i16 = 22;
    const VERSIONS: std::ops::RangeInclusive<i16> = 0..=4;
    const FLEXIBLE_SINCE: Option<i16> = Some(FLEXIBLE_SINCE);
    type Response = InitProducerIdResponse;
    const CLIENT_THROTTLES_SINCE: Option<i16> = Some(1);

    fn throttle_time_ms(response: &InitProducerIdResponse) -> i32 {
        response.throttle_time_ms
    }

    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        let flexible = Self::is_flexible(version);
        e.nullable_string_for(flexible, self.transactional_id);
        e.i32(self.transaction_timeout_ms);
        if version >= CURRENT_ID_SINCE {
            e.i64(self.producer_id);
            e.i16(self.producer_epoch);
        }
        e.tagged_fields_for(flexible);
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<InitProducerIdResponse> {
        let mut d = Decoder::new(body);
        let response =
            InitProducerIdResponse { throttle_time_ms: d.i32()?, error_code: d.i16()?, producer_id: d.i64()?, producer_epoch: d.i16()? };
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
        encoded(&InitProducerIdRequest::idempotent(), version)
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
            let expected = InitProducerIdResponse { throttle_time_ms: 0, error_code: 0, producer_id: 4242, producer_epoch: 3 };
            assert_eq!(decode_response::<InitProducerIdRequest>(&body, version).unwrap(), expected, "v{version}");
            for len in 0..body.len() {
                assert!(decode_response::<InitProducerIdRequest>(&body[..len], version).is_err(), "v{version} prefix {len}");
            }
        }
    }

    #[test]
    fn an_error_and_the_throttle_time_decode() {
        // throttle 250 ms, PRODUCER_FENCED (90), id -1, epoch -1, no tags
        let body = [0, 0, 0, 0xfa, 0, 90, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0];
        let expected = InitProducerIdResponse { throttle_time_ms: 250, error_code: 90, producer_id: -1, producer_epoch: -1 };
        assert_eq!(InitProducerIdRequest::decode(&body, 4).unwrap(), expected);
        assert_eq!(InitProducerIdRequest::decode(&body[..16], 1).unwrap(), expected, "no tags before v2");
    }

    fn encoded(request: &InitProducerIdRequest, version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        request.encode(&mut Encoder::new(&mut body), version, &mut Vec::new());
        body
    }

    #[test]
    fn a_transactional_request_carries_its_id_timeout_and_current_epoch() {
        let new = InitProducerIdRequest::transactional("tx", 60_000);
        // transactional_id "tx", transaction_timeout_ms 60000 (0xea60)
        assert_eq!(encoded(&new, 0), [0, 2, b't', b'x', 0, 0, 0xea, 0x60]);
        assert_eq!(encoded(&new, 2), [3, b't', b'x', 0, 0, 0xea, 0x60, 0]);
        #[rustfmt::skip]
        let v4 = [3, b't', b'x', 0, 0, 0xea, 0x60, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0];
        assert_eq!(encoded(&new, 4), v4, "no current id: -1, -1");
        let bump = new.with_current(5, 2);
        assert_eq!(encoded(&bump, 3), [3, b't', b'x', 0, 0, 0xea, 0x60, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 0]);
        assert_eq!(encoded(&bump, 2), [3, b't', b'x', 0, 0, 0xea, 0x60, 0], "no room for them before v3");
    }
}
