//! Progress reporting: the library never prints, it tells a [`Progress`].

/// Receives progress of a long operation. Implementations must be cheap: `advance` is called for
/// every file and every large block.
pub trait Progress: Send + Sync {
    /// A stage starts, with the totals when they are known (0 if not).
    fn start(&self, _stage: &str, _items: u64, _bytes: u64) {}
    /// Items and bytes done since the last call.
    fn advance(&self, _items: u64, _bytes: u64) {}
    /// A notice worth showing a person (a skipped file, a volume done).
    fn note(&self, _message: &str) {}
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
