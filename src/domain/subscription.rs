//! Subscriptions to a digest kind and the deliveries of the outbox.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore as _;

use super::values::parse_keyword;
pub use super::values::redacted_url;
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
    /// Written as `<kind>-<date>.md` and `.json` into `directory`, a relative path under the
    /// operator's `delivery_dir`.
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
                    .check("webhook.url", parse_webhook_url(url))
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

/// An http or https URL without user-info (a password in a URL ends up in logs and
/// responses; the signature authenticates the sender). The text is not echoed back: it may
/// carry a token.
fn parse_webhook_url(raw: &str) -> Result<url::Url, String> {
    if raw.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    let parsed = url::Url::parse(raw).map_err(|problem| format!("is not a URL: {problem}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "must be an http or https URL, not {}",
            parsed.scheme()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "must not carry a user name or password: the webhook signature authenticates the sender"
                .into(),
        );
    }
    Ok(parsed)
}

/// A relative directory name under the operator's `delivery_dir`: plain names only, no
/// absolute path, no `.` or `..`. Where it leads on disk is checked by the delivery layer.
fn parse_directory(raw: &str) -> Result<PathBuf, String> {
    const HINT: &str = "must be a relative directory name under the server's delivery directory, such as desk/daily";
    if raw.len() > 1024 {
        return Err("must be at most 1024 characters".into());
    }
    let path = Path::new(raw);
    let plain = !raw.is_empty()
        && !raw.contains('\0')
        && path
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    if !plain {
        return Err(HINT.into());
    }
    Ok(path.to_path_buf())
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
    fn passwords_and_query_values_are_shown_as_stars() {
        let shown = |raw: &str| redacted_url(&url::Url::parse(raw).unwrap());
        assert_eq!(
            shown("https://hooks.example.com/in?token=abc123&x=1"),
            "https://hooks.example.com/in?token=***&x=***"
        );
        assert_eq!(
            shown("postgres://postgres:somepassword@127.0.0.1:5432/db"),
            "postgres://postgres:***@127.0.0.1:5432/db"
        );
        assert_eq!(shown("http://127.0.0.1:9/hook"), "http://127.0.0.1:9/hook");
    }

    #[test]
    fn a_subscription_needs_one_target() {
        let neither = SubscriptionRequest::default();
        assert_eq!(
            Subscription::parse(&neither).unwrap_err().items()[0].field,
            "target"
        );
        for escaping in ["/tmp/out", "../out", "out/../../etc", "./out", "", "out\0"] {
            let request = SubscriptionRequest {
                file_directory: Some(escaping.into()),
                ..Default::default()
            };
            assert_eq!(
                Subscription::parse(&request).unwrap_err().items()[0].field,
                "file.directory",
                "{escaping:?}"
            );
        }
        let relative = SubscriptionRequest {
            file_directory: Some("desk/daily".into()),
            ..Default::default()
        };
        assert!(Subscription::parse(&relative).is_ok());
        let with_password = SubscriptionRequest {
            webhook_url: Some("http://user:p4ssw0rd@127.0.0.1:9/hook".into()),
            ..Default::default()
        };
        let refused = Subscription::parse(&with_password).unwrap_err();
        assert_eq!(refused.items()[0].field, "webhook.url");
        assert!(!refused.items()[0].description.contains("p4ssw0rd"));
        let hook = SubscriptionRequest {
            webhook_url: Some("http://127.0.0.1:9/hook".into()),
            ..Default::default()
        };
        assert_eq!(Subscription::parse(&hook).unwrap().kind, "daily");
    }
}
