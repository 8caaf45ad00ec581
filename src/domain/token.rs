//! API tokens: a name, a role, and a secret the server never keeps. The store holds only the
//! secret's SHA-256 digest, so a copy of the database gives nobody a way in.
//!
//! A plain SHA-256, not a password hash (argon2, bcrypt): the secret is 32 random bytes (256
//! bits) the server made, not something a person chose, so there is no dictionary to try and
//! a slow hash would add nothing but cost to every call that is not already cached. The
//! digest is also the lookup key, so finding a token is one indexed read.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::ResourceId;
use super::violations::echo;

/// What a token may do. Ordered: each role may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessRole {
    /// Get, List and Watch.
    Reader,
    /// The reader's calls, plus Create, Update, Delete, Import and CompileDigest.
    Writer,
    /// Everything, subscriptions and redelivery included.
    Admin,
}

impl AccessRole {
    pub const ALL: [Self; 3] = [Self::Reader, Self::Writer, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Writer => "writer",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or_else(|| format!("{} is not a role: use reader, writer or admin", echo(raw)))
    }

    /// Whether a token of this role may make a call that needs `needed`.
    pub fn allows(self, needed: Self) -> bool {
        self >= needed
    }
}

impl fmt::Display for AccessRole {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A token's name, what logs and errors call it by: the rules of a resource id (lowercase
/// letters, digits and `-`, 1–63 characters), so it is safe to print anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenName(ResourceId);

impl TokenName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        ResourceId::parse(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What the store keeps of a token: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: TokenName,
    pub role: AccessRole,
    pub create_time: DateTime<Utc>,
    pub expire_time: Option<DateTime<Utc>>,
    pub revoke_time: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Why the token may not be used at `now`, if it may not.
    pub fn refusal(&self, now: DateTime<Utc>) -> Option<TokenRefusal> {
        if self.revoke_time.is_some() {
            Some(TokenRefusal::Revoked)
        } else if self.expire_time.is_some_and(|expire| expire <= now) {
            Some(TokenRefusal::Expired)
        } else {
            None
        }
    }
}

/// Why a token that exists is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Revoked,
    Expired,
}

/// The prefix of every token, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "brf_";

/// A token's secret, as the client sends it. Shown once when it is made; never stored, never
/// printed by `Debug`.
pub struct TokenSecret(String);

impl TokenSecret {
    /// 32 bytes from rand's thread generator (a CSPRNG seeded by the operating system),
    /// base64url without padding.
    pub fn generate() -> Self {
        use base64::Engine as _;
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.0)
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("TokenSecret(***)")
    }
}

/// The SHA-256 of a token as sent: what the store keeps and looks tokens up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub fn of(presented: &str) -> Self {
        Self(Sha256::digest(presented.as_bytes()).into())
    }

    /// Lowercase hex, as stored.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("TokenDigest(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse_from_their_names() {
        assert!(AccessRole::Admin.allows(AccessRole::Writer));
        assert!(AccessRole::Writer.allows(AccessRole::Reader));
        assert!(!AccessRole::Reader.allows(AccessRole::Writer));
        for role in AccessRole::ALL {
            assert_eq!(AccessRole::parse(role.as_str()), Ok(role));
        }
        assert!(AccessRole::parse("root").is_err());
    }

    #[test]
    fn a_secret_is_random_prefixed_and_hidden_from_debug() {
        let first = TokenSecret::generate();
        let second = TokenSecret::generate();
        assert_ne!(first.expose(), second.expose());
        assert!(first.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(first.expose().len(), TOKEN_PREFIX.len() + 43);
        assert!(!format!("{first:?}").contains(&first.expose()[4..]));
        assert_eq!(first.digest(), TokenDigest::of(first.expose()));
        assert_eq!(first.digest().to_hex().len(), 64);
    }

    #[test]
    fn a_revoked_or_expired_token_is_refused() {
        let now = Utc::now();
        let mut token = ApiToken {
            name: TokenName::parse("ci").expect("a name"),
            role: AccessRole::Reader,
            create_time: now,
            expire_time: Some(now + chrono::Duration::days(1)),
            revoke_time: None,
        };
        assert_eq!(token.refusal(now), None);
        assert_eq!(
            token.refusal(now + chrono::Duration::days(2)),
            Some(TokenRefusal::Expired)
        );
        token.revoke_time = Some(now);
        assert_eq!(token.refusal(now), Some(TokenRefusal::Revoked));
    }
}
