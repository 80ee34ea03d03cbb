//! Load generator: drives `osp serve` (release build) on loopback with the
//! generated tonic clients at a fixed concurrency for a bounded time per
//! scenario, and reports throughput, p50/p99/max latency, errors and the
//! server's RSS before and after.
//!
//! `cargo build --release -p osp-sidecar --bin osp && cargo bench -p osp-sidecar --bench load`
//! Env: `OSP_BIN` (default `target/release/osp`), `LOAD_SECONDS` (10),
//! `LOAD_CONCURRENCY` (64), `OSP_CORPUS` (default `../shared/corpus`).
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use osp_sidecar::pb;
use tonic::transport::Channel;

const LARGE_XRD: &str =
    "xrd/public/crossplane-contrib__x-generation__package__RDS-DBInstance__definition.yaml";

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Clone, Copy)]
enum Scenario {
    ConvertTypical,
    ConvertLarge,
    Render,
    Snapshot,
    Delta,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::ConvertTypical => "ConvertDefinition (typical XRD, by name)",
            Scenario::ConvertLarge => "ConvertDefinition (large XRD, inline)",
            Scenario::Render => "RenderClaim (render + validate)",
            Scenario::Snapshot => "GetSnapshot",
            Scenario::Delta => "GetDelta",
        }
    }
}

async fn call(
    ch: Channel,
    s: Scenario,
    large: Arc<String>,
    revision: u64,
) -> Result<(), tonic::Status> {
    use pb::definition_source::Source;
    match s {
        Scenario::ConvertTypical | Scenario::ConvertLarge => {
            let source = match s {
                Scenario::ConvertTypical => {
                    Source::Name("xpostgresqlinstances.database.example.org".into())
                }
                _ => Source::InlineYaml(large.as_str().into()),
            };
            let mut c = pb::template_service_client::TemplateServiceClient::new(ch);
            c.convert_definition(pb::ConvertDefinitionRequest {
                definition: Some(pb::DefinitionSource {
                    source: Some(source),
                    cluster: String::new(),
                }),
            })
            .await?;
        }
        Scenario::Render => {
            let mut c = pb::claim_service_client::ClaimServiceClient::new(ch);
            c.render_claim(pb::RenderClaimRequest {
                definition: Some(pb::DefinitionSource {
                    source: Some(Source::Name(
                        "xpostgresqlinstances.database.example.org".into(),
                    )),
                    cluster: String::new(),
                }),
                name: "db1".into(),
                namespace: "team-a".into(),
                values_json: r#"{"parameters":{"storageGB":20.0,"version":"15"}}"#.into(),
                owner: "group:default/team-a".into(),
                ..Default::default()
            })
            .await?;
        }
        Scenario::Snapshot => {
            let mut c = pb::catalog_service_client::CatalogServiceClient::new(ch);
            c.get_snapshot(pb::GetSnapshotRequest {}).await?;
        }
        Scenario::Delta => {
            let mut c = pb::catalog_service_client::CatalogServiceClient::new(ch);
            c.get_delta(pb::GetDeltaRequest {
                since_revision: revision,
            })
            .await?;
        }
    }
    Ok(())
}

async fn run(
    ch: &Channel,
    s: Scenario,
    secs: u64,
    conc: usize,
    large: Arc<String>,
    pid: u32,
) -> anyhow::Result<()> {
    let revision = pb::catalog_service_client::CatalogServiceClient::new(ch.clone())
        .get_snapshot(pb::GetSnapshotRequest {})
        .await
        .map(|r| r.into_inner().revision)
        .unwrap_or(0);
    let rss_before = rss_kib(pid);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (ch, large) = (ch.clone(), large.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let t = Instant::now();
                if call(ch.clone(), s, large.clone(), revision).await.is_err() {
                    errors += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "| {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {} | {:.1} → {:.1} |",
        s.name(),
        conc,
        lat.len() as f64 / secs as f64,
        pct(0.5),
        pct(0.99),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        errors,
        rss_before as f64 / 1024.0,
        rss_kib(pid) as f64 / 1024.0,
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = std::env::var_os("OSP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/osp"));
    if !bin.exists() {
        bail!(
            "`{}` missing: run `cargo build --release -p osp-sidecar --bin osp`",
            bin.display()
        );
    }
    let corpus = std::env::var_os("OSP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpus"));
    let large = Arc::new(
        std::fs::read_to_string(corpus.join(LARGE_XRD)).context("large XRD from the corpus")?,
    );
    let (secs, conc) = (
        env_or("LOAD_SECONDS", 10u64),
        env_or("LOAD_CONCURRENCY", 64usize),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new(&bin)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--from-dir",
        ])
        .arg(root.join("examples"))
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(async {
        let ch = loop {
            if let Ok(ch) = Channel::from_shared(format!("http://127.0.0.1:{port}"))?.connect().await {
                break ch;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        tokio::time::sleep(Duration::from_millis(1500)).await; // first catalog sync of --from-dir
        println!("| scenario | callers | calls/s | p50 ms | p99 ms | max ms | errors | RSS MiB before → after |");
        println!("|---|---|---|---|---|---|---|---|");
        for s in [Scenario::ConvertTypical, Scenario::ConvertLarge, Scenario::Render, Scenario::Snapshot, Scenario::Delta] {
            run(&ch, s, secs, conc, large.clone(), pid).await?;
        }
        anyhow::Ok(())
    });
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    result
}
