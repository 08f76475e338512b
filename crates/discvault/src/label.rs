//! Labels of volumes and copies: the disc face, the case spine, sheets of cabinet slot labels.
//! Gathers what the catalog knows (collection, volume, copy, barcode, a QR code with the
//! volume's checksum, the top of the directory tree, thumbnails of pictures) and hands it to
//! the [`disclabel`] codec with the vault's template and fonts.

use crate::error::IoContext;
use crate::model::{DiscCopy, FileKind, Volume};
use crate::{Error, Result, Vault};
use disclabel::LabelData;
pub use disclabel::{LabelKind, DESIGNS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelFormat {
    Svg,
    Png,
    Pdf,
    /// For printers that take JPEG (PTBurn's `PrintLabel`).
    Jpg,
    Bmp,
}

impl LabelFormat {
    /// The format a file name asks for by its extension (`label.png` is a PNG).
    pub fn from_path(p: &std::path::Path) -> Result<LabelFormat> {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        LabelFormat::parse(&ext).map_err(|_| Error::Invalid {
            field: "--out".into(),
            detail: format!(
                "{}: the extension does not say a format (svg, png, pdf, jpg, bmp); give --format",
                p.display()
            ),
        })
    }

    pub fn parse(s: &str) -> Result<LabelFormat> {
        match s {
            "svg" => Ok(LabelFormat::Svg),
            "png" => Ok(LabelFormat::Png),
            "pdf" => Ok(LabelFormat::Pdf),
            "jpg" | "jpeg" => Ok(LabelFormat::Jpg),
            "bmp" => Ok(LabelFormat::Bmp),
            other => Err(Error::Invalid {
                field: "--format".into(),
                detail: format!("{other:?}: use svg, png, pdf, jpg or bmp"),
            }),
        }
    }
}

/// What to label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum LabelSubject {
    /// The face of the disc of a volume, a copy, or the copy with a barcode.
    Face(String),
    /// The spine of its case.
    Spine(String),
    /// Slot labels of every copy in a cabinet (`*` for every placed copy).
    Slots(String),
}

impl LabelSubject {
    pub fn kind(&self) -> disclabel::LabelKind {
        match self {
            LabelSubject::Face(_) => disclabel::LabelKind::Face,
            LabelSubject::Spine(_) => disclabel::LabelKind::Spine,
            LabelSubject::Slots(_) => disclabel::LabelKind::Slot,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelOptions {
    pub subject: LabelSubject,
    pub format: LabelFormat,
    /// The template by name: a shipped one or one of `[[label.templates]]` (default: the
    /// kind's `label.*_template`).
    pub template: Option<String>,
    /// An SVG file to use as the template instead (see `docs/LABELS.md`). Only the CLI sets
    /// it: a file named by a request is never read (nor taken from JSON).
    #[serde(skip)]
    pub template_file: Option<PathBuf>,
}

/// A label template one may choose by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelTemplate {
    pub name: String,
    /// `face`, `spine` or `slot`.
    pub kind: String,
    /// What it is for.
    pub about: String,
    /// Shipped with discvault; false: the vault's own (`[[label.templates]]`).
    pub shipped: bool,
    /// The one used where none is chosen (`label.*_template`).
    pub default: bool,
}

fn default_template(vault: &Vault, kind: disclabel::LabelKind) -> &str {
    let l = &vault.config.label;
    match kind {
        disclabel::LabelKind::Face => &l.face_template,
        disclabel::LabelKind::Spine => &l.spine_template,
        disclabel::LabelKind::Slot => &l.slot_template,
    }
}

/// The templates one may choose, of every kind: the shipped ones, then the vault's own.
pub fn templates(vault: &Vault) -> Vec<LabelTemplate> {
    let shipped = disclabel::DESIGNS.iter().map(|d| LabelTemplate {
        name: d.name.into(),
        kind: d.kind.as_str().into(),
        about: d.about.into(),
        shipped: true,
        default: default_template(vault, d.kind) == d.name,
    });
    let own = vault.config.label.templates.iter().map(|t| LabelTemplate {
        name: t.name.clone(),
        kind: t.kind.clone(),
        about: t.about.clone(),
        shipped: false,
        default: disclabel::LabelKind::parse(&t.kind)
            .is_some_and(|k| default_template(vault, k) == t.name),
    });
    shipped.chain(own).collect()
}

/// The SVG of the template the options ask for, and how to name it in an error.
fn template_svg(vault: &Vault, opts: &LabelOptions) -> Result<(String, String)> {
    let kind = opts.subject.kind();
    if let Some(p) = &opts.template_file {
        let svg = std::fs::read_to_string(p).at(p)?;
        return Ok((svg, p.display().to_string()));
    }
    let name = opts
        .template
        .as_deref()
        .unwrap_or_else(|| default_template(vault, kind));
    if let Some(d) = disclabel::design(kind, name) {
        return Ok((d.svg.to_string(), format!("template {name:?}")));
    }
    let own = vault
        .config
        .label
        .templates
        .iter()
        .find(|t| t.name == name && disclabel::LabelKind::parse(&t.kind) == Some(kind));
    match own {
        Some(t) => {
            // A relative file is in the vault's folder, beside discvault.toml.
            let p = vault.root.join(&t.file);
            let svg = std::fs::read_to_string(&p).at(&p)?;
            Ok((svg, format!("template {name:?} ({})", p.display())))
        }
        None => Err(Error::Invalid {
            field: "template".into(),
            detail: format!(
                "{name:?}: no {} template has that name ({})",
                kind.as_str(),
                vault.config.label.template_names(kind).join(", ")
            ),
        }),
    }
}

fn role_text(role: &str) -> String {
    match role {
        "sealed" => "封存 sealed".into(),
        "access" => "利用 access".into(),
        "offsite" => "异地 offsite".into(),
        other => other.into(),
    }
}

/// The volume and copy a key names: a copy (id, barcode, RFID) or a volume id.
fn subject(vault: &Vault, key: &str) -> Result<(Volume, Option<DiscCopy>)> {
    match vault.catalog.copy(key) {
        Ok(c) => Ok((vault.catalog.volume(&c.volume_id)?, Some(c))),
        Err(copy_err) => match vault.catalog.volume(key) {
            Ok(v) => Ok((v, None)),
            Err(_) => Err(Error::NotFound(format!(
                "{key:?} is neither a volume nor a copy: {copy_err}"
            ))),
        },
    }
}

/// The data of a volume's (or copy's) label.
pub fn label_data(vault: &Vault, key: &str) -> Result<LabelData> {
    let (v, copy) = subject(vault, key)?;
    let cfg = &vault.config.label;
    let contents = vault.catalog.volume_contents(&v)?;
    let collections = vault.catalog.collections()?;
    let mut names: Vec<&str> = contents.iter().map(|e| e.collection.as_str()).collect();
    names.dedup();
    names.sort();
    names.dedup();
    let first = collections
        .iter()
        .find(|c| Some(c.name.as_str()) == names.first().copied());
    let mut f = BTreeMap::new();
    let mut set = |k: &str, val: String| {
        f.insert(k.to_string(), val);
    };
    set("collection", names.join("、"));
    set(
        "title",
        first
            .and_then(|c| c.metadata.get("title").or(c.metadata.get("题名")).cloned())
            .unwrap_or_default(),
    );
    // 全宗 / series / 保管期限 of each collection on the disc: one line for one collection, the
    // collections one after another (each named) when there are several.
    let retention_of = |c: &crate::model::Collection| {
        let r = if c.retention.is_empty() {
            c.metadata.get("保管期限").cloned().unwrap_or_default()
        } else {
            c.retention.clone()
        };
        (!r.is_empty()).then(|| format!("保管期限 {r}"))
    };
    let on_disc: Vec<&crate::model::Collection> = names
        .iter()
        .filter_map(|n| collections.iter().find(|c| c.name == *n))
        .collect();
    if on_disc.len() > 1 {
        let lines: Vec<String> = on_disc
            .iter()
            .map(|c| {
                let mut parts = vec![c.name.clone()];
                parts.extend(
                    [c.fonds.clone(), c.series.clone()]
                        .into_iter()
                        .filter(|x| !x.is_empty()),
                );
                parts.extend(retention_of(c));
                parts.join(" ")
            })
            .collect();
        set("fonds", lines.join("；"));
        set("series", String::new());
        set("retention", String::new());
    } else {
        set("fonds", first.map(|c| c.fonds.clone()).unwrap_or_default());
        set(
            "series",
            first.map(|c| c.series.clone()).unwrap_or_default(),
        );
        set(
            "retention",
            first.and_then(retention_of).unwrap_or_default(),
        );
    }
    set("volume_id", v.volume_id.clone());
    set("seq", format!("{} / {}", v.seq, v.seq_count));
    set(
        "date",
        crate::rfc3339(v.mastered_at.unwrap_or(v.created_at))[..10].to_string(),
    );
    set("organization", vault.config.vault.organization.clone());
    set(
        "role",
        copy.as_ref()
            .map(|c| role_text(&c.role))
            .unwrap_or_default(),
    );
    set(
        "copy_id",
        copy.as_ref().map(|c| c.copy_id.clone()).unwrap_or_default(),
    );
    let barcode = copy
        .as_ref()
        .map(|c| c.barcode.clone())
        .unwrap_or_else(|| v.volume_id.clone());
    set("barcode_text", barcode.clone());
    let (outer, inner) = (cfg.outer_diameter_mm / 2.0, cfg.inner_diameter_mm / 2.0);
    set("outer_diameter", format!("{}", cfg.outer_diameter_mm));
    set("inner_diameter", format!("{}", cfg.inner_diameter_mm));
    set("outer_r", format!("{outer}"));
    set("inner_r", format!("{inner}"));
    set("outer_top", format!("{}", 60.0 - outer));
    set("inner_top", format!("{}", 60.0 - inner));
    let qr = format!(
        "discvault:v1;volume={};copy={};image-sha256={}",
        v.volume_id,
        copy.as_ref().map(|c| c.copy_id.as_str()).unwrap_or(""),
        v.image_sha256.as_deref().unwrap_or("")
    );

    // The top of the tree: collections and their first two levels, with file counts.
    let mut tops: BTreeMap<String, u64> = BTreeMap::new();
    for e in &contents {
        let p = crate::catalog::display_path(&e.file.path_raw);
        let parts: Vec<&str> = p.split('/').collect();
        let key = if parts.len() > 2 {
            format!("{}/{}/{}/", e.collection, parts[0], parts[1])
        } else if parts.len() == 2 {
            format!("{}/{}/", e.collection, parts[0])
        } else {
            format!("{}/", e.collection)
        };
        *tops.entry(key).or_default() += 1;
    }
    let tree = tops
        .into_iter()
        .map(|(k, n)| format!("{k} ({n})"))
        .collect();

    // Thumbnails of the first pictures, read from where the records are kept.
    let mut thumbnails = Vec::new();
    for e in &contents {
        if thumbnails.len() >= cfg.thumbnails
            || e.file.kind != FileKind::File
            || e.content.parts > 1
        {
            continue;
        }
        let lower = e.file.path.to_lowercase();
        let picture = [".jpg", ".jpeg", ".png", ".tif", ".tiff"]
            .iter()
            .any(|x| lower.ends_with(x));
        if !picture || e.file.size > 64 << 20 {
            continue;
        }
        let Some(src) = &e.file.source else { continue };
        use std::os::unix::ffi::OsStrExt;
        if let Ok(bytes) = std::fs::read(std::ffi::OsStr::from_bytes(src)) {
            thumbnails.push(bytes);
        }
    }
    Ok(LabelData {
        fields: f,
        barcode,
        qr,
        tree,
        thumbnails,
    })
}

fn fonts(vault: &Vault) -> disclabel::Fonts {
    disclabel::Fonts {
        files: vault
            .config
            .label
            .font_files
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .collect(),
        family: vault.config.label.font_family.clone(),
    }
}

/// Renders a label; returns the file's bytes.
pub fn render(vault: &Vault, opts: &LabelOptions) -> Result<Vec<u8>> {
    let (template, source) = template_svg(vault, opts)?;
    let err = |e: disclabel::LabelError| Error::Invalid {
        field: "label".into(),
        detail: format!("{source}: {e}"),
    };
    let pages: Vec<String> = match &opts.subject {
        LabelSubject::Face(key) => {
            vec![disclabel::fill(&template, &label_data(vault, key)?).map_err(err)?]
        }
        LabelSubject::Spine(key) => {
            let mut d = label_data(vault, key)?;
            d.thumbnails.clear();
            vec![disclabel::fill(&template, &d).map_err(err)?]
        }
        LabelSubject::Slots(cabinet) => {
            let mut labels = Vec::new();
            for c in vault.catalog.copies(None)? {
                if c.state == crate::model::CopyState::Retired
                    || (cabinet != "*" && &c.place.cabinet != cabinet)
                    || c.place == Default::default()
                {
                    continue;
                }
                labels.push(LabelData {
                    fields: BTreeMap::from([
                        ("position".to_string(), c.place.to_string()),
                        ("barcode_text".to_string(), c.barcode.clone()),
                        ("volume_id".to_string(), c.volume_id.clone()),
                    ]),
                    barcode: c.barcode.clone(),
                    ..Default::default()
                });
            }
            if labels.is_empty() {
                return Err(Error::Invalid {
                    field: "--slots".into(),
                    detail: format!("no copy is placed in cabinet {cabinet:?}"),
                });
            }
            disclabel::sheet(&template, &labels).map_err(err)?
        }
    };
    let f = fonts(vault);
    match opts.format {
        LabelFormat::Svg if pages.len() == 1 => Ok(pages[0].clone().into_bytes()),
        LabelFormat::Png if pages.len() == 1 => {
            disclabel::to_png(&pages[0], &f, vault.config.label.dpi).map_err(err)
        }
        LabelFormat::Jpg | LabelFormat::Bmp if pages.len() == 1 => disclabel::to_print(
            &pages[0],
            &f,
            vault.config.label.dpi,
            if opts.format == LabelFormat::Jpg {
                disclabel::PrintFormat::Jpeg
            } else {
                disclabel::PrintFormat::Bmp
            },
        )
        .map_err(err),
        LabelFormat::Pdf => disclabel::to_pdf(&pages, &f).map_err(err),
        _ => Err(Error::Invalid {
            field: "--format".into(),
            detail: format!("{} pages: only pdf holds several", pages.len()),
        }),
    }
}
