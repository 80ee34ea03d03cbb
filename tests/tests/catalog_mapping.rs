//! How the catalog maps what platform teams write, against the real API
//! server with the real binary: two clusters serving one XRD (two contexts
//! to the same server, declared once in the top-level `clusters:` list) →
//! its Template offers the cluster choice, and RenderClaim with
//! `DefinitionSource.cluster` renders for that cluster; a claim annotated in
//! other tools' dialects (`backstage.io/owner`, `terasky.backstage.io/system`)
//! and labelled by Flux → its Resource's owner, system, Flux annotation and
//! passed-through label; a claim naming no owner or system → its
//! Namespace's annotations; an `api-only` XRD → an API and no Template.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_sidecar::pb::claim_service_client::ClaimServiceClient;
use osp_sidecar::pb::{self, GetSnapshotRequest};
use osp_tests::kube::proxy::Proxy;
use osp_tests::kube::{ApiServer, wait_xrd_established, xrd_resource};
use osp_tests::server::OspServer;
use serde_json::{Value, json};

const GROUP: &str = "mapping.example.org";

fn xrd(plural: &str, kind: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": format!("x{plural}.{GROUP}"), "annotations": annotations},
        "spec": {
            "group": GROUP,
            "names": {"kind": format!("X{kind}"), "plural": format!("x{plural}")},
            "claimNames": {"kind": kind, "plural": plural},
            "versions": [{"name": "v1", "served": true, "referenceable": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]
        }
    })
}

/// The sidecar's config: two clusters (contexts to the same server through
/// the proxy) declared once and watched by name, and a label passthrough.
fn config(dir: &Path, proxy: &str, token: &str) -> Result<PathBuf> {
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster: {{server: \"{proxy}\"}}\nusers:\n- name: admin\n  user: {{token: {token}}}\ncontexts:\n- name: east\n  context: {{cluster: proxy, user: admin}}\n- name: west\n  context: {{cluster: proxy, user: admin}}\ncurrent-context: east\n"
        ),
    )?;
    let k = kubeconfig.display();
    let path = dir.join("osp.yaml");
    std::fs::write(
        &path,
        format!(
            "clusters:\n- {{name: east, kubeconfig: {k}, context: east}}\n- {{name: west, kubeconfig: {k}, context: west}}\ncatalog:\n  clusters: [east, west]\n  defaultOwner: group:default/platform\n  passthrough: {{labels: [team]}}\n  namespaceKeys: {{owner: example.org/owner, system: example.org/system}}\n"
        ),
    )?;
    Ok(path)
}

async fn create(kube: &kube::Client, doc: Value) -> Result<()> {
    let api: Api<DynamicObject> = Api::all_with(kube.clone(), &xrd_resource());
    let name = doc["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    api.create(&PostParams::default(), &serde_json::from_value(doc)?)
        .await?;
    wait_xrd_established(kube, &name, Duration::from_secs(30)).await?;
    Ok(())
}

/// Snapshots until `done` holds for the entities by ref.
async fn until(
    c: &mut CatalogServiceClient<tonic::transport::Channel>,
    what: &str,
    done: impl Fn(&std::collections::BTreeMap<String, Value>) -> bool,
) -> Result<std::collections::BTreeMap<String, Value>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = c.get_snapshot(GetSnapshotRequest::default()).await {
            let entities = r
                .into_inner()
                .entities
                .into_iter()
                .map(|e| {
                    let v = osp_sidecar::from_struct(&e.entity.unwrap_or_default());
                    (e.r#ref, v)
                })
                .collect();
            if done(&entities) {
                return Ok(entities);
            }
            if Instant::now() > deadline {
                bail!(
                    "{what}: not seen in {:?}",
                    entities.keys().collect::<Vec<_>>()
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_catalog_maps_what_platform_teams_write() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let kube = server.client().await?;
    let started = Instant::now();
    create(&kube, xrd("queues", "Queue", json!({}))).await?;
    create(
        &kube,
        xrd("caches", "Cache", json!({"osp.dev/catalog": "api-only"})),
    )
    .await?;
    let claims =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, "v1", "Queue"), "queues");
    let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), "team-a", &claims);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "apiVersion": format!("{GROUP}/v1"), "kind": "Queue",
            "metadata": {"name": "jobs", "namespace": "team-a",
                "annotations": {"backstage.io/owner": "group:default/team-a",
                                "terasky.backstage.io/system": "system:default/billing"},
                "labels": {"team": "payments", "kustomize.toolkit.fluxcd.io/name": "apps",
                           "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
            "spec": {"size": 1}
        }))?,
    )
    .await?;
    // A claim naming no owner, in a Namespace that does.
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "apiVersion": format!("{GROUP}/v1"), "kind": "Queue",
            "metadata": {"name": "tasks", "namespace": "team-a"},
            "spec": {"size": 1}
        }))?,
    )
    .await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(kube.clone());
    namespaces
        .patch(
            "team-a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "example.org/owner": "group:default/team-a-leads",
                "example.org/system": "queues"}}})),
        )
        .await?;

    let proxy = Proxy::start(server.url(), &server.info.ca_pem).await?;
    let dir = std::env::temp_dir().join(format!("osp-catalog-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = config(&dir, &proxy.url(), &server.info.admin_token)?;
    eprintln!(
        "XRDs established and claim created after {:?}",
        started.elapsed()
    );
    let sidecar = OspServer::start(&["--config", &config.display().to_string()])?;
    eprintln!("sidecar serving after {:?}", started.elapsed());
    let mut c = CatalogServiceClient::connect(format!("http://{}", sidecar.target())).await?;

    let template = format!("template:default/xqueues.{GROUP}");
    let resource = "resource:default/jobs.queue.team-a.east".to_string();
    let inherited = "resource:default/tasks.queue.team-a.east".to_string();
    let entities = until(&mut c, "Template and Resources", |e| {
        e.contains_key(&template) && e.contains_key(&resource) && e.contains_key(&inherited)
    })
    .await?;
    assert_eq!(
        entities[&inherited]["spec"]["owner"], "group:default/team-a-leads",
        "no owner of its own: its Namespace's"
    );
    assert_eq!(
        entities[&inherited]["spec"]["system"], "queues",
        "no system of its own: its Namespace's"
    );

    eprintln!(
        "Template and Resource in the catalog after {:?}",
        started.elapsed()
    );
    let cluster = &entities[&template]["spec"]["parameters"][0]["properties"]["cluster"];
    assert_eq!(
        cluster["enum"],
        json!(["east", "west"]),
        "both clusters offered"
    );
    assert_eq!(cluster["default"], "east", "the first by default");

    let r = &entities[&resource];
    assert_eq!(
        r["spec"]["owner"], "group:default/team-a",
        "Backstage's owner key"
    );
    assert_eq!(
        r["spec"]["system"], "system:default/billing",
        "TeraSky's system key"
    );
    assert_eq!(
        r["metadata"]["annotations"]["osp.dev/flux-kustomization"],
        "flux-system/apps"
    );
    assert_eq!(
        r["metadata"]["labels"],
        json!({"team": "payments"}),
        "passed through"
    );

    assert!(
        entities.contains_key(&format!("api:default/xcaches.{GROUP}")),
        "an api-only definition keeps its API"
    );
    assert!(
        !entities.contains_key(&format!("template:default/xcaches.{GROUP}")),
        "and gets no Template"
    );

    let mut claims = ClaimServiceClient::connect(format!("http://{}", sidecar.target())).await?;
    let rendered = claims
        .render_claim(pb::RenderClaimRequest {
            definition: Some(pb::DefinitionSource {
                source: Some(pb::definition_source::Source::Name(format!(
                    "xqueues.{GROUP}"
                ))),
                cluster: "west".into(),
            }),
            name: "events".into(),
            namespace: "team-a".into(),
            values_json: r#"{"size": 2}"#.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        rendered.path, "west/team-a/queue/events.yaml",
        "the named cluster's path"
    );
    assert_eq!(
        rendered.entity_ref,
        "resource:default/events.queue.team-a.west"
    );
    Ok(())
}
