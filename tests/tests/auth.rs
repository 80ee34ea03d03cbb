//! With a token configured, every method of every `osp.v1` service and
//! reflection answers UNAUTHENTICATED without the right bearer token;
//! health stays open. `--no-reflection` removes reflection.
use anyhow::Result;
use osp_tests::repo_root;
use osp_tests::server::OspServer;
use prost::Message;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

const TOKEN: &str = "s3cret-token";

/// `/package.Service/Method` for every method in the `osp.v1` descriptors.
fn methods() -> Result<Vec<String>> {
    let set = prost_types::FileDescriptorSet::decode(osp_sidecar::pb::FILE_DESCRIPTOR_SET)?;
    let mut out = Vec::new();
    for file in &set.file {
        for svc in &file.service {
            for m in &svc.method {
                out.push(format!("/{}.{}/{}", file.package(), svc.name(), m.name()));
            }
        }
    }
    Ok(out)
}

/// Calls `path` with an empty message and the given authorization header.
async fn call(ch: &Channel, path: &str, auth: Option<&str>) -> Result<Code> {
    let mut grpc = tonic::client::Grpc::new(ch.clone());
    grpc.ready().await?;
    let mut req = tonic::Request::new(());
    if let Some(a) = auth {
        req.metadata_mut().insert("authorization", a.parse()?);
    }
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let got = grpc.unary(req, PathAndQuery::try_from(path)?, codec).await;
    Ok(got.err().map_or(Code::Ok, |s| s.code()))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[test]
fn every_rpc_but_health_needs_the_token() -> Result<()> {
    let examples = repo_root().join("examples").display().to_string();
    let server = OspServer::start_with_env(&["--from-dir", &examples], &[("OSP_TOKEN", TOKEN)])?;
    let mut paths = methods()?;
    assert!(
        paths.len() >= 9,
        "descriptor lists the osp.v1 methods: {paths:?}"
    );
    paths.push("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo".into());
    paths.push("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo".into());
    runtime()?.block_on(async {
        let ch = Channel::from_shared(format!("http://{}", server.addr))?
            .connect()
            .await?;
        let right = format!("Bearer {TOKEN}");
        for path in &paths {
            for (reason, auth) in [
                ("missing", None),
                ("wrong", Some("Bearer s3cret-tokeX")),
                ("prefix", Some("Bearer s3cret")),
                ("no scheme", Some(TOKEN)),
            ] {
                let got = call(&ch, path, auth).await?;
                assert_eq!(got, Code::Unauthenticated, "{path}, {reason} token");
            }
            // Streaming methods (WatchChanges) keep an accepted call open:
            // still open after a moment means the token was accepted.
            let accepted = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                call(&ch, path, Some(&right)),
            )
            .await;
            if let Ok(got) = accepted {
                assert_ne!(got?, Code::Unauthenticated, "{path} with the right token");
            }
        }
        let health = "/grpc.health.v1.Health/Check";
        assert_eq!(call(&ch, health, None).await?, Code::Ok, "health is open");
        anyhow::Ok(())
    })
}

#[test]
fn no_reflection_removes_reflection() -> Result<()> {
    let examples = repo_root().join("examples").display().to_string();
    let on = OspServer::start(&["--from-dir", &examples])?;
    let off = OspServer::start(&["--from-dir", &examples, "--no-reflection"])?;
    runtime()?.block_on(async {
        let path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
        for (server, want_unimplemented) in [(&on, false), (&off, true)] {
            let ch = Channel::from_shared(format!("http://{}", server.addr))?
                .connect()
                .await?;
            let got = call(&ch, path, None).await?;
            assert_eq!(got == Code::Unimplemented, want_unimplemented, "{got:?}");
        }
        anyhow::Ok(())
    })
}
