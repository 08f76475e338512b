//! Digest algorithms and a hasher that computes several of them in one pass.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::fmt;

/// A digest algorithm discvault can record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    Sha256,
    /// SM3 (GB/T 32905-2016), for Chinese government users.
    Sm3,
    Md5,
    Blake3,
}

impl HashAlg {
    pub const ALL: [HashAlg; 4] = [HashAlg::Sha256, HashAlg::Sm3, HashAlg::Md5, HashAlg::Blake3];

    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sm3 => "sm3",
            HashAlg::Md5 => "md5",
            HashAlg::Blake3 => "blake3",
        }
    }

    /// Length of the digest in hex characters.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlg::Md5 => 32,
            _ => 64,
        }
    }

    pub fn parse(s: &str) -> Result<HashAlg> {
        HashAlg::ALL
            .into_iter()
            .find(|a| a.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| Error::UnknownDigest(s.to_string()))
    }

    /// Parses a comma-separated list; sha256 is always included and comes first (it is the
    /// digest discvault checks by), the others follow in a fixed order.
    pub fn parse_list(s: &str) -> Result<Vec<HashAlg>> {
        let mut v = vec![HashAlg::Sha256];
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let a = HashAlg::parse(part)?;
            if !v.contains(&a) {
                v.push(a);
            }
        }
        v[1..].sort();
        Ok(v)
    }
}

impl std::str::FromStr for HashAlg {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<HashAlg> {
        HashAlg::parse(s)
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone)]
enum One {
    Sha256(sha2::Sha256),
    Sm3(sm3::Sm3),
    Md5(md5::Md5),
    Blake3(Box<blake3::Hasher>),
}

/// Computes every configured digest over the same bytes.
#[derive(Clone)]
pub struct MultiHasher {
    algs: Vec<HashAlg>,
    hashers: Vec<One>,
}

/// Hex digests by algorithm, in the order the hasher was made with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Digests(pub Vec<(HashAlg, String)>);

impl Digests {
    pub fn get(&self, alg: HashAlg) -> Option<&str> {
        self.0
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, h)| h.as_str())
    }
}

impl MultiHasher {
    pub fn new(algs: &[HashAlg]) -> MultiHasher {
        let hashers = algs
            .iter()
            .map(|a| match a {
                HashAlg::Sha256 => One::Sha256(sha2::Sha256::new()),
                HashAlg::Sm3 => One::Sm3(sm3::Sm3::new()),
                HashAlg::Md5 => One::Md5(md5::Md5::new()),
                HashAlg::Blake3 => One::Blake3(Box::new(blake3::Hasher::new())),
            })
            .collect();
        MultiHasher {
            algs: algs.to_vec(),
            hashers,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        for h in &mut self.hashers {
            match h {
                One::Sha256(x) => x.update(data),
                One::Sm3(x) => x.update(data),
                One::Md5(x) => x.update(data),
                One::Blake3(x) => {
                    x.update(data);
                }
            }
        }
    }

    pub fn finish(self) -> Digests {
        Digests(
            self.algs
                .into_iter()
                .zip(self.hashers)
                .map(|(a, h)| {
                    let hex = match h {
                        One::Sha256(x) => hex::encode(x.finalize()),
                        One::Sm3(x) => hex::encode(x.finalize()),
                        One::Md5(x) => hex::encode(x.finalize()),
                        One::Blake3(x) => x.finalize().to_hex().to_string(),
                    };
                    (a, hex)
                })
                .collect(),
        )
    }
}

impl std::io::Write for MultiHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Digests of a byte slice.
pub fn digest_bytes(algs: &[HashAlg], data: &[u8]) -> Digests {
    let mut h = MultiHasher::new(algs);
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let d = digest_bytes(&HashAlg::ALL, b"abc");
        assert_eq!(
            d.get(HashAlg::Sha256).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // GB/T 32905-2016 example A.1
        assert_eq!(
            d.get(HashAlg::Sm3).unwrap(),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            d.get(HashAlg::Md5).unwrap(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            d.get(HashAlg::Blake3).unwrap(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn parse_list_puts_sha256_first() {
        assert_eq!(
            HashAlg::parse_list("md5,sm3").unwrap(),
            vec![HashAlg::Sha256, HashAlg::Sm3, HashAlg::Md5]
        );
        assert!(HashAlg::parse_list("sha1").is_err());
    }
}
