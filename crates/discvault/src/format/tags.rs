//! A volume's tag files (bagit.txt, bag-info.txt, the manifests, the README, volume.json, the
//! catalog snapshot, the tag manifest), made as streams. A volume of a million files has
//! manifests and a volume.json of hundreds of megabytes: a plan only counts their bytes, and
//! master writes them once to a temporary file beside the image (hashing them for the tag
//! manifest) and copies them into the image from there, so neither holds them in memory.

use super::*;
use sha2::Digest as _;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom};

/// Where the bytes of the tag files go while they are made.
pub enum TagSink {
    /// Only counted: the sizes a plan needs. The tag manifest lists zeros for the sums.
    Count,
    /// Written to this file (a temporary one beside the image, which it may already hold
    /// bytes of) and hashed, to be copied into the image from there.
    Spill(File),
}

enum TagData {
    /// Small, or made after the others: kept in memory.
    Bytes(Vec<u8>),
    /// At this offset of the spill file.
    Spilled(u64),
    /// Counted only.
    Counted,
}

struct TagFile {
    name: String,
    len: u64,
    data: TagData,
}

/// All tag files of a volume, in the order they are laid out: their names, sizes and bytes.
pub struct TagFiles {
    files: Vec<TagFile>,
    spill: Option<File>,
}

/// Counts (and with a spill file, hashes and keeps) the bytes written to it.
struct Meter<'a> {
    len: u64,
    sha: Option<sha2::Sha256>,
    out: Option<&'a mut BufWriter<File>>,
}

impl Write for Meter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(out) = self.out.as_mut() {
            out.write_all(buf)?;
        }
        if let Some(h) = self.sha.as_mut() {
            h.update(buf);
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl TagFiles {
    /// Makes the tag files of the volume described by `ctx` into `sink`.
    pub fn make(ctx: &VolumeContext, sink: TagSink) -> std::io::Result<TagFiles> {
        let (mut spill, mut offset) = match sink {
            TagSink::Count => (None, 0),
            TagSink::Spill(mut f) => {
                let end = f.seek(SeekFrom::End(0))?;
                (Some(BufWriter::with_capacity(1 << 20, f)), end)
            }
        };
        let mut files: Vec<TagFile> = Vec::new();
        // (name, sha256) of every tag file, for the tag manifest.
        let mut sums: Vec<(String, String)> = Vec::new();
        let mut add = |name: &str, make: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>| {
            let mut m = Meter {
                len: 0,
                sha: spill.is_some().then(sha2::Sha256::new),
                out: spill.as_mut(),
            };
            make(&mut m)?;
            let (len, sha) = (m.len, m.sha.map(|h| hex::encode(h.finalize())));
            sums.push((name.to_string(), sha.unwrap_or_else(|| "0".repeat(64))));
            files.push(TagFile {
                name: name.to_string(),
                len,
                data: match spill {
                    Some(_) => TagData::Spilled(offset),
                    None => TagData::Counted,
                },
            });
            offset += len;
            Ok::<(), std::io::Error>(())
        };

        add("bagit.txt", &mut |w| {
            w.write_all(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        })?;
        add("bag-info.txt", &mut |w| {
            w.write_all(bag_info(ctx).as_bytes())
        })?;
        let algs = manifest_algs(&ctx.items);
        // Payload items in disc path order, as the manifests list them.
        let mut order: Vec<(Vec<u8>, usize)> = ctx
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.file.kind == FileKind::File)
            .map(|(k, i)| (disc_path(i.collection, i.file, i.content), k))
            .collect();
        order.sort_unstable();
        let order: Vec<usize> = order.into_iter().map(|(_, k)| k).collect();
        for a in &algs {
            add(&format!("manifest-{}.txt", a.name()), &mut |w| {
                for &k in &order {
                    let i = &ctx.items[k];
                    let p = disc_path(i.collection, i.file, i.content);
                    w.write_all(i.digests.get(*a).unwrap_or_default().as_bytes())?;
                    w.write_all(b"  ")?;
                    w.write_all(&bagit_path(&p))?;
                    w.write_all(b"\n")?;
                }
                Ok(())
            })?;
        }
        drop(order);
        add(README, &mut |w| w.write_all(readme(ctx, &algs).as_bytes()))?;
        add(VOLUME_JSON, &mut |w| write_volume_json(ctx, w))?;
        add(CATALOG_SNAPSHOT, &mut |w| w.write_all(&ctx.snapshot))?;

        sums.sort();
        let mut tm = Vec::new();
        for (p, sum) in &sums {
            tm.extend_from_slice(sum.as_bytes());
            tm.extend_from_slice(b"  ");
            tm.extend_from_slice(p.as_bytes());
            tm.push(b'\n');
        }
        files.push(TagFile {
            name: "tagmanifest-sha256.txt".into(),
            len: tm.len() as u64,
            data: TagData::Bytes(tm),
        });
        let spill = match spill {
            Some(w) => Some(w.into_inner().map_err(|e| e.into_error())?),
            None => None,
        };
        Ok(TagFiles { files, spill })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The path of tag file `k` on the disc.
    pub fn name(&self, k: usize) -> &str {
        &self.files[k].name
    }

    /// Its size in bytes.
    pub fn size(&self, k: usize) -> u64 {
        self.files[k].len
    }

    /// Counts `n` more bytes for tag file `k`: a plan's room for fields whose length is not
    /// known yet (ids, counts, dates).
    pub fn pad(&mut self, k: usize, n: u64) {
        self.files[k].len += n;
    }

    /// The bytes of tag file `k` when they are in memory (the tag manifest's always are).
    pub fn bytes(&self, k: usize) -> Option<&[u8]> {
        match &self.files[k].data {
            TagData::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Writes the bytes of tag file `k` to `out`.
    pub fn write(&self, k: usize, out: &mut dyn Write) -> std::io::Result<()> {
        let f = &self.files[k];
        match &f.data {
            TagData::Bytes(b) => out.write_all(b),
            TagData::Spilled(at) => {
                let mut spill = self
                    .spill
                    .as_ref()
                    .expect("a spill file holds spilled tags");
                spill.seek(SeekFrom::Start(*at))?;
                let copied = std::io::copy(&mut Read::take(spill, f.len), out)?;
                if copied != f.len {
                    return Err(std::io::Error::other(format!(
                        "tag file {}: {copied} of its {} bytes were found in the temporary file",
                        f.name, f.len
                    )));
                }
                Ok(())
            }
            TagData::Counted => Err(std::io::Error::other(format!(
                "tag file {} was only counted, not made",
                f.name
            ))),
        }
    }
}

/// bag-info.txt: the bag's and the collections' description.
fn bag_info(ctx: &VolumeContext) -> String {
    let v = ctx.volume;
    let date = rfc3339(v.created_at);
    let payload = ctx.items.iter().filter(|i| i.file.kind == FileKind::File);
    let (files, payload_bytes) =
        payload.fold((0u64, 0u64), |(n, b), i| (n + 1, b + i.content.length));
    let mut info = String::new();
    let mut field = |k: &str, val: &str| {
        let val = val.replace(['\r', '\n'], " ");
        info.push_str(&format!("{k}: {val}\n"));
    };
    if !ctx.organization.is_empty() {
        field("Source-Organization", ctx.organization);
    }
    field("Bagging-Date", &date[..10]);
    field(
        "Bag-Group-Identifier",
        &format!("{}-PLAN-{:06}", ctx.volume_prefix, v.plan_id),
    );
    field("Bag-Count", &format!("{} of {}", v.seq, v.seq_count));
    field("Payload-Oxum", &format!("{payload_bytes}.{files}"));
    field("External-Identifier", &v.volume_id);
    field(
        "External-Description",
        &format!(
            "discvault volume {} ({} of {}), {} files, media {}",
            v.volume_id, v.seq, v.seq_count, files, v.media
        ),
    );
    field("Bag-Software-Agent", crate::SOFTWARE);
    field("Discvault-Format-Version", &v.format_version.to_string());
    if let Some(id) = ctx.vault_id {
        field("Discvault-Vault-Id", id);
    }
    for c in &ctx.collections {
        field("Collection", &c.name);
        if !c.fonds.is_empty() {
            field("Fonds", &c.fonds);
        }
        if !c.series.is_empty() {
            field("Series", &c.series);
        }
        if !c.retention.is_empty() {
            field("Retention-Period", &c.retention);
        }
        for (k, val) in &c.metadata {
            let label: String = k
                .chars()
                .map(|ch| {
                    if ch == ':' || ch.is_whitespace() {
                        '-'
                    } else {
                        ch
                    }
                })
                .collect();
            field(&label, val);
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::digest_bytes;
    use crate::model::{Collection, Content, FileRecord, Volume};
    use std::borrow::Cow;

    fn volume() -> Volume {
        serde_json::from_value(serde_json::json!({
            "volume_id": "DV-000001", "plan_id": 1, "seq": 1, "seq_count": 1, "media": "bd25",
            "capacity_sectors": 12219392, "payload_bytes": 0, "image_bytes": 0,
            "state": "planned", "image_sha256": null, "mastered_at": null,
            "format_version": crate::model::FORMAT_VERSION, "created_at": 1764633600
        }))
        .unwrap()
    }

    fn record(id: i64, path: &str, data: &[u8]) -> FileRecord {
        FileRecord {
            id,
            collection_id: 1,
            path: path.into(),
            path_raw: path.as_bytes().to_vec(),
            version: 1,
            kind: FileKind::File,
            size: data.len() as u64,
            mtime: 1_700_000_000,
            mode: 0o644,
            link_target: None,
            source: None,
            staged: false,
            digests: digest_bytes(&[HashAlg::Sha256, HashAlg::Blake3], data),
            current: true,
            ingested_at: 1_700_000_000,
        }
    }

    /// Counted and made, the tag files have the same names and sizes; made, each one's bytes
    /// are those the tag manifest sums, and the manifests list every file in path order.
    #[test]
    fn counted_and_made_tag_files_agree_and_the_tag_manifest_sums_what_is_written() {
        let v = volume();
        let c = Collection {
            id: 1,
            name: "文书档案".into(),
            fonds: "J001".into(),
            series: String::new(),
            retention: "永久".into(),
            metadata: Default::default(),
            created_at: 0,
        };
        let files = [
            record(1, "2024/卷0002/件001-会议纪要.txt", b"one"),
            record(2, "2024/卷0001/100%.txt", b"two two"),
            record(3, "a\nb.txt", b"three"),
        ];
        let contents: Vec<Content> = files
            .iter()
            .map(|f| Content {
                file_id: f.id,
                part: 1,
                parts: 1,
                part_offset: 0,
                length: f.size,
                part_digests: None,
                lba: None,
            })
            .collect();
        let ctx = VolumeContext {
            volume: &v,
            vault_id: Some("vault-1"),
            organization: "某某档案馆",
            volume_prefix: "DV",
            collections: vec![&c],
            items: files
                .iter()
                .zip(&contents)
                .map(|(f, content)| VolumeItem {
                    collection: &c.name,
                    file: f,
                    content,
                    digests: Cow::Borrowed(&f.digests),
                })
                .collect(),
            snapshot: b"not really gzip".to_vec(),
            parity: Vec::new(),
            parity_discs: Vec::new(),
            covered_by: None,
        };
        let counted = TagFiles::make(&ctx, TagSink::Count).unwrap();
        // The spill file may hold other bytes before the tag files.
        let mut spill = tempfile::tempfile().unwrap();
        spill.write_all(b"earlier bytes").unwrap();
        let made = TagFiles::make(&ctx, TagSink::Spill(spill)).unwrap();
        assert_eq!(counted.len(), made.len());
        let mut bytes = BTreeMap::new();
        for k in 0..made.len() {
            assert_eq!(counted.name(k), made.name(k));
            assert_eq!(counted.size(k), made.size(k), "{}", made.name(k));
            let mut out = Vec::new();
            made.write(k, &mut out).unwrap();
            assert_eq!(out.len() as u64, made.size(k), "{}", made.name(k));
            bytes.insert(made.name(k).to_string(), out);
        }
        assert!(counted.write(2, &mut Vec::new()).is_err());
        let tm = String::from_utf8(bytes.remove("tagmanifest-sha256.txt").unwrap()).unwrap();
        let listed: Vec<(&str, &str)> = tm.lines().map(|l| l.split_once("  ").unwrap()).collect();
        assert_eq!(listed.len(), bytes.len());
        for (sum, name) in listed {
            let d = digest_bytes(&[HashAlg::Sha256], &bytes[name]);
            assert_eq!(d.get(HashAlg::Sha256).unwrap(), sum, "{name}");
        }
        let manifest = String::from_utf8(bytes["manifest-sha256.txt"].clone()).unwrap();
        let paths: Vec<&str> = manifest.lines().map(|l| &l[66..]).collect();
        assert_eq!(
            paths,
            [
                "data/文书档案/2024/卷0001/100%25.txt",
                "data/文书档案/2024/卷0002/件001-会议纪要.txt",
                "data/文书档案/a%0Ab.txt"
            ]
        );
        let json: serde_json::Value = serde_json::from_slice(&bytes[VOLUME_JSON]).unwrap();
        assert_eq!(json["files"].as_array().unwrap().len(), 3);
        assert_eq!(bytes[CATALOG_SNAPSHOT], b"not really gzip");
        let info = String::from_utf8(bytes["bag-info.txt"].clone()).unwrap();
        assert!(info.contains("Payload-Oxum: 15.3\n"), "{info}");
    }
}
