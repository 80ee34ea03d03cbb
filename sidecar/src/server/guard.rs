//! Tower layers in front of every service: bearer-token authentication and
//! load shedding. Both answer with a gRPC status instead of queueing, so a
//! flood of callers cannot grow memory without bound.
//!
//! A call takes one of the `--concurrency-limit` permits only once its first
//! request message has arrived: a peer that opens streams and never sends a
//! body (half-open streams) holds no permit, only its own connection's
//! stream slots (`--max-streams-per-connection`), and is answered after
//! `--first-message-timeout-ms`. Health checks take no permit at all, so a
//! kubelet probe is answered whatever the load.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

/// Paths reachable without a token: health checks come from kubelets and
/// load balancers that cannot hold a secret.
const PUBLIC_PREFIX: &str = "/grpc.health.v1.Health/";

/// The one path answered outside the concurrency limit: a unary lookup of a
/// status in memory (health `Watch` streams still take a permit).
const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

/// Rejects requests without the configured bearer token (except health),
/// and requests over the concurrency limit.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    token: Option<Arc<[u8]>>,
    permits: Arc<Semaphore>,
    first_message_timeout: Duration,
}

impl GuardLayer {
    /// `token` = expected bearer token (none disables auth); `limit` = how
    /// many requests run at once; `first_message_timeout` = how long a
    /// stream may wait for its first request message.
    pub fn new(token: Option<&str>, limit: usize, first_message_timeout: Duration) -> Self {
        Self {
            token: token.map(|t| Arc::from(format!("Bearer {t}").into_bytes())),
            permits: Arc::new(Semaphore::new(limit)),
            first_message_timeout,
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

impl<S> Service<http::Request<Body>> for Guard<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if !self.authorized(&req) {
            let status = Status::unauthenticated("missing or invalid bearer token");
            return Box::pin(async move { Ok(status.into_http()) });
        }
        // Take the service that was driven to readiness; leave a clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if req.uri().path() == HEALTH_CHECK {
            return Box::pin(inner.call(req));
        }
        let permits = self.layer.permits.clone();
        let wait = self.layer.first_message_timeout;
        Box::pin(async move {
            let (parts, mut body) = req.into_parts();
            let Ok(first) = tokio::time::timeout(wait, body.frame()).await else {
                return Ok(no_message(wait).into_http());
            };
            let Ok(permit) = permits.try_acquire_owned() else {
                let status = Status::resource_exhausted(
                    "server is at its concurrency limit; retry with backoff",
                );
                return Ok(status.into_http());
            };
            let body = Body::new(Replay { first, rest: body });
            let response = inner.call(http::Request::from_parts(parts, body)).await;
            drop(permit);
            response
        })
    }
}

impl<S> Guard<S> {
    fn authorized<B>(&self, req: &http::Request<B>) -> bool {
        let Some(expected) = &self.layer.token else {
            return true;
        };
        if req.uri().path().starts_with(PUBLIC_PREFIX) {
            return true;
        }
        let given = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        // `ct_eq` compares in time independent of where bytes differ.
        bool::from(given.ct_eq(expected))
    }
}

/// The answer to a stream whose request message never came.
fn no_message(wait: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "no request message arrived within `{}` ms of the headers: raise `--first-message-timeout-ms` (`OSP_FIRST_MESSAGE_TIMEOUT_MS`, `firstMessageTimeoutMs`)",
        wait.as_millis()
    ))
}

/// A request body whose first frame was already read (to know the message
/// has started arriving), handed on unchanged.
struct Replay {
    first: Option<Result<Frame<Bytes>, Status>>,
    rest: Body,
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        match self.first.take() {
            Some(frame) => Poll::Ready(Some(frame)),
            None => Pin::new(&mut self.rest).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }
}
