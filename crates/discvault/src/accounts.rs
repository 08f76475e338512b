//! The server's accounts: users with a role, their passwords (argon2id), the tokens records
//! systems present (`Authorization: Bearer dvt_…`) and the sessions of browsers (a cookie
//! `dvs_…` made by logging in with a password). A token or a cookie is shown once when it is
//! made; the catalog keeps only the SHA-256 of it.

use crate::model::{Duty, NewSession, NewToken, Principal, Role, SessionInfo, TokenInfo, User};
use crate::vault::Vault;
use crate::{Error, Result};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

/// Why credentials let no one in. The server answers all of them alike (401), so that a caller
/// learns nothing of which users or tokens exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Expired,
    Revoked,
    Disabled,
    WrongPassword,
}

/// A user name: 1 to 64 characters, letters, digits, `.`, `_`, `-` (Chinese letters too).
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid {
            field: "user".into(),
            detail: format!("{name:?}: 1 to 64 letters, digits, '.', '_' or '-'"),
        })
    }
}

fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < 8 {
        return Err(Error::Invalid {
            field: "password".into(),
            detail: "at least 8 characters".into(),
        });
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid {
            field: "password".into(),
            detail: e.to_string(),
        })
}

/// Adds a user with a role, and a password when one is given (browsers log in with it).
pub fn add_user(vault: &Vault, name: &str, role: Role, password: Option<&str>) -> Result<User> {
    check_name(name)?;
    let hash = match password {
        Some(p) => hash_password(p)?,
        None => String::new(),
    };
    vault.catalog.add_user(name, role, &hash)
}

/// Disables a user (or enables one again).
pub fn set_disabled(vault: &Vault, name: &str, disabled: bool) -> Result<User> {
    vault.catalog.set_user_disabled(name, disabled)
}

/// Sets a user's password (at least 8 characters); the sessions of the old one end.
pub fn set_password(vault: &Vault, name: &str, password: &str) -> Result<User> {
    vault.catalog.user(name)?;
    vault
        .catalog
        .set_user_password(name, &hash_password(password)?)
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Makes a token for `user`, valid for `expires_days` days (none: until revoked), for the
/// duties in `scopes` (none: all the user's role may; each must be one the role has). The
/// token is in the result and nowhere else.
pub fn create_token(
    vault: &Vault,
    user: &str,
    expires_days: Option<u32>,
    scopes: &[Duty],
) -> Result<NewToken> {
    let u = vault.catalog.user(user)?;
    if u.disabled {
        return Err(Error::Invalid {
            field: "user".into(),
            detail: format!("{user} is disabled"),
        });
    }
    if let Some(d) = scopes.iter().find(|d| !u.role.may(**d)) {
        return Err(Error::Invalid {
            field: "scope".into(),
            detail: format!(
                "user {user} ({}) may not {d}: no token of theirs may",
                u.role
            ),
        });
    }
    let mut scopes = scopes.to_vec();
    scopes.sort_by_key(|d| Duty::ALL.iter().position(|x| x == d));
    scopes.dedup();
    let mut id = [0u8; 4];
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    OsRng.fill_bytes(&mut secret);
    let token_id = hex::encode(id);
    let token = format!("dvt_{token_id}_{}", hex::encode(secret));
    let expires_at = expires_days.map(|d| crate::now_unix() + i64::from(d) * 86_400);
    let info =
        vault
            .catalog
            .add_token(user, &token_id, &sha256_hex(&token), expires_at, &scopes)?;
    Ok(NewToken { token, info })
}

/// Revokes a token by its public handle (`token_id`) or the token itself.
pub fn revoke_token(vault: &Vault, token: &str) -> Result<TokenInfo> {
    let id = token
        .strip_prefix("dvt_")
        .and_then(|t| t.split('_').next())
        .unwrap_or(token);
    vault.catalog.revoke_token(id)
}

/// Who presents this token, or why it lets no one in.
pub fn authenticate_token(
    vault: &Vault,
    token: &str,
) -> Result<std::result::Result<Principal, Refusal>> {
    if !token.starts_with("dvt_") || token.len() > 128 {
        return Ok(Err(Refusal::Unknown));
    }
    let Some((t, user)) = vault.catalog.token_by_secret(&sha256_hex(token))? else {
        return Ok(Err(Refusal::Unknown));
    };
    Ok(if t.revoked_at.is_some() {
        Err(Refusal::Revoked)
    } else if t.expires_at.is_some_and(|e| e <= crate::now_unix()) {
        Err(Refusal::Expired)
    } else if user.disabled {
        Err(Refusal::Disabled)
    } else {
        Ok(Principal {
            user: user.name,
            role: user.role,
            scopes: t.scopes,
        })
    })
}

/// An argon2 hash no password matches: checked in place of a user's hash when the user is
/// unknown or has no password, so that the answer takes as long as for a wrong password and a
/// caller cannot tell which users exist by the time it takes.
fn stand_in_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        hash_password(&hex::encode(secret)).expect("a 64-character password hashes")
    })
}

/// Who logs in with this name and password, or why not.
pub fn authenticate_password(
    vault: &Vault,
    name: &str,
    password: &str,
) -> Result<std::result::Result<Principal, Refusal>> {
    let found = match vault.catalog.user_password(name) {
        Ok(u) => Some(u),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let own = match &found {
        Some((_, h)) if PasswordHash::new(h).is_ok() => Some(h.clone()),
        _ => None,
    };
    let hash = own.as_deref().unwrap_or(stand_in_hash());
    let parsed = PasswordHash::new(hash).map_err(|e| Error::Invalid {
        field: "users.password_hash".into(),
        detail: e.to_string(),
    })?;
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let Some((user, _)) = found else {
        return Ok(Err(Refusal::Unknown));
    };
    Ok(if !matches || own.is_none() {
        Err(Refusal::WrongPassword)
    } else if user.disabled {
        Err(Refusal::Disabled)
    } else {
        Ok(Principal {
            user: user.name,
            role: user.role,
            scopes: Vec::new(),
        })
    })
}

/// The token a browser sends back with every change it asks for (`X-CSRF-Token`), made from
/// its session's cookie: a page of another site can neither read the cookie nor this token.
pub fn csrf_token(cookie: &str) -> String {
    sha256_hex(&format!("discvault csrf\0{cookie}"))
}

/// Logs `name` in with a password: a session that lets the browser in for at most
/// `max_seconds`, made from `client` (an address, for the log of logins).
pub fn login(
    vault: &Vault,
    name: &str,
    password: &str,
    client: &str,
    max_seconds: i64,
) -> Result<std::result::Result<NewSession, Refusal>> {
    let who = match authenticate_password(vault, name, password)? {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    OsRng.fill_bytes(&mut secret);
    let session_id = hex::encode(id);
    let cookie = format!("dvs_{session_id}_{}", hex::encode(secret));
    let client: String = client.chars().take(100).collect();
    let info = vault.catalog.add_session(
        &who.user,
        &session_id,
        &sha256_hex(&cookie),
        &client,
        crate::now_unix() + max_seconds,
    )?;
    Ok(Ok(NewSession {
        csrf_token: csrf_token(&cookie),
        cookie,
        info,
    }))
}

/// Who this session's cookie lets in, or why not: a session ends when logged out, at its
/// `expires_at`, after `idle_seconds` without a request, or when its user is disabled.
pub fn authenticate_session(
    vault: &Vault,
    cookie: &str,
    idle_seconds: i64,
) -> Result<std::result::Result<(Principal, SessionInfo), Refusal>> {
    if !cookie.starts_with("dvs_") || cookie.len() > 128 {
        return Ok(Err(Refusal::Unknown));
    }
    let Some((s, user)) = vault.catalog.session_by_secret(&sha256_hex(cookie))? else {
        return Ok(Err(Refusal::Unknown));
    };
    let now = crate::now_unix();
    Ok(if s.ended_at.is_some() {
        Err(Refusal::Revoked)
    } else if s.expires_at <= now || s.last_seen_at + idle_seconds <= now {
        Err(Refusal::Expired)
    } else if user.disabled {
        Err(Refusal::Disabled)
    } else {
        // Written at most once a minute: a busy page costs no write per request.
        if now - s.last_seen_at >= 60 {
            vault.catalog.touch_session(&s.session_id, now)?;
        }
        Ok((
            Principal {
                user: user.name,
                role: user.role,
                scopes: Vec::new(),
            },
            s,
        ))
    })
}

/// Ends the session of this cookie (logout); an unknown or ended one is left as it is.
pub fn logout(vault: &Vault, cookie: &str) -> Result<()> {
    if let Some((s, _)) = vault.catalog.session_by_secret(&sha256_hex(cookie))? {
        vault.catalog.end_session(&s.session_id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_let_in_their_user_until_revoked_expired_or_disabled() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::init(dir.path()).unwrap();
        add_user(&v, "档案员-li", Role::Archivist, Some("correct horse")).unwrap();
        assert!(add_user(&v, "档案员-li", Role::Admin, None).is_err());
        assert!(add_user(&v, "a/b", Role::Admin, None).is_err());
        assert!(add_user(&v, "short", Role::Admin, Some("1234567")).is_err());

        let t = create_token(&v, "档案员-li", None, &[]).unwrap();
        assert!(t.token.starts_with(&format!("dvt_{}_", t.info.token_id)));
        let who = authenticate_token(&v, &t.token).unwrap().unwrap();
        assert_eq!(
            (who.user.as_str(), who.role),
            ("档案员-li", Role::Archivist)
        );
        // A token one character off, or not a token at all.
        let mut wrong = t.token.clone();
        wrong.pop();
        wrong.push('x');
        assert_eq!(
            authenticate_token(&v, &wrong).unwrap(),
            Err(Refusal::Unknown)
        );
        assert_eq!(
            authenticate_token(&v, "Basic abc").unwrap(),
            Err(Refusal::Unknown)
        );

        set_disabled(&v, "档案员-li", true).unwrap();
        assert_eq!(
            authenticate_token(&v, &t.token).unwrap(),
            Err(Refusal::Disabled)
        );
        assert_eq!(
            authenticate_password(&v, "档案员-li", "correct horse").unwrap(),
            Err(Refusal::Disabled)
        );
        set_disabled(&v, "档案员-li", false).unwrap();
        assert!(authenticate_password(&v, "档案员-li", "correct horse")
            .unwrap()
            .is_ok());
        assert_eq!(
            authenticate_password(&v, "档案员-li", "wrong horse").unwrap(),
            Err(Refusal::WrongPassword)
        );
        assert_eq!(
            authenticate_password(&v, "nobody", "correct horse").unwrap(),
            Err(Refusal::Unknown)
        );

        // A token for reading only: the role's other duties are not its own.
        let ro = create_token(&v, "档案员-li", None, &[Duty::Read, Duty::Read]).unwrap();
        assert_eq!(ro.info.scopes, vec![Duty::Read]);
        let who = authenticate_token(&v, &ro.token).unwrap().unwrap();
        assert!(who.may(Duty::Read) && !who.may(Duty::Archive));
        let full = authenticate_token(&v, &t.token).unwrap().unwrap();
        assert!(full.may(Duty::Archive) && !full.may(Duty::Operate));
        // No scope beyond the role.
        let e = create_token(&v, "档案员-li", None, &[Duty::Operate]).unwrap_err();
        assert!(e.to_string().contains("may not operate"), "{e}");
        assert_eq!(
            v.catalog.token(&ro.info.token_id).unwrap().scopes,
            vec![Duty::Read]
        );

        revoke_token(&v, &t.info.token_id).unwrap();
        assert_eq!(
            authenticate_token(&v, &t.token).unwrap(),
            Err(Refusal::Revoked)
        );
        assert!(revoke_token(&v, &t.token).is_err(), "revoked twice");

        let expired = create_token(&v, "档案员-li", Some(0), &[]).unwrap();
        assert_eq!(
            authenticate_token(&v, &expired.token).unwrap(),
            Err(Refusal::Expired)
        );

        // The catalog holds no token, only digests; every change is an event.
        let tokens = v.catalog.tokens(None).unwrap();
        assert_eq!(tokens.len(), 3);
        let events = v.catalog.event_records().unwrap();
        let accounts: Vec<&str> = events
            .iter()
            .filter(|e| e.event_type == "metadata modification")
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(accounts.len(), 7, "{accounts:?}");
        assert!(v.catalog.verify_chain().unwrap().intact);
    }

    #[test]
    fn sessions_let_in_until_logout_idle_expiry_or_disable() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::init(dir.path()).unwrap();
        add_user(&v, "王档案", Role::Operator, Some("档案室的正确密码-1")).unwrap();
        add_user(&v, "system", Role::Archivist, None).unwrap();
        assert_eq!(
            login(&v, "王档案", "wrong password", "127.0.0.1", 3600).unwrap(),
            Err(Refusal::WrongPassword)
        );
        assert_eq!(
            login(&v, "nobody", "档案室的正确密码-1", "127.0.0.1", 3600).unwrap(),
            Err(Refusal::Unknown)
        );
        // A user without a password cannot log in, whatever is tried.
        for p in ["", "x", "档案室的正确密码-1"] {
            assert_eq!(
                login(&v, "system", p, "127.0.0.1", 3600).unwrap(),
                Err(Refusal::WrongPassword)
            );
        }

        let s = login(&v, "王档案", "档案室的正确密码-1", "127.0.0.1", 3600)
            .unwrap()
            .unwrap();
        assert!(s.cookie.starts_with(&format!("dvs_{}_", s.info.session_id)));
        assert_eq!(s.csrf_token, csrf_token(&s.cookie));
        assert_ne!(s.csrf_token, csrf_token(&format!("{}0", s.cookie)));
        let (who, info) = authenticate_session(&v, &s.cookie, 1800).unwrap().unwrap();
        assert_eq!((who.user.as_str(), who.role), ("王档案", Role::Operator));
        assert_eq!(info.client, "127.0.0.1");
        // Idle too long, or past its end.
        assert_eq!(
            authenticate_session(&v, &s.cookie, 0).unwrap(),
            Err(Refusal::Expired)
        );
        let short = login(&v, "王档案", "档案室的正确密码-1", "::1", 0)
            .unwrap()
            .unwrap();
        assert_eq!(
            authenticate_session(&v, &short.cookie, 1800).unwrap(),
            Err(Refusal::Expired)
        );
        // A token is not a cookie; a cookie one character off lets no one in.
        let t = create_token(&v, "王档案", None, &[]).unwrap();
        assert_eq!(
            authenticate_session(&v, &t.token, 1800).unwrap(),
            Err(Refusal::Unknown)
        );
        assert_eq!(
            authenticate_token(&v, &s.cookie).unwrap(),
            Err(Refusal::Unknown)
        );
        let mut wrong = s.cookie.clone();
        wrong.pop();
        wrong.push('x');
        assert_eq!(
            authenticate_session(&v, &wrong, 1800).unwrap(),
            Err(Refusal::Unknown)
        );

        set_disabled(&v, "王档案", true).unwrap();
        assert_eq!(
            authenticate_session(&v, &s.cookie, 1800).unwrap(),
            Err(Refusal::Disabled)
        );
        set_disabled(&v, "王档案", false).unwrap();
        assert!(authenticate_session(&v, &s.cookie, 1800).unwrap().is_ok());
        logout(&v, &s.cookie).unwrap();
        assert_eq!(
            authenticate_session(&v, &s.cookie, 1800).unwrap(),
            Err(Refusal::Revoked)
        );
        // A new password ends the sessions of the old one.
        let again = login(&v, "王档案", "档案室的正确密码-1", "127.0.0.1", 3600)
            .unwrap()
            .unwrap();
        assert!(set_password(&v, "王档案", "short").is_err());
        assert!(set_password(&v, "nobody", "another password").is_err());
        set_password(&v, "王档案", "另一个足够长的密码").unwrap();
        assert_eq!(
            authenticate_session(&v, &again.cookie, 1800).unwrap(),
            Err(Refusal::Revoked)
        );
        assert_eq!(
            authenticate_password(&v, "王档案", "档案室的正确密码-1").unwrap(),
            Err(Refusal::WrongPassword)
        );
        assert!(authenticate_password(&v, "王档案", "另一个足够长的密码")
            .unwrap()
            .is_ok());
        // The log of logins: every session, newest first, the first ended.
        let log = v.catalog.sessions(None, Some("王档案"), 10).unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log[1].session_id, short.info.session_id);
        assert!(log[2].ended_at.is_some());
    }
}
