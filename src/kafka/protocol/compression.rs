//! The five RecordBatch codecs. Each compresses the records section of a
//! batch as one blob, in the stream format Kafka brokers and consumers expect.

use std::io::{self, Write};

/// A RecordBatch codec; the discriminant is the value of attribute bits 0-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

/// Every codec with its `compression.codec` name: the one list that the
/// option check, the parser and `name` all read.
const CODECS: [(Codec, &str); 5] =
    [(Codec::None, "none"), (Codec::Gzip, "gzip"), (Codec::Snappy, "snappy"), (Codec::Lz4, "lz4"), (Codec::Zstd, "zstd")];

impl Codec {
    /// The `compression.codec` values, in `CODECS`' order.
    pub const NAMES: [&'static str; CODECS.len()] = crate::kafka::names::names_of(&CODECS);
    /// The codecs, in `NAMES`' order.
    pub const ALL: [Codec; CODECS.len()] = crate::kafka::names::values_of(&CODECS);

    pub fn name(self) -> &'static str {
        CODECS.iter().find(|(codec, _)| *codec == self).map_or("none", |&(_, name)| name)
    }

    /// The level this codec uses for `compression.level` (-1..12, as
    /// librdkafka accepts it): -1 is the codec's default; gzip's levels end
    /// at 9 (higher ones are 9, as librdkafka clamps them); snappy and none
    /// have no level.
    pub fn effective_level(self, level: i32) -> i32 {
        match self {
            Codec::None | Codec::Snappy => -1,
            Codec::Gzip => level.min(9),
            Codec::Lz4 | Codec::Zstd => level,
        }
    }

    /// The oldest Produce version whose brokers accept this codec.
    pub fn min_produce_version(self) -> i16 {
        match self {
            Codec::Zstd => 7,
            _ => 3,
        }
    }
}

/// Compresses `input` with `codec` into `out`, replacing what it held (its
/// capacity is kept and grown as needed, so a reused buffer does not fault
/// in fresh pages).
///
/// Snappy is written raw (one block), as librdkafka does; brokers and
/// consumers read both raw and Java's xerial framing. LZ4 is the LZ4 frame
/// format with independent blocks, which is what KIP-57 requires (see
/// `lz4_frame`). lz4_flex has a single (fast) level, so `level` does not
/// apply to LZ4.
pub fn compress(codec: Codec, level: i32, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    out.clear();
    match codec {
        Codec::None => out.extend_from_slice(input),
        Codec::Gzip => {
            let level = if level < 0 { flate2::Compression::default() } else { flate2::Compression::new(level as u32) };
            let mut encoder = flate2::write::GzEncoder::new(out, level);
            encoder.write_all(input)?;
            encoder.finish()?;
        }
        Codec::Snappy => {
            let start = out.len();
            out.resize(start + snap::raw::max_compress_len(input.len()), 0);
            let written = snap::raw::Encoder::new().compress(input, &mut out[start..]).map_err(io::Error::other)?;
            out.truncate(start + written);
        }
        Codec::Lz4 => lz4_frame(input, out)?,
        Codec::Zstd => {
            let level = if level < 0 { zstd::DEFAULT_COMPRESSION_LEVEL } else { level };
            out.reserve(zstd::zstd_safe::compress_bound(input.len()));
            zstd::bulk::Compressor::new(level)?.compress_to_buffer(input, out)?;
        }
    }
    Ok(())
}

/// The LZ4 frame header librdkafka writes too: magic; FLG 0x60 (version 1,
/// independent blocks, no block or content checksum, no content size, no
/// dictionary); BD 0x40 (blocks of at most 64 KiB); and the header checksum,
/// the second byte of XXH32 of FLG and BD, constant since they are.
const LZ4_FRAME_HEADER: [u8; 7] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82];
const LZ4_BLOCK_MAX: usize = 64 << 10;
/// A block's size word with this bit set says the block is stored as is.
const LZ4_UNCOMPRESSED_BLOCK: u32 = 1 << 31;

/// An LZ4 frame, written here around lz4_flex's block compressor: its
/// frame encoder first copies all input into a block buffer of its own
/// (frame header, 4-byte little-endian block sizes, an end mark of zero).
fn lz4_frame(input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let bound = lz4_flex::block::get_maximum_output_size(LZ4_BLOCK_MAX);
    out.reserve(LZ4_FRAME_HEADER.len() + input.len().div_ceil(LZ4_BLOCK_MAX) * (4 + bound) + 4);
    out.extend_from_slice(&LZ4_FRAME_HEADER);
    for block in input.chunks(LZ4_BLOCK_MAX) {
        let size_at = out.len();
        out.resize(size_at + 4 + bound, 0);
        let written = lz4_flex::block::compress_into(block, &mut out[size_at + 4..]).map_err(io::Error::other)?;
        if written < block.len() {
            out[size_at..size_at + 4].copy_from_slice(&(written as u32).to_le_bytes());
            out.truncate(size_at + 4 + written);
        } else {
            // Incompressible: stored as is, as LZ4 frames allow.
            out.truncate(size_at);
            out.extend_from_slice(&(block.len() as u32 | LZ4_UNCOMPRESSED_BLOCK).to_le_bytes());
            out.extend_from_slice(block);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    Ok(())
}

/// Decodes with each codec crate's own decoder, not with code of ours: what
/// the tests check our output against.
#[cfg(test)]
pub(crate) fn decompress(codec: Codec, data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match codec {
        Codec::None => out.extend_from_slice(data),
        Codec::Gzip => {
            flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
        }
        Codec::Snappy => out = snap::raw::Decoder::new().decompress_vec(data).unwrap(),
        Codec::Lz4 => {
            lz4_flex::frame::FrameDecoder::new(data).read_to_end(&mut out).unwrap();
        }
        Codec::Zstd => out = zstd::stream::decode_all(data).unwrap(),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Codec; 5] = [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd];

    fn sample() -> Vec<u8> {
        (0..200_000u32).map(|i| (i % 251) as u8 ^ (i / 1000) as u8).collect()
    }

    #[test]
    fn every_codec_round_trips_through_its_own_decoder() {
        let input = sample();
        for codec in ALL {
            let mut out = vec![0xAA; 7]; // replaces what is there
            compress(codec, -1, &input, &mut out).unwrap();
            assert_eq!(decompress(codec, &out), input, "{codec:?}");
            if codec != Codec::None {
                assert!(out.len() < input.len() / 2, "{codec:?} did not compress");
            }
        }
    }

    #[test]
    fn levels_at_both_ends_of_each_range_work() {
        let input = sample();
        for codec in ALL {
            for level in [-1, 0, 1, 12].map(|level| codec.effective_level(level)) {
                let mut out = Vec::new();
                compress(codec, level, &input, &mut out).unwrap();
                assert_eq!(decompress(codec, &out), input, "{codec:?} level {level}");
            }
        }
    }

    #[test]
    fn names_round_trip_and_discriminants_are_kafkas() {
        assert_eq!(Codec::ALL, ALL);
        assert_eq!(Codec::NAMES, ["none", "gzip", "snappy", "lz4", "zstd"]);
        for (codec, name) in Codec::ALL.into_iter().zip(Codec::NAMES) {
            assert_eq!(codec.name(), name);
        }
        assert_eq!([Codec::Gzip as i16, Codec::Snappy as i16, Codec::Lz4 as i16, Codec::Zstd as i16], [1, 2, 3, 4]);
        assert_eq!(Codec::Zstd.min_produce_version(), 7);
    }

    #[test]
    fn lz4_frames_are_what_lz4_flex_writes_and_reads() {
        use lz4_flex::frame::{BlockMode, FrameEncoder, FrameInfo};
        // The header checksum: the frame encoder computes it with XXH32.
        let mut info = FrameInfo::new();
        info.block_mode = BlockMode::Independent;
        let theirs = FrameEncoder::with_frame_info(info, Vec::new()).finish().unwrap();
        assert_eq!(&theirs[..7], LZ4_FRAME_HEADER);
        // Several blocks, compressible and not, and a short last one.
        let mut noise = 0x2545_F491_4F6C_DD1Du64;
        let mut input = sample();
        input.extend((0..100_000).map(|_| {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            noise as u8
        }));
        let mut out = Vec::new();
        compress(Codec::Lz4, -1, &input, &mut out).unwrap();
        assert_eq!(decompress(Codec::Lz4, &out), input);
        let mut at = LZ4_FRAME_HEADER.len();
        let mut kinds = Vec::new();
        loop {
            let size = u32::from_le_bytes(out[at..at + 4].try_into().unwrap());
            if size == 0 {
                break;
            }
            kinds.push(size & LZ4_UNCOMPRESSED_BLOCK != 0);
            at += 4 + (size & !LZ4_UNCOMPRESSED_BLOCK) as usize;
        }
        assert_eq!(at + 4, out.len(), "the end mark ends the frame");
        assert_eq!(kinds.len(), input.len().div_ceil(LZ4_BLOCK_MAX));
        assert!(!kinds[0] && *kinds.last().unwrap(), "text compresses, noise is stored: {kinds:?}");
    }

    #[test]
    fn empty_input_compresses() {
        for codec in ALL {
            let mut out = Vec::new();
            compress(codec, -1, &[], &mut out).unwrap();
            assert!(decompress(codec, &out).is_empty());
        }
    }
}
