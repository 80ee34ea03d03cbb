//! `osp.v1.PublishService`: GitOps pull requests (GitHub) or branches
//! (local Git), planned by the core (`osp::publish`).
use std::sync::Arc;

use osp::publish::{Change, Plan, Request as PlanRequest, for_plan};
use tonic::{Request, Response, Status};

use super::State;
use crate::errors::Error;
use crate::forge::PullRequest;
use crate::pb::{self, publish_service_server::PublishService};

mod target;

pub(crate) use target::{GitHubConfig, PublishConfig, Publisher};

/// The PublishService implementation.
#[derive(Debug, Clone)]
pub(crate) struct Publish {
    state: State,
    /// The targets, or why the configuration is unusable.
    publisher: Arc<Result<Publisher, String>>,
}

impl Publish {
    /// A service over the shared state and the `publish:` configuration.
    /// A bad configuration is logged and answered with FAILED_PRECONDITION.
    pub(crate) fn new(state: State, config: &PublishConfig) -> Self {
        let publisher = Publisher::new(config);
        if let Err(e) = &publisher {
            tracing::error!(error = %e, "publishing is disabled: invalid `publish` configuration");
        }
        Self {
            state,
            publisher: Arc::new(publisher),
        }
    }

    /// Handles one request (also used by `osp publish`).
    pub(crate) async fn create(
        &self,
        req: pb::CreatePullRequestRequest,
    ) -> Result<pb::CreatePullRequestResponse, Error> {
        let publisher = match self.publisher.as_ref() {
            Ok(p) => p,
            Err(e) => {
                return Err(Error::FailedPrecondition(format!(
                    "publishing is disabled: {e}"
                )));
            }
        };
        if req.repository.trim().is_empty() {
            return Err(Error::invalid("repository", "must not be empty"));
        }
        // Files become documents in Git: held to the same size limit.
        let limit = self.state.document_limits.max_bytes;
        if let Some((i, f)) = req
            .files
            .iter()
            .enumerate()
            .find(|(_, f)| f.content.len() > limit)
        {
            return Err(Error::ReadDocument {
                field: format!("files[{i}].content"),
                source: osp::document::Error::TooLarge {
                    size: f.content.len(),
                    limit,
                },
            });
        }
        let plan = plan(&req, publisher)?;
        let pr = PullRequest {
            title: title(&req),
            body: plan.body(&req.body),
            labels: req.labels.clone(),
            reviewers: req.reviewers.clone(),
            draft: req.draft,
            author_token: match req.user_token.trim() {
                "" => None,
                t => Some(crate::secret::Secret::new(t)),
            },
        };
        let user = req.caller.as_ref().map(|c| c.user_entity_ref.as_str());
        tracing::info!(
            user = user.unwrap_or_default(),
            as_requester = pr.author_token.is_some(),
            repository = %req.repository,
            branch = %plan.branch,
            files = plan.changes.len(),
            "publish"
        );
        let out = publisher
            .publish(&req.host, &req.repository, &req.base_branch, &plan, &pr)
            .await?;
        tracing::info!(
            repository = %req.repository,
            number = out.number,
            created = out.created,
            unchanged = out.unchanged,
            requests = out.request_count,
            "published"
        );
        Ok(pb::CreatePullRequestResponse {
            change_kind: change_kind(out.kind) as i32,
            url: out.url,
            number: out.number,
            branch: out.branch,
            commit_sha: out.commit_sha,
            created: out.created,
            unchanged: out.unchanged,
            request_count: out.request_count,
        })
    }
}

#[tonic::async_trait]
impl PublishService for Publish {
    async fn create_pull_request(
        &self,
        request: Request<pb::CreatePullRequestRequest>,
    ) -> Result<Response<pb::CreatePullRequestResponse>, Status> {
        Ok(Response::new(self.create(request.into_inner()).await?))
    }
}

/// The wire form of what a publication made.
pub(crate) fn change_kind(kind: osp::publish::ChangeKind) -> pb::ChangeKind {
    match kind {
        osp::publish::ChangeKind::PullRequest => pb::ChangeKind::PullRequest,
        osp::publish::ChangeKind::LocalBranch => pb::ChangeKind::LocalBranch,
        osp::publish::ChangeKind::None => pb::ChangeKind::None,
    }
}

fn title(req: &pb::CreatePullRequestRequest) -> String {
    match req.title.trim() {
        "" => format!("osp: {}", req.idempotency_key),
        t => t.to_owned(),
    }
}

/// The core's plan for a request; planning errors name the request field.
pub(crate) fn plan(
    req: &pb::CreatePullRequestRequest,
    publisher: &Publisher,
) -> Result<Plan, Error> {
    let request = PlanRequest {
        changes: req
            .files
            .iter()
            .map(|f| Change {
                path: f.path.clone(),
                content: (!f.delete).then(|| f.content.clone()),
            })
            .collect(),
        idempotency_key: req.idempotency_key.clone(),
        title: title(req),
        requested_by: req
            .caller
            .as_ref()
            .map(|c| c.user_entity_ref.clone())
            .unwrap_or_default(),
        update_kustomization: req.update_kustomization,
        template_ref: req.template_ref.clone(),
        entity_refs: req.entity_refs.clone(),
    };
    let layout = publisher.layout();
    for_plan(&request, layout).map_err(|e| {
        use osp::publish::Error as E;
        let field = match &e {
            E::NoChanges => "files".to_owned(),
            E::NameBranch(_) => "idempotency_key".to_owned(),
            E::CheckPath(_) | E::DuplicatePath { .. } | E::UpdateKustomization(_) => {
                // Messages cut very long paths: a path check finds those.
                let bad = |p: &str| {
                    e.to_string().contains(&format!("`{p}`"))
                        || (matches!(e, E::CheckPath(_))
                            && osp::publish::path::for_path(p, &layout.base).is_err())
                };
                match req.files.iter().position(|f| bad(&f.path)) {
                    Some(i) => format!("files[{i}].path"),
                    None => "files".to_owned(),
                }
            }
        };
        Error::invalid(field, e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::github::Error as G;

    #[test]
    fn github_failures_map_to_grpc_codes() {
        struct Case {
            reason: &'static str,
            err: G,
            want: Code,
        }
        let s = || "creating the tree".to_owned();
        let m = || "m".to_owned();
        let cases = [
            Case {
                reason: "401",
                err: G::Unauthenticated {
                    step: s(),
                    message: m(),
                },
                want: Code::Unauthenticated,
            },
            Case {
                reason: "403",
                err: G::PermissionDenied {
                    step: s(),
                    message: m(),
                },
                want: Code::PermissionDenied,
            },
            Case {
                reason: "404",
                err: G::NotFound {
                    step: s(),
                    message: m(),
                },
                want: Code::NotFound,
            },
            Case {
                reason: "409 or moved ref",
                err: G::Conflict {
                    step: s(),
                    message: m(),
                },
                want: Code::Aborted,
            },
            Case {
                reason: "422",
                err: G::Validation {
                    step: s(),
                    message: m(),
                },
                want: Code::FailedPrecondition,
            },
            Case {
                reason: "rate limit beyond budget",
                err: G::RateLimited {
                    step: s(),
                    retry_after_secs: 60,
                },
                want: Code::Unavailable,
            },
            Case {
                reason: "5xx beyond budget",
                err: G::Unavailable {
                    step: s(),
                    message: m(),
                },
                want: Code::Unavailable,
            },
            Case {
                reason: "bad repository",
                err: G::Repository {
                    repository: "x".into(),
                },
                want: Code::InvalidArgument,
            },
        ];
        for c in cases {
            let status = Status::from(Error::from(c.err));
            assert_eq!(status.code(), c.want, "{}", c.reason);
        }
        use tonic_types::StatusExt;
        let status = Status::from(Error::from(G::Conflict {
            step: s(),
            message: m(),
        }));
        assert!(
            status.get_error_details().retry_info().is_some(),
            "retry hint"
        );
    }

    fn file(path: &str) -> pb::FileChange {
        pb::FileChange {
            path: path.into(),
            content: "a: 1\n".into(),
            delete: false,
        }
    }

    #[test]
    fn planning_errors_name_the_field() {
        struct Case {
            reason: &'static str,
            files: Vec<pb::FileChange>,
            key: &'static str,
            field: &'static str,
        }
        let cases = [
            Case {
                reason: "traversal in the second file",
                files: vec![file("clusters/a.yaml"), file("clusters/../../etc/passwd")],
                key: "k",
                field: "files[1].path",
            },
            Case {
                reason: "absolute path",
                files: vec![file("/etc/passwd")],
                key: "k",
                field: "files[0].path",
            },
            Case {
                reason: "into .git",
                files: vec![file("clusters/.git/config")],
                key: "k",
                field: "files[0].path",
            },
            Case {
                reason: "the campaign's 1,000,000-byte segment (the message cuts it)",
                files: vec![
                    file("clusters/a.yaml"),
                    file(&format!("clusters/{}.yaml", "a".repeat(1_000_000))),
                ],
                key: "k",
                field: "files[1].path",
            },
            Case {
                reason: "a file name longer than file systems allow",
                files: vec![file(&format!("clusters/{}.yaml", "a".repeat(300)))],
                key: "k",
                field: "files[0].path",
            },
            Case {
                reason: "outside the base",
                files: vec![file("apps/a.yaml")],
                key: "k",
                field: "files[0].path",
            },
            Case {
                reason: "no files",
                files: vec![],
                key: "k",
                field: "files",
            },
            Case {
                reason: "no key",
                files: vec![file("clusters/a.yaml")],
                key: "",
                field: "idempotency_key",
            },
        ];
        let config = PublishConfig {
            base: "clusters".into(),
            ..PublishConfig::default()
        };
        let publisher = Publisher::new(&config).expect("publisher");
        for c in cases {
            let req = pb::CreatePullRequestRequest {
                repository: "acme/gitops".into(),
                files: c.files,
                idempotency_key: c.key.into(),
                ..Default::default()
            };
            let status = Status::from(plan(&req, &publisher).expect_err(c.reason));
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{}", c.reason);
            use tonic_types::StatusExt;
            let details = status.get_error_details();
            let bad = details.bad_request().expect("bad request");
            assert_eq!(bad.field_violations[0].field, c.field, "{}", c.reason);
        }
    }

    /// A repository with `main` holding one file.
    fn local_repository(dir: &std::path::Path) {
        let repo = git2::Repository::init_bare(dir).expect("init");
        let blob = repo.blob(b"# gitops\n").expect("blob");
        let mut tb = repo.treebuilder(None).expect("treebuilder");
        tb.insert("README.md", blob, 0o100644).expect("insert");
        let tree = repo.find_tree(tb.write().expect("tree")).expect("tree");
        let sig = git2::Signature::now("test", "test@example.com").expect("sig");
        repo.commit(Some("refs/heads/main"), &sig, &sig, "init", &tree, &[])
            .expect("commit");
        repo.set_head("refs/heads/main").expect("head");
    }

    #[tokio::test]
    async fn local_targets_report_a_branch_and_no_url() {
        struct Case {
            reason: &'static str,
            file: pb::FileChange,
            want: pb::ChangeKind,
        }
        let cases = [
            Case {
                reason: "a new file is a commit on the local branch",
                file: file("clusters/a.yaml"),
                want: pb::ChangeKind::LocalBranch,
            },
            Case {
                reason: "deleting a file that is not there changes nothing",
                file: pb::FileChange {
                    delete: true,
                    ..file("clusters/gone.yaml")
                },
                want: pb::ChangeKind::None,
            },
        ];
        for c in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            local_repository(dir.path());
            let config = PublishConfig {
                local: [("acme/gitops".to_string(), dir.path().to_owned())].into(),
                ..PublishConfig::default()
            };
            let out = Publish::new(State::default(), &config)
                .create(pb::CreatePullRequestRequest {
                    repository: "acme/gitops".into(),
                    files: vec![c.file],
                    idempotency_key: "claim/default/team-a/db/a".into(),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", c.reason));
            assert_eq!(out.change_kind(), c.want, "{}", c.reason);
            assert_eq!(out.url, "", "{}: no web page for a local change", c.reason);
            assert_eq!(out.number, 0, "{}", c.reason);
            assert_eq!(
                out.commit_sha.is_empty(),
                c.want == pb::ChangeKind::None,
                "{}: a commit exactly when there is a change",
                c.reason
            );
        }
    }
}
