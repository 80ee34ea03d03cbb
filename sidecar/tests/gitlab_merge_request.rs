//! Merge requests against a fake GitLab (API v4): the same guarantees as
//! for GitHub: a deterministic branch per key, a retry never opens a second
//! merge request or writes anything when nothing changed, an update never
//! overwrites commits others pushed, kustomization upkeep, and the request
//! budget; then faults: 5xx, 429 with Retry-After, a lost answer, and
//! concurrent identical requests.
#[path = "fake/gitlab.rs"]
mod fake;

use std::time::Duration;

use fake::{Fake, PROJECT};
use osp::publish::{Change, ChangeKind, Layout, Plan, Request, for_plan};
use osp_sidecar::forge::PullRequest;
use osp_sidecar::gitlab::Error;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

const FILE: &str = "clusters/dev/team-a/db1.yaml";

fn plan(changes: Vec<(&str, Option<&str>)>, kustomize: bool) -> Plan {
    let request = Request {
        changes: changes
            .into_iter()
            .map(|(p, c)| Change {
                path: p.into(),
                content: c.map(str::to_owned),
            })
            .collect(),
        idempotency_key: "claim/team-a/db1".into(),
        title: "Add db1".into(),
        requested_by: "user:default/jane".into(),
        update_kustomization: kustomize,
        ..Request::default()
    };
    for_plan(&request, &Layout::default()).expect("plan")
}

fn mr(title: &str) -> PullRequest {
    PullRequest {
        title: title.into(),
        body: "Requested through Backstage.".into(),
        labels: vec!["osp".into()],
        ..PullRequest::default()
    }
}

#[tokio::test]
async fn a_new_merge_request_takes_four_requests_and_a_retry_writes_nothing() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path());
    let plan = plan(vec![(FILE, Some("kind: Database\n"))], false);

    let first = client
        .publish(PROJECT, "main", &plan, &mr("Add db1"))
        .await
        .expect("publish");
    assert_eq!(first.kind, ChangeKind::PullRequest);
    assert!(first.created && !first.unchanged);
    assert_eq!(first.number, 1);
    assert!(
        first
            .url
            .ends_with("/acme/platform/gitops/-/merge_requests/1"),
        "{}",
        first.url
    );
    assert_eq!(first.request_count, 4, "{:?}", fake.requests().await);
    assert_eq!(
        fake.requests().await,
        [
            format!("GET /api/v4/projects/acme%2Fplatform%2Fgitops/repository/branches/{}", plan.branch.replace('/', "%2F")),
            "GET /api/v4/projects/acme%2Fplatform%2Fgitops/repository/files/clusters%2Fdev%2Fteam-a%2Fdb1.yaml/raw".into(),
            "POST /api/v4/projects/acme%2Fplatform%2Fgitops/repository/commits".into(),
            "POST /api/v4/projects/acme%2Fplatform%2Fgitops/merge_requests".into(),
        ],
        "one Commits API call creates the branch and the file"
    );
    let files = fake.files(&plan.branch);
    assert_eq!(files[FILE], "kind: Database\n");
    assert_eq!(files["README.md"], "# gitops\n", "built on main");
    {
        let s = fake.state();
        let m = &s.merge_requests[0];
        assert_eq!(
            (m.source.as_str(), m.target.as_str()),
            (plan.branch.as_str(), "main")
        );
        assert_eq!(m.labels, ["osp"]);
    }

    let again = client
        .publish(PROJECT, "main", &plan, &mr("Add db1"))
        .await
        .expect("retry");
    assert!(!again.created && again.unchanged, "{again:?}");
    assert_eq!(again.number, 1);
    assert_eq!(again.request_count, 3, "branch, file, merge requests");
    let s = fake.state();
    assert_eq!(
        s.commit_calls, 1,
        "a retry that changes nothing writes nothing"
    );
    assert_eq!(s.merge_requests.len(), 1);
}

#[tokio::test]
async fn an_update_keeps_what_others_pushed_and_updates_the_merge_request() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path());
    let first = plan(vec![(FILE, Some("size: 1\n"))], false);
    client
        .publish(PROJECT, "main", &first, &mr("Add db1"))
        .await
        .expect("publish");
    fake.push(
        &first.branch,
        "clusters/dev/team-a/notes.md",
        "reviewer's note\n",
    );

    let second = plan(vec![(FILE, Some("size: 2\n"))], false);
    let out = client
        .publish(PROJECT, "main", &second, &mr("Resize db1"))
        .await
        .expect("update");
    assert!(!out.created && !out.unchanged, "{out:?}");
    assert_eq!(out.request_count, 5, "branch, file, commit, list, update");
    let files = fake.files(&first.branch);
    assert_eq!(files[FILE], "size: 2\n");
    assert_eq!(
        files["clusters/dev/team-a/notes.md"], "reviewer's note\n",
        "no force-push"
    );
    let s = fake.state();
    assert_eq!(s.merge_requests.len(), 1);
    assert_eq!(s.merge_requests[0].title, "Resize db1");
}

#[tokio::test]
async fn default_branch_kustomization_draft_reviewers_and_delete() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path());
    let add = plan(vec![(FILE, Some("kind: Database\n"))], true);
    let request = PullRequest {
        draft: true,
        reviewers: vec!["alice".into(), "bob".into()],
        ..mr("Add db1")
    };
    let out = client
        .publish(PROJECT, "", &add, &request)
        .await
        .expect("publish");
    assert_eq!(
        out.request_count, 8,
        "default branch, file and kustomization reads, 2 reviewers"
    );
    let files = fake.files(&add.branch);
    assert!(
        files["clusters/dev/team-a/kustomization.yaml"].contains("- db1.yaml"),
        "{files:?}"
    );
    {
        let s = fake.state();
        assert_eq!(s.merge_requests[0].title, "Draft: Add db1");
        assert_eq!(s.merge_requests[0].reviewer_ids, [11, 12]);
    }
    let unknown = PullRequest {
        reviewers: vec!["mallory".into()],
        ..mr("x")
    };
    let other = Plan {
        branch: "osp/other".into(),
        ..add.clone()
    };
    let err = client
        .publish(PROJECT, "main", &other, &unknown)
        .await
        .expect_err("unknown reviewer");
    assert!(matches!(err, Error::Validation { .. }), "{err}");
    assert!(err.to_string().contains("`mallory`"), "{err}");

    // Merged: the file is on main; a delete proposes removing it and its entry.
    {
        let mut s = fake.state();
        let head = s.branches[&add.branch].clone();
        s.branches.insert("main".into(), head);
        s.merge_requests[0].state = "merged".into();
    }
    let mut delete = plan(vec![(FILE, None)], true);
    delete.branch = "osp/delete-db1".into();
    let out = client
        .publish(PROJECT, "main", &delete, &mr("Delete db1"))
        .await
        .expect("delete");
    assert!(out.created, "{out:?}");
    let files = fake.files("osp/delete-db1");
    assert!(!files.contains_key(FILE));
    assert!(!files["clusters/dev/team-a/kustomization.yaml"].contains("db1.yaml"));

    let err = client
        .publish("gitops", "main", &add, &mr("x"))
        .await
        .expect_err("not a full path");
    assert!(matches!(err, Error::Project { .. }), "{err}");
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried() {
    let fake = Fake::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/repository/commits$"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/merge_requests$"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(serde_json::json!({"message": "Retry later"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path());
    let plan = plan(vec![(FILE, Some("kind: Database\n"))], false);
    let started = std::time::Instant::now();
    let out = client
        .publish(PROJECT, "main", &plan, &mr("Add db1"))
        .await
        .expect("publish");
    assert!(out.created);
    assert_eq!(out.request_count, 6, "one retry each");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    let s = fake.state();
    assert_eq!((s.commit_calls, s.merge_requests.len()), (1, 1));
}

#[tokio::test]
async fn a_lost_answer_then_a_retry_opens_one_merge_request() {
    let fake = Fake::start().await;
    fake.state().commit_delay = Some(Duration::from_secs(3));
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path());
    let plan = plan(vec![(FILE, Some("kind: Database\n"))], false);
    let err = client
        .publish(PROJECT, "main", &plan, &mr("Add db1"))
        .await
        .expect_err("stalled");
    // The retried commit finds the branch the lost one created: a conflict.
    assert!(
        matches!(err, Error::Unavailable { .. } | Error::Conflict { .. }),
        "{err}"
    );
    fake.state().commit_delay = None;
    let out = client
        .publish(PROJECT, "main", &plan, &mr("Add db1"))
        .await
        .expect("retry");
    assert!(
        out.created && out.unchanged,
        "the branch holds the change; the MR is new: {out:?}"
    );
    let s = fake.state();
    assert_eq!(s.merge_requests.len(), 1);
    assert_eq!(s.commit_calls, 1);
}

#[tokio::test]
async fn concurrent_identical_requests_never_open_two_merge_requests() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = std::sync::Arc::new(fake.client(dir.path()));
    let plan = plan(vec![(FILE, Some("kind: Database\n"))], false);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (client, plan) = (client.clone(), plan.clone());
        calls.spawn(async move { client.publish(PROJECT, "main", &plan, &mr("Add db1")).await });
    }
    let mut ok = 0;
    while let Some(r) = calls.join_next().await {
        match r.expect("task") {
            Ok(_) => ok += 1,
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("neither done nor a conflict: {e}"),
        }
    }
    assert!(ok >= 1);
    let out = client
        .publish(PROJECT, "main", &plan, &mr("Add db1"))
        .await
        .expect("settled");
    assert!(!out.created);
    let s = fake.state();
    let open = s
        .merge_requests
        .iter()
        .filter(|m| m.source == plan.branch)
        .count();
    assert_eq!(open, 1, "one merge request for one branch");
}

#[tokio::test]
async fn the_requesters_own_token_authors_the_change() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path());
    let plan = plan(vec![(FILE, Some("kind: Database\n"))], false);
    let as_alice = PullRequest {
        author_token: Some(osp_sidecar::secret::Secret::new(fake::ALICE_TOKEN)),
        ..mr("Add db1")
    };
    client
        .publish(PROJECT, "main", &plan, &as_alice)
        .await
        .expect("publish as alice");
    {
        let s = fake.state();
        assert_eq!(s.committers, ["alice"]);
        assert_eq!(s.merge_requests[0].author, "alice", "not the bot");
    }
    let wrong = PullRequest {
        author_token: Some(osp_sidecar::secret::Secret::new("expired")),
        ..mr("Add db1")
    };
    let err = client
        .publish(PROJECT, "main", &plan, &wrong)
        .await
        .expect_err("a bad user token");
    assert!(
        matches!(err, Error::Unauthenticated { .. }),
        "no fallback to the bot: {err}"
    );
    assert!(
        !err.to_string().contains("expired"),
        "the token never reaches a message"
    );
}
