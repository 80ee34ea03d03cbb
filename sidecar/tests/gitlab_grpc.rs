//! GitLab through the real gRPC server (`osp_sidecar::serve` in-process),
//! configured beside GitHub: the request's `host` routes to GitLab, a
//! project in a subgroup gets its merge request, the requester's own token
//! authors it and the body names them, the template and the entity, and a
//! malformed project is `INVALID_ARGUMENT` on `repository`.
#[path = "fake/gitlab.rs"]
mod fake;

use std::time::{Duration, Instant};

use fake::{Fake, PROJECT, TOKEN};
use osp_sidecar::pb;
use osp_sidecar::{Config, ServeArgs};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn the_host_routes_to_gitlab() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("gitlab-token");
    std::fs::write(&token, TOKEN).expect("write token");
    let config = dir.path().join("osp.yaml");
    std::fs::write(
        &config,
        format!(
            "publish:\n  requestUserCredentials: true\n  github: {{tokenEnv: OSP_TEST_UNSET_GITHUB_TOKEN}}\n  gitlab:\n    apiBase: '{}'\n    host: gitlab.example.org\n    tokenFile: '{}'\n",
            fake.api_base(),
            token.display()
        ),
    )
    .expect("write config");
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let args = ServeArgs {
        config: Some(config),
        listen: Some(addr.to_string()),
        ..ServeArgs::default()
    };
    let config = Config::resolve(&args, None).expect("config");
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(osp_sidecar::serve(config, async move {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "sidecar listening"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut client =
        pb::publish_service_client::PublishServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("connect");
    let request = |repository: &str| pb::CreatePullRequestRequest {
        repository: repository.into(),
        host: "gitlab.example.org".into(),
        base_branch: "main".into(),
        files: vec![pb::FileChange {
            path: "clusters/dev/db1.yaml".into(),
            content: "kind: DB\n".into(),
            delete: false,
        }],
        title: "Add db1".into(),
        idempotency_key: "claim/dev/db1".into(),
        ..Default::default()
    };
    let out = client
        .create_pull_request(request(PROJECT))
        .await
        .expect("merge request")
        .into_inner();
    assert_eq!(out.change_kind, pb::ChangeKind::PullRequest as i32);
    assert!(out.created);
    assert_eq!(out.request_count, 4);
    assert!(
        out.url.contains("/acme/platform/gitops/-/merge_requests/1"),
        "{}",
        out.url
    );
    assert_eq!(fake.state().merge_requests.len(), 1);

    // As the requester, with provenance: authored by them, named in the body.
    let as_alice = pb::CreatePullRequestRequest {
        idempotency_key: "claim/dev/db2".into(),
        user_token: fake::ALICE_TOKEN.into(),
        template_ref: "template:default/xdatabases".into(),
        entity_refs: vec!["resource:default/db2.database.dev.east".into()],
        caller: Some(pb::Caller {
            user_entity_ref: "user:default/alice".into(),
            ..Default::default()
        }),
        body: "Please review.".into(),
        ..request(PROJECT)
    };
    client
        .create_pull_request(as_alice)
        .await
        .expect("as alice");
    {
        let s = fake.state();
        let m = &s.merge_requests[1];
        assert_eq!(m.author, "alice");
        assert_eq!(
            m.description,
            "Please review.\n\n---\nRequested by `user:default/alice` with template `template:default/xdatabases` for `resource:default/db2.database.dev.east` (through Backstage and osp)."
        );
    }

    // Generated Templates offer both forges and sign the user in.
    let mut templates =
        pb::template_service_client::TemplateServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("connect");
    let xrd = "apiVersion: apiextensions.crossplane.io/v2\nkind: CompositeResourceDefinition\nmetadata: {name: xqueues.example.org}\nspec:\n  group: example.org\n  names: {kind: XQueue, plural: xqueues}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    referenceable: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec: {type: object, properties: {size: {type: integer}}}\n";
    let converted = templates
        .convert_definition(pb::ConvertDefinitionRequest {
            definition: Some(pb::DefinitionSource {
                source: Some(pb::definition_source::Source::InlineYaml(xrd.into())),
                ..Default::default()
            }),
        })
        .await
        .expect("convert")
        .into_inner();
    let template = osp_sidecar::from_struct(
        &converted
            .template
            .and_then(|e| e.entity)
            .expect("template entity"),
    );
    let text = template.to_string();
    assert!(
        text.contains(r#""allowedHosts":["github.com","gitlab.example.org"]"#),
        "{text}"
    );
    assert!(text.contains(r#""requestUserCredentials":{"secretsKey":"USER_OAUTH_TOKEN"}"#));
    assert!(text.contains(r#""token":"${{ secrets.USER_OAUTH_TOKEN }}""#));

    let err = client
        .create_pull_request(request("acme/../gitops"))
        .await
        .expect_err("not a project path");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let fields: Vec<String> = err
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["repository"]);
}
