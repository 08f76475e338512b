//! A new file written front to back that leaves a hole wherever a whole block is zero, as
//! `cp --sparse=auto` does: an image of a sparse video recording, or a restored one, then
//! takes only the disk its data need. What is read back is the same bytes either way.
//!
//! The file must start empty: a hole reads as zeros only where nothing was written before.
//! `flush` sets the length, so a reader sees a zero tail that is still a hole.

use std::borrow::Borrow;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

/// Blocks of this size (at offsets that are multiples of it) that are all zero are skipped.
const BLOCK: u64 = 64 << 10;

pub(crate) struct SparseFile<F: Borrow<File>> {
    file: F,
    /// Where the bytes in `pending` go.
    pos: u64,
    /// Bytes of a block not yet whole: small writes are gathered before a block is judged.
    pending: Vec<u8>,
    /// The file's length as far as writes and `flush` have made it.
    len: u64,
}

impl<F: Borrow<File>> SparseFile<F> {
    /// `file` must be empty.
    pub fn new(file: F) -> Self {
        SparseFile {
            file,
            pos: 0,
            pending: Vec::new(),
            len: 0,
        }
    }

    /// Cuts the file back to `at` bytes and goes on writing from there.
    pub fn truncate(&mut self, at: u64) -> io::Result<()> {
        self.emit()?;
        self.file.borrow().set_len(at)?;
        self.pos = at;
        self.len = at;
        Ok(())
    }

    /// The file, with its length set (`flush`).
    pub fn into_inner(mut self) -> io::Result<F> {
        self.flush()?;
        Ok(self.file)
    }

    /// Writes `data` at `at`, or leaves a hole there if it is all zero.
    fn put(&mut self, at: u64, data: &[u8]) -> io::Result<()> {
        match is_zero(data) {
            true => Ok(()),
            false => self.write_data(at, data),
        }
    }

    fn write_data(&mut self, at: u64, data: &[u8]) -> io::Result<()> {
        self.file.borrow().write_all_at(data, at)?;
        self.len = self.len.max(at + data.len() as u64);
        Ok(())
    }

    fn emit(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let res = self.put(self.pos, &pending);
        if res.is_ok() {
            self.pos += pending.len() as u64;
        }
        // On an error the gathered bytes stay, to be written again by a retry.
        self.pending = pending;
        if res.is_ok() {
            self.pending.clear();
        }
        res
    }
}

fn is_zero(b: &[u8]) -> bool {
    let words = b.chunks_exact(16);
    let tail = words.remainder();
    tail.iter().all(|&x| x == 0)
        && words
            .into_iter()
            .all(|w| u128::from_ne_bytes(w.try_into().expect("16 bytes")) == 0)
}

impl<F: Borrow<File>> Write for SparseFile<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            let room = (BLOCK - (self.pos + self.pending.len() as u64) % BLOCK) as usize;
            if self.pending.is_empty() && rest.len() >= room {
                // Whole blocks straight from the caller's buffer, a run of data blocks or of
                // zero blocks at a time.
                let zero = is_zero(&rest[..room]);
                let mut n = room;
                while rest.len() >= n + BLOCK as usize
                    && is_zero(&rest[n..n + BLOCK as usize]) == zero
                {
                    n += BLOCK as usize;
                }
                let (run, next) = rest.split_at(n);
                if !zero {
                    self.write_data(self.pos, run)?;
                }
                self.pos += n as u64;
                rest = next;
                continue;
            }
            let n = room.min(rest.len());
            self.pending.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if n == room {
                self.emit()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()?;
        if self.len < self.pos {
            self.file.borrow().set_len(self.pos)?;
            self.len = self.pos;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn zero_blocks_become_holes_and_read_back_as_zeros() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("img");
        let mut data = vec![0u8; 40 << 20];
        data[5] = 1;
        data[(20 << 20) + 77] = 2;
        data[(35 << 20) + 5] = 3;
        // A zero tail: the length must still come out right.
        let mut w = SparseFile::new(File::create(&path).unwrap());
        // Large writes and small ones (a disc read gives sectors of 2 KiB).
        let (big, small) = data.split_at(30 << 20);
        for chunk in big.chunks(777_777) {
            w.write_all(chunk).unwrap();
        }
        for chunk in small.chunks(2048) {
            w.write_all(chunk).unwrap();
        }
        let f = w.into_inner().unwrap();
        drop(f);
        assert!(std::fs::read(&path).unwrap() == data);
        let m = std::fs::metadata(&path).unwrap();
        assert_eq!(m.len(), 40 << 20);
        // Three blocks of data, give or take the file system's own block size.
        assert!(m.blocks() * 512 < 4 << 20, "{} blocks", m.blocks());
    }

    #[test]
    fn data_is_written_whole_and_truncate_starts_over() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8 + 1).collect();
        let mut w = SparseFile::new(File::create(&path).unwrap());
        w.write_all(&data).unwrap();
        w.write_all(&[0; 1 << 20]).unwrap();
        w.truncate(1000).unwrap();
        // What was gathered before a cut is kept up to the cut.
        w.write_all(&data[1000..1500]).unwrap();
        w.truncate(1200).unwrap();
        w.write_all(&[0; 100]).unwrap();
        w.truncate(1200).unwrap();
        w.write_all(b"end").unwrap();
        w.flush().unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 1203);
        assert!(got[..1200] == data[..1200]);
        assert_eq!(&got[1200..], b"end");
    }
}
