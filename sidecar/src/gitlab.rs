//! Merge requests on GitLab (gitlab.com and self-managed, REST API v4):
//! one Commits API call creates the branch and commits every file action,
//! the branch and its merge request are looked up first so a retried
//! request updates them instead of opening new ones. See
//! `docs/publishing.md`.
use std::time::Duration;

use http::StatusCode;

mod merge;
mod transport;

use crate::forge::retry;
use crate::secret::SecretSource;

/// gitlab.com's API base; self-managed GitLab uses `https://HOST/api/v4`.
pub const DEFAULT_API_BASE: &str = "https://gitlab.com/api/v4";

/// How to reach GitLab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// API base URL, ending in `/api/v4`.
    pub api_base: String,
    /// A personal, project, group or OAuth access token (all are sent as
    /// `Authorization: Bearer`, which GitLab accepts for each).
    pub token: SecretSource,
    /// Retry bounds per request.
    pub retry: retry::Policy,
    /// Longest wait for one response.
    pub request_timeout: Duration,
    /// Longest wait to connect.
    pub connect_timeout: Duration,
}

impl ClientSettings {
    /// Settings for gitlab.com with default timeouts and retries.
    pub fn new(token: SecretSource) -> Self {
        Self {
            api_base: DEFAULT_API_BASE.into(),
            token,
            retry: retry::Policy::default(),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Errors from publishing on GitLab. `step` says what was being done; no
/// variant ever carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The settings are unusable.
    #[error("cannot build the gitlab client: {message}")]
    Client { message: String },
    /// The token could not be read.
    #[error("gitlab: {0}")]
    Credentials(#[from] crate::secret::ReadError),
    /// The project is not a full path (`group/subgroup/name`).
    #[error(
        "invalid project `{project}`: expected its full path, `group/name` or `group/subgroup/name`"
    )]
    Project { project: String },
    /// The request does not make a valid plan.
    #[error(transparent)]
    Plan(#[from] osp::publish::Error),
    /// 401: the token is missing, expired or revoked.
    #[error("{step}: gitlab rejected the token (401): {message}")]
    Unauthenticated { step: String, message: String },
    /// 403: the token lacks a permission (`api` scope, Developer role).
    #[error("{step}: permission denied (403): {message}")]
    PermissionDenied { step: String, message: String },
    /// 404: project or branch missing (or invisible to the token).
    #[error("{step}: not found (404): {message}")]
    NotFound { step: String, message: String },
    /// A concurrent request changed the branch meanwhile: retrying the
    /// request resolves it.
    #[error("{step}: conflict, retry the request: {message}")]
    Conflict { step: String, message: String },
    /// 400/422: GitLab refused the change.
    #[error("{step}: gitlab rejected the request ({status}): {message}")]
    Validation {
        step: String,
        status: u16,
        message: String,
    },
    /// Rate limited beyond the retry budget.
    #[error("{step}: rate limited by gitlab, retry after `{retry_after_secs}` s")]
    RateLimited { step: String, retry_after_secs: u64 },
    /// 5xx or transport failure beyond the retry budget.
    #[error("{step}: gitlab unavailable: {message}")]
    Unavailable { step: String, message: String },
    /// A response without the documented fields.
    #[error("{step}: unexpected response from gitlab: {message}")]
    Decode { step: String, message: String },
}

impl Error {
    /// The failure, in the terms every forge shares.
    pub(crate) fn failure(&self) -> crate::forge::Failure {
        use crate::forge::Failure as F;
        match self {
            Self::Project { .. } => F::Repository,
            Self::Plan(e) => crate::forge::plan_failure(e),
            Self::Client { .. } | Self::Credentials(_) | Self::Validation { .. } => F::Precondition,
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
    fn for_status(step: &str, status: StatusCode, message: String) -> Self {
        let step = step.to_owned();
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
            s => Self::Validation {
                step,
                status: s,
                message,
            },
        }
    }
}

/// A GitLab client for publications.
#[derive(Debug)]
pub struct Client {
    transport: transport::Transport,
}

impl Client {
    /// Builds the HTTP client; nothing is sent until the first publication.
    pub fn new(settings: ClientSettings) -> Result<Self, Error> {
        Ok(Self {
            transport: transport::Transport::new(settings)?,
        })
    }
}
