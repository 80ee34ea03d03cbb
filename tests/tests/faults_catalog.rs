//! The catalog never empties while the API server misbehaves: a caller
//! polling GetSnapshot every 50 ms through stalled responses, cut watches
//! and a cluster answering only 500s always gets OK with every entity it
//! had, and the catalog follows the cluster again once the faults clear.
//! (`catalog_apiserver.rs` checks the end states; this checks every answer
//! in between, and stalls.)
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_sidecar::pb::{self, GetSnapshotRequest};
use osp_tests::kube::proxy::Proxy;
use osp_tests::kube::{ApiServer, wait_xrd_established, xrd_resource};
use osp_tests::server::OspServer;
use serde_json::json;
use tonic::transport::Channel;

const GROUP: &str = "faults.example.org";
const CLAIMS: [&str; 3] = ["f1", "f2", "f3"];
/// Client-side bound on every snapshot call; it must never fire.
const BOUND: Duration = Duration::from_secs(5);

fn claims_api(kube: &kube::Client) -> Api<DynamicObject> {
    let gvk = kube::api::GroupVersionKind::gvk(GROUP, "v1", "Faulty");
    let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, "faulties");
    Api::namespaced_with(kube.clone(), "team-a", &ar)
}

fn claim(name: &str) -> Result<DynamicObject> {
    Ok(serde_json::from_value(json!({
        "apiVersion": format!("{GROUP}/v1"), "kind": "Faulty",
        "metadata": {"name": name, "namespace": "team-a",
                     "annotations": {"osp.dev/owner": "group:default/team-a"}},
        "spec": {"size": 1}
    }))?)
}

async fn create_xrd(kube: &kube::Client) -> Result<()> {
    let xrd = json!({
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": format!("xfaulties.{GROUP}")},
        "spec": {
            "group": GROUP,
            "names": {"kind": "XFaulty", "plural": "xfaulties"},
            "claimNames": {"kind": "Faulty", "plural": "faulties"},
            "versions": [{
                "name": "v1", "served": true, "referenceable": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                }}}
            }]
        }
    });
    let api: Api<DynamicObject> = Api::all_with(kube.clone(), &xrd_resource());
    if let Err(e) = api
        .create(&PostParams::default(), &serde_json::from_value(xrd)?)
        .await
    {
        // A rerun against the same shared API server finds it there.
        if !e.to_string().contains("already exists") {
            return Err(e.into());
        }
    }
    wait_xrd_established(kube, &format!("xfaulties.{GROUP}"), Duration::from_secs(30)).await?;
    Ok(())
}

fn kubeconfig(dir: &std::path::Path, proxy: &str, token: &str) -> Result<PathBuf> {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster: {{server: \"{proxy}\"}}\nusers:\n- name: admin\n  user: {{token: {token}}}\ncontexts:\n- name: prod\n  context: {{cluster: proxy, user: admin}}\ncurrent-context: prod\n"
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn refs(s: &pb::GetSnapshotResponse) -> BTreeSet<String> {
    s.entities.iter().map(|e| e.r#ref.clone()).collect()
}

fn resource(name: &str) -> String {
    format!("resource:default/{name}.faulty.team-a.prod")
}

async fn snapshot(c: &mut CatalogServiceClient<Channel>) -> Result<pb::GetSnapshotResponse> {
    match tokio::time::timeout(BOUND, c.get_snapshot(GetSnapshotRequest::default())).await {
        Ok(Ok(r)) => Ok(r.into_inner()),
        Ok(Err(s)) => bail!("GetSnapshot: {s}"),
        Err(_) => bail!("GetSnapshot hung past {BOUND:?}"),
    }
}

/// Polls until `done` holds for a snapshot (answers that one).
async fn until(
    c: &mut CatalogServiceClient<Channel>,
    what: &str,
    within: Duration,
    done: impl Fn(&pb::GetSnapshotResponse) -> bool,
) -> Result<pb::GetSnapshotResponse> {
    let start = Instant::now();
    loop {
        if let Ok(s) = snapshot(c).await
            && done(&s)
        {
            return Ok(s);
        }
        if start.elapsed() > within {
            bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the poller saw.
#[derive(Debug, Default)]
struct Seen {
    answers: usize,
    failures: Vec<String>,
    smallest: Option<usize>,
    slowest: Duration,
    /// Answers with the cluster marked stale.
    stale: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_never_empties_under_api_server_faults() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let kube = server.client().await?;
    create_xrd(&kube).await?;
    let api = claims_api(&kube);
    for n in CLAIMS {
        let _ = api.delete(n, &DeleteParams::default()).await;
    }
    for n in CLAIMS {
        api.create(&PostParams::default(), &claim(n)?).await?;
    }

    let proxy = Proxy::start(server.url(), &server.info.ca_pem).await?;
    let dir = std::env::temp_dir().join(format!("osp-faults-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = kubeconfig(&dir, &proxy.url(), &server.info.admin_token)?;
    let sidecar = OspServer::start(&[
        "--kubeconfig",
        &config.display().to_string(),
        "--context",
        "prod",
    ])?;
    let target = format!("http://{}", sidecar.target());
    let mut c = CatalogServiceClient::connect(target.clone()).await?;

    let template = format!("template:default/xfaulties.{GROUP}");
    let baseline = until(&mut c, "initial sync", Duration::from_secs(30), |s| {
        let r = refs(s);
        r.contains(&template) && CLAIMS.iter().all(|n| r.contains(&resource(n)))
    })
    .await?;
    let want: BTreeSet<String> = std::iter::once(template.clone())
        .chain(CLAIMS.iter().map(|n| resource(n)))
        .collect();
    proxy.wait_live_watches(1, Duration::from_secs(10)).await?;

    // Another caller polls all along, on its own connection.
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (stop, want) = (stop.clone(), want.clone());
        let mut c = CatalogServiceClient::connect(target).await?;
        tokio::spawn(async move {
            let mut seen = Seen::default();
            while !stop.load(Ordering::SeqCst) {
                let start = Instant::now();
                match snapshot(&mut c).await {
                    Ok(s) => {
                        let r = refs(&s);
                        seen.answers += 1;
                        seen.stale += usize::from(s.clusters.iter().any(|c| c.stale));
                        seen.smallest = Some(seen.smallest.map_or(r.len(), |m| m.min(r.len())));
                        let missing: Vec<_> = want.difference(&r).collect();
                        if !missing.is_empty() {
                            seen.failures.push(format!("missing {missing:?}"));
                        }
                    }
                    Err(e) => seen.failures.push(e.to_string()),
                }
                seen.slowest = seen.slowest.max(start.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        })
    };

    // 1. Every API server response stalls 2 s; watches are cut meanwhile.
    proxy.stall(Some(Duration::from_secs(2)));
    proxy.drop_watches();
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.stall(None);

    // 2. The cluster answers only 500s and every watch is cut, until the
    //    catalog marks it stale.
    proxy.fail_next(usize::MAX / 2);
    proxy.drop_watches();
    let stale_from = Instant::now();
    let stale = until(
        &mut c,
        "cluster marked stale",
        Duration::from_secs(30),
        |s| s.clusters.first().is_some_and(|c| c.stale),
    )
    .await?;
    let stale_after = stale_from.elapsed();
    assert!(
        want.is_subset(&refs(&stale)),
        "a stale cluster keeps its entities"
    );

    // 3. The faults clear: the cluster is followed again, a new claim shows.
    proxy.fail_next(0);
    let recovered_from = Instant::now();
    until(&mut c, "cluster recovered", Duration::from_secs(30), |s| {
        s.clusters.first().is_some_and(|c| !c.stale)
    })
    .await?;
    let recovered_after = recovered_from.elapsed();
    api.create(&PostParams::default(), &claim("f4")?).await?;
    until(
        &mut c,
        "claim after recovery",
        Duration::from_secs(20),
        |s| refs(s).contains(&resource("f4")),
    )
    .await?;

    stop.store(true, Ordering::SeqCst);
    let seen = poller.await?;
    eprintln!(
        "baseline {} entities; poller: {} answers ({} stale), smallest {:?}, slowest {:?}; \
         stale after {stale_after:?}, recovered {recovered_after:?} after the faults cleared; \
         proxy faults {:?}",
        baseline.entities.len(),
        seen.answers,
        seen.stale,
        seen.smallest,
        seen.slowest,
        proxy.counts().faults.load(Ordering::SeqCst),
    );
    assert!(seen.answers > 20, "the poller ran throughout: {seen:?}");
    assert!(
        seen.failures.is_empty(),
        "every snapshot during the faults answered OK with every entity: {:?}",
        seen.failures
    );
    for n in CLAIMS.iter().chain(&["f4"]) {
        let _ = api.delete(n, &DeleteParams::default()).await;
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
