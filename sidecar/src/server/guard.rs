//! Tower layers in front of every service: bearer-token authentication and
//! load shedding. Both answer with a gRPC status instead of queueing, so a
//! flood of callers cannot grow memory without bound.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tonic::Status;
use tower::{Layer, Service};

/// Paths reachable without a token: health checks come from kubelets and
/// load balancers that cannot hold a secret.
const PUBLIC_PREFIX: &str = "/grpc.health.v1.Health/";

/// Rejects requests without the configured bearer token (except health),
/// and requests over the concurrency limit.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    token: Option<Arc<[u8]>>,
    permits: Arc<Semaphore>,
}

impl GuardLayer {
    /// `token` = expected bearer token (none disables auth); `limit` = how
    /// many requests run at once.
    pub fn new(token: Option<&str>, limit: usize) -> Self {
        Self {
            token: token.map(|t| Arc::from(format!("Bearer {t}").into_bytes())),
            permits: Arc::new(Semaphore::new(limit)),
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service produced by [`GuardLayer`].
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    layer: GuardLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for Guard<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if let Some(expected) = &self.layer.token
            && !req.uri().path().starts_with(PUBLIC_PREFIX)
        {
            let given = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            // `ct_eq` compares in time independent of where bytes differ.
            if !bool::from(given.ct_eq(expected)) {
                let status = Status::unauthenticated("missing or invalid bearer token");
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        let Ok(permit) = self.layer.permits.clone().try_acquire_owned() else {
            let status = Status::resource_exhausted(
                "server is at its concurrency limit; retry with backoff",
            );
            return Box::pin(async move { Ok(status.into_http()) });
        };
        // Take the service that was driven to readiness; leave a clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(req).await;
            drop(permit);
            response
        })
    }
}
