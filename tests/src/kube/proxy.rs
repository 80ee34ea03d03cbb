//! A plain-HTTP loopback proxy in front of the test API server (HTTPS) that
//! injects faults on demand: drop the open watch connections, stall
//! responses, answer `500`, or answer the next watch with `410 Gone`.
//!
//! Requests pass through unchanged (headers included: `Authorization`,
//! `Impersonate-*`), responses stream back, so watches work through it.
//! Point a kube client at it with [`Proxy::through`].
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;
type Upstream = Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>;

/// How the next watch request is told its resourceVersion is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// `200` and a watch `ERROR` event carrying a `Status` with code 410
    /// (`reason: Expired`), then end of stream: what the real API server
    /// sends for a too old resourceVersion, and what makes kube-runtime's
    /// watcher re-list.
    Event,
    /// An HTTP `410` response with a `Status` body (what a plain GET of an
    /// expired continue token gets).
    Status,
}

/// Requests seen, for assertions.
#[derive(Debug, Default)]
pub struct Counts {
    /// Every request.
    pub requests: AtomicUsize,
    /// Watch requests (`watch=true`).
    pub watches: AtomicUsize,
    /// Watch responses streaming right now.
    pub live_watches: AtomicUsize,
    /// Faults delivered (500s, 410s, dropped watches).
    pub faults: AtomicUsize,
}

#[derive(Debug)]
struct Faults {
    fail_next: AtomicUsize,
    gone_next_watch: Mutex<Option<Gone>>,
    stall: Mutex<Option<Duration>>,
    drop_watches: watch::Sender<u64>,
    counts: Counts,
}

/// The running proxy; stops (and closes its connections) on drop.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    faults: Arc<Faults>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`
    /// (`https://127.0.0.1:PORT`), trusting only `ca_pem`. Runs on the
    /// current tokio runtime.
    pub async fn start(upstream: &str, ca_pem: &str) -> anyhow::Result<Self> {
        let upstream: Uri = upstream.parse().context("upstream url")?;
        let client = upstream_client(ca_pem)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let faults = Arc::new(Faults {
            fail_next: AtomicUsize::new(0),
            gone_next_watch: Mutex::new(None),
            stall: Mutex::new(None),
            drop_watches: watch::channel(0).0,
            counts: Counts::default(),
        });
        let shared = faults.clone();
        let task = tokio::spawn(async move {
            // Connection tasks live in the set, so aborting this task
            // closes every connection too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (client, upstream, faults) = (client.clone(), upstream.clone(), shared.clone());
                let service = hyper::service::service_fn(move |req| {
                    handle(req, client.clone(), upstream.clone(), faults.clone())
                });
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self { addr, faults, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `config` (e.g. from [`super::ApiServer::config`], keeping its token
    /// and impersonation) pointed at the proxy.
    pub fn through(&self, mut config: kube::Config) -> kube::Config {
        config.cluster_url = self
            .url()
            .parse()
            .unwrap_or_else(|_| config.cluster_url.clone());
        config
    }

    /// Cuts every watch response streaming now, mid-body (the client sees
    /// the connection die). Returns how many there were.
    pub fn drop_watches(&self) -> usize {
        let live = self.faults.counts.live_watches.load(Ordering::SeqCst);
        self.faults.drop_watches.send_modify(|n| *n += 1);
        self.faults.counts.faults.fetch_add(live, Ordering::SeqCst);
        live
    }

    /// Answers the next `n` requests with `500 Internal Server Error`.
    pub fn fail_next(&self, n: usize) {
        self.faults.fail_next.store(n, Ordering::SeqCst);
    }

    /// Answers the next watch request with `410 Gone`, as `how` says.
    pub fn gone_next_watch(&self, how: Gone) {
        *lock(&self.faults.gone_next_watch) = Some(how);
    }

    /// Delays every response by `delay` until called with `None`.
    pub fn stall(&self, delay: Option<Duration>) {
        *lock(&self.faults.stall) = delay;
    }

    /// Requests seen so far.
    pub fn counts(&self) -> &Counts {
        &self.faults.counts
    }

    /// Waits until at least `n` watches are streaming.
    pub async fn wait_live_watches(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.faults.counts.live_watches.load(Ordering::SeqCst) < n {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "fewer than {n} live watches after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn upstream_client(ca_pem: &str) -> anyhow::Result<Upstream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.context("parse CA pem")?)?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

async fn handle(
    req: Request<Incoming>,
    client: Upstream,
    upstream: Uri,
    faults: Arc<Faults>,
) -> Result<Response<Body>, Infallible> {
    let counts = &faults.counts;
    counts.requests.fetch_add(1, Ordering::SeqCst);
    let is_watch = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
    if is_watch {
        counts.watches.fetch_add(1, Ordering::SeqCst);
    }
    let stall = *lock(&faults.stall);
    if let Some(delay) = stall {
        tokio::time::sleep(delay).await;
    }
    let fail = faults
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if fail {
        counts.faults.fetch_add(1, Ordering::SeqCst);
        let body = status_json(500, "InternalError", "injected by the test proxy");
        return Ok(json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            body.to_string(),
        ));
    }
    if is_watch {
        let gone = lock(&faults.gone_next_watch).take();
        if let Some(how) = gone {
            counts.faults.fetch_add(1, Ordering::SeqCst);
            let status = status_json(
                410,
                "Expired",
                "too old resource version (injected by the test proxy)",
            );
            return Ok(match how {
                Gone::Event => {
                    let event = serde_json::json!({"type": "ERROR", "object": status});
                    json_response(StatusCode::OK, format!("{event}\n"))
                }
                Gone::Status => json_response(StatusCode::GONE, status.to_string()),
            });
        }
    }
    Ok(forward(req, client, upstream, &faults, is_watch)
        .await
        .unwrap_or_else(|e| {
            let body = status_json(502, "BadGateway", &format!("test proxy: {e}"));
            json_response(StatusCode::BAD_GATEWAY, body.to_string())
        }))
}

async fn forward(
    req: Request<Incoming>,
    client: Upstream,
    upstream: Uri,
    faults: &Arc<Faults>,
    is_watch: bool,
) -> anyhow::Result<Response<Body>> {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = format!("{}{}", upstream.to_string().trim_end_matches('/'), path).parse()?;
    parts.headers.remove(header::HOST);
    let req = Request::from_parts(parts, body.map_err(BoxError::from).boxed());
    let resp = client.request(req).await?;
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.remove(header::CONNECTION);
    if !is_watch || !parts.status.is_success() {
        return Ok(Response::from_parts(
            parts,
            body.map_err(BoxError::from).boxed(),
        ));
    }
    Ok(Response::from_parts(parts, cuttable(body, faults)))
}

/// A watch body that ends with an error (so the connection dies mid-body)
/// when [`Proxy::drop_watches`] is called.
fn cuttable(body: Incoming, faults: &Arc<Faults>) -> Body {
    let live = LiveWatch::new(faults.clone());
    let cut = faults.drop_watches.subscribe();
    let stream = futures::stream::unfold(Some((body, cut, live)), |state| async move {
        let (mut body, mut cut, live) = state?;
        tokio::select! {
            frame = body.frame() => match frame {
                Some(Ok(frame)) => Some((Ok(frame), Some((body, cut, live)))),
                Some(Err(e)) => Some((Err(BoxError::from(e)), None)),
                None => None,
            },
            _ = cut.changed() => {
                Some((Err(BoxError::from("watch dropped by the test proxy")), None))
            }
        }
    });
    BoxBody::new(StreamBody::new(stream))
}

/// Counts a streaming watch while it lives.
#[derive(Debug)]
struct LiveWatch(Arc<Faults>);

impl LiveWatch {
    fn new(faults: Arc<Faults>) -> Self {
        faults.counts.live_watches.fetch_add(1, Ordering::SeqCst);
        Self(faults)
    }
}

impl Drop for LiveWatch {
    fn drop(&mut self) {
        self.0.counts.live_watches.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A Kubernetes `Status` object.
fn status_json(code: u16, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(body.into())
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
