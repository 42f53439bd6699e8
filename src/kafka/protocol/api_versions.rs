//! ApiVersions (key 18): which versions of each API the broker speaks.
//!
//! Version 3 (KIP-511, flexible) also gives the broker the client's software
//! name and version. A broker that does not speak it answers
//! UNSUPPORTED_VERSION in version 0's format, and version 0 is asked
//! instead. Every version's response keeps response header v0 (no tagged
//! fields), so that such an answer can be read.

use super::primitives::{DecodeResult, Decoder, Encoder};
use super::{Request, Splice};

/// The version asked first.
pub const VERSION: i16 = 3;
/// The version asked of a broker that refuses `VERSION`.
pub const FALLBACK_VERSION: i16 = 0;
/// UNSUPPORTED_VERSION: the answer is in version 0's format.
pub const UNSUPPORTED_VERSION: i16 = 35;

/// Which versions the broker speaks; from v3 it learns the client's
/// software name and version.
pub struct ApiVersionsRequest<'a> {
    pub software_name: &'a str,
    pub software_version: &'a str,
}

impl Request for ApiVersionsRequest<'_> {
    const NAME: &'static str = "ApiVersions";
    const API_KEY: i16 = 18;
    const VERSIONS: std::ops::RangeInclusive<i16> = FALLBACK_VERSION..=VERSION;
    const FLEXIBLE_SINCE: Option<i16> = Some(3);
    type Response = ApiVersionsResponse;

    /// Empty before version 3.
    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, _: &mut Vec<Splice<'a>>) {
        if Self::is_flexible(version) {
            e.compact_string(self.software_name);
            e.compact_string(self.software_version);
            e.no_tagged_fields();
        }
    }

    fn decode(body: &[u8], version: i16) -> DecodeResult<ApiVersionsResponse> {
        let mut d = Decoder::new(body);
        let error_code = d.i16()?;
        if error_code == UNSUPPORTED_VERSION {
            // Kafka answers a refused version in v0's format; librdkafka's mock
            // cluster answers in a format of its own. Only the code matters: v0
            // is asked next.
            let apis = decode_ranges(&mut d, 0).unwrap_or_default();
            return Ok(ApiVersionsResponse { error_code, apis });
        }
        let apis = decode_ranges(&mut d, version)?;
        if version >= 1 {
            d.i32()?; // throttle_time_ms
        }
        if Self::is_flexible(version) {
            // SupportedFeatures, FinalizedFeatures and the like: not used.
            d.skip_tagged_fields()?;
        }
        Ok(ApiVersionsResponse { error_code, apis })
    }

    /// Response header v0 in every version (KIP-511), so that a broker
    /// refusing the version can still answer.
    fn response_header_tagged(_version: i16) -> bool {
        false
    }
}

/// The versions the broker supports for one API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRange {
    pub api_key: i16,
    pub min_version: i16,
    pub max_version: i16,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ApiVersionsResponse {
    pub error_code: i16,
    pub apis: Vec<ApiRange>,
}

impl ApiVersionsResponse {
    pub fn range(&self, api_key: i16) -> Option<ApiRange> {
        self.apis.iter().copied().find(|a| a.api_key == api_key)
    }
}

fn decode_ranges(d: &mut Decoder, version: i16) -> DecodeResult<Vec<ApiRange>> {
    let flexible = ApiVersionsRequest::is_flexible(version);
    let count = if flexible { d.compact_array_len(7)? } else { d.array_len(6)? };
    let mut apis = Vec::with_capacity(count);
    for _ in 0..count {
        apis.push(ApiRange { api_key: d.i16()?, min_version: d.i16()?, max_version: d.i16()? });
        if flexible {
            d.skip_tagged_fields()?;
        }
    }
    Ok(apis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::{decode_response, frame_request};

    const SOFTWARE: ApiVersionsRequest<'static> = ApiVersionsRequest { software_name: "ablkafka", software_version: "0.1.0" };

    #[test]
    fn decodes_a_version_0_list() {
        let mut body = Vec::new();
        let mut e = Encoder::new(&mut body);
        e.i16(0);
        e.array_len(2);
        for (k, lo, hi) in [(0i16, 0i16, 11i16), (3, 0, 12)] {
            e.i16(k);
            e.i16(lo);
            e.i16(hi);
        }
        let r = decode_response::<ApiVersionsRequest>(&body, 0).unwrap();
        assert_eq!(r.error_code, 0);
        assert_eq!(r.range(3), Some(ApiRange { api_key: 3, min_version: 0, max_version: 12 }));
        assert_eq!(r.range(18), None);
    }

    #[test]
    fn a_version_3_request_names_the_client_software_byte_for_byte() {
        let (frame, _) = frame_request(Vec::new(), &SOFTWARE, VERSION, 7, "cid").unwrap();
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0, 0, 0, 30,              // size
            0, 18, 0, 3,              // ApiVersions v3
            0, 0, 0, 7,               // correlation id
            0, 3, b'c', b'i', b'd',   // client id: a (non-compact) nullable string in every header
            0,                        // request header v2's tagged fields
            9, b'a', b'b', b'l', b'k', b'a', b'f', b'k', b'a', // client_software_name: compact, length + 1
            6, b'0', b'.', b'1', b'.', b'0',                   // client_software_version
            0,                        // the body's tagged fields
        ];
        assert_eq!(frame, expected);
        let (v0, _) = frame_request(Vec::new(), &SOFTWARE, FALLBACK_VERSION, 7, "cid").unwrap();
        assert_eq!(v0, [&[0, 0, 0, 13, 0, 18, 0, 0, 0, 0, 0, 7, 0, 3][..], b"cid"].concat(), "v0: header v1, empty body");
    }

    #[test]
    fn decodes_a_version_3_answer_with_tagged_fields() {
        #[rustfmt::skip]
        let body: &[u8] = &[
            0, 0,                     // error_code
            3,                        // compact array: 2 entries
            0, 0, 0, 3, 0, 9, 0,      // Produce 3..9, no tagged fields
            0, 18, 0, 0, 0, 4, 1, 0, 2, 0xab, 0xcd, // ApiVersions 0..4, one tagged field (tag 0, 2 bytes)
            0, 0, 0, 0,               // throttle_time_ms
            1, 0, 3, 1, 2, 3,         // one top-level tagged field (SupportedFeatures, say)
        ];
        let r = decode_response::<ApiVersionsRequest>(body, 3).unwrap();
        assert_eq!(r.error_code, 0);
        assert_eq!(
            r.apis,
            [ApiRange { api_key: 0, min_version: 3, max_version: 9 }, ApiRange { api_key: 18, min_version: 0, max_version: 4 }]
        );
        for len in 0..body.len() {
            assert!(decode_response::<ApiVersionsRequest>(&body[..len], 3).is_err(), "prefix of {len} bytes");
        }
    }

    #[test]
    fn an_unsupported_version_answer_is_read_in_version_0s_format() {
        // What a broker that speaks ApiVersions 0..2 answers to v3.
        let body = [0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 2];
        let r = decode_response::<ApiVersionsRequest>(&body, 3).unwrap();
        assert_eq!(r.error_code, UNSUPPORTED_VERSION);
        assert_eq!(r.range(ApiVersionsRequest::API_KEY), Some(ApiRange { api_key: 18, min_version: 0, max_version: 2 }));
    }

    #[test]
    fn an_unsupported_version_answer_in_another_format_still_says_unsupported_version() {
        // librdkafka 2.16's mock cluster (ApiVersions 0..2) answering v3: a one-byte
        // count, no tagged fields, a throttle time.
        let body = [0, 35, 1, 0, 18, 0, 0, 0, 2, 0, 0, 0, 0];
        assert_eq!(decode_response::<ApiVersionsRequest>(&body, 3).unwrap().error_code, UNSUPPORTED_VERSION);
    }

    #[test]
    fn a_lying_array_length_is_an_error() {
        assert!(decode_response::<ApiVersionsRequest>(&[0, 0, 0x7f, 0xff, 0xff, 0xff], 0).is_err());
        assert!(decode_response::<ApiVersionsRequest>(&[0, 0, 0xff, 0xff, 0xff, 0x7f], 3).is_err());
    }
}
