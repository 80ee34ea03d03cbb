//! Every limit that protects `osp serve`, hit once against the real binary:
//! gRPC message size, document size, depth, node count and alias expansion,
//! CEL cost and time budget, request timeout and the concurrency limit
//! (load shedding). Each configurable limit is also hit with a low
//! configured value (by flag, environment or config file), and the answer
//! names the limit and the setting to raise.
use std::time::{Duration, Instant};

use anyhow::Result;
use osp_sidecar::pb;
use osp_tests::repo_root;
use osp_tests::server::OspServer;
use tonic::Code;
use tonic::transport::Channel;

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
              tags: {type: array, items: {type: string}}
            x-kubernetes-validations:
            - rule: "self.tags.all(a, self.tags.all(b, self.tags.all(c, size(a) + size(b) + size(c) >= 0)))"
"#;

fn examples() -> String {
    repo_root().join("examples").display().to_string()
}

async fn channel(server: &OspServer) -> Result<Channel> {
    Ok(Channel::from_shared(format!("http://{}", server.addr))?
        .connect()
        .await?)
}

async fn convert(
    ch: &Channel,
    yaml: String,
) -> Result<pb::ConvertDefinitionResponse, tonic::Status> {
    let mut client = pb::template_service_client::TemplateServiceClient::new(ch.clone())
        .max_decoding_message_size(64 << 20);
    let req = pb::ConvertDefinitionRequest {
        definition: Some(pb::DefinitionSource {
            source: Some(pb::definition_source::Source::InlineYaml(yaml)),
            cluster: String::new(),
        }),
    };
    match tokio::time::timeout(Duration::from_secs(20), client.convert_definition(req)).await {
        Ok(r) => r.map(tonic::Response::into_inner),
        Err(_) => Err(tonic::Status::deadline_exceeded("test bound")),
    }
}

fn code<T>(r: &Result<T, tonic::Status>) -> Code {
    r.as_ref().err().map_or(Code::Ok, tonic::Status::code)
}

/// A schema with `n` properties: slow enough to convert that concurrent
/// calls overlap (about a second in a debug build for 40k).
fn wide(n: usize) -> String {
    let props: Vec<String> = (0..n).map(|i| format!("p{i}: {{type: string}}")).collect();
    XRD.replace(
        "tags: {type: array, items: {type: string}}",
        &format!(
            "tags: {{type: object, properties: {{{}}}}}",
            props.join(", ")
        ),
    )
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

#[test]
fn document_and_message_limits_answer_clear_codes() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples(), "--max-message-bytes", "1048576"])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        struct Case {
            reason: &'static str,
            yaml: String,
            want: &'static [Code],
            message: &'static str,
        }
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let cases = [
            Case {
                reason: "gRPC message over --max-message-bytes",
                yaml: "x".repeat(2 << 20),
                want: &[Code::ResourceExhausted],
                message: "over the limit of `1048576` bytes: raise `--max-message-bytes`",
            },
            Case {
                reason: "document nesting over 64 levels",
                yaml: format!("{}1{}", "[".repeat(65), "]".repeat(65)),
                want: &[Code::InvalidArgument],
                message: "deeper than `64` levels",
            },
            Case {
                reason: "alias expansion (billion laughs)",
                yaml: bomb,
                want: &[Code::InvalidArgument],
                message: "more than `250000` nodes",
            },
            Case {
                reason: "node count over 250k",
                yaml: format!("[{}]", vec!["1"; 260_000].join(",")),
                want: &[Code::InvalidArgument],
                message: "more than `250000` nodes",
            },
        ];
        for c in cases {
            let got = convert(&ch, c.yaml).await;
            let msg = got
                .as_ref()
                .err()
                .map(|s| s.message().to_string())
                .unwrap_or_default();
            assert!(
                c.want.contains(&code(&got)),
                "{}: {:?} {msg}",
                c.reason,
                code(&got)
            );
            assert!(msg.contains(c.message), "{}: message `{msg}`", c.reason);
        }
        Ok(())
    })
}

async fn render(
    ch: &Channel,
    xrd: &str,
    values_json: String,
) -> Result<pb::RenderClaimResponse, tonic::Status> {
    let mut client = pb::claim_service_client::ClaimServiceClient::new(ch.clone());
    let req = pb::RenderClaimRequest {
        definition: Some(pb::DefinitionSource {
            source: Some(pb::definition_source::Source::InlineYaml(xrd.into())),
            cluster: String::new(),
        }),
        name: "orders".into(),
        namespace: "team-a".into(),
        values_json,
        ..Default::default()
    };
    match tokio::time::timeout(Duration::from_secs(20), client.render_claim(req)).await {
        Ok(r) => r.map(tonic::Response::into_inner),
        Err(_) => Err(tonic::Status::deadline_exceeded("test bound")),
    }
}

async fn publish(
    ch: &Channel,
    content: String,
) -> Result<pb::CreatePullRequestResponse, tonic::Status> {
    let mut client = pb::publish_service_client::PublishServiceClient::new(ch.clone());
    let req = pb::CreatePullRequestRequest {
        repository: "acme/gitops".into(),
        files: vec![pb::FileChange {
            path: "clusters/a.yaml".into(),
            content,
            delete: false,
        }],
        idempotency_key: "k".into(),
        ..Default::default()
    };
    match tokio::time::timeout(Duration::from_secs(20), client.create_pull_request(req)).await {
        Ok(r) => r.map(tonic::Response::into_inner),
        Err(_) => Err(tonic::Status::deadline_exceeded("test bound")),
    }
}

/// `n` levels of nested mappings.
fn nested(n: usize) -> String {
    format!("{}1{}", "{a: ".repeat(n), "}".repeat(n))
}

/// A scratch directory under the system temp dir, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("osp-limits-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
    fn path(&self, file: &str) -> String {
        self.0.join(file).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Low limits from all three sources at once: flags win over the
/// environment, the environment over the file. Each request hits one.
#[test]
fn configured_limits_answer_clear_codes_and_name_the_setting() -> Result<()> {
    let scratch = Scratch::new("configured")?;
    let defs = scratch.0.join("defs");
    std::fs::create_dir_all(&defs)?;
    // Fits the configured 4000 bytes; the padded copy does not.
    std::fs::write(defs.join("small.yaml"), XRD)?;
    let big = XRD
        .replace("xdbs.example.org", "xbigs.example.org")
        .replace("plural: xdbs", "plural: xbigs");
    std::fs::write(
        defs.join("big.yaml"),
        format!("{big}# {}\n", "x".repeat(5000)),
    )?;
    let config = scratch.path("config.yaml");
    std::fs::write(
        &config,
        "limits:\n  maxDocumentBytes: 1\n  maxDocumentDepth: 100\n  maxDocumentNodes: 200\n  maxCelCost: 1000\n",
    )?;
    let server = OspServer::start_with_env(
        &[
            "--from-dir",
            &defs.display().to_string(),
            "--config",
            &config,
            "--max-document-bytes",
            "4000",
            "--max-document-aliases",
            "3",
            "--max-message-bytes",
            "65536",
        ],
        // The flag wins over this byte limit; this depth wins over the file's.
        &[
            ("OSP_MAX_DOCUMENT_BYTES", "1"),
            ("OSP_MAX_DOCUMENT_DEPTH", "16"),
        ],
    )?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        struct Case {
            reason: &'static str,
            call: Call,
            want: Code,
            message: &'static str,
        }
        enum Call {
            Convert(String),
            Render(String),
            Publish(String),
        }
        let tags: Vec<String> = (0..20).map(|i| format!("\"t{i}\"")).collect();
        let cases = [
            Case {
                reason: "gRPC message over --max-message-bytes 65536",
                call: Call::Convert(format!("a: \"{}\"\n", "x".repeat(100_000))),
                want: Code::ResourceExhausted,
                message: "request message is `100",
            },
            Case {
                reason: "gRPC message names the limit and the setting",
                call: Call::Convert(format!("a: \"{}\"\n", "x".repeat(100_000))),
                want: Code::ResourceExhausted,
                message: "over the limit of `65536` bytes: raise `--max-message-bytes` (`OSP_MAX_MESSAGE_BYTES`, `maxMessageBytes`)",
            },
            Case {
                reason: "definition over --max-document-bytes 4000",
                call: Call::Convert(format!("{XRD}# {}\n", "x".repeat(5000))),
                want: Code::InvalidArgument,
                message: "over the limit of `4000` bytes: raise `--max-document-bytes`",
            },
            Case {
                reason: "values_json over --max-document-bytes 4000",
                call: Call::Render(format!("{{\"tags\": [\"{}\"]}}", "x".repeat(5000))),
                want: Code::InvalidArgument,
                message: "values_json: document is `5014` bytes, over the limit of `4000` bytes",
            },
            Case {
                reason: "published file over --max-document-bytes 4000",
                call: Call::Publish("x".repeat(5000)),
                want: Code::InvalidArgument,
                message: "files[0].content: document is `5000` bytes, over the limit of `4000` bytes",
            },
            Case {
                reason: "definition deeper than OSP_MAX_DOCUMENT_DEPTH 16",
                call: Call::Convert(nested(20)),
                want: Code::InvalidArgument,
                message: "deeper than `16` levels: raise `--max-document-depth`",
            },
            Case {
                reason: "values_json deeper than OSP_MAX_DOCUMENT_DEPTH 16",
                call: Call::Render(format!("{}1{}", "[".repeat(20), "]".repeat(20))),
                want: Code::InvalidArgument,
                message: "values_json: document nests deeper than `16` levels",
            },
            Case {
                reason: "definition with more nodes than limits.maxDocumentNodes 200",
                call: Call::Convert(format!("[{}]", vec!["1"; 300].join(","))),
                want: Code::InvalidArgument,
                message: "more than `200` nodes: raise `--max-document-nodes`",
            },
            Case {
                reason: "values_json with more nodes than limits.maxDocumentNodes 200",
                call: Call::Render(format!("{{\"tags\": [{}]}}", vec!["\"t\""; 300].join(","))),
                want: Code::InvalidArgument,
                message: "values_json: document has more than `200` nodes",
            },
            Case {
                reason: "definition with more aliases than --max-document-aliases 3",
                call: Call::Convert("a: &a 1\nb: *a\nc: *a\nd: *a\ne: *a\n".into()),
                want: Code::InvalidArgument,
                message: "more than `3` aliases: raise `--max-document-aliases`",
            },
            Case {
                reason: "rule over limits.maxCelCost 1000",
                call: Call::Render(format!(r#"{{"tags": [{}]}}"#, tags.join(","))),
                want: Code::InvalidArgument,
                message: "is too expensive to evaluate: estimated cost `6.88e5` is over `1e3`",
            },
        ];
        for c in cases {
            let got = match c.call {
                Call::Convert(yaml) => code_and_message(convert(&ch, yaml).await),
                Call::Render(values) => code_and_message(render(&ch, XRD, values).await),
                Call::Publish(content) => code_and_message(publish(&ch, content).await),
            };
            assert_eq!(got.0, c.want, "{}: {}", c.reason, got.1);
            assert!(got.1.contains(c.message), "{}: message `{}`", c.reason, got.1);
        }

        // `--from-dir` reads files under the same limits: the padded file
        // is rejected, the small one served.
        let mut templates = pb::template_service_client::TemplateServiceClient::new(ch.clone());
        let listed = templates
            .list_definitions(pb::ListDefinitionsRequest::default())
            .await?
            .into_inner();
        let names: Vec<&str> = listed.definitions.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["xdbs.example.org"], "the oversized file is not loaded");

        // Under every limit, the same server still answers.
        let ok = render(&ch, XRD, r#"{"tags": ["a"]}"#.into()).await;
        assert_eq!(code(&ok), Code::Ok, "{ok:?}");
        Ok(())
    })
}

fn code_and_message<T>(r: Result<T, tonic::Status>) -> (Code, String) {
    match r {
        Ok(_) => (Code::Ok, String::new()),
        Err(s) => (s.code(), s.message().to_string()),
    }
}

/// A depth the thread stacks cannot take is refused at startup rather than
/// letting a deep document abort the process later.
#[test]
fn document_depth_over_the_stack_ceiling_is_refused_at_startup() -> Result<()> {
    let out = std::process::Command::new(osp_tests::server::osp_bin()?)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-document-depth",
            "100000",
        ])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert!(
        stderr.contains("`--max-document-depth` is `100000`, over the `"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn cel_time_budget_is_configurable() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples(), "--cel-budget-ms", "0"])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        let got = code_and_message(render(&ch, XRD, r#"{"tags": ["a"]}"#.into()).await);
        assert_eq!(got.0, Code::InvalidArgument, "{}", got.1);
        assert!(
            got.1.contains("validation rules ran over the `0ns` budget"),
            "{}",
            got.1
        );
        Ok(())
    })
}

#[test]
fn document_size_limit_is_4_mib() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples()])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        let got = convert(&ch, format!("a: \"{}\"\n", "x".repeat(5 << 20))).await;
        assert_eq!(code(&got), Code::InvalidArgument, "{got:?}");
        let msg = got
            .err()
            .map(|s| s.message().to_string())
            .unwrap_or_default();
        assert!(msg.contains("over the limit of `4194304` bytes"), "{msg}");
        Ok(())
    })
}

#[test]
fn cel_cost_is_bounded() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples()])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        let mut client = pb::claim_service_client::ClaimServiceClient::new(ch.clone());
        let tags: Vec<String> = (0..1_000).map(|i| format!("\"t{i}\"")).collect();
        let req = pb::RenderClaimRequest {
            definition: Some(pb::DefinitionSource {
                source: Some(pb::definition_source::Source::InlineYaml(XRD.into())),
                cluster: String::new(),
            }),
            name: "orders".into(),
            namespace: "team-a".into(),
            values_json: format!(r#"{{"tags": [{}]}}"#, tags.join(",")),
            ..Default::default()
        };
        let start = Instant::now();
        let got = client.render_claim(req).await;
        assert!(start.elapsed() < Duration::from_secs(5), "answered quickly");
        let status = got.expect_err("10^9 iterations are refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("too expensive to evaluate"),
            "{}",
            status.message()
        );
        Ok(())
    })
}

#[test]
fn concurrency_limit_sheds_load() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples(), "--concurrency-limit", "1"])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        let yaml = wide(40_000);
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let (ch, yaml) = (ch.clone(), yaml.clone());
                tokio::spawn(async move { code(&convert(&ch, yaml).await) })
            })
            .collect();
        let mut codes = Vec::new();
        for c in calls {
            codes.push(c.await?);
        }
        assert!(codes.contains(&Code::Ok), "one call is served: {codes:?}");
        assert!(
            codes.contains(&Code::ResourceExhausted),
            "calls over the limit are shed: {codes:?}"
        );
        assert!(
            codes
                .iter()
                .all(|c| matches!(c, Code::Ok | Code::ResourceExhausted)),
            "{codes:?}"
        );
        anyhow::Ok(())
    })
}

/// Conversion and rendering run on the blocking pool, so the request timeout
/// answers while a pathological input is still being processed.
#[test]
fn request_timeout_interrupts_slow_conversions() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples(), "--request-timeout-ms", "1"])?;
    runtime()?.block_on(async {
        let ch = channel(&server).await?;
        let got = convert(&ch, wide(40_000)).await;
        assert!(
            matches!(code(&got), Code::Cancelled | Code::DeadlineExceeded),
            "the request timeout answers: {:?}",
            code(&got)
        );
        Ok(())
    })
}
