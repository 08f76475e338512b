//! Writes an image of a directory tree: `mkiso SRC OUT.iso [VOLID] [--udf]` (`--udf`: with a
//! UDF bridge). For trying the codec alone and for comparing it with mkisofs/xorriso;
//! discvault itself masters through its library.
use isoimage::{Entry, EntryKind, ImageSpec, Layout};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Entry)>) -> std::io::Result<()> {
    let mut items: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    items.sort_by_key(|e| e.file_name());
    for e in items {
        let md = std::fs::symlink_metadata(e.path())?;
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap()
            .as_os_str()
            .as_bytes()
            .to_vec();
        let kind = if md.is_dir() {
            EntryKind::Dir
        } else if md.is_file() {
            EntryKind::File { size: md.len() }
        } else if md.file_type().is_symlink() {
            EntryKind::Symlink {
                target: std::fs::read_link(e.path())?
                    .as_os_str()
                    .as_bytes()
                    .to_vec(),
            }
        } else {
            continue;
        };
        out.push((
            e.path(),
            Entry {
                path: rel,
                kind,
                mode: md.mode() & 0o7777,
                mtime: md.mtime(),
            },
        ));
        if md.is_dir() {
            walk(root, &e.path(), out)?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let udf = std::env::args().any(|a| a == "--udf");
    let args: Vec<String> = std::env::args().filter(|a| a != "--udf").collect();
    let (src, out) = (Path::new(&args[1]), &args[2]);
    let mut items = Vec::new();
    walk(src, src, &mut items)?;
    let spec = ImageSpec {
        volume_id: args.get(3).cloned().unwrap_or_else(|| "ISOIMAGE".into()),
        created: 0,
        entries: items.iter().map(|(_, e)| e.clone()).collect(),
        udf,
        ..Default::default()
    };
    let layout = Layout::new(&spec)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    layout.write(&mut w, &mut |i, w| {
        let mut f = std::fs::File::open(&items[i].0)?;
        std::io::copy(&mut f, w)?;
        Ok(())
    })?;
    Ok(())
}
