//! Catalog scale (run with `--ignored --nocapture`): 200 XRDs and 10,000
//! claims/XRs, from the real API server and from `--from-dir`; prints the
//! time to the first full snapshot (sync), the sidecar's RSS, full snapshot
//! latency (every page, JSON and Struct encodings), and how long a
//! one-object change takes to show in a delta. Numbers go to
//! `docs/benchmarks.md` (section Catalog).
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::StreamExt;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_sidecar::pb::{self, EntityEncoding, GetDeltaRequest, GetSnapshotRequest};
use osp_tests::kube::{ApiServer, Options, wait_xrd_established, xrd_resource};
use osp_tests::server::OspServer;
use tonic::transport::Channel;

const XRDS: usize = 200;
const CLAIMS: usize = 10_000;

fn xrd(i: usize) -> String {
    format!(
        "apiVersion: apiextensions.crossplane.io/v1\nkind: CompositeResourceDefinition\nmetadata: {{name: xdb{i}s.scale.example.org}}\nspec:\n  group: scale.example.org\n  names: {{kind: XDb{i}, plural: xdb{i}s}}\n  claimNames: {{kind: Db{i}, plural: db{i}s}}\n  versions:\n  - name: v1\n    served: true\n    referenceable: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {{type: integer, minimum: 1}}\n              engine: {{type: string, enum: [postgres, mysql]}}\n              tags: {{type: object, additionalProperties: {{type: string}}}}\n"
    )
}

fn claim(i: usize, ready: bool) -> String {
    format!(
        "---\napiVersion: scale.example.org/v1\nkind: Db{}\nmetadata: {{name: c{i}, namespace: team-{}}}\nspec: {{size: 10, engine: postgres, tags: {{a: b}}}}\nstatus:\n  conditions:\n  - {{type: Synced, status: 'True', reason: ReconcileSuccess}}\n  - {{type: Ready, status: '{}', reason: Available}}\n",
        i % XRDS,
        i % 20,
        if ready { "True" } else { "False" }
    )
}

/// The pid of the `osp serve` listening on `target` (from /proc cmdlines).
fn pid_of(target: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        (cmd.contains("serve") && cmd.contains(target)).then_some(pid)
    })
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Every page of one snapshot; retries while the catalog is not ready.
async fn snapshot(
    c: &mut CatalogServiceClient<Channel>,
    encoding: EntityEncoding,
) -> Result<(u64, Vec<pb::Entity>)> {
    let (mut all, mut token, mut revision) = (Vec::new(), String::new(), None);
    loop {
        let request = GetSnapshotRequest {
            encoding: encoding as i32,
            page_size: 5000,
            page_token: token.clone(),
        };
        let page = match c.get_snapshot(request).await {
            Ok(p) => p.into_inner(),
            Err(s) if s.code() == tonic::Code::Unavailable && revision.is_none() => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Err(s) => bail!("GetSnapshot: {s}"),
        };
        if *revision.get_or_insert(page.revision) != page.revision {
            bail!("pages of one snapshot at two revisions");
        }
        all.extend(page.entities);
        token = page.next_page_token;
        if token.is_empty() {
            return Ok((page.revision, all));
        }
    }
}

/// Median, min and max of `runs` full snapshots.
async fn snapshot_times(
    c: &mut CatalogServiceClient<Channel>,
    encoding: EntityEncoding,
    runs: usize,
    want: usize,
) -> Result<(Duration, Duration, Duration)> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let (_, all) = snapshot(c, encoding).await?;
        times.push(t.elapsed());
        assert_eq!(all.len(), want, "every entity in every snapshot");
    }
    times.sort();
    Ok((times[runs / 2], times[0], times[runs - 1]))
}

/// Polls GetDelta since `since` every 5 ms until a ref starting with `r`
/// is upserted.
async fn until_upserted(
    c: &mut CatalogServiceClient<Channel>,
    since: u64,
    r: &str,
) -> Result<(Duration, pb::GetDeltaResponse)> {
    let t = Instant::now();
    loop {
        let d = c
            .get_delta(GetDeltaRequest {
                since_revision: since,
                encoding: EntityEncoding::Json as i32,
            })
            .await?
            .into_inner();
        if d.upserted.iter().any(|e| e.r#ref.starts_with(r)) {
            return Ok((t.elapsed(), d));
        }
        if t.elapsed() > Duration::from_secs(60) {
            bail!("`{r}` not seen; last delta {} entities", d.upserted.len());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run with --ignored --nocapture"]
async fn catalog_at_scale_from_dir() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("osp-catalog-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for i in 0..XRDS {
        std::fs::write(dir.join(format!("xrd{i}.yaml")), xrd(i))?;
    }
    // The claim that will change lives in a file of its own.
    // Files of 100 claims: a file is one document stream under the
    // parser's budget.
    for chunk in (1..CLAIMS).collect::<Vec<_>>().chunks(100) {
        let mut text = String::new();
        for i in chunk {
            let _ = write!(text, "{}", claim(*i, true));
        }
        std::fs::write(dir.join(format!("claims{}.yaml", chunk[0])), text)?;
    }
    std::fs::write(dir.join("claim0.yaml"), claim(0, false))?;

    let started = Instant::now();
    let server = OspServer::start(&["--from-dir", &dir.display().to_string()])?;
    let mut c = CatalogServiceClient::connect(format!("http://{}", server.target())).await?;
    let (revision, all) = snapshot(&mut c, EntityEncoding::Json).await?;
    let first = started.elapsed();
    assert_eq!(all.len(), 2 * XRDS + CLAIMS);
    let rss = pid_of(&server.target()).and_then(rss_kib).unwrap_or(0);
    let json = snapshot_times(&mut c, EntityEncoding::Json, 5, all.len()).await?;
    let structs = snapshot_times(&mut c, EntityEncoding::Struct, 3, all.len()).await?;

    std::fs::write(dir.join("claim0.yaml"), claim(0, true))?;
    let (delta, changed) = until_upserted(&mut c, revision, "resource:default/c0.").await?;
    assert_eq!(changed.upserted.len(), 1, "one claim changed");
    println!(
        "catalog scale (--from-dir, {XRDS} XRDs, {CLAIMS} claims, {} entities): first snapshot {:.0} ms after start, RSS {:.0} MiB, full snapshot JSON median {:.0} ms (min {:.0}, max {:.0}), Struct median {:.0} ms, change visible in a delta after {:.0} ms (includes the directory poll)",
        all.len(),
        ms(first),
        mib(rss),
        ms(json.0),
        ms(json.1),
        ms(json.2),
        ms(structs.0),
        ms(delta),
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn gvk(i: usize, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("scale.example.org", "v1", &format!("{kind}{i}")),
        &format!("{plural}{i}s"),
    )
}

/// Object `i`: every tenth an XR (cluster-scoped), the rest claims.
async fn create_object(kube: kube::Client, i: usize) -> Result<()> {
    let x = i % XRDS;
    let spec = serde_json::json!({"size": 10, "engine": "postgres", "tags": {"a": "b"}});
    if i.is_multiple_of(10) {
        let api: Api<DynamicObject> = Api::all_with(kube, &gvk(x, "XDb", "xdb"));
        let obj = serde_json::json!({"apiVersion": "scale.example.org/v1", "kind": format!("XDb{x}"),
            "metadata": {"name": format!("x{i}")}, "spec": spec});
        api.create(&PostParams::default(), &serde_json::from_value(obj)?)
            .await?;
    } else {
        let ns = format!("team-{}", i % 20);
        let api: Api<DynamicObject> = Api::namespaced_with(kube, &ns, &gvk(x, "Db", "db"));
        let obj = serde_json::json!({"apiVersion": "scale.example.org/v1", "kind": format!("Db{x}"),
            "metadata": {"name": format!("c{i}"), "namespace": ns}, "spec": spec});
        api.create(&PostParams::default(), &serde_json::from_value(obj)?)
            .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run with --ignored --nocapture"]
async fn catalog_at_scale_apiserver() -> Result<()> {
    let Some(api) = ApiServer::start(&Options::default())? else {
        return Ok(());
    };
    let kube = api.client().await?;
    let t = Instant::now();
    let namespaces: Api<DynamicObject> = Api::all_with(
        kube.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "Namespace"),
            "namespaces",
        ),
    );
    for n in 0..20 {
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("team-{n}")}});
        // `team-a`-style tenants exist already; these names are ours.
        let _ = namespaces
            .create(&PostParams::default(), &serde_json::from_value(ns)?)
            .await;
    }
    let xrds: Api<DynamicObject> = Api::all_with(kube.clone(), &xrd_resource());
    let created: Vec<Result<()>> = futures::stream::iter(0..XRDS)
        .map(|i| {
            let (xrds, kube) = (xrds.clone(), kube.clone());
            async move {
                let doc = osp::document::from_yaml(&xrd(i), osp::document::Limits::default())?;
                xrds.create(&PostParams::default(), &serde_json::from_value(doc)?)
                    .await?;
                wait_xrd_established(
                    &kube,
                    &format!("xdb{i}s.scale.example.org"),
                    Duration::from_secs(120),
                )
                .await?;
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    created.into_iter().collect::<Result<Vec<_>>>()?;
    let xrds_in = t.elapsed();
    let t = Instant::now();
    let created: Vec<Result<()>> = futures::stream::iter(0..CLAIMS)
        .map(|i| create_object(kube.clone(), i))
        .buffer_unordered(32)
        .collect()
        .await;
    created.into_iter().collect::<Result<Vec<_>>>()?;
    let objects_in = t.elapsed();
    println!(
        "set-up: {XRDS} XRDs established in {:.1} s, {CLAIMS} claims/XRs created in {:.1} s; API server RSS {:.0} MiB",
        xrds_in.as_secs_f64(),
        objects_in.as_secs_f64(),
        mib(api.rss_kib().unwrap_or(0)),
    );

    let started = Instant::now();
    let kubeconfig = api.kubeconfig().display().to_string();
    let server = OspServer::start(&["--kubeconfig", &kubeconfig, "--context", "admin"])?;
    let mut c = CatalogServiceClient::connect(format!("http://{}", server.target())).await?;
    let (revision, all) = snapshot(&mut c, EntityEncoding::Json).await?;
    let sync = started.elapsed();
    assert_eq!(
        all.len(),
        2 * XRDS + CLAIMS,
        "a Template and an API per XRD, a Resource per object"
    );
    let rss = pid_of(&server.target()).and_then(rss_kib).unwrap_or(0);
    let json = snapshot_times(&mut c, EntityEncoding::Json, 5, all.len()).await?;
    let structs = snapshot_times(&mut c, EntityEncoding::Struct, 3, all.len()).await?;

    // A status change of one claim.
    let claims: Api<DynamicObject> =
        Api::namespaced_with(kube.clone(), "team-1", &gvk(1, "Db", "db"));
    let status = serde_json::json!({"status": {"conditions": [
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": "2026-11-23T00:00:00Z"},
        {"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": "2026-11-23T00:00:00Z"}]}});
    claims
        .patch_status("c1", &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    let (status_in, changed) = until_upserted(&mut c, revision, "resource:default/c1.").await?;
    assert_eq!(changed.upserted.len(), 1, "one claim changed");

    // A new claim.
    let revision = changed.revision;
    create_object(kube.clone(), CLAIMS + 1).await?;
    let (created_in, _) = until_upserted(&mut c, revision, "resource:default/c10001.").await?;
    let rss_after = pid_of(&server.target()).and_then(rss_kib).unwrap_or(0);
    println!(
        "catalog scale (API server, {XRDS} XRDs, {CLAIMS} claims/XRs, {} entities): first full snapshot (sync) {:.2} s after start, RSS {:.0} MiB after sync ({:.0} MiB at the end), full snapshot JSON median {:.0} ms (min {:.0}, max {:.0}), Struct median {:.0} ms, claim status change visible in a delta after {:.0} ms, new claim after {:.0} ms",
        all.len(),
        sync.as_secs_f64(),
        mib(rss),
        mib(rss_after),
        ms(json.0),
        ms(json.1),
        ms(json.2),
        ms(structs.0),
        ms(status_in),
        ms(created_in),
    );
    Ok(())
}
