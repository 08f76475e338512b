//! PAR2 (Parity Volume Set Specification 2.0): create, verify and repair recovery sets that
//! par2cmdline and par2cmdline-turbo read, and read theirs.
//!
//! - [`gf16`]: GF(2^16) arithmetic and the multiply-add kernels (AVX-512 with GFNI, AVX2,
//!   portable), chosen at run time.
//! - [`packets`]: the packet format.
//! - [`create`]: a set over files, streaming, memory bounded by
//!   [`create::CreateOptions::memory_limit`] whatever their size.
//! - [`verify`] and [`repair`]: which slices of which files are damaged or missing, and their
//!   reconstruction from the recovery slices.
//!
//! This crate knows nothing of discs or archives.

pub mod create;
mod engine;
pub mod gf16;
pub mod md5x;
pub mod packets;
pub mod repair;

pub use create::{
    choose_slice_size, create, set_size, volume_file_name, CreateOptions, Created, Input, SetSize,
    MAX_INPUT_SLICES,
};
pub use repair::{repair, verify, FileState, RepairReport, SetReport, VERIFY_MEMORY};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {detail}")]
    Format { file: String, detail: String },
    #[error("{0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, Error>;
