//! SaslHandshake (key 17), version 1: picks the SASL mechanism. From v1
//! (KIP-152) the mechanism's own messages then travel in SaslAuthenticate
//! requests instead of as raw bytes on the socket.

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::Splice;

/// Asks the broker to authenticate this connection with `mechanism`
/// ("PLAIN", "SCRAM-SHA-256", ...).
pub struct SaslHandshakeRequest<'a> {
    pub mechanism: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaslHandshakeResponse {
    pub error_code: i16,
    /// The mechanisms the broker enables, to say what it would take when it
    /// refuses ours.
    pub mechanisms: Vec<String>,
}

impl super::Request for SaslHandshakeRequest<'_> {
    const NAME: &'static str = "SaslHandshake";
    const API_KEY: i16 = 17;
    const VERSIONS: std::ops::RangeInclusive<i16> = 1..=1;
    const LOGIN: bool = true;
    const FLEXIBLE_SINCE: Option<i16> = None;
    type Response = SaslHandshakeResponse;

    fn encode<'a>(&'a self, e: &mut Encoder, _version: i16, _: &mut Vec<Splice<'a>>) {
        e.string(self.mechanism);
    }

    fn decode(body: &[u8], _version: i16) -> DecodeResult<SaslHandshakeResponse> {
        let mut d = Decoder::new(body);
        let error_code = d.i16()?;
        let count = d.array_len(2)?;
        let mut mechanisms = Vec::with_capacity(count);
        for _ in 0..count {
            mechanisms.push(d.string()?);
        }
        Ok(SaslHandshakeResponse { error_code, mechanisms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::Request;

    #[test]
    fn request_is_the_mechanism_name() {
        let mut body = Vec::new();
        SaslHandshakeRequest { mechanism: "SCRAM-SHA-256" }.encode(&mut Encoder::new(&mut body), 1, &mut Vec::new());
        assert_eq!(body, b"\x00\x0dSCRAM-SHA-256");
    }

    fn response() -> Vec<u8> {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        e.i16(33);
        e.array_len(2);
        e.string("PLAIN");
        e.string("SCRAM-SHA-512");
        body
    }

    #[test]
    fn decodes_the_enabled_mechanisms() {
        let decoded = SaslHandshakeRequest::decode(&response(), 1).unwrap();
        assert_eq!(decoded, SaslHandshakeResponse { error_code: 33, mechanisms: vec!["PLAIN".into(), "SCRAM-SHA-512".into()] });
    }

    #[test]
    fn truncated_responses_are_refused() {
        let body = response();
        for len in 0..body.len() {
            assert!(SaslHandshakeRequest::decode(&body[..len], 1).is_err(), "prefix {len}");
        }
    }
}
