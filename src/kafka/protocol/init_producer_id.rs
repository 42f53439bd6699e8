//! InitProducerId (key 22), versions 0-1: a producer id and epoch for the
//! idempotent producer (no transactional id).

use super::primitives::{DecodeResult, Decoder, Encoder};

pub const API_KEY: i16 = 22;
pub const VERSIONS: std::ops::RangeInclusive<i16> = 0..=1;

pub fn encode_request(e: &mut Encoder) {
    e.nullable_string(None); // transactional_id
    e.i32(-1); // transaction_timeout_ms: unused without a transactional id
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    pub error_code: i16,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

pub fn decode_response(body: &[u8]) -> DecodeResult<InitProducerIdResponse> {
    let mut d = Decoder::new(body);
    d.i32()?; // throttle_time_ms
    Ok(InitProducerIdResponse { error_code: d.i16()?, producer_id: d.i64()?, producer_epoch: d.i16()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_layout() {
        let mut body = Vec::new();
        encode_request(&mut Encoder::new(&mut body));
        assert_eq!(body, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

        let mut response = Vec::new();
        let mut e = Encoder::new(&mut response);
        e.i32(0);
        e.i16(0);
        e.i64(4242);
        e.i16(3);
        assert_eq!(
            decode_response(&response).unwrap(),
            InitProducerIdResponse { error_code: 0, producer_id: 4242, producer_epoch: 3 }
        );
        for len in 0..response.len() {
            assert!(decode_response(&response[..len]).is_err());
        }
    }
}
