//! `images:DIR`: image files, for burning elsewhere and for tests.

use super::*;

pub(super) struct ImagesPublisher {
    pub(super) dir: PathBuf,
}

impl Publisher for ImagesPublisher {
    fn start(
        &mut self,
        _vault: &Vault,
        req: &BurnRequest,
        progress: &dyn Progress,
    ) -> Result<String> {
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let dest = self.dir.join(format!("{}.iso", req.copy.copy_id));
        let tmp = self.dir.join(format!(".{}.iso.part", req.copy.copy_id));
        let mut from = std::fs::File::open(req.image).at(req.image)?;
        let mut to = crate::sparse::SparseFile::new(std::fs::File::create(&tmp).at(&tmp)?);
        let mut buf = vec![0u8; 4 << 20];
        loop {
            let n = from.read(&mut buf).at(req.image)?;
            if n == 0 {
                break;
            }
            to.write_all(&buf[..n]).at(&tmp)?;
            progress.advance(0, n as u64);
        }
        to.into_inner().and_then(|f| f.sync_all()).at(&tmp)?;
        std::fs::rename(&tmp, &dest).at(&dest)?;
        Ok(dest.display().to_string())
    }

    fn finish(
        &mut self,
        _vault: &Vault,
        handle: &str,
        _total: u64,
        _p: &dyn Progress,
    ) -> Result<Burned> {
        Ok(Burned::Readable(PathBuf::from(handle)))
    }

    fn rejected(&self, handle: &str, copy: &DiscCopy, _kind: RejectKind) -> Disposition {
        Disposition {
            place: handle.to_string(),
            label: format!("the image file of copy {}", copy.copy_id),
            action: format!(
                "the file does not read back clean: the next attempt writes it again; if the copy failed, delete {handle}"
            ),
        }
    }
}
