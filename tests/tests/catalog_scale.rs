//! Catalog scale with `--from-dir` (run with `--ignored --nocapture`): 200
//! XRDs and 10,000 claims; prints time to first snapshot, the sidecar's
//! RSS, full snapshot latency, and how long a one-claim change takes to
//! show in a delta. Numbers go to `docs/benchmarks.md` (section Catalog).
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_sidecar::pb::{GetDeltaRequest, GetSnapshotRequest};
use osp_tests::server::OspServer;

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
    let server = OspServer::start(&[
        "--from-dir",
        &dir.display().to_string(),
        // The snapshot is ~18 MB, above the 16 MiB default.
        "--max-message-bytes",
        "67108864",
    ])?;
    let mut c = CatalogServiceClient::connect(format!("http://{}", server.target()))
        .await?
        .max_decoding_message_size(256 * 1024 * 1024);
    let snap = loop {
        match c.get_snapshot(GetSnapshotRequest::default()).await {
            Ok(s) => break s.into_inner(),
            Err(s) if s.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(s) => bail!("{s}"),
        }
    };
    let first = started.elapsed();
    assert_eq!(snap.entities.len(), 2 * XRDS + CLAIMS);
    let rss = pid_of(&server.target()).and_then(rss_kib).unwrap_or(0);

    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = c
            .get_snapshot(GetSnapshotRequest::default())
            .await?
            .into_inner();
        times.push(t.elapsed());
        assert_eq!(s.entities.len(), snap.entities.len());
    }
    times.sort();

    std::fs::write(dir.join("claim0.yaml"), claim(0, true))?;
    let t = Instant::now();
    let changed = loop {
        let d = c
            .get_delta(GetDeltaRequest {
                since_revision: snap.revision,
                ..Default::default()
            })
            .await?
            .into_inner();
        if !d.upserted.is_empty() {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let delta = t.elapsed();
    assert_eq!(changed.upserted.len(), 1, "one claim changed");
    println!(
        "catalog scale (--from-dir, {XRDS} XRDs, {CLAIMS} claims, {} entities): first snapshot {first:?} after start, RSS {} MiB, full snapshot median {:?} (min {:?}, max {:?}), change visible in a delta after {delta:?} (includes the 1 s directory poll)",
        snap.entities.len(),
        rss / 1024,
        times[2],
        times[0],
        times[4]
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
