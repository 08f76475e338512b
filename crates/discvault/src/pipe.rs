//! A writer that hashes (sha256) on one thread of its own and writes on another, so that the
//! caller's thread can read and hash the sources at the same time: mastering hashes every byte
//! twice (once per record against its ingest digest, once for the whole image) and writes it,
//! and this spreads the three over the cores.

use sha2::Digest as _;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

const CHUNK: usize = 4 << 20;

pub(crate) struct HashPipe<W: Write + Send + 'static> {
    tx: Option<SyncSender<Vec<u8>>>,
    back: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    handle: Option<JoinHandle<io::Result<(String, W)>>>,
}

/// Writes the chunks it receives, returning each buffer for reuse.
fn write_chunks<W: Write>(
    mut w: W,
    rx: Receiver<Vec<u8>>,
    back: SyncSender<Vec<u8>>,
) -> io::Result<W> {
    for mut chunk in rx {
        w.write_all(&chunk)?;
        chunk.clear();
        let _ = back.try_send(chunk);
    }
    w.flush()?;
    Ok(w)
}

impl<W: Write + Send + 'static> HashPipe<W> {
    pub fn new(w: W) -> Self {
        let (tx, rx) = sync_channel::<Vec<u8>>(3);
        let (back_tx, back) = sync_channel::<Vec<u8>>(8);
        let handle = std::thread::spawn(move || {
            let (wtx, wrx) = sync_channel::<Vec<u8>>(3);
            let writer = std::thread::spawn(move || write_chunks(w, wrx, back_tx));
            let mut h = sha2::Sha256::new();
            for chunk in rx {
                h.update(&chunk);
                if wtx.send(chunk).is_err() {
                    break; // The writer failed: its error is reported below.
                }
            }
            drop(wtx);
            let w = writer
                .join()
                .map_err(|_| io::Error::other("image writer thread panicked"))??;
            Ok((hex::encode(h.finalize()), w))
        });
        HashPipe {
            tx: Some(tx),
            back,
            buf: Vec::with_capacity(CHUNK),
            handle: Some(handle),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let next = self
            .back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.buf, next);
        let tx = self.tx.as_ref().expect("pipe open");
        if tx.send(full).is_err() {
            // The writer thread stopped: its error is the one to report.
            return Err(self.join_error());
        }
        Ok(())
    }

    fn join_error(&mut self) -> io::Error {
        self.tx = None;
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(Err(e))) => e,
            _ => io::Error::other("image writer thread stopped"),
        }
    }

    /// Flushes, waits for the writer thread, and returns the sha256 of everything written.
    pub fn finish(mut self) -> io::Result<(String, W)> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        self.tx = None;
        match self.handle.take().expect("joined once").join() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("image writer thread panicked")),
        }
    }
}

impl<W: Write + Send + 'static> Write for HashPipe<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_writes_everything_in_order() {
        let data: Vec<u8> = (0..10_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut p = HashPipe::new(Vec::new());
        for chunk in data.chunks(77_777) {
            p.write_all(chunk).unwrap();
        }
        let (sha, out) = p.finish().unwrap();
        assert!(out == data);
        assert_eq!(sha, hex::encode(sha2::Sha256::digest(&data)));
    }

    #[derive(Debug)]
    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disc full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reports_the_writer_error() {
        let mut p = HashPipe::new(Failing);
        let mut err = None;
        for _ in 0..10 {
            if let Err(e) = p.write_all(&vec![0u8; CHUNK]) {
                err = Some(e);
                break;
            }
        }
        let e = match err {
            Some(e) => e,
            None => p.finish().unwrap_err(),
        };
        assert!(e.to_string().contains("disc full"), "{e}");
    }
}
