//! Pull requests against a fake GitHub: the happy paths, idempotency and
//! the number of requests each takes.
#[path = "fake/github.rs"]
mod fake;

use std::time::Duration;

use fake::{Delayed, Fake};
use osp::publish::{Change, ChangeKind, Layout, Plan, Request, for_plan};
use osp_sidecar::github::{Error, PullRequest};
use wiremock::Mock;
use wiremock::matchers::{method, path};

const REPOSITORY: &str = "acme/gitops";
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
    let layout = Layout {
        base: "clusters".into(),
        ..Layout::default()
    };
    for_plan(&request, &layout).expect("plan")
}

fn pr(title: &str) -> PullRequest {
    PullRequest {
        title: title.into(),
        body: "Requested in Backstage.".into(),
        ..PullRequest::default()
    }
}

#[tokio::test]
async fn creates_a_pull_request_in_six_requests() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(vec![(FILE, Some("kind: XPostgreSQLInstance\n"))], false);
    let started = std::time::Instant::now();
    let out = fake
        .client(dir.path())
        .publish(REPOSITORY, "main", &plan, &pr("Add db1"))
        .await
        .expect("publish");
    println!("one pull request against the fake: {:?}", started.elapsed());
    assert!(out.created && !out.unchanged);
    assert_eq!(out.kind, ChangeKind::PullRequest);
    assert_eq!(out.number, 1);
    assert_eq!(out.url, "https://github.com/acme/gitops/pull/1");
    assert!(out.branch.starts_with("osp/claim-team-a-db1-"));
    let files = fake.files(&out.branch);
    assert_eq!(files[FILE], "kind: XPostgreSQLInstance\n");
    assert_eq!(files["README.md"], "# gitops\n", "built on the base tree");
    let b = &out.branch;
    assert_eq!(
        fake.requests().await,
        [
            format!("GET /repos/acme/gitops/branches/{b}"),
            "GET /repos/acme/gitops/branches/main".into(),
            "POST /repos/acme/gitops/git/trees".into(),
            "POST /repos/acme/gitops/git/commits".into(),
            "POST /repos/acme/gitops/git/refs".into(),
            "POST /repos/acme/gitops/pulls".into(),
        ]
    );
    assert_eq!(out.request_count, 6);
    let s = fake.state();
    let commit = &s.commits[&out.commit_sha];
    assert!(
        commit
            .message
            .contains("Osp-Requested-By: user:default/jane")
    );
    assert_eq!(commit.parents, [s.refs["main"].clone()]);
}

#[tokio::test]
async fn second_identical_request_changes_nothing() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path());
    let plan = plan(vec![(FILE, Some("a: 1\n"))], false);
    let first = client
        .publish(REPOSITORY, "main", &plan, &pr("Add db1"))
        .await
        .expect("first");
    let second = client
        .publish(REPOSITORY, "main", &plan, &pr("Add db1"))
        .await
        .expect("second");
    assert!(second.unchanged && !second.created);
    assert_eq!(
        (second.kind, second.number, &second.commit_sha, &second.url),
        (
            ChangeKind::PullRequest,
            first.number,
            &first.commit_sha,
            &first.url
        ),
        "the pull request is still the change"
    );
    // get branch, create tree (same SHA: stop), list pulls.
    assert_eq!(second.request_count, 3);
    assert_eq!(fake.state().pulls.len(), 1);
}

#[tokio::test]
async fn retry_after_timeout_opens_no_duplicate() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    // GitHub opens the PR but the answer comes after the client gave up.
    Mock::given(method("POST"))
        .and(path("/repos/acme/gitops/pulls"))
        .respond_with(Delayed(fake.clone(), Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let plan = plan(vec![(FILE, Some("a: 1\n"))], false);
    let client = fake.client(dir.path());
    // The client retries the timed-out POST, which GitHub answers with
    // "already exists"; the client adopts that pull request.
    let out = client
        .publish(REPOSITORY, "main", &plan, &pr("Add db1"))
        .await
        .expect("publish");
    assert_eq!(out.number, 1);
    // The caller retries the whole request too (e.g. Backstage timed out).
    let again = client
        .publish(REPOSITORY, "main", &plan, &pr("Add db1"))
        .await
        .expect("again");
    assert_eq!((again.number, again.unchanged), (1, true));
    let s = fake.state();
    assert_eq!(s.pulls.len(), 1, "one pull request");
    assert_eq!(s.refs.len(), 2, "main and one head branch");
}

#[tokio::test]
async fn updates_the_existing_pull_request_on_top_of_others_commits() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = fake.client(dir.path());
    let v1 = plan(vec![(FILE, Some("size: 10\n"))], false);
    let first = client
        .publish(REPOSITORY, "main", &v1, &pr("Add db1"))
        .await
        .expect("v1");
    let pushed = fake.push(
        &first.branch,
        "clusters/dev/team-a/NOTES.md",
        "reviewer note\n",
    );
    let v2 = plan(vec![(FILE, Some("size: 20\n"))], false);
    let second = client
        .publish(REPOSITORY, "main", &v2, &pr("Resize db1"))
        .await
        .expect("v2");
    assert!(!second.created && !second.unchanged);
    assert_eq!(second.number, first.number);
    let files = fake.files(&second.branch);
    assert_eq!(files[FILE], "size: 20\n");
    assert_eq!(
        files["clusters/dev/team-a/NOTES.md"], "reviewer note\n",
        "kept"
    );
    let s = fake.state();
    assert_eq!(s.commits[&second.commit_sha].parents, [pushed]);
    assert_eq!(s.pulls[0].title, "Resize db1");
    // get branch, tree, commit, update ref, list pulls, update title.
    assert_eq!(second.request_count, 6);
}

#[tokio::test]
async fn deletes_a_file_and_its_kustomization_entry() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    fake.push("main", FILE, "a: 1\n");
    fake.push(
        "main",
        "clusters/dev/team-a/kustomization.yaml",
        "resources:\n- db1.yaml\n- db2.yaml\n",
    );
    let plan = plan(vec![(FILE, None)], true);
    let out = fake
        .client(dir.path())
        .publish(REPOSITORY, "main", &plan, &pr("Remove db1"))
        .await
        .expect("publish");
    let files = fake.files(&out.branch);
    assert!(!files.contains_key(FILE));
    assert_eq!(
        files["clusters/dev/team-a/kustomization.yaml"],
        "resources:\n- db2.yaml\n"
    );
    // Two reads (the file, its kustomization) on top of the six.
    assert_eq!(out.request_count, 8);
}

#[tokio::test]
async fn adds_labels_and_reviewers_only_when_given() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(vec![(FILE, Some("a: 1\n"))], true);
    let request = PullRequest {
        labels: vec!["osp".into(), "team-a".into()],
        reviewers: vec!["jane".into()],
        draft: true,
        ..pr("Add db1")
    };
    let client = fake.client(dir.path());
    let out = client
        .publish(REPOSITORY, "", &plan, &request)
        .await
        .expect("publish");
    let files = fake.files(&out.branch);
    assert_eq!(
        files["clusters/dev/team-a/kustomization.yaml"],
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- db1.yaml\n"
    );
    {
        let s = fake.state();
        assert_eq!(s.pulls[0].labels, ["osp", "team-a"]);
        assert_eq!(s.pulls[0].reviewers, ["jane"]);
        assert!(s.pulls[0].draft);
    }
    // + default branch, kustomization read, labels, reviewers.
    assert_eq!(out.request_count, 10);
    let again = client
        .publish(REPOSITORY, "", &plan, &request)
        .await
        .expect("again");
    assert_eq!(again.request_count, 4, "no labels or reviewers re-sent");
}

#[tokio::test]
async fn works_against_a_github_enterprise_base_path() {
    let fake = Fake::start("/api/v3").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(vec![(FILE, Some("a: 1\n"))], false);
    let out = fake
        .client(dir.path())
        .publish(REPOSITORY, "main", &plan, &pr("Add db1"))
        .await
        .expect("publish");
    assert!(out.created);
    let requests = fake.requests().await;
    assert!(
        requests
            .iter()
            .all(|r| r.contains(" /api/v3/repos/acme/gitops")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn rejects_a_malformed_repository_before_any_request() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(vec![(FILE, Some("a: 1\n"))], false);
    let err = fake
        .client(dir.path())
        .publish("acme/../x", "main", &plan, &pr("x"))
        .await
        .expect_err("bad repository");
    assert!(matches!(err, Error::Repository { .. }), "{err}");
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn the_requesters_own_token_is_used_for_that_publication_only() {
    let fake = Fake::start("").await;
    fake.state().tokens.push("gho_alice".into());
    let dir = tempfile::tempdir().expect("tempdir");
    // No configured token is readable: only the requester's can work.
    let client = fake.client_with(osp_sidecar::github::Credentials::Token(
        osp_sidecar::github::SecretSource::File(dir.path().join("missing")),
    ));
    let plan = plan(vec![(FILE, Some("kind: Database\n"))], false);
    let as_alice = PullRequest {
        author_token: Some(osp_sidecar::secret::Secret::new("gho_alice")),
        ..pr("Add db1")
    };
    let out = client
        .publish(REPOSITORY, "main", &plan, &as_alice)
        .await
        .expect("as alice");
    assert!(out.created);
    let err = client
        .publish(REPOSITORY, "main", &plan, &pr("Add db1"))
        .await
        .expect_err("without it, the configured (unreadable) credential");
    assert!(err.to_string().contains("missing"), "{err}");
    let wrong = PullRequest {
        author_token: Some(osp_sidecar::secret::Secret::new("gho_expired")),
        ..pr("Add db1")
    };
    let err = client
        .publish(REPOSITORY, "main", &plan, &wrong)
        .await
        .expect_err("a bad user token");
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err}");
    assert!(!err.to_string().contains("gho_expired"));
}
