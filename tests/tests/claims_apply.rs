//! `ClaimService.ApplyClaim` end to end: the real `osp` binary applies
//! claims to the real API server (`tests/src/kube.rs`) over gRPC. Disabled
//! by default; dry-run creates nothing; a real apply is owned by field
//! manager `osp`; impersonated applies are decided by cluster RBAC; the
//! namespace allow-list refuses before any cluster is contacted; conflicts,
//! missing CRDs and unreachable clusters get clear codes.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use osp_sidecar::pb::{self, claim_service_client::ClaimServiceClient};
use osp_tests::kube::{ApiServer, wait_xrd_established, xrd_resource};
use osp_tests::server::{OspServer, free_addr};
use serde_json::json;
use tonic::Code;
use tonic::transport::Channel;

const XRD: &str = r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xapplydbs.apply.osp.test}
spec:
  group: apply.osp.test
  names: {kind: XApplyDB, plural: xapplydbs}
  claimNames: {kind: ApplyDB, plural: applydbs}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              parameters:
                type: object
                required: [storageGB]
                properties:
                  storageGB: {type: integer, minimum: 1}
"#;

/// An XRD that is never created in the cluster.
const ABSENT_XRD: &str = r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xabsents.apply.osp.test}
spec:
  group: apply.osp.test
  names: {kind: XAbsent, plural: xabsents}
  claimNames: {kind: Absent, plural: absents}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
"#;

fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apply.osp.test", "v1alpha1", "ApplyDB"),
        "applydbs",
    )
}

/// A directory for config files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let p = std::env::temp_dir().join(format!(
            "osp-apply-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }

    fn write(&self, name: &str, text: &str) -> Result<String> {
        let path = self.0.join(name);
        std::fs::write(&path, text)?;
        Ok(path.display().to_string())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(config: Option<&str>) -> Result<(OspServer, ClaimServiceClient<Channel>)> {
    let server = match config {
        Some(path) => OspServer::start(&["--config", path])?,
        None => OspServer::start(&[])?,
    };
    let client = ClaimServiceClient::connect(format!("http://{}", server.target())).await?;
    Ok((server, client))
}

struct Apply<'a> {
    xrd: &'a str,
    name: &'a str,
    namespace: &'a str,
    storage: u32,
    cluster: &'a str,
    user: &'a str,
    dry_run: bool,
}

impl Default for Apply<'_> {
    fn default() -> Self {
        Self {
            xrd: XRD,
            name: "",
            namespace: "team-a",
            storage: 7,
            cluster: "",
            user: "",
            dry_run: false,
        }
    }
}

async fn apply(
    c: &mut ClaimServiceClient<Channel>,
    a: Apply<'_>,
) -> Result<pb::ApplyClaimResponse, tonic::Status> {
    let request = pb::ApplyClaimRequest {
        render: Some(pb::RenderClaimRequest {
            definition: Some(pb::DefinitionSource {
                source: Some(pb::definition_source::Source::InlineYaml(a.xrd.into())),
                cluster: String::new(),
            }),
            name: a.name.into(),
            namespace: a.namespace.into(),
            values_json: json!({"parameters": {"storageGB": a.storage}}).to_string(),
            owner: "group:default/team-a".into(),
            cluster: a.cluster.into(),
            caller: (!a.user.is_empty()).then(|| pb::Caller {
                user_entity_ref: a.user.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        dry_run: a.dry_run,
    };
    c.apply_claim(request).await.map(|r| r.into_inner())
}

/// Asserts the code and that the message contains `needle`.
fn expect_code<T: std::fmt::Debug>(
    got: Result<T, tonic::Status>,
    code: Code,
    needle: &str,
    reason: &str,
) {
    match got {
        Err(s) => {
            assert_eq!(s.code(), code, "{reason}: {}", s.message());
            assert!(s.message().contains(needle), "{reason}: {}", s.message());
        }
        Ok(r) => panic!("{reason}: want {code:?}, got {r:?}"),
    }
}

/// The harness kubeconfig with its server moved to a port nobody serves.
fn unreachable_kubeconfig(server: &ApiServer) -> Result<String> {
    let text = std::fs::read_to_string(server.kubeconfig())?;
    Ok(text.replace(server.url(), &format!("https://{}", free_addr()?)))
}

fn config(kubeconfig: &Path, down: &str, impersonate: bool) -> String {
    format!(
        "clusters:
- {{name: test, kubeconfig: {k}, context: admin}}
- {{name: broken, kubeconfig: /nonexistent/kubeconfig}}
- {{name: down, kubeconfig: {down}, context: admin}}
apply:
  enabled: true
  impersonate: {impersonate}
  namespaces: [team-a, team-b]
  clusters: [test, broken, down]
",
        k = kubeconfig.display()
    )
}

#[tokio::test]
async fn apply_claims_to_the_api_server() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let admin = server.client().await?;
    let xrds: Api<DynamicObject> = Api::all_with(admin.clone(), &xrd_resource());
    let doc = osp::document::from_yaml(XRD, Default::default())?;
    xrds.create(&PostParams::default(), &serde_json::from_value(doc)?)
        .await?;
    wait_xrd_established(&admin, "xapplydbs.apply.osp.test", Duration::from_secs(60)).await?;
    // The generated CRD needs a moment before its REST path serves.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let team_a: Api<DynamicObject> = Api::namespaced_with(admin.clone(), "team-a", &resource());

    let dir = TempDir::new()?;
    let down = dir.write("down.kubeconfig", &unreachable_kubeconfig(server)?)?;
    let plain = dir.write("plain.yaml", &config(&server.kubeconfig(), &down, false))?;
    let impersonating = dir.write("imp.yaml", &config(&server.kubeconfig(), &down, true))?;

    // Off unless the operator enables it.
    {
        let (_osp, mut c) = start(None).await?;
        let got = apply(
            &mut c,
            Apply {
                name: "off",
                ..Default::default()
            },
        )
        .await;
        expect_code(
            got,
            Code::FailedPrecondition,
            "apply is disabled",
            "disabled",
        );
    }

    let (_osp, mut c) = start(Some(&plain)).await?;
    let t = Instant::now();
    let dry = apply(
        &mut c,
        Apply {
            name: "dry",
            cluster: "test",
            dry_run: true,
            ..Default::default()
        },
    )
    .await?;
    eprintln!("dry-run apply: {:?}", t.elapsed());
    assert!(dry.dry_run && dry.cluster == "test");
    assert!(dry.applied.is_some_and(|m| m.json.contains("\"dry\"")));
    assert!(
        team_a.get_opt("dry").await?.is_none(),
        "dry-run created nothing"
    );

    let t = Instant::now();
    let real = apply(
        &mut c,
        Apply {
            name: "real",
            cluster: "test",
            ..Default::default()
        },
    )
    .await?;
    eprintln!("real apply: {:?}", t.elapsed());
    let got = team_a.get("real").await?;
    assert_eq!(got.metadata.uid.as_deref(), Some(real.uid.as_str()));
    assert_eq!(got.data["spec"]["parameters"]["storageGB"], 7);
    assert!(
        got.metadata
            .managed_fields
            .iter()
            .flatten()
            .any(|m| m.manager.as_deref() == Some("osp") && m.operation.as_deref() == Some("Apply")),
        "owned by field manager osp"
    );

    // Another manager takes `storageGB`; our non-forced apply conflicts.
    team_a
        .patch(
            "real",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(json!({
                "apiVersion": "apply.osp.test/v1alpha1",
                "kind": "ApplyDB",
                "metadata": {"name": "real", "namespace": "team-a"},
                "spec": {"parameters": {"storageGB": 9}},
            })),
        )
        .await?;
    let got = apply(
        &mut c,
        Apply {
            name: "real",
            cluster: "test",
            ..Default::default()
        },
    )
    .await;
    expect_code(
        got,
        Code::FailedPrecondition,
        "conflicts with other field managers",
        "field conflict",
    );

    // The allow-list refuses before any cluster is contacted: `broken` has
    // no kubeconfig, yet the answer is about the namespace.
    let got = apply(
        &mut c,
        Apply {
            name: "outside",
            namespace: "default",
            cluster: "broken",
            ..Default::default()
        },
    )
    .await;
    expect_code(
        got,
        Code::PermissionDenied,
        "not in the apply allow-list",
        "allow-list",
    );
    let got = apply(
        &mut c,
        Apply {
            name: "x",
            cluster: "broken",
            ..Default::default()
        },
    )
    .await;
    expect_code(
        got,
        Code::FailedPrecondition,
        "cannot load kubeconfig",
        "broken kubeconfig",
    );
    let got = apply(
        &mut c,
        Apply {
            name: "x",
            cluster: "down",
            ..Default::default()
        },
    )
    .await;
    expect_code(
        got,
        Code::Unavailable,
        "cluster `down` is unavailable",
        "unreachable",
    );
    let got = apply(
        &mut c,
        Apply {
            name: "x",
            cluster: "nope",
            ..Default::default()
        },
    )
    .await;
    expect_code(
        got,
        Code::InvalidArgument,
        "cluster `nope` is not configured",
        "unknown cluster",
    );
    let got = apply(
        &mut c,
        Apply {
            xrd: ABSENT_XRD,
            name: "x",
            cluster: "test",
            ..Default::default()
        },
    )
    .await;
    expect_code(
        got,
        Code::FailedPrecondition,
        "the XRD `xabsents.apply.osp.test` is not established in that cluster",
        "missing CRD",
    );
    drop(c);

    // Impersonating the Backstage user: alice may write in team-a only.
    let (_osp, mut c) = start(Some(&impersonating)).await?;
    let got = apply(
        &mut c,
        Apply {
            name: "by-alice",
            cluster: "test",
            user: "user:default/alice",
            ..Default::default()
        },
    )
    .await?;
    assert!(!got.uid.is_empty());
    assert!(team_a.get_opt("by-alice").await?.is_some());
    let got = apply(
        &mut c,
        Apply {
            name: "by-alice",
            namespace: "team-b",
            cluster: "test",
            user: "user:default/alice",
            ..Default::default()
        },
    )
    .await;
    expect_code(
        got,
        Code::PermissionDenied,
        "denied the request",
        "alice in team-b",
    );
    let team_b: Api<DynamicObject> = Api::namespaced_with(admin.clone(), "team-b", &resource());
    assert!(team_b.get_opt("by-alice").await?.is_none());
    let got = apply(
        &mut c,
        Apply {
            name: "anon",
            cluster: "test",
            ..Default::default()
        },
    )
    .await;
    expect_code(
        got,
        Code::InvalidArgument,
        "render.caller",
        "impersonation without caller",
    );
    drop(c);

    // Direct delete, admitted like apply and as the impersonated caller;
    // the definition comes from what the sidecar serves.
    let xrd_dir = TempDir::new()?;
    xrd_dir.write("xrd.yaml", XRD)?;
    let from_dir = xrd_dir.0.display().to_string();
    let osp = OspServer::start(&["--config", &impersonating, "--from-dir", &from_dir])?;
    let mut c = ClaimServiceClient::connect(format!("http://{}", osp.target())).await?;
    let delete = |namespace: &str, name: &str, kind: &str| pb::DeleteClaimRequest {
        cluster: "test".into(),
        api_version: "apply.osp.test/v1alpha1".into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
        caller: Some(pb::Caller {
            user_entity_ref: "user:default/alice".into(),
            ..Default::default()
        }),
        dry_run: false,
    };
    let got = c
        .delete_claim(delete("team-a", "by-alice", "ApplyDB"))
        .await?
        .into_inner();
    assert!(got.deleted && got.cluster == "test", "{got:?}");
    assert!(team_a.get_opt("by-alice").await?.is_none(), "deleted");
    let again = c
        .delete_claim(delete("team-a", "by-alice", "ApplyDB"))
        .await?
        .into_inner();
    assert!(!again.deleted, "already gone: {again:?}");
    let got = c.delete_claim(delete("team-b", "x", "ApplyDB")).await;
    expect_code(
        got,
        Code::PermissionDenied,
        "denied the request",
        "alice deleting in team-b",
    );
    let got = c.delete_claim(delete("team-a", "x", "Nope")).await;
    expect_code(got, Code::NotFound, "Nope", "a kind no definition offers");
    let got = c.delete_claim(delete("team-a", "", "ApplyDB")).await;
    expect_code(got, Code::InvalidArgument, "name", "no name");
    Ok(())
}
