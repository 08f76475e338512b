//! Progress reporting: the library never prints, it tells a [`Progress`], in [`Message`]s: a
//! code and its arguments, which each reader says in its own language.

use serde::{Deserialize, Serialize};

/// What a long operation is doing (a stage begun) or has to tell (a notice): a code and its
/// arguments, so that the web UI says it in Chinese or English alike. `Display` says it in
/// English, as the CLI shows it. As JSON: `{"code": "mastering", "volume": "DV-000001"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Message {
    /// Digests of the files being added.
    Hashing,
    Restoring,
    Mastering {
        volume: String,
    },
    /// A volume's image made again, to repair or copy it.
    MasteringAgain {
        volume: String,
    },
    /// A disc being burned for a copy; `disc` counts the tries.
    Burning {
        copy: String,
        role: String,
        disc: u32,
    },
    /// A burn followed on the publisher (`at`: its job, drive or file).
    Following {
        copy: String,
        role: String,
        at: String,
    },
    /// A disc, image or device read (`from`: a volume id, path or device).
    Reading {
        from: String,
    },
    Verifying {
        volume: String,
    },
    /// Another worker holds the volume.
    LeftToHolder {
        volume: String,
        holder: String,
    },
    CreatingVault {
        path: String,
    },
    /// What a disc publisher says of a job.
    PublisherSays {
        job: String,
        detail: String,
    },
    /// A disc came out wrong; another is burned.
    BurningAgain {
        copy: String,
        detail: String,
    },
    /// The vault is held by another operation; waited for.
    VaultBusy {
        path: String,
        holder: String,
    },
    /// The catalog shared by several stations is held by another; waited for.
    CatalogBusy {
        holder: String,
    },
    /// Something else held by another operation (a volume's claim); waited for.
    Busy {
        what: String,
        holder: String,
    },
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Hashing => write!(f, "hashing"),
            Message::Restoring => write!(f, "restoring"),
            Message::Mastering { volume } => write!(f, "mastering {volume}"),
            Message::MasteringAgain { volume } => write!(f, "mastering {volume} again"),
            Message::Burning { copy, role, disc } => {
                write!(f, "burning {copy} ({role}), disc {disc}")
            }
            Message::Following { copy, role, at } => {
                write!(f, "following {copy} ({role}) at {at}")
            }
            Message::Reading { from } => write!(f, "reading {from}"),
            Message::Verifying { volume } => write!(f, "verifying {volume}"),
            Message::LeftToHolder { volume, holder } => {
                write!(f, "{volume}: left to {holder}, who holds it")
            }
            Message::CreatingVault { path } => {
                write!(f, "no vault at {path}: creating a new vault there")
            }
            Message::PublisherSays { job, detail } => write!(f, "{job}: {detail}"),
            Message::BurningAgain { copy, detail } => {
                write!(f, "{copy}: {detail}; burning it again")
            }
            Message::VaultBusy { path, holder } => {
                write!(f, "vault {path} is busy ({holder}); waiting for it")
            }
            Message::CatalogBusy { holder } => {
                write!(f, "the catalog is busy ({holder}); waiting for it")
            }
            Message::Busy { what, holder } => {
                write!(f, "{what} is busy ({holder}); waiting for it")
            }
        }
    }
}

/// Receives progress of a long operation. Implementations must be cheap: `advance` is called for
/// every file and every large block.
pub trait Progress: Send + Sync {
    /// A stage starts, with the totals when they are known (0 if not).
    fn start(&self, _stage: &Message, _items: u64, _bytes: u64) {}
    /// Items and bytes done since the last call.
    fn advance(&self, _items: u64, _bytes: u64) {}
    /// A notice worth showing a person (a skipped file, a volume done).
    fn note(&self, _message: &Message) {}
    /// The stage is over.
    fn finish(&self) {}
    /// Whether whoever asked wants the operation stopped (a task cancelled through the server,
    /// or the server stopping). Long operations look at stages' ends and stop with
    /// [`crate::Error::Cancelled`], leaving the catalog as a finished stage left it.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
