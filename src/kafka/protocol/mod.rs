//! The Kafka wire protocol, one file per API message, plus the primitives,
//! the RecordBatch encoder and the codecs they share.
//!
//! Each message module has one face: its request type, implementing
//! `Request` (its encoder and its response's decoder).
//!
//! Versions spoken: ApiVersions v3 (flexible, but answered with response
//! header v0), or v0 when the broker refuses v3; Metadata v1-v8, Produce
//! v3-v8 (zstd needs v7+), all non-flexible (request header v1, response
//! header v0), and InitProducerId v0-v4 (idempotent or transactional),
//! flexible from v2 (request header v2, response header v1: both handled
//! here, not by the message). For SASL: SaslHandshake v1 and
//! SaslAuthenticate v0-v1, non-flexible. For transactions: FindCoordinator
//! v1-v4 (group and transaction keys), AddPartitionsToTxn v0-v3,
//! AddOffsetsToTxn v0-v3, TxnOffsetCommit v0-v3 and EndTxn v0-v3, all
//! flexible from v3.

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod api_versions;
pub mod compression;
pub mod crc32c_combine;
pub mod end_txn;
pub mod find_coordinator;
pub mod init_producer_id;
pub mod metadata;
pub mod primitives;
pub mod produce;
pub mod record_batch;
pub mod record_headers;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod txn_offset_commit;

use primitives::{DecodeError, DecodeResult, Decoder, EncodeError, Encoder};

/// One kind of request and its response: what `Connection` needs to
/// negotiate its version, frame it, send it and decode its answer, the same
/// way for every API (Produce's records spliced in from their own buffers).
pub trait Request {
    /// For error messages and debug lines: "Metadata", "Produce".
    const NAME: &'static str;
    const API_KEY: i16;
    /// The versions this client speaks.
    const VERSIONS: std::ops::RangeInclusive<i16>;
    /// From this version on the request uses header v2 and the response
    /// header v1 (tagged fields).
    const FLEXIBLE_SINCE: Option<i16>;
    /// The request carries a secret (SASL credentials): its frame is wiped
    /// once written.
    const SECRET: bool = false;
    /// Part of a SASL login: it may go on a connection that is
    /// re-authenticating, when nothing else may (KIP-368).
    const LOGIN: bool = false;
    type Response;

    /// Writes the body. Bytes pushed to `splices` go on the wire from
    /// their own buffer, after the frame bytes written so far.
    fn encode<'a>(&'a self, e: &mut Encoder, version: i16, splices: &mut Vec<Splice<'a>>);

    /// Decodes the body that follows the response header.
    fn decode(body: &[u8], version: i16) -> DecodeResult<Self::Response>;

    /// From this version on a broker over a quota answers at once and
    /// expects the client to hold its next requests back for the answer's
    /// throttle time (KIP-219); before it, the broker delayed the answer
    /// itself. None: the API has no throttle time.
    const CLIENT_THROTTLES_SINCE: Option<i16> = None;

    /// The answer's throttle_time_ms (0 where the version has none).
    fn throttle_time_ms(_response: &Self::Response) -> i32 {
        0
    }

    /// Records the request carries (Produce's), for statistics.
    fn records(&self) -> usize {
        0
    }

    /// What the broker's silence stands for, for a request it does not
    /// answer (Produce with acks=0): complete once written. None: awaited.
    fn unanswered(&self) -> Option<Self::Response> {
        None
    }

    /// The body's expected size, so that its frame is allocated once.
    fn size_hint(&self) -> usize {
        0
    }

    fn is_flexible(version: i16) -> bool {
        Self::FLEXIBLE_SINCE.is_some_and(|since| version >= since)
    }

    /// Whether the response header carries tagged fields (v1): in flexible
    /// versions, except where an API keeps v0 (ApiVersions).
    fn response_header_tagged(version: i16) -> bool {
        Self::is_flexible(version)
    }
}

/// `request` framed: its size (spliced bytes included, written once), the
/// request header (v1, or v2 with an empty tagged-field section for a
/// flexible version), the body; in `frame` (emptied first), with the
/// splices. Fails when a length does not fit its field (a client.id or
/// topic name over 32,767 bytes): such a frame is never sent.
pub fn frame_request<'a, R: Request>(
    mut frame: Vec<u8>,
    request: &'a R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> Result<(Vec<u8>, Vec<Splice<'a>>), EncodeError> {
    frame.clear();
    let mut splices = Vec::new();
    let mut e = Encoder::new(&mut frame);
    e.i32(0); // the size, once known
    e.i16(R::API_KEY);
    e.i16(version);
    e.i32(correlation_id);
    e.nullable_string(Some(client_id));
    if R::is_flexible(version) {
        e.no_tagged_fields();
    }
    request.encode(&mut e, version, &mut splices);
    if let Some(error) = e.error() {
        return Err(error);
    }
    let size = frame.len() - 4 + splices.iter().map(|s| s.bytes.len()).sum::<usize>();
    let size = i32::try_from(size).map_err(|_| EncodeError("a request over 2 GiB"))?;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    Ok((frame, splices))
}

/// The answer to a request of `version`, from the bytes after its
/// correlation id: the response header's tagged fields (if it has them)
/// skipped, then the body decoded.
pub fn decode_response<R: Request>(after_correlation_id: &[u8], version: i16) -> DecodeResult<R::Response> {
    let mut d = Decoder::new(after_correlation_id);
    if R::response_header_tagged(version) {
        d.skip_tagged_fields()?;
    }
    R::decode(d.rest(), version)
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

    /// A request of API 7, flexible from v9, whose body is a string, a
    /// compact string (flexible versions) and a splice; its "response" is
    /// the length of the body it is given.
    #[derive(Default)]
    struct Probe<'b> {
        string: &'b str,
        spliced: &'b [u8],
    }

    impl Request for Probe<'_> {
        const NAME: &'static str = "Probe";
        const API_KEY: i16 = 7;
        const VERSIONS: std::ops::RangeInclusive<i16> = 0..=9;
        const FLEXIBLE_SINCE: Option<i16> = Some(9);
        type Response = usize;

        fn encode<'a>(&'a self, e: &mut Encoder, version: i16, splices: &mut Vec<Splice<'a>>) {
            match Self::is_flexible(version) {
                true => e.compact_string(self.string),
                false => e.string(self.string),
            }
            if !self.spliced.is_empty() {
                splices.push(Splice { at: e.position(), bytes: self.spliced });
            }
        }

        fn decode(body: &[u8], _version: i16) -> DecodeResult<usize> {
            Ok(body.len())
        }
    }

    #[test]
    fn request_frames_carry_size_and_header_v1() {
        let probe = Probe { string: "ab", ..Probe::default() };
        let (frame, splices) = frame_request(Vec::new(), &probe, 7, 42, "cid").unwrap();
        assert!(splices.is_empty());
        assert_eq!(i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize, frame.len() - 4);
        let mut d = Decoder::new(&frame[4..]);
        assert_eq!((d.i16().unwrap(), d.i16().unwrap(), d.i32().unwrap()), (7, 7, 42));
        assert_eq!(d.string().unwrap(), "cid");
        assert_eq!(d.string().unwrap(), "ab");
        assert_eq!(d.remaining(), 0);

        let (flexible, _) = frame_request(vec![5, 5], &Probe { string: "x", ..Probe::default() }, 9, 1, "c").unwrap();
        assert_eq!(&flexible[flexible.len() - 3..], [0, 2, b'x'], "empty tagged fields, then the body");
    }

    #[test]
    fn the_size_counts_the_spliced_bytes_and_is_written_once() {
        let probe = Probe { string: "", spliced: b"12345" };
        let (frame, splices) = frame_request(Vec::new(), &probe, 1, 1, "cid").unwrap();
        assert_eq!(splices, [Splice { at: frame.len(), bytes: b"12345" }]);
        let wire = frame_parts(&frame, &splices).concat();
        assert_eq!(i32::from_be_bytes(wire[..4].try_into().unwrap()) as usize, wire.len() - 4);
    }

    #[test]
    fn lengths_that_do_not_fit_refuse_the_frame_instead_of_wrapping() {
        let long = "t".repeat(32_768);
        let fits = "t".repeat(32_767);
        assert!(frame_request(Vec::new(), &Probe { string: &fits, ..Probe::default() }, 1, 1, "cid").is_ok());
        let too_long = Probe { string: &long, ..Probe::default() };
        let refused = frame_request(Vec::new(), &too_long, 1, 1, "cid");
        assert_eq!(refused.err(), Some(EncodeError("a string longer than 32767 bytes")));
        assert!(frame_request(Vec::new(), &Probe::default(), 1, 1, &long).is_err(), "the client id too");
        assert!(frame_request(Vec::new(), &too_long, 9, 1, "cid").is_err(), "a compact string too");
    }

    #[test]
    fn a_flexible_answers_header_tags_are_skipped_before_its_body() {
        assert_eq!(decode_response::<Probe>(&[0, 1, 2, 3], 9).unwrap(), 3, "header v1: no tags, then 3 bytes");
        assert_eq!(decode_response::<Probe>(&[1, 5, 2, 0xaa, 0xbb, 9], 9).unwrap(), 1, "one tagged field skipped");
        assert_eq!(decode_response::<Probe>(&[0, 1, 2, 3], 8).unwrap(), 4, "header v0: all body");
        assert!(decode_response::<Probe>(&[], 9).is_err(), "no room for the header's tags");
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
