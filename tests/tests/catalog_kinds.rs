//! CatalogService of the real binary watching the real API server, for the
//! watched kinds besides XRDs and claims: Compositions (the Template's
//! composition choice follows them), KRO ResourceGraphDefinitions and their
//! instances, Kratix Promises and their resources. The server has only
//! Crossplane's CRDs, so the KRO and Kratix tests install stand-ins for
//! those projects' CRDs and the instance CRDs their controllers would
//! generate. Definition kinds are discovered once, when the sidecar
//! connects: every CRD is installed before the sidecar starts, and every
//! instance CRD before its definition (a definition whose kind is not served
//! would keep the sidecar's cluster unsynced). Names are unique to this
//! file's tests, which share one API server.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::config::Kubeconfig;
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_sidecar::pb::{self, EntityEncoding, GetDeltaRequest, GetSnapshotRequest};
use osp_tests::kube::{ApiServer, wait_crd_established, wait_xrd_established, xrd_resource};
use osp_tests::server::OspServer;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// The cluster name the sidecar gives the test API server.
const CLUSTER: &str = "kinds";

/// How long one change may take to show up in a delta.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(15);

/// A sidecar watching the shared API server as cluster [`CLUSTER`], and a
/// catalog client.
struct Sidecar {
    _server: OspServer,
    client: CatalogServiceClient<Channel>,
    dir: PathBuf,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Sidecar {
    async fn start(server: &ApiServer, tag: &str) -> Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("osp-catalog-kinds-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        // The server's kubeconfig with its `admin` context renamed, so the
        // cluster has a name of its own in the entities.
        let mut config = Kubeconfig::read_from(server.kubeconfig())?;
        config.contexts.retain(|c| c.name == "admin");
        for c in &mut config.contexts {
            c.name = CLUSTER.into();
        }
        config.current_context = Some(CLUSTER.into());
        let path = dir.join("kubeconfig");
        std::fs::write(&path, serde_json::to_string(&config)?)?;
        let osp = OspServer::start(&[
            "--kubeconfig",
            &path.display().to_string(),
            "--context",
            CLUSTER,
        ])?;
        let client = CatalogServiceClient::connect(format!("http://{}", osp.target())).await?;
        Ok(Self {
            _server: osp,
            client,
            dir,
        })
    }

    /// Every page of a full snapshot, once the catalog serves one.
    async fn snapshot(&mut self) -> Result<Snapshot> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut entities = BTreeMap::new();
        let mut token = String::new();
        loop {
            let request = GetSnapshotRequest {
                encoding: EntityEncoding::Json as i32,
                page_token: token.clone(),
                ..Default::default()
            };
            let page = match self.client.get_snapshot(request).await {
                Ok(r) => r.into_inner(),
                Err(s) if s.code() == tonic::Code::Unavailable && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(s) => bail!("GetSnapshot: {s}"),
            };
            for e in &page.entities {
                entities.insert(e.r#ref.clone(), entity(e)?);
            }
            if page.next_page_token.is_empty() {
                let clusters = page
                    .clusters
                    .iter()
                    .map(|c| (c.name.clone(), c.synced, c.stale))
                    .collect();
                return Ok(Snapshot {
                    revision: page.revision,
                    entities,
                    clusters,
                });
            }
            token = page.next_page_token;
        }
    }

    /// Polls GetDelta since `since` until `done` holds on the changes so
    /// far; returns them.
    async fn until(
        &mut self,
        since: u64,
        what: &str,
        done: impl Fn(&Delta) -> bool,
    ) -> Result<Delta> {
        let start = Instant::now();
        loop {
            let d = self
                .client
                .get_delta(GetDeltaRequest {
                    since_revision: since,
                    encoding: EntityEncoding::Json as i32,
                })
                .await?
                .into_inner();
            assert!(!d.resync_needed, "{what}: no resync expected");
            let delta = Delta {
                revision: d.revision,
                upserted: d
                    .upserted
                    .iter()
                    .map(|e| Ok((e.r#ref.clone(), entity(e)?)))
                    .collect::<Result<_>>()?,
                removed: d.removed,
            };
            if done(&delta) {
                eprintln!("{what}: seen after {:?}", start.elapsed());
                return Ok(delta);
            }
            if start.elapsed() > CHANGE_TIMEOUT {
                bail!(
                    "{what}: not seen after {CHANGE_TIMEOUT:?}; upserted {:?}, removed {:?}",
                    delta.upserted.keys().collect::<Vec<_>>(),
                    delta.removed
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

struct Snapshot {
    revision: u64,
    entities: BTreeMap<String, Value>,
    clusters: Vec<(String, bool, bool)>,
}

impl Snapshot {
    fn get(&self, r: &str) -> Result<&Value> {
        self.entities.get(r).with_context(|| {
            format!(
                "`{r}` not in the snapshot: {:?}",
                self.entities.keys().collect::<Vec<_>>()
            )
        })
    }
}

struct Delta {
    revision: u64,
    upserted: BTreeMap<String, Value>,
    removed: Vec<String>,
}

impl Delta {
    fn has(&self, r: &str) -> bool {
        self.upserted.contains_key(r)
    }

    fn get(&self, r: &str) -> Result<&Value> {
        self.upserted
            .get(r)
            .with_context(|| format!("`{r}` not in the delta"))
    }
}

/// The entity, from JSON text (asked for) or a Struct.
fn entity(e: &pb::Entity) -> Result<Value> {
    if e.json.is_empty() {
        let s = e.entity.clone().unwrap_or_default();
        Ok(osp_sidecar::from_struct(&s))
    } else {
        serde_json::from_str(&e.json).with_context(|| format!("entity `{}`", e.r#ref))
    }
}

fn annotation<'a>(e: &'a Value, key: &str) -> &'a str {
    e["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or_default()
}

/// A CRD whose spec and status keep whatever they are given, with a status
/// subresource.
fn open_crd(group: &str, kind: &str, plural: &str, scope: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(),
                      "listKind": format!("{kind}List")},
            "scope": scope,
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]
        }
    })
}

/// Creates the CRD (kept if it exists from an earlier run of the same
/// process) and waits until it is Established.
/// KRO's own CRD (the test API server has only Crossplane's).
fn kro_crd() -> Value {
    open_crd(
        "kro.run",
        "ResourceGraphDefinition",
        "resourcegraphdefinitions",
        "Cluster",
    )
}

/// Kratix's own Promise CRD.
fn kratix_crd() -> Value {
    open_crd("platform.kratix.io", "Promise", "promises", "Cluster")
}

/// The resources of the Kratix Promise's API in `team-a`.
fn namespace_claims(kube: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(
        kube.clone(),
        "team-a",
        &resource(
            "marketplace.kinds.example.org",
            "KindsNamespaceClaim",
            "kindsnamespaceclaims",
        ),
    )
}

async fn create_namespace_claim(
    claims: &Api<DynamicObject>,
    name: &str,
    namespace_name: &str,
) -> Result<()> {
    create(
        claims,
        json!({
            "apiVersion": "marketplace.kinds.example.org/v1alpha1", "kind": "KindsNamespaceClaim",
            "metadata": {"name": name, "namespace": "team-a"},
            "spec": {"namespaceName": namespace_name}
        }),
    )
    .await
}

async fn install_crd(kube: &kube::Client, crd: Value) -> Result<()> {
    let crd: CustomResourceDefinition = serde_json::from_value(crd)?;
    let name = crd.metadata.name.clone().unwrap_or_default();
    let api: Api<CustomResourceDefinition> = Api::all(kube.clone());
    match api.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e).with_context(|| format!("create CRD `{name}`")),
    }
    wait_crd_established(kube, &name, Duration::from_secs(20)).await?;
    Ok(())
}

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1alpha1", kind), plural)
}

async fn create(api: &Api<DynamicObject>, obj: Value) -> Result<()> {
    api.create(&PostParams::default(), &serde_json::from_value(obj)?)
        .await?;
    Ok(())
}

/// The Template form page holding `compositionName`, and its offered
/// compositions.
fn composition_choice(template: &Value) -> (String, Vec<String>) {
    let pages = template["spec"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(page) = pages
        .iter()
        .find(|p| p["properties"].get("compositionName").is_some())
    else {
        return (String::new(), Vec::new());
    };
    let offered = page["properties"]["compositionName"]["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    (
        page["title"].as_str().unwrap_or_default().to_string(),
        offered,
    )
}

fn composition(name: &str, api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "Composition",
        "metadata": {"name": name},
        "spec": {
            "compositeTypeRef": {"apiVersion": api_version, "kind": kind},
            "mode": "Pipeline",
            "pipeline": [{"step": "patch", "functionRef": {"name": "function-patch-and-transform"}}]
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compositions_are_offered_by_their_xrd_template() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let started = Instant::now();
    let kube = server.client().await?;
    let group = "comp.kinds.example.org";
    let xrd = format!("xbuckets.{group}");
    let xrds: Api<DynamicObject> = Api::all_with(kube.clone(), &xrd_resource());
    create(
        &xrds,
        json!({
            "apiVersion": "apiextensions.crossplane.io/v1",
            "kind": "CompositeResourceDefinition",
            "metadata": {"name": xrd},
            "spec": {
                "group": group,
                "names": {"kind": "XBucket", "plural": "xbuckets"},
                "claimNames": {"kind": "Bucket", "plural": "buckets"},
                "versions": [{"name": "v1", "served": true, "referenceable": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]
            }
        }),
    )
    .await?;
    wait_xrd_established(&kube, &xrd, Duration::from_secs(20)).await?;
    let compositions: Api<DynamicObject> = Api::all_with(
        kube.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.crossplane.io", "v1", "Composition"),
            "compositions",
        ),
    );
    let xr = format!("{group}/v1");
    for name in ["kinds-bucket-small", "kinds-bucket-large"] {
        create(&compositions, composition(name, &xr, "XBucket")).await?;
    }
    // Same kind, another group: not a composition of this XR.
    create(
        &compositions,
        composition(
            "kinds-bucket-other",
            "other.kinds.example.org/v1",
            "XBucket",
        ),
    )
    .await?;

    let mut sidecar = Sidecar::start(server, "compositions").await?;
    let snap = sidecar.snapshot().await?;
    assert_eq!(snap.clusters, vec![(CLUSTER.to_string(), true, false)]);
    let t = format!("template:default/{xrd}");
    let template = snap.get(&t)?;
    assert_eq!(template["spec"]["type"], "crossplane-claim");
    assert_eq!(annotation(template, "osp.dev/clusters"), CLUSTER);
    assert_eq!(
        composition_choice(template),
        (
            "Advanced".to_string(),
            vec![
                "kinds-bucket-large".to_string(),
                "kinds-bucket-small".to_string()
            ]
        ),
        "both compositions offered, sorted by name, on the Advanced page"
    );
    // The choice reaches the render step.
    assert_eq!(
        template["spec"]["steps"][0]["input"]["composition"]["compositionName"],
        "${{ parameters.compositionName }}"
    );

    compositions
        .delete("kinds-bucket-large", &DeleteParams::default())
        .await?;
    let d = sidecar
        .until(snap.revision, "composition deleted", |d| {
            d.get(&t)
                .is_ok_and(|t| composition_choice(t).1 == ["kinds-bucket-small"])
        })
        .await?;
    assert!(
        !d.removed.contains(&t),
        "the Template is updated, not removed"
    );

    create(
        &compositions,
        composition("kinds-bucket-medium", &xr, "XBucket"),
    )
    .await?;
    sidecar
        .until(d.revision, "composition added", |d| {
            d.get(&t).is_ok_and(|t| {
                composition_choice(t).1 == ["kinds-bucket-medium", "kinds-bucket-small"]
            })
        })
        .await?;
    eprintln!("compositions test took {:?}", started.elapsed());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kro_definitions_and_instances_are_cataloged() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let started = Instant::now();
    let kube = server.client().await?;
    // KRO's own CRD, and the one its controller would generate for the RGD.
    install_crd(&kube, kro_crd()).await?;
    install_crd(
        &kube,
        open_crd("kro.run", "KindsWebApp", "kindswebapps", "Namespaced"),
    )
    .await?;

    let mut sidecar = Sidecar::start(server, "kro").await?;
    let snap = sidecar.snapshot().await?;
    assert_eq!(snap.clusters, vec![(CLUSTER.to_string(), true, false)]);

    let rgds: Api<DynamicObject> = Api::all_with(
        kube.clone(),
        &resource(
            "kro.run",
            "ResourceGraphDefinition",
            "resourcegraphdefinitions",
        ),
    );
    create(
        &rgds,
        json!({
            "apiVersion": "kro.run/v1alpha1",
            "kind": "ResourceGraphDefinition",
            "metadata": {"name": "kinds-webapp"},
            "spec": {
                "schema": {
                    "apiVersion": "v1alpha1",
                    "kind": "KindsWebApp",
                    "spec": {
                        "image": "string | default=\"nginx\"",
                        "replicas": "integer | default=1",
                        "port": "integer | required=true"
                    },
                    "status": {"availableReplicas": "${deployment.status.availableReplicas}"}
                },
                "resources": [{"id": "deployment", "template": {
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "${schema.metadata.name}"},
                    "spec": {"replicas": "${schema.spec.replicas}"}}}]
            }
        }),
    )
    .await?;
    let (t, a) = ("template:default/kinds-webapp", "api:default/kinds-webapp");
    let d = sidecar
        .until(snap.revision, "RGD created", |d| d.has(t) && d.has(a))
        .await?;
    let template = d.get(t)?;
    assert_eq!(template["spec"]["type"], "kro-instance");
    assert_eq!(annotation(template, "osp.dev/clusters"), CLUSTER);
    assert_eq!(annotation(template, "osp.dev/definition"), "kinds-webapp");
    let form = &template["spec"]["parameters"][1]["properties"]["spec"];
    assert_eq!(form["properties"]["replicas"]["type"], "integer");
    assert_eq!(form["properties"]["replicas"]["default"], 1);
    assert_eq!(form["properties"]["image"]["default"], "nginx");
    assert_eq!(form["required"], json!(["port"]), "{form}");
    assert_eq!(
        composition_choice(template).0,
        "",
        "no composition choice for KRO"
    );
    let api = d.get(a)?;
    assert_eq!(api["spec"]["type"], "openapi");
    let spec = api["spec"]["definition"].as_str().unwrap_or_default();
    assert!(
        spec.contains("kro.run/v1alpha1") && spec.contains("KindsWebApp"),
        "{spec}"
    );

    let instances: Api<DynamicObject> = Api::namespaced_with(
        kube.clone(),
        "team-a",
        &resource("kro.run", "KindsWebApp", "kindswebapps"),
    );
    create(
        &instances,
        json!({
            "apiVersion": "kro.run/v1alpha1", "kind": "KindsWebApp",
            "metadata": {"name": "shop", "namespace": "team-a",
                         "annotations": {"osp.dev/owner": "group:default/team-a"}},
            "spec": {"port": 8080, "replicas": 2}
        }),
    )
    .await?;
    let r = format!("resource:default/shop.kindswebapp.team-a.{CLUSTER}");
    let d = sidecar
        .until(d.revision, "instance created", |d| d.has(&r))
        .await?;
    let e = d.get(&r)?;
    assert_eq!(e["spec"]["type"], "kro-instance");
    assert_eq!(e["spec"]["owner"], "group:default/team-a");
    assert_eq!(e["metadata"]["title"], "shop");
    for (key, want) in [
        ("osp.dev/cluster", CLUSTER),
        ("osp.dev/definition", "kinds-webapp"),
        ("osp.dev/api-version", "kro.run/v1alpha1"),
        ("osp.dev/kind", "KindsWebApp"),
        ("osp.dev/namespace", "team-a"),
        ("osp.dev/state", "pending"),
        ("backstage.io/kubernetes-namespace", "team-a"),
        (
            "backstage.io/kubernetes-label-selector",
            "kro.run/instance-name=shop",
        ),
    ] {
        assert_eq!(annotation(e, key), want, "{key}");
    }
    assert!(
        annotation(e, "osp.dev/edit-url").contains("kinds-webapp"),
        "edit link to the Template: {}",
        annotation(e, "osp.dev/edit-url")
    );

    // KRO reports `status.state`.
    instances
        .patch_status(
            "shop",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"state": "ACTIVE"}})),
        )
        .await?;
    let d = sidecar
        .until(d.revision, "instance active", |d| {
            d.get(&r)
                .is_ok_and(|e| annotation(e, "osp.dev/state") == "ready")
        })
        .await?;

    instances.delete("shop", &DeleteParams::default()).await?;
    let d = sidecar
        .until(d.revision, "instance deleted", |d| d.removed.contains(&r))
        .await?;

    rgds.delete("kinds-webapp", &DeleteParams::default())
        .await?;
    sidecar
        .until(d.revision, "RGD deleted", |d| {
            d.removed.iter().any(|x| x == t) && d.removed.iter().any(|x| x == a)
        })
        .await?;
    let snap = sidecar.snapshot().await?;
    assert_eq!(snap.clusters, vec![(CLUSTER.to_string(), true, false)]);
    eprintln!("KRO test took {:?}", started.elapsed());
    Ok(())
}

fn promise() -> Value {
    json!({
        "apiVersion": "platform.kratix.io/v1alpha1",
        "kind": "Promise",
        "metadata": {"name": "kinds-namespace-claim"},
        "spec": {
            "api": {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "kindsnamespaceclaims.marketplace.kinds.example.org"},
                "spec": {
                    "group": "marketplace.kinds.example.org",
                    "names": {"kind": "KindsNamespaceClaim", "listKind": "KindsNamespaceClaimList",
                              "plural": "kindsnamespaceclaims", "singular": "kindsnamespaceclaim"},
                    "scope": "Namespaced",
                    "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                        "subresources": {"status": {}},
                        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                            "spec": {"type": "object", "required": ["namespaceName"], "properties": {
                                "namespaceName": {"type": "string",
                                    "description": "Name of the shared namespace this claim wants."},
                                "clusterName": {"type": "string"}}},
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]
                }
            },
            "workflows": {"resource": {"configure": [{
                "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Pipeline",
                "metadata": {"name": "claim-ensure"},
                "spec": {"containers": [{"name": "claim-ensure", "image": "example.org/claim:v1"}]}}]}}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kratix_promises_and_resources_are_cataloged() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let started = Instant::now();
    let kube = server.client().await?;
    install_crd(&kube, kratix_crd()).await?;
    // Kratix installs the CRD the Promise embeds.
    let promise = promise();
    install_crd(&kube, promise["spec"]["api"].clone()).await?;

    let mut sidecar = Sidecar::start(server, "kratix").await?;
    let snap = sidecar.snapshot().await?;
    assert_eq!(snap.clusters, vec![(CLUSTER.to_string(), true, false)]);

    let promises: Api<DynamicObject> = Api::all_with(
        kube.clone(),
        &resource("platform.kratix.io", "Promise", "promises"),
    );
    create(&promises, promise).await?;
    let (t, a) = (
        "template:default/kinds-namespace-claim",
        "api:default/kinds-namespace-claim",
    );
    let d = sidecar
        .until(snap.revision, "Promise created", |d| d.has(t) && d.has(a))
        .await?;
    let template = d.get(t)?;
    assert_eq!(template["spec"]["type"], "kratix-resource");
    assert_eq!(annotation(template, "osp.dev/clusters"), CLUSTER);
    let form = &template["spec"]["parameters"][1]["properties"]["spec"];
    assert_eq!(form["required"], json!(["namespaceName"]), "{form}");
    assert_eq!(form["properties"]["namespaceName"]["type"], "string");
    let spec = d.get(a)?["spec"]["definition"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        spec.contains("marketplace.kinds.example.org/v1alpha1")
            && spec.contains("KindsNamespaceClaim"),
        "{spec}"
    );

    let claims = namespace_claims(&kube);
    create_namespace_claim(&claims, "team-ns", "shared-a").await?;
    let r = format!("resource:default/team-ns.kindsnamespaceclaim.team-a.{CLUSTER}");
    let d = sidecar
        .until(d.revision, "resource created", |d| d.has(&r))
        .await?;
    let e = d.get(&r)?;
    assert_eq!(e["spec"]["type"], "kratix-resource");
    assert_eq!(
        e["spec"]["owner"], template["spec"]["owner"],
        "no owner annotation: the Template's owner"
    );
    for (key, want) in [
        ("osp.dev/cluster", CLUSTER),
        ("osp.dev/definition", "kinds-namespace-claim"),
        (
            "osp.dev/api-version",
            "marketplace.kinds.example.org/v1alpha1",
        ),
        ("osp.dev/state", "pending"),
        ("backstage.io/kubernetes-namespace", "team-a"),
        (
            "backstage.io/kubernetes-label-selector",
            "kratix.io/resource-name=team-ns",
        ),
    ] {
        assert_eq!(annotation(e, key), want, "{key}");
    }
    assert_eq!(e["metadata"]["tags"], json!(["kratix", "pending"]));

    claims.delete("team-ns", &DeleteParams::default()).await?;
    sidecar
        .until(d.revision, "resource deleted", |d| d.removed.contains(&r))
        .await?;
    eprintln!("Kratix test took {:?}", started.elapsed());
    Ok(())
}

/// What KRO and Kratix really do: the definition comes first, its instance
/// CRD a moment later (generated by their controllers). A server of its
/// own, so the other tests never see those definitions without their CRDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_crds_generated_after_their_definition() -> Result<()> {
    let Some(server) = ApiServer::start(&osp_tests::kube::Options::default())? else {
        return Ok(());
    };
    let started = Instant::now();
    let kube = server.client().await?;
    install_crd(&kube, kro_crd()).await?;
    install_crd(&kube, kratix_crd()).await?;
    let mut sidecar = Sidecar::start(&server, "late").await?;
    let snap = sidecar.snapshot().await?;

    let rgds: Api<DynamicObject> = Api::all_with(
        kube.clone(),
        &resource(
            "kro.run",
            "ResourceGraphDefinition",
            "resourcegraphdefinitions",
        ),
    );
    create(
        &rgds,
        json!({
            "apiVersion": "kro.run/v1alpha1", "kind": "ResourceGraphDefinition",
            "metadata": {"name": "kinds-late"},
            "spec": {"schema": {"apiVersion": "v1alpha1", "kind": "KindsLate",
                                "spec": {"size": "integer | default=1"}},
                     "resources": []}
        }),
    )
    .await?;
    let promise = promise();
    let promises: Api<DynamicObject> = Api::all_with(
        kube.clone(),
        &resource("platform.kratix.io", "Promise", "promises"),
    );
    create(&promises, promise.clone()).await?;
    let d = sidecar
        .until(snap.revision, "definitions created", |d| {
            d.has("template:default/kinds-late") && d.has("template:default/kinds-namespace-claim")
        })
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let between = sidecar.snapshot().await?;
    assert_eq!(
        between.clusters,
        vec![(CLUSTER.to_string(), true, false)],
        "a kind not served yet is not a cluster fault"
    );

    install_crd(
        &kube,
        open_crd("kro.run", "KindsLate", "kindslates", "Namespaced"),
    )
    .await?;
    install_crd(&kube, promise["spec"]["api"].clone()).await?;
    let crds_at = Instant::now();
    let instances: Api<DynamicObject> = Api::namespaced_with(
        kube.clone(),
        "team-a",
        &resource("kro.run", "KindsLate", "kindslates"),
    );
    create(
        &instances,
        json!({"apiVersion": "kro.run/v1alpha1", "kind": "KindsLate",
               "metadata": {"name": "late", "namespace": "team-a"}, "spec": {"size": 2}}),
    )
    .await?;
    let claims = namespace_claims(&kube);
    create_namespace_claim(&claims, "late", "late").await?;
    let (kro, kratix) = (
        format!("resource:default/late.kindslate.team-a.{CLUSTER}"),
        format!("resource:default/late.kindsnamespaceclaim.team-a.{CLUSTER}"),
    );
    sidecar
        .until(d.revision, "resources of late CRDs", |d| {
            d.has(&kro) && d.has(&kratix)
        })
        .await?;
    eprintln!(
        "instance CRDs installed → Resources after {:?}",
        crds_at.elapsed()
    );
    let deadline = Instant::now() + CHANGE_TIMEOUT;
    loop {
        let s = sidecar.snapshot().await?;
        if s.clusters == vec![(CLUSTER.to_string(), true, false)] {
            break;
        }
        if Instant::now() > deadline {
            bail!("cluster still reported {:?}", s.clusters);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("late CRDs test took {:?}", started.elapsed());
    Ok(())
}
