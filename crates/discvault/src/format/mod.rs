//! Everything discvault stores on a disc, in one place: the BagIt tag files, the volume record,
//! the catalog snapshot and the README. These are promises to readers decades away; the layout
//! is described in `docs/FORMAT.md` and versioned by [`FORMAT_VERSION`].

use crate::catalog::display_path;
use crate::digest::{Digests, HashAlg};
use crate::model::{Collection, Content, FileKind, FileRecord, Volume};
use crate::rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;

pub use crate::model::FORMAT_VERSION;

mod tags;
pub use tags::{TagFiles, TagSink};

/// The first format version whose discs carry the identity of their vault.
pub const VAULT_ID_SINCE: i64 = 2;

pub use crate::model::FILE_SYSTEMS_SINCE;

pub const VOLUME_JSON: &str = "discvault/volume.json";
pub const CATALOG_SNAPSHOT: &str = "discvault/catalog.jsonl.gz";
pub const README: &str = "README.txt";

/// One file (or part of a file) of a volume, as the tag files describe it.
#[derive(Debug, Clone)]
pub struct VolumeItem<'a> {
    pub collection: &'a str,
    pub file: &'a FileRecord,
    pub content: &'a Content,
    /// Digests of the bytes on this disc (the part's for a split file).
    pub digests: std::borrow::Cow<'a, Digests>,
}

/// Path of an item's bytes on the disc, relative to the disc root.
pub fn disc_path(collection: &str, file: &FileRecord, content: &Content) -> Vec<u8> {
    disc_path_of(collection, &file.path_raw, content.part, content.parts)
}

/// The raw path on the disc of part `part` of `parts` of the record `path_raw` of `collection`:
/// `data/<collection>/<path>`, with `.part-KK-of-NN` for a split file.
pub fn disc_path_of(collection: &str, path_raw: &[u8], part: u32, parts: u32) -> Vec<u8> {
    let mut p = b"data/".to_vec();
    p.extend_from_slice(collection.as_bytes());
    p.push(b'/');
    p.extend_from_slice(path_raw);
    if parts > 1 {
        let w = parts.to_string().len().max(2);
        p.extend_from_slice(format!(".part-{part:0w$}-of-{parts:0w$}").as_bytes());
    }
    p
}

/// The volume record written as `discvault/volume.json`. `F` is the file list: a vector when
/// read from a disc, written from the volume's items as they are serialised (a million
/// entries are never held as records).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeRecord<F = Vec<FileEntry>> {
    pub format: String,
    pub format_version: i64,
    /// The vault that wrote the disc (format version 2 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
    pub volume_id: String,
    pub seq: i64,
    pub seq_count: i64,
    pub plan_id: i64,
    pub media: String,
    pub capacity_sectors: u64,
    /// The image's file systems (format version 3 and later; absent: `iso9660`): a
    /// [`FileSystems`](crate::model::FileSystems) name, kept as text so that a disc of a later
    /// version, with a value this one does not know, is still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_systems: Option<String>,
    pub created_at: String,
    pub software: String,
    pub collections: Vec<CollectionRecord>,
    pub files: F,
    /// The disc's PAR2 recovery data, when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryRecord>,
    /// On a parity volume: the images its recovery data cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parity: Option<ParityRecord>,
    /// On a data volume in a parity group: the parity discs that can rebuild its image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parity_group: Option<ParityGroup>,
}

/// How a disc's recovery data were made (the sets themselves are in `recovery/`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecoveryRecord {
    /// `PAR2 2.0`.
    pub format: String,
    /// Folder of the PAR2 files.
    pub folder: String,
    /// Recovery data in permille of the bytes protected.
    pub redundancy_permille: i64,
    /// Slices of each set (and files in it at most).
    pub slices_per_set: i64,
    /// What the sets protect.
    pub protects: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CollectionRecord {
    pub name: String,
    pub fonds: String,
    pub series: String,
    pub retention: String,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub collection: String,
    /// Path in the collection (display form).
    pub path: String,
    /// Hex of the raw path bytes, present only when the name is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    pub kind: FileKind,
    /// Where the bytes are on this disc (absent for symbolic links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disc_path: Option<String>,
    pub version: i64,
    pub size: u64,
    pub mtime: i64,
    pub mode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// Hex of the raw link target, present only when it is not UTF-8 (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target_hex: Option<String>,
    /// Digests of the whole file.
    pub digests: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<PartEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartEntry {
    pub index: u32,
    pub count: u32,
    pub offset: u64,
    pub length: u64,
    /// Digests of this part's bytes.
    pub digests: BTreeMap<String, String>,
}

fn digest_map(d: &Digests) -> BTreeMap<String, String> {
    d.0.iter()
        .map(|(a, h)| (a.name().to_string(), h.clone()))
        .collect()
}

/// What the tag files of a volume are made from.
pub struct VolumeContext<'a> {
    pub volume: &'a Volume,
    /// The vault's identity, written on discs of format version 2 and later.
    pub vault_id: Option<&'a str>,
    pub organization: &'a str,
    pub volume_prefix: &'a str,
    pub collections: Vec<&'a Collection>,
    pub items: Vec<VolumeItem<'a>>,
    /// The catalog snapshot, already compressed.
    pub snapshot: Vec<u8>,
    /// For a parity volume: the images its recovery data cover, and every parity volume of the
    /// group (this one among them).
    pub parity: Vec<ParityMember>,
    pub parity_discs: Vec<String>,
    /// For a data volume in a parity group: the group's PAR2 set and parity volumes.
    pub covered_by: Option<ParityGroup>,
}

/// The parity group a data volume belongs to, in its `volume.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ParityGroup {
    /// The group's PAR2 set (on the parity discs), with this disc's image among its inputs as
    /// `<volume id>.iso`.
    pub set: String,
    pub parity_discs: Vec<String>,
}

/// One image a parity volume covers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ParityMember {
    pub volume_id: String,
    /// Its name in the PAR2 set: `<volume id>.iso`.
    pub image: String,
    pub image_bytes: u64,
    pub image_sha256: String,
}

/// What a parity volume covers, in its `volume.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ParityRecord {
    /// The PAR2 set's index file, in `recovery/`: the same name on every parity disc of the
    /// group.
    pub set: String,
    /// The parity volumes of the group, in order; this disc holds recovery slices
    /// `index × recovery_slices ..` of the set.
    pub parity_discs: Vec<String>,
    pub index: i64,
    /// Recovery slices (and slices of the largest image): this many damaged slices, or one
    /// image lost whole, can be rebuilt.
    pub recovery_slices: i64,
    pub members: Vec<ParityMember>,
}

/// Digest algorithms every payload file of the volume has: one manifest per algorithm.
pub fn manifest_algs(items: &[VolumeItem]) -> Vec<HashAlg> {
    HashAlg::ALL
        .into_iter()
        .filter(|a| {
            items
                .iter()
                .filter(|i| i.file.kind == FileKind::File)
                .all(|i| i.digests.get(*a).is_some())
        })
        .collect()
}

/// BagIt path encoding: only CR, LF and `%` are percent-encoded.
fn bagit_path(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    for &b in p {
        match b {
            b'\r' => out.extend_from_slice(b"%0D"),
            b'\n' => out.extend_from_slice(b"%0A"),
            b'%' => out.extend_from_slice(b"%25"),
            _ => out.push(b),
        }
    }
    out
}

/// The items of a volume as `volume.json`'s file list, each entry made as it is written.
struct ItemEntries<'a, 'b>(&'b VolumeContext<'a>);

impl Serialize for ItemEntries<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let v = self.0.volume;
        s.collect_seq(self.0.items.iter().map(|i| file_entry(v, i)))
    }
}

fn file_entry(v: &Volume, i: &VolumeItem) -> FileEntry {
    let f = i.file;
    let c = i.content;
    FileEntry {
        collection: i.collection.to_string(),
        path: f.path.clone(),
        path_hex: std::str::from_utf8(&f.path_raw)
            .is_err()
            .then(|| hex::encode(&f.path_raw)),
        kind: f.kind,
        disc_path: (f.kind == FileKind::File).then(|| display_path(&disc_path(i.collection, f, c))),
        version: f.version,
        size: f.size,
        mtime: f.mtime,
        mode: f.mode,
        link_target: f.link_target.as_deref().map(display_path),
        link_target_hex: f
            .link_target
            .as_deref()
            .filter(|t| v.format_version >= 2 && std::str::from_utf8(t).is_err())
            .map(hex::encode),
        digests: digest_map(&f.digests),
        part: (c.parts > 1).then(|| PartEntry {
            index: c.part,
            count: c.parts,
            offset: c.part_offset,
            length: c.length,
            digests: digest_map(&i.digests),
        }),
    }
}

/// Writes `volume.json`: the volume's full record, each file's entry made as it is written.
fn write_volume_json(ctx: &VolumeContext, w: &mut dyn Write) -> std::io::Result<()> {
    let v = ctx.volume;
    let rec = VolumeRecord {
        format: "discvault-volume".into(),
        format_version: v.format_version,
        vault_id: ctx.vault_id.map(str::to_string),
        volume_id: v.volume_id.clone(),
        seq: v.seq,
        seq_count: v.seq_count,
        plan_id: v.plan_id,
        media: v.media.clone(),
        capacity_sectors: v.capacity_sectors,
        file_systems: (v.format_version >= FILE_SYSTEMS_SINCE).then(|| v.file_systems.as_str().into()),
        created_at: rfc3339(v.created_at),
        software: crate::SOFTWARE.into(),
        collections: ctx
            .collections
            .iter()
            .map(|c| CollectionRecord {
                name: c.name.clone(),
                fonds: c.fonds.clone(),
                series: c.series.clone(),
                retention: c.retention.clone(),
                metadata: c.metadata.clone(),
            })
            .collect(),
        files: ItemEntries(ctx),
        recovery: (v.recovery_permille > 0).then(|| RecoveryRecord {
            format: "PAR2 2.0".into(),
            folder: crate::recovery::RECOVERY_DIR.into(),
            redundancy_permille: v.recovery_permille,
            slices_per_set: v.recovery_slices,
            protects: "every file with data except tagmanifest-sha256.txt (and non-UTF-8 names); names relative to the disc root".into(),
        }),
        parity: (!ctx.parity.is_empty()).then(|| ParityRecord {
            set: format!("{}/{}.par2", crate::recovery::RECOVERY_DIR, parity_base(ctx)),
            parity_discs: ctx.parity_discs.clone(),
            index: v.parity_index,
            recovery_slices: v.recovery_slices,
            members: ctx.parity.clone(),
        }),
        parity_group: ctx.covered_by.clone(),
    };
    serde_json::to_writer_pretty(&mut *w, &rec).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

/// Base name of a parity volume's PAR2 set.
fn parity_base(ctx: &VolumeContext) -> String {
    let ids: Vec<String> = ctx.parity.iter().map(|m| m.volume_id.clone()).collect();
    crate::recovery::parity_base(&ids)
}

fn readme(ctx: &VolumeContext, algs: &[HashAlg]) -> String {
    let v = ctx.volume;
    let names: Vec<&str> = ctx.collections.iter().map(|c| c.name.as_str()).collect();
    let split = ctx.items.iter().any(|i| i.content.parts > 1);
    let mut s = format!(
        "discvault 光盘 / disc {id} ({seq} / {count})\r\n\
         ==============================================\r\n\r\n\
         本光盘是一个 BagIt 包（RFC 8493），无需 discvault 即可读取和校验。\r\n\
         This disc is a BagIt bag (RFC 8493): it can be read and checked without discvault.\r\n\r\n\
         全宗/集合 Collections: {cols}\r\n\
         卷号 Volume: {id}, 第 {seq} 张，共 {count} 张 / disc {seq} of {count}\r\n\
         制作日期 Created: {date}\r\n\
         软件 Software: {sw}, 格式版本 format version {fv}\r\n\r\n\
         目录结构 Layout\r\n\
         ---------------\r\n\
         data/                  档案文件 the records, by collection\r\n\
         manifest-<alg>.txt     每个文件的校验值 digest of every file under data/\r\n\
         tagmanifest-sha256.txt 其余说明文件的校验值 digests of the other files\r\n\
         bag-info.txt           卷与全宗的描述 description of the volume and collections\r\n\
         discvault/volume.json  本卷完整记录 full record of this volume (JSON)\r\n\
         discvault/catalog.jsonl.gz  目录数据库快照 snapshot of the catalog (gzip, JSON lines)\r\n\r\n\
         如何校验 How to check\r\n\
         ---------------------\r\n\
         1. Linux / macOS: 进入光盘根目录 go to the disc root, then run\r\n\
         \x20     sha256sum -c manifest-sha256.txt\r\n\
         \x20     sha256sum -c tagmanifest-sha256.txt\r\n\
         \x20  每行应显示 OK / every line must say OK.\r\n\
         2. 使用 bagit-python / with bagit-python (pip install bagit):\r\n\
         \x20     bagit.py --validate /path/to/disc\r\n\
         3. Windows PowerShell:\r\n\
         \x20     Get-FileHash -Algorithm SHA256 data\\...\\file  并与 manifest-sha256.txt 比较 and compare.\r\n",
        id = v.volume_id,
        seq = v.seq,
        count = v.seq_count,
        cols = names.join(", "),
        date = rfc3339(v.created_at),
        sw = crate::SOFTWARE,
        fv = v.format_version,
    );
    if algs.len() > 1 {
        s.push_str(&format!(
            "   其他校验算法 Other digests on this disc: {}\r\n",
            algs[1..]
                .iter()
                .map(|a| format!("manifest-{a}.txt"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s.push_str(
        "\r\n分卷文件 Split files\r\n\
         -------------------\r\n\
         大于一张光盘的文件被分成几部分，文件名后加 .part-NN-of-MM，各部分分布在同一计划的多张光盘上。\r\n\
         A file larger than one disc is split into parts named FILE.part-NN-of-MM, on several discs\r\n\
         of the same plan (see Bag-Count). To join them, copy all parts into one folder and run\r\n\
         \x20     cat FILE.part-01-of-03 FILE.part-02-of-03 FILE.part-03-of-03 > FILE        (Linux/macOS)\r\n\
         \x20     copy /b FILE.part-01-of-03 + FILE.part-02-of-03 + FILE.part-03-of-03 FILE  (Windows)\r\n\
         then compare the result with the whole-file digest in discvault/volume.json (\"digests\").\r\n\
         每部分的校验值在 manifest 中，整个文件的校验值在 discvault/volume.json 中。\r\n",
    );
    if split {
        s.push_str("\r\n本光盘含有分卷文件 This disc holds parts of split files.\r\n");
    }
    if v.has_udf() {
        s.push_str(
            "\r\n文件系统 File systems\r\n\
             --------------------\r\n\
             本光盘同时有 ISO 9660 和 UDF 1.02 两套目录，指向同一份文件数据。Windows 和 macOS 显示 UDF 目录，\r\n\
             文件名最长 127 个字符（UTF-16）完整保留；更长的名称在 UDF 中被截短（保留扩展名，重名时加 ~N）。\r\n\
             完整名称始终保存在 ISO 9660 的 Rock Ridge 目录（Linux、xorriso）和 discvault/volume.json 中。\r\n\
             This disc has two directory trees over the same file data: ISO 9660 (with Rock Ridge and\r\n\
             Joliet) and UDF 1.02. Windows and macOS show the UDF tree, where names of up to 127\r\n\
             characters (UTF-16 units; 254 for Latin-1 names) are whole; a longer name is shortened\r\n\
             there, keeping its extension (~N added on a clash). The full names are always in the\r\n\
             Rock Ridge tree (Linux, xorriso) and in discvault/volume.json (\"disc_path\").\r\n",
        );
    }
    if let Some(g) = &ctx.covered_by {
        s.push_str(&format!(
            "\r\n校验光盘 Parity discs\r\n\
             --------------------\r\n\
             本光盘的镜像另由校验光盘 {discs} 保护：本光盘丢失或无法读取时，可用它们和同组其余光盘重建（见校验光盘上的 README.txt）。\r\n\
             The image of this disc is also protected by parity disc(s) {discs} (PAR2 set {set}):\r\n\
             if this disc is lost or unreadable, it is rebuilt from them and the other discs of its\r\n\
             group (see README.txt on a parity disc).\r\n",
            discs = g.parity_discs.join(", "),
            set = g.set,
        ));
    }
    if !ctx.parity.is_empty() {
        let first = &ctx.parity[0].volume_id;
        s.push_str(&format!(
            "\r\n校验光盘 Parity disc\r\n\
             -------------------\r\n\
             本光盘不含档案文件，只含以下 {n} 张光盘镜像的 PAR2 恢复数据；其中任何一张丢失或损坏，都可以用其余光盘和本光盘重建：\r\n\
             This disc holds no records: it holds PAR2 recovery data over the images of the {n} discs\r\n\
             below. Any one of them lost or unreadable is rebuilt from the others and this disc:\r\n\
             {list}\
             1. 把其余光盘做成镜像 make an image of each other disc, named as above, in one folder:\r\n\
             \x20     dd if=/dev/sr0 of=IMAGES/{first}.iso bs=2048    (Linux; Windows: ImgBurn, 读取 read)\r\n\
             2. 重建 rebuild:  par2 repair -B IMAGES recovery/{base}.par2\r\n\
             3. 核对 check:   sha256sum IMAGES/*.iso  与上表比较 against the list above; burn the rebuilt image.\r\n\
             本组共有 {k} 张校验光盘 This group has {k} parity disc(s): {discs}. 把它们的 recovery 目录复制到\r\n\
             同一目录，即可重建本组任意 {k} 张丢失的光盘 / copy the recovery folders of all of them into one\r\n\
             folder (the files share the name {base}) to rebuild any {k} lost discs of the group.\r\n",
            n = ctx.parity.len(),
            base = parity_base(ctx),
            k = ctx.parity_discs.len().max(1),
            discs = ctx.parity_discs.join(", "),
            list = ctx
                .parity
                .iter()
                .map(|m| format!("   {}  {} bytes  sha256 {}\r\n", m.image, m.image_bytes, m.image_sha256))
                .collect::<String>(),
        ));
    }
    if v.recovery_permille > 0 {
        s.push_str(&format!(
            "\r\n恢复数据 Recovery data (PAR2)\r\n\
             ----------------------------\r\n\
             recovery/ 目录中是标准 PAR2 2.0 恢复数据（约为受保护数据的 {pct}%），覆盖本光盘除\r\n\
             tagmanifest-sha256.txt 以外的全部文件。光盘有划伤或读错时，可用任何 PAR2 工具修复：\r\n\
             The folder recovery/ holds standard PAR2 2.0 recovery data (about {pct}% of the bytes it\r\n\
             protects) for every file of this disc except tagmanifest-sha256.txt. If the disc is\r\n\
             scratched or some files cannot be read, repair them with any PAR2 tool:\r\n\
             1. 把光盘内容复制到硬盘（读不出的文件可以缺失） copy the disc to a hard disk (files that\r\n\
             \x20  cannot be read may be left out), and go to the copy's root folder;\r\n\
             2. 校验 check:   par2 verify -B . recovery/{id}.par2\r\n\
             3. 修复 repair:  par2 repair -B . recovery/{id}.par2\r\n\
             \x20  (par2cmdline / par2cmdline-turbo; Windows: MultiPar, 打开 open recovery\\{id}.par2)\r\n\
             文件名相对于光盘根目录 (-B .)。Names in the sets are relative to the disc root (-B .).\r\n\
             大光盘或文件很多的光盘有多组 A disc with many files has several sets: {id}-01.par2, {id}-02.par2 ...\r\n\
             修复后再用 sha256sum -c manifest-sha256.txt 核对 / then check again with sha256sum -c.\r\n",
            pct = v.recovery_permille as f64 / 10.0,
            id = v.volume_id,
        ));
    }
    s
}

/// One line of the catalog snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SnapshotLine {
    Header {
        format: String,
        format_version: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vault_id: Option<String>,
        volume_id: String,
        scope: String,
    },
    Collection(CollectionRecord),
    Volume {
        volume_id: String,
        plan_id: i64,
        seq: i64,
        seq_count: i64,
        media: String,
        created_at: i64,
        /// Of a volume of format version 3 and later: a
        /// [`FileSystems`](crate::model::FileSystems) name, as text (see
        /// [`VolumeRecord::file_systems`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_systems: Option<String>,
    },
    File {
        id: i64,
        collection: String,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path_hex: Option<String>,
        version: i64,
        kind: FileKind,
        size: u64,
        mtime: i64,
        mode: u32,
        digests: BTreeMap<String, String>,
    },
    Content {
        volume_id: String,
        file_id: i64,
        part: u32,
        parts: u32,
        offset: u64,
        length: u64,
    },
}

/// Gzip of JSON lines, deterministic (no name, no time in the gzip header).
pub fn gzip_lines(lines: &[SnapshotLine]) -> Vec<u8> {
    let mut out = GzipLines::new();
    for l in lines {
        out.push(l);
    }
    out.finish()
}

/// [`gzip_lines`] made a line at a time, so that a snapshot of millions of records is never
/// held as records or lines, only compressed. Lines go to the compressor 256 KiB at a time
/// (flate2 clears its output buffer's spare room on every write: one write per JSON token took
/// a third of mastering a million small files), and it runs on a thread of its own while the
/// caller reads the catalog and makes the lines.
pub struct GzipLines {
    lines: Vec<u8>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    back: std::sync::mpsc::Receiver<Vec<u8>>,
    compressed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    worker: Option<std::thread::JoinHandle<Vec<u8>>>,
}

const GZIP_BATCH: usize = 256 << 10;

impl GzipLines {
    pub fn new() -> Self {
        use std::sync::atomic::Ordering;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (back_tx, back) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let compressed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let count = compressed.clone();
        let worker = std::thread::spawn(move || {
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::new(6));
            for mut batch in rx {
                enc.write_all(&batch).expect("in-memory gzip");
                count.store(enc.get_ref().len() as u64, Ordering::Relaxed);
                batch.clear();
                let _ = back_tx.try_send(batch);
            }
            enc.finish().expect("in-memory gzip")
        });
        GzipLines {
            lines: Vec::with_capacity(GZIP_BATCH + 4096),
            tx: Some(tx),
            back,
            compressed,
            worker: Some(worker),
        }
    }

    pub fn push(&mut self, l: &SnapshotLine) {
        serde_json::to_writer(&mut self.lines, l).expect("snapshot line serialises");
        self.lines.push(b'\n');
        if self.lines.len() >= GZIP_BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self
            .back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(GZIP_BATCH + 4096));
        let batch = std::mem::replace(&mut self.lines, next);
        // The worker only stops when the sender is dropped (or it panicked: finish says so).
        let _ = self.tx.as_ref().expect("open until finish").send(batch);
    }

    /// Compressed bytes so far, as far as the compressor has got (less than the whole until
    /// `finish`).
    pub fn compressed_len(&self) -> u64 {
        self.compressed.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.send();
        self.tx = None;
        self.worker
            .take()
            .expect("finished once")
            .join()
            .expect("gzip thread")
    }
}

impl Drop for GzipLines {
    fn drop(&mut self) {
        // Given up before `finish` (over the snapshot budget): stop the compressor.
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Default for GzipLines {
    fn default() -> Self {
        Self::new()
    }
}

/// Lines of a file record for the snapshot.
pub fn snapshot_file(collection: &str, f: &FileRecord) -> SnapshotLine {
    SnapshotLine::File {
        id: f.id,
        collection: collection.to_string(),
        path: f.path.clone(),
        path_hex: std::str::from_utf8(&f.path_raw)
            .is_err()
            .then(|| hex::encode(&f.path_raw)),
        version: f.version,
        kind: f.kind,
        size: f.size,
        mtime: f.mtime,
        mode: f.mode,
        digests: digest_map(&f.digests),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileSystems;

    #[test]
    fn a_volume_record_of_file_systems_this_version_does_not_know_is_read() {
        let record = |fs: &str| {
            serde_json::json!({
                "format": "discvault-volume", "format_version": 9, "volume_id": "DV-000001",
                "seq": 1, "seq_count": 1, "plan_id": 1, "media": "bd25",
                "capacity_sectors": 12_219_392, "file_systems": fs,
                "created_at": "2024-01-01T00:00:00Z", "software": "discvault 9",
                "collections": [], "files": [],
            })
            .to_string()
        };
        let rec: VolumeRecord = serde_json::from_str(&record("udf250")).unwrap();
        assert_eq!(rec.file_systems.as_deref(), Some("udf250"));
        assert_eq!(
            rec.file_systems.as_deref().and_then(FileSystems::parse),
            None
        );
        // Those it knows: the same bytes as the names of FileSystems.
        for fs in [FileSystems::Bridge, FileSystems::Iso9660] {
            let rec: VolumeRecord = serde_json::from_str(&record(fs.as_str())).unwrap();
            assert_eq!(
                rec.file_systems.as_deref().and_then(FileSystems::parse),
                Some(fs)
            );
            let again = serde_json::to_value(&rec).unwrap();
            assert_eq!(again["file_systems"], serde_json::to_value(fs).unwrap());
        }
        // A snapshot's volume line too.
        let line = r#"{"type": "volume", "volume_id": "DV-000001", "plan_id": 1, "seq": 1,
            "seq_count": 1, "media": "bd25", "created_at": 0, "file_systems": "udf250"}"#;
        let line: SnapshotLine = serde_json::from_str(line).unwrap();
        assert!(
            matches!(line, SnapshotLine::Volume { file_systems: Some(fs), .. } if fs == "udf250")
        );
    }
}
