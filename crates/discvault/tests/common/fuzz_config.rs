//! The configuration fuzz target, shared by the fuzzer (`examples/fuzz_config.rs`) and the
//! corpus replay (`tests/fuzz_corpus.rs`). The input is a vault's `discvault.toml`, loaded as
//! every command loads it (`Config::load`: the file read whole, TOML, unknown keys refused,
//! values checked), then the values the commands derive from it: media profiles, redundancy
//! per medium, roles, the publisher's code page, inspection intervals.

use discvault::config::{Config, DEFAULT_CONFIG_TEXT};
use discvault::media::MediaProfile;
use std::path::Path;

/// The seeds: the file `discvault init` writes (`DEFAULT_CONFIG_TEXT`), and configurations
/// serialised by discvault's own `Config` (the defaults, and one with every map and list
/// filled: media overrides, per-collection policies, publisher drives and extra keys).
pub fn seeds() -> Vec<Vec<u8>> {
    let mut c = Config::default();
    c.vault.organization = "某某市档案馆".into();
    c.vault.volume_prefix = "WS2024".into();
    c.plan.media = "custom:1_000_000_000".into();
    c.recovery.media.insert("bd25".into(), 5.0);
    c.recovery.media.insert("cd74".into(), 20.0);
    c.recovery.parity_group = 4;
    c.recovery.parity_volumes = 2;
    c.copies.roles = vec!["封存".into(), "利用".into(), "异地".into()];
    c.inspection
        .interval_days_by_medium
        .insert("dvd5".into(), 730);
    c.migration.obsolete_media = vec!["cd74".into(), "cd80".into()];
    c.migration.target_media = "bd25".into();
    c.policy.collections.insert(
        "文书档案".into(),
        discvault::config::CollectionPolicy {
            min_trusted_copies: 3,
            min_sites: 2,
        },
    );
    c.publish.code_page = "cp936".into();
    c.publish
        .ptburn
        .drives
        .insert("F".into(), "/dev/sr1".into());
    c.publish
        .tdbridge
        .extra
        .insert("COMPARE".into(), "YES".into());
    c.label.font_files = vec!["/usr/share/fonts/noto/NotoSansCJK-Regular.ttc".into()];
    vec![
        DEFAULT_CONFIG_TEXT.as_bytes().to_vec(),
        toml::to_string(&Config::default()).unwrap().into_bytes(),
        toml::to_string_pretty(&c).unwrap().into_bytes(),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused with an error naming the file.
    Refused,
    /// Loaded, and every derived value made.
    Loaded,
}

/// Runs one input; `dir` is a scratch folder the file is written into. Errors are fine, a
/// panic is a finding.
pub fn run(dir: &Path, data: &[u8]) -> Outcome {
    let path = dir.join("discvault.toml");
    std::fs::write(&path, data).unwrap();
    let c = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            assert!(
                e.to_string().contains("discvault.toml"),
                "an error not naming the file: {e}"
            );
            return Outcome::Refused;
        }
    };
    let mut media: Vec<&str> = vec![c.plan.media.as_str(), c.migration.target_media.as_str()];
    media.extend(c.recovery.media.keys().map(String::as_str));
    media.extend(c.migration.obsolete_media.iter().map(String::as_str));
    media.extend(
        c.inspection
            .interval_days_by_medium
            .keys()
            .map(String::as_str),
    );
    for m in media {
        if let Ok(p) = MediaProfile::parse(m) {
            let _ = p.bytes();
            let _ = c.recovery.percent_for(&p.name);
        }
    }
    for r in &c.copies.roles {
        let _ = c.copies.role(r);
    }
    assert!(discpublisher::CodePage::parse(&c.publish.code_page).is_some());
    let _ = std::time::Duration::from_secs(c.vault.lock_wait_seconds);
    let _ = std::time::Duration::from_millis(c.publish.poll_ms);
    Outcome::Loaded
}
