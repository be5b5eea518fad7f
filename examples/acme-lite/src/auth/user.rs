//! Users: the stored row, what clients see of it, and the parsed sign-up fields.

use std::fmt;

use secrecy::SecretString;
use serde::Serialize;
use sqlx::FromRow;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::DbPool;

/// A row of `users`. Holds the password hash, so it is never serialised.
#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: PasswordHash,
    pub email_verified_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// An Argon2id hash as stored (a PHC string). Its `Debug` shows nothing of it, so a
/// user written to a log or an error message never carries it.
#[derive(Clone, PartialEq, Eq, sqlx::Type)]
#[sqlx(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string that the hasher produced or the database returned.
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A user as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub email_verified_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            name: user.name,
            email_verified_at: user.email_verified_at,
            created_at: user.created_at,
        }
    }
}

/// An email address, trimmed and lowercased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err("must be an email address");
        };
        let well_formed = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err("must be an email address");
        }
        if email.len() > 254 {
            return Err("must be at most 254 characters");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the length policy; it is compared exactly as typed.
pub struct Password(pub SecretString);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: String) -> Result<Self, &'static str> {
        match raw.chars().count() {
            n if n < Self::MIN_CHARS => Err("must be at least 8 characters"),
            n if n > Self::MAX_CHARS => Err("must be at most 128 characters"),
            _ => Ok(Self(raw.into())),
        }
    }
}

/// A display name: trimmed, 1 to 100 characters.
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        match name.chars().count() {
            0 => Err("must not be empty"),
            n if n > 100 => Err("must be at most 100 characters"),
            _ => Ok(Self(name.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The user with this (normalised) email, if any.
pub async fn find_by_email(db: &DbPool, email: &Email) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(
        "select id, email, name, password_hash, email_verified_at, created_at
         from users where email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_written_with_debug_shows_no_hash() {
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
        let user = User {
            id: Uuid::nil(),
            email: "ada@example.com".to_owned(),
            name: "Ada".to_owned(),
            password_hash: PasswordHash::new(hash.to_owned()),
            email_verified_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let printed = format!("{user:?} {user:#?}");
        assert!(printed.contains("ada@example.com"), "{printed}");
        assert!(!printed.contains("argon2"), "{printed}");
        assert!(!printed.contains("aGFzaGhhc2g"), "{printed}");
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "a@b@example.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn passwords_are_8_to_128_characters_counted_as_characters() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("é".repeat(128)).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
    }
}
