//! The server's accounts: users with a role, their passwords (argon2id) and the tokens records
//! systems present (`Authorization: Bearer dvt_…`). A token is shown once when it is made; the
//! catalog keeps only the SHA-256 of it.

use crate::model::{NewToken, Principal, Role, TokenInfo, User};
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

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Makes a token for `user`, valid for `expires_days` days (none: until revoked). The token
/// is in the result and nowhere else.
pub fn create_token(vault: &Vault, user: &str, expires_days: Option<u32>) -> Result<NewToken> {
    let u = vault.catalog.user(user)?;
    if u.disabled {
        return Err(Error::Invalid {
            field: "user".into(),
            detail: format!("{user} is disabled"),
        });
    }
    let mut id = [0u8; 4];
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    OsRng.fill_bytes(&mut secret);
    let token_id = hex::encode(id);
    let token = format!("dvt_{token_id}_{}", hex::encode(secret));
    let expires_at = expires_days.map(|d| crate::now_unix() + i64::from(d) * 86_400);
    let info = vault
        .catalog
        .add_token(user, &token_id, &sha256_hex(&token), expires_at)?;
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
        })
    })
}

/// Who logs in with this name and password, or why not.
pub fn authenticate_password(
    vault: &Vault,
    name: &str,
    password: &str,
) -> Result<std::result::Result<Principal, Refusal>> {
    let (user, hash) = match vault.catalog.user_password(name) {
        Ok(u) => u,
        Err(Error::NotFound(_)) => return Ok(Err(Refusal::Unknown)),
        Err(e) => return Err(e),
    };
    let Ok(parsed) = PasswordHash::new(&hash) else {
        return Ok(Err(Refusal::WrongPassword));
    };
    if Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Ok(Err(Refusal::WrongPassword));
    }
    Ok(if user.disabled {
        Err(Refusal::Disabled)
    } else {
        Ok(Principal {
            user: user.name,
            role: user.role,
        })
    })
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

        let t = create_token(&v, "档案员-li", None).unwrap();
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

        revoke_token(&v, &t.info.token_id).unwrap();
        assert_eq!(
            authenticate_token(&v, &t.token).unwrap(),
            Err(Refusal::Revoked)
        );
        assert!(revoke_token(&v, &t.token).is_err(), "revoked twice");

        let expired = create_token(&v, "档案员-li", Some(0)).unwrap();
        assert_eq!(
            authenticate_token(&v, &expired.token).unwrap(),
            Err(Refusal::Expired)
        );

        // The catalog holds no token, only digests; every change is an event.
        let tokens = v.catalog.tokens(None).unwrap();
        assert_eq!(tokens.len(), 2);
        let events = v.catalog.event_records().unwrap();
        let accounts: Vec<&str> = events
            .iter()
            .filter(|e| e.event_type == "metadata modification")
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(accounts.len(), 6, "{accounts:?}");
        assert!(v.catalog.verify_chain().unwrap().intact);
    }
}
