//! The one computation of PAR2: output slices that are linear combinations of input slices,
//! `out[o] = Σ_k coeff(k, o) · in[k]` over GF(2^16). Creating computes recovery slices from the
//! files' slices; repairing computes lost slices from the intact ones and the recovery slices.
//!
//! Memory is bounded: the outputs are computed a column range at a time (the same byte range of
//! every slice), as many ranges as the limit needs; inputs are read in batches of that range.
//! While a batch is combined on every core, a hook sees its bytes (creating hashes them when a
//! range covers whole slices, so the input is read once).

use crate::gf16::{self, Coeff, BLOCK};
use crate::Result;
use rayon::prelude::*;
use std::ops::Range;

/// Inputs per batch: each output column is loaded and stored once per batch.
const BATCH: usize = 8;
/// Width of the column chunk one core works on: an output chunk and the batch's input chunks
/// stay in its cache.
const CHUNK: usize = 16 << 10;

/// Reads bytes `[offset, offset + buf.len())` of input `k` into `buf`.
pub type ReadFn<'a> = &'a mut dyn FnMut(usize, u64, &mut [u8]) -> Result<usize>;
/// Receives bytes `[offset, offset + words.len())` of output `o`.
pub type WriteFn<'a> = &'a mut dyn FnMut(usize, u64, &[u8]) -> Result<()>;
/// Sees a batch of whole input slices.
pub type SliceHook<'a> = &'a (dyn Fn(Range<usize>, &[u8], &[usize]) + Sync);

/// What [`combine`] needs.
pub struct Job<'a> {
    pub inputs: usize,
    pub outputs: usize,
    pub slice: u64,
    pub memory: usize,
    /// Reads bytes `[offset, offset + buf.len())` of input `k` into `buf` (zero beyond its
    /// data); returns the bytes of data.
    pub read: ReadFn<'a>,
    /// The coefficient of input `k` in output `o`.
    pub coeff: &'a (dyn Fn(usize, usize) -> u16 + Sync),
    /// Receives bytes `[offset, offset + words.len())` of output `o`.
    pub write: WriteFn<'a>,
    /// Sees each batch of whole slices (inputs, their bytes at a stride of `slice`, the data
    /// length of each), in input order, when a pass reads whole slices.
    pub whole_slices: Option<SliceHook<'a>>,
}

/// Runs a job; returns the number of column passes.
pub fn combine(job: Job) -> Result<u32> {
    let Job {
        inputs,
        outputs,
        slice,
        memory,
        read,
        coeff,
        write,
        whole_slices,
    } = job;
    let split_len = (slice as usize).div_ceil(BLOCK) * BLOCK;
    if outputs == 0 || inputs == 0 {
        return Ok(0);
    }
    let batch = BATCH.min(inputs);
    // Per column byte: every output, a batch of raw input and its split copy.
    let per_col_byte = outputs + 2 * batch;
    let col_max = (memory.max(8 << 20) / per_col_byte / BLOCK * BLOCK).max(BLOCK);
    let passes = split_len.div_ceil(col_max);
    let col = split_len.div_ceil(passes).div_ceil(BLOCK) * BLOCK;
    let kernel = gf16::kernel();
    let mut out = vec![0u8; outputs * col];
    let mut raw = vec![0u8; batch * col];
    let mut split = vec![0u8; batch * col];
    let mut lens = vec![0usize; batch];
    for p in 0..passes {
        let c0 = p * col;
        let c1 = (c0 + col).min(split_len);
        let w = c1 - c0;
        // The bytes of a slice this pass covers.
        let (b0, b1) = (c0 as u64, (c1 as u64).min(slice));
        let rlen = (b1 - b0) as usize;
        let whole = b0 == 0 && b1 == slice;
        out[..outputs * w].fill(0);
        let mut s = 0;
        while s < inputs {
            let e = (s + batch).min(inputs);
            for k in s..e {
                let j = k - s;
                lens[j] = read(k, b0, &mut raw[j * rlen..(j + 1) * rlen])?;
            }
            let coeffs: Vec<Vec<Coeff>> = (s..e)
                .map(|k| {
                    (0..outputs)
                        .map(|o| Coeff::for_kernel(kernel, coeff(k, o)))
                        .collect()
                })
                .collect();
            let raw_ref = &raw[..(e - s) * rlen];
            let lens_ref = &lens[..e - s];
            let split_mut = &mut split[..(e - s) * w];
            let out_mut = &mut out[..outputs * w];
            rayon::join(
                || {
                    if let (true, Some(hook)) = (whole, whole_slices) {
                        hook(s..e, raw_ref, lens_ref);
                    }
                },
                || {
                    raw_ref
                        .par_chunks(rlen)
                        .zip(split_mut.par_chunks_mut(w))
                        .for_each(|(r, sp)| gf16::to_split(r, sp));
                    let split_ref = &*split_mut;
                    let chunk = CHUNK.min(w);
                    out_mut
                        .par_chunks_mut(w)
                        .enumerate()
                        .for_each(|(o, out_o)| {
                            out_o
                                .par_chunks_mut(chunk)
                                .enumerate()
                                .for_each(|(part, o_chunk)| {
                                    let a = part * chunk;
                                    for (bi, cf) in coeffs.iter().enumerate() {
                                        let src =
                                            &split_ref[bi * w + a..bi * w + a + o_chunk.len()];
                                        gf16::mul_add(o_chunk, src, &cf[o]);
                                    }
                                })
                        });
                },
            );
            s = e;
        }
        let mut words = vec![0u8; rlen];
        for o in 0..outputs {
            gf16::from_split(&out[o * w..(o + 1) * w], &mut words);
            write(o, b0, &words)?;
        }
    }
    Ok(passes as u32)
}
