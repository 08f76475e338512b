//! The audit trail: append-only preservation events, chained by sha256 so that any edit or
//! deletion shows.
//!
//! Each event's `hash` is the sha256 of its predecessor's hash and its own fields (see
//! [`event_hash`]); `event_head` holds the id and hash of the last event. Event ids are
//! contiguous, so a deleted event leaves a gap even if the hashes after it were recomputed.

use super::db::{self, Row};
use super::Catalog;
use crate::model::agent;
use crate::{now_unix, Error, Result, SOFTWARE};
use sha2::Digest as _;

pub use crate::model::events::{ChainReport, EventRecord, NewEvent};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an event's hash covers, in order.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    prev: &str,
    id: i64,
    at: i64,
    event_type: &str,
    agent: &str,
    software: &str,
    outcome: &str,
    detail: &str,
    objects: [Option<i64>; 4],
) -> String {
    let mut h = sha2::Sha256::new();
    let mut field = |s: &str| {
        h.update(s.as_bytes());
        h.update([0x1f]);
    };
    field(prev);
    field(&id.to_string());
    field(&at.to_string());
    field(event_type);
    field(agent);
    field(software);
    field(outcome);
    field(detail);
    for o in objects {
        field(&o.map(|x| x.to_string()).unwrap_or_default());
    }
    hex::encode(h.finalize())
}

fn row_hash(prev: &str, r: &Row) -> Result<String> {
    Ok(event_hash(
        prev,
        r.try_get("id")?,
        r.try_get("at")?,
        &r.try_get::<String, _>("event_type")?,
        &r.try_get::<String, _>("agent")?,
        &r.try_get::<String, _>("software")?,
        &r.try_get::<String, _>("outcome")?,
        &r.try_get::<String, _>("detail")?,
        [
            r.try_get("volume")?,
            r.try_get("file_id")?,
            r.try_get("collection_id")?,
            r.try_get("copy")?,
        ],
    ))
}

const EVENT_COLS: &str =
    "id, at, event_type, agent, software, outcome, detail, volume, file_id, collection_id, copy";

/// Appends an event inside a transaction, extending the chain.
pub(crate) fn insert_event(tx: &db::Tx<'_>, e: &NewEvent<'_>) -> Result<()> {
    let head =
        db::query("SELECT last_id, hash FROM event_head WHERE one = 1").fetch_optional(&**tx)?;
    let (last_id, prev) = match head {
        Some(r) => (
            r.try_get::<i64, _>("last_id")?,
            r.try_get::<String, _>("hash")?,
        ),
        None => (0, GENESIS.to_string()),
    };
    let id = last_id + 1;
    let at = now_unix();
    let who = agent();
    let hash = event_hash(
        &prev,
        id,
        at,
        e.event_type,
        &who,
        SOFTWARE,
        e.outcome,
        e.detail,
        [e.volume, e.file, e.collection, e.copy],
    );
    db::query(
        "INSERT INTO events (id, at, event_type, agent, software, outcome, detail, volume, file_id, collection_id, copy, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(at)
    .bind(e.event_type)
    .bind(who)
    .bind(SOFTWARE)
    .bind(e.outcome)
    .bind(e.detail)
    .bind(e.volume)
    .bind(e.file)
    .bind(e.collection)
    .bind(e.copy)
    .bind(&prev)
    .bind(&hash)
    .execute(&**tx)?;
    db::query("DELETE FROM event_head WHERE one = 1").execute(&**tx)?;
    db::query("INSERT INTO event_head (one, last_id, hash) VALUES (1, $1, $2)")
        .bind(id)
        .bind(&hash)
        .execute(&**tx)?;
    Ok(())
}

/// Chains the events recorded before events were chained (schema version 1).
pub(crate) fn backfill_chain(tx: &db::Tx<'_>) -> Result<()> {
    let rows =
        db::query(&format!("SELECT {EVENT_COLS} FROM events ORDER BY id")).fetch_all(&**tx)?;
    let mut prev = GENESIS.to_string();
    let mut expected = 1i64;
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        if id != expected {
            return Err(Error::CatalogData {
                what: "events".into(),
                detail: format!(
                    "event ids jump from {} to {id} before chaining",
                    expected - 1
                ),
            });
        }
        let hash = row_hash(&prev, r)?;
        db::query("UPDATE events SET prev_hash = $1, hash = $2 WHERE id = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(id)
            .execute(&**tx)?;
        prev = hash;
        expected += 1;
    }
    if !rows.is_empty() {
        db::query("INSERT INTO event_head (one, last_id, hash) VALUES (1, $1, $2)")
            .bind(expected - 1)
            .bind(&prev)
            .execute(&**tx)?;
    }
    Ok(())
}

impl Catalog {
    /// Every event with its objects' ids, oldest first.
    pub fn event_records(&self) -> Result<Vec<EventRecord>> {
        self.event_records_after(0, i64::MAX)
    }

    /// The events after the one with id `after`, oldest first, at most `limit`.
    pub fn event_records_after(&self, after: i64, limit: i64) -> Result<Vec<EventRecord>> {
        let rows = db::query(
            "SELECT e.id, e.at, e.event_type, e.agent, e.software, e.outcome, e.detail, e.prev_hash, e.hash,
                    v.volume_id AS volume_text, c.name AS collection_text, k.copy_id AS copy_text
             FROM events e LEFT JOIN volumes v ON v.id = e.volume
             LEFT JOIN collections c ON c.id = e.collection_id
             LEFT JOIN copies k ON k.id = e.copy WHERE e.id > $1 ORDER BY e.id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| {
                Ok(EventRecord {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    event_type: r.try_get("event_type")?,
                    agent: r.try_get("agent")?,
                    software: r.try_get("software")?,
                    outcome: r.try_get("outcome")?,
                    detail: r.try_get("detail")?,
                    volume_id: r.try_get("volume_text")?,
                    collection: r.try_get("collection_text")?,
                    copy_id: r.try_get("copy_text")?,
                    prev_hash: r
                        .try_get::<Option<String>, _>("prev_hash")?
                        .unwrap_or_default(),
                    hash: r.try_get::<Option<String>, _>("hash")?.unwrap_or_default(),
                })
            })
            .collect()
    }
    /// When each event of this type happened and its outcome, oldest first (the read-back
    /// results by year, without reading every event).
    pub fn event_outcomes(&self, event_type: &str) -> Result<Vec<(i64, String)>> {
        db::query("SELECT at, outcome FROM events WHERE event_type = $1 ORDER BY id")
            .bind(event_type)
            .fetch_all(&self.db)?
            .iter()
            .map(|r| Ok((r.try_get("at")?, r.try_get("outcome")?)))
            .collect()
    }

    /// The id and hash of the last event (0 and empty for none): every recorded change moves
    /// it, so a value computed from the catalog stays true while it stays.
    pub fn event_head(&self) -> Result<(i64, String)> {
        let r = db::query("SELECT last_id, hash FROM event_head WHERE one = 1")
            .fetch_optional(&self.db)?;
        match r {
            Some(r) => Ok((r.try_get("last_id")?, r.try_get("hash")?)),
            None => Ok((0, String::new())),
        }
    }

    /// Recomputes the chain: any edited, inserted, reordered or deleted event is reported.
    pub fn verify_chain(&self) -> Result<ChainReport> {
        let rows = db::query(&format!(
            "SELECT {EVENT_COLS}, prev_hash, hash FROM events ORDER BY id"
        ))
        .fetch_all(&self.db)?;
        let mut problems = Vec::new();
        let mut prev = GENESIS.to_string();
        let mut expected = 1i64;
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            if id != expected {
                problems.push(format!(
                    "events {expected}..{} are missing (deleted)",
                    id - 1
                ));
            }
            let stored_prev: Option<String> = r.try_get("prev_hash")?;
            let stored: Option<String> = r.try_get("hash")?;
            if stored_prev.as_deref() != Some(prev.as_str()) {
                problems.push(format!(
                    "event {id} does not follow the event before it (chain broken)"
                ));
            }
            let computed = row_hash(stored_prev.as_deref().unwrap_or(""), r)?;
            if stored.as_deref() != Some(computed.as_str()) {
                problems.push(format!("event {id} was changed after it was recorded"));
            }
            prev = stored.unwrap_or_default();
            expected = id + 1;
        }
        let head = db::query("SELECT last_id, hash FROM event_head WHERE one = 1")
            .fetch_optional(&self.db)?;
        match head {
            Some(h) => {
                let last: i64 = h.try_get("last_id")?;
                let hash: String = h.try_get("hash")?;
                if last != expected - 1 || hash != prev {
                    problems.push(format!(
                        "the last recorded event is {last}, but the table ends at {}: events at the end were deleted or added outside discvault",
                        expected - 1
                    ));
                }
            }
            None if !rows.is_empty() => {
                problems.push("the chain head is missing".into());
            }
            None => {}
        }
        Ok(ChainReport {
            events: rows.len() as u64,
            intact: problems.is_empty(),
            problems,
            head_hash: prev,
        })
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The audit trail as PREMIS 3.0 XML: one representation object per volume (and one for the
/// vault), the events with their agents and objects, and the agents.
pub fn premis_xml(vault_name: &str, volumes: &[String], events: &[EventRecord]) -> String {
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<premis:premis xmlns:premis=\"http://www.loc.gov/premis/v3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.loc.gov/premis/v3 https://www.loc.gov/standards/premis/premis.xsd\" version=\"3.0\">\n");
    let object = |x: &mut String, kind: &str, value: &str| {
        x.push_str(&format!(
            "  <premis:object xsi:type=\"premis:representation\">\n    <premis:objectIdentifier>\n      <premis:objectIdentifierType>{}</premis:objectIdentifierType>\n      <premis:objectIdentifierValue>{}</premis:objectIdentifierValue>\n    </premis:objectIdentifier>\n  </premis:object>\n",
            xml_escape(kind),
            xml_escape(value)
        ));
    };
    object(&mut x, "discvault vault", vault_name);
    for v in volumes {
        object(&mut x, "discvault volume", v);
    }
    let mut agents: Vec<(String, &str)> = Vec::new();
    for e in events {
        x.push_str("  <premis:event>\n");
        x.push_str(&format!(
            "    <premis:eventIdentifier>\n      <premis:eventIdentifierType>discvault event</premis:eventIdentifierType>\n      <premis:eventIdentifierValue>{}</premis:eventIdentifierValue>\n    </premis:eventIdentifier>\n",
            e.id
        ));
        x.push_str(&format!(
            "    <premis:eventType>{}</premis:eventType>\n    <premis:eventDateTime>{}</premis:eventDateTime>\n",
            xml_escape(&e.event_type),
            crate::rfc3339(e.at)
        ));
        x.push_str(&format!(
            "    <premis:eventDetailInformation>\n      <premis:eventDetail>{}</premis:eventDetail>\n    </premis:eventDetailInformation>\n",
            xml_escape(&e.detail)
        ));
        x.push_str(&format!(
            "    <premis:eventOutcomeInformation>\n      <premis:eventOutcome>{}</premis:eventOutcome>\n      <premis:eventOutcomeDetail>\n        <premis:eventOutcomeDetailNote>sha256 chain {}</premis:eventOutcomeDetailNote>\n      </premis:eventOutcomeDetail>\n    </premis:eventOutcomeInformation>\n",
            xml_escape(&e.outcome),
            e.hash
        ));
        for (value, role) in [
            (&e.agent, "executing program operator"),
            (&e.software, "executing program"),
        ] {
            x.push_str(&format!(
                "    <premis:linkingAgentIdentifier>\n      <premis:linkingAgentIdentifierType>discvault agent</premis:linkingAgentIdentifierType>\n      <premis:linkingAgentIdentifierValue>{}</premis:linkingAgentIdentifierValue>\n      <premis:linkingAgentRole>{role}</premis:linkingAgentRole>\n    </premis:linkingAgentIdentifier>\n",
                xml_escape(value)
            ));
        }
        let objects = [
            ("discvault volume", e.volume_id.as_deref()),
            ("discvault collection", e.collection.as_deref()),
            ("discvault copy", e.copy_id.as_deref()),
        ];
        for (kind, value) in objects {
            if let Some(v) = value {
                x.push_str(&format!(
                    "    <premis:linkingObjectIdentifier>\n      <premis:linkingObjectIdentifierType>{kind}</premis:linkingObjectIdentifierType>\n      <premis:linkingObjectIdentifierValue>{}</premis:linkingObjectIdentifierValue>\n    </premis:linkingObjectIdentifier>\n",
                    xml_escape(v)
                ));
            }
        }
        x.push_str("  </premis:event>\n");
        if !agents.iter().any(|(a, _)| a == &e.agent) {
            agents.push((e.agent.clone(), "person"));
        }
        if !agents.iter().any(|(a, _)| a == &e.software) {
            agents.push((e.software.clone(), "software"));
        }
    }
    for (name, kind) in agents {
        x.push_str(&format!(
            "  <premis:agent>\n    <premis:agentIdentifier>\n      <premis:agentIdentifierType>discvault agent</premis:agentIdentifierType>\n      <premis:agentIdentifierValue>{n}</premis:agentIdentifierValue>\n    </premis:agentIdentifier>\n    <premis:agentName>{n}</premis:agentName>\n    <premis:agentType>{kind}</premis:agentType>\n  </premis:agent>\n",
            n = xml_escape(&name)
        ));
    }
    x.push_str("</premis:premis>\n");
    x
}
