//! One GitHub REST call: authorization, retries, counting. Requests go
//! through octocrab's client stack (base URI, timeouts, tracing of method,
//! URL and status only); responses are read raw so status and rate-limit
//! headers stay visible.
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use http::{HeaderValue, Method, StatusCode};
use octocrab::Octocrab;
use serde_json::Value;

use super::Error;
use super::auth::{Authenticator, Header};
use super::retry::{self, Attempt, GaveUp, Policy};
use crate::secret::Secret;

/// GitHub's REST API version the requests and fakes follow.
const API_VERSION: &str = "2022-11-28";

/// A response: status and JSON body (`Null` when empty).
#[derive(Debug)]
pub(super) struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Parsed body.
    pub body: Value,
}

impl Reply {
    /// GitHub's `message` field, empty when absent.
    pub(super) fn message(&self) -> String {
        message_of(&self.body)
    }

    /// The body of a successful reply; the classified error otherwise.
    pub(super) fn ok(self, step: &str) -> Result<Value, Error> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        Err(Error::for_status(step, self.status, &self.body))
    }
}

/// A client bound to one GitHub (API base) and one set of credentials.
#[derive(Debug)]
pub(super) struct Transport {
    crab: Octocrab,
    auth: Authenticator,
    policy: Policy,
}

/// One publication's calls: counted, so the response can report them.
#[derive(Debug)]
pub(super) struct Session<'a> {
    transport: &'a Transport,
    count: AtomicU32,
    /// `Authorization` for this session only (the requester's own token).
    author: Option<Secret>,
}

impl Transport {
    /// A transport over an octocrab client without octocrab's own auth or
    /// retries: both happen here, where they can be counted and bounded.
    pub(super) fn new(crab: Octocrab, auth: Authenticator, policy: Policy) -> Self {
        Self { crab, auth, policy }
    }

    /// Starts a counted session, authorized with `author_token` when
    /// given, else with the configured credentials.
    pub(super) fn session(&self, author_token: Option<&Secret>) -> Session<'_> {
        Session {
            transport: self,
            count: AtomicU32::new(0),
            author: author_token.map(|t| Secret::new(format!("Bearer {}", t.expose()))),
        }
    }
}

impl Session<'_> {
    /// Requests sent so far, retries and token exchanges included.
    pub(super) fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sends an authorized request, retrying per policy. Returns any final
    /// reply (also 4xx) so the caller can handle expected statuses.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        step: &str,
    ) -> Result<Reply, Error> {
        let mut renewed = false;
        loop {
            let authorization = self.authorization(step).await?;
            let reply = self
                .attempts(method.clone(), path, body, step, &authorization)
                .await?;
            // A cached installation token revoked early: mint one more, once.
            if reply.status == StatusCode::UNAUTHORIZED
                && self.author.is_none()
                && !renewed
                && self.transport.auth.invalidate().await
            {
                renewed = true;
                continue;
            }
            return Ok(reply);
        }
    }

    async fn authorization(&self, step: &str) -> Result<Secret, Error> {
        if let Some(author) = &self.author {
            return Ok(author.clone());
        }
        let header = self
            .transport
            .auth
            .header()
            .await
            .map_err(|e| Error::Credentials {
                message: e.to_string(),
            })?;
        match header {
            Header::Ready(value) => Ok(value),
            Header::Exchange { jwt, path } => {
                let step = format!("{step} (minting an installation token)");
                let body = self
                    .attempts(Method::POST, &path, None, &step, &jwt)
                    .await?
                    .ok(&step)?;
                let token = body.get("token").and_then(Value::as_str);
                let expires = body
                    .get("expires_at")
                    .and_then(Value::as_str)
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
                let (Some(token), Some(expires)) = (token, expires) else {
                    return Err(Error::Decode {
                        step,
                        message: "no `token` and `expires_at`".into(),
                    });
                };
                Ok(self
                    .transport
                    .auth
                    .store(Secret::new(token), expires.with_timezone(&Utc))
                    .await)
            }
        }
    }

    /// One request under the shared forge retry loop.
    async fn attempts(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        step: &str,
        authorization: &Secret,
    ) -> Result<Reply, Error> {
        let outcome = retry::attempts(&self.transport.policy, &self.count, step, || async {
            match self.once(method.clone(), path, body, authorization).await {
                Ok((status, headers, body)) => Attempt::Reply {
                    status,
                    headers,
                    message: message_of(&body),
                    reply: Reply { status, body },
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
            GaveUp::Reply(r) => Error::for_status(step, r.status, &r.body),
            GaveUp::Failed(message) => Error::Unavailable {
                step: step.to_owned(),
                message,
            },
        })
    }

    /// One HTTP exchange. Transport errors come back as text without the
    /// request (which holds the authorization header).
    async fn once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        authorization: &Secret,
    ) -> Result<(StatusCode, http::HeaderMap, Value), String> {
        let crab = &self.transport.crab;
        let mut auth = HeaderValue::from_str(authorization.expose())
            .map_err(|_| "credential is not a valid header value".to_owned())?;
        auth.set_sensitive(true);
        let builder = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::AUTHORIZATION, auth)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", API_VERSION);
        let request = crab
            .build_request(builder, body)
            .map_err(|e| format!("cannot build request: {}", short(&e)))?;
        let response = crab.execute(request).await.map_err(|e| short(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = crab
            .body_to_string(response)
            .await
            .map_err(|e| format!("cannot read response: {}", short(&e)))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            // Proxies answer HTML on some 5xx; keep it as a string message.
            serde_json::from_str(&text).unwrap_or_else(
                |_| serde_json::json!({ "message": text.chars().take(200).collect::<String>() }),
            )
        };
        Ok((status, headers, body))
    }
}

fn message_of(body: &Value) -> String {
    let mut message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // 422s explain themselves in `errors[].message` (or `code`).
    if let Some(errors) = body.get("errors").and_then(Value::as_array) {
        let details: Vec<String> = errors
            .iter()
            .filter_map(|e| {
                e.get("message")
                    .or_else(|| e.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| e.as_str().map(str::to_owned))
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
    }
    message
}

/// An error's display text on one line: octocrab's errors carry no request
/// headers, and the first line is enough for an operator.
fn short(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}
