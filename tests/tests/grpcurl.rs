//! The README's grpcurl recipes against the real binary: list, describe,
//! health, conversion, a malformed call, and bearer-token auth.
use std::process::{Command, Output};

use anyhow::Result;
use osp_tests::server::OspServer;
use osp_tests::{grpcurl, repo_root};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

fn run(args: &[&str]) -> Result<Output> {
    Ok(Command::new(grpcurl()).args(args).output()?)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn examples() -> String {
    repo_root().join("examples").display().to_string()
}

#[test]
fn grpcurl_recipes_work_against_the_embedded_default() -> Result<()> {
    let server = OspServer::start(&["--from-dir", &examples()])?;
    let t = server.target();

    let list = run(&["-plaintext", &t, "list"])?;
    let listed = text(&list);
    for svc in [
        "osp.v1.TemplateService",
        "osp.v1.ClaimService",
        "osp.v1.PublishService",
        "osp.v1.CatalogService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(listed.contains(svc), "list shows {svc}: {listed}");
    }

    let describe = text(&run(&[
        "-plaintext",
        &t,
        "describe",
        "osp.v1.TemplateService",
    ])?);
    assert!(
        describe.contains("// ConvertDefinition converts one definition"),
        "describe shows RPC docs: {describe}"
    );

    // Every service reports SERVING once it can answer (the catalog after
    // its first build, so it is polled): per-service probes must not fail.
    for svc in [
        "",
        "osp.v1.TemplateService",
        "osp.v1.ClaimService",
        "osp.v1.PublishService",
        "osp.v1.CatalogService",
    ] {
        let request = format!(r#"{{"service":"{svc}"}}"#);
        let mut health = String::new();
        for _ in 0..50 {
            health = text(&run(&[
                "-plaintext",
                "-d",
                &request,
                &t,
                "grpc.health.v1.Health/Check",
            ])?);
            if health.contains("\"SERVING\"") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        assert!(
            health.contains("\"SERVING\""),
            "health of `{svc}`: {health}"
        );
    }

    let convert = run(&[
        "-plaintext",
        "-d",
        r#"{"definition":{"name":"xpostgresqlinstances.database.example.org"}}"#,
        &t,
        "osp.v1.TemplateService/ConvertDefinition",
    ])?;
    let converted = text(&convert);
    assert!(convert.status.success(), "convert: {converted}");
    assert!(
        converted.contains("scaffolder.backstage.io/v1beta3"),
        "{converted}"
    );
    assert!(converted.contains("\"type\": \"openapi\""), "{converted}");

    let bad = run(&[
        "-plaintext",
        "-d",
        r#"{"definition":{"inline_yaml":"apiVersion: apiextensions.crossplane.io/v1\nkind: CompositeResourceDefinition\nmetadata: {name: x}\nspec: {names: {kind: X, plural: xs}}"}}"#,
        &t,
        "osp.v1.TemplateService/ConvertDefinition",
    ])?;
    let bad_text = text(&bad);
    assert!(!bad.status.success());
    assert!(bad_text.contains("Code: InvalidArgument"), "{bad_text}");
    assert!(
        bad_text.contains(r#""field":"definition.inline_yaml.spec.group""#),
        "field violation names the schema path: {bad_text}"
    );
    Ok(())
}

#[test]
fn a_token_is_required_except_for_health() -> Result<()> {
    let server =
        OspServer::start_with_env(&["--from-dir", &examples()], &[("OSP_TOKEN", "s3cret")])?;
    let t = server.target();
    let call = |extra: &[&str]| -> Result<String> {
        let mut args = vec!["-plaintext"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&t, "osp.v1.TemplateService/ListDefinitions"]);
        Ok(text(&run(&args)?))
    };
    // grpcurl reports a reflection failure as `code = Unauthenticated`.
    let denied = |out: String| out.contains("Unauthenticated") && out.contains("bearer token");
    assert!(denied(call(&[])?), "no token");
    assert!(
        denied(call(&["-H", "authorization: Bearer wrong"])?),
        "wrong token"
    );
    let ok = call(&["-H", "authorization: Bearer s3cret"])?;
    assert!(
        ok.contains("xpostgresqlinstances.database.example.org"),
        "{ok}"
    );
    // Health needs no token (kubelets cannot hold one). grpcurl would need
    // reflection, which does, so ask with a plain gRPC client like a kubelet.
    let rt = tokio::runtime::Runtime::new()?;
    let status = rt.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{t}"))?
            .connect()
            .await?;
        let mut client = HealthClient::new(channel);
        let resp = client.check(HealthCheckRequest::default()).await?;
        anyhow::Ok(resp.into_inner().status)
    })?;
    assert_eq!(
        status,
        ServingStatus::Serving as i32,
        "health needs no token"
    );
    Ok(())
}

#[test]
fn refuses_a_public_address_without_a_token() -> Result<()> {
    let out = Command::new(osp_tests::server::osp_bin()?)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("OSP_TOKEN")
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on non-loopback address `0.0.0.0:0` without a token"),
        "{err}"
    );
    Ok(())
}

#[test]
fn sigterm_stops_the_server_cleanly() -> Result<()> {
    let mut server = OspServer::start(&["--from-dir", &examples()])?;
    let status = server.terminate()?;
    assert!(status.success(), "exit status {status}");
    assert!(server.log().contains("stopped"), "{}", server.log());
    Ok(())
}
