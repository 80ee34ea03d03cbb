//! Latency of one pull request against the wiremock fake GitHub and of one
//! merge request against the fake GitLab (loopback HTTP/1.1, token auth),
//! plus the local Git target for comparison. Run with
//! `cargo bench -p osp-sidecar --bench publish`.
#![allow(clippy::unwrap_used)]

#[path = "../tests/fake/github.rs"]
mod fake;
#[path = "../tests/fake/gitlab.rs"]
mod fake_gitlab;

use std::time::{Duration, Instant};

use osp::publish::{Change, Layout, Plan, Request, for_plan};
use osp_sidecar::forge::PullRequest;

const ROUNDS: usize = 200;

fn plan(key: &str) -> Plan {
    let request = Request {
        changes: vec![Change {
            path: format!("clusters/dev/team-a/{key}.yaml"),
            content: Some(format!(
                "apiVersion: database.example.org/v1alpha1\nkind: XPostgreSQLInstance\nmetadata:\n  name: {key}\n"
            )),
        }],
        idempotency_key: format!("claim/team-a/{key}"),
        title: format!("Add {key}"),
        requested_by: "user:default/bench".into(),
        update_kustomization: false,
        ..Request::default()
    };
    for_plan(&request, &Layout::default()).unwrap()
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: usize| samples[(samples.len() - 1) * p / 100];
    println!(
        "{name}: n={} median={:?} p95={:?} min={:?}",
        samples.len(),
        pct(50),
        pct(95),
        samples[0]
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let fake = fake::Fake::start("").await;
        let dir = tempfile::tempdir().unwrap();
        let client = fake.client(dir.path());
        let pr = PullRequest {
            title: "Add".into(),
            ..PullRequest::default()
        };
        let (mut new, mut again) = (Vec::new(), Vec::new());
        let mut requests = 0;
        for i in 0..ROUNDS {
            let plan = plan(&format!("db{i}"));
            let t = Instant::now();
            let out = client
                .publish("acme/gitops", "main", &plan, &pr)
                .await
                .unwrap();
            new.push(t.elapsed());
            requests = out.request_count;
            let t = Instant::now();
            client
                .publish("acme/gitops", "main", &plan, &pr)
                .await
                .unwrap();
            again.push(t.elapsed());
        }
        println!("requests per new pull request: {requests}");
        report("github fake, new pull request", new);
        report("github fake, identical retry (unchanged)", again);

        let fake = fake_gitlab::Fake::start().await;
        let client = fake.client(dir.path());
        let (mut new, mut again) = (Vec::new(), Vec::new());
        for i in 0..ROUNDS {
            let plan = plan(&format!("db{i}"));
            let t = Instant::now();
            let out = client
                .publish(fake_gitlab::PROJECT, "main", &plan, &pr)
                .await
                .unwrap();
            new.push(t.elapsed());
            requests = out.request_count;
            let t = Instant::now();
            let out = client
                .publish(fake_gitlab::PROJECT, "main", &plan, &pr)
                .await
                .unwrap();
            again.push(t.elapsed());
            assert!(out.unchanged);
        }
        println!("requests per new merge request: {requests}");
        report("gitlab fake, new merge request", new);
        report("gitlab fake, identical retry (unchanged)", again);
    });
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init_bare(dir.path()).unwrap();
    let tree = repo.treebuilder(None).unwrap().write().unwrap();
    let tree = repo.find_tree(tree).unwrap();
    let sig = git2::Signature::now("bench", "bench@example.com").unwrap();
    repo.commit(Some("refs/heads/main"), &sig, &sig, "init", &tree, &[])
        .unwrap();
    let mut local = Vec::new();
    for i in 0..ROUNDS {
        let plan = plan(&format!("db{i}"));
        let t = Instant::now();
        osp_sidecar::gitlocal::publish(dir.path(), "main", &plan).unwrap();
        local.push(t.elapsed());
    }
    report("local git, new branch", local);
}
