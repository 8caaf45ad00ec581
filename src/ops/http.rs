//! The operators' listener: plain HTTP/1.1 (axum, which tonic already builds on) on its own
//! address (`http_listen`), apart from the gRPC port so it can stay on a private network
//! while clients reach the API. It needs no token: it tells how busy the server is, never
//! what it holds.
//!
//! - `/livez`: 200 while the process answers.
//! - `/readyz`: 200 when the store answers and the server is not draining, else 503 and why.
//! - `/metrics`: the Prometheus text format; what the store holds is read at each scrape.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use super::{Metrics, Readiness};
use crate::domain::subscription::DeliveryState;
use crate::store::Store;

/// What the handlers read.
#[derive(Clone)]
pub struct Operations {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub readiness: Readiness,
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    operations: Operations,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = axum::Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(operations);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn livez() -> &'static str {
    "alive\n"
}

async fn readyz(State(operations): State<Operations>) -> Response {
    match operations.readiness.check(operations.store.as_ref()).await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

/// The Prometheus text format, version 0.0.4.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(operations): State<Operations>) -> Response {
    refresh_from_store(&operations).await;
    match operations.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode the metrics");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            )
                .into_response()
        }
    }
}

/// Sets the gauges that mirror the store: deliveries by state, the outbox, the pools. When the
/// store does not answer, `briefing_store_up` says so and the outbox gauges keep their last
/// values.
async fn refresh_from_store(operations: &Operations) {
    let metrics = &operations.metrics;
    let waits = super::pool_waits::waits();
    metrics
        .pool_waits
        .inc_by(waits.saturating_sub(metrics.pool_waits.get()));
    for pool in operations.store.pool_stats() {
        let in_use = pool.size.saturating_sub(pool.idle);
        for (state, count) in [("in_use", in_use), ("idle", pool.idle)] {
            metrics
                .pool_connections
                .with_label_values(&[pool.pool, state])
                .set(i64::from(count));
        }
    }
    match operations.store.outbox_stats().await {
        Ok(outbox) => {
            metrics.store_up.set(1);
            // Every state the ledger knows, at 0 when none is in it, so a rate or an alert
            // on dead letters has a series from the start.
            for state in [
                DeliveryState::Pending,
                DeliveryState::Succeeded,
                DeliveryState::Dead,
            ]
            .map(DeliveryState::code)
            {
                let count = outbox
                    .by_state
                    .iter()
                    .find(|(stored, _)| stored == state)
                    .map_or(0, |(_, count)| *count);
                metrics.deliveries.with_label_values(&[state]).set(count);
                if state == "pending" {
                    metrics.outbox_depth.set(count);
                }
            }
            let age = outbox.oldest_pending.map_or(0.0, |oldest| {
                (chrono::Utc::now() - oldest)
                    .to_std()
                    .map_or(0.0, |age| age.as_secs_f64())
            });
            metrics.outbox_oldest_age.set(age);
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read the outbox for /metrics");
            metrics.store_up.set(0);
        }
    }
    match operations.store.feed_stats().await {
        Ok(stats) => {
            for state in crate::store::feeds::FeedFileState::ALL.map(|state| state.code()) {
                let count = stats
                    .by_state
                    .iter()
                    .find(|(stored, _)| stored == state)
                    .map_or(0, |(_, count)| *count);
                metrics.feed_files.with_label_values(&[state]).set(count);
            }
            if let Some(newest) = stats.newest_imported {
                let age = (chrono::Utc::now() - newest)
                    .to_std()
                    .map_or(0.0, |age| age.as_secs_f64());
                metrics
                    .feed_last_imported_age
                    .with_label_values(&[crate::feed::GDELT])
                    .set(age);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot read the feed ledger for /metrics"),
    }
}
