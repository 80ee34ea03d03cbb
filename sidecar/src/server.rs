//! `osp serve`: the tonic server with health, reflection (v1 and v1alpha),
//! timeouts, load shedding, auth and request tracing, and graceful shutdown
//! that drains in-flight calls.
pub mod guard;

use std::future::Future;
use std::time::Instant;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::config::Config;
use crate::pb;
use crate::service::{State, catalog, claims, publish, templates};

/// Fully-qualified names of the `osp.v1` services, for health checks.
pub const SERVICES: [&str; 4] = [
    "osp.v1.TemplateService",
    "osp.v1.ClaimService",
    "osp.v1.PublishService",
    "osp.v1.CatalogService",
];

/// How long after the request timeout the drain still waits for in-flight
/// answers to be written.
const DRAIN_MARGIN: std::time::Duration = std::time::Duration::from_millis(500);

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listen address could not be bound.
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// Reflection could not be built from the descriptor set.
    #[error("cannot build reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves until `shutdown` resolves, then stops accepting, reports
/// NOT_SERVING and drains in-flight calls.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
    let started = Instant::now();
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.listen,
        source,
    })?;
    let (health, health_service) = tonic_health::server::health_reporter();
    set_all(&health, ServingStatus::NotServing).await;

    let state = State::default().with_limits(config.document_limits, config.cel_limits);
    tokio::spawn(load(config.clone(), state.clone(), health.clone(), started));

    let max = config.max_message_bytes;
    let templates = pb::template_service_server::TemplateServiceServer::new(
        templates::Templates::new(state.clone()),
    )
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let claims = pb::claim_service_server::ClaimServiceServer::new(
        claims::Claims::new(state.clone())
            .with_apply(&config.apply)
            .with_base(&config.publish.base),
    )
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let publish = pb::publish_service_server::PublishServiceServer::new(publish::Publish::new(
        state.clone(),
        &config.publish,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let catalog =
        pb::catalog_service_server::CatalogServiceServer::new(catalog::Catalog::new(state.clone()))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);

    let reflection = config.reflection.then(|| {
        let build = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // So grpcurl can decode `google.rpc.BadRequest` error details.
                .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
                // Each reflection version lists both, whichever the client speaks.
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                )
        };
        (build().build_v1(), build().build_v1alpha())
    });
    let (reflection_v1, reflection_v1alpha) = match reflection {
        Some((v1, v1alpha)) => (Some(v1?), Some(v1alpha?)),
        None => (None, None),
    };

    let layers = tower::ServiceBuilder::new()
        .layer(
            tower_http::trace::TraceLayer::new_for_grpc()
                .make_span_with(crate::telemetry::make_span)
                .on_failure(crate::errors::respond::log_failure),
        )
        .layer(guard::GuardLayer::new(
            config.token.as_ref().map(|t| t.expose()),
            config.concurrency_limit,
            config.first_message_timeout,
        ))
        .layer(tower::util::MapResponseLayer::new(
            crate::errors::respond::oversized::<tonic::body::Body>,
        ))
        .layer(tower::util::MapResponseLayer::new(
            crate::errors::respond::undecodable::<tonic::body::Body>,
        ))
        .into_inner();
    let router = Server::builder()
        .timeout(config.request_timeout)
        .max_concurrent_streams(config.max_streams_per_connection)
        .http2_keepalive_interval(config.http2_keepalive_interval)
        .http2_keepalive_timeout(Some(config.http2_keepalive_timeout))
        .layer(layers)
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(templates)
        .add_service(claims)
        .add_service(publish)
        .add_service(catalog);

    tracing::info!(%addr, auth = config.token.is_some(), "listening");
    let draining = health.clone();
    let (signalled, stopping) = tokio::sync::oneshot::channel();
    let streams = state.stopping.clone();
    let serving = router.serve_with_incoming_shutdown(incoming(listener), async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight calls");
        set_all(&draining, ServingStatus::NotServing).await;
        streams.send_replace(true);
        let _ = signalled.send(());
    });
    // Streams (health and catalog watches) never end on their own, so an
    // unbounded drain would wait for SIGKILL. No unary call accepted before
    // the signal outlives the request timeout, so the drain waits that long
    // (plus time to write the last answers), then drops open connections.
    let grace = config.request_timeout + DRAIN_MARGIN;
    let drained = async move {
        match stopping.await {
            Ok(()) => tokio::time::sleep(grace).await,
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        served = serving => served?,
        () = drained => tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "drain exceeded the grace period; closing open streams"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Loads the embedded definitions, then reports the services that can now
/// answer correctly as SERVING.
async fn load(config: Config, state: State, health: HealthReporter, started: Instant) {
    match crate::discovery::start(&config.sources(), &state.catalog).await {
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "TemplateService and CatalogService stay NOT_SERVING");
            return;
        }
    }
    // CatalogService reports SERVING only once a full snapshot can be served.
    let (catalog, catalog_health) = (state.catalog.clone(), health.clone());
    tokio::spawn(async move {
        catalog.wait_ready().await;
        catalog_health
            .set_service_status("osp.v1.CatalogService", ServingStatus::Serving)
            .await;
        tracing::info!(clusters = ?catalog.clusters(), "catalog synced");
    });
    for svc in ["osp.v1.TemplateService"] {
        health.set_service_status(svc, ServingStatus::Serving).await;
    }
    health.set_service_status("", ServingStatus::Serving).await;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "serving");
}

/// Accepted connections with `TCP_NODELAY`: tonic sets it only on listeners
/// it binds itself, and without it Nagle's algorithm holds small responses
/// back until the caller's delayed ACK (40 ms on Linux) under load.
fn incoming(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

async fn set_all(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    for svc in SERVICES {
        health.set_service_status(svc, status).await;
    }
}
