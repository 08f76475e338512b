//! The UDF side of a bridge image: where each structure goes, and its bytes.
//!
//! Sectors 19–21 hold the volume recognition sequence (after the ISO terminator at 18), 32–37
//! the main volume descriptor sequence, 48–53 its reserve copy, 64–65 the integrity sequence,
//! 256 the anchor. The partition starts at sector 257: the file set descriptor and its
//! terminator, then each directory (its file entry, then its identifiers), then one file entry
//! per file. The ISO 9660 path tables, directories and the file data follow, as in an image
//! without UDF; the files' entries point at the same sectors as their ISO 9660 records. The
//! last sector of the image is a second anchor.

use super::encode::*;
use super::names::name_children;
use crate::writer::{node_path, Node, NodeKind};
use crate::{IsoError, Result, SECTOR};
use std::collections::{HashMap, VecDeque};
use std::io;

const S: usize = SECTOR as usize;
/// Sector of the first block of the UDF partition (partition block 0).
pub(crate) const PARTITION_START: u32 = 257;
const MAIN_VDS: u32 = 32;
const RESERVE_VDS: u32 = 48;
const VDS_SECTORS: u32 = 16;
const LVID_AT: u32 = 64;
const ANCHOR_AT: u32 = 256;
/// Largest extent of one allocation descriptor but the last: 2^30 bytes less one block.
pub(crate) const MAX_AD: u64 = 0x3FFF_F800;
/// Allocation descriptors that fit in one file entry after its 176-byte header.
const ADS_PER_FE: u64 = (S as u64 - 176) / 8;
/// Directory identifiers that fit in the directory's entry, after its 176-byte header.
const EMBEDDED_MAX: u64 = S as u64 - 176;
/// Unique ids 1–15 are reserved (UDF 3.2.1.1); the root has 0.
const FIRST_UNIQUE_ID: u64 = 16;

/// What a file entry records: extents (the length, then (bytes, first block) of each), or the
/// data itself.
enum Data<'a> {
    Extents(u64, &'a [(u64, u32)]),
    Embedded(&'a [u8]),
}

/// One directory of the UDF tree.
#[derive(Debug, Clone)]
struct DirPlan {
    node: usize,
    /// Block of its identifiers: right after its file entry, or the entry's own block when
    /// they are embedded in it.
    fid_lbn: u32,
    /// The identifiers fit in the entry's block after its header: recorded there (saves a
    /// block per small directory, as mkudffs records them; every UDF reader but libcdio's
    /// reads them, and libcdio reads the ISO 9660 tree).
    embedded: bool,
    fid_bytes: u32,
    /// Its children in the tree (directories and files), in name order.
    children: Vec<usize>,
}

/// Where the UDF structures of an image go.
#[derive(Debug, Clone)]
pub(crate) struct UdfPlan {
    /// The identifier of each node in the UDF tree, in CS0 (empty for the root and for nodes
    /// not in it).
    names: Vec<Vec<u8>>,
    /// The block of each node's file entry; `u32::MAX` for nodes not in the tree (links).
    fe: Vec<u32>,
    unique: Vec<u64>,
    dirs: Vec<DirPlan>,
    /// File nodes, in the order of their file entries.
    files: Vec<usize>,
    /// Blocks of the partition the UDF structures take (from block 0).
    pub(crate) blocks: u32,
    next_unique: u64,
}

/// The bytes of a file identifier descriptor with a CS0 name of `name_len` bytes.
fn fid_len(name_len: usize) -> u32 {
    (38 + name_len).div_ceil(4) as u32 * 4
}

impl UdfPlan {
    /// Names and places the UDF tree of `nodes` (node 0 the root; symbolic links are left out,
    /// as 7-Zip refuses a UDF tree holding one); `files` are the file nodes in data order.
    pub(crate) fn new(nodes: &[Node], files: &[usize]) -> Result<UdfPlan> {
        let n = nodes.len();
        let mut names = vec![Vec::new(); n];
        let mut in_tree = vec![false; n];
        in_tree[0] = true;
        let mut kids: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (d, node) in nodes.iter().enumerate() {
            let NodeKind::Dir { children } = &node.kind else {
                continue;
            };
            let children: Vec<usize> = children
                .iter()
                .copied()
                .filter(|&c| !matches!(nodes[c].kind, NodeKind::Symlink { .. }))
                .collect();
            let named = name_children(
                &children
                    .iter()
                    .map(|&c| {
                        let is_file = matches!(nodes[c].kind, NodeKind::File { .. });
                        (&nodes[c].name[..], is_file)
                    })
                    .collect::<Vec<_>>(),
                || format!("/{}", node_path(nodes, d)),
            )?;
            kids[d] = named
                .into_iter()
                .map(|(i, name)| {
                    let c = children[i];
                    names[c] = name;
                    in_tree[c] = true;
                    c
                })
                .collect();
        }
        let mut unique = vec![0u64; n];
        let mut next_unique = FIRST_UNIQUE_ID;
        for (id, u) in unique.iter_mut().enumerate().skip(1) {
            if in_tree[id] {
                *u = next_unique;
                next_unique += 1;
            }
        }
        // Block 0: the file set descriptor, 1: its terminator; then the directories from the
        // root, breadth first, each its entry and then its identifiers; then the files.
        let mut fe = vec![u32::MAX; n];
        let mut next: u64 = 2;
        let mut dirs = Vec::new();
        let mut queue = VecDeque::from([0usize]);
        while let Some(d) = queue.pop_front() {
            let children = std::mem::take(&mut kids[d]);
            let fid_bytes: u64 = 40
                + children
                    .iter()
                    .map(|&c| fid_len(names[c].len()) as u64)
                    .sum::<u64>();
            if fid_bytes >= 1 << 30 {
                return Err(IsoError::TooLarge(
                    "a directory of 1 GiB of UDF identifiers",
                ));
            }
            fe[d] = next as u32;
            let embedded = fid_bytes <= EMBEDDED_MAX;
            let fid_lbn = if embedded { next } else { next + 1 };
            next = if embedded {
                next + 1
            } else {
                fid_lbn + fid_bytes.div_ceil(SECTOR)
            };
            for &c in &children {
                if matches!(nodes[c].kind, NodeKind::Dir { .. }) {
                    queue.push_back(c);
                }
            }
            dirs.push(DirPlan {
                node: d,
                fid_lbn: fid_lbn as u32,
                embedded,
                fid_bytes: fid_bytes as u32,
                children,
            });
        }
        for &f in files {
            let NodeKind::File { size, .. } = nodes[f].kind else {
                continue;
            };
            if size.div_ceil(MAX_AD) > ADS_PER_FE {
                return Err(IsoError::TooLarge(
                    "a file of more than 234 GiB (the allocation descriptors of one UDF file entry)",
                ));
            }
            fe[f] = next as u32;
            next += 1;
        }
        if next > u32::MAX as u64 / 2 {
            return Err(IsoError::TooLarge("UDF structures"));
        }
        Ok(UdfPlan {
            names,
            fe,
            unique,
            dirs,
            files: files.to_vec(),
            blocks: next as u32,
            next_unique,
        })
    }

    fn counts(&self) -> (u32, u32) {
        (self.files.len() as u32, self.dirs.len() as u32)
    }

    /// Sectors 19 to 256: the volume recognition sequence, both volume descriptor sequences,
    /// the integrity sequence and the anchor. `total_sectors` is the whole image's, the last
    /// anchor included.
    pub(crate) fn volume_area(
        &self,
        total_sectors: u32,
        volume_id: &str,
        volume_set: &str,
        created: i64,
    ) -> Vec<u8> {
        let first = 19u32;
        let mut area = vec![0u8; (ANCHOR_AT + 1 - first) as usize * S];
        let mut put = |sector: u32, bytes: &[u8]| {
            let at = (sector - first) as usize * S;
            area[at..at + bytes.len()].copy_from_slice(bytes);
        };
        for (i, id) in [b"BEA01", b"NSR02", b"TEA01"].iter().enumerate() {
            let mut d = [0u8; 7];
            d[1..6].copy_from_slice(*id);
            d[6] = 1;
            put(19 + i as u32, &d);
        }
        let partition_len = total_sectors - 1 - PARTITION_START;
        for base in [MAIN_VDS, RESERVE_VDS] {
            for (i, d) in self
                .volume_descriptors(partition_len, volume_id, volume_set, created)
                .into_iter()
                .enumerate()
            {
                let mut d = d;
                let id = u16::from_le_bytes([d[0], d[1]]);
                tag(&mut d, id, base + i as u32);
                put(base + i as u32, &d);
            }
        }
        let mut lvid = self.lvid(partition_len, created);
        tag(&mut lvid, ident::LVID, LVID_AT);
        put(LVID_AT, &lvid);
        let mut td = vec![0u8; 512];
        tag(&mut td, ident::TD, LVID_AT + 1);
        put(LVID_AT + 1, &td);
        put(ANCHOR_AT, &self.anchor(ANCHOR_AT));
        area
    }

    /// The anchor volume descriptor pointer, recorded at `sector` (256, and the last sector).
    pub(crate) fn anchor(&self, sector: u32) -> Vec<u8> {
        let mut d = vec![0u8; 512];
        put32(&mut d, 16, VDS_SECTORS * SECTOR as u32);
        put32(&mut d, 20, MAIN_VDS);
        put32(&mut d, 24, VDS_SECTORS * SECTOR as u32);
        put32(&mut d, 28, RESERVE_VDS);
        tag(&mut d, ident::AVDP, sector);
        d.resize(S, 0);
        d
    }

    /// The descriptors of a volume descriptor sequence, in order, untagged (their tag
    /// identifier in bytes 0–1): primary, implementation use, partition, logical volume,
    /// unallocated space, terminator.
    fn volume_descriptors(
        &self,
        partition_len: u32,
        volume_id: &str,
        volume_set: &str,
        created: i64,
    ) -> Vec<Vec<u8>> {
        let with_id = |mut d: Vec<u8>, id: u16| {
            put16(&mut d, 0, id);
            d
        };
        let mut pvd = vec![0u8; 512];
        put32(&mut pvd, 16, 1);
        pvd[24..56].copy_from_slice(&dstring(volume_id, 32));
        put16(&mut pvd, 56, 1);
        put16(&mut pvd, 58, 1);
        put16(&mut pvd, 60, 2);
        put16(&mut pvd, 62, 2);
        put32(&mut pvd, 64, 1);
        put32(&mut pvd, 68, 1);
        pvd[72..200].copy_from_slice(&dstring(volume_set, 128));
        pvd[200..264].copy_from_slice(&charspec());
        pvd[264..328].copy_from_slice(&charspec());
        pvd[376..388].copy_from_slice(&timestamp(created));
        pvd[388..420].copy_from_slice(&implementation_id());

        let mut iuvd = vec![0u8; 512];
        put32(&mut iuvd, 16, 2);
        iuvd[20..52].copy_from_slice(&udf_id("*UDF LV Info"));
        iuvd[52..116].copy_from_slice(&charspec());
        iuvd[116..244].copy_from_slice(&dstring(volume_id, 128));
        iuvd[352..384].copy_from_slice(&implementation_id());

        let mut pd = vec![0u8; 512];
        put32(&mut pd, 16, 3);
        put16(&mut pd, 20, 1);
        put16(&mut pd, 22, 0);
        pd[24..56].copy_from_slice(&regid("+NSR02", [0; 8]));
        put32(&mut pd, 184, 1);
        put32(&mut pd, 188, PARTITION_START);
        put32(&mut pd, 192, partition_len);
        pd[196..228].copy_from_slice(&implementation_id());

        let mut lvd = vec![0u8; 446];
        put32(&mut lvd, 16, 4);
        lvd[20..84].copy_from_slice(&charspec());
        lvd[84..212].copy_from_slice(&dstring(volume_id, 128));
        put32(&mut lvd, 212, SECTOR as u32);
        lvd[216..248].copy_from_slice(&domain_id());
        lvd[248..264].copy_from_slice(&long_ad(2 * SECTOR as u32, 0, 0));
        put32(&mut lvd, 264, 6);
        put32(&mut lvd, 268, 1);
        lvd[272..304].copy_from_slice(&implementation_id());
        put32(&mut lvd, 432, 2 * SECTOR as u32);
        put32(&mut lvd, 436, LVID_AT);
        lvd[440] = 1;
        lvd[441] = 6;
        put16(&mut lvd, 442, 1);
        put16(&mut lvd, 444, 0);

        let mut usd = vec![0u8; 24];
        put32(&mut usd, 16, 5);

        vec![
            with_id(pvd, ident::PVD),
            with_id(iuvd, ident::IUVD),
            with_id(pd, ident::PD),
            with_id(lvd, ident::LVD),
            with_id(usd, ident::USD),
            with_id(vec![0u8; 512], ident::TD),
        ]
    }

    /// The logical volume integrity descriptor, untagged: closed, no free space, the counts.
    fn lvid(&self, partition_len: u32, created: i64) -> Vec<u8> {
        let mut d = vec![0u8; 80 + 8 + 46];
        d[16..28].copy_from_slice(&timestamp(created));
        put32(&mut d, 28, 1);
        put64(&mut d, 40, self.next_unique);
        put32(&mut d, 72, 1);
        put32(&mut d, 76, 46);
        put32(&mut d, 80, 0);
        put32(&mut d, 84, partition_len);
        d[88..120].copy_from_slice(&implementation_id());
        let (files, dirs) = self.counts();
        put32(&mut d, 120, files);
        put32(&mut d, 124, dirs);
        put16(&mut d, 128, REVISION);
        put16(&mut d, 130, REVISION);
        put16(&mut d, 132, REVISION);
        d
    }

    /// The partition's UDF blocks (file set, directories, file entries), handed to `sink` a
    /// few megabytes at a time. `file_lba` is the first sector of each file's data.
    pub(crate) fn write_partition(
        &self,
        nodes: &[Node],
        file_lba: &HashMap<usize, u32>,
        (volume_id, created): (&str, i64),
        sink: &mut dyn FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut buf: Vec<u8> = Vec::with_capacity(4 << 20);
        let mut fsd = vec![0u8; 512];
        fsd[16..28].copy_from_slice(&timestamp(created));
        put16(&mut fsd, 28, 3);
        put16(&mut fsd, 30, 3);
        put32(&mut fsd, 32, 1);
        put32(&mut fsd, 36, 1);
        fsd[48..112].copy_from_slice(&charspec());
        // The logical volume's and the file set's identifiers: the volume id, as the logical
        // volume descriptor says.
        fsd[112..240].copy_from_slice(&dstring(volume_id, 128));
        fsd[240..304].copy_from_slice(&charspec());
        fsd[304..336].copy_from_slice(&dstring(volume_id, 32));
        fsd[400..416].copy_from_slice(&long_ad(SECTOR as u32, self.fe[0], 0));
        fsd[416..448].copy_from_slice(&domain_id());
        tag(&mut fsd, ident::FSD, 0);
        fsd.resize(S, 0);
        buf.extend(fsd);
        let mut td = vec![0u8; 512];
        tag(&mut td, ident::TD, 1);
        td.resize(S, 0);
        buf.extend(td);
        for dir in &self.dirs {
            if buf.len() >= 4 << 20 {
                sink(&mut buf)?;
            }
            debug_assert_eq!(buf.len() % S, 0);
            let links = 1 + dir
                .children
                .iter()
                .filter(|&&c| matches!(nodes[c].kind, NodeKind::Dir { .. }))
                .count() as u16;
            // The identifiers: the parent's first, then the children's in name order; each
            // tagged with the block its first byte is in.
            let mut fids = Vec::with_capacity(dir.fid_bytes as usize);
            let parent = nodes[dir.node].parent;
            fids.extend(self.fid(0x0A, &[], parent, dir.fid_lbn));
            for &c in &dir.children {
                let at = if dir.embedded {
                    dir.fid_lbn
                } else {
                    dir.fid_lbn + (fids.len() / S) as u32
                };
                let chars = if matches!(nodes[c].kind, NodeKind::Dir { .. }) {
                    0x02
                } else {
                    0
                };
                fids.extend(self.fid(chars, &self.names[c], c, at));
            }
            debug_assert_eq!(fids.len(), dir.fid_bytes as usize);
            let node = &nodes[dir.node];
            if dir.embedded {
                buf.extend(self.file_entry(node, dir.node, 4, links, Data::Embedded(&fids)));
            } else {
                let ads = [(dir.fid_bytes as u64, dir.fid_lbn)];
                let size = dir.fid_bytes as u64;
                buf.extend(self.file_entry(node, dir.node, 4, links, Data::Extents(size, &ads)));
                buf.extend(fids);
                let r = buf.len() % S;
                if r != 0 {
                    buf.resize(buf.len() + S - r, 0);
                }
            }
        }
        for &f in &self.files {
            if buf.len() >= 4 << 20 {
                sink(&mut buf)?;
            }
            let NodeKind::File { size, .. } = nodes[f].kind else {
                continue;
            };
            let mut ads = Vec::new();
            if size > 0 {
                let first = file_lba[&f] - PARTITION_START;
                let mut done = 0u64;
                while done < size {
                    let len = (size - done).min(MAX_AD);
                    ads.push((len, first + (done / SECTOR) as u32));
                    done += len;
                }
            }
            buf.extend(self.file_entry(&nodes[f], f, 5, 1, Data::Extents(size, &ads)));
        }
        sink(&mut buf)
    }

    /// A file entry in one block: `file_type` 4 (directory) or 5 (file), and its data.
    fn file_entry(&self, node: &Node, id: usize, file_type: u8, links: u16, data: Data) -> Vec<u8> {
        let (size, ads, embedded): (u64, &[(u64, u32)], &[u8]) = match data {
            Data::Extents(size, ads) => (size, ads, &[]),
            Data::Embedded(bytes) => (bytes.len() as u64, &[], bytes),
        };
        let mut d = vec![0u8; 176 + 8 * ads.len() + embedded.len()];
        // ICB tag: strategy 4, one entry, the file type, short allocation descriptors or
        // the data in the entry (type 3).
        put16(&mut d, 20, 4);
        put16(&mut d, 24, 1);
        d[27] = file_type;
        put16(&mut d, 34, if embedded.is_empty() { 0 } else { 3 });
        put32(&mut d, 36, u32::MAX);
        put32(&mut d, 40, u32::MAX);
        let m = node.mode;
        let mut perms = (m & 7) | ((m >> 3) & 7) << 5 | ((m >> 6) & 7) << 10;
        if file_type == 4 {
            // A directory readers may enter: execute wherever it may be read.
            for shift in [0, 5, 10] {
                if perms & (4 << shift) != 0 {
                    perms |= 1 << shift;
                }
            }
        }
        put32(&mut d, 44, perms);
        put16(&mut d, 48, links);
        put64(&mut d, 56, size);
        // Blocks recorded: none for data in the entry.
        put64(
            &mut d,
            64,
            if embedded.is_empty() {
                size.div_ceil(SECTOR)
            } else {
                0
            },
        );
        let t = timestamp(node.mtime);
        d[72..84].copy_from_slice(&t);
        d[84..96].copy_from_slice(&t);
        d[96..108].copy_from_slice(&t);
        put32(&mut d, 108, 1);
        d[128..160].copy_from_slice(&implementation_id());
        put64(&mut d, 160, self.unique[id]);
        put32(&mut d, 172, (8 * ads.len() + embedded.len()) as u32);
        for (i, &(len, lbn)) in ads.iter().enumerate() {
            put32(&mut d, 176 + 8 * i, len as u32);
            put32(&mut d, 180 + 8 * i, lbn);
        }
        d[176..176 + embedded.len()].copy_from_slice(embedded);
        tag(&mut d, ident::FE, self.fe[id]);
        d.resize(S, 0);
        d
    }

    /// A file identifier descriptor naming `target` (`chars`: 0x02 a directory, 0x0A the
    /// parent), recorded in block `at`.
    fn fid(&self, chars: u8, ident_bytes: &[u8], target: usize, at: u32) -> Vec<u8> {
        let mut d = vec![0u8; fid_len(ident_bytes.len()) as usize];
        put16(&mut d, 16, 1);
        d[18] = chars;
        d[19] = ident_bytes.len() as u8;
        d[20..36].copy_from_slice(&long_ad(
            SECTOR as u32,
            self.fe[target],
            self.unique[target] as u32,
        ));
        d[38..38 + ident_bytes.len()].copy_from_slice(ident_bytes);
        tag(&mut d, ident::FID, at);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_padded_to_four_bytes() {
        assert_eq!(fid_len(0), 40);
        assert_eq!(fid_len(5), 44);
        assert_eq!(fid_len(8), 48);
        assert_eq!(fid_len(11), 52);
    }
}
