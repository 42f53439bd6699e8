//! The Kafka wire protocol, one file per API message, plus the primitives,
//! the RecordBatch encoder and the codecs they share.
//!
//! Versions spoken: ApiVersions v3 (flexible, but answered with response
//! header v0), or v0 when the broker refuses v3; Metadata v1-v8, Produce
//! v3-v8 (zstd needs v7+), all non-flexible (request header v1, response
//! header v0), and InitProducerId v0-v4, flexible from v2 (request header v2
//! with its tagged fields; the response header's tagged fields are skipped
//! by the message's decoder). For SASL: SaslHandshake v1 and
//! SaslAuthenticate v0-v1, non-flexible.

pub mod api_versions;
pub mod compression;
pub mod crc32c_combine;
pub mod init_producer_id;
pub mod metadata;
pub mod primitives;
pub mod produce;
pub mod record_batch;
pub mod record_headers;
pub mod sasl_authenticate;
pub mod sasl_handshake;

use primitives::{DecodeError, DecodeResult, Decoder, EncodeError, Encoder};

/// One kind of request and its response, for `Connection::call`, which
/// negotiates the version, picks the header, frames, sends and decodes.
/// (Produce is sent its own way, with its batches spliced in.)
pub trait Request {
    /// For error messages: "Metadata", "InitProducerId".
    const NAME: &'static str;
    const API_KEY: i16;
    /// The versions this client speaks.
    const VERSIONS: std::ops::RangeInclusive<i16>;
    /// From this version on the request uses header v2 (tagged fields).
    const FLEXIBLE_SINCE: Option<i16>;
    /// The request carries a secret (SASL credentials): its frame is wiped
    /// once written.
    const SECRET: bool = false;
    type Response;

    fn encode(&self, e: &mut Encoder, version: i16);
    /// The response body after the response header's correlation id.
    fn decode(body: &[u8], version: i16) -> DecodeResult<Self::Response>;
}

/// Builds a size-prefixed request frame in `frame` (emptied first):
/// request header v1, or v2 (with an empty tagged-field section) for a
/// flexible version. Fails when a length does not fit its field (a
/// client.id or topic name over 32,767 bytes): such a frame is never sent.
pub fn frame_request(
    mut frame: Vec<u8>,
    api_key: i16,
    api_version: i16,
    flexible: bool,
    correlation_id: i32,
    client_id: &str,
    body: impl FnOnce(&mut Encoder),
) -> Result<Vec<u8>, EncodeError> {
    frame.clear();
    let mut e = Encoder::new(&mut frame);
    e.i32(0); // size: patched below
    e.i16(api_key);
    e.i16(api_version);
    e.i32(correlation_id);
    e.nullable_string(Some(client_id));
    if flexible {
        e.no_tagged_fields();
    }
    body(&mut e);
    if let Some(error) = e.error() {
        return Err(error);
    }
    let size = i32::try_from(frame.len() - 4).map_err(|_| EncodeError("a request over 2 GiB"))?;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    Ok(frame)
}

/// Bytes written into a request from a buffer of their own instead of
/// being copied into its frame: they go on the wire right after the first
/// `at` bytes of the frame (a vectored write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Splice<'a> {
    pub at: usize,
    pub bytes: &'a [u8],
}

/// The frame's pieces in wire order: frame bytes, spliced bytes, frame
/// bytes, ... Splices must be in ascending `at` order.
pub fn frame_parts<'a>(frame: &'a [u8], splices: &[Splice<'a>]) -> Vec<&'a [u8]> {
    let mut parts = Vec::with_capacity(2 * splices.len() + 1);
    let mut start = 0;
    for splice in splices {
        parts.push(&frame[start..splice.at]);
        parts.push(splice.bytes);
        start = splice.at;
    }
    parts.push(&frame[start..]);
    parts
}

/// Splits a response (without its size prefix) into correlation id and body.
pub fn split_response(frame: &[u8]) -> DecodeResult<(i32, &[u8])> {
    if frame.len() < 4 {
        return Err(DecodeError("response shorter than its header"));
    }
    let correlation_id = Decoder::new(frame).i32()?;
    Ok((correlation_id, &frame[4..]))
}

/// Picks the highest version in `ours` that the broker's range also allows.
pub fn negotiate(ours: std::ops::RangeInclusive<i16>, broker_min: i16, broker_max: i16) -> Option<i16> {
    let best = (*ours.end()).min(broker_max);
    (best >= *ours.start() && best >= broker_min).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frames_carry_size_and_header_v1() {
        let frame = frame_request(Vec::new(), 0, 7, false, 42, "cid", |e| e.i16(-1)).unwrap();
        assert_eq!(i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize, frame.len() - 4);
        let mut d = Decoder::new(&frame[4..]);
        assert_eq!((d.i16().unwrap(), d.i16().unwrap(), d.i32().unwrap()), (0, 7, 42));
        assert_eq!(d.string().unwrap(), "cid");
        assert_eq!(d.i16().unwrap(), -1);
        assert_eq!(d.remaining(), 0);

        let flexible = frame_request(vec![5, 5], 22, 4, true, 1, "c", |e| e.i8(9)).unwrap();
        assert_eq!(&flexible[flexible.len() - 2..], [0, 9], "empty tagged fields, then the body");
    }

    #[test]
    fn lengths_that_do_not_fit_refuse_the_frame_instead_of_wrapping() {
        let long = "t".repeat(32_768);
        let fits = "t".repeat(32_767);
        assert!(frame_request(Vec::new(), 3, 1, false, 1, "cid", |e| e.string(&fits)).is_ok());
        let refused = frame_request(Vec::new(), 3, 1, false, 1, "cid", |e| e.string(&long));
        assert_eq!(refused, Err(EncodeError("a string longer than 32767 bytes")));
        assert!(frame_request(Vec::new(), 3, 1, false, 1, &long, |_| {}).is_err(), "the client id too");
        assert!(frame_request(Vec::new(), 3, 9, true, 1, "cid", |e| e.compact_string(&long)).is_err());
    }

    #[test]
    fn splices_interleave_with_the_frame_in_order() {
        let frame = b"abcdef";
        let parts = frame_parts(frame, &[Splice { at: 2, bytes: b"XY" }, Splice { at: 2, bytes: b"Z" }, Splice { at: 6, bytes: b"!" }]);
        assert_eq!(parts.concat(), b"abXYZcdef!");
        assert_eq!(frame_parts(frame, &[]).concat(), b"abcdef");
    }

    #[test]
    fn negotiation_takes_the_highest_common_version() {
        assert_eq!(negotiate(3..=8, 0, 11), Some(8));
        assert_eq!(negotiate(3..=8, 0, 5), Some(5));
        assert_eq!(negotiate(3..=8, 0, 2), None);
        assert_eq!(negotiate(3..=8, 9, 12), None);
    }

    #[test]
    fn short_responses_are_refused() {
        assert!(split_response(&[0, 0]).is_err());
        assert_eq!(split_response(&[0, 0, 0, 9, 1]).unwrap(), (9, &[1u8][..]));
    }
}
