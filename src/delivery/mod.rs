//! Delivery: a worker that drains the outbox, attempting each due delivery at most once at a
//! time (the store leases it), to webhooks (Standard Webhooks) and directories.

mod file;
mod payload;
mod retry;
mod signature;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

pub use payload::digest_json;
pub use retry::RetrySchedule;
pub use signature::sign;

use crate::domain::subscription::{SubscriptionState, Target};
use crate::store::Store;
use crate::store::digests::{AttemptOutcome, DueDelivery};

#[derive(Debug, Clone, Copy)]
pub struct DeliveryConfig {
    pub retry: RetrySchedule,
    /// A webhook that has not answered by then counts as failed.
    pub request_timeout: Duration,
    /// Deliveries attempted at once.
    pub concurrency: usize,
}

pub struct Worker {
    store: Arc<dyn Store>,
    config: DeliveryConfig,
    client: reqwest::Client,
    wake: Arc<Notify>,
}

/// The longest the worker sleeps before looking at the outbox again, even when not woken.
const IDLE_POLL: Duration = Duration::from_secs(2);

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        config: DeliveryConfig,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("briefing/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            config,
            client,
            wake,
        })
    }

    /// Drains the outbox until `shutdown` turns true; an attempt in flight is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        // Long enough that a lease never runs out under a slow attempt.
        let lease = chrono::Duration::from_std(self.config.request_timeout * 3)
            .unwrap_or(chrono::Duration::seconds(60))
            + chrono::Duration::seconds(30);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self
                .store
                .claim_due_deliveries(lease, self.config.concurrency)
                .await
            {
                Ok(batch) if !batch.is_empty() => {
                    futures::future::join_all(batch.into_iter().map(|due| self.attempt(due))).await;
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "cannot read the outbox"),
            }
            let wait = match self.store.next_delivery_due().await {
                Ok(Some(at)) => (at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::from_millis(10))
                    .min(IDLE_POLL),
                _ => IDLE_POLL,
            };
            tokio::select! {
                () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
                () = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn attempt(&self, due: DueDelivery) {
        let delivery = &due.delivery;
        let attempt = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
        let json = digest_json(&due.digest);
        let outcome = if due.subscription.value.state == SubscriptionState::Disabled {
            AttemptOutcome::Dead {
                result: "subscription disabled".into(),
            }
        } else {
            match &due.subscription.value.target {
                Target::Webhook { url, secret } => {
                    let request = webhook::WebhookRequest {
                        url,
                        secret,
                        id: &delivery.idempotency_key,
                        body: json,
                        attempt,
                    };
                    webhook::send(&self.client, request, &self.config.retry).await
                }
                Target::File { directory } => {
                    let directory = directory.clone();
                    let published = due.digest.clone();
                    let id = delivery.id.clone();
                    let written = tokio::task::spawn_blocking(move || {
                        file::write_digest(&directory, &published, &json, &id)
                    })
                    .await;
                    match written {
                        Ok(Ok(())) => AttemptOutcome::Succeeded {
                            result: "written".into(),
                        },
                        Ok(Err(error)) => webhook::outcome_of_failure(
                            format!("cannot write: {error}"),
                            attempt,
                            &self.config.retry,
                            None,
                        ),
                        Err(error) => webhook::outcome_of_failure(
                            format!("writer stopped: {error}"),
                            attempt,
                            &self.config.retry,
                            None,
                        ),
                    }
                }
            }
        };
        tracing::info!(
            delivery = %delivery.id,
            subscription = %delivery.subscription_id,
            digest = %delivery.digest,
            attempt,
            outcome = ?outcome,
            "delivery attempted"
        );
        if let Err(error) = self.store.record_attempt(&delivery.id, &outcome).await {
            tracing::error!(delivery = %delivery.id, %error, "cannot record a delivery attempt");
        }
    }
}
