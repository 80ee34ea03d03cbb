//! Failures from a fake GitHub: each status maps to its error variant,
//! transient ones are retried within bounds, and no error carries the token.
#[path = "fake/github.rs"]
mod fake;

use std::time::{Duration, Instant};

use fake::{Fake, TOKEN};
use osp::publish::{Change, Layout, Plan, Request, for_plan};
use osp_sidecar::github::{Credentials, Error, PullRequest, SecretSource};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

const FILE: &str = "clusters/dev/db1.yaml";

fn plan() -> Plan {
    let request = Request {
        changes: vec![Change {
            path: FILE.into(),
            content: Some("a: 1\n".into()),
        }],
        idempotency_key: "claim/dev/db1".into(),
        title: "Add db1".into(),
        ..Request::default()
    };
    for_plan(&request, &Layout::default()).expect("plan")
}

fn pr() -> PullRequest {
    PullRequest {
        title: "Add db1".into(),
        ..PullRequest::default()
    }
}

fn github_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    }))
}

/// Answers the first `times` matching requests with `response`.
async fn inject(fake: &Fake, verb: &str, path: &str, response: ResponseTemplate, times: u64) {
    Mock::given(method(verb))
        .and(path_regex(path))
        .respond_with(response)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(&fake.server)
        .await;
}

#[tokio::test]
async fn maps_client_errors_without_retrying() {
    struct Case {
        reason: &'static str,
        verb: &'static str,
        path: &'static str,
        response: ResponseTemplate,
        want: fn(&Error) -> bool,
        message: &'static str,
    }
    let cases = [
        Case {
            reason: "403 without rate-limit signs is a permission problem",
            verb: "GET",
            path: "/branches/",
            response: github_error(403, "Resource not accessible by integration"),
            want: |e| matches!(e, Error::PermissionDenied { .. }),
            message: "Resource not accessible by integration",
        },
        Case {
            reason: "404 on the repository",
            verb: "GET",
            path: "/branches/",
            response: github_error(404, "Not Found"),
            want: |e| matches!(e, Error::NotFound { .. }),
            message: "not found (404)",
        },
        Case {
            reason: "422 carries GitHub's message",
            verb: "POST",
            path: "/git/trees$",
            response: ResponseTemplate::new(422).set_body_json(serde_json::json!({
                "message": "Validation Failed",
                "errors": [{"resource": "Tree", "code": "custom", "message": "tree.path contains a malformed path component"}],
            })),
            want: |e| matches!(e, Error::Validation { .. }),
            message: "Validation Failed: tree.path contains a malformed path component",
        },
        Case {
            reason: "a branch that moved under us is a conflict to retry",
            verb: "POST",
            path: "/git/refs$",
            response: github_error(422, "Reference already exists"),
            want: |e| matches!(e, Error::Conflict { .. }),
            message: "retry the request",
        },
        Case {
            reason: "409 is a conflict",
            verb: "POST",
            path: "/git/commits$",
            response: github_error(409, "Git Repository is empty."),
            want: |e| matches!(e, Error::Conflict { .. }),
            message: "Git Repository is empty.",
        },
    ];
    for c in cases {
        let fake = Fake::start("").await;
        let dir = tempfile::tempdir().expect("tempdir");
        inject(&fake, c.verb, c.path, c.response, 5).await;
        let err = fake
            .client(dir.path())
            .publish("acme/gitops", "main", &plan(), &pr())
            .await
            .expect_err(c.reason);
        assert!((c.want)(&err), "{}: {err}", c.reason);
        assert!(err.to_string().contains(c.message), "{}: {err}", c.reason);
        let hits = fake.requests().await;
        let matching = hits
            .iter()
            .filter(|r| r.starts_with(c.verb) && r.contains(c.path.trim_end_matches('$')))
            .count();
        assert_eq!(matching, 1, "{}: not retried: {hits:?}", c.reason);
    }
}

#[tokio::test]
async fn bad_credentials_are_unauthenticated_and_never_echoed() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "ghp_wrong_secret_value").expect("write");
    let err = fake
        .client_with(Credentials::Token(SecretSource::File(token)))
        .publish("acme/gitops", "main", &plan(), &pr())
        .await
        .expect_err("401");
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err}");
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("ghp_wrong_secret_value") && !text.contains(TOKEN),
        "{text}"
    );
    assert!(text.contains("Bad credentials"), "{text}");
}

#[tokio::test]
async fn a_missing_token_file_names_the_file_only() {
    let fake = Fake::start("").await;
    let err = fake
        .client_with(Credentials::Token(SecretSource::File(
            "/nonexistent/token".into(),
        )))
        .publish("acme/gitops", "main", &plan(), &pr())
        .await
        .expect_err("no token");
    assert!(matches!(err, Error::Credentials { .. }), "{err}");
    assert!(err.to_string().contains("`/nonexistent/token`"), "{err}");
}

#[tokio::test]
async fn waits_out_a_secondary_rate_limit_with_retry_after() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let limited = github_error(
        403,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    )
    .insert_header("retry-after", "1");
    inject(&fake, "POST", "/git/trees$", limited, 1).await;
    let started = Instant::now();
    let out = fake
        .client(dir.path())
        .publish("acme/gitops", "main", &plan(), &pr())
        .await
        .expect("publish after the limit");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "honoured Retry-After"
    );
    assert_eq!(out.request_count, 7, "six plus one retry");
}

#[tokio::test]
async fn gives_up_when_the_rate_limit_outlasts_the_budget() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let reset = chrono::Utc::now().timestamp() + 3600;
    let limited = github_error(403, "API rate limit exceeded for installation ID 42.")
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", reset.to_string().as_str());
    inject(&fake, "GET", "/branches/", limited, 5).await;
    let started = Instant::now();
    let err = fake
        .client(dir.path())
        .publish("acme/gitops", "main", &plan(), &pr())
        .await
        .expect_err("rate limited");
    assert!(
        matches!(err, Error::RateLimited { retry_after_secs, .. } if retry_after_secs > 3000),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no hopeless wait"
    );
}

#[tokio::test]
async fn retries_server_errors_then_succeeds() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    inject(
        &fake,
        "POST",
        "/git/commits$",
        github_error(502, "Server Error"),
        2,
    )
    .await;
    let out = fake
        .client(dir.path())
        .publish("acme/gitops", "main", &plan(), &pr())
        .await
        .expect("publish after 502s");
    assert!(out.created);
    assert_eq!(out.request_count, 8, "six plus two retries");
}

#[tokio::test]
async fn server_errors_beyond_the_attempt_budget_are_unavailable() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    inject(
        &fake,
        "GET",
        "/branches/",
        github_error(503, "Service Unavailable"),
        10,
    )
    .await;
    let err = fake
        .client(dir.path())
        .publish("acme/gitops", "main", &plan(), &pr())
        .await
        .expect_err("unavailable");
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert_eq!(fake.requests().await.len(), 3, "bounded by max_attempts");
}
