//! Writing a prepared volume's image: every record checked against its digest on the way in.

use super::*;

/// A digest mismatch found while writing, carried through the image writer's I/O error.
#[derive(Debug)]
pub(super) struct Mismatch {
    pub path: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "digest mismatch in {}", self.path)
    }
}

impl std::error::Error for Mismatch {}

/// Writes the image of a prepared volume to `w`, checking every record's digest. `image` is
/// the file `w` writes to: the recovery data are computed from it.
pub(crate) fn write_image<W: Write + Send + 'static>(
    p: &Prepared,
    layout: &Layout,
    w: W,
    image: &Path,
    progress: &dyn Progress,
) -> std::result::Result<(String, W), std::io::Error> {
    let mut hw = crate::pipe::HashPipe::new(w);
    let mut buf = vec![0u8; 1 << 20];
    let lbas = layout.file_lbas();
    // Recovery files of the set being written (in a folder of their own beside the image), and
    // the sha256 of every recovery file written, for the tag manifest.
    let work = match p.recovery.is_empty() {
        true => None,
        false => Some(
            // Named after the partial image, so that what a killed run leaves is found with it.
            tempfile::Builder::new()
                .prefix(&format!(
                    "{}-recovery.",
                    image.file_name().unwrap_or_default().to_string_lossy()
                ))
                .tempdir_in(image.parent().unwrap_or(Path::new(".")))?,
        ),
    };
    let mut created: Option<par2::Created> = None;
    let mut recovery_sums: Vec<(String, String)> = Vec::new();
    let res = layout.write(&mut hw, &mut |index, out| match &p.sources[index] {
        DataSource::Tag(k) => p.tags.write(*k, out),
        DataSource::Recovery { set, volume_file } => {
            let s = &p.recovery[*set];
            if !*volume_file {
                // Everything the set protects is in the image file once the pipe is flushed.
                out.flush()?;
                let inputs: Vec<par2::Input> = if !p.parity_inputs.is_empty() {
                    p.parity_inputs.clone()
                } else {
                    s.members
                        .iter()
                        .map(|&i| {
                            let e = &p.spec.entries[i];
                            let EntryKind::File { size } = e.kind else {
                                unreachable!("recovery sets protect files")
                            };
                            let name = String::from_utf8(e.path.clone()).expect("UTF-8 member");
                            par2::Input::part(name, image, lbas[&i] as u64 * isoimage::SECTOR, size)
                        })
                        .collect()
                };
                let opts = par2::CreateOptions {
                    slice_size: Some(s.slice_size),
                    recovery_slices: Some(s.recovery_slices),
                    first_exponent: s.first_exponent,
                    creator: recovery::creator(),
                    ..Default::default()
                };
                let dir = work.as_ref().expect("recovery folder").path();
                created = Some(
                    par2::create(&inputs, dir, &s.base, &opts)
                        .map_err(|e| std::io::Error::other(format!("recovery data: {e}")))?,
                );
            }
            let c = created.as_ref().expect("set created before its files");
            let path = &c.files[*volume_file as usize];
            let (disc_path, size) = match volume_file {
                false => (s.index_path(), s.index_bytes),
                true => (s.volume_path(), s.volume_bytes),
            };
            let mut f = std::fs::File::open(path)?;
            let len = f.metadata()?.len();
            if len != size {
                return Err(std::io::Error::other(format!(
                    "recovery file {disc_path} has {len} bytes, {size} were laid out"
                )));
            }
            let mut h = sha2::Sha256::new();
            loop {
                let got = f.read(&mut buf)?;
                if got == 0 {
                    break;
                }
                h.update(&buf[..got]);
                out.write_all(&buf[..got])?;
            }
            drop(f);
            std::fs::remove_file(path)?;
            recovery_sums.push((disc_path, hex::encode(h.finalize())));
            Ok(())
        }
        DataSource::TagManifest(k) => {
            let tm = p
                .tags
                .bytes(*k)
                .expect("the tag manifest is made in memory");
            let mut lines: Vec<(String, String)> = std::str::from_utf8(tm)
                .expect("UTF-8 tag manifest")
                .lines()
                .filter_map(|l| l.split_once("  "))
                .map(|(sum, path)| (path.to_string(), sum.to_string()))
                .collect();
            lines.extend(recovery_sums.iter().map(|(p, s)| (p.clone(), s.clone())));
            lines.sort();
            for (path, sum) in lines {
                out.write_all(format!("{sum}  {path}\n").as_bytes())?;
            }
            Ok(())
        }
        DataSource::File { item, from } => {
            let e = &p.contents[*item];
            let (path, offset) = match from {
                Some(f) => (f.as_slice(), 0),
                None => (
                    e.file.source.as_deref().unwrap_or_default(),
                    e.content.part_offset,
                ),
            };
            let display = || format!("{}/{}", e.collection, e.file.path);
            let digests = item_digests(e);
            let check = digests.get(HashAlg::Blake3);
            let os = std::ffi::OsStr::from_bytes(path);
            let mut f = std::fs::File::open(os).map_err(|e| {
                std::io::Error::new(e.kind(), format!("{}: {e}", Path::new(os).display()))
            })?;
            if offset > 0 {
                f.seek(SeekFrom::Start(offset))?;
            }
            let mut h = RecordCheck::new(check.is_some());
            let expect = check
                .or_else(|| digests.get(HashAlg::Sha256))
                .unwrap_or_default();
            let alg = if check.is_some() { "blake3" } else { "sha256" };
            let mut left = e.content.length;
            while left > 0 {
                let k = (left as usize).min(buf.len());
                let got = f.read(&mut buf[..k])?;
                if got == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        Mismatch {
                            path: display(),
                            expected: format!("{alg} {expect}"),
                            actual: format!("file shorter by {left} bytes"),
                        },
                    ));
                }
                h.update(&buf[..got]);
                out.write_all(&buf[..got])?;
                left -= got as u64;
                progress.advance(0, got as u64);
            }
            let actual = h.finish();
            if actual != expect {
                return Err(std::io::Error::other(Mismatch {
                    path: display(),
                    expected: format!("{alg} {expect}"),
                    actual: format!("{alg} {actual}"),
                }));
            }
            progress.advance(1, 0);
            Ok(())
        }
    });
    match res {
        Ok(_) => hw.finish(),
        Err(isoimage::IsoError::Io(e)) => Err(e),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// The digest a record's bytes are checked against while written: BLAKE3, or SHA-256 for a
/// record without one.
enum RecordCheck {
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
}

impl RecordCheck {
    fn new(blake3: bool) -> RecordCheck {
        if blake3 {
            RecordCheck::Blake3(Box::new(blake3::Hasher::new()))
        } else {
            RecordCheck::Sha256(sha2::Sha256::new())
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            RecordCheck::Blake3(h) => {
                h.update(data);
            }
            RecordCheck::Sha256(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            RecordCheck::Blake3(h) => h.finalize().to_hex().to_string(),
            RecordCheck::Sha256(h) => hex::encode(h.finalize()),
        }
    }
}
