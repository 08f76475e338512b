//! GF(2^16) as PAR2 2.0 defines it: the polynomial x^16 + x^12 + x^3 + x + 1 (0x1100B),
//! generator 2; data are little-endian 16-bit words.
//!
//! The kernels multiply a buffer by a constant and add (XOR) it into another. They work on
//! buffers in *split layout*: blocks of 128 bytes holding 64 words, the 64 low bytes first, then
//! the 64 high bytes. In that layout a multiplication by a constant is, per byte vector, either
//! four GF(2) 8×8 bit-matrix products (`GF2P8AFFINEQB`, AVX-512 + GFNI) or eight 16-entry table
//! lookups (`PSHUFB`, AVX2). [`to_split`] and [`from_split`] convert from and to the words of a
//! file; a slice is converted once, then multiplied into every recovery slice.

use std::sync::OnceLock;

pub const POLY: u32 = 0x1100B;
/// Bytes of one block of the split layout.
pub const BLOCK: usize = 128;

struct Tables {
    exp: Vec<u16>,
    log: Vec<u16>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut exp = vec![0u16; 65536 * 2];
        let mut log = vec![0u16; 65536];
        let mut x: u32 = 1;
        for (i, e) in exp.iter_mut().enumerate().take(65535) {
            *e = x as u16;
            log[x as usize] = i as u16;
            x <<= 1;
            if x & 0x10000 != 0 {
                x ^= POLY;
            }
        }
        for i in 65535..exp.len() {
            exp[i] = exp[i - 65535];
        }
        Tables { exp, log }
    })
}

/// a · b
pub fn mul(a: u16, b: u16) -> u16 {
    if a == 0 || b == 0 {
        return 0;
    }
    let t = tables();
    t.exp[t.log[a as usize] as usize + t.log[b as usize] as usize]
}

/// 2^n
pub fn exp(n: u32) -> u16 {
    tables().exp[(n % 65535) as usize]
}

/// a^e
pub fn pow(a: u16, e: u32) -> u16 {
    if a == 0 {
        return if e == 0 { 1 } else { 0 };
    }
    let t = tables();
    t.exp[((t.log[a as usize] as u64 * e as u64) % 65535) as usize]
}

/// 1 / a (a ≠ 0)
pub fn inv(a: u16) -> u16 {
    assert!(a != 0, "0 has no inverse");
    let t = tables();
    t.exp[(65535 - t.log[a as usize] as usize) % 65535]
}

/// The PAR2 constants of the input slices: the `i`-th input slice is multiplied by
/// `2^n_i`, n_i being the i-th positive integer coprime to 65535 (not a multiple of 3, 5, 17
/// or 257). Returns the logarithms n_i.
pub fn input_log_constants(count: usize) -> Vec<u32> {
    (1u32..)
        .filter(|n| n % 3 != 0 && n % 5 != 0 && n % 17 != 0 && n % 257 != 0)
        .take(count)
        .collect()
}

/// The coefficient of input slice `i` (log constant `n`) in recovery slice `exponent`:
/// (2^n)^exponent.
pub fn coefficient(log_constant: u32, exponent: u32) -> u16 {
    exp(((log_constant as u64 * exponent as u64) % 65535) as u32)
}

/// a · x (the generator 2), reduced.
fn times_x(a: u16) -> u16 {
    let t = (a as u32) << 1;
    (if t & 0x10000 != 0 { t ^ POLY } else { t }) as u16
}

/// A constant prepared for a kernel (only what that kernel needs is computed: a set can need
/// millions of them).
#[derive(Clone)]
pub struct Coeff {
    pub value: u16,
    tables: CoeffTables,
}

#[derive(Clone)]
enum CoeffTables {
    /// product = lo[w & 0xff] ^ hi[w >> 8]
    Portable(Box<([u16; 256], [u16; 256])>),
    /// PSHUFB tables: c · (n << 4k) for n in 0..16, low bytes and high bytes, k = 0..4.
    Nibbles([[u8; 16]; 8]),
    /// GF2P8AFFINEQB matrices: lo→lo, hi→lo, lo→hi, hi→hi. Row i of a matrix (output bit i)
    /// is byte 7 − i of its qword; bit j of a row is the weight of input bit j.
    Affine([u64; 4]),
}

impl Coeff {
    pub fn new(c: u16) -> Coeff {
        Self::for_kernel(kernel(), c)
    }

    /// For kernel `k`, or the portable one when this CPU cannot run `k`.
    pub fn for_kernel(k: Kernel, c: u16) -> Coeff {
        let k = match (k, best_kernel()) {
            (Kernel::Gfni512, Kernel::Gfni512) => Kernel::Gfni512,
            (Kernel::Avx2, Kernel::Gfni512 | Kernel::Avx2) => Kernel::Avx2,
            _ => Kernel::Portable,
        };
        // cols[j] = c · x^j: the images of the 16 input bits.
        let mut cols = [0u16; 16];
        let mut v = c;
        for col in cols.iter_mut() {
            *col = v;
            v = times_x(v);
        }
        let linear = |w: u16| -> u16 {
            let mut r = 0;
            for (j, col) in cols.iter().enumerate() {
                if w >> j & 1 == 1 {
                    r ^= col;
                }
            }
            r
        };
        let tables = match k {
            Kernel::Portable => {
                let mut lo = [0u16; 256];
                let mut hi = [0u16; 256];
                for b in 0..256u16 {
                    lo[b as usize] = linear(b);
                    hi[b as usize] = linear(b << 8);
                }
                CoeffTables::Portable(Box::new((lo, hi)))
            }
            Kernel::Avx2 => {
                let mut t = [[0u8; 16]; 8];
                for k in 0..4 {
                    for n in 0..16u16 {
                        let v = linear(n << (4 * k));
                        t[k][n as usize] = v as u8;
                        t[4 + k][n as usize] = (v >> 8) as u8;
                    }
                }
                CoeffTables::Nibbles(t)
            }
            Kernel::Gfni512 => {
                let matrix = |from: usize, to: usize| -> u64 {
                    let mut m = 0u64;
                    for i in 0..8 {
                        let mut row = 0u8;
                        for j in 0..8 {
                            row |= (((cols[j + from] >> (i + to)) & 1) as u8) << j;
                        }
                        m |= (row as u64) << (8 * (7 - i));
                    }
                    m
                };
                CoeffTables::Affine([matrix(0, 0), matrix(8, 0), matrix(0, 8), matrix(8, 8)])
            }
        };
        Coeff { value: c, tables }
    }

    pub fn kernel(&self) -> Kernel {
        match self.tables {
            CoeffTables::Portable(_) => Kernel::Portable,
            CoeffTables::Nibbles(_) => Kernel::Avx2,
            CoeffTables::Affine(_) => Kernel::Gfni512,
        }
    }
}

/// Converts little-endian words into split layout; `dst` is `src.len()` rounded up to a
/// whole block, the tail zero.
pub fn to_split(src: &[u8], dst: &mut [u8]) {
    assert!(dst.len().is_multiple_of(BLOCK) && dst.len() >= src.len());
    let mut first = 0;
    #[cfg(target_arch = "x86_64")]
    if vbmi() {
        let whole = src.len() / BLOCK;
        // SAFETY: AVX-512 VBMI checked; `whole` blocks lie in both buffers.
        unsafe { x86::to_split_vbmi(&src[..whole * BLOCK], &mut dst[..whole * BLOCK]) };
        first = whole;
    }
    for (b, out) in dst.chunks_exact_mut(BLOCK).enumerate().skip(first) {
        let start = b * BLOCK;
        let (lo, hi) = out.split_at_mut(64);
        if start + BLOCK <= src.len() {
            let s = &src[start..start + BLOCK];
            for j in 0..64 {
                lo[j] = s[2 * j];
                hi[j] = s[2 * j + 1];
            }
        } else {
            for j in 0..64 {
                lo[j] = src.get(start + 2 * j).copied().unwrap_or(0);
                hi[j] = src.get(start + 2 * j + 1).copied().unwrap_or(0);
            }
        }
    }
}

/// Converts split layout back into little-endian words (`dst.len()` bytes of it).
pub fn from_split(src: &[u8], dst: &mut [u8]) {
    assert!(src.len().is_multiple_of(BLOCK) && src.len() >= dst.len());
    let mut first = 0;
    #[cfg(target_arch = "x86_64")]
    if vbmi() {
        let whole = dst.len() / BLOCK;
        // SAFETY: AVX-512 VBMI checked; `whole` blocks lie in both buffers.
        unsafe { x86::from_split_vbmi(&src[..whole * BLOCK], &mut dst[..whole * BLOCK]) };
        first = whole;
    }
    for (b, blk) in src.chunks_exact(BLOCK).enumerate().skip(first) {
        let start = b * BLOCK;
        if start >= dst.len() {
            break;
        }
        let (lo, hi) = blk.split_at(64);
        let n = (dst.len() - start).min(BLOCK);
        let d = &mut dst[start..start + n];
        for j in 0..n / 2 {
            d[2 * j] = lo[j];
            d[2 * j + 1] = hi[j];
        }
        if n % 2 == 1 {
            d[n - 1] = lo[n / 2];
        }
    }
}

/// Byte permutes for the layout conversions (AVX-512 VBMI).
#[cfg(target_arch = "x86_64")]
fn vbmi() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| {
        is_x86_feature_detected!("avx512vbmi")
            && is_x86_feature_detected!("avx512f")
            && std::env::var("DISCVAULT_PAR2_KERNEL").as_deref() != Ok("portable")
    })
}

/// Which kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Portable,
    Avx2,
    Gfni512,
}

/// The fastest kernel this CPU runs (`DISCVAULT_PAR2_KERNEL=portable|avx2|gfni` forces one,
/// for tests and benchmarks).
pub fn kernel() -> Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    *K.get_or_init(|| {
        let best = best_kernel();
        match std::env::var("DISCVAULT_PAR2_KERNEL").as_deref() {
            Ok("portable") => Kernel::Portable,
            Ok("avx2") if best != Kernel::Portable => Kernel::Avx2,
            Ok("gfni") if best == Kernel::Gfni512 => Kernel::Gfni512,
            _ => best,
        }
    })
}

fn best_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("gfni")
        {
            return Kernel::Gfni512;
        }
        if is_x86_feature_detected!("avx2") {
            return Kernel::Avx2;
        }
    }
    Kernel::Portable
}

/// dst ^= c · src, both in split layout, of equal length (whole blocks), with the kernel the
/// coefficient was prepared for.
pub fn mul_add(dst: &mut [u8], src: &[u8], c: &Coeff) {
    assert_eq!(dst.len(), src.len());
    assert_eq!(dst.len() % BLOCK, 0);
    if c.value == 0 {
        return;
    }
    match &c.tables {
        // SAFETY: a coefficient is prepared for a SIMD kernel only when the CPU runs it
        // (`Coeff::for_kernel` checks).
        #[cfg(target_arch = "x86_64")]
        CoeffTables::Affine(m) => unsafe { x86::mul_add_gfni(dst, src, m) },
        #[cfg(target_arch = "x86_64")]
        CoeffTables::Nibbles(t) => unsafe { x86::mul_add_avx2(dst, src, t) },
        CoeffTables::Portable(t) => mul_add_portable(dst, src, &t.0, &t.1),
        #[allow(unreachable_patterns)]
        _ => unreachable!("SIMD coefficient on another architecture"),
    }
}

/// dst ^= Σ c_i · src_i over up to four sources at once (the destination is loaded and
/// stored once for all of them).
pub fn mul_add_multi(dst: &mut [u8], srcs: &[&[u8]], cs: &[&Coeff]) {
    assert_eq!(srcs.len(), cs.len());
    #[cfg(target_arch = "x86_64")]
    if srcs.len() == 4 {
        if let [CoeffTables::Affine(a), CoeffTables::Affine(b), CoeffTables::Affine(c), CoeffTables::Affine(d)] =
            [&cs[0].tables, &cs[1].tables, &cs[2].tables, &cs[3].tables]
        {
            for s in srcs {
                assert_eq!(s.len(), dst.len());
            }
            assert_eq!(dst.len() % BLOCK, 0);
            // SAFETY: affine coefficients exist only where AVX-512 and GFNI run.
            unsafe { x86::mul_add4_gfni(dst, [srcs[0], srcs[1], srcs[2], srcs[3]], [a, b, c, d]) };
            return;
        }
    }
    for (s, c) in srcs.iter().zip(cs) {
        mul_add(dst, s, c);
    }
}

fn mul_add_portable(dst: &mut [u8], src: &[u8], tlo: &[u16; 256], thi: &[u16; 256]) {
    for (d, s) in dst.chunks_exact_mut(BLOCK).zip(src.chunks_exact(BLOCK)) {
        let (dlo, dhi) = d.split_at_mut(64);
        let (slo, shi) = s.split_at(64);
        for j in 0..64 {
            let p = tlo[slo[j] as usize] ^ thi[shi[j] as usize];
            dlo[j] ^= p as u8;
            dhi[j] ^= (p >> 8) as u8;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::BLOCK;
    use std::arch::x86_64::*;

    fn index(f: impl Fn(usize) -> u8) -> [u8; 64] {
        std::array::from_fn(f)
    }

    #[target_feature(enable = "avx512f,avx512vbmi")]
    pub unsafe fn to_split_vbmi(src: &[u8], dst: &mut [u8]) {
        let even = index(|j| (2 * j) as u8);
        let odd = index(|j| (2 * j + 1) as u8);
        let even = _mm512_loadu_si512(even.as_ptr().cast());
        let odd = _mm512_loadu_si512(odd.as_ptr().cast());
        for (s, d) in src.chunks_exact(BLOCK).zip(dst.chunks_exact_mut(BLOCK)) {
            let a = _mm512_loadu_si512(s.as_ptr().cast());
            let b = _mm512_loadu_si512(s.as_ptr().add(64).cast());
            _mm512_storeu_si512(d.as_mut_ptr().cast(), _mm512_permutex2var_epi8(a, even, b));
            _mm512_storeu_si512(
                d.as_mut_ptr().add(64).cast(),
                _mm512_permutex2var_epi8(a, odd, b),
            );
        }
    }

    #[target_feature(enable = "avx512f,avx512vbmi")]
    pub unsafe fn from_split_vbmi(src: &[u8], dst: &mut [u8]) {
        // Output byte 2j is low byte j, 2j + 1 high byte j (index 64 + j).
        let first = index(|i| (if i % 2 == 0 { i / 2 } else { 64 + i / 2 }) as u8);
        let second = index(|i| (if i % 2 == 0 { 32 + i / 2 } else { 96 + i / 2 }) as u8);
        let first = _mm512_loadu_si512(first.as_ptr().cast());
        let second = _mm512_loadu_si512(second.as_ptr().cast());
        for (s, d) in src.chunks_exact(BLOCK).zip(dst.chunks_exact_mut(BLOCK)) {
            let lo = _mm512_loadu_si512(s.as_ptr().cast());
            let hi = _mm512_loadu_si512(s.as_ptr().add(64).cast());
            _mm512_storeu_si512(
                d.as_mut_ptr().cast(),
                _mm512_permutex2var_epi8(lo, first, hi),
            );
            _mm512_storeu_si512(
                d.as_mut_ptr().add(64).cast(),
                _mm512_permutex2var_epi8(lo, second, hi),
            );
        }
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn mul_add_avx2(dst: &mut [u8], src: &[u8], tab: &[[u8; 16]; 8]) {
        let t = |a: &[u8; 16]| _mm256_broadcastsi128_si256(_mm_loadu_si128(a.as_ptr().cast()));
        let (l0, l1, l2, l3) = (t(&tab[0]), t(&tab[1]), t(&tab[2]), t(&tab[3]));
        let (h0, h1, h2, h3) = (t(&tab[4]), t(&tab[5]), t(&tab[6]), t(&tab[7]));
        let mask = _mm256_set1_epi8(0x0f);
        let n = dst.len() / BLOCK;
        let (dp, sp) = (dst.as_mut_ptr(), src.as_ptr());
        for b in 0..n {
            for half in 0..2 {
                let lo_off = b * BLOCK + half * 32;
                let hi_off = lo_off + 64;
                let slo = _mm256_loadu_si256(sp.add(lo_off).cast());
                let shi = _mm256_loadu_si256(sp.add(hi_off).cast());
                let n0 = _mm256_and_si256(slo, mask);
                let n1 = _mm256_and_si256(_mm256_srli_epi16(slo, 4), mask);
                let n2 = _mm256_and_si256(shi, mask);
                let n3 = _mm256_and_si256(_mm256_srli_epi16(shi, 4), mask);
                let rlo = _mm256_xor_si256(
                    _mm256_xor_si256(_mm256_shuffle_epi8(l0, n0), _mm256_shuffle_epi8(l1, n1)),
                    _mm256_xor_si256(_mm256_shuffle_epi8(l2, n2), _mm256_shuffle_epi8(l3, n3)),
                );
                let rhi = _mm256_xor_si256(
                    _mm256_xor_si256(_mm256_shuffle_epi8(h0, n0), _mm256_shuffle_epi8(h1, n1)),
                    _mm256_xor_si256(_mm256_shuffle_epi8(h2, n2), _mm256_shuffle_epi8(h3, n3)),
                );
                let dlo = dp.add(lo_off).cast::<__m256i>();
                let dhi = dp.add(hi_off).cast::<__m256i>();
                _mm256_storeu_si256(dlo, _mm256_xor_si256(_mm256_loadu_si256(dlo), rlo));
                _mm256_storeu_si256(dhi, _mm256_xor_si256(_mm256_loadu_si256(dhi), rhi));
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub unsafe fn mul_add4_gfni(dst: &mut [u8], src: [&[u8]; 4], m: [&[u64; 4]; 4]) {
        let mats: [[__m512i; 4]; 4] = m.map(|x| x.map(|v| _mm512_set1_epi64(v as i64)));
        let n = dst.len() / BLOCK;
        let dp = dst.as_mut_ptr();
        let sp = src.map(|s| s.as_ptr());
        for b in 0..n {
            let off = b * BLOCK;
            let dlo = dp.add(off).cast::<__m512i>();
            let dhi = dp.add(off + 64).cast::<__m512i>();
            let mut lo = _mm512_loadu_si512(dlo);
            let mut hi = _mm512_loadu_si512(dhi);
            for i in 0..4 {
                let slo = _mm512_loadu_si512(sp[i].add(off).cast());
                let shi = _mm512_loadu_si512(sp[i].add(off + 64).cast());
                lo = _mm512_ternarylogic_epi64::<0x96>(
                    lo,
                    _mm512_gf2p8affine_epi64_epi8::<0>(slo, mats[i][0]),
                    _mm512_gf2p8affine_epi64_epi8::<0>(shi, mats[i][1]),
                );
                hi = _mm512_ternarylogic_epi64::<0x96>(
                    hi,
                    _mm512_gf2p8affine_epi64_epi8::<0>(slo, mats[i][2]),
                    _mm512_gf2p8affine_epi64_epi8::<0>(shi, mats[i][3]),
                );
            }
            _mm512_storeu_si512(dlo, lo);
            _mm512_storeu_si512(dhi, hi);
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub unsafe fn mul_add_gfni(dst: &mut [u8], src: &[u8], m: &[u64; 4]) {
        let ll = _mm512_set1_epi64(m[0] as i64);
        let hl = _mm512_set1_epi64(m[1] as i64);
        let lh = _mm512_set1_epi64(m[2] as i64);
        let hh = _mm512_set1_epi64(m[3] as i64);
        let n = dst.len() / BLOCK;
        let (dp, sp) = (dst.as_mut_ptr(), src.as_ptr());
        for b in 0..n {
            let off = b * BLOCK;
            let slo = _mm512_loadu_si512(sp.add(off).cast());
            let shi = _mm512_loadu_si512(sp.add(off + 64).cast());
            let rlo = _mm512_xor_si512(
                _mm512_gf2p8affine_epi64_epi8::<0>(slo, ll),
                _mm512_gf2p8affine_epi64_epi8::<0>(shi, hl),
            );
            let rhi = _mm512_xor_si512(
                _mm512_gf2p8affine_epi64_epi8::<0>(slo, lh),
                _mm512_gf2p8affine_epi64_epi8::<0>(shi, hh),
            );
            let dlo = dp.add(off).cast::<__m512i>();
            let dhi = dp.add(off + 64).cast::<__m512i>();
            _mm512_storeu_si512(dlo, _mm512_xor_si512(_mm512_loadu_si512(dlo), rlo));
            _mm512_storeu_si512(dhi, _mm512_xor_si512(_mm512_loadu_si512(dhi), rhi));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Carry-less multiplication reduced by the polynomial: the definition.
    fn slow_mul(a: u16, b: u16) -> u16 {
        let mut r: u32 = 0;
        for i in 0..16 {
            if b >> i & 1 == 1 {
                r ^= (a as u32) << i;
            }
        }
        for i in (16..32).rev() {
            if r >> i & 1 == 1 {
                r ^= POLY << (i - 16);
            }
        }
        r as u16
    }

    #[test]
    fn field_arithmetic_matches_the_definition() {
        let mut x = 0x1234u16;
        for _ in 0..2000 {
            x = x.wrapping_mul(31).wrapping_add(7);
            let y = x.rotate_left(5) ^ 0x9e37;
            assert_eq!(mul(x, y), slow_mul(x, y), "{x} {y}");
            if x != 0 {
                assert_eq!(mul(x, inv(x)), 1);
            }
        }
        assert_eq!(exp(16), slow_mul(exp(8), exp(8)));
        assert_eq!(pow(3, 65535), 1);
        // 2 generates the whole group.
        assert_eq!((1..65535).filter(|&n| exp(n) == 1).count(), 0);
        let c = input_log_constants(8);
        assert_eq!(c, [1, 2, 4, 7, 8, 11, 13, 14]);
    }

    #[test]
    fn every_kernel_matches_word_by_word_multiplication() {
        let words: Vec<u8> = (0..1000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let mut split = vec![0u8; 1024];
        to_split(&words, &mut split);
        let mut back = vec![0u8; 1000];
        from_split(&split, &mut back);
        assert_eq!(back, words);
        for c in [1u16, 2, 0x8000, 0x1234, 0xffff, 0x100b] {
            let mut expect = vec![0u8; 1000];
            for j in 0..500 {
                let w = u16::from_le_bytes([words[2 * j], words[2 * j + 1]]);
                let p = mul(c, w) ^ 0x5a5a;
                expect[2 * j..2 * j + 2].copy_from_slice(&p.to_le_bytes());
            }
            let mut kernels = vec![Kernel::Portable];
            if best_kernel() != Kernel::Portable {
                kernels.push(Kernel::Avx2);
            }
            if best_kernel() == Kernel::Gfni512 {
                kernels.push(Kernel::Gfni512);
            }
            for k in kernels {
                let mut acc = vec![0u8; 1024];
                let mut init = vec![0u8; 1000];
                for j in 0..500 {
                    init[2 * j..2 * j + 2].copy_from_slice(&0x5a5au16.to_le_bytes());
                }
                to_split(&init, &mut acc);
                let coeff = Coeff::for_kernel(k, c);
                assert_eq!(coeff.kernel(), k);
                mul_add(&mut acc, &split, &coeff);
                let mut got = vec![0u8; 1000];
                from_split(&acc, &mut got);
                assert_eq!(got, expect, "{k:?} c={c:#x}");
            }
        }
    }
}
