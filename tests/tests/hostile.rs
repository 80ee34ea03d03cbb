//! Hostile input against the real `osp serve`: adversarial and random
//! requests to every served RPC, and hostile YAML through the CLI. Every
//! call must answer within a bound with INVALID_ARGUMENT or
//! RESOURCE_EXHAUSTED (or OK where the input is actually valid), the process
//! must not panic, and a well-behaved caller must keep getting OK meanwhile.
mod hostile {
    pub mod cli;
    pub mod inputs;
}

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};
use osp_sidecar::pb;
use osp_tests::repo_root;
use osp_tests::server::OspServer;
use proptest::prelude::*;
use tonic::Code;
use tonic::transport::Channel;

use hostile::inputs;

/// Longest any single hostile call may take before it counts as a hang:
/// above the server's 30 s request timeout, which answers every call that
/// is still working, so a loaded CI machine (a debug build beside other
/// builds took 5 s for the alias bomb) does not fail a correct server.
const BOUND: Duration = Duration::from_secs(60);

fn examples() -> String {
    repo_root().join("examples").display().to_string()
}

async fn channel(server: &OspServer) -> Result<Channel> {
    Ok(Channel::from_shared(format!("http://{}", server.addr))?
        .connect()
        .await?)
}

fn templates(ch: &Channel) -> pb::template_service_client::TemplateServiceClient<Channel> {
    pb::template_service_client::TemplateServiceClient::new(ch.clone())
        .max_decoding_message_size(64 << 20)
}

fn claims(ch: &Channel) -> pb::claim_service_client::ClaimServiceClient<Channel> {
    pb::claim_service_client::ClaimServiceClient::new(ch.clone())
        .max_decoding_message_size(64 << 20)
}

fn publish(ch: &Channel) -> pb::publish_service_client::PublishServiceClient<Channel> {
    pb::publish_service_client::PublishServiceClient::new(ch.clone())
}

fn catalog(ch: &Channel) -> pb::catalog_service_client::CatalogServiceClient<Channel> {
    pb::catalog_service_client::CatalogServiceClient::new(ch.clone())
        .max_decoding_message_size(64 << 20)
}

fn inline(yaml: impl Into<String>) -> Option<pb::DefinitionSource> {
    Some(pb::DefinitionSource {
        source: Some(pb::definition_source::Source::InlineYaml(yaml.into())),
        cluster: String::new(),
    })
}

fn convert_request(yaml: impl Into<String>) -> pb::ConvertDefinitionRequest {
    pb::ConvertDefinitionRequest {
        definition: inline(yaml),
    }
}

fn render_request(yaml: &str, values_json: impl Into<String>) -> pb::RenderClaimRequest {
    pb::RenderClaimRequest {
        definition: inline(yaml),
        name: "orders".into(),
        namespace: "team-a".into(),
        values_json: values_json.into(),
        ..Default::default()
    }
}

/// The outcome of one call, bounded by [`BOUND`].
async fn bounded<T>(
    what: &str,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<Result<T, tonic::Status>> {
    let start = std::time::Instant::now();
    match tokio::time::timeout(BOUND, call).await {
        Ok(r) => {
            eprintln!("{what}: {:?}", start.elapsed());
            Ok(r.map(tonic::Response::into_inner))
        }
        Err(_) => bail!("{what}: no answer within {BOUND:?}"),
    }
}

/// Which codes a hostile call may end with.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// INVALID_ARGUMENT or RESOURCE_EXHAUSTED.
    Rejected,
    /// OK, INVALID_ARGUMENT or RESOURCE_EXHAUSTED (the input may be valid).
    Any,
    /// Refused: INVALID_ARGUMENT, RESOURCE_EXHAUSTED or FAILED_PRECONDITION
    /// (the claim's repository path is not allowed).
    Refused,
    /// Over the gRPC message size: RESOURCE_EXHAUSTED (tonic's
    /// OUT_OF_RANGE, rewritten by `errors::respond::oversized`).
    TooLarge,
}

fn check<T>(reason: &str, got: &Result<T, tonic::Status>, want: Want) -> Result<()> {
    let code = match got {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    };
    let fine = match want {
        Want::Refused => matches!(
            code,
            Code::InvalidArgument | Code::ResourceExhausted | Code::FailedPrecondition
        ),
        Want::TooLarge => code == Code::ResourceExhausted,
        Want::Rejected => matches!(code, Code::InvalidArgument | Code::ResourceExhausted),
        Want::Any => matches!(
            code,
            Code::Ok | Code::InvalidArgument | Code::ResourceExhausted
        ),
    };
    if !fine {
        let msg = got.as_ref().err().map(|s| s.message()).unwrap_or_default();
        let msg: String = msg.chars().take(300).collect();
        bail!("{reason}: got {code:?} ({msg}), want {want:?}");
    }
    Ok(())
}

/// A well-formed caller rendering a valid claim in a loop until `stop`;
/// returns (ok, failed) counts and the first failure.
fn steady_caller(
    ch: Channel,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(usize, usize, Option<String>)> {
    tokio::spawn(async move {
        let (ok, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let mut first = None;
        let mut client = claims(&ch);
        while !stop.load(Ordering::Relaxed) {
            let req = render_request(inputs::XRD, r#"{"parameters": {"storageGB": 20}}"#);
            match tokio::time::timeout(BOUND, client.render_claim(req)).await {
                Ok(Ok(_)) => ok.fetch_add(1, Ordering::Relaxed),
                other => {
                    first.get_or_insert_with(|| format!("{other:?}"));
                    failed.fetch_add(1, Ordering::Relaxed)
                }
            };
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (ok.into_inner(), failed.into_inner(), first)
    })
}

/// Health still answers and the log shows no panic.
async fn assert_alive(server: &OspServer, ch: &Channel) -> Result<()> {
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    let req = tonic_health::pb::HealthCheckRequest::default();
    tokio::time::timeout(BOUND, health.check(req)).await??;
    let log = server.log();
    assert!(!log.contains("panicked"), "server panicked:\n{log}");
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

#[test]
fn adversarial_requests_are_rejected_and_others_keep_being_served() -> Result<()> {
    // A local publishing target, so CreatePullRequest gets as far as
    // checking paths (nothing valid is ever sent, so nothing is written).
    let dir = std::env::temp_dir().join(format!("osp-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "publish:\n  local:\n    demo: {}\n",
            dir.join("repo").display()
        ),
    )?;
    let server = OspServer::start(&[
        "--from-dir",
        &examples(),
        "--config",
        &config.display().to_string(),
    ])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        let stop = Arc::new(AtomicBool::new(false));
        // Its own connection: a status echoing a huge input can make the
        // client tear down the shared one (see the ignored test below).
        let steady = steady_caller(channel(&server).await?, stop.clone());

        for c in inputs::convert_cases() {
            let got = bounded(
                c.reason,
                templates(&ch).convert_definition(convert_request(c.yaml)),
            )
            .await?;
            check(c.reason, &got, c.want)?;
            if let Ok(r) = &got {
                for e in [&r.template, &r.api] {
                    let name = entity_name(e.as_ref());
                    assert!(
                        !name.is_empty()
                            && name
                                .chars()
                                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
                            && !name.contains(".."),
                        "{}: entity name `{name}` is not a safe file name",
                        c.reason
                    );
                }
            }
        }
        for c in inputs::render_cases() {
            let got = bounded(c.reason, claims(&ch).render_claim(c.request)).await?;
            check(c.reason, &got, c.want)?;
            if let (Err(status), Some(field)) = (&got, c.field) {
                let details = tonic_types::StatusExt::get_error_details(status);
                let fields: Vec<_> = details
                    .bad_request()
                    .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
                    .unwrap_or_default();
                assert!(
                    fields.iter().any(|f| f == field),
                    "{}: violations {fields:?} name `{field}`",
                    c.reason
                );
            }
        }
        for c in inputs::publish_cases() {
            let got = bounded(c.reason, publish(&ch).create_pull_request(c.request)).await?;
            check(c.reason, &got, Want::Rejected)?;
        }
        catalog_calls(&ch).await?;

        stop.store(true, Ordering::Relaxed);
        let (ok, failed, first) = steady.await?;
        assert!(ok > 0, "the steady caller got answers");
        assert_eq!(failed, 0, "steady caller failures, first: {first:?}");
        assert_alive(&server, &ch).await
    })
}

/// `metadata.name` of an entity, or empty.
fn entity_name(e: Option<&pb::Entity>) -> String {
    use prost_types::value::Kind;
    let field = |s: &prost_types::Struct, k: &str| s.fields.get(k).and_then(|v| v.kind.clone());
    let Some(Kind::StructValue(meta)) = e
        .and_then(|e| e.entity.as_ref())
        .and_then(|s| field(s, "metadata"))
    else {
        return String::new();
    };
    match field(&meta, "name") {
        Some(Kind::StringValue(n)) => n,
        _ => String::new(),
    }
}

/// CatalogService with odd revisions and object references: any answer but
/// a crash or a hang (it may still be syncing, so UNAVAILABLE is fine).
async fn catalog_calls(ch: &Channel) -> Result<()> {
    let mut c = catalog(ch);
    let _ = bounded(
        "GetSnapshot",
        c.get_snapshot(pb::GetSnapshotRequest::default()),
    )
    .await?;
    for since in [0, 1, u64::MAX / 2, u64::MAX] {
        let got = bounded(
            "GetDelta",
            c.get_delta(pb::GetDeltaRequest {
                since_revision: since,
                ..Default::default()
            }),
        )
        .await?;
        if let Err(s) = got {
            assert!(
                !matches!(s.code(), Code::Internal | Code::Unknown),
                "GetDelta since {since}: {s:?}"
            );
        }
    }
    for name in ["../../etc/passwd", "a\0b", &"x".repeat(1 << 20)] {
        let req = pb::GetResourceStatusRequest {
            cluster: name.to_string(),
            api_version: name.to_string(),
            kind: name.to_string(),
            namespace: name.to_string(),
            name: name.to_string(),
        };
        let got = bounded("GetResourceStatus", c.get_resource_status(req)).await?;
        if let Err(s) = got {
            assert!(
                !matches!(s.code(), Code::Internal | Code::Unknown),
                "GetResourceStatus: {s:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn random_input_never_crashes_or_hangs() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples()])?;
    let rt = runtime()?;
    let ch = rt.block_on(channel(&server))?;
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(yaml in inputs::yamlish(), values in inputs::values())| {
        let got = rt.block_on(async {
            let a = bounded("convert", templates(&ch).convert_definition(convert_request(yaml.clone()))).await?;
            check(&format!("convert {yaml:?}"), &a, Want::Any)?;
            let mut req = render_request(inputs::XRD, "");
            req.values = Some(values.clone());
            let b = bounded("render", claims(&ch).render_claim(req)).await?;
            check(&format!("render {values:?}"), &b, Want::Any)?;
            let c = bounded("render json", claims(&ch).render_claim(render_request(inputs::XRD, yaml.clone()))).await?;
            check(&format!("render json {yaml:?}"), &c, Want::Any)
        });
        prop_assert!(got.is_ok(), "{:?}", got);
    });
    rt.block_on(assert_alive(&server, &ch))
}

#[test]
fn cli_rejects_hostile_yaml_with_exit_codes_not_panics() -> Result<()> {
    hostile::cli::run()
}

#[test]
fn cli_checks_file_type_and_size_before_reading() -> Result<()> {
    hostile::cli::run_files()
}

/// Nested comprehensions over literal lists in the rule itself (10^8 steps)
/// are refused by the cost estimate before they run.
#[test]
fn cel_comprehensions_over_literal_lists_are_bounded() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples()])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        let reason = "nested comprehensions over literal lists";
        let got = bounded(
            reason,
            claims(&ch).render_claim(inputs::cel_literal_blowup()),
        )
        .await?;
        check(reason, &got, Want::Rejected)
    })
}

/// A status message that echoed a 1 MiB request field would become a 1 MiB
/// `grpc-message` header; the h2 client answers with GOAWAY and every call
/// multiplexed on that connection fails. `errors/respond.rs` bounds status
/// messages and details so this cannot happen.
#[test]
fn huge_inputs_do_not_reset_a_shared_connection() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples()])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        let big = "x".repeat(1 << 20);
        let req = pb::GetResourceStatusRequest {
            cluster: big.clone(),
            api_version: big.clone(),
            kind: big.clone(),
            namespace: big.clone(),
            name: big,
        };
        let got = bounded("GetResourceStatus", catalog(&ch).get_resource_status(req)).await?;
        let code = got.err().map(|s| s.code());
        assert_ne!(code, Some(Code::ResourceExhausted), "connection reset");
        Ok(())
    })
}

/// A flood of bad requests is the callers' problem: at the default level
/// (`info`) it adds no ERROR line, and no line at all for `INVALID_ARGUMENT`
/// and `NOT_FOUND` (each was one ERROR line before: 45.7 MB in 65 s).
#[test]
fn rejected_calls_are_not_logged_as_errors() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples()])?;
    let before = server.log().lines().count();
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        for i in 0..200 {
            let got = bounded(
                "malformed definition",
                templates(&ch).convert_definition(convert_request(format!("kind: [{i}"))),
            )
            .await?;
            check("malformed definition", &got, Want::Rejected)?;
            let missing = pb::ConvertDefinitionRequest {
                definition: Some(pb::DefinitionSource {
                    source: Some(pb::definition_source::Source::Name(format!(
                        "x{i}.example.org"
                    ))),
                    cluster: String::new(),
                }),
            };
            let got = bounded(
                "unknown definition",
                templates(&ch).convert_definition(missing),
            )
            .await?;
            let code = got.err().map(|s| s.code());
            assert_eq!(code, Some(Code::NotFound), "unknown definition");
        }
        anyhow::Ok(())
    })?;
    let log = server.log();
    // Start-up may still log (the catalog syncs in the background).
    let added: Vec<&str> = log
        .lines()
        .skip(before)
        .filter(|l| l.contains("ERROR") || l.contains("response failed"))
        .collect();
    assert!(
        added.is_empty(),
        "400 rejected calls add no log line at info: {} lines, e.g. {:?}",
        added.len(),
        added.first()
    );
    Ok(())
}

/// Sends `message` (already protobuf-encoded) to `path` over a raw HTTP/2
/// connection, as a client that does not check its strings would, and
/// returns the status.
async fn raw_call(addr: std::net::SocketAddr, path: &str, message: &[u8]) -> Result<tonic::Status> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let (send, conn) = h2::client::handshake(tcp).await?;
    tokio::spawn(conn);
    let req = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())?;
    let mut send = send.ready().await?;
    let (response, mut body) = send.send_request(req, false)?;
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len())?.to_be_bytes());
    frame.extend_from_slice(message);
    body.send_data(bytes::Bytes::from(frame), true)?;
    let response = tokio::time::timeout(Duration::from_secs(20), response).await??;
    let (parts, mut body) = response.into_parts();
    let mut headers = parts.headers;
    if headers.get("grpc-status").is_none() {
        while body.data().await.is_some() {}
        if let Some(trailers) = body.trailers().await? {
            headers = trailers;
        }
    }
    tonic::Status::from_header_map(&headers).ok_or_else(|| anyhow::anyhow!("no grpc-status"))
}

/// Invalid UTF-8 in a string field used to answer INTERNAL "failed to
/// decode Protobuf message"; it is the caller's mistake.
#[test]
fn invalid_utf8_in_a_string_field_is_invalid_argument() -> Result<()> {
    use tonic_types::StatusExt;
    let server = OspServer::start(&["--from-dir", &examples()])?;
    runtime()?.block_on(async {
        // ConvertDefinitionRequest { definition: DefinitionSource { inline_yaml: b"a: \xff" } }
        let yaml = b"a: \xff\xfe";
        let mut source = vec![0x12, u8::try_from(yaml.len())?];
        source.extend_from_slice(yaml);
        let mut request = vec![0x0a, u8::try_from(source.len())?];
        request.extend_from_slice(&source);
        let status = raw_call(
            server.addr,
            "/osp.v1.TemplateService/ConvertDefinition",
            &request,
        )
        .await?;
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        let fields: Vec<String> = status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["definition.source"], "{}", status.message());
        let ch = channel(&server).await?;
        let ok = templates(&ch)
            .list_definitions(pb::ListDefinitionsRequest::default())
            .await;
        assert!(ok.is_ok(), "still served: {ok:?}");
        anyhow::Ok(())
    })
}
