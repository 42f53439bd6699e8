//! librdkafka's partitioners. A keyed choice is made here; where a
//! partitioner has no key to hash it answers `None` and the caller uses the
//! topic's sticky partition, so null-key records still fill whole batches.

/// The `partitioner` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partitioner {
    /// CRC-32 of the key; empty and null keys go to the sticky partition (default).
    ConsistentRandom,
    /// CRC-32 of the key; empty and null keys hash like any key.
    Consistent,
    /// Always the sticky partition.
    Random,
    /// Java's murmur2 of the key; null keys hash as empty.
    Murmur2,
    /// Java's murmur2 of the key; null keys go to the sticky partition
    /// (the Java producer's default partitioner).
    Murmur2Random,
    /// FNV-1a of the key; null keys hash as empty.
    Fnv1a,
    /// FNV-1a of the key; null keys go to the sticky partition.
    Fnv1aRandom,
}

/// Every partitioner with its `partitioner` name: the one list that the
/// option check and the parser both read.
const PARTITIONERS: [(Partitioner, &str); 7] = [
    (Partitioner::Random, "random"),
    (Partitioner::Consistent, "consistent"),
    (Partitioner::ConsistentRandom, "consistent_random"),
    (Partitioner::Murmur2, "murmur2"),
    (Partitioner::Murmur2Random, "murmur2_random"),
    (Partitioner::Fnv1a, "fnv1a"),
    (Partitioner::Fnv1aRandom, "fnv1a_random"),
];

impl Partitioner {
    /// The `partitioner` values, in `PARTITIONERS`' order.
    pub const NAMES: [&'static str; PARTITIONERS.len()] = crate::kafka::names::names_of(&PARTITIONERS);
    /// The partitioners, in `NAMES`' order.
    pub const ALL: [Partitioner; PARTITIONERS.len()] = crate::kafka::names::values_of(&PARTITIONERS);

    /// The partition for `key` among `partition_count` (> 0), or `None`
    /// where the record should go to the sticky partition.
    pub fn partition(self, key: Option<&[u8]>, partition_count: u32) -> Option<u32> {
        let hash = match (self, key) {
            (Partitioner::Random, _) => return None,
            (Partitioner::ConsistentRandom, None) => return None,
            (Partitioner::ConsistentRandom, Some([])) => return None,
            (Partitioner::Murmur2Random | Partitioner::Fnv1aRandom, None) => return None,
            (Partitioner::ConsistentRandom | Partitioner::Consistent, k) => crc32fast::hash(k.unwrap_or_default()),
            (Partitioner::Murmur2 | Partitioner::Murmur2Random, k) => murmur2(k.unwrap_or_default()) & 0x7fff_ffff,
            (Partitioner::Fnv1a | Partitioner::Fnv1aRandom, k) => fnv1a(k.unwrap_or_default()),
        };
        Some(hash % partition_count)
    }
}

/// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an
/// unsigned value: the Java int's bits.
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// 32-bit FNV-1a, as librdkafka's fnv1a partitioner uses it.
pub fn fnv1a(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// A small xorshift generator for sticky-partition choices: no crate, no
/// global state, good enough to spread load.
#[derive(Debug)]
pub struct StickyRandom(u64);

impl StickyRandom {
    pub fn seeded(seed: u64) -> Self {
        StickyRandom(seed | 1)
    }

    pub fn below(&mut self, n: u32) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        ((x >> 32) % u64::from(n.max(1))) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_javas_known_values() {
        // Expected values from Kafka's UtilsTest.testMurmur2 (Java ints).
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key) as i32, expected, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn murmur2_partitions_like_javas_default_partitioner() {
        // Java: Utils.toPositive(Utils.murmur2(key)) % numPartitions.
        let p = Partitioner::Murmur2Random;
        assert_eq!(p.partition(Some(b"foobar"), 100), Some(((-790332482i32) & 0x7fff_ffff) as u32 % 100));
        assert_eq!(p.partition(None, 100), None);
        assert_eq!(Partitioner::Murmur2.partition(None, 7), Partitioner::Murmur2.partition(Some(b""), 7));
    }

    #[test]
    fn consistent_uses_crc32_of_the_key() {
        // CRC-32 ("123456789") = 0xCBF43926, the standard check value.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(Partitioner::Consistent.partition(Some(b"123456789"), 1000), Some(0xCBF4_3926 % 1000));
        assert_eq!(Partitioner::ConsistentRandom.partition(Some(b"123456789"), 1000), Some(0xCBF4_3926 % 1000));
        assert_eq!(Partitioner::Consistent.partition(None, 5), Some(0));
        assert_eq!(Partitioner::ConsistentRandom.partition(Some(b""), 5), None);
        assert_eq!(Partitioner::ConsistentRandom.partition(None, 5), None);
        assert_eq!(Partitioner::Random.partition(Some(b"k"), 5), None);
    }

    #[test]
    fn fnv1a_matches_reference_values() {
        // From the FNV reference test suite (32-bit FNV-1a).
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn every_partitioner_keeps_partitions_in_range() {
        assert_eq!(Partitioner::NAMES.len(), 7);
        for p in Partitioner::ALL {
            for key in [&b"x"[..], b"some longer key", b"\0\xff"] {
                if let Some(n) = p.partition(Some(key), 3) {
                    assert!(n < 3);
                }
            }
        }
        let mut r = StickyRandom::seeded(7);
        let picks: Vec<u32> = (0..100).map(|_| r.below(4)).collect();
        assert!(picks.iter().all(|&p| p < 4));
        assert!((0..4).all(|p| picks.contains(&p)), "{picks:?}");
    }
}
