//! A defensive UDF reader: the UDF tree of a bridge image (or of a UDF-only one), as the same
//! [`IsoEntry`] values the ISO 9660 reader gives, so that a disc whose ISO 9660 tree is damaged
//! is still read through its UDF tree.
//!
//! Nothing in an image is trusted. Refused with [`IsoError::CorruptUdf`], never followed: a
//! descriptor whose tag checksum, CRC, identifier, version or recorded location is wrong;
//! extents outside the partition or the image, allocation descriptors that do not add up to
//! the file's length; directory loops (a directory entry met twice) and trees deeper than
//! [`Limits::depth`]; the budget of [`Limits`] (directory bytes, entries, name bytes); names
//! that are empty, `.` or `..`, hold `/` or NUL, or are twice in one directory. What this
//! reader does not read (several partitions, virtual or sparable maps, data embedded in a
//! file's entry, extents continued elsewhere) is an error saying so.

use super::encode::{crc16, tag_checksum};
use crate::reader::{copy_extents, IsoEntry, IsoEntryKind, Limits, MAX_NAME_BYTES};
use crate::{IsoError, Result, SECTOR};
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};

const S: usize = SECTOR as usize;

fn corrupt(what: impl Into<String>) -> IsoError {
    IsoError::CorruptUdf(what.into())
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Checks the tag at the start of `d`: identifier, version 2 or 3, checksum, recorded
/// location, and the CRC of the bytes it covers (which must lie within `d`).
fn check_tag(d: &[u8], id: u16, location: u32, what: &str) -> Result<()> {
    if d.len() < 16 {
        return Err(corrupt(format!("{what}: too short")));
    }
    if le16(d, 0) != id {
        return Err(corrupt(format!(
            "{what}: tag {} where {id} belongs",
            le16(d, 0)
        )));
    }
    if !matches!(le16(d, 2), 2 | 3) || d[5] != 0 {
        return Err(corrupt(format!(
            "{what}: descriptor version {}",
            le16(d, 2)
        )));
    }
    if tag_checksum(d) != d[4] {
        return Err(corrupt(format!("{what}: tag checksum")));
    }
    if le32(d, 12) != location {
        return Err(corrupt(format!(
            "{what}: recorded at {} but read at {location}",
            le32(d, 12)
        )));
    }
    let len = le16(d, 10) as usize;
    if 16 + len > d.len() {
        return Err(corrupt(format!("{what}: CRC length {len} beyond it")));
    }
    if crc16(&d[16..16 + len]) != le16(d, 8) {
        return Err(corrupt(format!("{what}: CRC")));
    }
    Ok(())
}

/// Decodes an OSTA CS0 identifier (compression 8 or 16) to UTF-8 bytes.
pub(super) fn cs0_decode(b: &[u8]) -> Result<Vec<u8>> {
    let (&id, rest) = b.split_first().ok_or_else(|| corrupt("an empty name"))?;
    let s: String = match id {
        8 => rest.iter().map(|&c| c as char).collect(),
        16 => {
            if rest.len() % 2 != 0 {
                return Err(corrupt("a 16-bit name of an odd length"));
            }
            let units = rest.chunks(2).map(|u| u16::from_be_bytes([u[0], u[1]]));
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        other => return Err(corrupt(format!("name compression {other}"))),
    };
    Ok(s.into_bytes())
}

/// The UDF volume of an image, its tree read defensively.
pub struct UdfReader<R> {
    src: R,
    /// Sectors in the image.
    sectors: u64,
    partition_start: u64,
    partition_len: u64,
    root_icb: u32,
    volume_id: String,
    limits: Limits,
    dir_bytes: u64,
    path_bytes: u64,
}

/// A file entry, as far as the reader needs it.
struct FileEntry {
    /// The block it was read from.
    at: u32,
    file_type: u8,
    size: u64,
    /// Recorded extents: (first partition block, bytes).
    extents: Vec<(u32, u64)>,
    mode: u32,
    mtime: Option<i64>,
    /// The data recorded in the entry itself (a small directory's identifiers).
    embedded: Option<Vec<u8>>,
}

impl<R: Read + Seek> UdfReader<R> {
    /// Opens the UDF volume of an image: `Ok(None)` when the image has none (no NSR
    /// descriptor in its volume recognition sequence).
    pub fn open(mut src: R) -> Result<Option<Self>> {
        let bytes = src.seek(SeekFrom::End(0))?;
        let sectors = bytes / SECTOR;
        // The recognition sequence: from sector 16, ISO 9660 and extended-area descriptors
        // until an NSR descriptor (found) or anything else (none).
        let mut found = false;
        for i in 16..(16 + 64).min(sectors) {
            let mut d = [0u8; 7];
            src.seek(SeekFrom::Start(i * SECTOR))?;
            src.read_exact(&mut d)?;
            match &d[1..6] {
                b"NSR02" | b"NSR03" => {
                    found = true;
                    break;
                }
                b"CD001" | b"BEA01" | b"BOOT2" | b"CDW02" => {}
                _ => break,
            }
        }
        // A disc whose first sectors are damaged may still hold its anchor: a valid one at 256
        // is a UDF volume too (7-Zip looks only there).
        if !found && sectors > 256 {
            let mut d = vec![0u8; S];
            src.seek(SeekFrom::Start(256 * SECTOR))?;
            src.read_exact(&mut d)?;
            found = check_tag(&d[..512], 2, 256, "anchor").is_ok();
        }
        if !found {
            return Ok(None);
        }
        let mut r = UdfReader {
            src,
            sectors,
            partition_start: 0,
            partition_len: 0,
            root_icb: 0,
            volume_id: String::new(),
            limits: Limits::default(),
            dir_bytes: 0,
            path_bytes: 0,
        };
        // The anchor: at 256, else in the last sector, else 256 before it.
        let mut anchor = None;
        let mut why = None;
        for at in [256, sectors.saturating_sub(1), sectors.saturating_sub(257)] {
            if at < 256 || at >= sectors {
                continue;
            }
            let d = r.sector(at)?;
            match check_tag(&d[..512], 2, at as u32, &format!("anchor at sector {at}")) {
                Ok(()) => {
                    anchor = Some(d);
                    break;
                }
                Err(e) => why = Some(e),
            }
        }
        let anchor = anchor
            .ok_or_else(|| why.unwrap_or_else(|| corrupt("no anchor volume descriptor pointer")))?;
        let main = (le32(&anchor, 16), le32(&anchor, 20));
        let reserve = (le32(&anchor, 24), le32(&anchor, 28));
        match r.read_vds(main) {
            Ok(()) => {}
            Err(main_err) => r.read_vds(reserve).map_err(|_| main_err)?,
        }
        Ok(Some(r))
    }

    /// Reads with other limits than the defaults.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The logical volume's identifier (the label readers show).
    pub fn volume_id(&self) -> &str {
        &self.volume_id
    }

    /// Sectors the volume spans: its partition and the anchor after it (as a bridge image is
    /// laid out), at most the image's.
    pub fn total_sectors(&self) -> u64 {
        (self.partition_start + self.partition_len + 1).min(self.sectors)
    }

    /// Copies the data of `entry` (one of [`UdfReader::entries`]) to `out`, extent by extent.
    pub fn read_file(&mut self, entry: &IsoEntry, out: &mut dyn Write) -> Result<u64> {
        copy_extents(&mut self.src, &entry.extents, out)
    }

    /// The underlying source, for callers that read extents themselves.
    pub fn source(&mut self) -> &mut R {
        &mut self.src
    }

    fn sector(&mut self, at: u64) -> Result<Vec<u8>> {
        if at >= self.sectors {
            return Err(corrupt(format!("sector {at} beyond the image")));
        }
        let mut d = vec![0u8; S];
        self.src.seek(SeekFrom::Start(at * SECTOR))?;
        self.src.read_exact(&mut d)?;
        Ok(d)
    }

    /// A block of the partition.
    fn block(&mut self, lbn: u32) -> Result<Vec<u8>> {
        if lbn as u64 >= self.partition_len {
            return Err(corrupt(format!("block {lbn} beyond the partition")));
        }
        self.sector(self.partition_start + lbn as u64)
    }

    /// A volume descriptor sequence (`(bytes, first sector)`): the partition, the logical
    /// volume and its file set.
    fn read_vds(&mut self, (len, first): (u32, u32)) -> Result<()> {
        let count = (len as u64 / SECTOR).clamp(1, 64);
        let (mut lvd, mut pd): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
        for i in 0..count {
            let at = first as u64 + i;
            let d = self.sector(at)?;
            let id = le16(&d, 0);
            let size = match id {
                6 => 440 + (le32(&d, 264) as usize).min(S - 440),
                7 => 24 + 8 * (le32(&d, 20) as usize).min((S - 24) / 8),
                9 => S,
                _ => 512,
            };
            check_tag(
                &d[..size],
                id,
                at as u32,
                &format!("descriptor at sector {at}"),
            )?;
            match id {
                5 => pd = Some(d),
                6 => lvd = Some(d),
                8 => break,
                1..=7 => {}
                other => return Err(corrupt(format!("descriptor {other} in a sequence"))),
            }
        }
        let lvd = lvd.ok_or_else(|| corrupt("no logical volume descriptor"))?;
        let pd = pd.ok_or_else(|| corrupt("no partition descriptor"))?;
        if le32(&lvd, 212) != SECTOR as u32 {
            return Err(corrupt(format!("block size {}", le32(&lvd, 212))));
        }
        let (maps, map_len) = (le32(&lvd, 268), le32(&lvd, 264));
        if maps != 1 || map_len != 6 || lvd[440] != 1 || lvd[441] != 6 {
            return Err(corrupt(
                "partition maps other than one of type 1 (not read here)",
            ));
        }
        if le16(&lvd, 444) != le16(&pd, 22) {
            return Err(corrupt("the partition map names another partition"));
        }
        self.partition_start = le32(&pd, 188) as u64;
        self.partition_len = le32(&pd, 192) as u64;
        if self.partition_start + self.partition_len > self.sectors {
            return Err(corrupt("the partition ends beyond the image"));
        }
        self.volume_id = String::from_utf8_lossy(&dstring_decode(&lvd[84..212])).into_owned();
        // The file set descriptor: where the root's entry is.
        let (fsd_lbn, fsd_ref) = (le32(&lvd, 252), le16(&lvd, 256));
        if fsd_ref != 0 {
            return Err(corrupt(format!("file set in partition {fsd_ref}")));
        }
        let fsd = self.block(fsd_lbn)?;
        check_tag(&fsd[..512], 256, fsd_lbn, "file set descriptor")?;
        if le16(&fsd, 408) != 0 {
            return Err(corrupt("root directory in another partition"));
        }
        self.root_icb = le32(&fsd, 404);
        Ok(())
    }

    /// The file entry in block `lbn`.
    fn file_entry(&mut self, lbn: u32) -> Result<FileEntry> {
        let d = self.block(lbn)?;
        let what = format!("file entry at block {lbn}");
        let (header, at_ea) = match le16(&d, 0) {
            261 => (176usize, 168usize),
            266 => (216, 208),
            other => return Err(corrupt(format!("{what}: tag {other}"))),
        };
        let (l_ea, l_ad) = (le32(&d, at_ea) as usize, le32(&d, at_ea + 4) as usize);
        if l_ea > S || l_ad > S || header + l_ea + l_ad > S {
            return Err(corrupt(format!("{what}: lengths beyond its block")));
        }
        check_tag(&d[..header + l_ea + l_ad], le16(&d, 0), lbn, &what)?;
        if le16(&d, 20) != 4 {
            return Err(corrupt(format!("{what}: strategy {}", le16(&d, 20))));
        }
        let file_type = d[27];
        let size = le64(&d, 56);
        let ad_type = le16(&d, 34) & 7;
        let ads = &d[header + l_ea..header + l_ea + l_ad];
        let mut extents = Vec::new();
        let mut total = 0u64;
        let mtime_at = if header == 176 { 84 } else { 92 };
        let p = le32(&d, 44);
        let mut entry = FileEntry {
            at: lbn,
            file_type,
            size,
            extents: Vec::new(),
            mode: (p & 7) | ((p >> 5) & 7) << 3 | ((p >> 10) & 7) << 6,
            mtime: timestamp_decode(&d[mtime_at..mtime_at + 12]),
            embedded: None,
        };
        let step = match ad_type {
            0 => 8,
            1 => 16,
            3 if file_type == 4 => {
                if l_ad as u64 != size {
                    return Err(corrupt(format!(
                        "{what}: {l_ad} bytes in the entry for a length of {size}"
                    )));
                }
                entry.embedded = Some(ads.to_vec());
                return Ok(entry);
            }
            3 => {
                return Err(corrupt(format!(
                    "{what}: a file's data embedded in its entry (not read here)"
                )))
            }
            other => {
                return Err(corrupt(format!(
                    "{what}: allocation descriptor type {other}"
                )))
            }
        };
        if ads.len() % step != 0 {
            return Err(corrupt(format!("{what}: allocation descriptors' length")));
        }
        for ad in ads.chunks(step) {
            let raw = le32(ad, 0);
            let (kind, len) = (raw >> 30, (raw & 0x3FFF_FFFF) as u64);
            if len == 0 {
                break;
            }
            if kind != 0 {
                return Err(corrupt(format!(
                    "{what}: an extent of kind {kind} (unrecorded, or continued elsewhere)"
                )));
            }
            let lbn_x = le32(ad, 4);
            if step == 16 && le16(ad, 8) != 0 {
                return Err(corrupt(format!("{what}: an extent in another partition")));
            }
            if lbn_x as u64 * SECTOR + len > self.partition_len * SECTOR {
                return Err(corrupt(format!("{what}: an extent beyond the partition")));
            }
            total += len;
            extents.push((lbn_x, len));
        }
        if total != size {
            return Err(corrupt(format!(
                "{what}: extents of {total} bytes for a length of {size}"
            )));
        }
        entry.extents = extents;
        Ok(entry)
    }

    /// Every entry of the UDF tree, directories before what they hold.
    pub fn entries(&mut self) -> Result<Vec<IsoEntry>> {
        let mut out = Vec::new();
        (self.dir_bytes, self.path_bytes) = (0, 0);
        let mut seen = HashSet::new();
        let root = self.root_icb;
        let fe = self.file_entry(root)?;
        if fe.file_type != 4 {
            return Err(corrupt("the root is not a directory"));
        }
        seen.insert(root);
        let mut stack = vec![(Vec::<Vec<u8>>::new(), fe)];
        while let Some((path, dir)) = stack.pop() {
            if path.len() > self.limits.depth {
                return Err(corrupt("a tree deeper than the limit"));
            }
            if dir.size > self.limits.dir_bytes {
                return Err(corrupt(format!("a directory of {} bytes", dir.size)));
            }
            self.dir_bytes += dir.size;
            if self.dir_bytes > self.limits.total_dir_bytes {
                return Err(corrupt("more directory bytes than the limit"));
            }
            let mut data = Vec::with_capacity(dir.size as usize);
            let mut blocks = Vec::new();
            if let Some(inline) = &dir.embedded {
                // Identifiers in the entry: tagged with the entry's block.
                data.extend_from_slice(inline);
            }
            for &(lbn, len) in &dir.extents {
                for k in 0..len.div_ceil(SECTOR) {
                    blocks.push(lbn + k as u32);
                    let b = self.block(lbn + k as u32)?;
                    let take = (len - k * SECTOR).min(SECTOR) as usize;
                    data.extend_from_slice(&b[..take]);
                }
            }
            let mut names = HashSet::new();
            let mut at = 0usize;
            while at < data.len() {
                let what = format!("identifier at byte {at} of /{}", display(&path));
                if data.len() - at < 38 {
                    return Err(corrupt(format!("{what}: cut short")));
                }
                let (l_fi, l_iu) = (data[at + 19] as usize, le16(&data, at + 36) as usize);
                let len = (38 + l_iu + l_fi).div_ceil(4) * 4;
                if l_iu % 4 != 0 || l_fi == 1 || at + len > data.len() || len > S {
                    return Err(corrupt(format!("{what}: its lengths")));
                }
                let block = if dir.embedded.is_some() {
                    dir.at
                } else {
                    blocks[at / S]
                };
                check_tag(&data[at..at + len], 257, block, &what)?;
                if le16(&data, at + 10) as usize != len - 16 {
                    return Err(corrupt(format!("{what}: CRC length")));
                }
                let chars = data[at + 18];
                let icb = le32(&data, at + 24);
                let name_bytes = &data[at + 38 + l_iu..at + 38 + l_iu + l_fi];
                at += len;
                if chars & 0x0C != 0 {
                    continue; // the parent, or a deleted name
                }
                if le16(&data, at - len + 28) != 0 {
                    return Err(corrupt(format!("{what}: an entry in another partition")));
                }
                let name = cs0_decode(name_bytes)?;
                if name.is_empty()
                    || name == b"."
                    || name == b".."
                    || name.contains(&b'/')
                    || name.contains(&0)
                    || name.len() > MAX_NAME_BYTES
                {
                    return Err(corrupt(format!(
                        "{what}: the name {:?}",
                        String::from_utf8_lossy(&name)
                    )));
                }
                if !names.insert(name.clone()) {
                    return Err(corrupt(format!(
                        "{what}: {:?} twice in one directory",
                        String::from_utf8_lossy(&name)
                    )));
                }
                self.path_bytes +=
                    path.iter().map(|c| c.len() as u64 + 1).sum::<u64>() + name.len() as u64;
                if self.path_bytes > self.limits.path_bytes || out.len() >= self.limits.entries {
                    return Err(corrupt("more entries or name bytes than the limit"));
                }
                let child = self.file_entry(icb)?;
                let is_dir = chars & 0x02 != 0;
                if is_dir != (child.file_type == 4) {
                    return Err(corrupt(format!(
                        "{what}: a directory's name and a file's entry, or the reverse"
                    )));
                }
                let mut components = path.clone();
                components.push(name);
                let kind = match child.file_type {
                    4 => IsoEntryKind::Dir,
                    5 | 0 => IsoEntryKind::File,
                    // Links and other kinds are not in the listing (the ISO 9660 tree has them).
                    _ => continue,
                };
                let extents = child
                    .extents
                    .iter()
                    .map(|&(lbn, len)| ((self.partition_start + lbn as u64) as u32, len))
                    .collect();
                out.push(IsoEntry {
                    components: components.clone(),
                    kind: kind.clone(),
                    size: child.size,
                    extents,
                    mode: Some(child.mode),
                    mtime: child.mtime,
                });
                if kind == IsoEntryKind::Dir {
                    if !seen.insert(icb) {
                        return Err(corrupt(format!(
                            "/{}: a directory met twice (a loop)",
                            display(&components)
                        )));
                    }
                    stack.push((components, child));
                }
            }
        }
        Ok(out)
    }
}

fn display(path: &[Vec<u8>]) -> String {
    path.iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A `dstring`'s characters (its last byte is the length used).
fn dstring_decode(d: &[u8]) -> Vec<u8> {
    let used = *d.last().unwrap_or(&0) as usize;
    if used == 0 || used >= d.len() {
        return Vec::new();
    }
    cs0_decode(&d[..used]).unwrap_or_default()
}

/// A `timestamp` as Unix seconds, when it is one.
fn timestamp_decode(t: &[u8]) -> Option<i64> {
    let tz = le16(t, 0);
    let year = le16(t, 2) as i64;
    let (mo, d, h, mi, s) = (
        t[4] as u32,
        t[5] as u32,
        t[6] as i64,
        t[7] as i64,
        t[8] as i64,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = crate::reader::days_from_civil(year, mo, d);
    let mut secs = days * 86400 + h * 3600 + mi * 60 + s;
    if tz >> 12 == 1 {
        let off = ((tz & 0x0FFF) as i16) << 4 >> 4;
        if off != -2047 {
            secs -= off as i64 * 60;
        }
    }
    Some(secs)
}
