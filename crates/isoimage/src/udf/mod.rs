//! UDF 1.02 over the same data as the ISO 9660 tree (a "UDF bridge"): the names Windows and
//! macOS show whole, up to 127 UTF-16 units, where Joliet cuts them at 103; and its reader, so
//! that a disc whose ISO 9660 tree is damaged is still read. See `docs/FORMAT.md` of discvault
//! for the layout and the choices.

pub(crate) mod encode;
mod names;
mod read;
mod write;

pub use names::udf_paths;
pub use read::UdfReader;
pub(crate) use write::{UdfPlan, PARTITION_START};
