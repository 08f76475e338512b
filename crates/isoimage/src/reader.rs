//! A defensive ISO 9660 reader: Rock Ridge names first, then Joliet, then plain ISO names.
//!
//! It reads images written by anyone, including crafted ones (an image is input from a disc:
//! nothing in it is trusted). Reported as [`IsoError::Corrupt`] instead of being followed:
//!
//! - directory loops (a directory whose extent is that of a directory already met: itself, an
//!   ancestor or another one) and directories whose extents overlap, trees deeper than
//!   [`Limits::depth`];
//! - directory and file extents that end beyond the image (its volume space size), directories
//!   larger than [`Limits::dir_bytes`];
//! - beyond the budget ([`Limits`]): more directory bytes (continuation areas included) in
//!   all, more entries, more bytes of names in the listing than it allows: what reading a
//!   hostile image may cost in memory and time is bounded whatever it claims;
//! - Rock Ridge continuation areas out of range or chained more than [`MAX_CE_HOPS`] times;
//! - names that are empty, `.` or `..`, longer than [`MAX_NAME_BYTES`], or hold `/` or NUL.
//!
//! Names are returned as raw byte components (any other bytes, UTF-8 or not): the caller still
//! decides what is safe to create. Files may share extents (hard links, identical contents).

use crate::{IsoError, Result, SECTOR};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};

/// What reading one image may cost: [`IsoReader::entries`] stops with [`IsoError::Corrupt`]
/// beyond any of these. The defaults read every image a disc can hold (a listing of millions of
/// files takes a few hundred MiB of directories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest directory tree.
    pub depth: usize,
    /// Largest directory.
    pub dir_bytes: u64,
    /// Directory bytes read in all, continuation areas included.
    pub total_dir_bytes: u64,
    /// Entries listed.
    pub entries: usize,
    /// Bytes of the listing's names (every entry's components) in all.
    pub path_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: 256,
            dir_bytes: 256 << 20,
            total_dir_bytes: 1 << 30,
            entries: 8_000_000,
            path_bytes: 2 << 30,
        }
    }
}
/// Longest name component (Rock Ridge names are at most 255 bytes on every POSIX system; a
/// Joliet name of 103 characters takes up to 309 bytes in UTF-8).
pub const MAX_NAME_BYTES: usize = 1024;
/// Continuation areas followed for one record.
pub const MAX_CE_HOPS: usize = 64;

/// Where the names of an image come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSource {
    RockRidge,
    Joliet,
    Iso9660,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsoEntryKind {
    File,
    Dir,
    Symlink(Vec<u8>),
}

/// One entry found in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoEntry {
    /// Name components from the root, exactly as recorded: never empty, `.` or `..`, never
    /// holding `/` or NUL (an image with such a name is refused), any other bytes (UTF-8 or
    /// not: the caller decides what it can create).
    pub components: Vec<Vec<u8>>,
    pub kind: IsoEntryKind,
    pub size: u64,
    /// Data extents: (first sector, length in bytes).
    pub extents: Vec<(u32, u64)>,
    pub mode: Option<u32>,
    pub mtime: Option<i64>,
}

impl IsoEntry {
    /// The path with components joined by `/` (lossy for display).
    pub fn display_path(&self) -> String {
        self.components
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The path as raw bytes joined by `/`.
    pub fn path_bytes(&self) -> Vec<u8> {
        self.components.join(&b'/')
    }
}

/// Reads the directory tree and file contents of an image.
pub struct IsoReader<R> {
    src: R,
    volume_id: String,
    /// The primary descriptor's application identifier (who made the image).
    application_id: String,
    total_sectors: u32,
    root: (u32, u32),
    names: NameSource,
    susp_skip: usize,
    /// Sectors last read for continuation areas: (first sector, bytes).
    ce_window: Option<(u32, Vec<u8>)>,
    limits: Limits,
    /// Directory bytes read so far (against [`Limits::total_dir_bytes`]).
    dir_bytes: u64,
    /// Name bytes listed so far (against [`Limits::path_bytes`]).
    path_bytes: u64,
}

struct RawRecord {
    extent: u32,
    len: u32,
    flags: u8,
    id: Vec<u8>,
    su: Vec<u8>,
    date: [u8; 7],
}

impl<R: Read + Seek> IsoReader<R> {
    /// Opens an image, choosing Rock Ridge names when present, else Joliet, else ISO 9660.
    pub fn open(mut src: R) -> Result<Self> {
        let mut primary: Option<Vec<u8>> = None;
        let mut joliet: Option<Vec<u8>> = None;
        for i in 16..16 + 64u64 {
            let mut d = vec![0u8; SECTOR as usize];
            src.seek(SeekFrom::Start(i * SECTOR))?;
            if let Err(e) = src.read_exact(&mut d) {
                if i == 16 {
                    return Err(IsoError::NotIso(format!("cannot read sector 16: {e}")));
                }
                break;
            }
            if &d[1..6] != b"CD001" {
                if i == 16 {
                    return Err(IsoError::NotIso("no CD001 volume descriptor".into()));
                }
                break;
            }
            match d[0] {
                1 if primary.is_none() => primary = Some(d),
                2 if joliet.is_none() && matches!(&d[88..91], b"%/@" | b"%/C" | b"%/E") => {
                    joliet = Some(d)
                }
                255 => break,
                _ => {}
            }
        }
        let pvd = primary.ok_or_else(|| IsoError::NotIso("no primary volume descriptor".into()))?;
        let total_sectors = le32(&pvd[80..84]);
        let volume_id = String::from_utf8_lossy(&pvd[40..72]).trim_end().to_string();
        let application_id = String::from_utf8_lossy(&pvd[574..702])
            .trim_end()
            .to_string();
        let root_of = |d: &[u8]| (le32(&d[158..162]), le32(&d[166..170]));
        let mut reader = IsoReader {
            src,
            volume_id,
            application_id,
            total_sectors,
            root: root_of(&pvd),
            names: NameSource::Iso9660,
            susp_skip: 0,
            ce_window: None,
            limits: Limits::default(),
            dir_bytes: 0,
            path_bytes: 0,
        };
        // Rock Ridge: the root's "." record starts its system use area with SP.
        let root_dir = reader.read_dir_bytes(reader.root.0, reader.root.1)?;
        if let Some(dot) = parse_records(&root_dir)?.into_iter().next() {
            if dot.su.len() >= 7 && &dot.su[0..2] == b"SP" && dot.su[4..6] == [0xBE, 0xEF] {
                reader.names = NameSource::RockRidge;
                reader.susp_skip = dot.su[6] as usize;
            }
        }
        if reader.names == NameSource::Iso9660 {
            if let Some(j) = joliet {
                reader.root = root_of(&j);
                reader.names = NameSource::Joliet;
            }
        }
        Ok(reader)
    }

    /// Reads with other limits than the defaults.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub fn volume_id(&self) -> &str {
        &self.volume_id
    }

    /// The application identifier of the primary volume descriptor: what made the image.
    pub fn application_id(&self) -> &str {
        &self.application_id
    }

    pub fn total_sectors(&self) -> u32 {
        self.total_sectors
    }

    pub fn name_source(&self) -> NameSource {
        self.names
    }

    /// Whether an extent of `len` bytes from sector `lba` ends within the image.
    fn within(&self, lba: u32, len: u64) -> bool {
        lba as u64 + len.div_ceil(SECTOR) <= self.total_sectors as u64
    }

    fn read_dir_bytes(&mut self, lba: u32, len: u32) -> Result<Vec<u8>> {
        if len as u64 > self.limits.dir_bytes {
            return Err(IsoError::Corrupt(format!(
                "directory at sector {lba} claims {len} bytes"
            )));
        }
        if !self.within(lba, len as u64) {
            return Err(IsoError::Corrupt(format!(
                "directory at sector {lba} ({len} bytes) ends beyond the image's {} sectors",
                self.total_sectors
            )));
        }
        self.dir_bytes += len as u64;
        if self.dir_bytes > self.limits.total_dir_bytes {
            return Err(IsoError::Corrupt(format!(
                "more than {} bytes of directories (at sector {lba}): overlapping or absurd \
                 directory extents",
                self.limits.total_dir_bytes
            )));
        }
        self.src.seek(SeekFrom::Start(lba as u64 * SECTOR))?;
        // Read as it comes (not allocated first): a short image cannot make us allocate what
        // it claims.
        let mut buf = Vec::new();
        (&mut self.src)
            .take(len as u64)
            .read_to_end(&mut buf)
            .map_err(|e| IsoError::Corrupt(format!("directory at sector {lba} unreadable: {e}")))?;
        if buf.len() < len as usize {
            return Err(IsoError::Corrupt(format!(
                "directory at sector {lba} unreadable: the image ends after {} of its {len} bytes",
                buf.len()
            )));
        }
        Ok(buf)
    }

    /// Reads a Rock Ridge continuation area through a window of sectors: the areas of one
    /// directory's entries lie side by side, and a seek for each would cost a read each.
    fn continuation_area(&mut self, lba: u32, off: u32, len: u32) -> Result<Vec<u8>> {
        const WINDOW: u32 = 16;
        let hit = |w: &(u32, Vec<u8>)| {
            lba >= w.0 && (lba - w.0) as u64 * SECTOR + off as u64 + len as u64 <= w.1.len() as u64
        };
        if !self.ce_window.as_ref().is_some_and(hit) {
            let sectors = WINDOW.min(self.total_sectors.saturating_sub(lba)).max(1);
            let mut buf = vec![0u8; (sectors as u64 * SECTOR) as usize];
            self.src.seek(SeekFrom::Start(lba as u64 * SECTOR))?;
            let mut got = 0;
            while got < buf.len() {
                match self.src.read(&mut buf[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(IsoError::Corrupt(format!(
                            "continuation area at sector {lba}: {e}"
                        )))
                    }
                }
            }
            buf.truncate(got);
            self.dir_bytes += got as u64;
            self.ce_window = Some((lba, buf));
        }
        // Continuation areas count as directory bytes: records pointing far and wide would
        // otherwise load window after window.
        self.dir_bytes += len as u64;
        if self.dir_bytes > self.limits.total_dir_bytes {
            return Err(IsoError::Corrupt(format!(
                "more than {} bytes of directories and continuation areas (at sector {lba})",
                self.limits.total_dir_bytes
            )));
        }
        let w = self.ce_window.as_ref().unwrap();
        if !hit(w) {
            return Err(IsoError::Corrupt(format!(
                "continuation area at sector {lba}: the image ends before it"
            )));
        }
        let start = ((lba - w.0) as u64 * SECTOR + off as u64) as usize;
        Ok(w.1[start..start + len as usize].to_vec())
    }

    /// All entries, depth first, directories before their contents.
    pub fn entries(&mut self) -> Result<Vec<IsoEntry>> {
        let mut out = Vec::new();
        (self.dir_bytes, self.path_bytes) = (0, 0);
        let mut seen = Dirs::default();
        seen.claim(self.root.0, self.root.1)
            .map_err(|_| IsoError::Corrupt("root directory".into()))?;
        let root = self.root;
        self.walk(root, &mut Vec::new(), &mut seen, &mut out)?;
        Ok(out)
    }

    fn walk(
        &mut self,
        dir: (u32, u32),
        prefix: &mut Vec<Vec<u8>>,
        seen: &mut Dirs,
        out: &mut Vec<IsoEntry>,
    ) -> Result<()> {
        if prefix.len() > self.limits.depth {
            return Err(IsoError::Corrupt(format!(
                "directory tree deeper than {}",
                self.limits.depth
            )));
        }
        let records = parse_records(&self.read_dir_bytes(dir.0, dir.1)?)?;
        let mut pending: Option<IsoEntry> = None;
        for r in records.into_iter().skip(2) {
            let rr = if self.names == NameSource::RockRidge {
                Some(self.rock_ridge(&r.su)?)
            } else {
                None
            };
            let name = match (&rr, self.names) {
                (Some(rr), _) if rr.name.is_some() => rr.name.clone().unwrap(),
                (_, NameSource::Joliet) => {
                    let units: Vec<u16> =
                        r.id.chunks(2)
                            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                            .collect();
                    let s = String::from_utf16_lossy(&units);
                    strip_version(&s).into_bytes()
                }
                _ => {
                    let s = String::from_utf8_lossy(&r.id).into_owned();
                    strip_version(&s).to_ascii_lowercase().into_bytes()
                }
            };
            check_name(&name, prefix)?;
            let is_dir = r.flags & 2 != 0;
            if !is_dir && !self.within(r.extent, r.len as u64) {
                return Err(IsoError::Corrupt(format!(
                    "{:?}: extent at sector {} ({} bytes) ends beyond the image's {} sectors",
                    display(prefix, &name),
                    r.extent,
                    r.len,
                    self.total_sectors
                )));
            }
            if out.len() >= self.limits.entries {
                return Err(IsoError::Corrupt(format!(
                    "more than {} entries in the image",
                    self.limits.entries
                )));
            }
            let mtime = rr
                .as_ref()
                .and_then(|x| x.mtime)
                .or_else(|| Some(parse_dir_date(&r.date)));
            let mode = rr.as_ref().and_then(|x| x.mode);
            let symlink = rr.as_ref().and_then(|x| x.symlink.clone());
            // Multi-extent: continue a pending entry with the same name.
            if let Some(p) = pending.as_mut() {
                if p.components.last() == Some(&name) {
                    p.extents.push((r.extent, r.len as u64));
                    p.size += r.len as u64;
                    // Extents may be shared, but a file never holds more than the image.
                    if p.size > self.total_sectors as u64 * SECTOR {
                        return Err(IsoError::Corrupt(format!(
                            "{:?}: {} bytes in {} extents, more than the image's {} sectors",
                            p.display_path(),
                            p.size,
                            p.extents.len(),
                            self.total_sectors
                        )));
                    }
                    if r.flags & 0x80 == 0 {
                        out.push(pending.take().unwrap());
                    }
                    continue;
                }
                out.push(pending.take().unwrap());
            }
            let mut components = prefix.clone();
            components.push(name.clone());
            self.path_bytes += components.iter().map(|c| c.len() as u64 + 1).sum::<u64>();
            if self.path_bytes > self.limits.path_bytes {
                return Err(IsoError::Corrupt(format!(
                    "more than {} bytes of names in the listing",
                    self.limits.path_bytes
                )));
            }
            if is_dir {
                out.push(IsoEntry {
                    components,
                    kind: IsoEntryKind::Dir,
                    size: 0,
                    extents: vec![],
                    mode,
                    mtime,
                });
                match seen.claim(r.extent, r.len) {
                    Ok(()) => {}
                    Err(other) if other == r.extent => {
                        return Err(IsoError::Corrupt(format!(
                            "directory loop at {:?}: its extent (sector {}) is that of a \
                             directory already listed",
                            display(prefix, &name),
                            r.extent
                        )))
                    }
                    Err(other) => {
                        return Err(IsoError::Corrupt(format!(
                            "{:?}: its extent (sector {}, {} bytes) overlaps the directory at \
                             sector {other}",
                            display(prefix, &name),
                            r.extent,
                            r.len
                        )))
                    }
                }
                prefix.push(name);
                self.walk((r.extent, r.len), prefix, seen, out)?;
                prefix.pop();
                continue;
            }
            let entry = IsoEntry {
                components,
                kind: match symlink {
                    Some(t) => IsoEntryKind::Symlink(t),
                    None => IsoEntryKind::File,
                },
                size: r.len as u64,
                extents: if r.len > 0 {
                    vec![(r.extent, r.len as u64)]
                } else {
                    vec![]
                },
                mode,
                mtime,
            };
            if r.flags & 0x80 != 0 {
                pending = Some(entry);
            } else {
                out.push(entry);
            }
        }
        if let Some(p) = pending {
            out.push(p);
        }
        Ok(())
    }

    fn rock_ridge(&mut self, su: &[u8]) -> Result<RrInfo> {
        let mut info = RrInfo::default();
        let mut area = su.get(self.susp_skip..).unwrap_or(&[]).to_vec();
        let mut name: Vec<u8> = Vec::new();
        let mut have_name = false;
        let mut link: Vec<u8> = Vec::new();
        let mut have_link = false;
        let mut link_comp_continues = false;
        for hop in 0..=MAX_CE_HOPS {
            let mut next: Option<(u32, u32, u32)> = None;
            let mut i = 0;
            while i + 4 <= area.len() {
                let sig = [area[i], area[i + 1]];
                let len = area[i + 2] as usize;
                if len < 4 || i + len > area.len() {
                    break;
                }
                let body = &area[i + 4..i + len];
                match &sig {
                    // Flags 2 and 4 (CURRENT, PARENT) carry no name.
                    b"NM" if !body.is_empty() && body[0] & 0x06 == 0 => {
                        name.extend_from_slice(&body[1..]);
                        have_name = true;
                    }
                    b"PX" if body.len() >= 8 => info.mode = Some(le32(&body[0..4])),
                    b"TF" if !body.is_empty() => {
                        let flags = body[0];
                        let long = flags & 0x80 != 0;
                        let w = if long { 17 } else { 7 };
                        let mut at = 1;
                        for bit in 0..4 {
                            if flags & (1 << bit) != 0 {
                                if bit == 1 && at + w <= body.len() && !long {
                                    let d: [u8; 7] = body[at..at + 7].try_into().unwrap();
                                    info.mtime = Some(parse_dir_date(&d));
                                }
                                at += w;
                            }
                        }
                    }
                    b"SL" if !body.is_empty() => {
                        have_link = true;
                        let mut j = 1;
                        while j + 2 <= body.len() {
                            let f = body[j];
                            let l = body[j + 1] as usize;
                            let content = body.get(j + 2..j + 2 + l).unwrap_or(&[]);
                            if !link_comp_continues && !link.is_empty() && link != b"/" {
                                link.push(b'/');
                            }
                            if f & 0x08 != 0 {
                                link.clear();
                                link.push(b'/');
                            } else if f & 0x02 != 0 {
                                link.push(b'.');
                            } else if f & 0x04 != 0 {
                                link.extend_from_slice(b"..");
                            } else {
                                link.extend_from_slice(content);
                            }
                            link_comp_continues = f & 0x01 != 0;
                            j += 2 + l;
                        }
                    }
                    b"CE" if body.len() >= 24 => {
                        next = Some((le32(&body[0..4]), le32(&body[8..12]), le32(&body[16..20])));
                    }
                    b"ST" => break,
                    _ => {}
                }
                i += len;
            }
            match next {
                Some((lba, _, _)) if hop == MAX_CE_HOPS => {
                    return Err(IsoError::Corrupt(format!(
                        "Rock Ridge continuation areas chained more than {MAX_CE_HOPS} times \
                         (a loop?) at sector {lba}"
                    )))
                }
                Some((lba, off, len)) => {
                    if off as u64 + len as u64 > SECTOR || lba >= self.total_sectors.max(1) {
                        return Err(IsoError::Corrupt(format!(
                            "Rock Ridge continuation area out of range at sector {lba}"
                        )));
                    }
                    area = self.continuation_area(lba, off, len)?;
                }
                None => break,
            }
        }
        if have_name {
            info.name = Some(name);
        }
        if have_link {
            info.symlink = Some(link);
        }
        Ok(info)
    }

    /// Copies the data of `entry` to `out`, extent by extent.
    pub fn read_file(&mut self, entry: &IsoEntry, out: &mut dyn Write) -> Result<u64> {
        copy_extents(&mut self.src, &entry.extents, out)
    }

    /// The underlying source, for callers that read extents themselves.
    pub fn source(&mut self) -> &mut R {
        &mut self.src
    }
}

/// Copies the data of `extents` (first sector, bytes) from `src` to `out`, in order: a file's
/// data, whichever tree listed it. An image that ends inside them is an error saying so.
pub(crate) fn copy_extents<R: Read + Seek>(
    src: &mut R,
    extents: &[(u32, u64)],
    out: &mut dyn Write,
) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    for &(lba, len) in extents {
        src.seek(SeekFrom::Start(lba as u64 * SECTOR))?;
        let mut left = len;
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            src.read_exact(&mut buf[..k]).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "the image ends inside this file's data (extent at sector {lba}, {} of {len} bytes read): truncated image?",
                            len - left
                        ),
                    )
                } else {
                    std::io::Error::new(e.kind(), format!("sector {lba}+: {e}"))
                }
            })?;
            out.write_all(&buf[..k])?;
            left -= k as u64;
            total += k as u64;
        }
    }
    Ok(total)
}

/// The extents of the directories listed so far, as sector ranges: a directory met twice (a
/// loop) or overlapping another is refused.
#[derive(Default)]
struct Dirs(BTreeMap<u32, u64>);

impl Dirs {
    /// Records a directory's extent; the start of the one it meets, if any.
    fn claim(&mut self, lba: u32, len: u32) -> std::result::Result<(), u32> {
        let end = lba as u64 + (len as u64).div_ceil(SECTOR).max(1);
        if let Some((&start, &e)) = self.0.range(..=lba).next_back() {
            if e > lba as u64 {
                return Err(start);
            }
        }
        if let Some((&start, _)) = self.0.range(lba..).next() {
            if (start as u64) < end {
                return Err(start);
            }
        }
        self.0.insert(lba, end);
        Ok(())
    }
}

#[derive(Default)]
struct RrInfo {
    name: Option<Vec<u8>>,
    mode: Option<u32>,
    mtime: Option<i64>,
    symlink: Option<Vec<u8>>,
}

/// A path for messages.
fn display(prefix: &[Vec<u8>], name: &[u8]) -> String {
    let mut p: Vec<&[u8]> = prefix.iter().map(|c| &c[..]).collect();
    p.push(name);
    String::from_utf8_lossy(&p.join(&b'/')).into_owned()
}

/// Refuses a name that is not one component: empty, `.`, `..`, holding `/` or NUL, or longer
/// than [`MAX_NAME_BYTES`].
fn check_name(name: &[u8], prefix: &[Vec<u8>]) -> Result<()> {
    let why = if name.is_empty() {
        "an empty name"
    } else if name == b"." || name == b".." {
        "a '.' or '..' name"
    } else if name.contains(&b'/') {
        "a name holding '/'"
    } else if name.contains(&0) {
        "a name holding NUL"
    } else if name.len() > MAX_NAME_BYTES {
        "a name longer than 1024 bytes"
    } else {
        return Ok(());
    };
    let folder = if prefix.is_empty() {
        "/".to_string()
    } else {
        String::from_utf8_lossy(&prefix.join(&b'/')).into_owned()
    };
    Err(IsoError::Corrupt(format!(
        "{why}: {:?} in folder {folder:?}",
        String::from_utf8_lossy(&name[..name.len().min(64)])
    )))
}

fn strip_version(s: &str) -> String {
    let s = match s.rfind(';') {
        Some(p) if s[p + 1..].chars().all(|c| c.is_ascii_digit()) => &s[..p],
        _ => s,
    };
    s.strip_suffix('.').unwrap_or(s).to_string()
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn parse_records(bytes: &[u8]) -> Result<Vec<RawRecord>> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < bytes.len() {
        let len = bytes[i] as usize;
        if len == 0 {
            // Padding to the end of the sector.
            i = (i / SECTOR as usize + 1) * SECTOR as usize;
            continue;
        }
        if len < 34 || i + len > bytes.len() {
            return Err(IsoError::Corrupt(format!(
                "directory record of length {len} at offset {i}"
            )));
        }
        let r = &bytes[i..i + len];
        let id_len = r[32] as usize;
        if 33 + id_len > len {
            return Err(IsoError::Corrupt(format!(
                "directory record identifier overruns its record at offset {i}"
            )));
        }
        let su_start = 33 + id_len + (id_len + 1) % 2;
        out.push(RawRecord {
            extent: le32(&r[2..6]),
            len: le32(&r[10..14]),
            flags: r[25],
            id: r[33..33 + id_len].to_vec(),
            su: r.get(su_start..).unwrap_or(&[]).to_vec(),
            date: r[18..25].try_into().unwrap(),
        });
        i += len;
    }
    Ok(out)
}

pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn parse_dir_date(d: &[u8; 7]) -> i64 {
    let y = 1900 + d[0] as i64;
    let m = d[1].clamp(1, 12) as u32;
    let day = d[2].clamp(1, 31) as u32;
    let offset = (d[6] as i8) as i64 * 15 * 60;
    days_from_civil(y, m, day) * 86400 + d[3] as i64 * 3600 + d[4] as i64 * 60 + d[5] as i64
        - offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_extents_may_not_meet_or_overlap() {
        let mut d = Dirs::default();
        assert_eq!(d.claim(100, 4096), Ok(())); // sectors 100, 101
        assert_eq!(d.claim(102, 0), Ok(())); // an empty directory takes its sector
        assert_eq!(d.claim(103, 2049), Ok(())); // 103, 104
        assert_eq!(d.claim(100, 2048), Err(100)); // the same extent: a loop
        assert_eq!(d.claim(101, 10), Err(100)); // inside the first
        assert_eq!(d.claim(99, 4096), Err(100)); // running into it
        assert_eq!(d.claim(102, 1), Err(102));
        assert_eq!(d.claim(104, 1), Err(103));
        assert_eq!(d.claim(98, 2048), Ok(()));
        assert_eq!(d.claim(105, u32::MAX), Ok(()));
        assert_eq!(d.claim(2_000_000, 1), Err(105)); // within 4 GiB of sector 105
        assert_eq!(d.claim(u32::MAX, u32::MAX), Ok(()));
    }

    #[test]
    fn date_roundtrip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 1, 1), 19723);
        for days in [-25000i64, 0, 1, 59, 60, 19723, 50000] {
            let (y, m, d) = crate::writer::civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
