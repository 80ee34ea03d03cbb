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
pub(crate) struct GuardLayer {
    token: Option<Arc<[u8]>>,
    permits: Arc<Semaphore>,
    first_message_timeout: Duration,
}

impl GuardLayer {
    /// `token` = expected bearer token (none disables auth); `limit` = how
    /// many requests run at once; `first_message_timeout` = how long a
    /// stream may wait for its first request message.
    pub(crate) fn new(token: Option<&str>, limit: usize, first_message_timeout: Duration) -> Self {
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
pub(crate) struct Guard<S> {
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
            let deadline = tokio::time::Instant::now() + wait;
            let Ok(first) = tokio::time::timeout_at(deadline, body.frame()).await else {
                return Ok(no_message(wait).into_http());
            };
            let Ok(permit) = permits.try_acquire_owned() else {
                let status = Status::resource_exhausted(
                    "server is at its concurrency limit; retry with backoff",
                );
                return Ok(status.into_http());
            };
            let body = Body::new(Replay::new(first, body, deadline, wait));
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
        "the first request message did not arrive within `{}` ms of the headers: raise `--first-message-timeout-ms` (`OSP_FIRST_MESSAGE_TIMEOUT_MS`, `firstMessageTimeoutMs`)",
        wait.as_millis()
    ))
}

/// A request body whose first frame was already read (to know the message
/// has started arriving), handed on unchanged, except that the first
/// message must be complete by the deadline: a peer that starts a message
/// and never finishes it (a slow body) holds its permit no longer than a
/// half-open stream waits.
struct Replay {
    first: Option<Result<Frame<Bytes>, Status>>,
    rest: Body,
    first_message: Option<FirstMessage>,
}

/// Progress of the first gRPC message: its 5-byte prefix (flag, length),
/// then its length in bytes.
struct FirstMessage {
    prefix: Vec<u8>,
    remaining: usize,
    deadline: Pin<Box<tokio::time::Sleep>>,
    wait: Duration,
}

impl FirstMessage {
    /// Counts `data`; true once the message is complete.
    fn complete_after(&mut self, mut data: &[u8]) -> bool {
        if self.prefix.len() < 5 {
            let take = (5 - self.prefix.len()).min(data.len());
            self.prefix.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.prefix.len() < 5 {
                return false;
            }
            let mut len = [0u8; 4];
            len.copy_from_slice(&self.prefix[1..5]);
            self.remaining = u32::from_be_bytes(len) as usize;
        }
        self.remaining = self.remaining.saturating_sub(data.len());
        self.remaining == 0
    }
}

impl Replay {
    fn new(
        first: Option<Result<Frame<Bytes>, Status>>,
        rest: Body,
        deadline: tokio::time::Instant,
        wait: Duration,
    ) -> Self {
        Self {
            first,
            rest,
            first_message: Some(FirstMessage {
                prefix: Vec::with_capacity(5),
                remaining: 0,
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                wait,
            }),
        }
    }

    /// Tracks the first message through `frame`; the end of the body, an
    /// error or trailers end the tracking (the decoder reports those).
    fn track(&mut self, frame: &Option<Result<Frame<Bytes>, Status>>) {
        let done = match (frame, self.first_message.as_mut()) {
            (_, None) => return,
            (Some(Ok(f)), Some(m)) => f.data_ref().is_none_or(|d| m.complete_after(d)),
            _ => true,
        };
        if done {
            self.first_message = None;
        }
    }
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = match self.first.take() {
            Some(frame) => Poll::Ready(Some(frame)),
            None => Pin::new(&mut self.rest).poll_frame(cx),
        };
        match polled {
            Poll::Ready(frame) => {
                self.track(&frame);
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let expired = self
                    .first_message
                    .as_mut()
                    .and_then(|m| m.deadline.as_mut().poll(cx).is_ready().then_some(m.wait));
                match expired {
                    Some(wait) => {
                        self.first_message = None;
                        Poll::Ready(Some(Err(no_message(wait))))
                    }
                    None => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }
}
