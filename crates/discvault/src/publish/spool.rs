//! The spool: the volume's image (and for TD Bridge its files) as the publishers burn them.

use super::*;

/// The volume's image in the vault's spool folder, mastered again (byte-identical, checked)
/// unless the spool holds it unchanged since it was written.
pub(crate) fn spool_image(
    vault: &Vault,
    volume: &Volume,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let dir = vault.root.join("spool");
    let image = dir.join(format!("{}.iso", volume.volume_id));
    let stamp = dir.join(format!("{}.iso.stamp", volume.volume_id));
    let fingerprint = |p: &Path| -> Option<String> {
        let m = std::fs::metadata(p).ok()?;
        use std::os::unix::fs::MetadataExt;
        Some(format!(
            "{} {} {}.{}",
            volume.image_sha256.as_deref()?,
            m.len(),
            m.mtime(),
            m.mtime_nsec()
        ))
    };
    if let (Some(now), Ok(then)) = (fingerprint(&image), std::fs::read_to_string(&stamp)) {
        if now == then.trim() {
            return Ok(image);
        }
    }
    crate::master::master(
        vault,
        &MasterOptions {
            volumes: vec![volume.volume_id.clone()],
            out: dir.clone(),
            again: true,
        },
        progress,
    )?;
    if let Some(f) = fingerprint(&image) {
        std::fs::write(&stamp, f).at(&stamp)?;
    }
    Ok(image)
}

/// The volume's files as a folder, for publishers that write a disc's file system themselves
/// (TD Bridge): read back from the spooled image, every file checked against the catalog;
/// kept while the image is unchanged.
pub(super) fn spool_tree(
    vault: &Vault,
    volume: &Volume,
    image: &Path,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let dir = vault
        .root
        .join("spool")
        .join(format!("{}.tree", volume.volume_id));
    let root = dir.join(&volume.volume_id);
    let stamp = vault
        .root
        .join("spool")
        .join(format!("{}.tree.stamp", volume.volume_id));
    let want = std::fs::read_to_string(
        vault
            .root
            .join("spool")
            .join(format!("{}.iso.stamp", volume.volume_id)),
    )
    .unwrap_or_default();
    if !want.is_empty()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str())
        && root.is_dir()
    {
        return Ok(root);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).at(&dir)?;
    }
    let r = crate::readback::readback(
        vault,
        image,
        &crate::readback::ReadbackOptions {
            to: dir.clone(),
            copy: None,
            overwrite: true,
            verify: VerifyOptions::default(),
        },
        progress,
    )?;
    if !r.not_written.is_empty() {
        return Err(Error::Volume {
            volume: volume.volume_id.clone(),
            detail: format!(
                "the spooled image {} does not read back clean ({}); run `discvault verify` on it",
                image.display(),
                r.not_written.join(", ")
            ),
        });
    }
    std::fs::write(&stamp, want).at(&stamp)?;
    Ok(root)
}

/// Test hook: `DISCVAULT_CRASH_AFTER_BURN=<copy id>` aborts the process right after that copy's
/// burn was started and recorded (the disc burned, or the publisher job submitted), before it
/// is followed and read back, as a kill or a power cut would.
pub(super) fn crash_point(copy_id: &str) {
    if std::env::var("DISCVAULT_CRASH_AFTER_BURN").as_deref() == Ok(copy_id) {
        std::process::abort();
    }
}
