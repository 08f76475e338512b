//! PAR2 packets: a 64-byte header (`PAR2\0PKT`, length, MD5 of the rest, recovery set id,
//! type) and a body; all numbers little-endian, lengths multiples of 4.

use crate::{Error, Result};
use md5::{Digest, Md5};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"PAR2\0PKT";
pub const HEADER: usize = 64;
pub const TYPE_MAIN: &[u8; 16] = b"PAR 2.0\0Main\0\0\0\0";
pub const TYPE_FILE_DESC: &[u8; 16] = b"PAR 2.0\0FileDesc";
pub const TYPE_IFSC: &[u8; 16] = b"PAR 2.0\0IFSC\0\0\0\0";
pub const TYPE_RECOVERY: &[u8; 16] = b"PAR 2.0\0RecvSlic";
pub const TYPE_CREATOR: &[u8; 16] = b"PAR 2.0\0Creator\0";

pub type Id = [u8; 16];

pub fn md5(data: &[u8]) -> Id {
    Md5::digest(data).into()
}

/// A whole packet: header and body (the body padded to a multiple of 4).
pub fn packet(set_id: &Id, kind: &[u8; 16], body: &[u8]) -> Vec<u8> {
    let pad = (4 - body.len() % 4) % 4;
    let len = HEADER + body.len() + pad;
    let mut p = Vec::with_capacity(len);
    p.extend_from_slice(MAGIC);
    p.extend_from_slice(&(len as u64).to_le_bytes());
    p.extend_from_slice(&[0u8; 16]);
    p.extend_from_slice(set_id);
    p.extend_from_slice(kind);
    p.extend_from_slice(body);
    p.extend(std::iter::repeat_n(0u8, pad));
    let h = md5(&p[32..]);
    p[16..32].copy_from_slice(&h);
    p
}

/// The first 68 bytes of a recovery slice packet (header and exponent) with its MD5 left
/// zero: the MD5 covers bytes 32.. of the packet, slice included, and is filled in once the
/// slice is complete.
pub fn recovery_prefix(set_id: &Id, exponent: u32, slice_len: u64) -> Vec<u8> {
    let len = HEADER as u64 + 4 + slice_len;
    let mut p = Vec::with_capacity(HEADER + 4);
    p.extend_from_slice(MAGIC);
    p.extend_from_slice(&len.to_le_bytes());
    p.extend_from_slice(&[0u8; 16]);
    p.extend_from_slice(set_id);
    p.extend_from_slice(TYPE_RECOVERY);
    p.extend_from_slice(&exponent.to_le_bytes());
    p
}

/// The main packet's body: slice size, the recovery set's file ids (sorted), no non-recovery
/// files.
pub fn main_body(slice_size: u64, file_ids: &[Id]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&slice_size.to_le_bytes());
    b.extend_from_slice(&(file_ids.len() as u32).to_le_bytes());
    for id in file_ids {
        b.extend_from_slice(id);
    }
    b
}

/// A file's id: MD5 of the MD5 of its first 16 KiB, its length and its name.
pub fn file_id(hash_16k: &Id, length: u64, name: &[u8]) -> Id {
    let mut h = Md5::new();
    h.update(hash_16k);
    h.update(length.to_le_bytes());
    h.update(name);
    h.finalize().into()
}

pub fn file_desc_body(id: &Id, hash: &Id, hash_16k: &Id, length: u64, name: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(id);
    b.extend_from_slice(hash);
    b.extend_from_slice(hash_16k);
    b.extend_from_slice(&length.to_le_bytes());
    b.extend_from_slice(name);
    b
}

pub fn ifsc_body(id: &Id, slices: &[(Id, u32)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + slices.len() * 20);
    b.extend_from_slice(id);
    for (m, c) in slices {
        b.extend_from_slice(m);
        b.extend_from_slice(&c.to_le_bytes());
    }
    b
}

/// A parsed packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Main {
        slice_size: u64,
        files: Vec<Id>,
        non_recovery: Vec<Id>,
    },
    FileDesc {
        id: Id,
        hash: Id,
        hash_16k: Id,
        length: u64,
        name: Vec<u8>,
    },
    Ifsc {
        id: Id,
        slices: Vec<(Id, u32)>,
    },
    /// A recovery slice: its exponent, and where its data lies in the file read.
    Recovery {
        exponent: u32,
        offset: u64,
        len: u64,
    },
    Creator(String),
    Other,
}

fn id_at(b: &[u8], at: usize) -> Id {
    b[at..at + 16].try_into().expect("16 bytes")
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Bytes [`scan`] hashes in packets that turn out damaged, beyond the file's own size: a file
/// crafted with a packet header every few bytes, each claiming the rest of the file, would
/// otherwise be hashed over and over (quadratic time).
pub const DAMAGED_HASH_ALLOWANCE: u64 = 64 << 20;

/// The largest body of a packet other than a recovery slice that [`scan`] reads.
pub const MAX_BODY: u64 = 256 << 20;

/// Reads every intact packet of a PAR2 file: `(set id, packet)`, streaming (recovery slices
/// are hashed, not kept: their data's place in the file is returned). Damaged packets are
/// skipped and the next `PAR2\0PKT` is looked for, as PAR2 readers do.
///
/// A PAR2 file is input from a disc: nothing in it is trusted. What is kept is bounded by the
/// file's size (a packet's body is read only when it lies within the file), and the bytes hashed
/// in damaged packets by twice the file's size plus [`DAMAGED_HASH_ALLOWANCE`]; beyond that
/// the file is refused as [`Error::Format`].
pub fn scan(path: &Path) -> Result<Vec<(Id, Packet)>> {
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let size = f.metadata().map_err(io)?.len();
    let mut out = Vec::new();
    let mut at = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    let mut damaged_hashed = 0u64;
    let damaged_limit = size
        .saturating_mul(2)
        .saturating_add(DAMAGED_HASH_ALLOWANCE);
    while at + HEADER as u64 <= size {
        f.seek(SeekFrom::Start(at)).map_err(io)?;
        let mut head = [0u8; HEADER];
        f.read_exact(&mut head).map_err(io)?;
        if &head[..8] != MAGIC {
            // Look for the next packet.
            f.seek(SeekFrom::Start(at + 1)).map_err(io)?;
            let n = read_full(&mut f, &mut buf).map_err(io)?;
            match buf[..n].windows(8).position(|w| w == MAGIC) {
                Some(p) => at += 1 + p as u64,
                None if n < 8 => break,
                None => at += 1 + (n - 7) as u64,
            }
            continue;
        }
        let len = u64_at(&head, 8);
        // `at + HEADER <= size`: `size - at` cannot wrap, and a huge length is not added.
        if len < HEADER as u64 || !len.is_multiple_of(4) || len > size - at {
            at += 8;
            continue;
        }
        let kind: Id = id_at(&head, 48);
        let body_len = len - HEADER as u64;
        let mut h = Md5::new();
        h.update(&head[32..]);
        let mut body = Vec::new();
        let mut exponent = [0u8; 4];
        if &kind == TYPE_RECOVERY {
            let mut left = body_len;
            let mut first = true;
            while left > 0 {
                let n = left.min(buf.len() as u64) as usize;
                f.read_exact(&mut buf[..n]).map_err(io)?;
                if first && n >= 4 {
                    exponent.copy_from_slice(&buf[..4]);
                    first = false;
                }
                h.update(&buf[..n]);
                left -= n as u64;
            }
        } else {
            if body_len > MAX_BODY {
                at += 8;
                continue;
            }
            body = vec![0u8; body_len as usize];
            f.read_exact(&mut body).map_err(io)?;
            h.update(&body);
        }
        let digest: Id = h.finalize().into();
        if digest != head[16..32] {
            damaged_hashed += body_len;
            if damaged_hashed > damaged_limit {
                return Err(Error::Format {
                    file: path.display().to_string(),
                    detail: format!(
                        "packet at byte {at}: more than {damaged_limit} bytes of damaged packets \
                         hashed (packet headers overlapping each other): refused"
                    ),
                });
            }
            at += 8;
            continue;
        }
        let set = id_at(&head, 32);
        let b = &body[..];
        let p = if &kind == TYPE_MAIN && b.len() >= 12 {
            let n = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
            let ids: Vec<Id> = b[12..]
                .chunks_exact(16)
                .map(|c| c.try_into().unwrap())
                .collect();
            if ids.len() < n {
                return Err(Error::Format {
                    file: path.display().to_string(),
                    detail: format!(
                        "main packet at byte {at}: file count {n} but {} file ids",
                        ids.len()
                    ),
                });
            }
            Packet::Main {
                slice_size: u64_at(b, 0),
                files: ids[..n].to_vec(),
                non_recovery: ids[n..].to_vec(),
            }
        } else if &kind == TYPE_FILE_DESC && b.len() >= 56 {
            let name = &b[56..];
            let name = &name[..name
                .iter()
                .rposition(|&c| c != 0)
                .map(|p| p + 1)
                .unwrap_or(0)];
            Packet::FileDesc {
                id: id_at(b, 0),
                hash: id_at(b, 16),
                hash_16k: id_at(b, 32),
                length: u64_at(b, 48),
                name: name.to_vec(),
            }
        } else if &kind == TYPE_IFSC && b.len() >= 16 {
            Packet::Ifsc {
                id: id_at(b, 0),
                slices: b[16..]
                    .chunks_exact(20)
                    .map(|c| {
                        (
                            c[..16].try_into().unwrap(),
                            u32::from_le_bytes(c[16..].try_into().unwrap()),
                        )
                    })
                    .collect(),
            }
        } else if &kind == TYPE_RECOVERY && body_len >= 4 {
            Packet::Recovery {
                exponent: u32::from_le_bytes(exponent),
                offset: at + HEADER as u64 + 4,
                len: body_len - 4,
            }
        } else if &kind == TYPE_CREATOR {
            Packet::Creator(
                String::from_utf8_lossy(b)
                    .trim_end_matches('\0')
                    .to_string(),
            )
        } else {
            Packet::Other
        };
        out.push((set, p));
        at += len;
    }
    Ok(out)
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
