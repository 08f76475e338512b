//! The preservation policy kept in the catalog (`catalog_settings`, key `policy`, JSON of
//! `config::PolicySection`): one policy for every station of a shared catalog, changed from the
//! CLI, the API or the web UI; absent, each station follows its `discvault.toml`.

use super::db;
use super::events::insert_event;
use super::Catalog;
use crate::model::NewEvent;
use crate::Result;

const KEY: &str = "policy";

/// The stored policy's JSON, read through `e` (the catalog, or a write transaction).
fn stored<E: db::Executor + Copy>(e: E) -> Result<Option<String>> {
    db::query_scalar("SELECT value FROM catalog_settings WHERE key = $1")
        .bind(KEY)
        .fetch_optional(e)
}

/// What a change of the stored policy writes: the new JSON (`None`: removed) and the
/// "policy assignment" event's detail.
pub struct PolicyWrite {
    pub json: Option<String>,
    pub detail: String,
}

impl Catalog {
    /// The policy stored in the catalog, as its JSON text; `None` when none is.
    pub fn stored_policy(&self) -> Result<Option<String>> {
        stored(&self.db)
    }

    /// Changes the stored policy in one write transaction: `change` gets what is stored now
    /// (read under the write lock, so that two stations never lose each other's change) and
    /// says what to write, if anything; an event records it.
    pub fn update_policy(
        &self,
        change: &mut dyn FnMut(Option<String>) -> Result<Option<PolicyWrite>>,
    ) -> Result<()> {
        let tx = self.db.begin()?;
        let Some(w) = change(stored(&*tx)?)? else {
            return Ok(());
        };
        match &w.json {
            Some(j) => {
                db::query(
                    "INSERT INTO catalog_settings (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(KEY)
                .bind(j.as_str())
                .execute(&*tx)?;
            }
            None => {
                db::query("DELETE FROM catalog_settings WHERE key = $1")
                    .bind(KEY)
                    .execute(&*tx)?;
            }
        }
        insert_event(
            &tx,
            &NewEvent {
                event_type: "policy assignment",
                outcome: "success",
                detail: &w.detail,
                ..Default::default()
            },
        )?;
        tx.commit()?;
        Ok(())
    }
}
