//! The composed tree: what Crossplane built, found through its labels, and
//! what osp's GetResourceStatus answers for it.
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use osp_sidecar::pb;
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use serde_json::Value;
use tonic::transport::Channel;

use super::CLUSTER;
use super::world::{Cond, ar, configmaps, live_conditions};

/// GetResourceStatus of `name` once it equals the tree Crossplane built
/// (kinds `kinds`, root first), each node with the conditions Crossplane
/// wrote; the chain and the answer. Retried for a while: Crossplane may
/// flip a claim back to Ready=False/Waiting for a moment after Ready=True
/// (its XR re-reconciled), so compare once the claim and XR read Ready.
pub async fn same_tree(
    c: &mut CatalogServiceClient<Channel>,
    kube: &kube::Client,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    kinds: &[&str],
) -> Result<(Vec<Live>, pb::GetResourceStatusResponse)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let chain = live_chain(kube, resource, namespace, name, kinds).await?;
        let status = resource_status(c, &chain[0]).await?;
        let root = status.root.clone().unwrap_or_default();
        let diff = tree_differences(&root, &chain);
        if diff.is_empty() && watched_ready(&root) {
            return Ok((chain, status));
        }
        ensure!(
            Instant::now() < deadline,
            "{name}: GetResourceStatus differs from what Crossplane built:\n{}\ntree: {root:#?}",
            diff.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One object of the live tree.
#[derive(Debug, Clone)]
pub struct Live {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub obj: Value,
}

impl Live {
    pub fn of(obj: Value, api_version: &str, kind: &str) -> Self {
        let id = osp::resource::ObjectRef::of(&obj);
        Self {
            // Items of a list of a built-in kind come without them.
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: id.namespace,
            name: id.name,
            obj,
        }
    }
}

/// The only object of `resource` carrying `labels`, anywhere.
pub async fn only(kube: &kube::Client, resource: &ApiResource, labels: &str) -> Result<Live> {
    let api: Api<DynamicObject> = Api::all_with(kube.clone(), resource);
    let items = api.list(&ListParams::default().labels(labels)).await?.items;
    ensure!(
        items.len() == 1,
        "one {} labelled `{labels}` expected, found {:?}",
        resource.kind,
        items.iter().map(|o| o.name_any()).collect::<Vec<_>>()
    );
    let obj = serde_json::to_value(&items[0])?;
    Ok(Live::of(obj, &resource.api_version, &resource.kind))
}

/// The tree as Crossplane built it, found through the labels Crossplane
/// puts on what it creates (not through the refs osp follows): a claim's
/// XR by `crossplane.io/claim-name`/`-namespace`, an XR's composed
/// ConfigMap by `crossplane.io/composite`.
pub async fn live_chain(
    kube: &kube::Client,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    kinds: &[&str],
) -> Result<Vec<Live>> {
    let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), namespace, resource);
    let root = serde_json::to_value(api.get(name).await?)?;
    let mut chain = vec![Live::of(root, &resource.api_version, &resource.kind)];
    for kind in kinds.iter().skip(1) {
        let parent = chain.last().cloned().context("no parent")?;
        let next = if *kind == "ConfigMap" {
            only(
                kube,
                &configmaps(),
                &format!("crossplane.io/composite={}", parent.name),
            )
            .await?
        } else {
            let xr = ar(
                &parent.api_version,
                kind,
                &format!("{}s", kind.to_lowercase()),
            );
            only(
                kube,
                &xr,
                &format!(
                    "crossplane.io/claim-name={},crossplane.io/claim-namespace={}",
                    parent.name, parent.namespace
                ),
            )
            .await?
        };
        chain.push(next);
    }
    Ok(chain)
}

/// osp's GetResourceStatus of `live`.
pub async fn resource_status(
    c: &mut CatalogServiceClient<Channel>,
    live: &Live,
) -> Result<pb::GetResourceStatusResponse> {
    Ok(c.get_resource_status(pb::GetResourceStatusRequest {
        cluster: CLUSTER.into(),
        api_version: live.api_version.clone(),
        kind: live.kind.clone(),
        namespace: live.namespace.clone(),
        name: live.name.clone(),
    })
    .await?
    .into_inner())
}

/// Differences between osp's tree and the live chain (empty: the same).
pub fn tree_differences(root: &pb::ResourceNode, chain: &[Live]) -> Vec<String> {
    let mut out = Vec::new();
    let mut node = Some(root);
    for (depth, live) in chain.iter().enumerate() {
        let Some(n) = node else {
            out.push(format!(
                "depth {depth}: no node for {} `{}`",
                live.kind, live.name
            ));
            break;
        };
        let got = (
            n.api_version.as_str(),
            n.kind.as_str(),
            n.namespace.as_str(),
            n.name.as_str(),
        );
        let want = (
            live.api_version.as_str(),
            live.kind.as_str(),
            live.namespace.as_str(),
            live.name.as_str(),
        );
        if got != want {
            out.push(format!("depth {depth}: node {got:?}, live object {want:?}"));
        }
        let conditions = node_conditions(n);
        if conditions != live_conditions(&live.obj) {
            out.push(format!(
                "depth {depth} ({}): conditions {conditions:?}, Crossplane wrote {:?}",
                live.kind,
                live_conditions(&live.obj)
            ));
        }
        let want_children = usize::from(depth + 1 < chain.len());
        if n.children.len() != want_children {
            out.push(format!(
                "depth {depth} ({}): {} children, want {want_children}",
                live.kind,
                n.children.len()
            ));
        }
        node = n.children.first();
    }
    out
}

/// True when every node osp watches (claims and XRs; composed resources are
/// named only, state unspecified) is `ready`.
pub fn watched_ready(node: &pb::ResourceNode) -> bool {
    (node.state == pb::ResourceState::Unspecified as i32
        || node.state == pb::ResourceState::Ready as i32)
        && node.children.iter().all(watched_ready)
}

/// A node's conditions, sorted like [`live_conditions`].
pub fn node_conditions(n: &pb::ResourceNode) -> Vec<Cond> {
    let mut out: Vec<Cond> = n
        .conditions
        .iter()
        .map(|c| {
            (
                c.r#type.clone(),
                c.status.clone(),
                c.reason.clone(),
                c.message.clone(),
                c.last_transition_time.clone(),
            )
        })
        .collect();
    out.sort();
    out
}
