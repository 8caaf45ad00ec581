//! Delivery: a worker that drains the outbox, attempting each due delivery at most once at a
//! time (the store leases it), to webhooks (Standard Webhooks) and directories.
//!
//! Each attempt runs on its own task, so one receiver's answer never waits for another's: up
//! to `concurrency` attempts at once in all, and `endpoint_concurrency` to one endpoint (a
//! webhook's scheme, host and port; a delivery directory). A delivery claimed while its
//! endpoint has no turn free goes back to the outbox, due a moment later ([`BUSY_DEFER`]), so
//! a receiver that hangs holds only its own turns, never another receiver's.

pub mod address;
mod file;
pub mod guard;
mod payload;
mod retry;
mod signature;
mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

pub use file::{DeliveryDir, FileTargetError};
pub use payload::digest_json;
pub use retry::RetrySchedule;
pub use signature::sign;

use crate::domain::subscription::{SubscriptionState, Target};
use crate::ops::Metrics;
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
    /// Deliveries attempted at once to one endpoint.
    pub endpoint_concurrency: usize,
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
    /// Attempts in flight per endpoint.
    endpoints: Arc<Mutex<HashMap<String, usize>>>,
    /// Counts each attempt by outcome.
    metrics: Arc<Metrics>,
}

/// The longest the worker sleeps before looking at the outbox again, even when not woken.
const IDLE_POLL: Duration = Duration::from_secs(2);
/// How long a delivery whose endpoint is busy waits before it is claimed again.
pub const BUSY_DEFER: Duration = Duration::from_secs(1);

/// One of an endpoint's turns, given back when the attempt is done.
struct Turn {
    endpoints: Arc<Mutex<HashMap<String, usize>>>,
    endpoint: String,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Ok(mut endpoints) = self.endpoints.lock()
            && let Some(count) = endpoints.get_mut(&self.endpoint)
        {
            *count -= 1;
            if *count == 0 {
                endpoints.remove(&self.endpoint);
            }
        }
    }
}

/// Where a delivery goes, as far as sharing the receiver's capacity goes: a webhook's origin
/// (scheme, host, port), or the delivery directory.
fn endpoint_of(target: &Target) -> String {
    match target {
        Target::Webhook { url, .. } => format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        ),
        Target::File { directory } => format!("file:{}", directory.display()),
    }
}

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
            endpoints: Arc::default(),
            metrics: Arc::default(),
        })
    }

    /// Counts attempts into `metrics` (the server's) rather than into a set of its own.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// A turn at `endpoint`, unless it has all its attempts in flight.
    fn take_turn(&self, endpoint: String) -> Option<Turn> {
        let mut endpoints = self.endpoints.lock().ok()?;
        let count = endpoints.entry(endpoint.clone()).or_insert(0);
        if *count >= self.config.endpoint_concurrency {
            return None;
        }
        *count += 1;
        Some(Turn {
            endpoints: self.endpoints.clone(),
            endpoint,
        })
    }

    /// Drains the outbox until `shutdown` turns true; attempts in flight are finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let worker = Arc::new(self);
        // Long enough that a lease never runs out under a slow attempt.
        let lease = chrono::Duration::from_std(worker.config.request_timeout * 3)
            .unwrap_or(chrono::Duration::seconds(60))
            + chrono::Duration::seconds(30);
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Finished attempts are collected as they end (and their panics reported).
            while let Some(finished) = in_flight.try_join_next() {
                if let Err(error) = finished {
                    tracing::error!(%error, "a delivery attempt stopped");
                }
            }
            let free = worker.config.concurrency.saturating_sub(in_flight.len());
            if free > 0 {
                match worker.store.claim_due_deliveries(lease, free).await {
                    Ok(batch) if !batch.is_empty() => {
                        for due in batch {
                            worker.start(due, &mut in_flight).await;
                        }
                        continue;
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "cannot read the outbox"),
                }
            }
            let wait = match worker.store.next_delivery_due().await {
                // Every slot is taken: the next to end wakes the worker.
                _ if free == 0 => IDLE_POLL,
                Ok(Some(at)) => (at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::from_millis(10))
                    .min(IDLE_POLL),
                _ => IDLE_POLL,
            };
            tokio::select! {
                () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
                () = worker.wake.notified() => {}
                _ = shutdown.changed() => {}
                // A slot is free again.
                Some(_) = in_flight.join_next() => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Attempts `due` on a task of its own if its endpoint has a turn free, else gives it back
    /// to the outbox for a little later.
    async fn start(self: &Arc<Self>, due: DueDelivery, in_flight: &mut tokio::task::JoinSet<()>) {
        let endpoint = endpoint_of(&due.subscription.value.target);
        let Some(turn) = self.take_turn(endpoint.clone()) else {
            let later = chrono::Utc::now()
                + chrono::Duration::from_std(BUSY_DEFER).unwrap_or(chrono::Duration::seconds(1));
            tracing::debug!(delivery = %due.delivery.id, %endpoint, "endpoint busy: delivery deferred");
            if let Err(error) = self.store.defer_delivery(&due.delivery.id, later).await {
                // Its lease runs out and it is claimed again then.
                tracing::warn!(delivery = %due.delivery.id, %error, "cannot defer a delivery");
            }
            return;
        };
        let worker = self.clone();
        in_flight.spawn(async move {
            worker.attempt(due).await;
            drop(turn);
        });
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
        self.metrics.record_attempt(match outcome {
            AttemptOutcome::Succeeded { .. } => "succeeded",
            AttemptOutcome::Retry { .. } => "retry",
            AttemptOutcome::Dead { .. } | AttemptOutcome::Gone { .. } => "dead",
        });
        if let Err(error) = self.store.record_attempt(&delivery.id, &outcome).await {
            tracing::error!(delivery = %delivery.id, %error, "cannot record a delivery attempt");
        }
    }
}
