//! CatalogService of the real binary watching the real API server through
//! the fault-injecting proxy: an XRD added → its Template in the next
//! delta; a claim created, its status changed, then deleted → Resource
//! added, updated, removed; watches cut and answered `410 Gone` → nothing
//! lost or duplicated; the cluster failing → entities stay, marked stale;
//! an unreachable second cluster → the first is served after the timeout.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_sidecar::pb::{self, GetDeltaRequest, GetSnapshotRequest};
use osp_tests::kube::proxy::{Gone, Proxy};
use osp_tests::kube::{ApiServer, wait_xrd_established, xrd_resource};
use osp_tests::server::OspServer;
use serde_json::{Value, json};
use tonic::transport::Channel;

fn xrd(group: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": format!("xdatabases.{group}")},
        "spec": {
            "group": group,
            "names": {"kind": "XDatabase", "plural": "xdatabases"},
            "claimNames": {"kind": "Database", "plural": "databases"},
            "versions": [{"name": "v1", "served": true, "referenceable": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]
        }
    })
}

fn claims(group: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", "Database"), "databases")
}

fn claim(group: &str, name: &str) -> Result<DynamicObject> {
    Ok(serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Database",
        "metadata": {"name": name, "namespace": "team-a",
                     "annotations": {"osp.dev/owner": "group:default/team-a"}},
        "spec": {"size": 1}
    }))?)
}

fn resource_ref(group: &str, name: &str, cluster: &str) -> String {
    // Entity names don't carry the group: keep test groups' kinds distinct
    // per test through the claim names instead.
    let _ = group;
    format!("resource:default/{name}.database.team-a.{cluster}")
}

/// A kubeconfig for the sidecar: context `prod` through the proxy, and
/// context `dead` pointing at a port nobody listens on.
fn kubeconfig(dir: &Path, proxy: &str, token: &str) -> Result<PathBuf> {
    let dead = osp_tests::server::free_addr()?;
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster: {{server: \"{proxy}\"}}\n- name: dead\n  cluster: {{server: \"http://{dead}\"}}\nusers:\n- name: admin\n  user: {{token: {token}}}\ncontexts:\n- name: prod\n  context: {{cluster: proxy, user: admin}}\n- name: dead\n  context: {{cluster: dead, user: admin}}\ncurrent-context: prod\n"
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn temp_dir(tag: &str) -> Result<PathBuf> {
    let p = std::env::temp_dir().join(format!("osp-catalog-kube-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&p)?;
    Ok(p)
}

async fn client(server: &OspServer) -> Result<CatalogServiceClient<Channel>> {
    Ok(CatalogServiceClient::connect(format!("http://{}", server.target())).await?)
}

async fn snapshot(c: &mut CatalogServiceClient<Channel>) -> Result<pb::GetSnapshotResponse> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match c.get_snapshot(GetSnapshotRequest::default()).await {
            Ok(r) => return Ok(r.into_inner()),
            Err(s) if s.code() == tonic::Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => bail!("GetSnapshot: {s}"),
        }
    }
}

/// Polls GetDelta since `since` until `done` holds; returns the delta and
/// how long it took.
async fn until(
    c: &mut CatalogServiceClient<Channel>,
    since: u64,
    what: &str,
    done: impl Fn(&pb::GetDeltaResponse) -> bool,
) -> Result<(pb::GetDeltaResponse, Duration)> {
    let start = Instant::now();
    loop {
        let d = c
            .get_delta(GetDeltaRequest {
                since_revision: since,
                ..Default::default()
            })
            .await?
            .into_inner();
        assert!(!d.resync_needed, "{what}: no resync expected");
        if done(&d) {
            return Ok((d, start.elapsed()));
        }
        if start.elapsed() > Duration::from_secs(20) {
            bail!("{what}: not seen; last delta {:?}", refs(&d.upserted));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn refs(es: &[pb::Entity]) -> Vec<String> {
    es.iter().map(|e| e.r#ref.clone()).collect()
}

fn annotation(e: &pb::Entity, key: &str) -> String {
    let v = osp_sidecar::from_struct(&e.entity.clone().unwrap_or_default());
    v["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn create_xrd(kube: &kube::Client, group: &str) -> Result<()> {
    let api: Api<DynamicObject> = Api::all_with(kube.clone(), &xrd_resource());
    api.create(&PostParams::default(), &serde_json::from_value(xrd(group))?)
        .await?;
    wait_xrd_established(
        kube,
        &format!("xdatabases.{group}"),
        Duration::from_secs(30),
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_follows_the_api_server() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let kube = server.client().await?;
    let (g1, g2) = ("cat1.example.org", "cat2.example.org");
    create_xrd(&kube, g1).await?;

    let proxy = Proxy::start(server.url(), &server.info.ca_pem).await?;
    let dir = temp_dir("follow")?;
    let config = kubeconfig(&dir, &proxy.url(), &server.info.admin_token)?;
    let sidecar = OspServer::start(&[
        "--kubeconfig",
        &config.display().to_string(),
        "--context",
        "prod",
    ])?;
    let mut c = client(&sidecar).await?;

    let started = Instant::now();
    let snap = snapshot(&mut c).await?;
    eprintln!("first snapshot after {:?}", started.elapsed());
    let t1 = format!("template:default/xdatabases.{g1}");
    assert!(
        refs(&snap.entities).contains(&t1),
        "{:?}",
        refs(&snap.entities)
    );
    assert_eq!(
        snap.clusters
            .iter()
            .map(|s| (s.name.as_str(), s.synced, s.stale))
            .collect::<Vec<_>>(),
        vec![("prod", true, false)]
    );

    // An XRD added → its Template in the next delta.
    create_xrd(&kube, g2).await?;
    let t2 = format!("template:default/xdatabases.{g2}");
    let (d, took) = until(&mut c, snap.revision, "new XRD", |d| {
        refs(&d.upserted).contains(&t2)
    })
    .await?;
    eprintln!("XRD established → Template in a delta after {took:?}");
    let mut rev = d.revision;

    // A claim created, its status changed, then deleted.
    let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), "team-a", &claims(g1));
    api.create(&PostParams::default(), &claim(g1, "orders")?)
        .await?;
    let r = resource_ref(g1, "orders", "prod");
    let (d, took) = until(&mut c, rev, "claim created", |d| {
        refs(&d.upserted).contains(&r)
    })
    .await?;
    eprintln!("claim created → Resource in a delta after {took:?}");
    let e = d
        .upserted
        .iter()
        .find(|e| e.r#ref == r)
        .cloned()
        .unwrap_or_default();
    assert_eq!(annotation(&e, "osp.dev/state"), "pending");
    rev = d.revision;

    let status = json!({"status": {"conditions": [
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": "2025-01-01T00:00:00Z"},
        {"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": "2025-01-01T00:00:00Z"}]}});
    api.patch_status("orders", &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    let (d, took) = until(&mut c, rev, "status changed", |d| {
        d.upserted
            .iter()
            .any(|e| e.r#ref == r && annotation(e, "osp.dev/state") == "ready")
    })
    .await?;
    eprintln!("status changed → updated Resource after {took:?}");
    rev = d.revision;

    let tree = c
        .get_resource_status(pb::GetResourceStatusRequest {
            cluster: "prod".into(),
            api_version: format!("{g1}/v1"),
            kind: "Database".into(),
            namespace: "team-a".into(),
            name: "orders".into(),
        })
        .await?
        .into_inner();
    assert_eq!(
        tree.root.map(|n| n.state),
        Some(pb::ResourceState::Ready as i32)
    );

    api.delete("orders", &DeleteParams::default()).await?;
    let (d, _) = until(&mut c, rev, "claim deleted", |d| d.removed.contains(&r)).await?;
    rev = d.revision;

    // Faults: watches cut mid-stream, then a 410 Gone on the next watch,
    // with claims created in between. Nothing may be lost or duplicated.
    proxy.wait_live_watches(2, Duration::from_secs(10)).await?;
    api.create(&PostParams::default(), &claim(g1, "a1")?)
        .await?;
    proxy.drop_watches();
    api.create(&PostParams::default(), &claim(g1, "a2")?)
        .await?;
    proxy.gone_next_watch(Gone::Event);
    proxy.drop_watches();
    api.create(&PostParams::default(), &claim(g1, "a3")?)
        .await?;
    let want: BTreeSet<String> = ["a1", "a2", "a3"]
        .iter()
        .map(|n| resource_ref(g1, n, "prod"))
        .collect();
    until(&mut c, rev, "claims across faults", |d| {
        want.iter().all(|w| refs(&d.upserted).contains(w))
    })
    .await?;
    let listed: BTreeSet<String> = api
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter_map(|o| o.metadata.name.clone())
        .map(|n| resource_ref(g1, &n, "prod"))
        .collect();
    let snap = snapshot(&mut c).await?;
    let served: Vec<String> = refs(&snap.entities)
        .into_iter()
        .filter(|r| r.starts_with("resource:"))
        .collect();
    assert_eq!(
        served.iter().cloned().collect::<BTreeSet<_>>(),
        listed,
        "the catalog holds exactly the listed claims"
    );
    assert_eq!(served.len(), listed.len(), "and none twice");

    // The cluster goes away: every request fails, watches are cut.
    proxy.fail_next(usize::MAX / 2);
    proxy.drop_watches();
    let deadline = Instant::now() + Duration::from_secs(30);
    let stale = loop {
        let s = snapshot(&mut c).await?;
        if s.clusters.first().is_some_and(|s| s.stale) {
            break s;
        }
        if Instant::now() > deadline {
            bail!("cluster never marked stale: {:?}", s.clusters);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        refs(&stale.entities),
        refs(&snap.entities),
        "a stale cluster keeps its entities: {}",
        stale.clusters[0].message
    );
    proxy.fail_next(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = snapshot(&mut c).await?;
        if s.clusters.first().is_some_and(|s| !s.stale) {
            break;
        }
        if Instant::now() > deadline {
            bail!("cluster never recovered: {:?}", s.clusters);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for n in ["a1", "a2", "a3"] {
        api.delete(n, &DeleteParams::default()).await?;
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_does_not_block_the_others() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let kube = server.client().await?;
    create_xrd(&kube, "cat3.example.org").await?;
    let proxy = Proxy::start(server.url(), &server.info.ca_pem).await?;
    let dir = temp_dir("unreachable")?;
    let config = kubeconfig(&dir, &proxy.url(), &server.info.admin_token)?;
    let file = dir.join("osp.yaml");
    std::fs::write(&file, "catalog:\n  syncTimeoutMs: 3000\n")?;
    let sidecar = OspServer::start(&[
        "--config",
        &file.display().to_string(),
        "--kubeconfig",
        &config.display().to_string(),
        "--context",
        "prod",
        "--context",
        "dead",
    ])?;
    let mut c = client(&sidecar).await?;
    let first = c.get_snapshot(GetSnapshotRequest::default()).await;
    assert_eq!(
        first.err().map(|s| s.code()),
        Some(tonic::Code::Unavailable),
        "no snapshot before the timeout while a cluster is missing"
    );
    let snap = snapshot(&mut c).await?;
    assert!(
        refs(&snap.entities).contains(&"template:default/xdatabases.cat3.example.org".to_string()),
        "the reachable cluster is served"
    );
    let dead = snap.clusters.iter().find(|s| s.name == "dead");
    assert!(
        dead.is_some_and(|d| !d.synced && d.stale && !d.message.is_empty()),
        "the unreachable one is reported: {:?}",
        snap.clusters
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
