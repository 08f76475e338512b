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

/// Inputs per batch: each output column is loaded and stored once per batch.
const BATCH: usize = 8;
/// Width of the column chunk one core works on: an output chunk and the batch's input chunks
/// stay in its cache.
const CHUNK: usize = 16 << 10;

/// Reads bytes `[offset, offset + buf.len())` of input `k` into `buf`.
pub type ReadFn<'a> = &'a mut dyn FnMut(usize, u64, &mut [u8]) -> Result<usize>;
/// Receives bytes `[offset, offset + words.len())` of output `o`.
pub type WriteFn<'a> = &'a mut dyn FnMut(usize, u64, &[u8]) -> Result<()>;
/// Sees a batch of whole input slices: their indices, their bytes at a stride of the slice
/// size, the data length of each.
pub type SliceHook<'a> = &'a (dyn Fn(&[usize], &[u8], &[usize]) + Sync);

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
    /// Sees each batch of whole slices, in processing order, when a pass reads whole slices.
    pub whole_slices: Option<SliceHook<'a>>,
    /// The order the inputs are read in (all of them, once each); `None`: 0, 1, 2 ...
    pub order: Option<&'a [usize]>,
}

/// The outputs' buffer, shared by tasks that each write their own columns.
#[derive(Clone, Copy)]
struct SharedOut(*mut u8);
// SAFETY: tasks write disjoint ranges (see `slice`).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// # Safety
    /// No other live reference may overlap `[at, at + len)`, which must lie in the buffer.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, at: usize, len: usize) -> &mut [u8] {
        std::slice::from_raw_parts_mut(self.0.add(at), len)
    }
}

/// Of a double buffer, the one batch `n` uses and the other (for batch n + 1).
fn double<T>(pair: &mut [T; 2], n: usize) -> (&T, &mut T) {
    let [a, b] = pair;
    if n.is_multiple_of(2) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Runs a job; returns the number of column passes.
// Outputs are indexed by number in the inner loop: each picks its coefficient of every input.
#[allow(clippy::needless_range_loop)]
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
        order,
    } = job;
    let natural: Vec<usize>;
    let order = match order {
        Some(o) => {
            assert_eq!(o.len(), inputs, "the order names every input once");
            o
        }
        None => {
            natural = (0..inputs).collect();
            &natural
        }
    };
    let split_len = (slice as usize).div_ceil(BLOCK) * BLOCK;
    if outputs == 0 || inputs == 0 {
        return Ok(0);
    }
    let batch = BATCH.min(inputs);
    // Per column byte: every output, two batches of raw input (one read while the other is
    // combined) and a split copy.
    let per_col_byte = outputs + 3 * batch;
    let col_max = (memory.max(8 << 20) / per_col_byte / BLOCK * BLOCK).max(BLOCK);
    let passes = split_len.div_ceil(col_max);
    let col = split_len.div_ceil(passes).div_ceil(BLOCK) * BLOCK;
    let kernel = gf16::kernel();
    let mut out = vec![0u8; outputs * col];
    // Two raw buffers: the next batch is read while this one is combined.
    let mut raw = [vec![0u8; batch * col], vec![0u8; batch * col]];
    let mut split = vec![0u8; batch * col];
    let mut lens = [vec![0usize; batch], vec![0usize; batch]];
    for p in 0..passes {
        let c0 = p * col;
        let c1 = (c0 + col).min(split_len);
        let w = c1 - c0;
        // The bytes of a slice this pass covers.
        let (b0, b1) = (c0 as u64, (c1 as u64).min(slice));
        let rlen = (b1 - b0) as usize;
        let whole = b0 == 0 && b1 == slice;
        out[..outputs * w].fill(0);
        let batches: Vec<&[usize]> = order.chunks(batch).collect();
        let mut read_batch = |ks: &[usize], raw: &mut [u8], lens: &mut [usize]| -> Result<()> {
            for (j, &k) in ks.iter().enumerate() {
                lens[j] = read(k, b0, &mut raw[j * rlen..(j + 1) * rlen])?;
            }
            Ok(())
        };
        read_batch(batches[0], &mut raw[0], &mut lens[0])?;
        for (bn, ks) in batches.iter().enumerate() {
            let (cur, next) = double(&mut raw, bn);
            let (lcur, lnext) = double(&mut lens, bn);
            let ks: &[usize] = ks;
            let raw_ref = &cur[..ks.len() * rlen];
            let lens_ref = &lcur[..ks.len()];
            let split_mut = &mut split[..ks.len() * w];
            let out_mut = &mut out[..outputs * w];
            let mut next_read: Result<()> = Ok(());
            rayon::in_place_scope(|sc| {
                sc.spawn(|_| {
                    let coeffs: Vec<Vec<Coeff>> = ks
                        .iter()
                        .map(|&k| {
                            (0..outputs)
                                .map(|o| Coeff::for_kernel(kernel, coeff(k, o)))
                                .collect()
                        })
                        .collect();
                    rayon::join(
                        || {
                            if let (true, Some(hook)) = (whole, whole_slices) {
                                hook(ks, raw_ref, lens_ref);
                            }
                        },
                        || {
                            raw_ref
                                .par_chunks(rlen)
                                .zip(split_mut.par_chunks_mut(w))
                                .for_each(|(r, sp)| gf16::to_split(r, sp));
                            let split_ref = &*split_mut;
                            // Column chunk by column chunk: the batch's inputs for one chunk stay in
                            // the core's cache while every output takes them.
                            let chunk = CHUNK.min(w);
                            let out_ptr = SharedOut(out_mut.as_mut_ptr());
                            let parts = w.div_ceil(chunk);
                            (0..parts).into_par_iter().for_each(|part| {
                                let a = part * chunk;
                                let len = chunk.min(w - a);
                                let src = |bi: usize| &split_ref[bi * w + a..bi * w + a + len];
                                // Inputs with data in this chunk: past its data an input is
                                // zero and adds nothing (short files in long slices).
                                let active: Vec<usize> =
                                    (0..coeffs.len()).filter(|&bi| lens_ref[bi] > a).collect();
                                for o in 0..outputs {
                                    // SAFETY: each task owns columns [a, a + len) of every output:
                                    // the ranges of different tasks never overlap.
                                    let o_chunk = unsafe { out_ptr.slice(o * w + a, len) };
                                    // Four inputs at a time: the output chunk is loaded and stored once
                                    // for the four.
                                    let mut quads = active.chunks_exact(4);
                                    for q in quads.by_ref() {
                                        gf16::mul_add_multi(
                                            o_chunk,
                                            &[src(q[0]), src(q[1]), src(q[2]), src(q[3])],
                                            &[
                                                &coeffs[q[0]][o],
                                                &coeffs[q[1]][o],
                                                &coeffs[q[2]][o],
                                                &coeffs[q[3]][o],
                                            ],
                                        );
                                    }
                                    for &bj in quads.remainder() {
                                        gf16::mul_add(o_chunk, src(bj), &coeffs[bj][o]);
                                    }
                                }
                            });
                        },
                    );
                });
                if let Some(nk) = batches.get(bn + 1) {
                    next_read = read_batch(nk, next, lnext);
                }
            });
            next_read?;
        }
        let mut words = vec![0u8; rlen];
        for o in 0..outputs {
            gf16::from_split(&out[o * w..(o + 1) * w], &mut words);
            write(o, b0, &words)?;
        }
    }
    Ok(passes as u32)
}
