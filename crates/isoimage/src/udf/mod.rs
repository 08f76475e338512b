//! UDF 1.02 over the same data as the ISO 9660 tree (a "UDF bridge"): the names Windows and
//! macOS show whole, up to 127 UTF-16 units, where Joliet cuts them at 103. See
//! `docs/FORMAT.md` of discvault for the layout and the choices.

pub(crate) mod encode;
mod write;

pub(crate) use write::{UdfPlan, PARTITION_START};
