//! MD5 over many streams at once. PAR2 hashes every byte twice (each file whole, and each
//! slice), and MD5 is a serial chain a core runs at well under 1 GB/s; with AVX-512 sixteen
//! streams advance together, one per 32-bit lane, so the hashing costs a fraction of one
//! core. Streams of different lengths share the lanes: a lane whose stream ends takes the next.
//!
//! [`Md5Stream`] is also a plain MD5 (checked against the `md-5` crate in the tests).

const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

const K: [u32; 64] = {
    // floor(abs(sin(i + 1)) * 2^32), as RFC 1321 tabulates them.
    [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ]
};

const S: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/// The message word of step `i`.
const fn word(i: usize) -> usize {
    match i / 16 {
        0 => i,
        1 => (5 * i + 1) % 16,
        2 => (3 * i + 5) % 16,
        _ => (7 * i) % 16,
    }
}

/// One block, scalar.
fn compress(state: &mut [u32; 4], block: &[u8]) {
    let mut w = [0u32; 16];
    for (j, c) in block.chunks_exact(4).enumerate() {
        w[j] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for i in 0..64 {
        let f = match i / 16 {
            0 => (b & c) | (!b & d),
            1 => (b & d) | (c & !d),
            2 => b ^ c ^ d,
            _ => c ^ (b | !d),
        };
        let t = a
            .wrapping_add(f)
            .wrapping_add(K[i])
            .wrapping_add(w[word(i)]);
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(t.rotate_left(S[(i / 16) * 4 + i % 4]));
    }
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

/// An MD5 computation.
#[derive(Clone)]
pub struct Md5Stream {
    state: [u32; 4],
    len: u64,
    pending: [u8; 64],
    pending_len: usize,
}

impl Default for Md5Stream {
    fn default() -> Self {
        Md5Stream {
            state: INIT,
            len: 0,
            pending: [0; 64],
            pending_len: 0,
        }
    }
}

impl Md5Stream {
    pub fn new() -> Md5Stream {
        Md5Stream::default()
    }

    /// Takes bytes up to a block boundary into the pending block; returns the rest, whose
    /// whole blocks may go straight to compression.
    fn absorb_head<'a>(&mut self, mut data: &'a [u8]) -> &'a [u8] {
        self.len += data.len() as u64;
        if self.pending_len > 0 {
            let take = (64 - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len == 64 {
                let block = self.pending;
                compress(&mut self.state, &block);
                self.pending_len = 0;
            }
        }
        data
    }

    fn keep_tail(&mut self, tail: &[u8]) {
        if tail.is_empty() {
            // Nothing left over: a partly filled pending block stays as it is.
            return;
        }
        debug_assert_eq!(self.pending_len, 0);
        self.pending[..tail.len()].copy_from_slice(tail);
        self.pending_len = tail.len();
    }

    pub fn update(&mut self, data: &[u8]) {
        let data = self.absorb_head(data);
        let whole = data.len() / 64 * 64;
        for b in data[..whole].chunks_exact(64) {
            compress(&mut self.state, b);
        }
        self.keep_tail(&data[whole..]);
    }

    pub fn finalize(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8);
        let mut pad = vec![0x80u8];
        let rest = (self.pending_len + 1) % 64;
        pad.extend(std::iter::repeat_n(
            0u8,
            if rest <= 56 { 56 - rest } else { 120 - rest },
        ));
        pad.extend_from_slice(&bits.to_le_bytes());
        let len = self.len;
        self.update(&pad);
        self.len = len;
        debug_assert_eq!(self.pending_len, 0);
        let mut out = [0u8; 16];
        for (i, s) in self.state.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&s.to_le_bytes());
        }
        out
    }
}

/// Feeds each stream its pieces of data, in order; the streams advance together on SIMD
/// lanes where the CPU has AVX-512.
pub fn update_many(jobs: &mut [(&mut Md5Stream, Vec<&[u8]>)]) {
    #[cfg(target_arch = "x86_64")]
    {
        if jobs.len() > 1 && crate::gf16::kernel() == crate::gf16::Kernel::Gfni512 {
            // SAFETY: Gfni512 is chosen only where AVX-512 F and BW run.
            unsafe { lanes::update_many_avx512(jobs) };
            return;
        }
    }
    for (s, pieces) in jobs.iter_mut() {
        for p in pieces {
            s.update(p);
        }
    }
}

/// The MD5 of each buffer, side by side.
pub fn md5_many(bufs: &[&[u8]]) -> Vec<[u8; 16]> {
    let mut streams: Vec<Md5Stream> = bufs.iter().map(|_| Md5Stream::new()).collect();
    let mut jobs: Vec<(&mut Md5Stream, Vec<&[u8]>)> = streams
        .iter_mut()
        .zip(bufs)
        .map(|(s, b)| (s, vec![*b]))
        .collect();
    update_many(&mut jobs);
    drop(jobs);
    streams.into_iter().map(Md5Stream::finalize).collect()
}

#[cfg(target_arch = "x86_64")]
mod lanes {
    use super::{word, Md5Stream, K, S};
    use std::arch::x86_64::*;

    /// A stream's whole blocks, piece by piece.
    struct Work<'a> {
        job: usize,
        pieces: Vec<&'a [u8]>,
        piece: usize,
        at: usize,
    }

    impl Work<'_> {
        fn next_block(&mut self) -> Option<*const u8> {
            while self.piece < self.pieces.len() {
                let p = self.pieces[self.piece];
                if self.at + 64 <= p.len() {
                    let ptr = p[self.at..].as_ptr();
                    self.at += 64;
                    return Some(ptr);
                }
                self.piece += 1;
                self.at = 0;
            }
            None
        }
    }

    // The round functions as VPTERNLOGD immediates over (b, c, d): bit (b << 2 | c << 1 | d)
    // of the immediate is the function's value there (checked against the scalar MD5 in the
    // tests).
    /// (b & c) | (!b & d)
    const F: i32 = 0xCA;
    /// (b & d) | (c & !d)
    const G: i32 = 0xE4;
    /// b ^ c ^ d
    const H: i32 = 0x96;
    /// c ^ (b | !d)
    const I: i32 = 0x39;

    #[target_feature(enable = "avx512f")]
    unsafe fn transpose(r: &[__m512i; 16]) -> [__m512i; 16] {
        let mut t = [_mm512_setzero_si512(); 16];
        for k in 0..8 {
            t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
        }
        // u[g][c]: in 128-bit lane l, column 4l + c of rows 4g..4g+3.
        let mut u = [[_mm512_setzero_si512(); 4]; 4];
        for g in 0..4 {
            let (lo01, hi01, lo23, hi23) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
            u[g][0] = _mm512_unpacklo_epi64(lo01, lo23);
            u[g][1] = _mm512_unpackhi_epi64(lo01, lo23);
            u[g][2] = _mm512_unpacklo_epi64(hi01, hi23);
            u[g][3] = _mm512_unpackhi_epi64(hi01, hi23);
        }
        let mut w = [_mm512_setzero_si512(); 16];
        for c in 0..4 {
            let v = _mm512_shuffle_i32x4::<0x44>(u[0][c], u[1][c]);
            let x = _mm512_shuffle_i32x4::<0x44>(u[2][c], u[3][c]);
            let y = _mm512_shuffle_i32x4::<0xEE>(u[0][c], u[1][c]);
            let z = _mm512_shuffle_i32x4::<0xEE>(u[2][c], u[3][c]);
            w[c] = _mm512_shuffle_i32x4::<0x88>(v, x);
            w[4 + c] = _mm512_shuffle_i32x4::<0xDD>(v, x);
            w[8 + c] = _mm512_shuffle_i32x4::<0x88>(y, z);
            w[12 + c] = _mm512_shuffle_i32x4::<0xDD>(y, z);
        }
        w
    }

    macro_rules! step {
        ($a:ident, $b:ident, $c:ident, $d:ident, $f:expr, $i:expr, $w:ident) => {{
            let f = _mm512_ternarylogic_epi32::<{ $f }>($b, $c, $d);
            let t = _mm512_add_epi32(
                _mm512_add_epi32($a, f),
                _mm512_add_epi32(_mm512_set1_epi32(K[$i] as i32), $w[word($i)]),
            );
            let r = _mm512_rolv_epi32(t, _mm512_set1_epi32(S[($i / 16) * 4 + $i % 4] as i32));
            $a = _mm512_add_epi32($b, r);
        }};
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn update_many_avx512(jobs: &mut [(&mut Md5Stream, Vec<&[u8]>)]) {
        // Each stream: fill its pending block first; its whole blocks go to the lanes; what is
        // left of its last piece waits in its pending block.
        let mut work: Vec<Work> = Vec::new();
        let mut tails: Vec<Option<&[u8]>> = vec![None; jobs.len()];
        let mut scalar: Vec<usize> = Vec::new();
        for (j, (s, pieces)) in jobs.iter_mut().enumerate() {
            // A piece that does not end on a block boundary can only be the last one.
            if pieces.iter().rev().skip(1).any(|p| p.len() % 64 != 0) || s.pending_len > 0 {
                scalar.push(j);
                continue;
            }
            let mut whole = Vec::new();
            for (n, p) in pieces.iter().enumerate() {
                s.len += p.len() as u64;
                let w = p.len() / 64 * 64;
                whole.push(&p[..w]);
                if n + 1 == pieces.len() {
                    tails[j] = Some(&p[w..]);
                }
            }
            work.push(Work {
                job: j,
                pieces: whole,
                piece: 0,
                at: 0,
            });
        }
        for j in scalar {
            let (s, pieces) = &mut jobs[j];
            for p in pieces.iter() {
                s.update(p);
            }
        }
        let zero = [0u8; 64];
        let mut queue = work.into_iter();
        let mut lane: [Option<Work>; 16] = Default::default();
        let mut st = [[0u32; 16]; 4];
        loop {
            // Refill free lanes; gather one block per lane.
            let mut rows = [_mm512_setzero_si512(); 16];
            let mut active = 0u16;
            for (l, slot) in lane.iter_mut().enumerate() {
                loop {
                    if slot.is_none() {
                        match queue.next() {
                            Some(w) => {
                                let s = &jobs[w.job].0.state;
                                for (i, v) in s.iter().enumerate() {
                                    st[i][l] = *v;
                                }
                                *slot = Some(w);
                            }
                            None => break,
                        }
                    }
                    let w = slot.as_mut().unwrap();
                    match w.next_block() {
                        Some(p) => {
                            rows[l] = _mm512_loadu_si512(p.cast());
                            active |= 1 << l;
                            break;
                        }
                        None => {
                            let s = &mut jobs[w.job].0.state;
                            for (i, v) in s.iter_mut().enumerate() {
                                *v = st[i][l];
                            }
                            *slot = None;
                        }
                    }
                }
                if active & (1 << l) == 0 {
                    rows[l] = _mm512_loadu_si512(zero.as_ptr().cast());
                }
            }
            if active == 0 {
                break;
            }
            let w = transpose(&rows);
            let (a0, b0, c0, d0) = (
                _mm512_loadu_si512(st[0].as_ptr().cast()),
                _mm512_loadu_si512(st[1].as_ptr().cast()),
                _mm512_loadu_si512(st[2].as_ptr().cast()),
                _mm512_loadu_si512(st[3].as_ptr().cast()),
            );
            let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
            step!(a, b, c, d, F, 0, w);
            step!(d, a, b, c, F, 1, w);
            step!(c, d, a, b, F, 2, w);
            step!(b, c, d, a, F, 3, w);
            step!(a, b, c, d, F, 4, w);
            step!(d, a, b, c, F, 5, w);
            step!(c, d, a, b, F, 6, w);
            step!(b, c, d, a, F, 7, w);
            step!(a, b, c, d, F, 8, w);
            step!(d, a, b, c, F, 9, w);
            step!(c, d, a, b, F, 10, w);
            step!(b, c, d, a, F, 11, w);
            step!(a, b, c, d, F, 12, w);
            step!(d, a, b, c, F, 13, w);
            step!(c, d, a, b, F, 14, w);
            step!(b, c, d, a, F, 15, w);
            step!(a, b, c, d, G, 16, w);
            step!(d, a, b, c, G, 17, w);
            step!(c, d, a, b, G, 18, w);
            step!(b, c, d, a, G, 19, w);
            step!(a, b, c, d, G, 20, w);
            step!(d, a, b, c, G, 21, w);
            step!(c, d, a, b, G, 22, w);
            step!(b, c, d, a, G, 23, w);
            step!(a, b, c, d, G, 24, w);
            step!(d, a, b, c, G, 25, w);
            step!(c, d, a, b, G, 26, w);
            step!(b, c, d, a, G, 27, w);
            step!(a, b, c, d, G, 28, w);
            step!(d, a, b, c, G, 29, w);
            step!(c, d, a, b, G, 30, w);
            step!(b, c, d, a, G, 31, w);
            step!(a, b, c, d, H, 32, w);
            step!(d, a, b, c, H, 33, w);
            step!(c, d, a, b, H, 34, w);
            step!(b, c, d, a, H, 35, w);
            step!(a, b, c, d, H, 36, w);
            step!(d, a, b, c, H, 37, w);
            step!(c, d, a, b, H, 38, w);
            step!(b, c, d, a, H, 39, w);
            step!(a, b, c, d, H, 40, w);
            step!(d, a, b, c, H, 41, w);
            step!(c, d, a, b, H, 42, w);
            step!(b, c, d, a, H, 43, w);
            step!(a, b, c, d, H, 44, w);
            step!(d, a, b, c, H, 45, w);
            step!(c, d, a, b, H, 46, w);
            step!(b, c, d, a, H, 47, w);
            step!(a, b, c, d, I, 48, w);
            step!(d, a, b, c, I, 49, w);
            step!(c, d, a, b, I, 50, w);
            step!(b, c, d, a, I, 51, w);
            step!(a, b, c, d, I, 52, w);
            step!(d, a, b, c, I, 53, w);
            step!(c, d, a, b, I, 54, w);
            step!(b, c, d, a, I, 55, w);
            step!(a, b, c, d, I, 56, w);
            step!(d, a, b, c, I, 57, w);
            step!(c, d, a, b, I, 58, w);
            step!(b, c, d, a, I, 59, w);
            step!(a, b, c, d, I, 60, w);
            step!(d, a, b, c, I, 61, w);
            step!(c, d, a, b, I, 62, w);
            step!(b, c, d, a, I, 63, w);
            // Only active lanes take the block.
            let m: __mmask16 = active;
            let out = [
                _mm512_mask_add_epi32(a0, m, a0, a),
                _mm512_mask_add_epi32(b0, m, b0, b),
                _mm512_mask_add_epi32(c0, m, c0, c),
                _mm512_mask_add_epi32(d0, m, d0, d),
            ];
            for (i, v) in out.iter().enumerate() {
                _mm512_storeu_si512(st[i].as_mut_ptr().cast(), *v);
            }
        }
        for (j, t) in tails.into_iter().enumerate() {
            if let Some(t) = t {
                jobs[j].0.keep_tail(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    fn data(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn one_stream_matches_md5() {
        for n in [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 4096] {
            let d = data(n, 7);
            let mut s = Md5Stream::new();
            let (x, y) = d.split_at(n / 3);
            s.update(x);
            s.update(y);
            assert_eq!(s.finalize(), <[u8; 16]>::from(Md5::digest(&d)), "{n}");
        }
    }

    #[test]
    fn many_streams_of_many_lengths_match_md5() {
        let bufs: Vec<Vec<u8>> = (0..37)
            .map(|i| data(i * 997 + (i % 3) * 64, i as u8))
            .collect();
        let mut streams: Vec<Md5Stream> = (0..bufs.len()).map(|_| Md5Stream::new()).collect();
        // A stream fed in two pieces, the first of whole blocks; another starting mid-block.
        streams[5].update(b"abc");
        {
            let mut jobs: Vec<(&mut Md5Stream, Vec<&[u8]>)> = streams
                .iter_mut()
                .zip(&bufs)
                .map(|(s, b)| {
                    let cut = b.len() / 128 * 64;
                    (s, vec![&b[..cut], &b[cut..]])
                })
                .collect();
            update_many(&mut jobs);
        }
        for (i, (s, b)) in streams.into_iter().zip(&bufs).enumerate() {
            let mut want = Md5::new();
            if i == 5 {
                want.update(b"abc");
            }
            want.update(b);
            assert_eq!(
                s.finalize(),
                <[u8; 16]>::from(want.finalize()),
                "stream {i}"
            );
        }
    }
}
