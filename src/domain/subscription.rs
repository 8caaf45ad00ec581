//! Subscriptions to a digest kind and the deliveries of the outbox.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore as _;

use super::values::{parse_keyword, parse_url};
use super::violations::Violations;

/// The digest kind compiled and subscribed to when none is named.
pub const DEFAULT_DIGEST_KIND: &str = "daily";

/// Where a subscription's digests go.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// POSTed as JSON, signed per Standard Webhooks with `secret`.
    Webhook {
        url: url::Url,
        secret: WebhookSecret,
    },
    /// Written as `<kind>-<date>.md` and `.json` into `directory`.
    File { directory: PathBuf },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    Active,
    Disabled,
}

impl SubscriptionState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub kind: String,
    pub target: Target,
    pub state: SubscriptionState,
    pub disabled_reason: String,
}

/// What a client asks for; the secret is always made by the server.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionRequest {
    pub kind: String,
    pub webhook_url: Option<String>,
    pub file_directory: Option<String>,
}

impl Subscription {
    pub fn parse(request: &SubscriptionRequest) -> Result<Self, Violations> {
        let mut violations = Violations::new();
        let kind = if request.kind.is_empty() {
            Some(DEFAULT_DIGEST_KIND.to_owned())
        } else {
            violations.check("kind", parse_keyword(&request.kind))
        };
        let target = match (&request.webhook_url, &request.file_directory) {
            (Some(url), None) => {
                violations
                    .check("webhook.url", parse_url(url))
                    .map(|url| Target::Webhook {
                        url,
                        secret: WebhookSecret::generate(),
                    })
            }
            (None, Some(directory)) => violations
                .check("file.directory", parse_directory(directory))
                .map(|directory| Target::File { directory }),
            _ => {
                violations.add("target", "set exactly one of webhook or file");
                None
            }
        };
        violations.finish(|| Self {
            kind: kind.unwrap_or_default(),
            target: target.expect("checked"),
            state: SubscriptionState::Active,
            disabled_reason: String::new(),
        })
    }
}

fn parse_directory(raw: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(raw);
    if raw.is_empty() || !path.is_absolute() {
        return Err(format!("{raw:?} is not an absolute directory path"));
    }
    if raw.len() > 1024 {
        return Err("must be at most 1024 characters".into());
    }
    Ok(path)
}

/// A Standard Webhooks signing secret, `whsec_` + base64 of 32 random bytes. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    const PREFIX: &'static str = "whsec_";

    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(format!(
            "{}{}",
            Self::PREFIX,
            base64::engine::general_purpose::STANDARD.encode(key)
        ))
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let key = raw
            .strip_prefix(Self::PREFIX)
            .ok_or("a webhook secret starts with whsec_")?;
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| "a webhook secret is base64 after whsec_".to_owned())?;
        Ok(Self(raw.to_owned()))
    }

    /// The full `whsec_…` text, for the one response that shows it and for storage.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the base64-decoded part after the prefix.
    pub fn key(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.0[Self::PREFIX.len()..])
            .unwrap_or_default()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("whsec_[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Succeeded,
    Dead,
}

impl DeliveryState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// One digest revision for one subscription, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub subscription_id: String,
    pub digest: String,
    pub digest_revision: i64,
    /// Sent as `webhook-id`; the same on every attempt.
    pub idempotency_key: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub last_result: String,
    pub next_attempt_time: Option<DateTime<Utc>>,
    pub create_time: DateTime<Utc>,
    pub deliver_time: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_standard_webhooks_shaped_and_never_printed() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.key().len(), 32);
        assert_eq!(format!("{secret:?}"), "whsec_[redacted]");
        assert_eq!(WebhookSecret::parse(secret.expose()).unwrap(), secret);
    }

    #[test]
    fn a_subscription_needs_one_target() {
        let neither = SubscriptionRequest::default();
        assert_eq!(
            Subscription::parse(&neither).unwrap_err().items()[0].field,
            "target"
        );
        let relative = SubscriptionRequest {
            file_directory: Some("out".into()),
            ..Default::default()
        };
        assert_eq!(
            Subscription::parse(&relative).unwrap_err().items()[0].field,
            "file.directory"
        );
        let hook = SubscriptionRequest {
            webhook_url: Some("http://127.0.0.1:9/hook".into()),
            ..Default::default()
        };
        assert_eq!(Subscription::parse(&hook).unwrap().kind, "daily");
    }
}
