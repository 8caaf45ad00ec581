//! Everything this server exposes, assembled in one place: the briefing services,
//! reflection (v1 and v1alpha, with every descriptor set), health, compression, limits
//! (connections, handshakes, streams, keepalive, calls in flight, watchers), TLS, who may call
//! what (tokens and roles), the per-call log and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::access_log::AccessLogLayer;
use super::agenda::AgendaApi;
use super::auth::{AuthLayer, Authenticator};
use super::codec_errors::CodecErrorsLayer;
use super::connections::{ConnectionLimits, connection_budget, incoming};
use super::deadline::DeadlineLayer;
use super::digests::{DigestApi, PublicationNotifier};
use super::feeds::FeedApi;
use super::officials::OfficialApi;
use super::overload::OverloadLayer;
use super::paging::{PageKey, PagingLayer};
use super::pb::agenda_service_server::AgendaServiceServer;
use super::pb::digest_service_server::DigestServiceServer;
use super::pb::feed_service_server::FeedServiceServer;
use super::pb::official_service_server::OfficialServiceServer;
use super::pb::subscription_service_server::SubscriptionServiceServer;
use super::pb::trip_service_server::TripServiceServer;
use super::rate_limit::CostlyCalls;
use super::subscriptions::SubscriptionApi;
use super::trips::TripApi;
use super::{BRIEFING_DESCRIPTOR_SET, ERROR_DETAILS_DESCRIPTOR_SET};
use crate::config::{AuthMode, Config};
use crate::ops::Readiness;
use crate::schedule::Runner;
use crate::store::Store;

/// Every service name health reports on, besides the overall "" entry.
pub const SERVICE_NAMES: &[&str] = &[
    "briefing.v1.TripService",
    "briefing.v1.OfficialService",
    "briefing.v1.AgendaService",
    "briefing.v1.DigestService",
    "briefing.v1.SubscriptionService",
    "briefing.v1.FeedService",
];

/// What the services share.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub runner: Arc<Runner>,
    /// Wakes the delivery worker after a redelivery.
    pub deliveries_queued: Arc<tokio::sync::Notify>,
    /// Where subscriptions may send: checked when one is created.
    pub egress: crate::delivery::Egress,
    /// Each call is counted here.
    pub metrics: Arc<crate::ops::Metrics>,
    /// Health turns NOT_SERVING when draining starts.
    pub readiness: crate::ops::Readiness,
}

/// Serves on `listener` until `shutdown` resolves, then lets in-flight calls finish.
pub async fn serve(
    config: &Config,
    services: Services,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Services {
        store,
        runner,
        deliveries_queued,
        egress,
        metrics,
        readiness,
    } = services;
    // Before anything is served: bad certificate files stop the start, not the first client.
    let tls = config.tls.as_ref().map(super::tls::acceptor).transpose()?;
    let authenticator = match config.auth {
        AuthMode::Token => Some(Arc::new(Authenticator::new(store.clone()))),
        AuthMode::None => None,
    };
    let costly_calls = Arc::new(CostlyCalls::new(config.costly_calls));
    let page_key = match store.server_key(PageKey::PURPOSE).await {
        Ok(key) => PageKey::new(key),
        // A read-only store cannot keep a new key: this process signs with its own, and its
        // tokens are honoured by it alone.
        Err(error) => {
            tracing::warn!(%error, "page tokens are signed with a key of this process only: the store could not keep one");
            PageKey::new(rand::random::<[u8; 32]>().to_vec())
        }
    };
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = reflection_builder().build_v1()?;
    let reflection_v1alpha = reflection_builder().build_v1alpha()?;

    // One limit for what every service receives and sends (the list methods cut their pages
    // to stay under it as well).
    let max_message_bytes = config.max_message_bytes;
    let trips = TripServiceServer::new(TripApi::new(store.clone()))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    let officials = OfficialServiceServer::new(OfficialApi::new(store.clone()))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    let agenda = AgendaServiceServer::new(AgendaApi::new(store.clone()))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);

    // WatchDigests streams never end on their own: they end when shutdown begins, or the
    // server would wait for them forever.
    let (stopping, streams_stop) = tokio::sync::watch::channel(false);
    let mut grace_starts = streams_stop.clone();
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let notifier = PublicationNotifier::start(
        store.clone(),
        &runner,
        metrics.watch_store_reads.with_label_values(&["notifier"]),
    );
    let digests = DigestServiceServer::new(DigestApi::new(
        store.clone(),
        runner.clone(),
        streams_stop,
        costly_calls.clone(),
        &notifier,
        config.max_watchers,
        metrics.watch_store_reads.with_label_values(&["watcher"]),
    ))
    .accept_compressed(CompressionEncoding::Gzip)
    .send_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(max_message_bytes)
    .max_encoding_message_size(max_message_bytes);
    let subscriptions = SubscriptionServiceServer::new(SubscriptionApi::new(
        store.clone(),
        deliveries_queued,
        runner,
        egress,
        costly_calls,
    ))
    .accept_compressed(CompressionEncoding::Gzip)
    .send_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(max_message_bytes)
    .max_encoding_message_size(max_message_bytes);

    let feeds = FeedServiceServer::new(FeedApi::new(store.clone()))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);

    let watcher = tokio::spawn(watch_health(store, readiness, health_reporter.clone()));

    let limits = &config.transport;
    let connections = ConnectionLimits {
        max_connections: connection_budget(limits.max_connections),
        handshake_timeout: limits.handshake_timeout,
    };
    // No `.timeout(...)`: tonic would answer CANCELLED; the deadline layer answers
    // DEADLINE_EXCEEDED (and lets an import say what it kept).
    let router = Server::builder()
        .concurrency_limit_per_connection(config.max_concurrent_requests)
        .max_concurrent_streams(limits.max_concurrent_streams)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        // The first layer is the outermost: the log sees every call, refused ones included,
        // and the token name the auth layer leaves on the response. Shedding comes before
        // auth, so a refused call costs no token lookup.
        .layer(AccessLogLayer::new(metrics))
        .layer(CodecErrorsLayer::new(max_message_bytes))
        .layer(DeadlineLayer::new(config.request_timeout))
        .layer(OverloadLayer::new(limits.max_requests_in_flight))
        .layer(PagingLayer::new(page_key, max_message_bytes))
        .layer(AuthLayer::new(authenticator))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(trips)
        .add_service(officials)
        .add_service(agenda)
        .add_service(digests)
        .add_service(subscriptions)
        .add_service(feeds);
    // Both paths accept through `connections`, which bounds them and times their handshakes.
    let (result, reloader): (BoxFuture<'_, Result<(), tonic::transport::Error>>, _) = match tls {
        Some((acceptor, reloader)) => (
            Box::pin(router.serve_with_incoming_shutdown(
                incoming(listener, connections, move |stream| {
                    acceptor.clone().accept(stream)
                }),
                shutdown,
            )),
            Some(reloader),
        ),
        None => (
            Box::pin(router.serve_with_incoming_shutdown(
                incoming(listener, connections, |stream| {
                    std::future::ready(std::io::Result::Ok(stream))
                }),
                shutdown,
            )),
            None,
        ),
    };
    // In-flight calls get a grace period; a client that never reads its answer cannot hold
    // the process up past it.
    let grace = config.shutdown_grace;
    let result = tokio::select! {
        served = result => served,
        () = async {
            let _ = grace_starts.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace = ?grace, "calls still open after the grace period; stopping anyway");
            Ok(())
        }
    };
    watcher.abort();
    notifier.stop();
    if let Some(reloader) = reloader {
        reloader.abort();
    }
    result?;
    Ok(())
}

fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(BRIEFING_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(ERROR_DETAILS_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// SERVING while the store answers, NOT_SERVING while it does not, and from the moment the
/// server starts draining.
async fn watch_health(store: Arc<dyn Store>, readiness: Readiness, reporter: HealthReporter) {
    let mut last = None;
    let mut draining = readiness.draining();
    loop {
        let status = if readiness.is_draining() {
            ServingStatus::NotServing
        } else {
            match store.ping().await {
                Ok(()) => ServingStatus::Serving,
                Err(error) => {
                    tracing::warn!(%error, "store unreachable");
                    ServingStatus::NotServing
                }
            }
        };
        if last != Some(status) {
            for service in std::iter::once("").chain(SERVICE_NAMES.iter().copied()) {
                reporter.set_service_status(service, status).await;
            }
            tracing::info!(status = ?status, "health changed");
            last = Some(status);
        }
        // Draining shows at once, not at the next look at the store.
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = draining.changed() => {}
        }
    }
}
