//! A writer that hashes (sha256) on one thread of its own and writes on another, so that the
//! caller's thread can read and hash the sources at the same time: mastering hashes every byte
//! twice (once per record against its ingest digest, once for the whole image) and writes it,
//! and this spreads the three over the cores.
//!
//! `flush` is a barrier: it returns once every byte written so far is in the underlying writer
//! (mastering then computes the disc's recovery data from the image file itself).

use sha2::Digest as _;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

const CHUNK: usize = 4 << 20;

pub(crate) struct HashPipe<W: Write + Send + 'static> {
    tx: Option<SyncSender<Vec<u8>>>,
    back: Receiver<Vec<u8>>,
    /// One message per flushed barrier, from the writer thread.
    synced: Receiver<()>,
    buf: Vec<u8>,
    handle: Option<JoinHandle<io::Result<(String, W)>>>,
}

/// Writes the chunks it receives, returning each buffer for reuse; an empty chunk is a
/// barrier, answered on `synced` once everything before it is flushed.
fn write_chunks<W: Write>(
    mut w: W,
    rx: Receiver<Vec<u8>>,
    back: SyncSender<Vec<u8>>,
    synced: SyncSender<()>,
) -> io::Result<W> {
    for mut chunk in rx {
        if chunk.is_empty() {
            w.flush()?;
            let _ = synced.send(());
            continue;
        }
        w.write_all(&chunk)?;
        chunk.clear();
        let _ = back.try_send(chunk);
    }
    w.flush()?;
    Ok(w)
}

impl<W: Write + Send + 'static> HashPipe<W> {
    pub fn new(w: W) -> Self {
        let (tx, rx) = sync_channel::<Vec<u8>>(2);
        let (back_tx, back) = sync_channel::<Vec<u8>>(4);
        let (synced_tx, synced) = sync_channel::<()>(1);
        let handle = std::thread::spawn(move || {
            let (wtx, wrx) = sync_channel::<Vec<u8>>(2);
            let writer = std::thread::spawn(move || write_chunks(w, wrx, back_tx, synced_tx));
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
            synced,
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
    /// Waits until everything written so far has reached the underlying writer (flushed).
    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        let tx = self.tx.as_ref().expect("pipe open");
        if tx.send(Vec::new()).is_err() || self.synced.recv().is_err() {
            return Err(self.join_error());
        }
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

    /// A writer whose contents the test can look at while the pipe still runs.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn flush_waits_until_everything_is_written() {
        let out = Shared::default();
        let mut p = HashPipe::new(out.clone());
        let data: Vec<u8> = (0..(3 * CHUNK + 12345) as u32).map(|i| i as u8).collect();
        p.write_all(&data).unwrap();
        p.flush().unwrap();
        assert!(*out.0.lock().unwrap() == data);
        p.write_all(b"tail").unwrap();
        p.flush().unwrap();
        p.flush().unwrap();
        let (sha, _) = p.finish().unwrap();
        let mut all = data.clone();
        all.extend_from_slice(b"tail");
        assert!(*out.0.lock().unwrap() == all);
        assert_eq!(sha, hex::encode(sha2::Sha256::digest(&all)));
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
