//! GitHub App authentication against a fake GitHub: the installation token
//! is minted with the app JWT, cached, refreshed before it expires, and
//! re-minted once when GitHub revokes it early.
#[path = "fake/github.rs"]
mod fake;

use fake::Fake;
use osp::publish::{Change, Layout, Plan, Request, for_plan};
use osp_sidecar::github::{Client, Credentials, PullRequest, SecretSource};

const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake/app-key.pem");

fn plan(content: &str) -> Plan {
    let request = Request {
        changes: vec![Change {
            path: "clusters/dev/db1.yaml".into(),
            content: Some(content.into()),
        }],
        idempotency_key: "claim/dev/db1".into(),
        title: "Add db1".into(),
        ..Request::default()
    };
    for_plan(&request, &Layout::default()).expect("plan")
}

fn app_client(fake: &Fake) -> Client {
    fake.client_with(Credentials::App {
        app_id: 1234,
        installation_id: 42,
        private_key: SecretSource::File(KEY.into()),
    })
}

fn pr() -> PullRequest {
    PullRequest {
        title: "Add db1".into(),
        ..PullRequest::default()
    }
}

#[tokio::test]
async fn exchanges_the_app_jwt_for_an_installation_token_once() {
    let fake = Fake::start("/api/v3").await;
    let client = app_client(&fake);
    let first = client
        .publish("acme/gitops", "main", &plan("a: 1\n"), &pr())
        .await
        .expect("publish");
    assert_eq!(first.request_count, 7, "token exchange plus six");
    let requests = fake.requests().await;
    assert_eq!(
        requests[0],
        "POST /api/v3/app/installations/42/access_tokens"
    );
    client
        .publish("acme/gitops", "main", &plan("a: 2\n"), &pr())
        .await
        .expect("second publish");
    assert_eq!(fake.state().minted, 1, "cached token reused");
}

#[tokio::test]
async fn refreshes_a_token_close_to_expiry() {
    let fake = Fake::start("").await;
    // Issued with just over the refresh margin left: fresh for the first
    // publication, due for renewal after a short wait.
    fake.state().token_lifetime = 5 * 60 + 2;
    let client = app_client(&fake);
    client
        .publish("acme/gitops", "main", &plan("a: 1\n"), &pr())
        .await
        .expect("publish");
    assert_eq!(
        fake.state().minted,
        1,
        "one token for the whole publication"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    client
        .publish("acme/gitops", "main", &plan("a: 2\n"), &pr())
        .await
        .expect("publish");
    assert_eq!(fake.state().minted, 2);
}

#[tokio::test]
async fn re_mints_a_revoked_token_once() {
    let fake = Fake::start("").await;
    let client = app_client(&fake);
    client
        .publish("acme/gitops", "main", &plan("a: 1\n"), &pr())
        .await
        .expect("publish");
    fake.state().tokens.retain(|t| !t.starts_with("ghs_"));
    let out = client
        .publish("acme/gitops", "main", &plan("a: 2\n"), &pr())
        .await
        .expect("publish with a fresh token");
    assert!(!out.unchanged);
    assert_eq!(fake.state().minted, 2);
}

#[tokio::test]
async fn a_bad_private_key_fails_without_a_request() {
    let fake = Fake::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("key.pem");
    std::fs::write(&key, "not a key").expect("write");
    let err = fake
        .client_with(Credentials::App {
            app_id: 1,
            installation_id: 42,
            private_key: SecretSource::File(key),
        })
        .publish("acme/gitops", "main", &plan("a: 1\n"), &pr())
        .await
        .expect_err("bad key");
    assert!(err.to_string().contains("not an RSA PEM key"), "{err}");
    assert!(fake.requests().await.is_empty());
}
