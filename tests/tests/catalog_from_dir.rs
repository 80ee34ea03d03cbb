//! CatalogService against the real binary with `--from-dir`: a snapshot of
//! Templates and APIs, deltas after adding and removing definition files,
//! Resources from claim files with their status, the change stream, status
//! trees, and the revision rules.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_sidecar::pb::{self, GetDeltaRequest, GetSnapshotRequest};
use osp_tests::repo_root;
use osp_tests::server::OspServer;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

fn fixtures() -> PathBuf {
    repo_root().join("backstage-plugin/packages/integration/fixtures")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Result<Self> {
        let p = std::env::temp_dir().join(format!(
            "osp-catalog-{tag}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn client(server: &OspServer) -> Result<CatalogServiceClient<Channel>> {
    Ok(CatalogServiceClient::connect(format!("http://{}", server.target())).await?)
}

/// The snapshot, once the catalog is ready.
async fn snapshot(c: &mut CatalogServiceClient<Channel>) -> Result<pb::GetSnapshotResponse> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match c.get_snapshot(GetSnapshotRequest::default()).await {
            Ok(r) => return Ok(r.into_inner()),
            Err(s) if s.code() == tonic::Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => bail!("GetSnapshot: {s}"),
        }
    }
}

/// Polls GetDelta from `since` until `done` holds for the accumulated
/// change; returns it with the time it took.
async fn until(
    c: &mut CatalogServiceClient<Channel>,
    since: u64,
    done: impl Fn(&[String], &[String]) -> bool,
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
        assert!(!d.resync_needed, "a fresh revision never needs a resync");
        let up: Vec<String> = d.upserted.iter().map(|e| e.r#ref.clone()).collect();
        if done(&up, &d.removed) {
            return Ok((d, start.elapsed()));
        }
        if start.elapsed() > Duration::from_secs(15) {
            bail!("no such delta since {since}: last {up:?} / {:?}", d.removed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn copy(from: &Path, dir: &Path, name: &str) -> Result<()> {
    std::fs::copy(from, dir.join(name))?;
    Ok(())
}

const POSTGRES_TEMPLATE: &str = "template:default/xpostgresqlinstances.database.example.org";
const POSTGRES_API: &str = "api:default/xpostgresqlinstances.database.example.org";
const BUCKET_TEMPLATE: &str = "template:default/xbuckets.storage.example.org";
const CLAIM: &str = "resource:default/orders-db.postgresqlinstance.team-a.from-dir";

fn claim_yaml(ready: &str) -> String {
    format!(
        r#"apiVersion: database.example.org/v1alpha1
kind: PostgreSQLInstance
metadata:
  name: orders-db
  namespace: team-a
  annotations:
    osp.dev/owner: group:default/team-a
spec:
  parameters:
    storageGB: 25
  writeConnectionSecretToRef:
    name: orders-db-conn
status:
  conditions:
    - type: Synced
      status: "True"
      reason: ReconcileSuccess
    - type: Ready
      status: "{ready}"
      reason: Creating
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_dir_snapshot_and_deltas() -> Result<()> {
    let dir = TempDir::new("deltas")?;
    copy(
        &fixtures().join("xpostgresqlinstances.yaml"),
        &dir.0,
        "pg.yaml",
    )?;
    let server = OspServer::start(&["--from-dir", &dir.0.display().to_string()])?;
    let mut c = client(&server).await?;

    let snap = snapshot(&mut c).await?;
    let refs: Vec<&str> = snap.entities.iter().map(|e| e.r#ref.as_str()).collect();
    assert_eq!(refs, vec![POSTGRES_API, POSTGRES_TEMPLATE], "sorted by ref");
    assert_eq!(snap.clusters.len(), 1);
    assert!(snap.clusters[0].synced, "{:?}", snap.clusters);
    assert!(snap.entities.iter().all(|e| !e.etag.is_empty()));

    let channel = Channel::from_shared(format!("http://{}", server.target()))?
        .connect()
        .await?;
    let mut health = HealthClient::new(channel);
    let status = health
        .check(HealthCheckRequest {
            service: "osp.v1.CatalogService".into(),
        })
        .await?
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32, "serving once synced");

    // Nothing changed yet: an empty delta at the same revision.
    let same = c
        .get_delta(GetDeltaRequest {
            since_revision: snap.revision,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        (same.revision, same.upserted.len(), same.removed.len()),
        (snap.revision, 0, 0)
    );

    // A revision this instance never issued needs a full resync.
    for since in [0, snap.revision + 1, snap.revision ^ (1 << 40)] {
        let d = c
            .get_delta(GetDeltaRequest {
                since_revision: since,
                ..Default::default()
            })
            .await?
            .into_inner();
        assert!(d.resync_needed, "revision {since} needs a resync");
    }

    copy(&fixtures().join("xbuckets.yaml"), &dir.0, "buckets.yaml")?;
    let (added, took) = until(&mut c, snap.revision, |up, _| {
        up.iter().any(|r| r == BUCKET_TEMPLATE)
    })
    .await?;
    eprintln!("definition added → visible in a delta after {took:?}");
    assert!(added.revision > snap.revision, "revisions increase");
    assert!(
        added.upserted.iter().all(|e| e.r#ref != POSTGRES_TEMPLATE),
        "unchanged entities are not in the delta"
    );

    std::fs::write(dir.0.join("claim.yaml"), claim_yaml("False"))?;
    let (with_claim, _) = until(&mut c, added.revision, |up, _| {
        up.iter().any(|r| r == CLAIM)
    })
    .await?;
    let e = with_claim
        .upserted
        .iter()
        .find(|e| e.r#ref == CLAIM)
        .and_then(|e| e.entity.clone())
        .map(|s| osp_sidecar::from_struct(&s))
        .unwrap_or_default();
    assert_eq!(e["spec"]["type"], "crossplane-claim");
    assert_eq!(e["spec"]["owner"], "group:default/team-a");
    assert_eq!(
        e["metadata"]["annotations"]["osp.dev/state"],
        "provisioning"
    );
    assert!(
        e["metadata"]["annotations"]["osp.dev/edit-url"]
            .as_str()
            .unwrap_or_default()
            .starts_with(
                "/create/templates/default/xpostgresqlinstances.database.example.org?formData="
            ),
        "edit link: {e}"
    );
    assert!(
        e["metadata"]["links"][0]["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with(
                "http://localhost:3000/create/templates/default/xpostgresqlinstances.database.example.org?formData="
            ),
        "the link is absolute under the default app base URL: {e}"
    );

    let status = c
        .get_resource_status(pb::GetResourceStatusRequest {
            cluster: String::new(),
            api_version: "database.example.org/v1alpha1".into(),
            kind: "PostgreSQLInstance".into(),
            namespace: "team-a".into(),
            name: "orders-db".into(),
        })
        .await?
        .into_inner();
    let root = status.root.unwrap_or_default();
    assert_eq!(root.state, pb::ResourceState::Provisioning as i32);
    assert_eq!(root.conditions.len(), 2);

    // Open a change stream, then change the claim's status.
    let mut stream = c
        .watch_changes(pb::WatchChangesRequest {
            since_revision: with_claim.revision,
            ..Default::default()
        })
        .await?
        .into_inner();
    let first = stream
        .message()
        .await?
        .and_then(|m| m.delta)
        .unwrap_or_default();
    assert_eq!(
        first.revision, with_claim.revision,
        "the stream starts where asked"
    );

    std::fs::write(dir.0.join("claim.yaml"), claim_yaml("True"))?;
    let pushed = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await??
        .and_then(|m| m.delta)
        .unwrap_or_default();
    assert_eq!(
        pushed
            .upserted
            .iter()
            .map(|e| e.r#ref.as_str())
            .collect::<Vec<_>>(),
        vec![CLAIM],
        "only the changed claim is pushed"
    );

    std::fs::remove_file(dir.0.join("claim.yaml"))?;
    std::fs::remove_file(dir.0.join("pg.yaml"))?;
    let (gone, _) = until(&mut c, pushed.revision, |_, removed| {
        [POSTGRES_TEMPLATE, POSTGRES_API, CLAIM]
            .iter()
            .all(|r| removed.iter().any(|x| x == r))
    })
    .await?;
    assert!(gone.upserted.is_empty(), "{:?}", gone.upserted);
    let after = snapshot(&mut c).await?;
    assert_eq!(
        after
            .entities
            .iter()
            .map(|e| e.r#ref.as_str())
            .collect::<Vec<_>>(),
        vec!["api:default/xbuckets.storage.example.org", BUCKET_TEMPLATE]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sidecar_asks_for_a_resync() -> Result<()> {
    let dir = TempDir::new("restart")?;
    copy(&fixtures().join("xbuckets.yaml"), &dir.0, "buckets.yaml")?;
    let args = ["--from-dir", &dir.0.display().to_string()];
    let first = {
        let server = OspServer::start(&args)?;
        snapshot(&mut client(&server).await?).await?.revision
    };
    // The epoch is the start time in seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let server = OspServer::start(&args)?;
    let mut c = client(&server).await?;
    let snap = snapshot(&mut c).await?;
    assert!(
        snap.revision > first,
        "revisions keep increasing across restarts"
    );
    let d = c
        .get_delta(GetDeltaRequest {
            since_revision: first,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(
        d.resync_needed,
        "a revision of the previous instance needs a resync"
    );
    Ok(())
}

fn mkfifo(path: &Path) -> Result<()> {
    let status = std::process::Command::new("mkfifo").arg(path).status()?;
    if !status.success() {
        bail!("mkfifo {}: {status}", path.display());
    }
    Ok(())
}

/// The campaign's `--from-dir` findings: a FIFO named `*.yaml`, a file that
/// cannot be read and directory symlink loops, present at start and added
/// while running. Each costs only itself: the services become SERVING, the
/// other definitions are served, the log names the entry, SIGTERM stops.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_entries_cost_only_themselves() -> Result<()> {
    let dir = TempDir::new("hostile")?;
    let p = |s: &str| dir.0.join(s);
    copy(
        &fixtures().join("xpostgresqlinstances.yaml"),
        &dir.0,
        "pg.yaml",
    )?;
    mkfifo(&p("fifo.yaml"))?;
    // Fails to read for root too (a mode-000 file would not).
    std::os::unix::fs::symlink("/proc/self/mem", p("unreadable.yaml"))?;
    std::fs::create_dir(p("sub"))?;
    std::os::unix::fs::symlink(&dir.0, p("sub/root"))?;
    std::os::unix::fs::symlink("..", p("sub/up"))?;

    let mut server = OspServer::start(&["--from-dir", &dir.0.display().to_string()])?;
    let mut c = client(&server).await?;
    let snap = snapshot(&mut c).await?;
    let refs: Vec<&str> = snap.entities.iter().map(|e| e.r#ref.as_str()).collect();
    assert_eq!(
        refs,
        [POSTGRES_API, POSTGRES_TEMPLATE],
        "the good file is served"
    );
    let channel = Channel::from_shared(format!("http://{}", server.target()))?
        .connect()
        .await?;
    let mut health = HealthClient::new(channel);
    for service in ["osp.v1.TemplateService", "osp.v1.CatalogService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await?
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
    let log = server.log();
    for entry in ["fifo.yaml", "unreadable.yaml"] {
        assert!(
            log.lines()
                .any(|l| l.contains("WARN") && l.contains(&p(entry).display().to_string())),
            "a warning names `{entry}`:\n{log}"
        );
    }

    // Added while running: the directory is still rescanned.
    mkfifo(&p("sub/late-fifo.yaml"))?;
    std::os::unix::fs::symlink(&dir.0, p("sub/late-loop"))?;
    copy(&fixtures().join("xbuckets.yaml"), &dir.0, "buckets.yaml")?;
    until(&mut c, snap.revision, |up, _| {
        up.iter().any(|r| r == BUCKET_TEMPLATE)
    })
    .await?;

    let status = server.terminate()?;
    assert!(
        status.success(),
        "SIGTERM stops it: {status}\n{}",
        server.log()
    );
    Ok(())
}
