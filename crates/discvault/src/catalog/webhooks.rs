//! Webhooks and their deliveries in the store (`model/webhooks.rs`). Several servers may share
//! one catalog: reading the audit trail for a webhook moves its mark only from where it was,
//! and an attempt of a delivery is claimed by moving its time, so no message goes out twice
//! from two stations at once.

use super::db::{self, Row};
use super::{now_unix, Catalog};
use crate::model::{agent, Delivery, DeliveryState, Webhook, WebhookEvent};
use crate::{Error, Result};

const HOOK_COLS: &str =
    "id, webhook_id, url, events, after_event, inspection_day, created_by, created_at, removed_at";
const DELIVERY_COLS: &str = "d.id, d.delivery_id, w.webhook_id, d.event, d.body, d.state, d.attempts, d.next_at, d.last_status, d.last_error, d.created_at, d.delivered_at";

/// A webhook as the delivery loop needs it: its row id, how far the audit trail was read for
/// it, and the day it was last told of an inspection round.
#[derive(Debug, Clone)]
pub struct HookMark {
    pub id: i64,
    pub webhook: Webhook,
    pub after_event: i64,
    pub inspection_day: String,
}

fn bad(what: &str, detail: String) -> Error {
    Error::CatalogData {
        what: format!("webhooks.{what}"),
        detail,
    }
}

fn hook_from_row(r: &Row) -> Result<HookMark> {
    let events: String = r.try_get("events")?;
    let events = events
        .split(',')
        .filter(|e| !e.is_empty())
        .map(|e| WebhookEvent::parse(e).ok_or_else(|| bad("events", format!("{e:?}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(HookMark {
        id: r.try_get("id")?,
        after_event: r.try_get("after_event")?,
        inspection_day: r.try_get("inspection_day")?,
        webhook: Webhook {
            webhook_id: r.try_get("webhook_id")?,
            url: r.try_get("url")?,
            events,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            removed_at: r.try_get("removed_at")?,
        },
    })
}

fn delivery_from_row(r: &Row) -> Result<(i64, Delivery)> {
    let event: String = r.try_get("event")?;
    let state: String = r.try_get("state")?;
    let body: String = r.try_get("body")?;
    Ok((
        r.try_get("id")?,
        Delivery {
            delivery_id: r.try_get("delivery_id")?,
            webhook_id: r.try_get("webhook_id")?,
            event: WebhookEvent::parse(&event)
                .ok_or_else(|| bad("deliveries.event", format!("{event:?}")))?,
            body: serde_json::from_str(&body).map_err(|e| bad("deliveries.body", e.to_string()))?,
            state: DeliveryState::parse(&state)
                .ok_or_else(|| bad("deliveries.state", format!("{state:?}")))?,
            attempts: r.try_get("attempts")?,
            next_at: r.try_get("next_at")?,
            last_status: r.try_get("last_status")?,
            last_error: r.try_get("last_error")?,
            created_at: r.try_get("created_at")?,
            delivered_at: r.try_get("delivered_at")?,
        },
    ))
}

/// A URL as the audit trail keeps it (for good, readable by every role): without a query
/// (robots of DingTalk or WeCom carry their key there) or user and password.
fn shown_url(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or_default();
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}{path}")
        }
        None => base.to_string(),
    }
}

/// A message to queue for one webhook: what it tells of, and the body without its delivery id
/// (added as `delivery`).
pub struct Message {
    pub event: WebhookEvent,
    pub body: serde_json::Map<String, serde_json::Value>,
}

impl Catalog {
    /// Subscribes `url` to `events`; the audit trail is read for it from now on (what happened
    /// before is not sent).
    pub fn add_webhook(&self, url: &str, events: &[WebhookEvent], secret: &str) -> Result<Webhook> {
        let tx = self.db.begin()?;
        let last: Option<i64> = db::query_scalar("SELECT MAX(id) FROM webhooks").fetch_one(&*tx)?;
        let webhook_id = format!("W-{:06}", last.unwrap_or(0) + 1);
        let head: Option<i64> = db::query_scalar("SELECT last_id FROM event_head WHERE one = 1")
            .fetch_optional(&*tx)?;
        let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
        db::query(
            "INSERT INTO webhooks (webhook_id, url, secret, events, after_event, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(webhook_id.as_str())
        .bind(url)
        .bind(secret)
        .bind(names.join(","))
        .bind(head.unwrap_or(0))
        .bind(agent())
        .bind(now_unix())
        .execute(&*tx)?;
        super::accounts::account_event(
            &tx,
            &format!(
                "webhook {webhook_id} subscribed: {} told of {}",
                shown_url(url),
                names.join(", ")
            ),
        )?;
        tx.commit()?;
        Ok(self.webhook_mark(&webhook_id)?.webhook)
    }

    pub fn webhook_mark(&self, webhook_id: &str) -> Result<HookMark> {
        let r = db::query(&format!(
            "SELECT {HOOK_COLS} FROM webhooks WHERE webhook_id = $1"
        ))
        .bind(webhook_id)
        .fetch_optional(&self.db)?
        .ok_or_else(|| Error::NotFound(format!("webhook {webhook_id}")))?;
        hook_from_row(&r)
    }

    /// Every webhook, removed ones too, oldest first.
    pub fn webhooks(&self) -> Result<Vec<HookMark>> {
        db::query(&format!("SELECT {HOOK_COLS} FROM webhooks ORDER BY id"))
            .fetch_all(&self.db)?
            .iter()
            .map(hook_from_row)
            .collect()
    }

    /// The key a webhook's messages are signed with.
    pub fn webhook_secret(&self, id: i64) -> Result<String> {
        db::query_scalar("SELECT secret FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_one(&self.db)
    }

    /// Removes a webhook: nothing more is queued for it, and its pending deliveries are given
    /// up. Its delivery log is kept.
    pub fn remove_webhook(&self, webhook_id: &str) -> Result<Webhook> {
        let m = self.webhook_mark(webhook_id)?;
        if m.webhook.removed_at.is_some() {
            return Err(Error::Conflict(format!(
                "webhook {webhook_id} was removed already"
            )));
        }
        let tx = self.db.begin()?;
        let now = now_unix();
        db::query("UPDATE webhooks SET removed_at = $1 WHERE id = $2 AND removed_at IS NULL")
            .bind(now)
            .bind(m.id)
            .execute(&*tx)?;
        db::query("UPDATE deliveries SET state = 'failed', last_error = 'the webhook was removed' WHERE webhook = $1 AND state = 'pending'")
            .bind(m.id)
            .execute(&*tx)?;
        super::accounts::account_event(
            &tx,
            &format!(
                "webhook {webhook_id} removed: {}",
                shown_url(&m.webhook.url)
            ),
        )?;
        tx.commit()?;
        Ok(self.webhook_mark(webhook_id)?.webhook)
    }

    /// Queues `messages` for a webhook and moves its marks to `after_event` and
    /// `inspection_day`, only if they are still `from` (another station did not queue them
    /// first). Returns whether they were queued.
    pub fn queue_deliveries(
        &self,
        hook: &HookMark,
        after_event: i64,
        inspection_day: &str,
        messages: Vec<Message>,
    ) -> Result<bool> {
        let tx = self.db.begin()?;
        let moved = db::query(
            "UPDATE webhooks SET after_event = $1, inspection_day = $2
             WHERE id = $3 AND after_event = $4 AND inspection_day = $5 AND removed_at IS NULL",
        )
        .bind(after_event)
        .bind(inspection_day)
        .bind(hook.id)
        .bind(hook.after_event)
        .bind(hook.inspection_day.as_str())
        .execute(&*tx)?;
        if moved == 0 {
            return Ok(false);
        }
        self.insert_deliveries(&tx, hook.id, messages)?;
        tx.commit()?;
        Ok(true)
    }

    /// Queues a message for every active webhook told of its kind (a task that failed).
    pub fn queue_for_all(&self, message: Message) -> Result<()> {
        let hooks: Vec<HookMark> = self
            .webhooks()?
            .into_iter()
            .filter(|h| h.webhook.removed_at.is_none() && h.webhook.events.contains(&message.event))
            .collect();
        if hooks.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin()?;
        for h in hooks {
            self.insert_deliveries(
                &tx,
                h.id,
                vec![Message {
                    event: message.event,
                    body: message.body.clone(),
                }],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn insert_deliveries(
        &self,
        tx: &db::Tx<'_>,
        webhook: i64,
        messages: Vec<Message>,
    ) -> Result<()> {
        let now = now_unix();
        for m in messages {
            let last: Option<i64> =
                db::query_scalar("SELECT MAX(id) FROM deliveries").fetch_one(&**tx)?;
            let delivery_id = format!("D-{:06}", last.unwrap_or(0) + 1);
            let mut body = serde_json::Map::new();
            body.insert("delivery".into(), delivery_id.clone().into());
            body.insert("event".into(), m.event.name().into());
            body.extend(m.body);
            db::query(
                "INSERT INTO deliveries (delivery_id, webhook, event, body, state, next_at, created_at)
                 VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
            )
            .bind(delivery_id.as_str())
            .bind(webhook)
            .bind(m.event.name())
            .bind(serde_json::Value::Object(body).to_string())
            .bind(now)
            .execute(&**tx)?;
        }
        Ok(())
    }

    /// Pending deliveries due at `now`, oldest first, with their webhooks' row ids.
    pub fn due_deliveries(&self, now: i64, limit: i64) -> Result<Vec<(i64, i64, Delivery)>> {
        let rows = db::query(&format!(
            "SELECT {DELIVERY_COLS}, d.webhook AS hook FROM deliveries d JOIN webhooks w ON w.id = d.webhook
             WHERE d.state = 'pending' AND d.next_at <= $1 ORDER BY d.id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.db)?;
        rows.iter()
            .map(|r| {
                let (id, d) = delivery_from_row(r)?;
                Ok((id, r.try_get("hook")?, d))
            })
            .collect()
    }

    /// Claims an attempt of a delivery: its next try moves to `until` (the attempt's time
    /// limit), if it is still as `seen`. False: another station claimed it.
    pub fn claim_delivery(&self, id: i64, seen: &Delivery, until: i64) -> Result<bool> {
        let n = db::query(
            "UPDATE deliveries SET next_at = $1 WHERE id = $2 AND state = 'pending' AND next_at = $3 AND attempts = $4",
        )
        .bind(until)
        .bind(id)
        .bind(seen.next_at)
        .bind(seen.attempts)
        .execute(&self.db)?;
        Ok(n == 1)
    }

    /// Records an attempt claimed until `claim`: delivered, tried again at `next_at`, or given
    /// up (`state`). An attempt whose claim ran out (another station took the delivery over)
    /// records nothing.
    pub fn end_attempt(
        &self,
        id: i64,
        claim: i64,
        state: DeliveryState,
        status: i64,
        error: &str,
        next_at: i64,
    ) -> Result<()> {
        let now = now_unix();
        db::query(
            "UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
                next_at = $4, delivered_at = $5 WHERE id = $6 AND state = 'pending' AND next_at = $7",
        )
        .bind(state.name())
        .bind(status)
        .bind(error)
        .bind(next_at)
        .bind((state == DeliveryState::Delivered).then_some(now))
        .bind(id)
        .bind(claim)
        .execute(&self.db)?;
        Ok(())
    }

    /// A webhook's delivery log, newest first.
    pub fn deliveries(&self, webhook_id: &str, limit: i64) -> Result<Vec<Delivery>> {
        let m = self.webhook_mark(webhook_id)?;
        db::query(&format!(
            "SELECT {DELIVERY_COLS} FROM deliveries d JOIN webhooks w ON w.id = d.webhook
             WHERE d.webhook = $1 ORDER BY d.id DESC LIMIT $2"
        ))
        .bind(m.id)
        .bind(limit)
        .fetch_all(&self.db)?
        .iter()
        .map(|r| delivery_from_row(r).map(|(_, d)| d))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_audit_trail_keeps_no_key_of_a_webhook_url() {
        for (url, shown) in [
            (
                "https://oapi.dingtalk.com/robot/send?access_token=abc123",
                "https://oapi.dingtalk.com/robot/send",
            ),
            (
                "http://user:pass@10.0.0.5:8080/hooks/档案#x",
                "http://10.0.0.5:8080/hooks/档案",
            ),
            ("http://host", "http://host"),
        ] {
            assert_eq!(super::shown_url(url), shown);
        }
    }
}
