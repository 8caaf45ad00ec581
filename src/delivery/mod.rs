//! Delivery: a worker that drains the outbox, attempting each due delivery at most once at a
//! time (the store leases it), to webhooks (Standard Webhooks) and directories.

pub mod address;
mod file;
pub mod guard;
mod payload;
mod retry;
mod signature;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

pub use file::{DeliveryDir, FileTargetError};
pub use payload::digest_json;
pub use retry::RetrySchedule;
pub use signature::sign;

use crate::domain::subscription::{SubscriptionState, Target};
use crate::store::Store;
use crate::store::digests::{AttemptOutcome, DueDelivery};
use guard::{EgressGuard, GuardedResolver};

#[derive(Debug, Clone, Copy)]
pub struct DeliveryConfig {
    pub retry: RetrySchedule,
    /// A webhook that has not answered by then counts as failed.
    pub request_timeout: Duration,
    /// Deliveries attempted at once.
    pub concurrency: usize,
}

/// Where deliveries may go: the SSRF guard for webhooks, and the operator's directory for files
/// (None: file delivery is off).
#[derive(Debug, Clone)]
pub struct Egress {
    pub guard: Arc<EgressGuard>,
    pub delivery_dir: Option<DeliveryDir>,
}

pub struct Worker {
    store: Arc<dyn Store>,
    config: DeliveryConfig,
    guard: Arc<EgressGuard>,
    delivery_dir: Option<DeliveryDir>,
    /// Resolves names through `guard` alone; follows no redirects.
    client: reqwest::Client,
    wake: Arc<Notify>,
}

/// The longest the worker sleeps before looking at the outbox again, even when not woken.
const IDLE_POLL: Duration = Duration::from_secs(2);

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        config: DeliveryConfig,
        egress: Egress,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let Egress {
            guard,
            delivery_dir,
        } = egress;
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
            // Every attempt resolves and checks anew: a kept connection would skip the check.
            .pool_max_idle_per_host(0)
            // A proxy would connect to the name itself, past the guard.
            .no_proxy()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("briefing/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            config,
            guard,
            delivery_dir,
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
                    webhook::send(&self.client, &self.guard, request, &self.config.retry).await
                }
                Target::File { directory } => {
                    let directory = directory.clone();
                    let root = self.delivery_dir.clone();
                    let published = due.digest.clone();
                    let id = delivery.id.clone();
                    let written = tokio::task::spawn_blocking(move || {
                        let Some(root) = root else {
                            return Ok(Err(
                                "file delivery is off: the operator has not set delivery_dir"
                                    .to_owned(),
                            ));
                        };
                        match root.resolve(&directory) {
                            Ok(target) => {
                                file::write_digest(&target, &published, &json, &id).map(Ok)
                            }
                            Err(problem) => Ok(Err(format!("the directory {problem}"))),
                        }
                    })
                    .await;
                    match written {
                        Ok(Ok(Ok(()))) => AttemptOutcome::Succeeded {
                            result: "written".into(),
                        },
                        Ok(Ok(Err(refused))) => {
                            webhook::outcome_of_failure(refused, attempt, &self.config.retry, None)
                        }
                        Ok(Err(error)) => {
                            // The operator reads the cause in the log; the delivery record,
                            // which clients read, says only that writing failed.
                            tracing::warn!(delivery = %delivery.id, %error, "cannot write a digest file");
                            webhook::outcome_of_failure(
                                "cannot write the files".to_owned(),
                                attempt,
                                &self.config.retry,
                                None,
                            )
                        }
                        Err(error) => {
                            tracing::error!(delivery = %delivery.id, %error, "the file writer stopped");
                            webhook::outcome_of_failure(
                                "cannot write the files".to_owned(),
                                attempt,
                                &self.config.retry,
                                None,
                            )
                        }
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
