//! Every limit that protects `osp serve`, hit once against the real binary:
//! gRPC message size, document size, depth, node count and alias expansion,
//! CEL cost, request timeout and the concurrency limit (load shedding).
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
                want: &[Code::OutOfRange, Code::ResourceExhausted],
                message: "message length too large",
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
                message: "budget",
            },
            Case {
                reason: "node count over 250k",
                yaml: format!("[{}]", vec!["1"; 260_000].join(",")),
                want: &[Code::InvalidArgument],
                message: "budget",
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
