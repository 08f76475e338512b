//! CSV files as people save them: the one reader of the CSV files discvault imports (cabinet
//! inventories, quality measurements).
//!
//! Excel on Chinese Windows saves "CSV" in GBK (code page 936); "CSV UTF-8" adds a byte order
//! mark; other tools write plain UTF-8. All three are read. Header names are matched without
//! regard to case or surrounding blanks, and fields are trimmed.

use crate::error::IoContext;
use crate::{Error, Result};
use std::path::Path;

/// The text of a CSV file: UTF-8 (a byte order mark is dropped), else GBK. A file that is
/// neither is refused, naming the first line that is not.
pub fn text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).at(path)?;
    decode(path, &bytes)
}

fn decode(path: &Path, bytes: &[u8]) -> Result<String> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF");
    if let Ok(s) = std::str::from_utf8(body.unwrap_or(bytes)) {
        return Ok(s.to_string());
    }
    let bad_line =
        |valid_up_to: usize| bytes[..valid_up_to].iter().filter(|b| **b == b'\n').count() + 1;
    if body.is_some() {
        let e = std::str::from_utf8(body.unwrap_or(bytes)).unwrap_err();
        return Err(Error::BadRows {
            path: path.to_path_buf(),
            errors: vec![format!(
                "line {}: not UTF-8, though the file starts with a UTF-8 byte order mark",
                bad_line(e.valid_up_to() + 3)
            )],
        });
    }
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    if had_errors {
        let e = std::str::from_utf8(bytes).unwrap_err();
        return Err(Error::BadRows {
            path: path.to_path_buf(),
            errors: vec![format!(
                "line {}: neither UTF-8 nor GBK text (save the file as CSV or CSV UTF-8)",
                bad_line(e.valid_up_to())
            )],
        });
    }
    Ok(text.into_owned())
}

/// A CSV reader over a decoded file.
pub type Reader = csv::Reader<std::io::Cursor<Vec<u8>>>;

/// A reader over a CSV file's records, with its header names (lower case). Every column of
/// `required` must be there, else the file is refused: `form` is the header to show.
pub fn reader(path: &Path, required: &[&str], form: &str) -> Result<(Reader, Vec<String>)> {
    let bytes = std::fs::read(path).at(path)?;
    reader_of(path, &bytes, required, form)
}

/// [`reader`] over bytes already read (a request's body): `name` stands for the file in errors.
pub fn reader_of(
    name: &Path,
    bytes: &[u8],
    required: &[&str],
    form: &str,
) -> Result<(Reader, Vec<String>)> {
    let path = name;
    let text = decode(path, bytes)?;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(std::io::Cursor::new(text.into_bytes()));
    let headers = rdr.headers().map_err(|e| Error::BadRows {
        path: path.to_path_buf(),
        errors: vec![format!("line 1: {e}")],
    })?;
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    let absent: Vec<&str> = required
        .iter()
        .copied()
        .filter(|need| !names.iter().any(|n| n == need))
        .collect();
    if !absent.is_empty() || names.iter().all(|n| n.is_empty()) {
        return Err(Error::BadRows {
            path: path.to_path_buf(),
            errors: vec![format!(
                "line 1: no {} column{} (the header is {form})",
                absent
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if absent.len() == 1 { "" } else { "s" }
            )],
        });
    }
    rdr.set_headers(csv::StringRecord::from(names.clone()));
    Ok((rdr, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom_and_gbk_read_the_same() {
        let p = Path::new("x.csv");
        let want = "copy_id,cabinet\nC1,光盘柜A\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(want);
        assert_ne!(gbk.as_ref(), want.as_bytes());
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(want.as_bytes());
        for bytes in [want.as_bytes(), &bom, gbk.as_ref()] {
            assert_eq!(decode(p, bytes).unwrap(), want);
        }
        let err = decode(p, b"a,b\n1,2\n\xFF\xFF\n").unwrap_err().to_string();
        assert!(err.contains("line 3: neither UTF-8 nor GBK"), "{err}");
    }
}
