//! CRC-32C of two byte strings joined, from the CRC of each and the length
//! of the second, in a few hundred operations whatever the length. A
//! RecordBatch's payload is summed once, when it is packed, before its
//! header exists (the header changes when a retry carries a new producer
//! id); each send sums the header and combines the two. The `crc32c`
//! crate's combine builds 32×32 bit matrices for each bit of the length
//! (tens of microseconds for a 1 MB batch, a few percent of a producer's
//! CPU at 1 KiB records). This is the polynomial method of zlib 1.2.12+:
//! appending n zero bytes multiplies a CRC by x^(8n) modulo the CRC
//! polynomial, and x^(2^k) is taken from a table built at compile time.

/// CRC-32C (Castagnoli) polynomial, bit-reflected.
const POLY: u32 = 0x82F6_3B78;

/// x^0, the polynomial 1, in reflected bit order.
const ONE: u32 = 1 << 31;

/// `a * b` modulo the polynomial (both reflected).
const fn multiply(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut bit = ONE;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        bit >>= 1;
    }
    product
}

/// `X_POW_2K[k]` = x^(2^k) modulo the polynomial, for every k that a
/// 64-bit byte count needs (x^(8n): k from 3 to 66).
const X_POW_2K: [u32; 67] = {
    let mut table = [0u32; 67];
    table[0] = ONE >> 1; // x^1
    let mut k = 1;
    while k < table.len() {
        table[k] = multiply(table[k - 1], table[k - 1]);
        k += 1;
    }
    table
};

/// x^(8 * bytes) modulo the polynomial: the operator for `bytes` zero bytes.
fn x_pow_8n(bytes: usize) -> u32 {
    let mut n = bytes as u64;
    let mut k = 3; // 8 = 2^3
    let mut power = ONE;
    while n != 0 {
        if n & 1 != 0 {
            power = multiply(X_POW_2K[k], power);
        }
        n >>= 1;
        k += 1;
    }
    power
}

/// The CRC-32C of `first ++ second`, given `crc32c(first)`,
/// `crc32c(second)` and `second.len()`.
pub fn crc32c_combine(crc_first: u32, crc_second: u32, second_len: usize) -> u32 {
    multiply(x_pow_8n(second_len), crc_first) ^ crc_second
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_equals_summing_the_joined_bytes() {
        let bytes: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for split in [0, 1, 7, 61, 4096, 65_537, bytes.len()] {
            let (a, b) = bytes.split_at(split);
            assert_eq!(crc32c_combine(crc32c::crc32c(a), crc32c::crc32c(b), b.len()), crc32c::crc32c(&bytes), "split at {split}");
        }
    }

    #[test]
    fn agrees_with_the_crc32c_crate_for_large_lengths() {
        for len in [1usize, 1 << 20, 3 << 29, usize::MAX >> 1] {
            assert_eq!(crc32c_combine(0xDEAD_BEEF, 0x1234_5678, len), crc32c::crc32c_combine(0xDEAD_BEEF, 0x1234_5678, len), "{len}");
        }
    }
}
