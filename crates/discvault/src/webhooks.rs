//! Webhooks (`model/webhooks.rs`): what records systems are told of, read from the audit trail
//! (so a change made by the CLI on another station is told too), queued per webhook as
//! deliveries, and sent by the server with retries and back-off. Each message is a JSON POST
//! signed with HMAC-SHA256:
//!
//! - `X-Discvault-Event`: the event (`copy.verified` ...); `X-Discvault-Delivery`: `D-000001`
//!   (the same at every attempt: a receiver drops a delivery it has had);
//! - `X-Discvault-Timestamp`: seconds since 1970 of this attempt;
//! - `X-Discvault-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the webhook's
//!   secret, of `TIMESTAMP.BODY`.
//!
//! How messages leave is the caller's ([`Sender`]): the library makes no network connection.

use crate::catalog::webhooks::{HookMark, Message};
use crate::model::{DeliveryState, EventRecord, NewWebhook, Task, Webhook, WebhookEvent};
use crate::{Error, Result, Vault};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};

/// Sends one message: the HTTP status the receiver answered, or why there was none.
pub trait Sender {
    fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> std::result::Result<u16, String>;
}

/// The signature of a message sent at `timestamp`: the value of `X-Discvault-Signature`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A subscription to make.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where messages are POSTed: an http or https URL.
    pub url: String,
    /// What it is told of (default: everything).
    pub events: Vec<WebhookEvent>,
    /// The signing key (at least 16 characters); default: 32 random bytes, shown once.
    pub secret: Option<String>,
}

/// Subscribes a URL; the answer holds the secret, shown this once.
pub fn add(vault: &Vault, req: &WebhookRequest) -> Result<NewWebhook> {
    let invalid = |field: &str, detail: String| Error::Invalid {
        field: field.into(),
        detail,
    };
    let url = req.url.trim();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| invalid("url", format!("{url:?}: give an http:// or https:// URL")))?;
    if rest.is_empty()
        || rest.starts_with('/')
        || url.len() > 2000
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "url",
            format!("{url:?}: not a URL a message can be sent to"),
        ));
    }
    let events = if req.events.is_empty() {
        WebhookEvent::ALL.to_vec()
    } else {
        let mut e = req.events.clone();
        e.sort();
        e.dedup();
        e
    };
    let secret = match &req.secret {
        Some(s) if s.chars().count() < 16 || s.len() > 200 => {
            return Err(invalid(
                "secret",
                "give 16 to 200 characters, or none for a random one".into(),
            ))
        }
        Some(s) => s.clone(),
        None => {
            let mut b = [0u8; 32];
            getrandom::getrandom(&mut b).map_err(|e| invalid("secret", e.to_string()))?;
            format!("whsec_{}", hex::encode(b))
        }
    };
    let webhook = vault.catalog.add_webhook(url, &events, &secret)?;
    Ok(NewWebhook { webhook, secret })
}

/// Every webhook, removed ones too.
pub fn list(vault: &Vault) -> Result<Vec<Webhook>> {
    Ok(vault
        .catalog
        .webhooks()?
        .into_iter()
        .map(|h| h.webhook)
        .collect())
}

/// What an audit event tells a webhook, if anything.
fn message_of(e: &EventRecord) -> Option<Message> {
    let copy = e.copy_id.is_some();
    let event = match (e.event_type.as_str(), e.outcome.as_str()) {
        ("creation", "success") if !copy => WebhookEvent::VolumeMastered,
        ("fixity check", "success") if copy => WebhookEvent::CopyVerified,
        ("fixity check", "failure") => WebhookEvent::DamageFound,
        ("replication", "failure") => WebhookEvent::JobFailed,
        _ => return None,
    };
    let mut body = Map::new();
    body.insert("at".into(), crate::rfc3339(e.at).into());
    body.insert("audit_event".into(), e.id.into());
    body.insert("volume_id".into(), json!(e.volume_id));
    body.insert("copy_id".into(), json!(e.copy_id));
    body.insert("collection".into(), json!(e.collection));
    body.insert("outcome".into(), e.outcome.clone().into());
    body.insert("detail".into(), e.detail.clone().into());
    body.insert("agent".into(), e.agent.clone().into());
    Some(Message { event, body })
}

/// Reads the audit trail after each webhook's mark and queues what it is told of; once a day
/// (UTC), when copies are due for inspection, queues `inspection.due`. Returns the messages queued.
pub fn collect(vault: &Vault, now: i64) -> Result<u64> {
    const BATCH: i64 = 1000;
    let mut queued = 0;
    let today = crate::rfc3339(now)[..10].to_string();
    let mut due: Option<Value> = None;
    for hook in vault.catalog.webhooks()? {
        if hook.webhook.removed_at.is_some() {
            continue;
        }
        let mut hook: HookMark = hook;
        loop {
            let events = vault.catalog.event_records_after(hook.after_event, BATCH)?;
            let after = events.last().map(|e| e.id).unwrap_or(hook.after_event);
            let mut messages: Vec<Message> = events
                .iter()
                .filter_map(message_of)
                .filter(|m| hook.webhook.events.contains(&m.event))
                .collect();
            let mut day = hook.inspection_day.clone();
            if hook.webhook.events.contains(&WebhookEvent::InspectionDue) && day != today {
                if due.is_none() {
                    due = Some(inspection_body(vault, now)?);
                }
                if let Some(Value::Object(body)) = &due {
                    messages.push(Message {
                        event: WebhookEvent::InspectionDue,
                        body: body.clone(),
                    });
                }
                // Looked at once a day: nothing due now is looked at again tomorrow.
                day = today.clone();
            }
            if after == hook.after_event && day == hook.inspection_day {
                break;
            }
            let n = messages.len() as u64;
            if !vault
                .catalog
                .queue_deliveries(&hook, after, &day, messages)?
            {
                // Another station read this stretch first.
                break;
            }
            queued += n;
            if (events.len() as i64) < BATCH {
                break;
            }
            hook = vault.catalog.webhook_mark(&hook.webhook.webhook_id)?;
        }
    }
    Ok(queued)
}

/// The body of `inspection.due`: the round's pick list in short; `Value::Null` when nothing is
/// due.
fn inspection_body(vault: &Vault, now: i64) -> Result<Value> {
    let pick = crate::inspect::due(vault, now)?;
    if pick.copies.is_empty() {
        return Ok(Value::Null);
    }
    Ok(json!({
        "at": crate::rfc3339(now),
        "due": pick.copies.len(),
        "active_copies": pick.active_copies,
        "copies": pick.copies.iter().take(100).map(|d| json!({
            "copy_id": d.copy.copy.copy_id,
            "barcode": d.copy.copy.barcode,
            "place": d.copy.place_text,
            "due_at": d.due_at,
        })).collect::<Vec<_>>(),
    }))
}

/// Queues `job.failed` for a task that failed.
pub fn task_failed(vault: &Vault, task: &Task) -> Result<()> {
    let mut body = Map::new();
    body.insert("at".into(), crate::rfc3339(task.updated_at).into());
    body.insert("task".into(), json!(task));
    vault.catalog.queue_for_all(Message {
        event: WebhookEvent::JobFailed,
        body,
    })
}

/// Sends the deliveries due at `now`, each claimed first (several servers may share the
/// catalog); one not taken is tried again after the back-off, and given up after the
/// configured attempts. Returns the deliveries taken.
pub fn deliver(vault: &Vault, sender: &dyn Sender, now: i64) -> Result<u64> {
    let cfg = &vault.config.server;
    let base = cfg.webhook_retry_seconds.max(1) as i64;
    let mut taken = 0;
    for (id, hook, d) in vault.catalog.due_deliveries(now, 100)? {
        // An attempt has a minute; a station that dies during it leaves the delivery to be
        // tried again after.
        let claim = crate::now_unix() + 60;
        if !vault.catalog.claim_delivery(id, &d, claim)? {
            continue;
        }
        let secret = vault.catalog.webhook_secret(hook)?;
        let url = vault.catalog.webhook_mark(&d.webhook_id)?.webhook.url;
        let body = d.body.to_string().into_bytes();
        let ts = crate::now_unix();
        let headers = [
            ("Content-Type", "application/json".to_string()),
            ("User-Agent", crate::SOFTWARE.to_string()),
            ("X-Discvault-Event", d.event.name().to_string()),
            ("X-Discvault-Delivery", d.delivery_id.clone()),
            ("X-Discvault-Timestamp", ts.to_string()),
            ("X-Discvault-Signature", signature(&secret, ts, &body)),
        ];
        let (status, error) = match sender.post(&url, &headers, &body) {
            Ok(s) if (200..300).contains(&s) => (s, String::new()),
            Ok(s) => (s, format!("the receiver answered {s}")),
            Err(e) => (0, e),
        };
        let attempts = d.attempts + 1;
        let (state, next_at) = if error.is_empty() {
            taken += 1;
            (DeliveryState::Delivered, 0)
        } else if attempts >= cfg.webhook_attempts.max(1) as i64 {
            (DeliveryState::Failed, 0)
        } else {
            let wait = base.saturating_mul(1 << (attempts - 1).min(6));
            (DeliveryState::Pending, crate::now_unix() + wait)
        };
        vault
            .catalog
            .end_attempt(id, claim, state, status as i64, &error, next_at)?;
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Made with `printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test_secret_0001`.
        let s = signature("whsec_test_secret_0001", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "sha256=2da0568af2cb121b0d5a4f818868c7b28690cb042cfa278c86151e5b42a53bd9"
        );
        assert_ne!(s, signature("whsec_test_secret_0002", 1_700_000_000, b"{}"));
        assert_ne!(s, signature("whsec_test_secret_0001", 1_700_000_001, b"{}"));
    }
}
