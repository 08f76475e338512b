//! Media profiles: exact user-data capacities in 2048-byte sectors.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

pub const SECTOR: u64 = 2048;

/// A disc type with its exact capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaProfile {
    /// Name as written on the command line (`dvd5`, `custom:1000000`).
    pub name: String,
    /// Capacity in 2048-byte sectors.
    pub sectors: u64,
}

/// Known profiles: (name, sectors, description). Figures are the formats' nominal user-data
/// capacities for write-once media (CD-R 74/80 min, DVD±R SL/DL as DVD+R, BD-R SL/DL/TL/QL
/// without spare areas).
pub const PROFILES: &[(&str, u64, &str)] = &[
    ("cd74", 333_000, "CD-R 74 min, 650 MiB"),
    ("cd80", 360_000, "CD-R 80 min, 700 MiB"),
    ("dvd5", 2_295_104, "DVD+R single layer, 4.7 GB"),
    ("dvd9", 4_173_824, "DVD+R double layer, 8.5 GB"),
    ("bd25", 12_219_392, "BD-R single layer, 25 GB"),
    ("bd50", 24_438_784, "BD-R double layer, 50 GB"),
    ("bd100", 48_878_592, "BD-R XL triple layer, 100 GB"),
    ("bd128", 62_500_864, "BD-R XL quad layer, 128 GB"),
];

impl MediaProfile {
    /// Parses a profile name or `custom:<bytes>` (rounded down to whole sectors).
    pub fn parse(name: &str) -> Result<MediaProfile> {
        let lower = name.trim().to_ascii_lowercase();
        if let Some(bytes) = lower.strip_prefix("custom:") {
            let bytes: u64 = bytes
                .replace('_', "")
                .parse()
                .map_err(|_| Error::UnknownMedia(name.to_string()))?;
            let sectors = bytes / SECTOR;
            if sectors < 64 {
                return Err(Error::Invalid {
                    field: "media".into(),
                    detail: format!("custom capacity {bytes} bytes is too small for a disc image"),
                });
            }
            return Ok(MediaProfile {
                name: format!("custom:{bytes}"),
                sectors,
            });
        }
        PROFILES
            .iter()
            .find(|p| p.0 == lower)
            .map(|p| MediaProfile {
                name: p.0.to_string(),
                sectors: p.1,
            })
            .ok_or_else(|| Error::UnknownMedia(name.to_string()))
    }

    pub fn bytes(&self) -> u64 {
        self.sectors * SECTOR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_profiles() {
        assert_eq!(MediaProfile::parse("DVD5").unwrap().bytes(), 4_700_372_992);
        assert_eq!(MediaProfile::parse("bd25").unwrap().bytes(), 25_025_314_816);
        assert_eq!(
            MediaProfile::parse("custom:10485760").unwrap().sectors,
            5120
        );
        assert!(MediaProfile::parse("floppy").is_err());
        assert!(MediaProfile::parse("custom:abc").is_err());
        assert!(MediaProfile::parse("custom:100").is_err());
    }
}
