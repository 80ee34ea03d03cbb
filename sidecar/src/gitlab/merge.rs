//! The merge request flow. Reads come first (branch, then the files on it
//! or on the base), so a retry finds what an earlier attempt wrote, and
//! only files whose content differs are committed:
//!
//! new:      get branch (404), read files, create commit (+ branch), create MR
//! retried:  get branch, read files (same: no commit), list MRs
//! updated:  get branch, read files, create commit, list MRs, [update MR]
//!
//! plus one read for the default branch when no base is given, and one
//! lookup per reviewer.
use std::collections::BTreeMap;

use http::{Method, StatusCode};
use osp::publish::{ChangeKind, Entry, Plan, Published};
use serde_json::{Value, json};

use super::transport::{Reply, Session};
use super::{Client, Error};
use crate::forge::{PullRequest, str_at};

impl Client {
    /// Commits the plan on its branch of `project` (its full path,
    /// `group/subgroup/name`) and opens or updates the merge request
    /// against `base_branch` (empty: the project's default branch).
    pub async fn publish(
        &self,
        project: &str,
        base_branch: &str,
        plan: &Plan,
        mr: &PullRequest,
    ) -> Result<Published, Error> {
        let project = format!("/projects/{}", project_id(project)?);
        let s = self.transport.session(mr.author_token.as_ref());
        let p = Project {
            s: &s,
            path: &project,
        };
        let tip = p.branch(&plan.branch).await?;
        let base = match tip {
            Some(_) => None,
            None => Some(p.base_or_default(base_branch).await?),
        };
        let from = base.as_deref().unwrap_or(&plan.branch);
        let actions = p.actions(plan, from).await?;
        let commit = match actions.is_empty() {
            true => None,
            false => Some(p.commit(plan, &actions, base.as_deref()).await?),
        };
        let mut out = Published {
            branch: plan.branch.clone(),
            commit_sha: commit.clone().or(tip).unwrap_or_default(),
            unchanged: commit.is_none(),
            ..Published::default()
        };
        let proposal = match (base, commit) {
            // A new branch with nothing to change: nothing to propose.
            (Some(_), None) => None,
            (Some(base), Some(_)) => Some(p.open(plan, mr, &base).await?),
            (None, _) => Some(p.existing(plan, mr, base_branch).await?),
        };
        if let Some((number, url, created)) = proposal {
            out.kind = ChangeKind::PullRequest;
            out.number = number;
            out.url = url;
            out.created = created;
        }
        out.request_count = s.count();
        Ok(out)
    }
}

/// The project's URL-encoded full path, checked segment by segment.
fn project_id(project: &str) -> Result<String, Error> {
    let valid = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let segments: Vec<&str> = project.split('/').collect();
    if segments.len() < 2 || !segments.iter().all(|s| valid(s)) {
        return Err(Error::Project {
            project: project.to_owned(),
        });
    }
    Ok(segments.join("%2F"))
}

/// A commit action of GitLab's Commits API.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Action {
    action: &'static str,
    path: String,
    content: Option<String>,
}

/// One project within one publication's session.
struct Project<'a> {
    s: &'a Session<'a>,
    path: &'a str,
}

/// A merge request: its `iid`, web URL, and whether this call opened it.
type Proposal = (u64, String, bool);

impl Project<'_> {
    async fn send(
        &self,
        method: Method,
        rest: &str,
        body: Option<&Value>,
        step: &str,
    ) -> Result<Reply, Error> {
        let path = format!("{}{rest}", self.path);
        self.s.send(method, &path, body, step).await
    }

    /// The branch's head commit, `None` when it does not exist.
    async fn branch(&self, branch: &str) -> Result<Option<String>, Error> {
        let step = format!("reading branch `{branch}`");
        let rest = format!("/repository/branches/{}", encode(branch));
        let reply = self.send(Method::GET, &rest, None, &step).await?;
        if reply.status == StatusCode::NOT_FOUND && reply.message().contains("Branch Not Found") {
            return Ok(None);
        }
        let body = reply.ok(&step)?;
        required(&body, "/commit/id", &step).map(Some)
    }

    /// `base_branch`, or the project's default branch when it is empty.
    async fn base_or_default(&self, base_branch: &str) -> Result<String, Error> {
        if !base_branch.is_empty() {
            return Ok(base_branch.to_owned());
        }
        let step = "reading the default branch";
        let body = self.send(Method::GET, "", None, step).await?.ok(step)?;
        required(&body, "/default_branch", step)
    }

    /// The raw content of `path` at `reference`, `None` when absent.
    async fn read(&self, path: &str, reference: &str) -> Result<Option<String>, Error> {
        let step = format!("reading `{path}`");
        let rest = format!(
            "/repository/files/{}/raw?ref={}",
            encode(path),
            encode(reference)
        );
        let reply = self.send(Method::GET, &rest, None, &step).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(Error::for_status(&step, reply.status, reply.message()));
        }
        Ok(Some(reply.text))
    }

    /// The commit actions the plan needs on top of `reference`: files whose
    /// content already matches are left out, so a retry writes nothing.
    async fn actions(&self, plan: &Plan, reference: &str) -> Result<Vec<Action>, Error> {
        let mut paths = plan.reads();
        paths.extend(
            plan.changes
                .iter()
                .filter(|c| c.content.is_some())
                .map(|c| c.path.clone()),
        );
        paths.sort();
        paths.dedup();
        let mut current = BTreeMap::new();
        for path in paths {
            let content = self.read(&path, reference).await?;
            current.insert(path, content);
        }
        Ok(for_actions(&plan.for_entries(&current)?, &current))
    }

    /// Commits `actions` on the plan's branch, creating it from `base` when
    /// new; returns the commit id.
    async fn commit(
        &self,
        plan: &Plan,
        actions: &[Action],
        base: Option<&str>,
    ) -> Result<String, Error> {
        let step = format!("committing on `{}`", plan.branch);
        let actions: Vec<Value> = actions
            .iter()
            .map(|a| {
                let mut v = json!({"action": a.action, "file_path": a.path});
                if let Some(c) = &a.content {
                    v["content"] = json!(c);
                }
                v
            })
            .collect();
        let mut body = json!({
            "branch": plan.branch,
            "commit_message": plan.message,
            "actions": actions,
        });
        if let Some(base) = base {
            body["start_branch"] = json!(base);
        }
        let reply = self
            .send(Method::POST, "/repository/commits", Some(&body), &step)
            .await?;
        // A concurrent request created the branch or the file first.
        if reply.status == StatusCode::BAD_REQUEST {
            let message = reply.message();
            if message.contains("already exists") || message.contains("doesn't exist") {
                return Err(Error::Conflict { step, message });
            }
        }
        let body = reply.ok(&step)?;
        required(&body, "/id", &step)
    }

    /// The open merge request of the plan's branch, updated to `mr`; or a
    /// new one when the branch has none.
    async fn existing(
        &self,
        plan: &Plan,
        mr: &PullRequest,
        base_branch: &str,
    ) -> Result<Proposal, Error> {
        if let Some(found) = self.find(&plan.branch).await? {
            self.update(&found, mr).await?;
            return Ok((iid(&found), str_at(&found, "/web_url"), false));
        }
        let base = self.base_or_default(base_branch).await?;
        self.open(plan, mr, &base).await
    }

    async fn find(&self, branch: &str) -> Result<Option<Value>, Error> {
        let step = format!("listing merge requests of `{branch}`");
        let rest = format!(
            "/merge_requests?state=opened&source_branch={}",
            encode(branch)
        );
        let body = self
            .send(Method::GET, &rest, None, &step)
            .await?
            .ok(&step)?;
        Ok(body.as_array().and_then(|a| a.first()).cloned())
    }

    /// Opens the merge request, or adopts the one a concurrent request
    /// opened (GitLab allows one open merge request per source branch).
    async fn open(&self, plan: &Plan, mr: &PullRequest, base: &str) -> Result<Proposal, Error> {
        let step = format!("opening a merge request for `{}`", plan.branch);
        let mut body = json!({
            "source_branch": plan.branch,
            "target_branch": base,
            "title": title(mr),
            "description": mr.body,
            "remove_source_branch": true,
        });
        if !mr.labels.is_empty() {
            body["labels"] = json!(mr.labels.join(","));
        }
        if !mr.reviewers.is_empty() {
            body["reviewer_ids"] = json!(self.user_ids(&mr.reviewers).await?);
        }
        let reply = self
            .send(Method::POST, "/merge_requests", Some(&body), &step)
            .await?;
        if reply.status == StatusCode::CONFLICT
            && let Some(found) = self.find(&plan.branch).await?
        {
            return Ok((iid(&found), str_at(&found, "/web_url"), false));
        }
        let created = reply.ok(&step)?;
        Ok((iid(&created), str_at(&created, "/web_url"), true))
    }

    /// Updates title, description and labels when they differ (so a retry
    /// writes nothing).
    async fn update(&self, found: &Value, mr: &PullRequest) -> Result<(), Error> {
        let title = title(mr);
        let labels: Vec<&str> = found["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut body = serde_json::Map::new();
        if found["title"].as_str() != Some(title.as_str()) {
            body.insert("title".into(), json!(title));
        }
        if found["description"].as_str().unwrap_or_default() != mr.body {
            body.insert("description".into(), json!(mr.body));
        }
        if mr.labels.iter().any(|l| !labels.contains(&l.as_str())) {
            body.insert("add_labels".into(), json!(mr.labels.join(",")));
        }
        if body.is_empty() {
            return Ok(());
        }
        let step = format!("updating merge request !{}", iid(found));
        let rest = format!("/merge_requests/{}", iid(found));
        self.send(Method::PUT, &rest, Some(&Value::Object(body)), &step)
            .await?
            .ok(&step)
            .map(drop)
    }

    /// GitLab user ids of `usernames` (merge requests take ids).
    async fn user_ids(&self, usernames: &[String]) -> Result<Vec<u64>, Error> {
        let mut ids = Vec::with_capacity(usernames.len());
        for name in usernames {
            let step = format!("looking up reviewer `{name}`");
            let uri = format!("/users?username={}", encode(name));
            let body = self
                .s
                .send(Method::GET, &uri, None, &step)
                .await?
                .ok(&step)?;
            match body.pointer("/0/id").and_then(Value::as_u64) {
                Some(id) => ids.push(id),
                None => {
                    return Err(Error::Validation {
                        step,
                        status: 404,
                        message: format!("no gitlab user `{name}`"),
                    });
                }
            }
        }
        Ok(ids)
    }
}

/// Commit actions for tree entries, given the current contents.
fn for_actions(entries: &[Entry], current: &BTreeMap<String, Option<String>>) -> Vec<Action> {
    entries
        .iter()
        .filter_map(|e| {
            let now = current.get(e.path()).and_then(Option::as_deref);
            match e {
                Entry::Write { path, content } if now == Some(content.as_str()) => None,
                Entry::Write { path, content } => Some(Action {
                    action: if now.is_some() { "update" } else { "create" },
                    path: path.clone(),
                    content: Some(content.clone()),
                }),
                Entry::Delete { path } => Some(Action {
                    action: "delete",
                    path: path.clone(),
                    content: None,
                }),
            }
        })
        .collect()
}

/// The title, marked as a draft the way GitLab documents it.
fn title(mr: &PullRequest) -> String {
    match mr.draft {
        true => format!("Draft: {}", mr.title),
        false => mr.title.clone(),
    }
}

fn iid(v: &Value) -> u64 {
    v.get("iid").and_then(Value::as_u64).unwrap_or_default()
}

fn required(v: &Value, pointer: &str, step: &str) -> Result<String, Error> {
    crate::forge::required(v, pointer).map_err(|message| Error::Decode {
        step: step.to_owned(),
        message,
    })
}

fn encode(s: &str) -> String {
    crate::forge::encode(s, b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_full_paths() {
        struct Case {
            reason: &'static str,
            project: &'static str,
            want: Option<&'static str>,
        }
        let cases = [
            Case {
                reason: "group and name",
                project: "acme/gitops",
                want: Some("acme%2Fgitops"),
            },
            Case {
                reason: "subgroups",
                project: "acme/platform/claims",
                want: Some("acme%2Fplatform%2Fclaims"),
            },
            Case {
                reason: "a bare name is not a full path",
                project: "gitops",
                want: None,
            },
            Case {
                reason: "no traversal",
                project: "acme/../etc",
                want: None,
            },
            Case {
                reason: "no empty segment",
                project: "acme//gitops",
                want: None,
            },
            Case {
                reason: "no query smuggled in",
                project: "acme/gitops?x=1",
                want: None,
            },
        ];
        for c in cases {
            assert_eq!(
                project_id(c.project).ok().as_deref(),
                c.want,
                "{}",
                c.reason
            );
        }
    }

    #[test]
    fn only_changed_files_become_actions() {
        let current = BTreeMap::from([
            ("a.yaml".to_owned(), Some("same".to_owned())),
            ("b.yaml".to_owned(), Some("old".to_owned())),
            ("c.yaml".to_owned(), None),
            ("d.yaml".to_owned(), Some("gone".to_owned())),
        ]);
        let write = |p: &str, c: &str| Entry::Write {
            path: p.into(),
            content: c.into(),
        };
        let entries = [
            write("a.yaml", "same"),
            write("b.yaml", "new"),
            write("c.yaml", "fresh"),
            Entry::Delete {
                path: "d.yaml".into(),
            },
        ];
        let actions = for_actions(&entries, &current);
        let got: Vec<(&str, &str)> = actions
            .iter()
            .map(|a| (a.action, a.path.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("update", "b.yaml"),
                ("create", "c.yaml"),
                ("delete", "d.yaml")
            ],
            "an unchanged file is no action"
        );
    }
}
