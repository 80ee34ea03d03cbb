//! One GitLab REST call: authorization, timeout, bounded retries (the
//! shared forge policy: 5xx back off, 429 waits for `Retry-After`), and a
//! count per publication so the response can report its requests.
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::{ClientSettings, Error};
use crate::forge::retry::{self, Attempt, GaveUp, Policy};
use crate::secret::{Secret, SecretSource};

/// Largest response body read (a raw file is at most a document).
const MAX_BODY: usize = 16 << 20;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A response: status and body text.
#[derive(Debug)]
pub(super) struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Body as text (a raw file, or JSON).
    pub text: String,
}

impl Reply {
    /// The body as JSON (`Null` when empty or not JSON).
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// GitLab's error text: `message` (a string, or field → errors), else
    /// `error`, else the start of the body (a proxy's HTML page).
    pub(super) fn message(&self) -> String {
        let body = self.json();
        match body.get("message").or_else(|| body.get("error")) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => self.text.chars().take(200).collect(),
        }
    }

    /// The JSON body of a successful reply; the classified error otherwise.
    pub(super) fn ok(self, step: &str) -> Result<Value, Error> {
        if self.status.is_success() {
            return Ok(self.json());
        }
        Err(Error::for_status(step, self.status, self.message()))
    }
}

/// A client bound to one GitLab and one token.
#[derive(Debug)]
pub(super) struct Transport {
    http: HttpClient<Https, Full<Bytes>>,
    api_base: String,
    token: SecretSource,
    policy: Policy,
    request_timeout: Duration,
}

/// One publication's calls: counted, so the response can report them.
#[derive(Debug)]
pub(super) struct Session<'a> {
    transport: &'a Transport,
    count: AtomicU32,
    /// The requester's own token, for this session only.
    author: Option<Secret>,
}

impl Transport {
    /// An HTTPS (or, for tests and in-cluster proxies, HTTP) client trusting
    /// the OS certificate store.
    pub(super) fn new(settings: ClientSettings) -> Result<Self, Error> {
        let client = |message: String| Error::Client { message };
        let base: http::Uri = settings
            .api_base
            .parse()
            .map_err(|e| client(format!("invalid api base `{}`: {e}", settings.api_base)))?;
        if base.scheme().is_none() || base.host().is_none() {
            return Err(client(format!(
                "invalid api base `{}`: expected `https://HOST/api/v4`",
                settings.api_base
            )));
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(settings.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .map_err(|e| client(format!("cannot load the trusted certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            http: HttpClient::builder(TokioExecutor::new()).build(https),
            api_base: settings.api_base.trim_end_matches('/').to_owned(),
            token: settings.token,
            policy: settings.retry,
            request_timeout: settings.request_timeout,
        })
    }

    /// Starts a counted session, authorized with `author_token` when
    /// given, else with the configured token.
    pub(super) fn session(&self, author_token: Option<&Secret>) -> Session<'_> {
        Session {
            transport: self,
            count: AtomicU32::new(0),
            author: author_token.cloned(),
        }
    }
}

impl Session<'_> {
    /// Requests sent so far, retries included.
    pub(super) fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sends an authorized request to `path` (under the API base), retrying
    /// per policy. Returns any final reply (also 4xx) so the caller can
    /// handle expected statuses.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        step: &str,
    ) -> Result<Reply, Error> {
        let token = match &self.author {
            Some(t) => t.clone(),
            None => self.transport.token.read()?,
        };
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| Error::Client {
                message: "the token is not a valid header value".into(),
            })?;
        authorization.set_sensitive(true);
        let outcome = retry::attempts(&self.transport.policy, &self.count, step, || async {
            match self.once(&method, path, body, &authorization).await {
                Ok((reply, headers)) => Attempt::Reply {
                    status: reply.status,
                    headers,
                    message: reply.message(),
                    reply,
                },
                Err(message) => Attempt::Failed(message),
            }
        })
        .await;
        outcome.map_err(|gave_up| match gave_up {
            GaveUp::RateLimited(d) => Error::RateLimited {
                step: step.to_owned(),
                retry_after_secs: d.as_secs().max(1),
            },
            GaveUp::Reply(r) => Error::for_status(step, r.status, r.message()),
            GaveUp::Failed(message) => Error::Unavailable {
                step: step.to_owned(),
                message,
            },
        })
    }

    /// One HTTP exchange within the request timeout. Transport errors come
    /// back as text without the request (which holds the token).
    async fn once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        authorization: &HeaderValue,
    ) -> Result<(Reply, http::HeaderMap), String> {
        let t = self.transport;
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", t.api_base))
            .header(http::header::AUTHORIZATION, authorization.clone())
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, "osp-sidecar");
        if body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| format!("cannot build request: {e}"))?;
        let exchange = async {
            let response = t.http.request(request).await.map_err(|e| short(&e))?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| format!("cannot read response: {}", short(&*e)))?
                .to_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Ok((
                Reply {
                    status: parts.status,
                    text,
                },
                parts.headers,
            ))
        };
        tokio::time::timeout(t.request_timeout, exchange)
            .await
            .map_err(|_| format!("no response within {:?}", t.request_timeout))?
    }
}

/// An error's display text on one line.
fn short(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}
