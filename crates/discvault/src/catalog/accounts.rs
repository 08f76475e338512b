//! The server's accounts in the catalog: users and their tokens (`model/accounts.rs`). Every
//! change is an event of the audit trail (PREMIS type `metadata modification`), in the same
//! transaction.

use super::db::{self, Row};
use super::events::insert_event;
use super::{now_unix, Catalog};
use crate::model::{Duty, NewEvent, Role, SessionInfo, TokenInfo, User};
use crate::{Error, Result};

fn user_from_row(r: &Row) -> Result<User> {
    user_from_columns(r, "created_at")
}

/// A user from a row whose `created_at` column is called `created`.
fn user_from_columns(r: &Row, created: &str) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        name: r.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| Error::Invalid {
            field: "users.role".into(),
            detail: format!("{role:?} is no role"),
        })?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        has_password: !r.try_get::<String, _>("password_hash")?.is_empty(),
        created_at: r.try_get(created)?,
    })
}

fn token_from_row(r: &Row) -> Result<TokenInfo> {
    let scopes: String = r.try_get("scopes")?;
    Ok(TokenInfo {
        token_id: r.try_get("token_id")?,
        user: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                Duty::parse(s).ok_or_else(|| Error::Invalid {
                    field: "tokens.scopes".into(),
                    detail: format!("{s:?} is no scope"),
                })
            })
            .collect::<Result<_>>()?,
    })
}

fn session_from_row(r: &Row) -> Result<SessionInfo> {
    let user = user_from_columns(r, "user_created_at")?;
    Ok(SessionInfo {
        session_id: r.try_get("session_id")?,
        user: user.name,
        role: user.role,
        client: r.try_get("client")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

const SESSION_COLS: &str =
    "s.session_id, s.client, s.created_at, s.last_seen_at, s.expires_at, s.ended_at,
     u.name, u.role, u.password_hash, u.disabled, u.created_at AS user_created_at";

const USER_COLS: &str = "name, role, password_hash, disabled, created_at";
const TOKEN_COLS: &str = "t.token_id, u.name, t.created_at, t.expires_at, t.revoked_at, t.scopes";

pub(super) fn account_event(tx: &db::Tx<'_>, detail: &str) -> Result<()> {
    insert_event(
        tx,
        &NewEvent {
            event_type: "metadata modification",
            outcome: "success",
            detail,
            ..Default::default()
        },
    )
}

impl Catalog {
    /// Adds a user; `password_hash` is the argon2 PHC string, empty for none.
    pub fn add_user(&self, name: &str, role: Role, password_hash: &str) -> Result<User> {
        let tx = self.db.begin()?;
        let exists: i64 = db::query_scalar("SELECT COUNT(*) FROM users WHERE name = $1")
            .bind(name)
            .fetch_one(&*tx)?;
        if exists > 0 {
            return Err(Error::Invalid {
                field: "user".into(),
                detail: format!("{name:?} exists already"),
            });
        }
        db::query(
            "INSERT INTO users (name, role, password_hash, disabled, created_at) VALUES ($1, $2, $3, 0, $4)",
        )
        .bind(name)
        .bind(role.name())
        .bind(password_hash)
        .bind(now_unix())
        .execute(&*tx)?;
        account_event(&tx, &format!("user {name} added with role {role}"))?;
        tx.commit()?;
        self.user(name)
    }

    /// The user called `name`.
    pub fn user(&self, name: &str) -> Result<User> {
        self.user_password(name).map(|(u, _)| u)
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        db::query(&format!("SELECT {USER_COLS} FROM users ORDER BY name"))
            .fetch_all(&self.db)?
            .iter()
            .map(user_from_row)
            .collect()
    }

    /// The argon2 hash of a user's password (empty: none) and the user.
    pub fn user_password(&self, name: &str) -> Result<(User, String)> {
        let r = db::query(&format!("SELECT {USER_COLS} FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.db)?
            .ok_or_else(|| Error::NotFound(format!("user {name}")))?;
        Ok((user_from_row(&r)?, r.try_get("password_hash")?))
    }

    /// Disables (or enables again) a user: a disabled user's tokens and password let no one in.
    pub fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<User> {
        let tx = self.db.begin()?;
        let n = db::query("UPDATE users SET disabled = $1 WHERE name = $2")
            .bind(disabled as i64)
            .bind(name)
            .execute(&*tx)?;
        if n == 0 {
            return Err(Error::NotFound(format!("user {name}")));
        }
        let what = if disabled { "disabled" } else { "enabled" };
        account_event(&tx, &format!("user {name} {what}"))?;
        tx.commit()?;
        self.user(name)
    }

    /// Sets (or, with an empty hash, removes) a user's password; their sessions end.
    pub fn set_user_password(&self, name: &str, password_hash: &str) -> Result<User> {
        let tx = self.db.begin()?;
        let n = db::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(password_hash)
            .bind(name)
            .execute(&*tx)?;
        if n == 0 {
            return Err(Error::NotFound(format!("user {name}")));
        }
        db::query(
            "UPDATE sessions SET ended_at = $1
             WHERE ended_at IS NULL AND user_id = (SELECT id FROM users WHERE name = $2)",
        )
        .bind(now_unix())
        .bind(name)
        .execute(&*tx)?;
        let what = if password_hash.is_empty() {
            "removed"
        } else {
            "set"
        };
        account_event(&tx, &format!("password of user {name} {what}"))?;
        tx.commit()?;
        self.user(name)
    }

    /// Records a token of `user` by the SHA-256 of its secret.
    pub fn add_token(
        &self,
        user: &str,
        token_id: &str,
        secret_sha256: &str,
        expires_at: Option<i64>,
        scopes: &[Duty],
    ) -> Result<TokenInfo> {
        let tx = self.db.begin()?;
        let uid: Option<i64> = db::query_scalar("SELECT id FROM users WHERE name = $1")
            .bind(user)
            .fetch_optional(&*tx)?;
        let uid = uid.ok_or_else(|| Error::NotFound(format!("user {user}")))?;
        db::query(
            "INSERT INTO tokens (token_id, user_id, secret_sha256, created_at, expires_at, scopes) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_id)
        .bind(uid)
        .bind(secret_sha256)
        .bind(now_unix())
        .bind(expires_at)
        .bind(scopes.iter().map(|d| d.name()).collect::<Vec<_>>().join(","))
        .execute(&*tx)?;
        let scoped = if scopes.is_empty() {
            String::new()
        } else {
            format!(
                " (scopes {})",
                scopes
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        account_event(
            &tx,
            &format!("token {token_id} made for user {user}{scoped}"),
        )?;
        tx.commit()?;
        self.token(token_id)
    }

    /// The token with this public handle.
    pub fn token(&self, token_id: &str) -> Result<TokenInfo> {
        let r = db::query(&format!(
            "SELECT {TOKEN_COLS} FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_id = $1"
        ))
        .bind(token_id)
        .fetch_optional(&self.db)?
        .ok_or_else(|| Error::NotFound(format!("token {token_id}")))?;
        token_from_row(&r)
    }

    /// Every token (of one user, or of all), oldest first.
    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>> {
        db::query(&format!(
            "SELECT {TOKEN_COLS} FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE ($1 = '' OR u.name = $1) ORDER BY t.id"
        ))
        .bind(user.unwrap_or_default())
        .fetch_all(&self.db)?
        .iter()
        .map(token_from_row)
        .collect()
    }

    /// The token whose secret has this SHA-256, with its user.
    pub fn token_by_secret(&self, secret_sha256: &str) -> Result<Option<(TokenInfo, User)>> {
        let r = db::query(&format!(
            "SELECT {TOKEN_COLS}, u.role, u.password_hash, u.disabled, u.created_at AS user_created_at
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_sha256 = $1"
        ))
        .bind(secret_sha256)
        .fetch_optional(&self.db)?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some((
            token_from_row(&r)?,
            user_from_columns(&r, "user_created_at")?,
        )))
    }

    /// Revokes a token: it lets no one in from now on.
    pub fn revoke_token(&self, token_id: &str) -> Result<TokenInfo> {
        let tx = self.db.begin()?;
        let n = db::query(
            "UPDATE tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL",
        )
        .bind(now_unix())
        .bind(token_id)
        .execute(&*tx)?;
        if n == 0 {
            let t = self.token(token_id)?;
            return Err(Error::Invalid {
                field: "token".into(),
                detail: format!("{} was revoked already", t.token_id),
            });
        }
        account_event(&tx, &format!("token {token_id} revoked"))?;
        tx.commit()?;
        self.token(token_id)
    }

    /// Records a browser's session of `user` by the SHA-256 of its cookie. Not an event: a
    /// login changes nothing in the archive; this table is the log of logins.
    pub fn add_session(
        &self,
        user: &str,
        session_id: &str,
        secret_sha256: &str,
        client: &str,
        expires_at: i64,
    ) -> Result<SessionInfo> {
        let uid: i64 = db::query_scalar("SELECT id FROM users WHERE name = $1")
            .bind(user)
            .fetch_optional(&self.db)?
            .ok_or_else(|| Error::NotFound(format!("user {user}")))?;
        let now = now_unix();
        db::query(
            "INSERT INTO sessions (session_id, user_id, secret_sha256, client, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(session_id)
        .bind(uid)
        .bind(secret_sha256)
        .bind(client)
        .bind(now)
        .bind(expires_at)
        .execute(&self.db)?;
        self.sessions(Some(session_id), None, 1)?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("session {session_id}")))
    }

    /// The session whose cookie has this SHA-256, with its user.
    pub fn session_by_secret(&self, secret_sha256: &str) -> Result<Option<(SessionInfo, User)>> {
        let r = db::query(&format!(
            "SELECT {SESSION_COLS} FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.secret_sha256 = $1"
        ))
        .bind(secret_sha256)
        .fetch_optional(&self.db)?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some((
            session_from_row(&r)?,
            user_from_columns(&r, "user_created_at")?,
        )))
    }

    /// Sessions, newest first: one by its handle, or those of a user, or all; at most `limit`.
    pub fn sessions(
        &self,
        session_id: Option<&str>,
        user: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SessionInfo>> {
        db::query(&format!(
            "SELECT {SESSION_COLS} FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE ($1 = '' OR s.session_id = $1) AND ($2 = '' OR u.name = $2)
             ORDER BY s.id DESC LIMIT $3"
        ))
        .bind(session_id.unwrap_or_default())
        .bind(user.unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.db)?
        .iter()
        .map(session_from_row)
        .collect()
    }

    /// A request came with the session at `at`.
    pub fn touch_session(&self, session_id: &str, at: i64) -> Result<()> {
        db::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE session_id = $2 AND last_seen_at < $1",
        )
        .bind(at)
        .bind(session_id)
        .execute(&self.db)?;
        Ok(())
    }

    /// Ends a session (logout): its cookie lets no one in from now on. False when it had ended.
    pub fn end_session(&self, session_id: &str) -> Result<bool> {
        let n = db::query(
            "UPDATE sessions SET ended_at = $1 WHERE session_id = $2 AND ended_at IS NULL",
        )
        .bind(now_unix())
        .bind(session_id)
        .execute(&self.db)?;
        Ok(n > 0)
    }
}
