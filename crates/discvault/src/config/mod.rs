//! The vault's configuration file, `discvault.toml`.

use crate::digest::HashAlg;
use crate::error::IoContext;
use crate::model::FileSystems;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const CONFIG_FILE: &str = "discvault.toml";

mod server;
pub use server::{ServerSection, WatchedFolder};

/// Everything a vault can be told in `discvault.toml`. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub vault: VaultSection,
    pub catalog: CatalogSection,
    pub ingest: IngestSection,
    pub plan: PlanSection,
    pub recovery: RecoverySection,
    pub copies: CopiesSection,
    pub inspection: InspectionSection,
    pub quality: QualitySection,
    pub policy: PolicySection,
    pub migration: MigrationSection,
    pub report: ReportSection,
    pub label: LabelSection,
    pub publish: PublishSection,
    pub server: ServerSection,
}

/// Publishing: disc publishers' hot folders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishSection {
    /// Windows code page of the publisher's PC, for job, merge and status files (GBK on
    /// Chinese Windows).
    pub code_page: String,
    /// How often a publisher's folder is looked at, in milliseconds.
    pub poll_ms: u64,
    pub tdbridge: TdBridgeSection,
    pub ptburn: PtBurnSection,
}

impl Default for PublishSection {
    fn default() -> Self {
        PublishSection {
            code_page: "gbk".into(),
            poll_ms: 500,
            tdbridge: TdBridgeSection::default(),
            ptburn: PtBurnSection::default(),
        }
    }
}

/// Epson TD Bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TdBridgeSection {
    /// `PUBLISHER=`: the name in Total Disc Setup; empty: TD Bridge's default publisher.
    pub publisher: String,
    /// `DISC_TYPE=`; empty: from the volume's media (CD, DVD, DVD-DL, BD, BD-DL).
    pub disc_type: String,
    /// `FORMAT=`: the file system TD Bridge writes the volume's files in; empty: the volume's
    /// own (`UDF102_BRIDGE` for a bridge volume, `JOLIET` for ISO 9660 only), so that the disc
    /// is what its README and volume.json say.
    pub format: String,
    /// `OUT_STACKER=`; 0: TD Bridge's default.
    pub out_stacker: u32,
    /// `LABEL=`: a `.tdd` label designed in Total Disc Maker, merged with discvault's fields
    /// through `REPLACE_FIELD=`; empty: no label printed.
    pub label_template: String,
    /// Other keys for every job, e.g. `COMPARE = "YES"`.
    pub extra: BTreeMap<String, String>,
    /// `TDBStatus.txt`; empty: in the monitoring folder.
    pub status_file: String,
    /// A folder where finished discs can be read back as image files `<job>-<n>.iso` (the
    /// simulator's `Simulator/Stacker`, found by itself); empty: discs leave the robot and a
    /// person reads each back with `discvault verify DRIVE --copy COPY` before it counts.
    pub stacker_dir: String,
    /// `LOCAL=REMOTE`: how TD Bridge's PC sees the vault's paths, e.g.
    /// `/srv/vault=D:\vault`; empty: the same paths.
    pub path_map: String,
}

/// Primera PTBurn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PtBurnSection {
    /// `ClientID=` (at most 32 characters).
    pub client_id: String,
    /// The status folder; empty: `Status` in the job request folder.
    pub status_dir: String,
    /// The robot's drives as this PC reads them, by the letter PTBurn reports
    /// (`F = "/dev/sr1"`): discs are read back there before the robot prints and stacks them.
    /// A drive not listed is looked for in the simulator's `Simulator/Drives`.
    pub drives: BTreeMap<String, String>,
    /// `PrintLabel=`: the disc face rendered as `jpg` or `bmp`; `none`: no label.
    pub print_label: String,
    /// `LOCAL=REMOTE`, as for TD Bridge.
    pub path_map: String,
}

impl Default for PtBurnSection {
    fn default() -> Self {
        PtBurnSection {
            client_id: "discvault".into(),
            status_dir: String::new(),
            drives: BTreeMap::new(),
            print_label: "jpg".into(),
            path_map: String::new(),
        }
    }
}

/// Disc labels: the printer's printable ring, fonts, resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelSection {
    /// Printable diameters of the printer's discs, in mm.
    pub outer_diameter_mm: f64,
    pub inner_diameter_mm: f64,
    /// Font files loaded besides the system's (a CJK font).
    pub font_files: Vec<String>,
    /// The font used where a template names none that is installed.
    pub font_family: String,
    /// Resolution of PNG labels.
    pub dpi: f32,
    /// Pictures shown as thumbnails on a disc face.
    pub thumbnails: usize,
    /// The template of each kind used where none is chosen (publishing included): the name
    /// of a shipped one (`standard`, ...) or of one of `templates`.
    pub face_template: String,
    pub spine_template: String,
    pub slot_template: String,
    /// Templates of one's own, offered by name beside the shipped ones.
    pub templates: Vec<OwnTemplate>,
}

impl LabelSection {
    /// The names of the templates of a kind: the shipped ones, then one's own.
    pub fn template_names(&self, kind: disclabel::LabelKind) -> Vec<String> {
        disclabel::DESIGNS
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.name.to_string())
            .chain(
                self.templates
                    .iter()
                    .filter(|t| disclabel::LabelKind::parse(&t.kind) == Some(kind))
                    .map(|t| t.name.clone()),
            )
            .collect()
    }
}

/// A label template of one's own (`[[label.templates]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnTemplate {
    pub name: String,
    /// `face`, `spine` or `slot`.
    pub kind: String,
    /// The SVG file (see docs/LABELS.md).
    pub file: String,
    /// What it is for, shown where templates are chosen.
    #[serde(default)]
    pub about: String,
}

impl Default for LabelSection {
    fn default() -> Self {
        LabelSection {
            outer_diameter_mm: 118.0,
            inner_diameter_mm: 23.0,
            font_files: vec!["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc".into()],
            font_family: "WenQuanYi Micro Hei".into(),
            dpi: 600.0,
            thumbnails: 4,
            face_template: "standard".into(),
            spine_template: "standard".into(),
            slot_template: "standard".into(),
            templates: Vec::new(),
        }
    }
}

/// How reports are made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ReportSection {
    /// The browser that prints the PDF report; empty: chromium, chromium-browser or
    /// google-chrome from the PATH.
    pub browser: String,
}

/// What `migrate --plan` looks for besides damaged and failing copies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrationSection {
    /// Media no longer kept: their volumes are remastered onto `target_media`.
    pub obsolete_media: Vec<String>,
    /// Media new volumes are mastered on; the plan's media when empty.
    pub target_media: String,
    /// With `--consolidate`, volumes whose image fills less than this share of a target disc
    /// are remastered together onto fewer discs, in percent.
    pub consolidate_below_percent: f64,
}

impl Default for MigrationSection {
    fn default() -> Self {
        MigrationSection {
            obsolete_media: Vec::new(),
            target_media: String::new(),
            consolidate_below_percent: 50.0,
        }
    }
}

/// What an archive needs of every volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PolicySection {
    /// Trusted copies every mastered volume needs.
    pub min_trusted_copies: u32,
    /// Different sites its trusted copies must be kept in.
    pub min_sites: u32,
    /// Collections that need more (or fewer) copies than the rule above, by name: a volume
    /// holding records of several collections needs the most any of them asks.
    pub collections: BTreeMap<String, CollectionPolicy>,
}

impl PolicySection {
    /// Whether the numbers make a policy one may set: 1 to 99 trusted copies, kept in no more
    /// sites than copies; the same for each collection named. The error names the key.
    pub fn check(&self) -> std::result::Result<(), String> {
        let one = |at: String, copies: u32, sites: u32| {
            if !(1..=99).contains(&copies) {
                return Err(format!("{at}min_trusted_copies = {copies}: 1 to 99"));
            }
            if sites > copies {
                return Err(format!(
                    "{at}min_sites = {sites}: no more sites than trusted copies ({copies})"
                ));
            }
            Ok(())
        };
        one("policy.".into(), self.min_trusted_copies, self.min_sites)?;
        for (name, c) in &self.collections {
            if name.trim().is_empty() || name.len() > 255 {
                return Err(format!(
                    "policy.collections.{name:?}: a collection's name, 1 to 255 bytes"
                ));
            }
            one(
                format!("policy.collections.{name:?}."),
                c.min_trusted_copies,
                c.min_sites,
            )?;
        }
        Ok(())
    }
}

/// The copies one collection's volumes need.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CollectionPolicy {
    pub min_trusted_copies: u32,
    pub min_sites: u32,
}

impl Default for PolicySection {
    fn default() -> Self {
        PolicySection {
            // 一式三套 (three sets), one of them off-site.
            min_trusted_copies: 3,
            min_sites: 2,
            collections: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CopiesSection {
    /// Roles of the copies made of every volume, in order (GB/T 18894: 一式三套).
    pub roles: Vec<String>,
}

impl CopiesSection {
    /// A role as configured (matched without regard to ASCII case), or an error that lists the
    /// configured roles.
    pub fn role(&self, r: &str) -> crate::Result<String> {
        let t = r.trim();
        self.roles
            .iter()
            .find(|x| x.eq_ignore_ascii_case(t))
            .cloned()
            .ok_or_else(|| crate::Error::Invalid {
                field: "roles".into(),
                detail: format!(
                    "{r:?} is not a configured role (configured in [copies] roles: {})",
                    self.roles.join(", ")
                ),
            })
    }
}

impl Default for CopiesSection {
    fn default() -> Self {
        CopiesSection {
            roles: vec!["sealed".into(), "access".into(), "offsite".into()],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InspectionSection {
    /// Days after its last clean read-back that a copy stays trusted and is due again (a copy
    /// never read back is not trusted, and is due this long after its writing).
    pub interval_days: u32,
    /// The same per medium (`cd74`, `dvd5`, `bd25` ...), where it differs.
    pub interval_days_by_medium: BTreeMap<String, u32>,
    /// The interval of a copy with a warning (a quality grade "act within a year").
    pub warning_interval_days: u32,
    /// Each inspection round checks at least this share of the active copies, in percent.
    pub sample_percent: f64,
}

impl Default for InspectionSection {
    fn default() -> Self {
        InspectionSection {
            // GB/T 18894: optical discs every 4 years, at least 10% of them a round.
            interval_days: 1461,
            interval_days_by_medium: BTreeMap::new(),
            warning_interval_days: 365,
            sample_percent: 10.0,
        }
    }
}

/// Grading of disc quality measurements from testers: a value at or above `watch` means "act
/// within a year" (the copy's interval shortens), at or above `act_now` means migrate now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualitySection {
    pub thresholds: BTreeMap<String, Threshold>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub watch: Option<f64>,
    pub act_now: Option<f64>,
}

impl Default for QualitySection {
    fn default() -> Self {
        // JIS Z 6017 figures (see shared/domain/preservation.md); the BD and PIF ones are
        // uncertain in the sources and meant to be set by each archive.
        let t = |watch, act_now| Threshold { watch, act_now };
        QualitySection {
            thresholds: BTreeMap::from([
                ("bler".to_string(), t(Some(110.0), Some(220.0))),
                ("pi8".to_string(), t(Some(100.0), Some(280.0))),
                ("pif".to_string(), t(Some(4.0), Some(10.0))),
                ("bd_ser".to_string(), t(Some(1.0e-3), None)),
                ("bd_burst".to_string(), t(None, Some(1900.0))),
            ]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultSection {
    /// Organisation written as `Source-Organization` on every disc.
    pub organization: String,
    /// Prefix of volume ids: `DV` gives `DV-000001`.
    pub volume_prefix: String,
    /// How long a command waits for what another process or station holds (the ingest, the
    /// plan, a volume, the whole vault: see `Vault::claim`), in seconds, before it gives up
    /// with "vault busy" naming the holder.
    pub lock_wait_seconds: u64,
}

impl Default for VaultSection {
    fn default() -> Self {
        VaultSection {
            organization: String::new(),
            volume_prefix: "DV".into(),
            lock_wait_seconds: 600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogSection {
    /// Database URL. A relative `sqlite:` path is relative to the vault directory.
    pub url: String,
}

impl Default for CatalogSection {
    fn default() -> Self {
        CatalogSection {
            url: "sqlite:catalog.sqlite".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSection {
    /// Digests computed for every file (sha256 is always computed).
    pub digests: Vec<HashAlg>,
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            digests: vec![HashAlg::Sha256],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanSection {
    /// Media profile used when `plan` is not given `--media`.
    pub media: String,
    /// Share of every disc kept free (for recovery data), in percent.
    pub reserve_percent: f64,
    /// Largest share of a disc the catalog snapshot may take, in percent; beyond it the disc
    /// carries the index of all volumes plus its own records only.
    pub index_share_percent: f64,
    /// File systems of new volumes: `bridge` (ISO 9660 and UDF 1.02 over the same data) or
    /// `iso9660` (ISO 9660 only).
    pub file_systems: FileSystems,
}

impl Default for PlanSection {
    fn default() -> Self {
        PlanSection {
            media: "dvd5".into(),
            reserve_percent: 0.0,
            index_share_percent: 5.0,
            file_systems: FileSystems::Bridge,
        }
    }
}

/// Recovery data (PAR2 2.0) written on every disc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecoverySection {
    /// Recovery data as a share of the bytes it protects (the disc's files), in percent; 0
    /// writes none.
    pub redundancy_percent: f64,
    /// Per media profile, instead of `redundancy_percent`.
    pub media: BTreeMap<String, f64>,
    /// Slices of one PAR2 set, and files in it at most (a disc with more files has several
    /// sets). More slices mend more separate damaged places, at a cost in time that grows with
    /// slices times disc size.
    pub slices_per_set: u32,
    /// Data volumes per parity volume (a disc of PAR2 data over their images that rebuilds any
    /// one of them lost whole); 0: no parity volumes.
    pub parity_group: u32,
    /// Parity volumes per group: any this many discs of a group lost whole are rebuilt (1-8).
    pub parity_volumes: u32,
}

impl Default for RecoverySection {
    fn default() -> Self {
        RecoverySection {
            redundancy_percent: 10.0,
            media: BTreeMap::new(),
            slices_per_set: 1000,
            parity_group: 0,
            parity_volumes: 1,
        }
    }
}

impl RecoverySection {
    /// The redundancy for a media profile, in percent.
    pub fn percent_for(&self, media: &str) -> f64 {
        self.media
            .get(media)
            .copied()
            .unwrap_or(self.redundancy_percent)
    }
}

/// The file `discvault init --catalog URL` writes: the defaults with the catalog at `url`.
pub fn with_catalog_url(url: &str) -> Result<String> {
    if url.contains(['\n', '\r']) || url.trim().is_empty() {
        return Err(Error::Invalid {
            field: "--catalog".into(),
            detail: format!("{url:?} is not a catalog URL"),
        });
    }
    set_catalog_url(DEFAULT_CONFIG_TEXT, url)
}

/// `text` (a discvault.toml) with its `[catalog] url` set to `url`, everything else as it was.
pub fn set_catalog_url(text: &str, url: &str) -> Result<String> {
    let line = format!("url = {}", toml::Value::String(url.to_string()));
    let mut out = Vec::new();
    let (mut section, mut done) = (String::new(), false);
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with('[') {
            if section == "[catalog]" && !done {
                out.push(line.clone());
                done = true;
            }
            section = t.split('#').next().unwrap_or("").trim().to_string();
        }
        if section == "[catalog]" && !done && (t.starts_with("url ") || t.starts_with("url=")) {
            out.push(line.clone());
            done = true;
            continue;
        }
        out.push(l.to_string());
    }
    if !done {
        if section != "[catalog]" {
            out.push(String::new());
            out.push("[catalog]".into());
        }
        out.push(line);
    }
    let new = out.join("\n") + "\n";
    let parsed: Config = toml::from_str(&new).map_err(|e| Error::Invalid {
        field: "catalog.url".into(),
        detail: format!("discvault.toml would not read back: {e}"),
    })?;
    if parsed.catalog.url != url {
        return Err(Error::Invalid {
            field: "catalog.url".into(),
            detail:
                "discvault.toml has its catalog url in a form this cannot change; edit it by hand"
                    .into(),
        });
    }
    Ok(new)
}

/// The file `discvault init` writes: the defaults, each explained.
pub const DEFAULT_CONFIG_TEXT: &str = include_str!("default.toml");

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).at(path)?;
        let mut c: Config = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        c.validate().map_err(|detail| Error::Config {
            path: path.to_path_buf(),
            detail,
        })?;
        if !c.ingest.digests.contains(&HashAlg::Sha256) {
            c.ingest.digests.insert(0, HashAlg::Sha256);
        }
        Ok(c)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(
                "server.tls_cert and server.tls_key go together: give both or neither".into(),
            );
        }
        let sv = &self.server;
        if !(1..=3650).contains(&sv.stale_transfer_days) {
            return Err(format!(
                "server.stale_transfer_days = {} is outside 1..3650",
                sv.stale_transfer_days
            ));
        }
        if !(1..=3600).contains(&sv.transfer_idle_seconds) {
            return Err(format!(
                "server.transfer_idle_seconds = {} is outside 1..3600",
                sv.transfer_idle_seconds
            ));
        }
        if !(1..=7 * 24 * 60).contains(&sv.session_idle_minutes) {
            return Err(format!(
                "server.session_idle_minutes = {} is outside 1..10080 (a week)",
                sv.session_idle_minutes
            ));
        }
        if !(1..=30 * 24).contains(&sv.session_hours) {
            return Err(format!(
                "server.session_hours = {} is outside 1..720 (30 days)",
                sv.session_hours
            ));
        }
        if sv.search_cache_mb > 64 * 1024 {
            return Err(format!(
                "server.search_cache_mb = {} is above 65536 (64 GiB)",
                sv.search_cache_mb
            ));
        }
        let p = &self.plan;
        if !(0.0..90.0).contains(&p.reserve_percent) {
            return Err(format!(
                "plan.reserve_percent = {} is outside 0..90",
                p.reserve_percent
            ));
        }
        if !(0.0..50.0).contains(&p.index_share_percent) {
            return Err(format!(
                "plan.index_share_percent = {} is outside 0..50",
                p.index_share_percent
            ));
        }
        crate::media::MediaProfile::parse(&p.media).map_err(|e| format!("plan.media: {e}"))?;
        let r = &self.recovery;
        for (k, v) in std::iter::once(("redundancy_percent".to_string(), r.redundancy_percent))
            .chain(r.media.iter().map(|(m, v)| (format!("media.{m}"), *v)))
        {
            if !(0.0..=100.0).contains(&v) {
                return Err(format!("recovery.{k} = {v} is outside 0..100"));
            }
        }
        for m in r.media.keys() {
            crate::media::MediaProfile::parse(m).map_err(|e| format!("recovery.media: {e}"))?;
        }
        if !(1..=crate::recovery::MAX_SLICES_PER_SET).contains(&(r.slices_per_set as i64)) {
            return Err(format!(
                "recovery.slices_per_set = {} is outside 1..{}",
                r.slices_per_set,
                crate::recovery::MAX_SLICES_PER_SET
            ));
        }
        let m = &self.migration;
        if !m.target_media.is_empty() {
            crate::media::MediaProfile::parse(&m.target_media)
                .map_err(|e| format!("migration.target_media: {e}"))?;
        }
        for o in &m.obsolete_media {
            crate::media::MediaProfile::parse(o)
                .map_err(|e| format!("migration.obsolete_media: {e}"))?;
        }
        if !(0.0..=100.0).contains(&m.consolidate_below_percent) {
            return Err(format!(
                "migration.consolidate_below_percent = {} is outside 0..100",
                m.consolidate_below_percent
            ));
        }
        let l = &self.label;
        if !(l.inner_diameter_mm > 0.0
            && l.inner_diameter_mm < l.outer_diameter_mm
            && l.outer_diameter_mm <= 120.0)
        {
            return Err(format!(
                "label: inner_diameter_mm {} and outer_diameter_mm {} must satisfy 0 < inner < outer <= 120",
                l.inner_diameter_mm, l.outer_diameter_mm
            ));
        }
        if !(72.0..=2400.0).contains(&l.dpi) {
            return Err(format!("label.dpi = {} is outside 72..2400", l.dpi));
        }
        let mut own = std::collections::BTreeSet::new();
        for (i, t) in l.templates.iter().enumerate() {
            let at = format!("label.templates[{i}] ({:?})", t.name);
            let kind = disclabel::LabelKind::parse(&t.kind)
                .ok_or_else(|| format!("{at}: kind = {:?}: face, spine or slot", t.kind))?;
            let name_ok = !t.name.trim().is_empty()
                && t.name.len() <= 64
                && !t.name.to_ascii_lowercase().ends_with(".svg")
                && !t.name.chars().any(|c| c.is_control() || "/\\".contains(c));
            if !name_ok {
                return Err(format!(
                    "{at}: a name of 1 to 64 bytes, without / or \\ or control characters, not ending in .svg (which --template takes for a file)"
                ));
            }
            if disclabel::design(kind, &t.name).is_some() || !own.insert((kind, &t.name)) {
                return Err(format!(
                    "{at}: a {} template of that name is already there",
                    t.kind
                ));
            }
            if t.file.trim().is_empty() {
                return Err(format!("{at}: file = \"\": give the SVG file"));
            }
        }
        for (key, kind, name) in [
            (
                "face_template",
                disclabel::LabelKind::Face,
                &l.face_template,
            ),
            (
                "spine_template",
                disclabel::LabelKind::Spine,
                &l.spine_template,
            ),
            (
                "slot_template",
                disclabel::LabelKind::Slot,
                &l.slot_template,
            ),
        ] {
            if disclabel::design(kind, name).is_none() && !own.contains(&(kind, name)) {
                return Err(format!(
                    "label.{key} = {name:?}: no {} template has that name ({})",
                    kind.as_str(),
                    l.template_names(kind).join(", ")
                ));
            }
        }
        if discpublisher::CodePage::parse(&self.publish.code_page).is_none() {
            return Err(format!(
                "publish.code_page = {:?} is not a code page (gbk, cp936, gb18030, big5, windows-1252, utf-8 ...)",
                self.publish.code_page
            ));
        }
        if !["jpg", "bmp", "none"].contains(&self.publish.ptburn.print_label.as_str()) {
            return Err(format!(
                "publish.ptburn.print_label = {:?}: jpg, bmp or none",
                self.publish.ptburn.print_label
            ));
        }
        // What a file could hold before the policy could be set in the catalog still loads
        // (more sites than copies, say); `PolicySection::check` holds a policy being set.
        for (name, c) in &self.policy.collections {
            if c.min_trusted_copies == 0 {
                return Err(format!(
                    "policy.collections.{name:?}.min_trusted_copies: at least 1"
                ));
            }
        }
        if self.copies.roles.is_empty() || self.copies.roles.iter().any(|r| r.trim().is_empty()) {
            return Err("copies.roles: give at least one non-empty role".into());
        }
        let i = &self.inspection;
        if i.interval_days == 0 || i.warning_interval_days == 0 {
            return Err("inspection.interval_days and warning_interval_days: at least 1".into());
        }
        if let Some((m, _)) = i.interval_days_by_medium.iter().find(|(_, d)| **d == 0) {
            return Err(format!(
                "inspection.interval_days_by_medium.{m}: at least 1"
            ));
        }
        if !(0.0..=100.0).contains(&i.sample_percent) {
            return Err(format!(
                "inspection.sample_percent = {} is outside 0..100",
                i.sample_percent
            ));
        }
        let prefix = &self.vault.volume_prefix;
        if prefix.is_empty()
            || prefix.len() > 8
            || !prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(format!(
                "vault.volume_prefix = {prefix:?}: use 1 to 8 characters A-Z, 0-9"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text_parses_to_defaults() {
        let c: Config = toml::from_str(DEFAULT_CONFIG_TEXT).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn bad_values_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[plan]\nreserve_percent = 120\n").unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("plan.reserve_percent"), "{e}");
        std::fs::write(&p, "[plan]\nmedai = \"dvd5\"\n").unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("medai"), "{e}");
    }
}
