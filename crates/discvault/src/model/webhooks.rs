//! Webhooks: records systems told of what happened (a volume mastered, a copy verified, damage
//! found, an inspection round due, a job failed), by a signed JSON POST to a URL they
//! subscribed; each message is a delivery, kept with its attempts until it is taken.

use serde::{Deserialize, Serialize};

/// What a webhook can be told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WebhookEvent {
    /// A volume's image was mastered (its checksum is known).
    #[serde(rename = "volume.mastered")]
    VolumeMastered,
    /// A copy was read back clean.
    #[serde(rename = "copy.verified")]
    CopyVerified,
    /// A read-back found damage: a copy or image failed its fixity check.
    #[serde(rename = "damage.found")]
    DamageFound,
    /// Copies are due for their inspection read-back (told once a day while any is due).
    #[serde(rename = "inspection.due")]
    InspectionDue,
    /// A burn of a copy failed, or a task failed.
    #[serde(rename = "job.failed")]
    JobFailed,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 5] = [
        WebhookEvent::VolumeMastered,
        WebhookEvent::CopyVerified,
        WebhookEvent::DamageFound,
        WebhookEvent::InspectionDue,
        WebhookEvent::JobFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WebhookEvent::VolumeMastered => "volume.mastered",
            WebhookEvent::CopyVerified => "copy.verified",
            WebhookEvent::DamageFound => "damage.found",
            WebhookEvent::InspectionDue => "inspection.due",
            WebhookEvent::JobFailed => "job.failed",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookEvent> {
        Self::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// `W-000001`.
    pub webhook_id: String,
    /// Where the messages are POSTed (http or https).
    pub url: String,
    /// What it is told of.
    pub events: Vec<WebhookEvent>,
    /// Who subscribed it.
    pub created_by: String,
    pub created_at: i64,
    /// When it was removed (none: active). Its deliveries are kept.
    pub removed_at: Option<i64>,
}

/// A webhook just made, with its secret: shown once, kept only to sign messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The key of the HMAC-SHA256 signature of each message (`X-Discvault-Signature`).
    pub secret: String,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not taken yet: tried again at `next_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after the configured attempts.
    Failed,
}

impl DeliveryState {
    pub fn name(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|d| d.name() == s)
    }
}

/// One message to one webhook, with its attempts: the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// `D-000001`.
    pub delivery_id: String,
    pub webhook_id: String,
    pub event: WebhookEvent,
    /// The message, as sent (the same bytes at every attempt).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
    pub state: DeliveryState,
    pub attempts: i64,
    /// When it is tried next (pending).
    pub next_at: i64,
    /// The HTTP status of the last attempt (0: no answer).
    pub last_status: i64,
    /// Why the last attempt failed.
    pub last_error: String,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}
