//! ApiVersions (key 18), version 0: which versions of each API the broker speaks.

use super::primitives::{DecodeResult, Decoder};

pub const API_KEY: i16 = 18;
pub const VERSION: i16 = 0;

/// The versions the broker supports for one API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRange {
    pub api_key: i16,
    pub min_version: i16,
    pub max_version: i16,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ApiVersionsResponse {
    pub error_code: i16,
    pub apis: Vec<ApiRange>,
}

impl ApiVersionsResponse {
    pub fn range(&self, api_key: i16) -> Option<ApiRange> {
        self.apis.iter().copied().find(|a| a.api_key == api_key)
    }
}

/// The v0 request has an empty body.
pub fn decode_response(body: &[u8]) -> DecodeResult<ApiVersionsResponse> {
    let mut d = Decoder::new(body);
    let error_code = d.i16()?;
    let count = d.array_len(6)?;
    let mut apis = Vec::with_capacity(count);
    for _ in 0..count {
        apis.push(ApiRange { api_key: d.i16()?, min_version: d.i16()?, max_version: d.i16()? });
    }
    Ok(ApiVersionsResponse { error_code, apis })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::primitives::Encoder;

    #[test]
    fn decodes_a_version_list() {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        e.i16(0);
        e.array_len(2);
        for (k, lo, hi) in [(0i16, 0i16, 11i16), (3, 0, 12)] {
            e.i16(k);
            e.i16(lo);
            e.i16(hi);
        }
        let r = decode_response(&body).unwrap();
        assert_eq!(r.error_code, 0);
        assert_eq!(r.range(3), Some(ApiRange { api_key: 3, min_version: 0, max_version: 12 }));
        assert_eq!(r.range(18), None);
    }

    #[test]
    fn a_lying_array_length_is_an_error() {
        assert!(decode_response(&[0, 0, 0x7f, 0xff, 0xff, 0xff]).is_err());
    }
}
