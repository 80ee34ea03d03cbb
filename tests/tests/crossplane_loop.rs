//! osp's catalog against the REAL Crossplane (issue #20): osp-test-apiserver
//! without its stand-in XRD controller, osp-loop running Crossplane v2's core
//! and function-patch-and-transform against it (`osp_tests::crossplane`),
//! and `osp serve` watching that cluster.
//!
//! - the shared fixtures' v1 XRD (claim kind `DB`) and v2 XRD (namespaced
//!   `XApp`) are Established by Crossplane's own definition controller, each
//!   with a Pipeline Composition composing a ConfigMap;
//! - a claim and a namespaced XR: their Resources are listed, go to `ready`,
//!   and `GetResourceStatus` returns the composed tree as Crossplane built it
//!   (claim → XR → ConfigMap, XR → ConfigMap; the objects found by
//!   Crossplane's labels, not by the refs osp follows) with the conditions
//!   Crossplane wrote;
//! - an XR whose Composition has an invalid function input: `error`, with
//!   Crossplane's own message;
//! - the claim deleted: `deleting` (held by a finalizer of the test's own
//!   while Crossplane deletes its XR), then gone, and its XR's Resource too.
//!
//! Times are printed as `figure: …` lines (`--nocapture`).
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, PostParams};
use osp_sidecar::pb;
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_tests::crossplane::catalog::{
    Trace, entities, resource_ref, secs, start_osp, state_of, until,
};
use osp_tests::crossplane::tree::{Live, node_conditions, resource_status, same_tree};
use osp_tests::crossplane::world::{
    ar, condition, create, definitions, has_condition, live_conditions, wait_live,
};
use osp_tests::crossplane::{Loop, POLL, TIMEOUT};
use osp_tests::kube::tail;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// A finalizer of the test's own that keeps a deleted claim visible.
const HOLD: &str = "osp.test/hold";
const NS: &str = "team-a";

/// An object users create, and what Crossplane should make of it.
struct Case {
    what: &'static str,
    resource: ApiResource,
    doc: Value,
    /// Kinds from the object down to the composed ConfigMap.
    chain: &'static [&'static str],
    /// A key of the composed ConfigMap and the value patched into it.
    data: (&'static str, &'static str),
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "v1 claim",
            resource: ar("example.org/v1", "DB", "dbs"),
            doc: json!({
                "apiVersion": "example.org/v1", "kind": "DB",
                "metadata": {"name": "orders", "namespace": NS},
                "spec": {"parameters": {"storageGB": 10}, "compositionRef": {"name": "xdbs"}}
            }),
            chain: &["DB", "XDB", "ConfigMap"],
            data: ("storageGB", "10"),
        },
        Case {
            what: "v2 namespaced XR",
            resource: ar("example.org/v1", "XApp", "xapps"),
            doc: json!({
                "apiVersion": "example.org/v1", "kind": "XApp",
                "metadata": {"name": "hello", "namespace": NS},
                "spec": {"crossplane": {"compositionRef": {"name": "xapps"}}}
            }),
            chain: &["XApp", "ConfigMap"],
            data: ("app", "hello"),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_follows_real_crossplane() -> Result<()> {
    let Some(api) = osp_tests::crossplane::api_server()? else {
        return Ok(());
    };
    eprintln!(
        "figure: osp-test-apiserver start → READY {}",
        secs(api.ready_in)
    );
    let Some(xp) = Loop::start(&api.kubeconfig())? else {
        return Ok(());
    };
    eprintln!(
        "figure: osp-loop start → READY {} ({})",
        secs(xp.ready_in),
        xp.ready
    );
    let kube = api.client().await?;
    definitions(&kube).await?;
    let dir = std::env::temp_dir().join(format!("osp-crossplane-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (sidecar, mut c) = start_osp(&api, &dir, "").await?;
    let result = async {
        for case in cases() {
            let entity = until_ready(&mut c, &kube, &case).await?;
            check_tree(&mut c, &kube, &case, &entity).await?;
        }
        invalid_input(&mut c, &kube).await?;
        delete_claim(&mut c, &kube).await
    }
    .await;
    if result.is_err() {
        eprintln!("osp serve's log:\n{}", tail(&sidecar.log(), 8000));
        eprintln!("osp-loop's logs:\n{}", tail(&xp.logs(), 8000));
    }
    let _ = std::fs::remove_dir_all(dir);
    result
}

/// Creates the case's object and follows its Resource until `ready`.
async fn until_ready(
    c: &mut CatalogServiceClient<Channel>,
    kube: &kube::Client,
    case: &Case,
) -> Result<Value> {
    let name = case.doc["metadata"]["name"].as_str().unwrap_or_default();
    let r = resource_ref(&case.resource.kind, NS, name);
    let live_api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), NS, &case.resource);
    let t0 = Instant::now();
    create(kube, &case.resource, &case.doc).await?;
    let created = t0.elapsed();
    let mut trace = Trace::default();
    let mut crossplane_ready = None;
    // The conditions Crossplane wrote, each set with the time it was seen.
    let mut written: Vec<(Duration, Vec<String>)> = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    let entity = loop {
        let live = live_api
            .get_opt(name)
            .await?
            .map(serde_json::to_value)
            .transpose()?;
        if let Some(o) = &live {
            if crossplane_ready.is_none() && has_condition(o, "Ready", "True") {
                crossplane_ready = Some(t0.elapsed());
            }
            let conds: Vec<String> = live_conditions(o)
                .into_iter()
                .map(|c| format!("{}={}/{} {:?}", c.0, c.1, c.2, c.3))
                .collect();
            if written.last().is_none_or(|(_, w)| *w != conds) {
                written.push((t0.elapsed(), conds));
            }
        }
        let all = entities(c).await.unwrap_or_default();
        let e = all.get(&r);
        trace.see(e, t0.elapsed());
        if let Some(e) = e.filter(|e| state_of(e) == "ready") {
            break e.clone();
        }
        if Instant::now() > deadline {
            let live = live_api
                .get_opt(name)
                .await?
                .map(serde_json::to_value)
                .transpose()?;
            bail!(
                "{}: `{r}` not ready; seen {}; live status {:#}",
                case.what,
                trace.path(),
                live.unwrap_or_default()["status"]
            );
        }
        tokio::time::sleep(POLL).await;
    };
    eprintln!(
        "figure: {}: create (the call took {}) → Resource listed {}, → Ready=True by Crossplane {}, → state ready in osp {} ({})",
        case.what,
        secs(created),
        trace.listed.map(secs).unwrap_or_default(),
        crossplane_ready
            .map(secs)
            .unwrap_or_else(|| "(not seen first)".into()),
        trace.at("ready").map(secs).unwrap_or_default(),
        trace.path()
    );
    for (at, conds) in &written {
        eprintln!("{}: {} Crossplane: {conds:?}", case.what, secs(*at));
    }
    assert!(
        trace.errors.is_empty(),
        "{}: healthy, yet shown as error on its way to ready: {:?}; Crossplane wrote {written:?}",
        case.what,
        trace.errors
    );

    Ok(entity)
}

/// `GetResourceStatus` of the case's object is the tree Crossplane built.
async fn check_tree(
    c: &mut CatalogServiceClient<Channel>,
    kube: &kube::Client,
    case: &Case,
    entity: &Value,
) -> Result<()> {
    let name = case.doc["metadata"]["name"].as_str().unwrap_or_default();
    let (chain, status) = same_tree(c, kube, &case.resource, NS, name, case.chain).await?;
    let kinds: Vec<&str> = chain.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, case.chain, "{}", case.what);
    let cm = chain.last().context("a ConfigMap")?;
    assert_eq!(
        cm.obj["data"][case.data.0], case.data.1,
        "{}: the ConfigMap was patched from the {}",
        case.what, case.chain[0]
    );
    let mut node = status.root.clone();
    for live in &chain {
        let n = node.take().context("node")?;
        let conds = node_conditions(&n);
        if live.kind == "ConfigMap" {
            // osp watches claims and XRs only: a composed resource is
            // named by its ref, not read.
            assert_eq!(
                n.state,
                pb::ResourceState::Unspecified as i32,
                "{}: the ConfigMap is not in osp's catalog",
                case.what
            );
        } else {
            assert_eq!(
                n.state,
                pb::ResourceState::Ready as i32,
                "{}: {}",
                case.what,
                live.kind
            );
            let synced = condition(&conds, "Synced");
            let ready = condition(&conds, "Ready");
            assert_eq!(
                synced.map(|c| (c.1.as_str(), c.2.as_str())),
                Some(("True", "ReconcileSuccess")),
                "{}: {}",
                case.what,
                live.kind
            );
            assert_eq!(
                ready.map(|c| (c.1.as_str(), c.2.as_str())),
                Some(("True", "Available")),
                "{}: {}",
                case.what,
                live.kind
            );
        }
        eprintln!(
            "{}: node {} {}/{} state {:?} conditions {:?}",
            case.what,
            n.kind,
            n.namespace,
            n.name,
            pb::ResourceState::try_from(n.state).unwrap_or_default(),
            conds
                .iter()
                .map(|c| format!("{}={}/{}", c.0, c.1, c.2))
                .collect::<Vec<_>>()
        );
        node = n.children.first().cloned();
    }
    if case.chain.len() == 3 {
        // A claim's Resource depends on its XR's, which is listed too.
        let xr = &chain[1];
        let xr_ref = resource_ref(&xr.kind, "", &xr.name);
        assert_eq!(
            entity["spec"]["dependsOn"],
            json!([xr_ref]),
            "{}",
            case.what
        );
        let all = entities(c).await.unwrap_or_default();
        assert_eq!(
            all.get(&xr_ref).map(state_of),
            Some("ready"),
            "{}: the XR's Resource",
            case.what
        );
    }
    Ok(())
}

/// A Composition whose function input is invalid: `error`, with
/// Crossplane's message.
async fn invalid_input(c: &mut CatalogServiceClient<Channel>, kube: &kube::Client) -> Result<()> {
    let xapps = ar("example.org/v1", "XApp", "xapps");
    let t0 = Instant::now();
    create(
        kube,
        &xapps,
        &json!({
            "apiVersion": "example.org/v1", "kind": "XApp",
            "metadata": {"name": "broken", "namespace": NS},
            "spec": {"crossplane": {"compositionRef": {"name": "xapps-invalid-input"}}}
        }),
    )
    .await?;
    let broken = resource_ref("XApp", NS, "broken");
    let mut trace = Trace::default();
    let e = until(c, &broken, t0, &mut trace, "invalid input", |e| {
        e.is_some_and(|e| state_of(e) == "error")
    })
    .await?
    .context("listed")?;
    eprintln!(
        "figure: invalid function input: create → state error in osp {} ({})",
        trace.at("error").map(secs).unwrap_or_default(),
        trace.path()
    );
    let xapp_api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), NS, &xapps);
    let live = serde_json::to_value(xapp_api.get("broken").await?)?;
    let conds = live_conditions(&live);
    let synced = condition(&conds, "Synced").context("Crossplane's Synced")?;
    assert_eq!(
        (synced.1.as_str(), synced.2.as_str()),
        ("False", "ReconcileError")
    );
    assert!(
        synced.3.contains("invalid Function input"),
        "Crossplane's message: {}",
        synced.3
    );
    let message = e["metadata"]["annotations"]["osp.dev/status-message"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        message, synced.3,
        "the Resource carries Crossplane's own message"
    );
    let status = resource_status(c, &Live::of(live.clone(), "example.org/v1", "XApp")).await?;
    assert_eq!(status.message, synced.3);
    let root = status.root.context("root")?;
    assert_eq!(root.state, pb::ResourceState::Error as i32);
    assert_eq!(
        node_conditions(&root),
        conds,
        "the conditions Crossplane wrote"
    );
    eprintln!("invalid input: Crossplane's message: {}", synced.3);

    Ok(())
}

/// The claim deleted: `deleting` (held by the test's finalizer while
/// Crossplane deletes its XR), then gone, its XR's Resource too.
async fn delete_claim(c: &mut CatalogServiceClient<Channel>, kube: &kube::Client) -> Result<()> {
    let dbs = ar("example.org/v1", "DB", "dbs");
    let claims: Api<DynamicObject> = Api::namespaced_with(kube.clone(), NS, &dbs);
    let claim = claims.get("orders").await?;
    let xr_name = serde_json::to_value(&claim)?["spec"]["resourceRef"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let xr_ref = resource_ref("XDB", "", &xr_name);
    hold(&claims, "orders", true).await?;
    let claim_ref = resource_ref("DB", NS, "orders");
    let t0 = Instant::now();
    claims.delete("orders", &DeleteParams::default()).await?;
    let mut trace = Trace::default();
    until(c, &claim_ref, t0, &mut trace, "claim deleting", |e| {
        e.is_some_and(|e| state_of(e) == "deleting")
    })
    .await?;
    let mut xr_trace = Trace {
        listed: Some(Duration::ZERO),
        ..Default::default()
    };
    until(
        c,
        &xr_ref,
        t0,
        &mut xr_trace,
        "XR deleted by Crossplane",
        |e| e.is_none(),
    )
    .await?;
    let live = wait_live(&claims, "orders", "Crossplane lets go of the claim", |o| {
        o["metadata"]["finalizers"] == json!([HOLD])
    })
    .await?;
    let released = t0.elapsed();
    hold(&claims, "orders", false).await?;
    until(c, &claim_ref, t0, &mut trace, "claim gone", |e| e.is_none()).await?;
    eprintln!(
        "figure: claim deleted → state deleting in osp {}, → its XR's Resource gone {}, → Crossplane's finalizer removed {}; test's finalizer removed → Resource gone {} ({})",
        trace.at("deleting").map(secs).unwrap_or_default(),
        xr_trace.at("gone").map(secs).unwrap_or_default(),
        secs(released),
        trace.at("gone").map(secs).unwrap_or_default(),
        trace.path()
    );
    eprintln!("deleting claim's conditions: {:?}", live_conditions(&live));
    Ok(())
}

/// Adds or removes the test's finalizer `HOLD` (get, change, replace;
/// again on a conflict with Crossplane's own updates).
async fn hold(api: &Api<DynamicObject>, name: &str, add: bool) -> Result<()> {
    for _ in 0..50 {
        let mut obj = api.get(name).await?;
        let finalizers = obj.metadata.finalizers.get_or_insert_with(Vec::new);
        finalizers.retain(|f| f != HOLD);
        if add {
            finalizers.push(HOLD.to_string());
        }
        match api.replace(name, &PostParams::default(), &obj).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    bail!("`{name}`: finalizer not changed after 50 conflicts")
}
