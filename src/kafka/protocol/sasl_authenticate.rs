//! SaslAuthenticate (key 36), versions 0-1: one message of the SASL
//! exchange each way, after SaslHandshake v1. v1 adds the session lifetime
//! (KIP-368); v2 is flexible and adds nothing we need.

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::Splice;

/// Carries the mechanism's next client message.
pub struct SaslAuthenticateRequest<'a> {
    pub auth_bytes: &'a [u8],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaslAuthenticateResponse {
    pub error_code: i16,
    pub error_message: Option<String>,
    /// The mechanism's next server message.
    pub auth_bytes: Vec<u8>,
    /// How long the broker keeps the session before the client must
    /// re-authenticate; 0 for no limit (and always in v0).
    pub session_lifetime_ms: i64,
}

impl super::Request for SaslAuthenticateRequest<'_> {
    const NAME: &'static str = "SaslAuthenticate";
    const API_KEY: i16 = 36;
    const VERSIONS: std::ops::RangeInclusive<i16> = 0..=1;
    /// v2, which we do not speak.
    const FLEXIBLE_SINCE: Option<i16> = Some(2);
    const SECRET: bool = true;
    const LOGIN: bool = true;
    type Response = SaslAuthenticateResponse;

    fn encode<'a>(&'a self, e: &mut Encoder, _version: i16, _: &mut Vec<Splice<'a>>) {
        e.bytes(self.auth_bytes);
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<SaslAuthenticateResponse> {
        let mut d = Decoder::new(body);
        Ok(SaslAuthenticateResponse {
            error_code: d.i16()?,
            error_message: d.nullable_string()?,
            auth_bytes: d.bytes()?,
            session_lifetime_ms: if version >= 1 { d.i64()? } else { 0 },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::Request;

    #[test]
    fn request_is_the_auth_bytes() {
        let mut body = Vec::new();
        SaslAuthenticateRequest { auth_bytes: b"n,,n=u" }.encode(&mut Encoder::new(&mut body), 1, &mut Vec::new());
        assert_eq!(body, b"\x00\x00\x00\x06n,,n=u");
    }

    fn response(version: i16) -> Vec<u8> {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        e.i16(58);
        e.nullable_string(Some("bad"));
        e.bytes(b"r=abc");
        if version >= 1 {
            e.i64(3_600_000);
        }
        body
    }

    #[test]
    fn decodes_every_version_and_refuses_truncations() {
        for version in SaslAuthenticateRequest::VERSIONS {
            let body = response(version);
            let expected = SaslAuthenticateResponse {
                error_code: 58,
                error_message: Some("bad".into()),
                auth_bytes: b"r=abc".to_vec(),
                session_lifetime_ms: if version >= 1 { 3_600_000 } else { 0 },
            };
            assert_eq!(SaslAuthenticateRequest::decode(&body, version).unwrap(), expected, "v{version}");
            for len in 0..body.len() {
                assert!(SaslAuthenticateRequest::decode(&body[..len], version).is_err(), "v{version} prefix {len}");
            }
        }
    }

    #[test]
    fn a_null_error_message_decodes() {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        e.i16(0);
        e.nullable_string(None);
        e.bytes(b"");
        e.i64(0);
        let decoded = SaslAuthenticateRequest::decode(&body, 1).unwrap();
        assert_eq!((decoded.error_message, decoded.auth_bytes.len()), (None, 0));
    }
}
