//! The UDF (ECMA-167 / OSTA UDF 1.02) building blocks every descriptor is made of: the
//! descriptor tag with its checksum and CRC, OSTA CS0 strings, timestamps, entity identifiers.
//! All integers are little-endian. Shared by the writer and the reader.

/// Descriptor tag identifiers (ECMA-167 3/7.2.1, 4/7.2.1).
pub(crate) mod ident {
    pub const PVD: u16 = 1;
    pub const AVDP: u16 = 2;
    pub const IUVD: u16 = 4;
    pub const PD: u16 = 5;
    pub const LVD: u16 = 6;
    pub const USD: u16 = 7;
    pub const TD: u16 = 8;
    pub const LVID: u16 = 9;
    pub const FSD: u16 = 256;
    pub const FID: u16 = 257;
    pub const FE: u16 = 261;
}

/// Descriptor version of an NSR02 (UDF 1.02) volume.
pub(crate) const DESCRIPTOR_VERSION: u16 = 2;
/// The UDF revision written, as the domain and LVID fields hold it.
pub(crate) const REVISION: u16 = 0x0102;

/// CRC-ITU-T as ECMA-167 3/7.2.6 defines it: polynomial 0x1021, initial value 0, most
/// significant bit first, no final XOR.
pub(crate) fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Fills the 16-byte tag at the start of `desc` (whose body is already written): identifier,
/// version, serial 0, the CRC of the `desc.len() - 16` bytes after the tag, the location, and
/// last the checksum, which covers the CRC.
pub(crate) fn tag(desc: &mut [u8], id: u16, location: u32) {
    let crc_len = desc.len() - 16;
    put16(desc, 0, id);
    put16(desc, 2, DESCRIPTOR_VERSION);
    desc[4] = 0;
    desc[5] = 0;
    put16(desc, 6, 0);
    put16(desc, 8, crc16(&desc[16..]));
    put16(desc, 10, crc_len as u16);
    put32(desc, 12, location);
    desc[4] = tag_checksum(desc);
}

/// The tag checksum: the sum modulo 256 of the tag's bytes but its own (byte 4).
pub(crate) fn tag_checksum(desc: &[u8]) -> u8 {
    desc[..16]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b))
}

/// OSTA CS0 of a string: compression 8 (one byte a character) when every character is at
/// most U+00FF, else 16 (UTF-16, big-endian, surrogate pairs above U+FFFF).
pub(crate) fn cs0(s: &str) -> Vec<u8> {
    if s.chars().all(|c| (c as u32) <= 0xFF) {
        std::iter::once(8u8)
            .chain(s.chars().map(|c| c as u32 as u8))
            .collect()
    } else {
        std::iter::once(16u8)
            .chain(s.encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect()
    }
}

/// A `dstring` of `len` bytes: CS0 cut to `len - 1` bytes (whole characters, whole surrogate
/// pairs), zero padded, the used length in the last byte; an empty string is all zero.
pub(crate) fn dstring(s: &str, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    if s.is_empty() {
        return out;
    }
    let mut keep = String::new();
    for c in s.chars() {
        let mut next = keep.clone();
        next.push(c);
        if cs0(&next).len() > len - 1 {
            break;
        }
        keep = next;
    }
    let b = cs0(&keep);
    out[..b.len()].copy_from_slice(&b);
    out[len - 1] = b.len() as u8;
    out
}

/// `charspec` CS0 "OSTA Compressed Unicode" (64 bytes).
pub(crate) fn charspec() -> [u8; 64] {
    let mut c = [0u8; 64];
    let name = b"OSTA Compressed Unicode";
    c[1..1 + name.len()].copy_from_slice(name);
    c
}

/// An entity identifier (`regid`, 32 bytes): flags 0, the identifier, its 8-byte suffix.
pub(crate) fn regid(id: &str, suffix: [u8; 8]) -> [u8; 32] {
    let mut r = [0u8; 32];
    let b = id.as_bytes();
    r[1..1 + b.len().min(23)].copy_from_slice(&b[..b.len().min(23)]);
    r[24..].copy_from_slice(&suffix);
    r
}

/// `*OSTA UDF Compliant` with the revision and the domain flags (both write-protect bits: the
/// disc is never changed).
pub(crate) fn domain_id() -> [u8; 32] {
    let [lo, hi] = REVISION.to_le_bytes();
    regid("*OSTA UDF Compliant", [lo, hi, 0x03, 0, 0, 0, 0, 0])
}

/// A UDF identifier (`*UDF LV Info`): revision, OS class and identifier 0 (undefined: the
/// same bytes on every host).
pub(crate) fn udf_id(id: &str) -> [u8; 32] {
    let [lo, hi] = REVISION.to_le_bytes();
    regid(id, [lo, hi, 0, 0, 0, 0, 0, 0])
}

/// The implementation identifier of discvault's writer.
pub(crate) fn implementation_id() -> [u8; 32] {
    regid("*discvault", [0; 8])
}

/// A `timestamp` (12 bytes) of a Unix time, in UTC (type 1, offset 0).
pub(crate) fn timestamp(t: i64) -> [u8; 12] {
    let (y, mo, d, h, mi, s) = crate::writer::split_time(t);
    let mut b = [0u8; 12];
    put16(&mut b, 0, 0x1000);
    put16(&mut b, 2, y.clamp(1, 9999) as u16);
    b[4] = mo as u8;
    b[5] = d as u8;
    b[6] = h as u8;
    b[7] = mi as u8;
    b[8] = s as u8;
    b
}

/// `long_ad` (16 bytes): length, block, partition reference 0, and the UDF unique id of the
/// file entry it points at in its implementation use.
pub(crate) fn long_ad(len: u32, lbn: u32, unique_id: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    put32(&mut b, 0, len);
    put32(&mut b, 4, lbn);
    put16(&mut b, 8, 0);
    put32(&mut b, 12, unique_id);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_is_ecma_167s() {
        // The OSTA sample code's vector, and CRC-16/XMODEM's check value.
        assert_eq!(crc16(&[0x70, 0x6A, 0x77]), 0x3299);
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn an_anchor_tag_has_genisoimages_bytes() {
        // AVDP at 256 pointing at the main VDS (32) and the reserve (48), 16 sectors each.
        let mut d = vec![0u8; 512];
        put32(&mut d, 16, 32768);
        put32(&mut d, 20, 32);
        put32(&mut d, 24, 32768);
        put32(&mut d, 28, 48);
        tag(&mut d, ident::AVDP, 256);
        assert_eq!(
            d[..16],
            [2, 0, 2, 0, 0xce, 0, 0, 0, 0x01, 0xd7, 0xf0, 0x01, 0, 1, 0, 0]
        );
    }

    #[test]
    fn cs0_takes_8_bits_when_it_can_and_dstrings_keep_whole_characters() {
        assert_eq!(cs0("ab"), [8, b'a', b'b']);
        assert_eq!(cs0("é"), [8, 0xE9]);
        assert_eq!(cs0("文"), [16, 0x65, 0x87]);
        assert_eq!(cs0("😀"), [16, 0xD8, 0x3D, 0xDE, 0x00]);
        let d = dstring("档案馆档案馆档案馆档案馆档案馆档案馆", 32);
        assert_eq!(
            d[31], 31,
            "15 characters of 2 bytes and the compression byte"
        );
        assert_eq!(dstring("", 32), [0u8; 32]);
        let e = dstring("a😀😀😀😀😀😀😀😀", 16);
        assert_eq!(e[15], 1 + 2 + 12, "no surrogate pair cut: {e:?}");
    }
}
