//! The pull request flow. Reads come first (branch, then base only when
//! the branch is new), so a retry finds what an earlier attempt wrote:
//!
//! new:      get branch (404), get base, create tree, create commit, create ref, create PR
//! retried:  get branch, create tree (same tree: stop writing), list PRs
//! updated:  get branch, create tree, create commit, update ref, list PRs, [update PR]
//!
//! plus one read per deleted file or kustomization, one request for labels
//! and one for reviewers when given.
use std::collections::BTreeMap;

use base64::Engine;
use http::{Method, StatusCode};
use osp::publish::{ChangeKind, Entry, Plan, Published};
use serde_json::{Value, json};

use super::transport::Session;
use super::{Client, Error};
use crate::forge::{PullRequest, str_at};

/// A commit and its tree.
#[derive(Debug, Clone)]
struct Tip {
    sha: String,
    tree: String,
}

impl Client {
    /// Commits the plan on its branch in `repository` (`owner/name`) and
    /// opens or updates the pull request against `base_branch` (empty: the
    /// repository's default branch).
    pub async fn publish(
        &self,
        repository: &str,
        base_branch: &str,
        plan: &Plan,
        pr: &PullRequest,
    ) -> Result<Published, Error> {
        let (owner, _) = split_repository(repository)?;
        let s = self.transport.session(pr.author_token.as_ref());
        let repo = format!("/repos/{repository}");
        let start = start(&s, &repo, &plan.branch, base_branch).await?;
        let commit = commit_plan(&s, &repo, plan, &start.parent).await?;
        let mut out = Published {
            branch: plan.branch.clone(),
            commit_sha: commit.clone().unwrap_or_else(|| start.parent.sha.clone()),
            unchanged: commit.is_none(),
            ..Published::default()
        };
        let target = Target {
            s: &s,
            repo: &repo,
            owner,
            plan,
            pr,
        };
        let proposal = match (start.base, commit) {
            // A new branch with nothing to change: there is nothing to propose.
            (Some(_), None) => None,
            (Some(base), Some(commit)) => Some(propose_new(&target, &base, &commit).await?),
            (None, commit) => {
                Some(propose_existing(&target, base_branch, commit.as_deref()).await?)
            }
        };
        match proposal {
            Some(p) => {
                out.kind = ChangeKind::PullRequest;
                out.url = p.url;
                out.created = p.created;
                out.number = p.number;
            }
            None => out.commit_sha = String::new(),
        }
        out.request_count = s.count();
        Ok(out)
    }
}

/// Where the commit goes on top of: the branch's tip, or the base's tip
/// when the branch is new.
struct Start {
    parent: Tip,
    /// The base branch, when the branch is new.
    base: Option<String>,
}

/// Reads the branch, and the base only when the branch is new.
async fn start(
    s: &Session<'_>,
    repo: &str,
    branch: &str,
    base_branch: &str,
) -> Result<Start, Error> {
    if let Some(tip) = get_branch(s, repo, branch).await? {
        return Ok(Start {
            parent: tip,
            base: None,
        });
    }
    let base = base_or_default(s, repo, base_branch).await?;
    let Some(tip) = get_branch(s, repo, &base).await? else {
        return Err(Error::NotFound {
            step: format!("reading base branch `{base}`"),
            message: "Branch not found".into(),
        });
    };
    Ok(Start {
        parent: tip,
        base: Some(base),
    })
}

/// `base_branch`, or the repository's default branch when it is empty.
async fn base_or_default(s: &Session<'_>, repo: &str, base_branch: &str) -> Result<String, Error> {
    match base_branch {
        "" => default_branch(s, repo).await,
        b => Ok(b.to_owned()),
    }
}

/// Commits the plan on `parent`; `None` when there is nothing to write.
async fn commit_plan(
    s: &Session<'_>,
    repo: &str,
    plan: &Plan,
    parent: &Tip,
) -> Result<Option<String>, Error> {
    let mut current = BTreeMap::new();
    for path in plan.reads() {
        let content = read_file(s, repo, &path, &parent.sha).await?;
        current.insert(path, content);
    }
    let entries = plan.for_entries(&current)?;
    if entries.is_empty() {
        return Ok(None);
    }
    let tree = create_tree(s, repo, &parent.tree, &entries).await?;
    // Same tree: the branch already holds the change (a retry).
    if tree == parent.tree {
        return Ok(None);
    }
    create_commit(s, repo, &plan.message, &tree, &parent.sha)
        .await
        .map(Some)
}

/// The session, repository and change a pull request is proposed for.
struct Target<'a> {
    s: &'a Session<'a>,
    repo: &'a str,
    owner: &'a str,
    plan: &'a Plan,
    pr: &'a PullRequest,
}

/// The pull request opened or updated.
struct Proposal {
    number: u64,
    url: String,
    /// This call opened it.
    created: bool,
}

/// Creates the new branch at `commit` and opens its pull request.
async fn propose_new(t: &Target<'_>, base: &str, commit: &str) -> Result<Proposal, Error> {
    create_ref(t.s, t.repo, &t.plan.branch, commit).await?;
    open_pr(t, base).await
}

/// Moves the existing branch to `commit`, if any, and updates its open pull
/// request, or opens one when it has none.
async fn propose_existing(
    t: &Target<'_>,
    base_branch: &str,
    commit: Option<&str>,
) -> Result<Proposal, Error> {
    if let Some(commit) = commit {
        update_ref(t.s, t.repo, &t.plan.branch, commit).await?;
    }
    if let Some(found) = find_pr(t.s, t.repo, t.owner, &t.plan.branch).await? {
        update_pr(t.s, t.repo, &found, t.pr).await?;
        return Ok(Proposal {
            number: found
                .get("number")
                .and_then(Value::as_u64)
                .unwrap_or_default(),
            url: str_at(&found, "/html_url"),
            created: false,
        });
    }
    let base = base_or_default(t.s, t.repo, base_branch).await?;
    open_pr(t, &base).await
}

/// Opens the pull request against `base`, or adopts one already open.
async fn open_pr(t: &Target<'_>, base: &str) -> Result<Proposal, Error> {
    let (number, url, created) = open(t.s, t.repo, t.owner, &t.plan.branch, base, t.pr).await?;
    Ok(Proposal {
        number,
        url,
        created,
    })
}

fn split_repository(repository: &str) -> Result<(&str, &str), Error> {
    let valid = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    match repository.split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => Ok((owner, name)),
        _ => Err(Error::Repository {
            repository: repository.to_owned(),
        }),
    }
}

async fn get_branch(s: &Session<'_>, repo: &str, branch: &str) -> Result<Option<Tip>, Error> {
    let step = format!("reading branch `{branch}`");
    let reply = s
        .send(
            Method::GET,
            &format!("{repo}/branches/{}", encode(branch)),
            None,
            &step,
        )
        .await?;
    if reply.status == StatusCode::NOT_FOUND && reply.message() == "Branch not found" {
        return Ok(None);
    }
    let body = reply.ok(&step)?;
    Ok(Some(Tip {
        sha: required(&body, "/commit/sha", &step)?,
        tree: required(&body, "/commit/commit/tree/sha", &step)?,
    }))
}

async fn default_branch(s: &Session<'_>, repo: &str) -> Result<String, Error> {
    let step = "reading the default branch";
    let body = s.send(Method::GET, repo, None, step).await?.ok(step)?;
    required(&body, "/default_branch", step)
}

async fn read_file(
    s: &Session<'_>,
    repo: &str,
    path: &str,
    commit: &str,
) -> Result<Option<String>, Error> {
    let step = format!("reading `{path}`");
    let uri = format!("{repo}/contents/{}?ref={commit}", encode(path));
    let reply = s.send(Method::GET, &uri, None, &step).await?;
    if reply.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let body = reply.ok(&step)?;
    let decode = |message: &str| Error::Decode {
        step: step.clone(),
        message: message.to_owned(),
    };
    if body.get("encoding").and_then(Value::as_str) != Some("base64") {
        return Err(decode(
            "not a base64-encoded file (a folder, or over 1 MB?)",
        ));
    }
    let packed: String = str_at(&body, "/content")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(packed)
        .map_err(|_| decode("invalid base64 content"))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| decode("content is not UTF-8"))
}

async fn create_tree(
    s: &Session<'_>,
    repo: &str,
    base_tree: &str,
    entries: &[Entry],
) -> Result<String, Error> {
    let step = "creating the tree";
    // Contents inline: GitHub stores the blobs itself, one request in all.
    let tree: Vec<Value> = entries
        .iter()
        .map(|e| match e {
            Entry::Write { path, content } => {
                json!({"path": path, "mode": "100644", "type": "blob", "content": content})
            }
            Entry::Delete { path } => {
                json!({"path": path, "mode": "100644", "type": "blob", "sha": null})
            }
        })
        .collect();
    let body = json!({"base_tree": base_tree, "tree": tree});
    let uri = format!("{repo}/git/trees");
    let reply = s.send(Method::POST, &uri, Some(&body), step).await?;
    required(&reply.ok(step)?, "/sha", step)
}

async fn create_commit(
    s: &Session<'_>,
    repo: &str,
    message: &str,
    tree: &str,
    parent: &str,
) -> Result<String, Error> {
    let step = "creating the commit";
    let body = json!({"message": message, "tree": tree, "parents": [parent]});
    let uri = format!("{repo}/git/commits");
    let reply = s.send(Method::POST, &uri, Some(&body), step).await?;
    required(&reply.ok(step)?, "/sha", step)
}

async fn create_ref(s: &Session<'_>, repo: &str, branch: &str, sha: &str) -> Result<(), Error> {
    let step = format!("creating branch `{branch}`");
    let body = json!({"ref": format!("refs/heads/{branch}"), "sha": sha});
    let uri = format!("{repo}/git/refs");
    let reply = s.send(Method::POST, &uri, Some(&body), &step).await?;
    if reply.status == StatusCode::UNPROCESSABLE_ENTITY {
        // Another replica created it between our read and this write.
        return Err(Error::Conflict {
            step,
            message: reply.message(),
        });
    }
    reply.ok(&step).map(drop)
}

async fn update_ref(s: &Session<'_>, repo: &str, branch: &str, sha: &str) -> Result<(), Error> {
    let step = format!("updating branch `{branch}`");
    // Never force: a push since our read makes this fail instead of
    // discarding someone's commit.
    let body = json!({"sha": sha, "force": false});
    let uri = format!("{repo}/git/refs/heads/{}", encode(branch));
    let reply = s.send(Method::PATCH, &uri, Some(&body), &step).await?;
    if reply.status == StatusCode::UNPROCESSABLE_ENTITY {
        return Err(Error::Conflict {
            step,
            message: reply.message(),
        });
    }
    reply.ok(&step).map(drop)
}

async fn find_pr(
    s: &Session<'_>,
    repo: &str,
    owner: &str,
    branch: &str,
) -> Result<Option<Value>, Error> {
    let step = format!("finding the pull request for `{branch}`");
    let uri = format!(
        "{repo}/pulls?head={}&state=open&per_page=1",
        encode(&format!("{owner}:{branch}"))
    );
    let body = s.send(Method::GET, &uri, None, &step).await?.ok(&step)?;
    Ok(body.as_array().and_then(|a| a.first()).cloned())
}

/// Opens the pull request (or adopts one a concurrent attempt opened);
/// returns number, URL and whether this call created it.
async fn open(
    s: &Session<'_>,
    repo: &str,
    owner: &str,
    branch: &str,
    base: &str,
    pr: &PullRequest,
) -> Result<(u64, String, bool), Error> {
    let step = format!("opening the pull request for `{branch}`");
    let body = json!({
        "title": pr.title, "body": pr.body, "head": branch, "base": base, "draft": pr.draft,
    });
    let reply = s
        .send(Method::POST, &format!("{repo}/pulls"), Some(&body), &step)
        .await?;
    let (found, created) = if reply.status == StatusCode::UNPROCESSABLE_ENTITY
        && reply.message().contains("already exists")
    {
        match find_pr(s, repo, owner, branch).await? {
            Some(found) => (found, false),
            None => return Err(Error::for_status(&step, reply.status, &reply.body)),
        }
    } else {
        (reply.ok(&step)?, true)
    };
    let number = found
        .get("number")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    add_labels(s, repo, number, &found, &pr.labels).await?;
    request_reviewers(s, repo, number, &found, &pr.reviewers).await?;
    Ok((number, str_at(&found, "/html_url"), created))
}

async fn update_pr(
    s: &Session<'_>,
    repo: &str,
    found: &Value,
    pr: &PullRequest,
) -> Result<(), Error> {
    let number = found
        .get("number")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let step = format!("updating pull request #{number}");
    let same = str_at(found, "/title") == pr.title && str_at(found, "/body") == pr.body;
    if !same {
        let body = json!({"title": pr.title, "body": pr.body});
        let uri = format!("{repo}/pulls/{number}");
        s.send(Method::PATCH, &uri, Some(&body), &step)
            .await?
            .ok(&step)?;
    }
    add_labels(s, repo, number, found, &pr.labels).await?;
    request_reviewers(s, repo, number, found, &pr.reviewers).await
}

async fn add_labels(
    s: &Session<'_>,
    repo: &str,
    number: u64,
    found: &Value,
    labels: &[String],
) -> Result<(), Error> {
    let have = names(found, "labels", "name");
    let missing: Vec<&String> = labels.iter().filter(|l| !have.contains(l)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let step = format!("labelling pull request #{number}");
    let uri = format!("{repo}/issues/{number}/labels");
    let body = json!({ "labels": missing });
    s.send(Method::POST, &uri, Some(&body), &step)
        .await?
        .ok(&step)
        .map(drop)
}

async fn request_reviewers(
    s: &Session<'_>,
    repo: &str,
    number: u64,
    found: &Value,
    reviewers: &[String],
) -> Result<(), Error> {
    let have = names(found, "requested_reviewers", "login");
    // Requested already (or partly): do not ping people again on updates.
    if reviewers.is_empty() || reviewers.iter().any(|r| have.contains(r)) {
        return Ok(());
    }
    let step = format!("requesting reviewers on pull request #{number}");
    let uri = format!("{repo}/pulls/{number}/requested_reviewers");
    let body = json!({ "reviewers": reviewers });
    s.send(Method::POST, &uri, Some(&body), &step)
        .await?
        .ok(&step)
        .map(drop)
}

fn names(v: &Value, list: &str, field: &str) -> Vec<String> {
    v.get(list)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|i| str_at(i, &format!("/{field}"))).collect())
        .unwrap_or_default()
}

fn required(v: &Value, pointer: &str, step: &str) -> Result<String, Error> {
    crate::forge::required(v, pointer).map_err(|message| Error::Decode {
        step: step.to_owned(),
        message,
    })
}

fn encode(s: &str) -> String {
    crate::forge::encode(s, b"/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_repositories_and_encodes_paths() {
        assert!(split_repository("acme/gitops").is_ok());
        for bad in ["acme", "acme/", "/x", "a/b/c", "../x", "a b/c"] {
            assert!(split_repository(bad).is_err(), "{bad}");
        }
        assert_eq!(encode("a b/c:d"), "a%20b/c%3Ad");
    }
}
