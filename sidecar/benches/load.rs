//! Load generator: drives `osp serve` (release build) on loopback with the
//! generated tonic clients at a fixed concurrency for a bounded time per
//! scenario, and reports throughput, p50/p99/max latency, errors, the CPU
//! each call cost the server and the client, and the server's RSS before
//! and after. A soak mode samples the server's RSS every second.
//!
//! `cargo build --release -p osp-sidecar --bin osp && cargo bench -p osp-sidecar --bench load`
//!
//! Env (lists are comma-separated; every combination is run):
//! - `OSP_BIN` (default `target/release/osp`), `OSP_CORPUS` (`../shared/corpus`)
//! - `LOAD_SECONDS` (10): per scenario and combination
//! - `LOAD_CONCURRENCY` (64): callers, e.g. `1,8,16,64`
//! - `LOAD_CHANNELS` (1): HTTP/2 connections the callers share round-robin
//! - `LOAD_RATE` (unset = closed loop): total calls/s, paced evenly over the
//!   callers; a server that falls behind shows as an achieved rate below it
//! - `LOAD_DECODE` (1): 0 parses responses as empty messages, so the load
//!   generator takes less of the CPU it shares with the server
//! - `LOAD_CLIENT_THREADS` (1): the load generator's Tokio threads (1 = a
//!   current-thread runtime)
//! - `LOAD_SERVER_WORKERS` (Tokio's default, one per core): the server's
//!   worker threads, via `TOKIO_WORKER_THREADS`
//! - `OSP_LOG` (`info`, the server's default): the server's `RUST_LOG`
//! - `LOAD_SCENARIOS` (all): `convert,convert-large,render,snapshot,delta`
//! - `LOAD_CATALOG_OBJECTS` (10000): claims in the served catalog, next to
//!   `examples/` and 200 generated XRDs (0: `examples/` only); `snapshot`
//!   reads every page of it as the Backstage provider does (JSON, 1000 per
//!   page), `delta` asks for the changes since its revision
//! - `LOAD_SOAK_SECONDS` (0 = off): after the table, one run of that many
//!   seconds cycling through the scenarios, sampling RSS every second; flat
//!   means every sample after the warm-up (first 10 s) stays within ±10% of
//!   the first sample after it
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use osp_sidecar::pb;
use tonic::transport::Channel;

const LARGE_XRD: &str =
    "xrd/public/crossplane-contrib__x-generation__package__RDS-DBInstance__definition.yaml";
const TYPICAL: &str = "xpostgresqlinstances.database.example.org";
const SOAK_WARMUP: usize = 10;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_list<T: std::str::FromStr>(key: &str, default: T) -> Vec<T> {
    let list: Vec<T> = std::env::var(key)
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    if list.is_empty() { vec![default] } else { list }
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

/// User + system CPU time of a process so far (`/proc/<pid>/stat` fields 14
/// and 15, in clock ticks of 1/100 s on Linux).
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: fields start after its `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    ConvertTypical,
    ConvertLarge,
    Render,
    Snapshot,
    Delta,
}

const ALL: [Scenario; 5] = [
    Scenario::ConvertTypical,
    Scenario::ConvertLarge,
    Scenario::Render,
    Scenario::Snapshot,
    Scenario::Delta,
];

impl Scenario {
    fn key(self) -> &'static str {
        match self {
            Scenario::ConvertTypical => "convert",
            Scenario::ConvertLarge => "convert-large",
            Scenario::Render => "render",
            Scenario::Snapshot => "snapshot",
            Scenario::Delta => "delta",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scenario::ConvertTypical => "ConvertDefinition (typical XRD, by name)",
            Scenario::ConvertLarge => "ConvertDefinition (large XRD, inline)",
            Scenario::Render => "RenderClaim (render + validate)",
            Scenario::Snapshot => "GetSnapshot (every page, JSON)",
            Scenario::Delta => "GetDelta (no change, JSON)",
        }
    }
}

/// What every call needs: the connections and the inputs.
struct Load {
    channels: Vec<Channel>,
    large: Arc<String>,
    revision: u64,
    pid: u32,
    decode: bool,
}

/// One unary call the way the generated client makes it (`Grpc::unary` with
/// the prost codec); with `decode` off the response is parsed as an empty
/// message, so the load generator spends less of the shared CPU.
async fn unary<Req, Resp>(
    ch: Channel,
    path: &'static str,
    req: Req,
    decode: bool,
) -> Result<(), tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(ch).max_decoding_message_size(64 << 20);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static(path);
    let req = tonic::Request::new(req);
    if decode {
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        grpc.unary(req, path, codec).await.map(drop)
    } else {
        let codec = tonic_prost::ProstCodec::<Req, ()>::default();
        grpc.unary(req, path, codec).await.map(drop)
    }
}

async fn call(
    ch: Channel,
    s: Scenario,
    large: &str,
    revision: u64,
    decode: bool,
) -> Result<(), tonic::Status> {
    use pb::definition_source::Source;
    let by_name = || {
        Some(pb::DefinitionSource {
            source: Some(Source::Name(TYPICAL.into())),
            cluster: String::new(),
        })
    };
    const CONVERT: &str = "/osp.v1.TemplateService/ConvertDefinition";
    match s {
        Scenario::ConvertTypical => {
            let req = pb::ConvertDefinitionRequest {
                definition: by_name(),
            };
            unary::<_, pb::ConvertDefinitionResponse>(ch, CONVERT, req, decode).await
        }
        Scenario::ConvertLarge => {
            let req = pb::ConvertDefinitionRequest {
                definition: Some(pb::DefinitionSource {
                    source: Some(Source::InlineYaml(large.into())),
                    cluster: String::new(),
                }),
            };
            unary::<_, pb::ConvertDefinitionResponse>(ch, CONVERT, req, decode).await
        }
        Scenario::Render => {
            let req = pb::RenderClaimRequest {
                definition: by_name(),
                name: "db1".into(),
                namespace: "team-a".into(),
                values_json: r#"{"parameters":{"storageGB":20.0,"version":"15"}}"#.into(),
                owner: "group:default/team-a".into(),
                ..Default::default()
            };
            let path = "/osp.v1.ClaimService/RenderClaim";
            unary::<_, pb::RenderClaimResponse>(ch, path, req, decode).await
        }
        Scenario::Snapshot => {
            // Every page, as the Backstage provider reads a snapshot.
            let mut c = pb::catalog_service_client::CatalogServiceClient::new(ch);
            let mut page_token = String::new();
            loop {
                let req = pb::GetSnapshotRequest {
                    encoding: pb::EntityEncoding::Json as i32,
                    page_size: 1000,
                    page_token,
                };
                page_token = c.get_snapshot(req).await?.into_inner().next_page_token;
                if page_token.is_empty() {
                    return Ok(());
                }
            }
        }
        Scenario::Delta => {
            let req = pb::GetDeltaRequest {
                since_revision: revision,
                encoding: pb::EntityEncoding::Json as i32,
            };
            let path = "/osp.v1.CatalogService/GetDelta";
            unary::<_, pb::GetDeltaResponse>(ch, path, req, decode).await
        }
    }
}

/// Latencies and errors of one run, with the CPU both processes spent.
struct Outcome {
    lat: Vec<Duration>,
    errors: u64,
    elapsed: f64,
    server_cpu: f64,
    client_cpu: f64,
}

/// Runs `conc` callers for `secs`, each cycling through `scenarios`; with a
/// `rate`, callers send on a fixed schedule instead of back to back.
async fn drive(
    load: &Load,
    scenarios: &[Scenario],
    secs: f64,
    conc: usize,
    rate: Option<f64>,
) -> anyhow::Result<Outcome> {
    let pid = load.pid.to_string();
    let (server0, client0) = (cpu_secs(&pid), cpu_secs("self"));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for i in 0..conc {
        let ch = load.channels[i % load.channels.len()].clone();
        let (large, revision, decode) = (load.large.clone(), load.revision, load.decode);
        let scenarios = scenarios.to_vec();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            let mut k = 0usize;
            loop {
                // Caller i sends call k at (k * conc + i) / rate.
                let t = match rate {
                    Some(r) => start + Duration::from_secs_f64((k * conc + i) as f64 / r),
                    None => Instant::now(),
                };
                if t >= deadline {
                    break;
                }
                if rate.is_some() {
                    // Only when paced: Tokio rounds a timer up to the next
                    // millisecond, which would add ~1 ms to every call.
                    tokio::time::sleep_until(t.into()).await;
                }
                // Latency counts from the send: the timer's own lateness (up
                // to 1 ms) is not the server's. A caller behind schedule
                // sends at once, and the achieved rate falls short.
                let t = Instant::now();
                let s = scenarios[k % scenarios.len()];
                if call(ch.clone(), s, &large, revision, decode).await.is_err() {
                    errors += 1;
                }
                lat.push(t.elapsed());
                k += 1;
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
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort();
    Ok(Outcome {
        lat,
        errors,
        elapsed,
        server_cpu: cpu_secs(&pid) - server0,
        client_cpu: cpu_secs("self") - client0,
    })
}

async fn row(
    load: &Load,
    s: Scenario,
    secs: f64,
    conc: usize,
    rate: Option<f64>,
) -> anyhow::Result<()> {
    let rss_before = rss_kib(load.pid);
    let o = drive(load, &[s], secs, conc, rate).await?;
    let calls = o.lat.len().max(1) as f64;
    let pct = |p: f64| o.lat[((o.lat.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "| {} | {} | {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {} | {:.0} | {:.0} | {:.0} % | {:.1} → {:.1} |",
        s.name(),
        conc,
        load.channels.len(),
        rate.map_or("closed".into(), |r| format!("{r:.0}")),
        calls / o.elapsed,
        pct(0.5),
        pct(0.99),
        o.lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        o.errors,
        o.server_cpu * 1e6 / calls,
        o.client_cpu * 1e6 / calls,
        o.server_cpu * 100.0 / o.elapsed,
        rss_before as f64 / 1024.0,
        rss_kib(load.pid) as f64 / 1024.0,
    );
    Ok(())
}

/// One long run over all `scenarios` with the server's RSS sampled every
/// second.
async fn soak(load: &Load, scenarios: &[Scenario], secs: u64, conc: usize) -> anyhow::Result<()> {
    let pid = load.pid;
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        for _ in 0..=secs {
            tick.tick().await;
            samples.push(rss_kib(pid) as f64 / 1024.0);
        }
        samples
    });
    let o = drive(load, scenarios, secs as f64, conc, None).await?;
    let samples = sampler.await?;
    let names: Vec<&str> = scenarios.iter().map(|s| s.key()).collect();
    println!(
        "\nsoak: {secs} s, {conc} callers cycling {}: {:.0} calls/s, {} errors, server {:.0} µs CPU/call",
        names.join(","),
        o.lat.len() as f64 / o.elapsed,
        o.errors,
        o.server_cpu * 1e6 / o.lat.len().max(1) as f64,
    );
    let warm = &samples[SOAK_WARMUP.min(samples.len() - 1)..];
    let (min, max) = warm
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let base = warm[0];
    let flat = warm.iter().all(|&v| (v - base).abs() <= base * 0.1);
    println!(
        "RSS MiB: start {:.1}, after {SOAK_WARMUP} s warm-up {:.1}, min {min:.1}, max {max:.1}, last {:.1} \
         ({:+.1}% .. {:+.1}% of the warm-up value): {}",
        samples[0],
        base,
        samples[samples.len() - 1],
        (min / base - 1.0) * 100.0,
        (max / base - 1.0) * 100.0,
        if flat { "flat (±10%)" } else { "NOT flat" },
    );
    let all: Vec<String> = samples.iter().map(|v| format!("{v:.1}")).collect();
    println!("RSS samples (MiB, 1/s): {}", all.join(" "));
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
    let secs = env_or("LOAD_SECONDS", 10.0f64);
    let concurrency = env_list("LOAD_CONCURRENCY", 64usize);
    let channels = env_list("LOAD_CHANNELS", 1usize);
    let rate = std::env::var("LOAD_RATE").ok().and_then(|v| v.parse().ok());
    let soak_secs = env_or("LOAD_SOAK_SECONDS", 0u64);
    let decode = env_or("LOAD_DECODE", 1u8) != 0;
    let wanted = std::env::var("LOAD_SCENARIOS").unwrap_or_default();
    let scenarios: Vec<Scenario> = ALL
        .into_iter()
        .filter(|s| wanted.is_empty() || wanted.split(',').any(|w| w.trim() == s.key()))
        .collect();
    if scenarios.is_empty() {
        bail!(
            "LOAD_SCENARIOS `{wanted}` names none of convert,convert-large,render,snapshot,delta"
        );
    }

    let objects = env_or("LOAD_CATALOG_OBJECTS", 10_000usize);
    let catalog = catalog_dir(&root.join("examples"), objects)?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = Command::new(&bin);
    // Tokio reads its worker count from this; unset means one per core.
    match std::env::var("LOAD_SERVER_WORKERS") {
        Ok(n) => server.env("TOKIO_WORKER_THREADS", n),
        Err(_) => server.env_remove("TOKIO_WORKER_THREADS"),
    };
    let mut child = server
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--from-dir",
        ])
        .arg(&catalog)
        .env(
            "RUST_LOG",
            std::env::var("OSP_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let rt = match env_or("LOAD_CLIENT_THREADS", 1usize) {
        // One thread: no cross-thread wake-ups, and a core left for the server.
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()?;
    let result = rt.block_on(async {
        let connect = || async {
            loop {
                let endpoint = Channel::from_shared(format!("http://127.0.0.1:{port}"))?;
                if let Ok(ch) = endpoint.connect().await {
                    break anyhow::Ok(ch);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let max_channels = channels.iter().copied().max().unwrap_or(1).max(1);
        let mut all = Vec::new();
        for _ in 0..max_channels {
            all.push(connect().await?);
        }
        // The first catalog sync of --from-dir.
        let mut catalog_client =
            pb::catalog_service_client::CatalogServiceClient::new(all[0].clone());
        let snapshot = loop {
            match catalog_client.get_snapshot(pb::GetSnapshotRequest::default()).await {
                Ok(r) => break r.into_inner(),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        let revision = snapshot.revision;
        println!(
            "catalog: examples/ + {} generated XRDs + {objects} claims, revision {revision:#x}",
            if objects == 0 { 0 } else { 200 }
        );
        println!(
            "| scenario | callers | connections | rate | calls/s | p50 ms | p99 ms | max ms | errors \
             | server µs CPU/call | client µs CPU/call | server CPU | RSS MiB before → after |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for &s in &scenarios {
            for &n in &channels {
                let load = Load {
                    channels: all[..n.max(1)].to_vec(),
                    large: large.clone(),
                    revision,
                    pid,
                    decode,
                };
                for &conc in &concurrency {
                    row(&load, s, secs, conc, rate).await?;
                }
            }
        }
        if soak_secs > 0 {
            let load = Load {
                channels: all[..channels[0].max(1)].to_vec(),
                large: large.clone(),
                revision,
                pid,
                decode,
            };
            soak(&load, &scenarios, soak_secs, concurrency[0]).await?;
        }
        anyhow::Ok(())
    });
    // Closes the client's connections (a current-thread runtime no longer
    // drives them), so the server's graceful drain does not wait for them.
    drop(rt);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&catalog);
    result
}

/// A `--from-dir` catalog: the examples, and with `objects` > 0 also 200
/// generated XRDs and that many claims of them (in files of 100).
fn catalog_dir(examples: &std::path::Path, objects: usize) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("osp-load-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for e in std::fs::read_dir(examples)? {
        let p = e?.path();
        if let Some(name) = p.file_name() {
            std::fs::copy(&p, dir.join(name))?;
        }
    }
    if objects == 0 {
        return Ok(dir);
    }
    for i in 0..200 {
        std::fs::write(
            dir.join(format!("scale-xrd{i}.yaml")),
            format!(
                "apiVersion: apiextensions.crossplane.io/v1\nkind: CompositeResourceDefinition\nmetadata: {{name: xdb{i}s.scale.example.org}}\nspec:\n  group: scale.example.org\n  names: {{kind: XDb{i}, plural: xdb{i}s}}\n  claimNames: {{kind: Db{i}, plural: db{i}s}}\n  versions:\n  - name: v1\n    served: true\n    referenceable: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {{type: integer}}\n"
            ),
        )?;
    }
    for start in (0..objects).step_by(100) {
        let mut text = String::new();
        for i in start..(start + 100).min(objects) {
            text.push_str(&format!(
                "---\napiVersion: scale.example.org/v1\nkind: Db{}\nmetadata: {{name: c{i}, namespace: team-{}}}\nspec: {{size: 10}}\nstatus:\n  conditions:\n  - {{type: Ready, status: 'True', reason: Available}}\n",
                i % 200,
                i % 20
            ));
        }
        std::fs::write(dir.join(format!("scale-claims{start}.yaml")), text)?;
    }
    Ok(dir)
}
