//! `osp serve`: the tonic server with health, reflection (v1 and v1alpha),
//! timeouts, load shedding, auth and request tracing, and graceful shutdown
//! that drains in-flight calls.
pub(crate) mod guard;

use std::future::Future;
use std::time::Instant;

use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::Router;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::apply::Applier;
use crate::config::Config;
use crate::pb;
use crate::service::{State, catalog, claims, publish, templates};

type TemplateServer = pb::template_service_server::TemplateServiceServer<templates::Templates>;
type ClaimServer = pb::claim_service_server::ClaimServiceServer<claims::Claims>;
type PublishServer = pb::publish_service_server::PublishServiceServer<publish::Publish>;
type CatalogServer = pb::catalog_service_server::CatalogServiceServer<catalog::Catalog>;

/// Fully-qualified names of the `osp.v1` services, for health checks, as
/// their generated servers name them.
pub(crate) const SERVICES: [&str; 4] = [
    TemplateServer::NAME,
    ClaimServer::NAME,
    PublishServer::NAME,
    CatalogServer::NAME,
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

    let (templates, claims, publish, catalog) = services(&config, &state);
    let layers = tower::ServiceBuilder::new()
        .layer(
            tower_http::trace::TraceLayer::new_for_grpc()
                .make_span_with(crate::telemetry::make_span)
                .on_failure(crate::errors::respond::log_failure),
        )
        .layer(guard::GuardLayer::new(
            config.token.as_ref().map(|t| t.expose()),
            config.transport.concurrency_limit,
            config.transport.first_message_timeout,
        ))
        .layer(tower::util::MapResponseLayer::new(
            crate::errors::respond::oversized::<tonic::body::Body>,
        ))
        .layer(tower::util::MapResponseLayer::new(
            crate::errors::respond::undecodable::<tonic::body::Body>,
        ))
        .into_inner();
    let router = Server::builder()
        .timeout(config.transport.request_timeout)
        .max_concurrent_streams(config.transport.max_streams_per_connection)
        .http2_keepalive_interval(config.transport.http2_keepalive_interval)
        .http2_keepalive_timeout(Some(config.transport.http2_keepalive_timeout))
        .layer(layers)
        .add_service(health_service)
        .add_service(templates)
        .add_service(claims)
        .add_service(publish)
        .add_service(catalog);
    let router = with_reflection(router, config.reflection)?;

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
    drain(
        serving,
        stopping,
        config.transport.request_timeout + DRAIN_MARGIN,
    )
    .await
}

/// Serves until `serving` ends, or until `grace` after the shutdown signal.
/// Streams (health and catalog watches) never end on their own, so an
/// unbounded drain would wait for SIGKILL. No unary call accepted before the
/// signal outlives the request timeout, so the drain waits that long (plus
/// time to write the last answers), then drops open connections.
async fn drain(
    serving: impl Future<Output = Result<(), tonic::transport::Error>>,
    stopping: tokio::sync::oneshot::Receiver<()>,
    grace: std::time::Duration,
) -> Result<(), Error> {
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

/// The four `osp.v1` services over one shared state, each with the
/// configured message size limit.
fn services(
    config: &Config,
    state: &State,
) -> (TemplateServer, ClaimServer, PublishServer, CatalogServer) {
    let max = config.transport.max_message_bytes;
    // One admission for ApplyClaim/DeleteClaim and the status's direct_delete.
    let applier = Applier::new(&config.apply, config.apply_clusters.clone());
    let templates = TemplateServer::new(templates::Templates::new(state.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let claims = ClaimServer::new(
        claims::Claims::new(state.clone())
            .with_applier(applier.clone())
            .with_base(&config.publish.base),
    )
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let publish = PublishServer::new(publish::Publish::new(state.clone(), &config.publish))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let catalog = CatalogServer::new(catalog::Catalog::new(state.clone()).with_applier(applier))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    (templates, claims, publish, catalog)
}

/// `router` with reflection v1 and v1alpha when enabled; each version
/// lists every descriptor set, whichever the client speaks.
fn with_reflection<L>(router: Router<L>, enabled: bool) -> Result<Router<L>, Error> {
    if !enabled {
        return Ok(router);
    }
    let build = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // So grpcurl can decode `google.rpc.BadRequest` error details.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
    };
    Ok(router
        .add_service(build().build_v1()?)
        .add_service(build().build_v1alpha()?))
}

/// Loads the embedded definitions, then reports the services that can now
/// answer correctly as SERVING.
async fn load(config: Config, state: State, health: HealthReporter, started: Instant) {
    match crate::discovery::start(&config.sources(), &state.catalog).await {
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "the osp.v1 services stay NOT_SERVING");
            return;
        }
    }
    // CatalogService reports SERVING only once a full snapshot can be served.
    let (catalog, catalog_health) = (state.catalog.clone(), health.clone());
    tokio::spawn(async move {
        catalog.wait_ready().await;
        catalog_health.set_serving::<CatalogServer>().await;
        tracing::info!(clusters = ?catalog.clusters(), "catalog synced");
    });
    // Templates, claims and publishing answer from the loaded definitions.
    health.set_serving::<TemplateServer>().await;
    health.set_serving::<ClaimServer>().await;
    health.set_serving::<PublishServer>().await;
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
