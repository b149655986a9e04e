//! The bytes that end a run of plain string bytes (`"`, `\` and control characters), found
//! sixty-four at a time as one bit each.
//!
//! The scanner keeps one such mask for the 64 bytes ahead of it, so finding where a string's
//! plain run ends is a shift and a count of trailing zeros instead of a loop; a row of short
//! strings (most rows) needs a mask or three. The same blocks, sorted into more classes
//! ([`Classes`]), give the fast reading of a container its tokens ([`super::fast`]). On x86-64
//! the masks are built with vector compares: AVX-512 where the CPU has it (checked once, at
//! run time), SSE2 (part of every x86-64) otherwise. Elsewhere, and as the reference the vector code is tested
//! against, it is built eight bytes at a time in a word.
//!
//! This is the only module of the workspace with `unsafe`: the vector loads (a pointer read
//! of bytes a `&[u8; 64]` owns) and the calls into functions compiled for a CPU feature the
//! running CPU was checked to have. Each says why it holds.

/// A 64-byte block's bytes by class, one bit each (bit `i` for `block[i]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Classes {
    /// `"`.
    pub(crate) quote: u64,
    /// `\`.
    pub(crate) backslash: u64,
    /// Below 0x20 (tab, line feed and carriage return among them).
    pub(crate) control: u64,
    /// `' '`.
    pub(crate) space: u64,
    /// `{`, `}`, `[`, `]`, `,` and `:`.
    pub(crate) punctuation: u64,
    /// 0x80 and above (the bytes of UTF-8's characters beyond ASCII).
    pub(crate) high: u64,
}

/// Finds the bytes of a 64-byte block that the scanner stops at.
pub(crate) trait Specials: Copy {
    /// Bit `i` is set when `block[i]` is `"`, `\` or below 0x20.
    fn specials(self, block: &[u8; 64]) -> u64;

    /// Every class of [`Classes`].
    fn classes(self, block: &[u8; 64]) -> Classes;

    /// Bit `i` is set when `block[i]` is `byte`.
    fn equal(self, block: &[u8; 64], byte: u8) -> u64;

    /// Bit `i` is set when `block[i]` is an ASCII digit.
    fn digits(self, block: &[u8; 64]) -> u64;

    /// Whether the scalars of a block are better checked for the whole block at once
    /// (`fast::plain_scalars`: five more masks) than one by one: where a mask is one compare.
    const BULK_SCALARS: bool = false;

    /// Whether the bytes of `block` at the set bits of `tokens` (as [`Specials::token_bytes`]
    /// gives them) are the first `tokens.count_ones()` bytes of `expected`.
    #[inline(always)]
    fn tokens_are(self, block: &[u8; 64], tokens: u64, expected: &[u8; 64]) -> bool {
        let count = tokens.count_ones() as usize;
        self.token_bytes(block, tokens)[..count] == expected[..count]
    }

    /// Bit `i` is the xor of bits `0..=i` of `bits`: with a block's quotes, which of its
    /// bytes are inside strings (a string's opening quote and body, not its closing quote).
    #[inline(always)]
    fn prefix_xor(self, mut bits: u64) -> u64 {
        bits ^= bits << 1;
        bits ^= bits << 2;
        bits ^= bits << 4;
        bits ^= bits << 8;
        bits ^= bits << 16;
        bits ^= bits << 32;
        bits
    }

    /// The lowest `count` set bits of `bits` (`count` at most its number of set bits).
    #[inline(always)]
    fn lowest_bits(self, bits: u64, count: usize) -> u64 {
        let mut rest = bits;
        for _ in 0..count {
            rest &= rest.wrapping_sub(1);
        }
        bits ^ rest
    }

    /// The bytes of `block` at the set bits of `tokens`, in order, packed at the front of
    /// the result (the rest unspecified), each `-` or digit as `0` (so numbers of one shape
    /// read alike).
    #[inline(always)]
    fn token_bytes(self, block: &[u8; 64], mut tokens: u64) -> [u8; 64] {
        let mut out = [0; 64];
        let mut count = 0;
        while tokens != 0 {
            let byte = block[tokens.trailing_zeros() as usize];
            out[count] = if byte == b'-' || byte.is_ascii_digit() {
                b'0'
            } else {
                byte
            };
            count += 1;
            tokens &= tokens - 1;
        }
        out
    }
}

/// Word-at-a-time, on any CPU.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) struct Portable;

const ONES: u64 = u64::MAX / 255;
const LOW7: u64 = ONES * 0x7f;

/// 0x80 in each byte of `word` that is zero, and nothing else: exact, because no byte's sum
/// can carry into the next (each is at most 0x7f + 0x7f).
#[inline(always)]
fn zero_bytes(word: u64) -> u64 {
    !(((word & LOW7) + LOW7) | word | LOW7)
}

/// The high bits of a word's eight bytes, as eight bits (byte `i` to bit `i`).
#[inline(always)]
fn pack_high_bits(high: u64) -> u64 {
    ((high >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

impl Specials for Portable {
    #[inline(always)]
    fn specials(self, block: &[u8; 64]) -> u64 {
        let mut mask = 0;
        for (i, bytes) in block.as_chunks::<8>().0.iter().enumerate() {
            let word = u64::from_le_bytes(*bytes);
            let quote = zero_bytes(word ^ (ONES * u64::from(b'"')));
            let backslash = zero_bytes(word ^ (ONES * u64::from(b'\\')));
            let control = zero_bytes(word & (ONES * 0xe0));
            mask |= pack_high_bits(quote | backslash | control) << (8 * i);
        }
        mask
    }

    #[inline(always)]
    fn classes(self, block: &[u8; 64]) -> Classes {
        let mut classes = Classes::default();
        let equal = |word: u64, byte: u8| zero_bytes(word ^ (ONES * u64::from(byte)));
        for (i, bytes) in block.as_chunks::<8>().0.iter().enumerate() {
            let word = u64::from_le_bytes(*bytes);
            // `[`/`{` and `]`/`}` differ only in bit 5.
            let folded = word | (ONES * 0x20);
            let punctuation =
                equal(folded, b'{') | equal(folded, b'}') | equal(word, b',') | equal(word, b':');
            let shift = 8 * i;
            classes.quote |= pack_high_bits(equal(word, b'"')) << shift;
            classes.backslash |= pack_high_bits(equal(word, b'\\')) << shift;
            classes.control |= pack_high_bits(zero_bytes(word & (ONES * 0xe0))) << shift;
            classes.space |= pack_high_bits(equal(word, b' ')) << shift;
            classes.punctuation |= pack_high_bits(punctuation) << shift;
            classes.high |= pack_high_bits(word & (ONES * 0x80)) << shift;
        }
        classes
    }

    #[inline(always)]
    fn equal(self, block: &[u8; 64], byte: u8) -> u64 {
        let mut mask = 0;
        for (i, bytes) in block.as_chunks::<8>().0.iter().enumerate() {
            let word = u64::from_le_bytes(*bytes);
            mask |= pack_high_bits(zero_bytes(word ^ (ONES * u64::from(byte)))) << (8 * i);
        }
        mask
    }

    #[inline(always)]
    fn digits(self, block: &[u8; 64]) -> u64 {
        let mut mask = 0;
        for (i, bytes) in block.as_chunks::<8>().0.iter().enumerate() {
            let word = u64::from_le_bytes(*bytes);
            // 0x30-0x3f: high nibble 3; of those, 0x3a and up have bit 3 set and bit 1 or 2.
            let three = zero_bytes((word & (ONES * 0xf0)) ^ (ONES * 0x30));
            let above_nine = !zero_bytes(word & (ONES * 0x08)) & !zero_bytes(word & (ONES * 0x06));
            mask |= pack_high_bits(three & !above_nine) << (8 * i);
        }
        mask
    }
}

/// Another way's masks, with the scalars checked a block at once whatever it costs: so the
/// tests read that way on any CPU, not only where it is the faster.
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bulk<S>(pub(crate) S);

#[cfg(test)]
impl<S: Specials> Specials for Bulk<S> {
    const BULK_SCALARS: bool = true;

    fn specials(self, block: &[u8; 64]) -> u64 {
        self.0.specials(block)
    }

    fn classes(self, block: &[u8; 64]) -> Classes {
        self.0.classes(block)
    }

    fn equal(self, block: &[u8; 64], byte: u8) -> u64 {
        self.0.equal(block, byte)
    }

    fn digits(self, block: &[u8; 64]) -> u64 {
        self.0.digits(block)
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx512, Sse2, with_avx512};

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use super::{Classes, Specials};
    use std::arch::x86_64::*;

    /// SSE2: four 16-byte compares. Every x86-64 CPU has it.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Sse2;

    impl Specials for Sse2 {
        #[inline(always)]
        fn specials(self, block: &[u8; 64]) -> u64 {
            // SAFETY: SSE2 is part of the x86-64 baseline, so every CPU this code runs on
            // has it.
            unsafe { sse2(block) }
        }

        #[inline(always)]
        fn classes(self, block: &[u8; 64]) -> Classes {
            // SAFETY: as above.
            unsafe { sse2_classes(block) }
        }

        #[inline(always)]
        fn equal(self, block: &[u8; 64], byte: u8) -> u64 {
            // SAFETY: as above.
            unsafe { sse2_in_range(block, byte, byte) }
        }

        #[inline(always)]
        fn digits(self, block: &[u8; 64]) -> u64 {
            // SAFETY: as above.
            unsafe { sse2_in_range(block, b'0', b'9') }
        }
    }

    /// Bit `i` set when `block[i]` is in `low..=high`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn sse2_in_range(block: &[u8; 64], low: u8, high: u8) -> u64 {
        let mut mask = 0;
        for (i, part) in block.as_chunks::<16>().0.iter().enumerate() {
            // SAFETY: `part` is 16 bytes that the block owns; an unaligned load reads
            // exactly those.
            let v = unsafe { _mm_loadu_si128(part.as_ptr().cast()) };
            // In range when, less `low`, it is at most `high - low` (unsigned: the larger
            // of it and that bound is the bound).
            let shifted = _mm_sub_epi8(v, _mm_set1_epi8(low as i8));
            let bound = _mm_set1_epi8(high.wrapping_sub(low) as i8);
            let inside = _mm_cmpeq_epi8(_mm_max_epu8(shifted, bound), bound);
            mask |= u64::from(_mm_movemask_epi8(inside) as u16) << (16 * i);
        }
        mask
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn sse2_classes(block: &[u8; 64]) -> Classes {
        let mut classes = Classes::default();
        let mask = |v: __m128i| u64::from(_mm_movemask_epi8(v) as u16);
        for (i, part) in block.as_chunks::<16>().0.iter().enumerate() {
            // SAFETY: `part` is 16 bytes that the block owns; an unaligned load reads
            // exactly those.
            let v = unsafe { _mm_loadu_si128(part.as_ptr().cast()) };
            let equal = |byte: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8));
            // `[`/`{` and `]`/`}` differ only in bit 5.
            let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let punctuation = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(folded, _mm_set1_epi8(b'{' as i8)),
                    _mm_cmpeq_epi8(folded, _mm_set1_epi8(b'}' as i8)),
                ),
                _mm_or_si128(equal(b','), equal(b':')),
            );
            let below = _mm_set1_epi8(0x1f);
            let shift = 16 * i;
            classes.quote |= mask(equal(b'"')) << shift;
            classes.backslash |= mask(equal(b'\\')) << shift;
            classes.control |= mask(_mm_cmpeq_epi8(_mm_max_epu8(v, below), below)) << shift;
            classes.space |= mask(equal(b' ')) << shift;
            classes.punctuation |= mask(punctuation) << shift;
            classes.high |= mask(v) << shift;
        }
        classes
    }

    /// Runs `walk` (inlined) compiled for AVX-512, so the block reads inside it are inlined
    /// too.
    #[inline(always)]
    pub(crate) fn with_avx512<T>(_: Avx512, walk: impl FnOnce() -> T) -> T {
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vbmi2,bmi1,bmi2,popcnt,lzcnt,pclmulqdq")]
        fn compiled<T>(walk: impl FnOnce() -> T) -> T {
            walk()
        }
        // SAFETY: an `Avx512` exists only where `detect` found every one of these features.
        unsafe { compiled(walk) }
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn sse2(block: &[u8; 64]) -> u64 {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let below = _mm_set1_epi8(0x1f);
        let mut mask = 0;
        for (i, part) in block.as_chunks::<16>().0.iter().enumerate() {
            // SAFETY: `part` is 16 bytes that the block owns; an unaligned load reads
            // exactly those.
            let v = unsafe { _mm_loadu_si128(part.as_ptr().cast()) };
            let special = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                // A byte is below 0x20 when the larger of it and 0x1f is 0x1f.
                _mm_cmpeq_epi8(_mm_max_epu8(v, below), below),
            );
            mask |= u64::from(_mm_movemask_epi8(special) as u16) << (16 * i);
        }
        mask
    }

    /// AVX-512 (BW, and VBMI2 to pack a block's token bytes in one instruction): one 64-byte
    /// load, compares straight into masks. Only made by [`Avx512::detect`].
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx512(());

    impl Avx512 {
        /// `Some` when the running CPU has AVX-512 F, BW and VBMI2, and the bit instructions
        /// (BMI1 and 2, POPCNT, LZCNT, carry-less multiply) that every such CPU has: checked
        /// all the same, since the walk is compiled for all of them.
        #[inline]
        pub(crate) fn detect() -> Option<Self> {
            (is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vbmi2")
                && is_x86_feature_detected!("bmi1")
                && is_x86_feature_detected!("bmi2")
                && is_x86_feature_detected!("popcnt")
                && is_x86_feature_detected!("lzcnt")
                && is_x86_feature_detected!("pclmulqdq"))
            .then_some(Avx512(()))
        }
    }

    impl Specials for Avx512 {
        const BULK_SCALARS: bool = true;

        #[inline(always)]
        fn specials(self, block: &[u8; 64]) -> u64 {
            // SAFETY: an `Avx512` exists only where `detect` found AVX-512 F, BW and VBMI2.
            unsafe { avx512(block) }
        }

        #[inline(always)]
        fn classes(self, block: &[u8; 64]) -> Classes {
            // SAFETY: as above.
            unsafe { avx512_classes(block) }
        }

        #[inline(always)]
        fn equal(self, block: &[u8; 64], byte: u8) -> u64 {
            // SAFETY: as above.
            unsafe { avx512_in_range(block, byte, byte) }
        }

        #[inline(always)]
        fn digits(self, block: &[u8; 64]) -> u64 {
            // SAFETY: as above.
            unsafe { avx512_in_range(block, b'0', b'9') }
        }

        #[inline(always)]
        fn token_bytes(self, block: &[u8; 64], tokens: u64) -> [u8; 64] {
            // SAFETY: as above.
            unsafe { avx512_token_bytes(block, tokens) }
        }

        #[inline(always)]
        fn tokens_are(self, block: &[u8; 64], tokens: u64, expected: &[u8; 64]) -> bool {
            // SAFETY: as above.
            unsafe { avx512_tokens_are(block, tokens, expected) }
        }

        #[inline(always)]
        fn lowest_bits(self, bits: u64, count: usize) -> u64 {
            // SAFETY: as above (and every CPU with AVX-512 has BMI2, checked all the same).
            unsafe { lowest_bits_bmi2(bits, count) }
        }

        #[inline(always)]
        fn prefix_xor(self, bits: u64) -> u64 {
            // SAFETY: as above (carry-less multiply, checked by `detect`).
            unsafe { prefix_xor_clmul(bits) }
        }
    }

    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn prefix_xor_clmul(bits: u64) -> u64 {
        // Multiplying by all ones without carries: bit `i` of the product is the xor of bits
        // `0..=i`.
        let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, bits as i64), _mm_set1_epi8(-1), 0);
        _mm_cvtsi128_si64(product) as u64
    }

    #[inline]
    #[target_feature(enable = "bmi2")]
    fn lowest_bits_bmi2(bits: u64, count: usize) -> u64 {
        // The `count` lowest bits of a word of ones, deposited at the set bits of `bits`.
        let ones = if count >= 64 {
            u64::MAX
        } else {
            (1 << count) - 1
        };
        _pdep_u64(ones, bits)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
    fn avx512_tokens_are(block: &[u8; 64], tokens: u64, expected: &[u8; 64]) -> bool {
        // SAFETY: both own their 64 bytes; unaligned loads read exactly those.
        let (v, want) = unsafe {
            (
                _mm512_loadu_si512(block.as_ptr().cast()),
                _mm512_loadu_si512(expected.as_ptr().cast()),
            )
        };
        let zero = _mm512_set1_epi8(b'0' as i8);
        let digit = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, zero), _mm512_set1_epi8(9))
            | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'-' as i8));
        let packed = _mm512_maskz_compress_epi8(tokens, _mm512_mask_mov_epi8(v, digit, zero));
        let count = tokens.count_ones();
        let used = if count >= 64 {
            u64::MAX
        } else {
            (1 << count) - 1
        };
        _mm512_mask_cmpneq_epi8_mask(used, packed, want) == 0
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
    fn avx512_token_bytes(block: &[u8; 64], tokens: u64) -> [u8; 64] {
        // SAFETY: the block owns its 64 bytes; an unaligned load reads exactly those.
        let v = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
        let zero = _mm512_set1_epi8(b'0' as i8);
        let digit = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, zero), _mm512_set1_epi8(9))
            | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'-' as i8));
        let packed = _mm512_maskz_compress_epi8(tokens, _mm512_mask_mov_epi8(v, digit, zero));
        let mut out = [0; 64];
        // SAFETY: `out` owns 64 bytes; an unaligned store writes exactly those.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), packed) };
        out
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
    fn avx512_classes(block: &[u8; 64]) -> Classes {
        // SAFETY: the block owns its 64 bytes; an unaligned load reads exactly those.
        let v = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
        let equal = |byte: u8| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(byte as i8));
        let folded = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
        let folded_equal = |byte: u8| _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8(byte as i8));
        Classes {
            quote: equal(b'"'),
            backslash: equal(b'\\'),
            control: _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(0x20)),
            space: equal(b' '),
            punctuation: folded_equal(b'{') | folded_equal(b'}') | equal(b',') | equal(b':'),
            high: _mm512_movepi8_mask(v),
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
    fn avx512_in_range(block: &[u8; 64], low: u8, high: u8) -> u64 {
        // SAFETY: the block owns its 64 bytes; an unaligned load reads exactly those.
        let v = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
        if low == high {
            return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(low as i8));
        }
        let shifted = _mm512_sub_epi8(v, _mm512_set1_epi8(low as i8));
        _mm512_cmple_epu8_mask(shifted, _mm512_set1_epi8(high.wrapping_sub(low) as i8))
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
    fn avx512(block: &[u8; 64]) -> u64 {
        // SAFETY: the block owns its 64 bytes; an unaligned load reads exactly those.
        let v = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8))
            | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8))
            | _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(0x20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(block: &[u8; 64]) -> u64 {
        let mut mask = 0;
        for (i, &b) in block.iter().enumerate() {
            if b == b'"' || b == b'\\' || b < 0x20 {
                mask |= 1 << i;
            }
        }
        mask
    }

    fn naive_prefix_xor(bits: u64) -> u64 {
        let mut inside = false;
        (0..64).fold(0, |out, i| {
            inside ^= bits & (1 << i) != 0;
            out | (u64::from(inside) << i)
        })
    }

    fn naive_classes(block: &[u8; 64]) -> Classes {
        let bits = |class: fn(u8) -> bool| {
            (0..64).fold(0, |mask, i| mask | (u64::from(class(block[i])) << i))
        };
        Classes {
            quote: bits(|b| b == b'"'),
            backslash: bits(|b| b == b'\\'),
            control: bits(|b| b < 0x20),
            space: bits(|b| b == b' '),
            punctuation: bits(|b| b"{}[],:".contains(&b)),
            high: bits(|b| b >= 0x80),
        }
    }

    /// Every way of building the masks this CPU can run, each checked against the byte
    /// loops; with `tokens`, the packing and comparing of token bytes too.
    fn all_agree(block: &[u8; 64], tokens: bool) {
        let want = naive(block);
        let classes = naive_classes(block);
        assert_eq!(Portable.specials(block), want, "portable {block:?}");
        assert_eq!(Portable.classes(block), classes, "portable {block:?}");
        let digits = (0..64).fold(0, |mask, i| {
            mask | (u64::from(block[i].is_ascii_digit()) << i)
        });
        // The bytes the block holds, and a few it may not.
        let bytes: Vec<u8> = block
            .iter()
            .copied()
            .chain([b'0', b'n', b'u', b'l'])
            .collect();
        let equal = |byte: u8| (0..64).fold(0, |mask, i| mask | (u64::from(block[i] == byte) << i));
        assert_eq!(Portable.digits(block), digits, "portable {block:?}");
        for &byte in &bytes {
            assert_eq!(
                Portable.equal(block, byte),
                equal(byte),
                "portable {block:?} {byte}"
            );
        }
        let picks = [
            u64::MAX,
            classes.punctuation | classes.quote,
            want,
            !want,
            0,
        ];
        for tokens in picks.into_iter().filter(|_| tokens) {
            // By hand: each set bit's byte, a digit or `-` as `0`.
            let bytes: Vec<u8> = (0..64)
                .filter(|&i| tokens & (1 << i) != 0)
                .map(|i| match block[i] {
                    b'-' | b'0'..=b'9' => b'0',
                    byte => byte,
                })
                .collect();
            let packed = Portable.token_bytes(block, tokens);
            assert_eq!(packed[..bytes.len()], bytes[..], "{block:?} {tokens:x}");
            assert!(Portable.tokens_are(block, tokens, &packed));
            assert_eq!(Portable.prefix_xor(tokens), naive_prefix_xor(tokens));
            for take in 0..=bytes.len() {
                let lowest = (0..64)
                    .filter(|&i| tokens & (1 << i) != 0)
                    .take(take)
                    .fold(0, |bits, i| bits | (1 << i));
                assert_eq!(Portable.lowest_bits(tokens, take), lowest);
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(Sse2.specials(block), want, "sse2 {block:?}");
            assert_eq!(Sse2.classes(block), classes, "sse2 {block:?}");
            assert_eq!(Sse2.digits(block), digits, "sse2 {block:?}");
            for &byte in &bytes {
                assert_eq!(
                    Sse2.equal(block, byte),
                    equal(byte),
                    "sse2 {block:?} {byte}"
                );
            }
            if let Some(avx512) = Avx512::detect() {
                assert_eq!(avx512.specials(block), want, "avx512 {block:?}");
                assert_eq!(avx512.classes(block), classes, "avx512 {block:?}");
                assert_eq!(avx512.digits(block), digits, "avx512 {block:?}");
                for &byte in &bytes {
                    assert_eq!(
                        avx512.equal(block, byte),
                        equal(byte),
                        "avx512 {block:?} {byte}"
                    );
                }
                for tokens in picks.into_iter().filter(|_| tokens) {
                    let count = tokens.count_ones() as usize;
                    let bytes = Portable.token_bytes(block, tokens);
                    assert_eq!(
                        avx512.token_bytes(block, tokens)[..count],
                        bytes[..count],
                        "avx512 {block:?} {tokens:x}"
                    );
                    assert!(avx512.tokens_are(block, tokens, &bytes));
                    assert!(Portable.tokens_are(block, tokens, &bytes));
                    for i in 0..count {
                        let mut other = bytes;
                        other[i] ^= 1;
                        assert!(!avx512.tokens_are(block, tokens, &other));
                        assert!(!Portable.tokens_are(block, tokens, &other));
                    }
                    for take in 0..=count {
                        assert_eq!(
                            avx512.lowest_bits(tokens, take),
                            Portable.lowest_bits(tokens, take)
                        );
                    }
                    assert_eq!(avx512.prefix_xor(tokens), naive_prefix_xor(tokens));
                }
            }
        }
    }

    /// Every byte value at every position of a block, alone among plain bytes and among
    /// special ones (where a borrow or carry between bytes would show).
    #[test]
    fn every_byte_at_every_position() {
        for background in [b'a', b'"', 0x00, 0x1f, 0x20, 0xff, b'\\', 0x80] {
            for at in 0..64 {
                for byte in 0..=255u8 {
                    let mut block = [background; 64];
                    block[at] = byte;
                    all_agree(&block, false);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_block_agrees_with_the_byte_loop(
            bytes in prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    prop::sample::select(b"\"\\\x00\x1f\x20\x21\x5b\x5d{}[],:\x7f\x80\xe0\xff".to_vec()),
                ],
                64,
            ),
        ) {
            let block: [u8; 64] = bytes.try_into().expect("64 bytes");
            all_agree(&block, true);
        }
    }
}
