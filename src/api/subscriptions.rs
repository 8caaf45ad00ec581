//! SubscriptionService, and the one place where subscriptions and deliveries cross into proto.

use std::sync::Arc;

use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use super::convert::timestamp;
use super::error::ApiError;
use super::paging::{self, Pager};
use super::pb::{self, subscription_service_server::SubscriptionService};
use super::rate_limit::{Client, CostlyCall, CostlyCalls};
use crate::delivery::Egress;
use crate::delivery::guard::GuardError;
use crate::domain::ResourceId;
use crate::domain::Stored;
use crate::domain::subscription::{
    Delivery, DeliveryState, Subscription, SubscriptionRequest, SubscriptionState, Target,
    redacted_url,
};
use crate::domain::violations::echo;
use crate::schedule::Runner;
use crate::store::Store;

pub struct SubscriptionApi {
    store: Arc<dyn Store>,
    /// Wakes the delivery worker after a redelivery.
    deliveries_queued: Arc<Notify>,
    /// Knows the configured digest kinds: a subscription to any other would never be served.
    runner: Arc<Runner>,
    /// The SSRF guard and the delivery directory: a target is checked before it is stored.
    egress: Egress,
    /// Limits redeliveries per caller.
    costly_calls: Arc<CostlyCalls>,
}

impl SubscriptionApi {
    pub fn new(
        store: Arc<dyn Store>,
        deliveries_queued: Arc<Notify>,
        runner: Arc<Runner>,
        egress: Egress,
        costly_calls: Arc<CostlyCalls>,
    ) -> Self {
        Self {
            store,
            deliveries_queued,
            runner,
            egress,
            costly_calls,
        }
    }

    /// Refuses a webhook the guard refuses, and a file target without a delivery directory or
    /// outside it (creating the directory inside it).
    async fn check_target(&self, target: &Target) -> Result<(), ApiError> {
        match target {
            Target::Webhook { url, .. } => match self.egress.guard.check_url(url).await {
                Ok(()) => Ok(()),
                Err(refused @ GuardError::Refused(_)) => Err(ApiError::invalid(
                    "subscription.webhook.url",
                    refused.to_string(),
                )),
                Err(GuardError::Unresolved) => {
                    Err(ApiError::invalid("subscription.webhook.url", "has no host"))
                }
            },
            Target::File { directory } => {
                let Some(root) = self.egress.delivery_dir.clone() else {
                    return Err(ApiError::NotConfigured {
                        setting: "delivery_dir",
                        description:
                            "file subscriptions are off: the operator has not set delivery_dir"
                                .into(),
                    });
                };
                let directory = directory.clone();
                let created = tokio::task::spawn_blocking(move || root.create(&directory))
                    .await
                    .map_err(|error| ApiError::Internal(Box::new(error)))?;
                created.map(|_| ()).map_err(|problem| {
                    ApiError::invalid("subscription.file.directory", problem.to_string())
                })
            }
        }
    }
}

fn subscription_id(field: &str, raw: &str) -> Result<ResourceId, ApiError> {
    let id = raw.strip_prefix("subscriptions/").ok_or_else(|| {
        ApiError::invalid(
            field,
            format!(
                "{} is not a subscription name: expected subscriptions/{{id}}",
                echo(raw)
            ),
        )
    })?;
    ResourceId::parse(id).map_err(|problem| {
        ApiError::invalid(field, format!("{} has a bad id: {problem}", echo(raw)))
    })
}

/// `subscriptions/{id}/deliveries/{id}`.
fn delivery_name(raw: &str) -> Result<(ResourceId, String), ApiError> {
    let bad = || {
        ApiError::invalid(
            "name",
            format!(
                "{} is not a delivery name: expected subscriptions/{{id}}/deliveries/{{id}}",
                echo(raw)
            ),
        )
    };
    let (parent, delivery) = raw.split_once("/deliveries/").ok_or_else(bad)?;
    let subscription = subscription_id("name", parent)?;
    let delivery = ResourceId::parse(delivery).map_err(|_| bad())?;
    Ok((subscription, delivery.as_str().to_owned()))
}

#[tonic::async_trait]
impl SubscriptionService for SubscriptionApi {
    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let request = request.into_inner();
        let subscription = request
            .subscription
            .ok_or_else(|| ApiError::invalid("subscription", "is required"))?;
        let mut parsed_request = SubscriptionRequest {
            kind: subscription.kind,
            ..SubscriptionRequest::default()
        };
        match subscription.target {
            Some(pb::subscription::Target::Webhook(webhook)) => {
                parsed_request.webhook_url = Some(webhook.url)
            }
            Some(pb::subscription::Target::File(file)) => {
                parsed_request.file_directory = Some(file.directory)
            }
            None => {}
        }
        let id = if request.subscription_id.is_empty() {
            Ok(ResourceId::generate())
        } else {
            ResourceId::parse(&request.subscription_id)
        };
        let parsed = Subscription::parse(&parsed_request).and_then(|value| {
            if self.runner.kind(&value.kind).is_some() {
                Ok(value)
            } else {
                let mut violations = crate::domain::Violations::new();
                violations.add("kind", super::error::unknown_kind(&value.kind));
                Err(violations)
            }
        });
        let (id, value) = match (id, parsed) {
            (Ok(id), Ok(value)) => (id, value),
            (id, parsed) => {
                let mut violations = parsed
                    .err()
                    .map(|found| found.within("subscription"))
                    .unwrap_or_default();
                if let Err(problem) = id {
                    violations.add("subscription_id", problem);
                }
                return Err(ApiError::InvalidArgument(violations).into());
            }
        };
        self.check_target(&value.target).await?;
        let stored = self
            .store
            .create_subscription(id, value)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(subscription = %format!("subscriptions/{}", stored.id), kind = %stored.value.kind, "subscription created");
        // The one response that carries the secret.
        Ok(Response::new(paging::sendable(
            "CreateSubscription",
            to_proto(&stored, true),
        )?))
    }

    async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let id = subscription_id("name", &request.into_inner().name)?;
        let stored = self
            .store
            .get_subscription(&id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(paging::sendable(
            "GetSubscription",
            to_proto(&stored, false),
        )?))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let request = request.into_inner();
        let kind = if request.kind.is_empty() {
            None
        } else {
            Some(
                crate::digest::model::parse_kind(&request.kind)
                    .map_err(|problem| ApiError::invalid("kind", problem))?,
            )
        };
        let page = Pager::new(
            "ListSubscriptions",
            request.page_size,
            &request.page_token,
            &kind,
        )?
        .fill(
            |page| self.store.list_subscriptions(kind.as_deref(), page),
            |stored| Ok(to_proto(&stored, false)),
        )
        .await?;
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn delete_subscription(
        &self,
        request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<()>, Status> {
        let id = subscription_id("name", &request.into_inner().name)?;
        self.store
            .delete_subscription(&id)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(subscription = %format!("subscriptions/{id}"), "subscription deleted");
        Ok(Response::new(()))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let request = request.into_inner();
        let id = subscription_id("parent", &request.parent)?;
        let state = match pb::DeliveryState::try_from(request.state) {
            Ok(pb::DeliveryState::Unspecified) => None,
            Ok(pb::DeliveryState::Pending) => Some(DeliveryState::Pending),
            Ok(pb::DeliveryState::Succeeded) => Some(DeliveryState::Succeeded),
            Ok(pb::DeliveryState::Dead) => Some(DeliveryState::Dead),
            Err(_) => {
                return Err(ApiError::invalid(
                    "state",
                    format!("{} is not a delivery state", request.state),
                )
                .into());
            }
        };
        // NOT_FOUND for a subscription that does not exist, rather than an empty list.
        self.store
            .get_subscription(&id)
            .await
            .map_err(ApiError::from)?;
        let filter = (id.clone(), state.map(DeliveryState::code));
        let page = Pager::new(
            "ListDeliveries",
            request.page_size,
            &request.page_token,
            &filter,
        )?
        .fill(
            |page| self.store.list_deliveries(&id, state, page),
            |delivery| Ok(delivery_to_proto(&delivery)),
        )
        .await?;
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn redeliver_delivery(
        &self,
        request: Request<pb::RedeliverDeliveryRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        let (subscription, delivery) = delivery_name(&request.get_ref().name)?;
        self.costly_calls
            .check(CostlyCall::RedeliverDelivery, Client::of(&request))?;
        let stored = self
            .store
            .get_subscription(&subscription)
            .await
            .map_err(ApiError::from)?;
        if stored.value.state == SubscriptionState::Disabled {
            return Err(ApiError::InUse {
                resource: format!("subscriptions/{subscription}"),
                description: format!(
                    "subscriptions/{subscription} is disabled: {}",
                    stored.value.disabled_reason
                ),
            }
            .into());
        }
        let redelivered = self
            .store
            .redeliver(&subscription, &delivery)
            .await
            .map_err(ApiError::from)?;
        self.deliveries_queued.notify_one();
        tracing::info!(delivery = %delivery, "redelivery queued");
        Ok(Response::new(delivery_to_proto(&redelivered)))
    }
}

fn to_proto(stored: &Stored<Subscription>, with_secret: bool) -> pb::Subscription {
    let subscription = &stored.value;
    pb::Subscription {
        name: format!("subscriptions/{}", stored.id),
        kind: subscription.kind.clone(),
        target: Some(match &subscription.target {
            Target::Webhook { url, secret } => {
                pb::subscription::Target::Webhook(pb::WebhookTarget {
                    // The stored URL is whole; what is shown hides query values.
                    url: redacted_url(url),
                    secret: if with_secret {
                        secret.expose().to_owned()
                    } else {
                        String::new()
                    },
                })
            }
            Target::File { directory } => pb::subscription::Target::File(pb::FileTarget {
                directory: directory.to_string_lossy().into_owned(),
            }),
        }),
        state: match subscription.state {
            SubscriptionState::Active => pb::SubscriptionState::Active,
            SubscriptionState::Disabled => pb::SubscriptionState::Disabled,
        }
        .into(),
        disabled_reason: subscription.disabled_reason.clone(),
        create_time: Some(timestamp(stored.create_time)),
        update_time: Some(timestamp(stored.update_time)),
    }
}

fn delivery_to_proto(delivery: &Delivery) -> pb::Delivery {
    pb::Delivery {
        name: format!(
            "subscriptions/{}/deliveries/{}",
            delivery.subscription_id, delivery.id
        ),
        digest: delivery.digest.clone(),
        state: match delivery.state {
            DeliveryState::Pending => pb::DeliveryState::Pending,
            DeliveryState::Succeeded => pb::DeliveryState::Succeeded,
            DeliveryState::Dead => pb::DeliveryState::Dead,
        }
        .into(),
        attempts: delivery.attempts,
        last_result: delivery.last_result.clone(),
        next_attempt_time: delivery.next_attempt_time.map(timestamp),
        idempotency_key: delivery.idempotency_key.clone(),
        create_time: Some(timestamp(delivery.create_time)),
        deliver_time: delivery.deliver_time.map(timestamp),
        digest_revision: delivery.digest_revision,
    }
}
