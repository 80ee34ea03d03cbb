//! The sidecar's error type. Every RPC handler returns [`Error`]; the one
//! mapping to gRPC status codes lives in [`respond`].
pub(crate) mod respond;

pub(crate) use crate::violation::Violation;

/// Errors an RPC can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field is missing or malformed.
    #[error("invalid request: {}", violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; "))]
    InvalidRequest { violations: Vec<Violation> },
    /// A YAML/JSON document in the request could not be read.
    #[error("{field}: {source}")]
    ReadDocument {
        field: String,
        source: osp::document::Error,
    },
    /// The definition could not be converted.
    #[error("{field}: {source}")]
    Convert {
        field: String,
        source: osp::convert::Error,
    },
    /// A claim could not be rendered or is invalid.
    #[error(transparent)]
    Claim(#[from] osp::claim::Error),
    /// A named object does not exist.
    #[error("{what} `{name}` not found")]
    NotFound { what: &'static str, name: String },
    /// The service is not ready to answer correctly yet.
    #[error("{0}")]
    Unavailable(String),
    /// The operation is disabled or not possible in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A page token names a snapshot that is no longer kept.
    #[error(
        "snapshot at revision `{revision}` is no longer kept: start again without a page token"
    )]
    SnapshotExpired { revision: u64 },
    /// The RPC is part of the contract but not served by this build.
    #[error("{0} is not implemented by this sidecar yet")]
    Unimplemented(&'static str),
    /// Publishing on GitHub failed.
    #[error(transparent)]
    GitHub(#[from] crate::github::Error),
    /// Publishing on GitLab failed.
    #[error(transparent)]
    GitLab(#[from] crate::gitlab::Error),
    /// Publishing to a local Git repository failed.
    #[error(transparent)]
    LocalGit(#[from] crate::gitlocal::Error),
    /// Applying a claim to a cluster failed or was refused.
    #[error(transparent)]
    Apply(#[from] crate::apply::Error),
}

impl Error {
    /// One violation for one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidRequest {
            violations: vec![Violation {
                field: field.into(),
                description: description.into(),
            }],
        }
    }
}
