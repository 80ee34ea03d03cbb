//! What the forges (GitHub, GitLab) share: the change request to propose
//! and when to retry a request.
pub mod retry;

/// The pull request (a merge request on GitLab) to open or update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequest {
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Labels to add.
    pub labels: Vec<String>,
    /// Usernames to request reviews from.
    pub reviewers: Vec<String>,
    /// Open as a draft.
    pub draft: bool,
    /// The requester's own token for this forge: the change is authored as
    /// them. Used for this publication only; `None`: the configured
    /// credential.
    pub author_token: Option<crate::secret::Secret>,
}

/// What went wrong on a forge, in the terms callers act on: one mapping to
/// gRPC codes serves every forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The repository (project) is malformed.
    Repository,
    /// The request makes no valid plan.
    Plan,
    /// A kustomization could not be updated, the configuration or the
    /// credentials are unusable, or the forge refused the change.
    Precondition,
    /// The forge rejected the credentials.
    Unauthenticated,
    /// The credentials lack a permission.
    PermissionDenied,
    /// Repository or branch missing.
    NotFound,
    /// Changed meanwhile: retrying the request resolves it.
    Conflict,
    /// Rate limited beyond the retry budget; retry after this many seconds.
    RateLimited(u64),
    /// Down, or answering what it documents no answer for.
    Unavailable,
}

/// A planning error as a forge failure.
pub(crate) fn plan_failure(e: &osp::publish::Error) -> Failure {
    match e {
        osp::publish::Error::UpdateKustomization(_) => Failure::Precondition,
        _ => Failure::Plan,
    }
}

/// The string at `pointer` in a forge's JSON answer, empty when absent.
pub(crate) fn str_at(v: &serde_json::Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The non-empty string at `pointer`, else what is missing (for the
/// forge's `Decode` error).
pub(crate) fn required(v: &serde_json::Value, pointer: &str) -> Result<String, String> {
    match v.pointer(pointer).and_then(serde_json::Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(format!("missing `{pointer}`")),
    }
}

/// Percent-encodes all but unreserved characters, and `/` when `keep` has
/// it (GitHub takes paths as paths; GitLab wants one segment, `%2F`).
pub(crate) fn encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
