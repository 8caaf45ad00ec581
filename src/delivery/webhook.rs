//! POSTing a digest to a Standard Webhooks receiver.

use std::time::Duration;

use chrono::Utc;

use super::guard::{EgressGuard, failure_words};
use super::retry::{RetrySchedule, parse_retry_after};
use super::signature::sign;
use crate::domain::subscription::WebhookSecret;
use crate::store::digests::AttemptOutcome;

pub struct WebhookRequest<'a> {
    pub url: &'a url::Url,
    pub secret: &'a WebhookSecret,
    /// The delivery's idempotency key, sent as `webhook-id`.
    pub id: &'a str,
    pub body: Vec<u8>,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// POSTs the digest to the checked address of the URL. A literal address is checked here (the
/// client's resolver, which checks names, is not asked about literals); a redirect is not
/// followed but counts as a failed attempt.
pub async fn send(
    client: &reqwest::Client,
    guard: &EgressGuard,
    request: WebhookRequest<'_>,
    retry: &RetrySchedule,
) -> AttemptOutcome {
    let literal = match request.url.host() {
        Some(url::Host::Ipv4(address)) => Some(address.into()),
        Some(url::Host::Ipv6(address)) => Some(address.into()),
        _ => None,
    };
    if let Some(Err(refused)) = literal.map(|address| guard.check_address(address)) {
        return outcome_of_failure(refused.to_string(), request.attempt, retry, None);
    }
    let now = Utc::now();
    let timestamp = now.timestamp();
    let signature = sign(request.secret, request.id, timestamp, &request.body);
    let response = client
        .post(request.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", request.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(request.body)
        .send()
        .await;
    let (result, retry_after) = match response {
        Ok(response) if response.status().is_success() => {
            return AttemptOutcome::Succeeded {
                result: format!("HTTP {}", response.status().as_u16()),
            };
        }
        Ok(response) if response.status() == reqwest::StatusCode::GONE => {
            return AttemptOutcome::Gone {
                result: "HTTP 410".to_owned(),
            };
        }
        Ok(response) => {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, now));
            let words = if response.status().is_redirection() {
                format!(
                    "HTTP {} (redirects are not followed)",
                    response.status().as_u16()
                )
            } else {
                format!("HTTP {}", response.status().as_u16())
            };
            (words, retry_after)
        }
        Err(error) => (failure_words(&error), None),
    };
    outcome_of_failure(result, request.attempt, retry, retry_after)
}

/// Retry later, or dead letter when the attempts are used up.
pub fn outcome_of_failure(
    result: String,
    attempt: u32,
    retry: &RetrySchedule,
    retry_after: Option<Duration>,
) -> AttemptOutcome {
    match retry.next_attempt(attempt, Utc::now(), retry_after) {
        Some(at) => AttemptOutcome::Retry { result, at },
        None => AttemptOutcome::Dead {
            result: format!("{result}; gave up after {attempt} attempts"),
        },
    }
}
