//! The preservation policy kept in the catalog (`catalog_settings`, key `policy`, JSON of
//! `config::PolicySection`): one policy for every station of a shared catalog, changed from the
//! CLI, the API or the web UI; absent, each station follows its `discvault.toml`.

use super::db;
use super::events::insert_event;
use super::Catalog;
use crate::model::NewEvent;
use crate::Result;

const KEY: &str = "policy";

impl Catalog {
    /// The policy stored in the catalog, as its JSON text; `None` when none is.
    pub fn stored_policy(&self) -> Result<Option<String>> {
        db::query_scalar("SELECT value FROM catalog_settings WHERE key = $1")
            .bind(KEY)
            .fetch_optional(&self.db)
    }

    /// Stores the policy (`None`: removes it, back to each station's file), with a "policy
    /// assignment" event saying what changed, in one transaction.
    pub fn store_policy(&self, json: Option<&str>, detail: &str) -> Result<()> {
        let tx = self.db.begin()?;
        match json {
            Some(j) => {
                db::query(
                    "INSERT INTO catalog_settings (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(KEY)
                .bind(j)
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
                detail,
                ..Default::default()
            },
        )?;
        tx.commit()?;
        Ok(())
    }
}
