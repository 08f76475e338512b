//! Checking a whole medium (an image file, a pseudo drive, a block device) sector by sector.

use super::*;

/// An image file, a pseudo drive or a block device: every sector read once (files on every
/// core for image files), each file's digest computed from the sectors as they are read.
#[allow(clippy::type_complexity)]
pub(super) fn check_medium(
    vault: &Vault,
    path: &Path,
    copy: Option<&str>,
    opts: &VerifyOptions,
    sink: &dyn DiscSink,
    progress: &dyn Progress,
) -> Result<(Volume, VerifyReport, Option<(String, StoredScan)>)> {
    let mut img = source::open_image(path)?;
    // The directory tree is walked while the catalog loads the contents of the volume the
    // image's label names (our images are labelled with their volume id); the volume record on
    // the disc decides.
    let by_label = img.label().and_then(|l| vault.catalog.volume(&l).ok());
    let (walked, preloaded) = std::thread::scope(|s| {
        let walk = s.spawn(|| -> Result<_> {
            let id = source::identity(&mut img);
            // A disc is hostile input: its tag manifest is read within a budget.
            let mut capped = source::Capped::new(source::TAG_MANIFEST_BUDGET, "tag manifest");
            let tm_err = img.read(TAG_MANIFEST, &mut capped).err();
            let tm = capped.buf;
            // A directory tree that cannot be read is damage of the disc, not an error: its
            // records are still reached through the catalog's layout (`repair`), or through
            // the UDF tree of a bridge disc whose ISO 9660 tree is damaged.
            let (entries, tree_err) = match img.take_file_entries() {
                Ok(e) => {
                    let damage = img.iso_damage().map(|d| {
                        format!("ISO 9660 tree unreadable ({d}); files read through the UDF tree")
                    });
                    (e, damage)
                }
                Err(e) => (BTreeMap::new(), Some(e.to_string())),
            };
            Ok((id, tm, tm_err, entries, tree_err))
        });
        let pre = by_label.as_ref().map(|v| vault.catalog.volume_contents(v));
        (walk.join().expect("directory walk"), pre)
    });
    let (id, tm, tm_err, mut entries, mut tree_err) = walked?;
    let volume = resolve(vault, &img.name(), id, img.label())?;
    let total = img.total_sectors();
    let tags = parse_tag_manifest(&tm);
    let contents = match (preloaded, &by_label) {
        (Some(c), Some(v)) if v.id == volume.id => c?,
        _ => vault.catalog.volume_contents(&volume)?,
    };
    let expected = expected_files(&contents, opts.digest);
    // The UDF tree of a bridge disc (the one Windows and macOS show), against the ISO 9660
    // tree the files are read through: a difference, or a UDF tree that cannot be read, is
    // damage of the disc even when every record reads well. Not when the files are read
    // through the UDF tree (the ISO 9660 tree is damaged), nor on a volume without UDF.
    // A disc a publisher wrote from the volume's files (TD Bridge) has the publisher's file
    // systems and names: only an image discvault mastered is held to the volume's UDF tree.
    let bridge = volume.has_udf() && img.mastered_by_discvault();
    let mut udf_finding = if bridge && tree_err.is_none() {
        udf::check(&entries, img.udf_files_as_named())
    } else {
        None
    };
    // An ISO 9660 tree that lacks records the UDF tree of a bridge disc holds: damage of the
    // disc, and the records are read through the UDF tree.
    if tree_err.is_none() && expected.iter().any(|e| !entries.contains_key(&e.disc_path)) {
        match img.take_udf_file_entries() {
            Some(Ok(udf)) => {
                let listed = entries.len();
                for (path, e) in udf {
                    entries.entry(path).or_insert(e);
                }
                let lacked = entries.len() - listed;
                if lacked > 0 {
                    tree_err = Some(format!(
                        "the ISO 9660 tree lacks {lacked} file(s) the UDF tree holds; read through it"
                    ));
                }
            }
            // The records it lacks are missing; and why the UDF tree could not give them.
            Some(Err(e)) => {
                let detail = match e {
                    crate::Error::Source { detail, .. } => detail,
                    e => e.to_string(),
                };
                udf_finding.get_or_insert(udf::unreadable(detail));
            }
            None => {}
        }
    }
    let key = match copy {
        Some(c) => format!("copy:{c}"),
        None => format!(
            "source:{}",
            std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
        ),
    };
    let earlier: Option<StoredScan> = if opts.resume {
        match vault.catalog.sector_map(&key)? {
            Some((vid, json)) if vid == volume.volume_id => serde_json::from_str(&json).ok(),
            _ => None,
        }
    } else {
        None
    };

    // What to read: expected files, tag files, files nobody expects, and the rest of the file
    // system (descriptors, directories, padding).
    #[derive(Clone, Copy)]
    enum Role {
        Expected(usize),
        Tag(usize),
        /// The tag manifest itself (no digest vouches for it; it is read whole).
        Manifest,
        Other,
        System,
    }
    let mut items = Vec::new();
    let mut roles = Vec::new();
    let mut paths: Vec<Vec<u8>> = Vec::new();
    let mut covered = SectorRanges::default();
    let mut missing = Vec::new();
    let mut item_of = |path: &[u8], digest: Option<HashAlg>, role: Role| -> bool {
        let Some(e) = entries.get(path) else {
            return false;
        };
        let item = ScanItem {
            extents: e.extents.iter().map(|&(l, n)| (l as u64, n)).collect(),
            digest,
        };
        covered = covered.union(&item.sectors());
        items.push(item);
        roles.push(role);
        paths.push(path.to_vec());
        true
    };
    for (i, e) in expected.iter().enumerate() {
        if !item_of(&e.disc_path, Some(e.alg), Role::Expected(i)) {
            missing.push(i);
        }
    }
    for (i, (p, _)) in tags.iter().enumerate() {
        item_of(p, Some(HashAlg::Sha256), Role::Tag(i));
    }
    item_of(TAG_MANIFEST, None, Role::Manifest);
    let known: std::collections::BTreeSet<&[u8]> = expected
        .iter()
        .map(|e| e.disc_path.as_slice())
        .chain(tags.iter().map(|t| t.0.as_slice()))
        .chain([TAG_MANIFEST])
        .collect();
    for p in entries.keys().filter(|p| !known.contains(p.as_slice())) {
        item_of(p, None, Role::Other);
    }
    for &(a, b) in &SectorRanges(vec![(0, total)]).minus(&covered).0 {
        items.push(ScanItem {
            extents: vec![(a, (b - a) * SECTOR)],
            digest: None,
        });
        roles.push(Role::System);
        paths.push(Vec::new());
    }

    let dev = FileDevice::open(path)?;
    let mut scan_opts = opts.scan.clone();
    if let Some(e) = &earlier {
        scan_opts.only = Some(e.map.pending());
    }
    let bytes_total: u64 = items
        .iter()
        .filter(|it| {
            scan_opts
                .only
                .as_ref()
                .is_none_or(|o| it.sectors().0.iter().any(|&(a, b)| o.overlaps(a, b)))
        })
        .map(|it| it.extents.iter().map(|e| e.1).sum::<u64>())
        .sum();
    progress.start(
        &crate::progress::Message::Reading {
            from: volume.volume_id.clone(),
        },
        items.len() as u64,
        bytes_total,
    );
    let item_sink = ItemSinkAdapter {
        sink,
        paths: &paths,
        writes: &roles
            .iter()
            .map(|r| matches!(r, Role::Expected(_) | Role::Tag(_) | Role::Manifest))
            .collect::<Vec<_>>(),
    };
    let (results, mut map) = scan::scan(&dev, total, &items, &scan_opts, &item_sink, progress);
    progress.finish();

    let mut findings = Vec::new();
    let (mut checked, mut ok, mut carried) = (0u64, 0u64, 0u64);
    let scanned_paths: std::collections::BTreeSet<String> = results
        .iter()
        .zip(&paths)
        .filter(|(r, p)| r.scanned && !p.is_empty())
        .map(|(_, p)| crate::catalog::display_path(p))
        .collect();
    for &i in &missing {
        findings.push(FileFinding {
            disc_path: crate::catalog::display_path(&expected[i].disc_path),
            finding: Finding::Missing,
            detail: "not on the disc".into(),
        });
    }
    let sector_detail = |r: &scan::ItemResult| {
        let mut d = Vec::new();
        if !r.bad.is_empty() {
            d.push(format!("{} unreadable sector(s): {}", r.bad.count(), r.bad));
        }
        if !r.unread.is_empty() {
            d.push(format!(
                "{} sector(s) not read before the time limit: {}",
                r.unread.count(),
                r.unread
            ));
        }
        d.join("; ")
    };
    let mut system_bad = SectorRanges::default();
    let mut system_unread = SectorRanges::default();
    for ((r, role), p) in results.iter().zip(&roles).zip(&paths) {
        if !r.scanned {
            if let Role::Expected(_) = role {
                carried += 1;
            }
            continue;
        }
        let shown = crate::catalog::display_path(p);
        let finding = if let Some(e) = &r.sink_error {
            Some(FileFinding {
                disc_path: shown.clone(),
                finding: Finding::Unreadable,
                detail: format!("cannot write the copy: {e}"),
            })
        } else if !r.complete() {
            Some(FileFinding {
                disc_path: shown.clone(),
                finding: Finding::Unreadable,
                detail: sector_detail(r),
            })
        } else {
            None
        };
        match *role {
            Role::Expected(i) => {
                checked += 1;
                let f = finding.or_else(|| {
                    judge(
                        &expected[i],
                        r.bytes,
                        r.digest.as_deref().unwrap_or_default(),
                    )
                });
                close(sink, p, f.is_none(), &mut findings);
                match f {
                    Some(f) => findings.push(f),
                    None => ok += 1,
                }
            }
            Role::Tag(i) => {
                let got = r.digest.as_deref().unwrap_or_default();
                let f = finding.or_else(|| {
                    (got != tags[i].1).then(|| FileFinding {
                        disc_path: shown.clone(),
                        finding: Finding::Changed,
                        detail: format!("sha256 {got}, tag manifest says {}", tags[i].1),
                    })
                });
                close(sink, p, f.is_none(), &mut findings);
                findings.extend(f);
            }
            // Its reading was judged when it was parsed, before the scan.
            Role::Manifest => close(sink, p, finding.is_none(), &mut findings),
            Role::Other => findings.extend(finding),
            Role::System => {
                system_bad = system_bad.union(&r.bad);
                system_unread = system_unread.union(&r.unread);
            }
        }
    }
    if let Some(e) = tree_err {
        findings.push(FileFinding {
            disc_path: "(file system: directories)".into(),
            finding: Finding::Unreadable,
            detail: e,
        });
    }
    findings.extend(udf_finding);
    if !system_bad.is_empty() || !system_unread.is_empty() {
        findings.push(FileFinding {
            disc_path: "(file system: descriptors, directories, padding)".into(),
            finding: Finding::Unreadable,
            detail: sector_detail(&scan::ItemResult {
                bad: system_bad,
                unread: system_unread,
                ..Default::default()
            }),
        });
    }
    let on_disc: BTreeMap<Vec<u8>, u64> =
        entries.iter().map(|(k, e)| (k.clone(), e.size)).collect();
    let known_expected: std::collections::BTreeSet<&[u8]> =
        expected.iter().map(|e| e.disc_path.as_slice()).collect();
    extra_findings(on_disc.keys(), &known_expected, &mut findings);
    if let Some(e) = tm_err {
        findings.push(manifest_finding(&on_disc, &e));
    }
    for (p, _) in &tags {
        if !on_disc.contains_key(p) {
            findings.push(FileFinding {
                disc_path: crate::catalog::display_path(p),
                finding: Finding::Missing,
                detail: "listed in the tag manifest, not on the disc".into(),
            });
        }
    }
    findings.extend(volume_record_finding(&on_disc));
    if let Some(e) = &earlier {
        // Findings of the earlier pass about what was not read again still hold.
        let mut kept: Vec<FileFinding> = e
            .findings
            .iter()
            .filter(|f| !scanned_paths.contains(&f.disc_path) && !f.disc_path.starts_with('('))
            .filter(|f| !findings.iter().any(|g| g.disc_path == f.disc_path))
            .cloned()
            .collect();
        carried -= kept
            .iter()
            .filter(|f| known_expected.contains(f.disc_path.as_bytes()))
            .count() as u64;
        kept.append(&mut findings);
        findings = kept;
        map.passes = e.map.passes + 1;
    }
    let bytes_read: u64 = results.iter().map(|r| r.bytes).sum();
    let report = VerifyReport {
        source: dev.name(),
        volume_id: volume.volume_id.clone(),
        files_checked: checked,
        files_ok: ok,
        files_carried: carried,
        bytes_read,
        sectors: Some(SectorSummary {
            total_sectors: map.total_sectors,
            bad: map.bad.clone(),
            unread: map.unread.clone(),
            passes: map.passes,
            bytes_read,
        }),
        findings: findings.clone(),
        clean: false,
        retired_copies: Vec::new(),
        repair: None,
    };
    Ok((volume, report, Some((key, StoredScan { map, findings }))))
}

struct ItemSinkAdapter<'a> {
    sink: &'a dyn DiscSink,
    paths: &'a [Vec<u8>],
    writes: &'a [bool],
}

impl scan::ItemSink for ItemSinkAdapter<'_> {
    fn open(&self, item: usize) -> std::io::Result<Option<Box<dyn std::io::Write>>> {
        if self.writes[item] {
            self.sink.open(&self.paths[item])
        } else {
            Ok(None)
        }
    }
}
