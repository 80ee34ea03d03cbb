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
}
