//! Accounts of the server (`discvault serve`): users with a role, and the tokens records
//! systems present, the sessions of browsers. Stored in the catalog (tables `users`, `tokens`,
//! `sessions`); never on a disc.

use serde::{Deserialize, Serialize};

/// What a user may do. Every role may read everything.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, accounts and webhooks included.
    Admin,
    /// Ingest, plan, master, restore.
    Archivist,
    /// Publish, copies, cabinets, inspections.
    Operator,
    /// Reads everything, changes nothing.
    Auditor,
}

/// The kinds of work a request does, each allowed to some roles.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duty {
    /// Reading the catalog, reports, the audit log.
    Read,
    /// Ingest, plan, master, restore.
    Archive,
    /// Publish, copies, cabinets, inspections.
    Operate,
    /// Accounts, tokens, webhooks.
    Administer,
}

impl Duty {
    pub const ALL: [Duty; 4] = [Duty::Read, Duty::Archive, Duty::Operate, Duty::Administer];

    pub fn name(self) -> &'static str {
        match self {
            Duty::Read => "read",
            Duty::Archive => "archive",
            Duty::Operate => "operate",
            Duty::Administer => "administer",
        }
    }

    pub fn parse(s: &str) -> Option<Duty> {
        Duty::ALL.into_iter().find(|d| d.name() == s)
    }
}

impl std::fmt::Display for Duty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Archivist, Role::Operator, Role::Auditor];

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Archivist => "archivist",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Whether this role may do `duty`.
    pub fn may(self, duty: Duty) -> bool {
        match duty {
            Duty::Read => true,
            Duty::Archive => matches!(self, Role::Admin | Role::Archivist),
            Duty::Operate => matches!(self, Role::Admin | Role::Operator),
            Duty::Administer => self == Role::Admin,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A user of the server.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// A disabled user's tokens and password no longer let anyone in.
    pub disabled: bool,
    /// Whether the user has a password (browsers log in with one; systems use tokens).
    pub has_password: bool,
    pub created_at: i64,
}

/// A token as listed: never its secret, which is shown once when it is made.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token's public handle (the part after `dvt_` and before the secret), for `token revoke`.
    pub token_id: String,
    pub user: String,
    pub created_at: i64,
    /// Unix seconds after which it lets no one in; none: until revoked.
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// What the token may be used for, within its user's role; empty: all the role may.
    #[serde(default)]
    pub scopes: Vec<Duty>,
}

/// A token just made: its secret, shown once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    /// `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenInfo,
}

/// Who a request acts for, once its credentials were checked.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// A token's scopes (empty: all the role may).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Duty>,
}

impl Principal {
    /// Whether the role, and the token's scopes, allow `duty`.
    pub fn may(&self, duty: Duty) -> bool {
        self.role.may(duty) && (self.scopes.is_empty() || self.scopes.contains(&duty))
    }
}

/// A browser's session, made by logging in with a password: the cookie's secret is never
/// stored (only its SHA-256) nor listed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session's public handle (the part after `dvs_` and before the secret).
    pub session_id: String,
    pub user: String,
    pub role: Role,
    /// The address the login came from.
    pub client: String,
    pub created_at: i64,
    /// When a request last came with it (to the minute).
    pub last_seen_at: i64,
    /// Unix seconds after which it lets no one in, however busy.
    pub expires_at: i64,
    /// When it was ended by logging out.
    pub ended_at: Option<i64>,
}

/// A session just made: the cookie's value, in the answer to the login and nowhere else, and
/// the token a browser sends back with every change (`X-CSRF-Token`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    pub cookie: String,
    pub csrf_token: String,
    pub info: SessionInfo,
}
