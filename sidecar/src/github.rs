//! Pull requests on GitHub and GitHub Enterprise Server through the Git Data
//! API on top of the base tree: no clone, file contents inline in the tree,
//! the existing branch and pull request found first so a retried request
//! updates them instead of opening new ones. See `docs/publishing.md`.
use std::time::Duration;

use http::StatusCode;
use serde_json::Value;

pub mod auth;
mod pull;
mod transport;

pub use crate::forge::PullRequest;
pub use crate::forge::retry;
pub use crate::secret::SecretSource;
pub use auth::Credentials;

/// GitHub.com's API base; GHE uses `https://HOST/api/v3`.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";

/// How to reach GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// API base URL.
    pub api_base: String,
    /// Credentials.
    pub credentials: Credentials,
    /// Retry bounds per request.
    pub retry: retry::Policy,
    /// Longest wait for one response.
    pub request_timeout: Duration,
    /// Longest wait to connect.
    pub connect_timeout: Duration,
}

impl ClientSettings {
    /// Settings for github.com with default timeouts and retries.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            api_base: DEFAULT_API_BASE.into(),
            credentials,
            retry: retry::Policy::default(),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Errors from publishing on GitHub. `step` says what was being done; no
/// variant ever carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The settings are unusable.
    #[error("cannot build the github client: {message}")]
    Client { message: String },
    /// The credentials could not be prepared.
    #[error("{message}")]
    Credentials { message: String },
    /// The repository is not `owner/name`.
    #[error("invalid repository `{repository}`: expected `owner/name`")]
    Repository { repository: String },
    /// The request does not make a valid plan.
    #[error(transparent)]
    Plan(#[from] osp::publish::Error),
    /// 401: the token is missing, expired or revoked.
    #[error("{step}: github rejected the credentials (401): {message}")]
    Unauthenticated { step: String, message: String },
    /// 403: the credentials lack a permission.
    #[error("{step}: permission denied (403): {message}")]
    PermissionDenied { step: String, message: String },
    /// 404: repository, branch or file missing (or invisible to the credentials).
    #[error("{step}: not found (404): {message}")]
    NotFound { step: String, message: String },
    /// 409 or a ref that moved meanwhile: retrying the request resolves it.
    #[error("{step}: conflict, retry the request: {message}")]
    Conflict { step: String, message: String },
    /// 422: GitHub refused the change.
    #[error("{step}: github rejected the request (422): {message}")]
    Validation { step: String, message: String },
    /// Rate limited beyond the retry budget.
    #[error("{step}: rate limited by github, retry after `{retry_after_secs}` s")]
    RateLimited { step: String, retry_after_secs: u64 },
    /// 5xx or transport failure beyond the retry budget.
    #[error("{step}: github unavailable: {message}")]
    Unavailable { step: String, message: String },
    /// A response without the documented fields.
    #[error("{step}: unexpected response from github: {message}")]
    Decode { step: String, message: String },
}

impl Error {
    /// The failure, in the terms every forge shares.
    pub(crate) fn failure(&self) -> crate::forge::Failure {
        use crate::forge::Failure as F;
        match self {
            Self::Repository { .. } => F::Repository,
            Self::Plan(e) => crate::forge::plan_failure(e),
            Self::Client { .. } | Self::Credentials { .. } | Self::Validation { .. } => {
                F::Precondition
            }
            Self::Unauthenticated { .. } => F::Unauthenticated,
            Self::PermissionDenied { .. } => F::PermissionDenied,
            Self::NotFound { .. } => F::NotFound,
            Self::Conflict { .. } => F::Conflict,
            Self::RateLimited {
                retry_after_secs, ..
            } => F::RateLimited(*retry_after_secs),
            Self::Unavailable { .. } | Self::Decode { .. } => F::Unavailable,
        }
    }

    /// Classifies a final non-success reply.
    fn for_status(step: &str, status: StatusCode, body: &Value) -> Self {
        let step = step.to_owned();
        let message = transport::Reply {
            status,
            body: body.clone(),
        }
        .message();
        match status.as_u16() {
            401 => Self::Unauthenticated { step, message },
            403 => Self::PermissionDenied { step, message },
            404 => Self::NotFound { step, message },
            409 => Self::Conflict { step, message },
            429 => Self::RateLimited {
                step,
                retry_after_secs: 60,
            },
            s if s >= 500 => Self::Unavailable {
                step,
                message: format!("{status}: {message}"),
            },
            _ => Self::Validation {
                step,
                message: format!("{status}: {message}"),
            },
        }
    }
}

/// A GitHub client for publications.
#[derive(Debug)]
pub struct Client {
    transport: transport::Transport,
}

impl Client {
    /// Builds the HTTP client; nothing is sent until the first publication.
    /// Call it inside a Tokio runtime (octocrab spawns its buffer task).
    pub fn new(settings: ClientSettings) -> Result<Self, Error> {
        let client = |message: String| Error::Client { message };
        let crab = octocrab::Octocrab::builder()
            .base_uri(settings.api_base.as_str())
            .map_err(|e| client(format!("invalid api base `{}`: {e}", settings.api_base)))?
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .set_connect_timeout(Some(settings.connect_timeout))
            .set_read_timeout(Some(settings.request_timeout))
            .set_write_timeout(Some(settings.request_timeout))
            .build()
            .map_err(|e| client(e.to_string()))?;
        let auth = auth::Authenticator::new(settings.credentials);
        Ok(Self {
            transport: transport::Transport::new(crab, auth, settings.retry),
        })
    }
}
