//! The cluster side of the Crossplane tests: the shared fixtures' XRDs and
//! their Compositions (function-patch-and-transform composing ConfigMaps),
//! objects created through the API, conditions read back.
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use osp::document::{Limits, from_yaml};
use serde_json::{Value, json};

use super::catalog::secs;
use super::{POLL, TIMEOUT};
use crate::fixtures::{XRD_V1_CLAIMABLE, XRD_V2_NAMESPACED};

/// `(type, status, reason, message, lastTransitionTime)` of each condition.
pub type Cond = (String, String, String, String, String);

/// The object's conditions, sorted.
pub fn live_conditions(obj: &Value) -> Vec<Cond> {
    let s = |c: &Value, k: &str| c[k].as_str().unwrap_or_default().to_string();
    let mut out: Vec<Cond> = obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                s(c, "type"),
                s(c, "status"),
                s(c, "reason"),
                s(c, "message"),
                s(c, "lastTransitionTime"),
            )
        })
        .collect();
    out.sort();
    out
}

/// The condition of type `kind`.
pub fn condition<'a>(conds: &'a [Cond], kind: &str) -> Option<&'a Cond> {
    conds.iter().find(|c| c.0 == kind)
}

/// The resource of `kind` (`plural`) in `api_version`.
pub fn ar(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// ConfigMaps: what the Compositions compose.
pub fn configmaps() -> ApiResource {
    ar("v1", "ConfigMap", "configmaps")
}

/// A Pipeline Composition running function-patch-and-transform with
/// `resources` as its input.
pub fn composition(name: &str, api_version: &str, kind: &str, resources: Value) -> Value {
    json!({
        "apiVersion": "apiextensions.crossplane.io/v1", "kind": "Composition",
        "metadata": {"name": name},
        "spec": {
            "compositeTypeRef": {"apiVersion": api_version, "kind": kind},
            "mode": "Pipeline",
            "pipeline": [{
                "step": "patch-and-transform",
                "functionRef": {"name": "function-patch-and-transform"},
                "input": {"apiVersion": "pt.fn.crossplane.io/v1beta1", "kind": "Resources",
                          "resources": resources}
            }]
        }
    })
}

/// One Composition per fixture XRD (`xdbs` for `XDB`, `xapps` for `XApp`),
/// and `xapps-invalid-input`, whose input the function rejects.
pub fn compositions() -> Vec<Value> {
    vec![
        // Legacy (cluster-scoped) XR: its ConfigMap goes to the claim's
        // namespace. A ConfigMap has no Ready condition: readiness None.
        composition(
            "xdbs",
            "example.org/v1",
            "XDB",
            json!([{
                "name": "configmap",
                "base": {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"namespace": "default"}, "data": {"storageGB": ""}},
                "patches": [
                    {"type": "FromCompositeFieldPath",
                     "fromFieldPath": "metadata.labels[crossplane.io/claim-namespace]",
                     "toFieldPath": "metadata.namespace"},
                    {"type": "FromCompositeFieldPath", "fromFieldPath": "spec.parameters.storageGB",
                     "toFieldPath": "data.storageGB",
                     "transforms": [{"type": "convert", "convert": {"toType": "string"}}]}
                ],
                "readinessChecks": [{"type": "None"}]
            }]),
        ),
        composition(
            "xapps",
            "example.org/v1",
            "XApp",
            json!([{
                "name": "configmap",
                "base": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"app": ""}},
                "patches": [{"type": "FromCompositeFieldPath", "fromFieldPath": "metadata.name",
                             "toFieldPath": "data.app"}],
                "readinessChecks": [{"type": "None"}]
            }]),
        ),
        // function-patch-and-transform rejects its input.
        composition(
            "xapps-invalid-input",
            "example.org/v1",
            "XApp",
            json!([{
                "name": "configmap",
                "base": {"apiVersion": "v1", "kind": "ConfigMap"},
                "patches": [{"type": "NoSuchPatchType"}]
            }]),
        ),
    ]
}

/// Creates `doc`, retrying while its kind is not served yet.
pub async fn create(kube: &kube::Client, resource: &ApiResource, doc: &Value) -> Result<()> {
    let namespace = doc["metadata"]["namespace"].as_str();
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(kube.clone(), ns, resource),
        None => Api::all_with(kube.clone(), resource),
    };
    let obj: DynamicObject = serde_json::from_value(doc.clone())?;
    // A kind whose CRD was just Established can answer 404 for a moment.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("create {} {:?}", resource.kind, obj.name_any()));
            }
        }
    }
}

/// Polls `api`'s object `name` until `done` holds for it.
pub async fn wait_live(
    api: &Api<DynamicObject>,
    name: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let last = api
            .get_opt(name)
            .await?
            .map(serde_json::to_value)
            .transpose()?;
        if let Some(obj) = last.as_ref().filter(|o| done(o)) {
            return Ok(obj.clone());
        }
        if Instant::now() > deadline {
            bail!(
                "{what}: `{name}` never got there: {:#}",
                last.unwrap_or_default()["status"]
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether `obj` has condition `kind` with `status`.
pub fn has_condition(obj: &Value, kind: &str, status: &str) -> bool {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == status)
}

/// The fixtures' XRDs, Established (the v1 one also Offered) by
/// Crossplane, and their Compositions.
pub async fn definitions(kube: &kube::Client) -> Result<()> {
    let t0 = Instant::now();
    let mut xrds = Vec::new();
    for text in [XRD_V1_CLAIMABLE, XRD_V2_NAMESPACED] {
        let doc = from_yaml(text, Limits::default())?;
        let version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let resource = ar(
            &version,
            "CompositeResourceDefinition",
            "compositeresourcedefinitions",
        );
        create(kube, &resource, &doc).await?;
        let offered = doc["spec"].get("claimNames").is_some();
        xrds.push((
            doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            resource,
            offered,
        ));
    }
    for (name, resource, offered) in &xrds {
        let api: Api<DynamicObject> = Api::all_with(kube.clone(), resource);
        let xrd = wait_live(&api, name, "XRD Established", |o| {
            has_condition(o, "Established", "True")
                && (!offered || has_condition(o, "Offered", "True"))
        })
        .await?;
        let conds = live_conditions(&xrd);
        eprintln!("XRD {name}: {conds:?}");
        assert!(
            condition(&conds, "Synced").is_none(),
            "real Crossplane writes no Synced condition on XRDs (tests/loop/README.md)"
        );
    }
    eprintln!(
        "figure: 2 XRDs created → Established by Crossplane {}",
        secs(t0.elapsed())
    );
    let composition_api: Api<DynamicObject> = Api::all_with(
        kube.clone(),
        &ar(
            "apiextensions.crossplane.io/v1",
            "Composition",
            "compositions",
        ),
    );
    for c in compositions() {
        composition_api
            .create(&PostParams::default(), &serde_json::from_value(c)?)
            .await?;
    }

    Ok(())
}
