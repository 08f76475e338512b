//! Layout and streaming output of an image. See the crate docs for the format choices.

use crate::{components, EntryKind, ImageSpec, IsoError, Result, MAX_EXTENT, SECTOR};
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

const S: usize = SECTOR as usize;
/// First sector after the 16-sector system area: primary, Joliet, terminator.
const PVD_LBA: u32 = 16;
const FIRST_FREE_LBA: u32 = 19;
const CE_LEN: usize = 28;

const ER_ID: &[u8] = b"RRIP_1991A";
const ER_DES: &[u8] =
    b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
const ER_SRC: &[u8] = b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Dir { children: Vec<usize> },
    File { size: u64, entry: usize },
    Symlink { target: Vec<u8> },
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) name: Vec<u8>,
    pub(crate) parent: usize,
    pub(crate) kind: NodeKind,
    pub(crate) mode: u32,
    pub(crate) mtime: i64,
    /// ISO 9660 identifier in the primary tree (d-characters, with `.;1` for files).
    iso_name: Vec<u8>,
    /// Joliet identifier, UCS-2 big endian; empty when the node is not in the Joliet tree.
    joliet_name: Vec<u8>,
}

/// System use entries of one directory record, split between the record and continuation areas.
#[derive(Debug, Clone, Default)]
struct SuPlan {
    inline: Vec<u8>,
    /// Continuation areas, each already holding its entries; a trailing CE is appended when placed.
    areas: Vec<Vec<u8>>,
    /// Index of the first area in `Layout::ce_places`.
    first_area: usize,
}

impl SuPlan {
    fn inline_len(&self) -> usize {
        self.inline.len() + if self.areas.is_empty() { 0 } else { CE_LEN }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Place {
    lba: u32,
    offset: u32,
    len: u32,
}

#[derive(Debug, Clone, Default)]
struct DirLayout {
    lba: u32,
    size: u32,
    /// Sorted children (node ids).
    order: Vec<usize>,
    /// Sectors of Rock Ridge continuation areas right after the directory's extent.
    ce_sectors: u32,
}

/// Counts of what was written, returned by [`Layout::write`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub bytes: u64,
    pub files: u64,
}

/// The complete layout of an image: every extent is known before the first byte is written.
#[derive(Debug, Clone)]
pub struct Layout {
    spec: ImageSpecHeader,
    nodes: Vec<Node>,
    primary: HashMap<usize, DirLayout>,
    joliet: HashMap<usize, DirLayout>,
    primary_order: Vec<usize>,
    joliet_order: Vec<usize>,
    primary_pt: (u32, u32, u32), // L lba, M lba, size
    joliet_pt: (u32, u32, u32),
    child_su: Vec<SuPlan>,
    dot_su: HashMap<usize, SuPlan>,
    ce_places: Vec<Place>,
    /// Node id per entry of the spec, and the first data sector of each file node.
    file_lba: HashMap<usize, u32>,
    /// Files (node ids) in data order.
    data_order: Vec<usize>,
    total_sectors: u32,
    /// The UDF bridge's structures, when the spec asks for one.
    udf: Option<crate::udf::UdfPlan>,
    /// First sector of the ISO 9660 path tables: right after the descriptors, or after the
    /// UDF structures.
    iso_start: u32,
}

#[derive(Debug, Clone)]
struct ImageSpecHeader {
    volume_id: String,
    volume_set_id: String,
    publisher: String,
    preparer: String,
    application: String,
    created: i64,
}

fn sectors(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR)
}

impl Layout {
    /// Lays out the image described by `spec`.
    pub fn new(spec: &ImageSpec) -> Result<Layout> {
        let mut nodes = vec![Node {
            name: Vec::new(),
            parent: 0,
            kind: NodeKind::Dir {
                children: Vec::new(),
            },
            mode: 0o755,
            mtime: spec.created,
            iso_name: vec![0],
            joliet_name: vec![0],
        }];
        let mut by_path: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut explicit: HashSet<usize> = HashSet::new();
        let mut data_order = Vec::new();
        for (index, e) in spec.entries.iter().enumerate() {
            let comps = components(&e.path)?;
            let mut parent = 0usize;
            let mut prefix: Vec<u8> = Vec::new();
            for (i, c) in comps.iter().enumerate() {
                if !prefix.is_empty() {
                    prefix.push(b'/');
                }
                prefix.extend_from_slice(c);
                let last = i + 1 == comps.len();
                if let Some(&id) = by_path.get(&prefix) {
                    let is_dir = matches!(nodes[id].kind, NodeKind::Dir { .. });
                    if last {
                        if is_dir && e.kind == EntryKind::Dir && explicit.insert(id) {
                            nodes[id].mode = e.mode & 0o7777;
                            nodes[id].mtime = e.mtime;
                            break;
                        }
                        return Err(IsoError::Duplicate(
                            String::from_utf8_lossy(&prefix).into_owned(),
                        ));
                    }
                    if !is_dir {
                        return Err(IsoError::InvalidPath {
                            path: String::from_utf8_lossy(&e.path).into_owned(),
                            reason: "a parent component is not a directory",
                        });
                    }
                    parent = id;
                    continue;
                }
                let id = nodes.len();
                let (kind, mode, mtime) = if last {
                    match &e.kind {
                        EntryKind::Dir => {
                            explicit.insert(id);
                            (
                                NodeKind::Dir {
                                    children: Vec::new(),
                                },
                                e.mode,
                                e.mtime,
                            )
                        }
                        EntryKind::File { size } => {
                            data_order.push(id);
                            (
                                NodeKind::File {
                                    size: *size,
                                    entry: index,
                                },
                                e.mode,
                                e.mtime,
                            )
                        }
                        EntryKind::Symlink { target } => (
                            NodeKind::Symlink {
                                target: target.clone(),
                            },
                            0o777,
                            e.mtime,
                        ),
                    }
                } else {
                    (
                        NodeKind::Dir {
                            children: Vec::new(),
                        },
                        0o755,
                        spec.created,
                    )
                };
                nodes.push(Node {
                    name: c.to_vec(),
                    parent,
                    kind,
                    mode: mode & 0o7777,
                    mtime,
                    iso_name: Vec::new(),
                    joliet_name: Vec::new(),
                });
                if let NodeKind::Dir { children } = &mut nodes[parent].kind {
                    children.push(id);
                }
                by_path.insert(prefix.clone(), id);
                parent = id;
            }
        }
        assign_names(&mut nodes);
        let udf = if spec.udf {
            Some(crate::udf::UdfPlan::new(&nodes, &data_order)?)
        } else {
            None
        };
        let iso_start = match &udf {
            Some(u) => crate::udf::PARTITION_START + u.blocks,
            None => FIRST_FREE_LBA,
        };

        let mut layout = Layout {
            spec: ImageSpecHeader {
                volume_id: spec.volume_id.clone(),
                volume_set_id: spec.volume_set_id.clone(),
                publisher: spec.publisher.clone(),
                preparer: spec.preparer.clone(),
                application: spec.application.clone(),
                created: spec.created,
            },
            nodes,
            primary: HashMap::new(),
            joliet: HashMap::new(),
            primary_order: Vec::new(),
            joliet_order: Vec::new(),
            primary_pt: (0, 0, 0),
            joliet_pt: (0, 0, 0),
            child_su: Vec::new(),
            dot_su: HashMap::new(),
            ce_places: Vec::new(),
            file_lba: HashMap::new(),
            data_order,
            total_sectors: 0,
            udf,
            iso_start,
        };
        layout.plan()?;
        Ok(layout)
    }

    /// Size of the image in 2048-byte sectors.
    pub fn total_sectors(&self) -> u64 {
        self.total_sectors as u64
    }

    /// Size of the image in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total_sectors as u64 * SECTOR
    }

    /// Sectors used by everything but file data (descriptors, path tables, directories, Rock
    /// Ridge continuation areas).
    pub fn overhead_sectors(&self) -> u64 {
        let data: u64 = self
            .data_order
            .iter()
            .map(|&n| match self.nodes[n].kind {
                NodeKind::File { size, .. } => sectors(size),
                _ => 0,
            })
            .sum();
        self.total_sectors as u64 - data
    }

    /// First data sector of every file with data, by its index in the spec's entries.
    pub fn file_lbas(&self) -> HashMap<usize, u32> {
        self.data_order
            .iter()
            .filter_map(|&n| match self.nodes[n].kind {
                NodeKind::File { entry, size } if size > 0 => Some((entry, self.file_lba[&n])),
                _ => None,
            })
            .collect()
    }

    fn dirs_bfs(&self, joliet: bool) -> Vec<(usize, Vec<usize>)> {
        let mut out = Vec::new();
        let mut queue = std::collections::VecDeque::from([0usize]);
        while let Some(d) = queue.pop_front() {
            let NodeKind::Dir { children } = &self.nodes[d].kind else {
                unreachable!()
            };
            let mut order: Vec<usize> = children
                .iter()
                .copied()
                .filter(|&c| !joliet || !self.nodes[c].joliet_name.is_empty())
                .collect();
            if joliet {
                order.sort_by(|&a, &b| self.nodes[a].joliet_name.cmp(&self.nodes[b].joliet_name));
            } else {
                order.sort_by(|&a, &b| iso_cmp(&self.nodes[a].iso_name, &self.nodes[b].iso_name));
            }
            for &c in &order {
                if matches!(self.nodes[c].kind, NodeKind::Dir { .. }) {
                    queue.push_back(c);
                }
            }
            out.push((d, order));
        }
        out
    }

    fn extents_of(&self, node: usize) -> u64 {
        match self.nodes[node].kind {
            NodeKind::File { size, .. } if size > MAX_EXTENT => size.div_ceil(MAX_EXTENT),
            _ => 1,
        }
    }

    fn plan(&mut self) -> Result<()> {
        // System use plans of every record in the primary tree.
        let n = self.nodes.len();
        let mut child_su = Vec::with_capacity(n);
        for id in 0..n {
            let node = &self.nodes[id];
            let fixed = 33 + node.iso_name.len() + (node.iso_name.len() + 1) % 2;
            let entries = self.rr_entries(id, false);
            child_su.push(split_su(entries, 255 - fixed));
        }
        let mut dot_su = HashMap::new();
        for id in 0..n {
            if matches!(self.nodes[id].kind, NodeKind::Dir { .. }) {
                dot_su.insert(id, split_su(self.rr_entries(id, true), 255 - 34));
            }
        }
        self.child_su = child_su;
        self.dot_su = dot_su;

        let primary_dirs = self.dirs_bfs(false);
        let joliet_dirs = self.dirs_bfs(true);
        if primary_dirs.len() > 65535 {
            return Err(IsoError::TooLarge("more than 65535 directories"));
        }
        let mut lba = self.iso_start;
        let pt_size = |dirs: &Vec<(usize, Vec<usize>)>, joliet: bool| -> u32 {
            dirs.iter()
                .map(|(d, _)| {
                    let id = if *d == 0 {
                        1
                    } else if joliet {
                        self.nodes[*d].joliet_name.len()
                    } else {
                        self.nodes[*d].iso_name.len()
                    };
                    8 + id + id % 2
                })
                .sum::<usize>() as u32
        };
        let p_size = pt_size(&primary_dirs, false);
        let j_size = pt_size(&joliet_dirs, true);
        let p_secs = sectors(p_size as u64) as u32;
        let j_secs = sectors(j_size as u64) as u32;
        self.primary_pt = (lba, lba + p_secs, p_size);
        lba += 2 * p_secs;
        self.joliet_pt = (lba, lba + j_secs, j_size);
        lba += 2 * j_secs;

        for (d, order) in &primary_dirs {
            let mut sizes = vec![
                34 + self.dot_su[d].inline_len(),
                34 + self.dotdot_su(*d).len(),
            ];
            for &c in order {
                let node = &self.nodes[c];
                let rec = 33
                    + node.iso_name.len()
                    + (node.iso_name.len() + 1) % 2
                    + self.child_su[c].inline_len();
                for _ in 0..self.extents_of(c) {
                    sizes.push(rec);
                }
            }
            let size = dir_bytes(&sizes);
            // Rock Ridge continuation areas of this directory's records follow its extent
            // directly (as libisofs lays them out; streaming readers such as libarchive
            // expect them there), packed so that none crosses a sector boundary.
            let ce_lba = lba
                .checked_add(size / S as u32)
                .ok_or(IsoError::TooLarge("directories"))?;
            let mut cur = (ce_lba, 0u32);
            let mut used = false;
            let mut plans: Vec<&mut SuPlan> = Vec::new();
            let mut dot = self.dot_su.remove(d).unwrap();
            plans.push(&mut dot);
            let mut kids: Vec<(usize, SuPlan)> = order
                .iter()
                .map(|&c| (c, std::mem::take(&mut self.child_su[c])))
                .collect();
            plans.extend(kids.iter_mut().map(|(_, p)| p));
            for plan in plans {
                plan.first_area = self.ce_places.len();
                let k = plan.areas.len();
                for (i, a) in plan.areas.iter().enumerate() {
                    let len = (a.len() + if i + 1 < k { CE_LEN } else { 0 }) as u32;
                    if cur.1 + len > S as u32 {
                        cur = (cur.0 + 1, 0);
                    }
                    self.ce_places.push(Place {
                        lba: cur.0,
                        offset: cur.1,
                        len,
                    });
                    used = true;
                    cur.1 += len;
                }
            }
            self.dot_su.insert(*d, dot);
            for (c, p) in kids {
                self.child_su[c] = p;
            }
            let ce_sectors = if used { cur.0 - ce_lba + 1 } else { 0 };
            self.primary.insert(
                *d,
                DirLayout {
                    lba,
                    size,
                    order: order.clone(),
                    ce_sectors,
                },
            );
            self.primary_order.push(*d);
            lba = ce_lba + ce_sectors;
        }
        for (d, order) in &joliet_dirs {
            let mut sizes = vec![34, 34];
            for &c in order {
                let rec = 33
                    + self.nodes[c].joliet_name.len()
                    + (self.nodes[c].joliet_name.len() + 1) % 2;
                for _ in 0..self.extents_of(c) {
                    sizes.push(rec);
                }
            }
            let size = dir_bytes(&sizes);
            self.joliet.insert(
                *d,
                DirLayout {
                    lba,
                    size,
                    order: order.clone(),
                    ce_sectors: 0,
                },
            );
            self.joliet_order.push(*d);
            lba += size / S as u32;
        }

        let mut lba64 = lba as u64;
        for &f in &self.data_order {
            let NodeKind::File { size, .. } = self.nodes[f].kind else {
                unreachable!()
            };
            self.file_lba.insert(f, lba64 as u32);
            lba64 += sectors(size);
            if lba64 > u32::MAX as u64 {
                return Err(IsoError::TooLarge("more than 2^32 sectors"));
            }
        }
        if self.udf.is_some() {
            // The second UDF anchor, in the last sector.
            lba64 += 1;
            if lba64 > u32::MAX as u64 {
                return Err(IsoError::TooLarge("more than 2^32 sectors"));
            }
        }
        self.total_sectors = lba64 as u32;
        Ok(())
    }

    fn dotdot_su(&self, dir: usize) -> Vec<u8> {
        let parent = self.nodes[dir].parent;
        let mut v = Vec::new();
        v.extend(px(&self.nodes[parent], self.link_count(parent)));
        v.extend(tf(self.nodes[parent].mtime));
        v
    }

    fn link_count(&self, id: usize) -> u32 {
        match &self.nodes[id].kind {
            NodeKind::Dir { children } => {
                2 + children
                    .iter()
                    .filter(|&&c| matches!(self.nodes[c].kind, NodeKind::Dir { .. }))
                    .count() as u32
            }
            _ => 1,
        }
    }

    /// Rock Ridge entries of a record: the node itself, or (`dot`) the `.` record of a directory.
    fn rr_entries(&self, id: usize, dot: bool) -> Vec<Vec<u8>> {
        let node = &self.nodes[id];
        let mut out = Vec::new();
        let root_dot = dot && id == 0;
        if root_dot {
            out.push(vec![b'S', b'P', 7, 1, 0xBE, 0xEF, 0]);
        }
        let mut rr_flags = 0x01 | 0x80; // PX, TF
        if !dot {
            rr_flags |= 0x08;
        }
        if matches!(node.kind, NodeKind::Symlink { .. }) && !dot {
            rr_flags |= 0x04;
        }
        out.push(vec![b'R', b'R', 5, 1, rr_flags]);
        out.push(px(node, self.link_count(id)));
        out.push(tf(node.mtime));
        if !dot {
            // NM, split in pieces of at most 250 bytes.
            let chunks: Vec<&[u8]> = node.name.chunks(250).collect();
            for (i, ch) in chunks.iter().enumerate() {
                let mut e = vec![b'N', b'M', (5 + ch.len()) as u8, 1];
                e.push(if i + 1 < chunks.len() { 1 } else { 0 });
                e.extend_from_slice(ch);
                out.push(e);
            }
            if let NodeKind::Symlink { target } = &node.kind {
                out.extend(sl_entries(target));
            }
        }
        if root_dot {
            let mut e = vec![
                b'E',
                b'R',
                (8 + ER_ID.len() + ER_DES.len() + ER_SRC.len()) as u8,
                1,
                ER_ID.len() as u8,
                ER_DES.len() as u8,
                ER_SRC.len() as u8,
                1,
            ];
            e.extend_from_slice(ER_ID);
            e.extend_from_slice(ER_DES);
            e.extend_from_slice(ER_SRC);
            out.push(e);
        }
        out
    }

    fn su_bytes(&self, plan: &SuPlan) -> Vec<u8> {
        let mut v = plan.inline.clone();
        if !plan.areas.is_empty() {
            v.extend(ce(self.ce_places[plan.first_area]));
        }
        v
    }

    fn dir_record(
        &self,
        extent: u32,
        len: u32,
        mtime: i64,
        flags: u8,
        id: &[u8],
        su: &[u8],
    ) -> Vec<u8> {
        let pad = (id.len() + 1) % 2;
        let total = 33 + id.len() + pad + su.len();
        debug_assert!(total <= 255);
        let mut r = Vec::with_capacity(total);
        r.push(total as u8);
        r.push(0);
        r.extend(both32(extent));
        r.extend(both32(len));
        r.extend(dir_date(mtime));
        r.push(flags);
        r.push(0);
        r.push(0);
        r.extend(both16(1));
        r.push(id.len() as u8);
        r.extend_from_slice(id);
        if pad == 1 {
            r.push(0);
        }
        r.extend_from_slice(su);
        r
    }

    /// Directory records for a child (several when the file has several extents).
    fn child_records(&self, c: usize, joliet: bool) -> Vec<Vec<u8>> {
        let node = &self.nodes[c];
        let id = if joliet {
            &node.joliet_name
        } else {
            &node.iso_name
        };
        let su = if joliet {
            Vec::new()
        } else {
            self.su_bytes(&self.child_su[c])
        };
        match &node.kind {
            NodeKind::Dir { .. } => {
                let d = if joliet {
                    &self.joliet[&c]
                } else {
                    &self.primary[&c]
                };
                vec![self.dir_record(d.lba, d.size, node.mtime, 2, id, &su)]
            }
            NodeKind::Symlink { .. } => vec![self.dir_record(0, 0, node.mtime, 0, id, &su)],
            NodeKind::File { size, .. } => {
                let lba = if *size == 0 { 0 } else { self.file_lba[&c] };
                let k = self.extents_of(c);
                (0..k)
                    .map(|i| {
                        let off = i * MAX_EXTENT;
                        let len = (*size - off).min(MAX_EXTENT);
                        let flags = if i + 1 < k { 0x80 } else { 0 };
                        let ext = lba + (off / SECTOR) as u32;
                        self.dir_record(ext, len as u32, node.mtime, flags, id, &su)
                    })
                    .collect()
            }
        }
    }

    fn dir_bytes(&self, d: usize, joliet: bool) -> Vec<u8> {
        let dl = if joliet {
            &self.joliet[&d]
        } else {
            &self.primary[&d]
        };
        let parent = self.nodes[d].parent;
        let pl = if joliet {
            &self.joliet[&parent]
        } else {
            &self.primary[&parent]
        };
        let (dot_su, dotdot_su) = if joliet {
            (Vec::new(), Vec::new())
        } else {
            (self.su_bytes(&self.dot_su[&d]), self.dotdot_su(d))
        };
        let mut recs = vec![
            self.dir_record(dl.lba, dl.size, self.nodes[d].mtime, 2, &[0], &dot_su),
            self.dir_record(
                pl.lba,
                pl.size,
                self.nodes[parent].mtime,
                2,
                &[1],
                &dotdot_su,
            ),
        ];
        for &c in &dl.order {
            recs.extend(self.child_records(c, joliet));
        }
        let mut out = Vec::with_capacity(dl.size as usize);
        for r in recs {
            let used = out.len() % S;
            if used + r.len() > S {
                out.resize(out.len() + S - used, 0);
            }
            out.extend(r);
        }
        out.resize(dl.size as usize, 0);
        out
    }

    fn path_table(&self, joliet: bool, big_endian: bool) -> Vec<u8> {
        let order = if joliet {
            &self.joliet_order
        } else {
            &self.primary_order
        };
        let number: HashMap<usize, u16> = order
            .iter()
            .enumerate()
            .map(|(i, &d)| (d, (i + 1) as u16))
            .collect();
        let mut out = Vec::new();
        for &d in order {
            let id: &[u8] = if d == 0 {
                &[0]
            } else if joliet {
                &self.nodes[d].joliet_name
            } else {
                &self.nodes[d].iso_name
            };
            let lba = if joliet {
                self.joliet[&d].lba
            } else {
                self.primary[&d].lba
            };
            let parent = number[&self.nodes[d].parent];
            out.push(id.len() as u8);
            out.push(0);
            if big_endian {
                out.extend(lba.to_be_bytes());
                out.extend(parent.to_be_bytes());
            } else {
                out.extend(lba.to_le_bytes());
                out.extend(parent.to_le_bytes());
            }
            out.extend_from_slice(id);
            if id.len() % 2 == 1 {
                out.push(0);
            }
        }
        out
    }

    fn volume_descriptor(&self, joliet: bool) -> Vec<u8> {
        let mut v = vec![0u8; S];
        v[0] = if joliet { 2 } else { 1 };
        v[1..6].copy_from_slice(b"CD001");
        v[6] = 1;
        let text = |v: &mut Vec<u8>, at: usize, len: usize, s: &str, upper: bool| {
            if joliet {
                let mut b: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
                b.truncate(len & !1);
                while b.len() + 1 < len {
                    b.extend([0, b' ']);
                }
                if b.len() < len {
                    b.push(0);
                }
                v[at..at + len].copy_from_slice(&b[..len]);
            } else {
                let mut b: Vec<u8> = s
                    .chars()
                    .map(|c| {
                        if c.is_ascii_graphic() || c == ' ' {
                            if upper {
                                c.to_ascii_uppercase() as u8
                            } else {
                                c as u8
                            }
                        } else {
                            b'_'
                        }
                    })
                    .collect();
                b.truncate(len);
                b.resize(len, b' ');
                v[at..at + len].copy_from_slice(&b);
            }
        };
        text(&mut v, 8, 32, "", false);
        text(&mut v, 40, 32, &self.spec.volume_id, false);
        v[80..88].copy_from_slice(&both32(self.total_sectors));
        if joliet {
            v[88..91].copy_from_slice(b"%/E");
        }
        v[120..124].copy_from_slice(&both16(1));
        v[124..128].copy_from_slice(&both16(1));
        v[128..132].copy_from_slice(&both16(S as u16));
        let (l, m, size) = if joliet {
            self.joliet_pt
        } else {
            self.primary_pt
        };
        v[132..140].copy_from_slice(&both32(size));
        v[140..144].copy_from_slice(&l.to_le_bytes());
        v[148..152].copy_from_slice(&m.to_be_bytes());
        let root = if joliet {
            &self.joliet[&0]
        } else {
            &self.primary[&0]
        };
        let rec = self.dir_record(root.lba, root.size, self.nodes[0].mtime, 2, &[0], &[]);
        v[156..190].copy_from_slice(&rec);
        text(&mut v, 190, 128, &self.spec.volume_set_id, false);
        text(&mut v, 318, 128, &self.spec.publisher, false);
        text(&mut v, 446, 128, &self.spec.preparer, false);
        text(&mut v, 574, 128, &self.spec.application, false);
        text(&mut v, 702, 37, "", false);
        text(&mut v, 739, 37, "", false);
        text(&mut v, 776, 37, "", false);
        let created = long_date(Some(self.spec.created));
        v[813..830].copy_from_slice(&created);
        v[830..847].copy_from_slice(&created);
        v[847..864].copy_from_slice(&long_date(None));
        v[864..881].copy_from_slice(&created);
        v[881] = 1;
        v
    }

    /// Writes the image to `out`. `fill(entry_index, w)` must write exactly the bytes of the file
    /// with that index in the spec; the writer checks the count and pads to the sector boundary.
    pub fn write<W: Write>(
        &self,
        out: &mut W,
        fill: &mut dyn FnMut(usize, &mut dyn Write) -> io::Result<()>,
    ) -> Result<WriteStats> {
        let mut meta = vec![0u8; PVD_LBA as usize * S];
        meta.extend(self.volume_descriptor(false));
        meta.extend(self.volume_descriptor(true));
        let mut term = vec![0u8; S];
        term[0] = 255;
        term[1..6].copy_from_slice(b"CD001");
        term[6] = 1;
        meta.extend(term);
        let mut written = 0u64;
        if let Some(udf) = &self.udf {
            meta.extend(udf.volume_area(
                self.total_sectors,
                &self.spec.volume_id,
                &self.udf_volume_set(),
                self.spec.created,
            ));
            out.write_all(&meta)?;
            written += meta.len() as u64;
            meta.clear();
            let file_lba = &self.file_lba;
            let ids = (self.spec.volume_id.as_str(), self.spec.created);
            udf.write_partition(&self.nodes, file_lba, ids, &mut |b| {
                out.write_all(b)?;
                written += b.len() as u64;
                b.clear();
                Ok(())
            })?;
        }
        let pad = |m: &mut Vec<u8>| {
            let r = m.len() % S;
            if r != 0 {
                m.resize(m.len() + S - r, 0);
            }
        };
        for joliet in [false, true] {
            let mut t = self.path_table(joliet, false);
            pad(&mut t);
            meta.extend(t);
            let mut t = self.path_table(joliet, true);
            pad(&mut t);
            meta.extend(t);
        }
        // The directories go out a few megabytes at a time: at a million files they are
        // hundreds of megabytes.
        let mut spill = |m: &mut Vec<u8>, out: &mut W, at_least: usize| -> io::Result<()> {
            if m.len() >= at_least {
                out.write_all(m)?;
                written += m.len() as u64;
                m.clear();
            }
            Ok(())
        };
        for &d in &self.primary_order {
            spill(&mut meta, out, 4 << 20)?;
            meta.extend(self.dir_bytes(d, false));
            let dl = &self.primary[&d];
            if dl.ce_sectors > 0 {
                let base = dl.lba + dl.size / S as u32;
                let mut area = vec![0u8; dl.ce_sectors as usize * S];
                let plans = std::iter::once(&self.dot_su[&d])
                    .chain(dl.order.iter().map(|&c| &self.child_su[c]));
                for plan in plans {
                    let k = plan.areas.len();
                    for (i, a) in plan.areas.iter().enumerate() {
                        let p = self.ce_places[plan.first_area + i];
                        let at = (p.lba - base) as usize * S + p.offset as usize;
                        area[at..at + a.len()].copy_from_slice(a);
                        if i + 1 < k {
                            let c = ce(self.ce_places[plan.first_area + i + 1]);
                            area[at + a.len()..at + a.len() + CE_LEN].copy_from_slice(&c);
                        }
                    }
                }
                meta.extend(area);
            }
        }
        for &d in &self.joliet_order {
            spill(&mut meta, out, 4 << 20)?;
            meta.extend(self.dir_bytes(d, true));
        }
        spill(&mut meta, out, 0)?;
        let mut stats = WriteStats {
            bytes: written,
            files: 0,
        };
        let zeros = vec![0u8; S];
        for &f in &self.data_order {
            let NodeKind::File { size, entry } = self.nodes[f].kind else {
                unreachable!()
            };
            if size == 0 {
                continue;
            }
            debug_assert_eq!(stats.bytes, self.file_lba[&f] as u64 * SECTOR);
            let mut counter = Counting {
                inner: &mut *out,
                n: 0,
                limit: size,
            };
            fill(entry, &mut counter)?;
            if counter.n != size {
                return Err(IsoError::SizeMismatch {
                    index: entry,
                    path: self.path_of(f),
                    expected: size,
                    got: counter.n,
                });
            }
            let r = (size % SECTOR) as usize;
            if r != 0 {
                out.write_all(&zeros[..S - r])?;
            }
            stats.bytes += sectors(size) * SECTOR;
            stats.files += 1;
        }
        if let Some(udf) = &self.udf {
            out.write_all(&udf.anchor(self.total_sectors - 1))?;
            stats.bytes += SECTOR;
        }
        out.flush()?;
        Ok(stats)
    }

    /// The UDF volume set identifier: 16 hexadecimal digits that differ between volumes (the
    /// creation time and a digest of the entries, so that the same spec gives the same
    /// bytes), then the spec's volume set.
    fn udf_volume_set(&self) -> String {
        let mut h: u32 = 0x811c_9dc5;
        for n in &self.nodes {
            for &b in n.name.iter().chain(&n.mtime.to_le_bytes()) {
                h = (h ^ b as u32).wrapping_mul(0x0100_0193);
            }
        }
        format!(
            "{:08X}{h:08X}{}",
            self.spec.created as u32, self.spec.volume_set_id
        )
    }

    fn path_of(&self, id: usize) -> String {
        node_path(&self.nodes, id)
    }
}

/// The path of node `id` from the root, shown (U+FFFD for bytes that are not UTF-8).
pub(crate) fn node_path(nodes: &[Node], id: usize) -> String {
    path_up(id, |i| (&nodes[i].name, nodes[i].parent))
}

/// The path of node `id` of a tree whose node 0 is the root, shown (U+FFFD for bytes that are
/// not UTF-8): `node` gives a node's name and its parent.
pub(crate) fn path_up<'a>(mut id: usize, node: impl Fn(usize) -> (&'a [u8], usize)) -> String {
    let mut parts = Vec::new();
    while id != 0 {
        let (name, parent) = node(id);
        parts.push(String::from_utf8_lossy(name));
        id = parent;
    }
    parts.reverse();
    parts.join("/")
}

struct Counting<'a, W: Write> {
    inner: &'a mut W,
    n: u64,
    limit: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.n + buf.len() as u64 > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "file source gave more bytes than its declared size",
            ));
        }
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.n + buf.len() as u64 > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "file source gave more bytes than its declared size",
            ));
        }
        self.inner.write_all(buf)?;
        self.n += buf.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn dir_bytes(sizes: &[usize]) -> u32 {
    let mut used = 0usize;
    for &r in sizes {
        let off = used % S;
        if off + r > S {
            used += S - off;
        }
        used += r;
    }
    (sectors(used as u64) as usize * S) as u32
}

/// ISO identifiers compare as if padded with spaces; all our characters sort above space, so a
/// plain byte comparison of name and then extension gives the ECMA-119 order.
fn iso_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let split = |x: &[u8]| -> (Vec<u8>, Vec<u8>) {
        let x = x.strip_suffix(b";1").unwrap_or(x);
        match x.iter().position(|&c| c == b'.') {
            Some(p) => (x[..p].to_vec(), x[p + 1..].to_vec()),
            None => (x.to_vec(), Vec::new()),
        }
    };
    split(a).cmp(&split(b))
}

fn split_su(entries: Vec<Vec<u8>>, avail: usize) -> SuPlan {
    let total: usize = entries.iter().map(|e| e.len()).sum();
    if total <= avail {
        return SuPlan {
            inline: entries.concat(),
            ..Default::default()
        };
    }
    let mut inline = Vec::new();
    let mut it = entries.into_iter().peekable();
    while let Some(e) = it.peek() {
        if inline.len() + e.len() + CE_LEN <= avail {
            inline.extend(it.next().unwrap());
        } else {
            break;
        }
    }
    let rest: Vec<Vec<u8>> = it.collect();
    let mut areas: Vec<Vec<u8>> = vec![Vec::new()];
    let mut left: usize = rest.iter().map(|e| e.len()).sum();
    for e in rest {
        let cur = areas.last_mut().unwrap();
        let fits_all = cur.len() + left <= S;
        if !fits_all && cur.len() + e.len() + CE_LEN > S {
            areas.push(Vec::new());
        }
        left -= e.len();
        areas.last_mut().unwrap().extend(e);
    }
    SuPlan {
        inline,
        areas,
        first_area: 0,
    }
}

fn ce(p: Place) -> Vec<u8> {
    let mut v = vec![b'C', b'E', CE_LEN as u8, 1];
    v.extend(both32(p.lba));
    v.extend(both32(p.offset));
    v.extend(both32(p.len));
    v
}

fn px(node: &Node, links: u32) -> Vec<u8> {
    let ty = match node.kind {
        NodeKind::Dir { .. } => 0o040000,
        NodeKind::File { .. } => 0o100000,
        NodeKind::Symlink { .. } => 0o120000,
    };
    let mut v = vec![b'P', b'X', 36, 1];
    v.extend(both32(ty | (node.mode & 0o7777)));
    v.extend(both32(links));
    v.extend(both32(0));
    v.extend(both32(0));
    v
}

fn tf(mtime: i64) -> Vec<u8> {
    let mut v = vec![b'T', b'F', 26, 1, 0x0E];
    for _ in 0..3 {
        v.extend(dir_date(mtime));
    }
    v
}

fn sl_entries(target: &[u8]) -> Vec<Vec<u8>> {
    // Component records: flags, length, content.
    let mut comps: Vec<Vec<u8>> = Vec::new();
    let absolute = target.first() == Some(&b'/');
    if absolute {
        comps.push(vec![0x08, 0]);
    }
    for c in target.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        if c == b"." {
            comps.push(vec![0x02, 0]);
        } else if c == b".." {
            comps.push(vec![0x04, 0]);
        } else {
            let chunks: Vec<&[u8]> = c.chunks(240).collect();
            for (i, ch) in chunks.iter().enumerate() {
                let mut r = vec![if i + 1 < chunks.len() { 1 } else { 0 }, ch.len() as u8];
                r.extend_from_slice(ch);
                comps.push(r);
            }
        }
    }
    let mut entries = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    for r in comps {
        if 5 + cur.len() + r.len() > 250 {
            entries.push(std::mem::take(&mut cur));
        }
        cur.extend(r);
    }
    entries.push(cur);
    let k = entries.len();
    entries
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut e = vec![b'S', b'L', (5 + body.len()) as u8, 1];
            e.push(if i + 1 < k { 1 } else { 0 });
            e.extend(body);
            e
        })
        .collect()
}

pub(crate) fn both16(x: u16) -> [u8; 4] {
    let l = x.to_le_bytes();
    let b = x.to_be_bytes();
    [l[0], l[1], b[0], b[1]]
}

pub(crate) fn both32(x: u32) -> [u8; 8] {
    let l = x.to_le_bytes();
    let b = x.to_be_bytes();
    [l[0], l[1], l[2], l[3], b[0], b[1], b[2], b[3]]
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub(crate) fn split_time(t: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
    )
}

fn dir_date(t: i64) -> [u8; 7] {
    // Representable range: 1900..=2155.
    let t = t.clamp(-2208988800, 5996188799);
    let (y, m, d, h, mi, s) = split_time(t);
    [
        (y - 1900) as u8,
        m as u8,
        d as u8,
        h as u8,
        mi as u8,
        s as u8,
        0,
    ]
}

fn long_date(t: Option<i64>) -> [u8; 17] {
    let mut v = [b'0'; 17];
    v[16] = 0;
    if let Some(t) = t {
        let t = t.clamp(-62135596800, 253402300799);
        let (y, m, d, h, mi, s) = split_time(t);
        let txt = format!("{y:04}{m:02}{d:02}{h:02}{mi:02}{s:02}00");
        v[..16].copy_from_slice(txt.as_bytes());
    }
    v
}

fn iso_char(c: char) -> u8 {
    if c.is_ascii_alphanumeric() {
        c.to_ascii_uppercase() as u8
    } else {
        b'_'
    }
}

fn iso_name_for(name: &[u8], is_file: bool, n: u32) -> Vec<u8> {
    let s = String::from_utf8_lossy(name);
    let suffix = if n == 0 {
        String::new()
    } else {
        format!("~{n}")
    };
    if !is_file {
        let mut b: Vec<u8> = s.chars().map(iso_char).collect();
        b.truncate(31 - suffix.len());
        b.extend(suffix.bytes());
        return b;
    }
    let (base, ext) = match s.rfind('.') {
        Some(p) if p > 0 => (&s[..p], &s[p + 1..]),
        _ => (&s[..], ""),
    };
    let mut e: Vec<u8> = ext.chars().map(iso_char).collect();
    e.truncate(8);
    let mut b: Vec<u8> = base.chars().map(iso_char).collect();
    b.truncate(30 - e.len() - suffix.len());
    b.extend(suffix.bytes());
    b.push(b'.');
    b.extend(e);
    b.extend(b";1");
    b
}

fn joliet_name_for(name: &[u8], is_file: bool, n: u32) -> Vec<u8> {
    let s = String::from_utf8_lossy(name);
    let mut units: Vec<u16> = s
        .chars()
        .map(|c| match c {
            '*' | '/' | ':' | ';' | '?' | '\\' => '_',
            c if (c as u32) < 0x20 => '_',
            c => c,
        })
        .collect::<String>()
        .encode_utf16()
        .collect();
    let max = if is_file { 101 } else { 103 };
    if n > 0 || units.len() > max {
        let suffix: Vec<u16> = if n == 0 {
            Vec::new()
        } else {
            format!("~{n}").encode_utf16().collect()
        };
        // Keep the extension (up to 16 units) when shortening.
        let dot = units.iter().rposition(|&u| u == b'.' as u16);
        let ext: Vec<u16> = match dot {
            Some(p) if is_file && p > 0 && units.len() - p <= 16 => units[p..].to_vec(),
            _ => Vec::new(),
        };
        let mut base: Vec<u16> = units[..units.len() - ext.len()].to_vec();
        base.truncate(max - ext.len() - suffix.len());
        // Never cut a surrogate pair in half.
        if base.last().is_some_and(|&u| (0xD800..0xDC00).contains(&u)) {
            base.pop();
        }
        base.extend(suffix);
        base.extend(ext);
        units = base;
    }
    if is_file {
        units.extend(";1".encode_utf16());
    }
    units.iter().flat_map(|u| u.to_be_bytes()).collect()
}

fn assign_names(nodes: &mut [Node]) {
    for d in 0..nodes.len() {
        let NodeKind::Dir { children } = &nodes[d].kind else {
            continue;
        };
        let mut children = children.clone();
        children.sort_by(|&a, &b| nodes[a].name.cmp(&nodes[b].name));
        let mut used_iso = HashSet::new();
        let mut used_joliet = HashSet::new();
        for c in children {
            let is_file = !matches!(nodes[c].kind, NodeKind::Dir { .. });
            let mut n = 0;
            let iso = loop {
                let cand = iso_name_for(&nodes[c].name, is_file, n);
                if used_iso.insert(cand.clone()) {
                    break cand;
                }
                n += 1;
            };
            nodes[c].iso_name = iso;
            if matches!(nodes[c].kind, NodeKind::Symlink { .. }) {
                continue;
            }
            let mut n = 0;
            let joliet = loop {
                let cand = joliet_name_for(&nodes[c].name, is_file, n);
                if used_joliet.insert(cand.clone()) {
                    break cand;
                }
                n += 1;
            };
            nodes[c].joliet_name = joliet;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19723), (2024, 1, 1));
        assert_eq!(&long_date(Some(1700000000))[..14], b"20231114221320");
    }

    #[test]
    fn iso_names_are_unique_and_valid() {
        assert_eq!(iso_name_for(b"readme.txt", true, 0), b"README.TXT;1");
        assert_eq!(iso_name_for(b"Makefile", true, 0), b"MAKEFILE.;1");
        assert_eq!(iso_name_for("文书".as_bytes(), false, 2), b"__~2");
        let long = iso_name_for(&[b'a'; 200], true, 12);
        assert!(long.len() <= 33, "{}", long.len());
    }

    #[test]
    fn split_su_keeps_everything() {
        let entries: Vec<Vec<u8>> = (0..20).map(|i| vec![i as u8; 200]).collect();
        let plan = split_su(entries, 150);
        let n: usize = plan.inline.len() + plan.areas.iter().map(|a| a.len()).sum::<usize>();
        assert_eq!(n, 4000);
        assert!(plan.areas.iter().all(|a| a.len() + CE_LEN <= S));
    }
}
