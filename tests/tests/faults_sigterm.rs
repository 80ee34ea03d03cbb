//! SIGTERM while `osp serve` is under load: calls accepted before the signal
//! finish with OK (graceful drain), nothing hangs, new connections are
//! refused, health turns NOT_SERVING, and the process exits 0 in time even
//! when long-lived streams (health and catalog watches) are open.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use osp_sidecar::pb;
use osp_tests::repo_root;
use osp_tests::server::OspServer;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// Concurrent callers: RenderClaim and ConvertDefinition, half each.
const CALLERS: usize = 48;
/// Connections the callers share, like several Backstage replicas.
const CONNECTIONS: usize = 4;
/// Client-side bound on every call; it must never fire.
const BOUND: Duration = Duration::from_secs(20);
/// Properties in the large test XRD (about 22 KiB: over the sidecar's
/// `INLINE_MAX_BYTES`, so it runs on the blocking pool).
const WIDE: usize = 1_000;
/// Properties in the small one (about 5 KiB: converted on the async worker).
const NARROW: usize = 200;

const XRD: &str = r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xdbs.example.org}
spec:
  group: example.org
  names: {kind: XDB, plural: xdbs}
  claimNames: {kind: DB, plural: dbs}
  versions:
  - name: v1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              PROPS
"#;

/// An XRD with `n` string properties under `spec`: slow enough that 48
/// calls are still running when the signal arrives.
fn wide_xrd(n: usize) -> String {
    let props: Vec<String> = (0..n).map(|i| format!("p{i}: {{type: string}}")).collect();
    XRD.replace("PROPS", &format!("{{{}}}", props.join(", ")))
}

fn examples() -> String {
    repo_root().join("examples").display().to_string()
}

fn inline(yaml: &str) -> Option<pb::DefinitionSource> {
    Some(pb::DefinitionSource {
        source: Some(pb::definition_source::Source::InlineYaml(yaml.into())),
        cluster: String::new(),
    })
}

async fn connect(addr: SocketAddr) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// How one call ended.
#[derive(Debug)]
struct Outcome {
    caller: usize,
    code: Option<Code>,
    #[allow(dead_code, reason = "read through Debug in assertion messages")]
    message: String,
    done: Instant,
}

/// Caller `i`: RenderClaim when even, ConvertDefinition when odd, bounded
/// by [`BOUND`] (`code: None` when the bound fired).
async fn call(i: usize, ch: Channel, xrd: String) -> Outcome {
    let result = if i.is_multiple_of(2) {
        let mut client = pb::claim_service_client::ClaimServiceClient::new(ch)
            .max_decoding_message_size(64 << 20);
        let req = pb::RenderClaimRequest {
            definition: inline(&xrd),
            name: format!("db-{i}"),
            namespace: "team-a".into(),
            values_json: r#"{"p1": "x"}"#.into(),
            ..Default::default()
        };
        tokio::time::timeout(BOUND, client.render_claim(req))
            .await
            .map(|r| r.map(drop))
    } else {
        let mut client = pb::template_service_client::TemplateServiceClient::new(ch)
            .max_decoding_message_size(64 << 20);
        let req = pb::ConvertDefinitionRequest {
            definition: inline(&xrd),
        };
        tokio::time::timeout(BOUND, client.convert_definition(req))
            .await
            .map(|r| r.map(drop))
    };
    let (code, message) = match result {
        Err(_) => (None, "client-side bound fired".into()),
        Ok(Ok(())) => (Some(Code::Ok), String::new()),
        Ok(Err(s)) => (Some(s.code()), s.message().to_string()),
    };
    Outcome {
        caller: i,
        code,
        message,
        done: Instant::now(),
    }
}

/// Sends SIGTERM on a blocking thread; answers the exit status and how long
/// the process took to exit after the signal.
fn terminate(
    mut server: OspServer,
) -> tokio::task::JoinHandle<(Result<std::process::ExitStatus>, Duration, String)> {
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let status = server.terminate();
        (status, start.elapsed(), server.log())
    })
}

#[test]
fn sigterm_drains_accepted_calls_and_refuses_new_ones() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples()])?;
    let addr = server.addr;
    runtime()?.block_on(async move {
        let (wide, narrow) = (wide_xrd(WIDE), wide_xrd(NARROW));
        let mut channels = Vec::new();
        for _ in 0..CONNECTIONS {
            channels.push(connect(addr).await?);
        }
        // Warm up each connection so the load below is all in flight on
        // established HTTP/2 connections.
        for ch in &channels {
            let mut h = HealthClient::new(ch.clone());
            h.check(HealthCheckRequest::default()).await?;
        }
        let launched = Instant::now();
        let calls: Vec<_> = (0..CALLERS)
            .map(|i| {
                // Both RPCs with both sizes: i % 2 picks the RPC, i % 4 the size.
                let xrd = if i % 4 < 2 { &wide } else { &narrow };
                tokio::spawn(call(i, channels[i % CONNECTIONS].clone(), xrd.clone()))
            })
            .collect();
        // Loopback delivers the requests in well under a millisecond; give
        // the server ample time to accept every stream before the signal.
        tokio::time::sleep(Duration::from_millis(300)).await;

        let signalled = Instant::now();
        let exit = terminate(server);
        let drain_seen = draining(addr).await;

        // While draining: no new connections, and a new call on an existing
        // connection answers (served or refused) instead of hanging.
        let pending_while_draining = calls.iter().filter(|c| !c.is_finished()).count();
        let exit_finished_early = exit.is_finished();
        let refused = connect(addr).await;
        let late = call(CALLERS, channels[0].clone(), narrow.clone()).await;

        let mut outcomes = Vec::new();
        for c in calls {
            outcomes.push(c.await?);
        }
        let (status, took, log) = exit.await?;
        let status = status?;

        let hung: Vec<_> = outcomes.iter().filter(|o| o.code.is_none()).collect();
        assert!(hung.is_empty(), "calls hung: {hung:?}");
        let failed: Vec<_> = outcomes
            .iter()
            .filter(|o| o.code != Some(Code::Ok))
            .collect();
        assert!(
            failed.is_empty(),
            "every call accepted before SIGTERM completes: {failed:?}\n{log}"
        );
        let after: Vec<_> = outcomes.iter().filter(|o| o.done > signalled).collect();
        eprintln!(
            "{CALLERS} calls launched {:?} before SIGTERM; {} finished after it \
             (last {:?} after), {pending_while_draining} still running once the drain began \
             (logged {drain_seen:?} after SIGTERM); \
             exit {status} {took:?} after SIGTERM",
            signalled - launched,
            after.len(),
            outcomes.iter().map(|o| o.done).max().map(|d| d - signalled),
        );
        assert!(drain_seen.is_some(), "the drain is logged:\n{log}");
        assert!(
            pending_while_draining > 0 && !exit_finished_early,
            "the signal must arrive mid-load for this test to mean anything \
             ({pending_while_draining} pending, exited early: {exit_finished_early})"
        );
        assert!(
            refused.is_err(),
            "a new connection after SIGTERM is refused"
        );
        eprintln!("call after SIGTERM on an existing connection: {late:?}");
        // It may still win the race with the server's final GOAWAY (then it
        // is served); either way it must answer, not hang.
        assert!(
            late.code.is_some(),
            "a call after SIGTERM answers: {late:?}"
        );
        assert!(status.success(), "exit 0 after the drain: {status}\n{log}");
        assert!(took < Duration::from_secs(15), "exited in {took:?}");
        assert!(
            log.contains("draining in-flight calls"),
            "the drain is logged:\n{log}"
        );
        assert!(!log.contains("panicked"), "{log}");
        let callers: std::collections::BTreeSet<_> = outcomes.iter().map(|o| o.caller).collect();
        assert_eq!(callers.len(), CALLERS);
        Ok(())
    })
}

/// Open streams (a health watch and a catalog watch, as Backstage holds) must
/// not keep the process alive past its grace period, and the health watch
/// sees NOT_SERVING once draining starts.
#[test]
fn sigterm_with_open_streams_exits_within_the_grace_period() -> Result<()> {
    // The drain is bounded by the request timeout: no unary call accepted
    // before the signal can still be running after it.
    let grace = Duration::from_secs(2);
    let server = OspServer::start(&[
        "--from-dir",
        &examples(),
        "--request-timeout-ms",
        &grace.as_millis().to_string(),
    ])?;
    let addr = server.addr;
    runtime()?.block_on(async move {
        let ch = connect(addr).await?;
        let mut health = HealthClient::new(ch.clone());
        let mut statuses = health
            .watch(HealthCheckRequest::default())
            .await?
            .into_inner();
        let first = next_status(&mut statuses).await?;
        assert_eq!(first, ServingStatus::Serving as i32);
        // The catalog loads after the server reports SERVING overall.
        let catalog_ready = tokio::time::timeout(BOUND, async {
            loop {
                let req = HealthCheckRequest {
                    service: "osp.v1.CatalogService".into(),
                };
                if let Ok(r) = health.check(req).await
                    && r.get_ref().status == ServingStatus::Serving as i32
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(catalog_ready.is_ok(), "catalog SERVING");

        let mut catalog = pb::catalog_service_client::CatalogServiceClient::new(ch.clone())
            .max_decoding_message_size(64 << 20);
        let mut changes = catalog
            .watch_changes(pb::WatchChangesRequest::default())
            .await?
            .into_inner();
        let _first = tokio::time::timeout(BOUND, changes.message()).await??;

        // One unary call in flight too: it must still complete.
        let slow = tokio::spawn(call(1, ch.clone(), wide_xrd(WIDE)));
        tokio::time::sleep(Duration::from_millis(100)).await;

        let exit = terminate(server);
        let draining = next_status(&mut statuses).await?;
        assert_eq!(
            draining,
            ServingStatus::NotServing as i32,
            "health reports NOT_SERVING while draining"
        );
        let slow = slow.await?;
        assert_eq!(slow.code, Some(Code::Ok), "{slow:?}");

        // Both streams end (with an error or end-of-stream), never hang.
        let ended = tokio::time::timeout(BOUND, async {
            loop {
                match changes.message().await {
                    Ok(Some(_)) => {}
                    Ok(None) => return Code::Ok,
                    Err(s) => return s.code(),
                }
            }
        })
        .await;
        assert_eq!(
            ended.as_ref().ok().copied(),
            Some(Code::Unavailable),
            "the catalog watch ends with UNAVAILABLE when the drain starts"
        );
        let health_ended = tokio::time::timeout(BOUND, async {
            loop {
                match statuses.message().await {
                    Ok(Some(_)) => {}
                    Ok(None) => return Code::Ok,
                    Err(s) => return s.code(),
                }
            }
        })
        .await;
        assert!(health_ended.is_ok(), "the health watch ends after shutdown");
        eprintln!("streams ended with: catalog {ended:?}, health {health_ended:?}");

        let (status, took, log) = exit.await?;
        let status = status?;
        eprintln!("open streams: exit {status} {took:?} after SIGTERM (grace {grace:?})");
        assert!(status.success(), "exit 0: {status}\n{log}");
        assert!(
            took < grace + Duration::from_secs(3),
            "exited {took:?} after SIGTERM; grace {grace:?}\n{log}"
        );
        Ok(())
    })
}

/// Waits until the server logs that it is draining (the log file
/// [`OspServer`] writes, named after the port); answers how long that took.
async fn draining(addr: SocketAddr) -> Option<Duration> {
    let log = std::env::temp_dir().join(format!("osp-serve-{}.log", addr.port()));
    let start = Instant::now();
    while start.elapsed() < BOUND {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("draining in-flight calls") {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

async fn next_status(stream: &mut tonic::Streaming<HealthCheckResponse>) -> Result<i32> {
    match tokio::time::timeout(BOUND, stream.message()).await {
        Ok(Ok(Some(r))) => Ok(r.status),
        other => bail!("no health status: {other:?}"),
    }
}
