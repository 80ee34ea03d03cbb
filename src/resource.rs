//! `for_resource`: a claim, XR, KRO instance or Kratix resource read from a
//! cluster becomes a Backstage `Resource` entity with its owner, live
//! status, the relation to its XR, the annotations the Kubernetes plugin
//! needs, and a day-2 edit link. Secret values never appear: a connection
//! secret is named, never read.
use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::annotations::{OWNER_KEYS, SOURCE_KEYS, SYSTEM_KEYS};
use crate::definition::kinds::GroupKind;
use crate::definition::{Definition, Source};
use crate::entity;

mod display;
mod edit;
mod state;
mod tree;

pub use display::for_display;
pub use edit::{encode, for_edit_url, for_form_data};
pub use state::{Condition, State, conditions, for_state};
pub use tree::{MAX_DEPTH, Node, ObjectRef, children_of, for_tree};

/// Longest status message kept in an annotation.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// What a watched object is for its definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A Crossplane claim.
    Claim,
    /// A Crossplane composite resource (XR).
    Composite,
    /// An instance of a KRO ResourceGraphDefinition.
    KroInstance,
    /// A resource request of a Kratix Promise.
    KratixResource,
}

impl Role {
    /// `spec.type` of the Resource entity.
    pub fn entity_type(self) -> &'static str {
        match self {
            Role::Claim => "crossplane-claim",
            Role::Composite => "crossplane-xr",
            Role::KroInstance => "kro-instance",
            Role::KratixResource => "kratix-resource",
        }
    }
}

/// What a resource entity needs besides the object itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Cluster the object lives in.
    pub cluster: &'a str,
    /// The definition that offers the object's kind.
    pub definition: &'a Definition,
    /// `metadata.name` of the definition's Template (for the edit link).
    pub template_name: &'a str,
    /// Backstage's `app.baseUrl` (e.g. `https://portal.example.org`): the
    /// catalog rejects entities whose `links[].url` is not absolute.
    pub app_base_url: &'a str,
    /// Owner when the object names none.
    pub default_owner: &'a str,
    /// System when the object names none (its Namespace's, if configured).
    pub default_system: Option<&'a str>,
    /// The object's annotations and labels copied onto its Resource.
    pub passthrough: &'a Passthrough,
    /// `(group, kind)` of every known XR kind, so nested XRs in
    /// `resourceRefs` become `dependsOn` relations.
    pub composites: &'a BTreeSet<GroupKind>,
}

/// Annotation and label keys copied from an object onto its Resource: an
/// entry ending in `/` is a prefix (`team.example.org/`), any other an exact
/// key. osp's own annotations are never overwritten.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Passthrough {
    /// Annotation keys or prefixes.
    #[serde(default)]
    pub annotations: Vec<String>,
    /// Label keys or prefixes.
    #[serde(default)]
    pub labels: Vec<String>,
}

impl Passthrough {
    /// Nothing passed through.
    pub const NONE: Passthrough = Passthrough {
        annotations: Vec::new(),
        labels: Vec::new(),
    };

    /// The entries of `map` whose key a rule of `rules` matches.
    fn select<'v>(
        rules: &[String],
        map: &'v Value,
    ) -> impl Iterator<Item = (&'v String, &'v Value)> {
        map.as_object().into_iter().flatten().filter(move |(k, v)| {
            v.is_string()
                && rules.iter().any(|r| {
                    if r.ends_with('/') {
                        k.starts_with(r.as_str())
                    } else {
                        *k == r
                    }
                })
        })
    }
}

/// Keys of a Namespace's annotations (else labels) whose values the claims
/// and XRs in it inherit when they name no owner or system themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceKeys {
    /// Key naming the owner, e.g. `example.org/owner`.
    #[serde(default)]
    pub owner: Option<String>,
    /// Key naming the system, e.g. `example.org/system`.
    #[serde(default)]
    pub system: Option<String>,
}

impl NamespaceKeys {
    /// Whether any key is set (Namespaces are read only then).
    pub fn any(&self) -> bool {
        self.owner.is_some() || self.system.is_some()
    }

    /// The owner `namespace` names, if any.
    pub fn owner_in<'v>(&self, namespace: Option<&'v Value>) -> Option<&'v str> {
        Self::value(self.owner.as_deref()?, namespace?)
    }

    /// The system `namespace` names, if any.
    pub fn system_in<'v>(&self, namespace: Option<&'v Value>) -> Option<&'v str> {
        Self::value(self.system.as_deref()?, namespace?)
    }

    /// The non-blank annotation under `key`, else the label.
    fn value<'v>(key: &str, namespace: &'v Value) -> Option<&'v str> {
        let meta = &namespace["metadata"];
        [&meta["annotations"][key], &meta["labels"][key]]
            .into_iter()
            .find_map(|v| v.as_str().map(str::trim).filter(|v| !v.is_empty()))
    }
}

/// Errors from building a resource entity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The object has no `metadata.name`.
    #[error("metadata.name: required field is missing")]
    ReadName,
    /// The object's kind is not offered by the definition.
    #[error("kind: `{kind}` is not offered by definition `{definition}`")]
    MatchKind { kind: String, definition: String },
}

/// The role of `obj` for `def`, from its `kind` and API group.
pub fn role_of(def: &Definition, obj: &Value) -> Option<Role> {
    let kind = obj.get("kind").and_then(Value::as_str)?;
    let group = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.rsplit_once('/').map(|(g, _)| g))
        .unwrap_or_default();
    if group != def.group {
        return None;
    }
    match def.source {
        Source::Rgd if kind == def.names.kind => Some(Role::KroInstance),
        Source::Promise if kind == def.target().kind => Some(Role::KratixResource),
        Source::XrdV1 | Source::XrdV2 => {
            if def.claim_names.as_ref().is_some_and(|c| c.kind == kind) {
                Some(Role::Claim)
            } else if def.names.kind == kind {
                Some(Role::Composite)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The entity name of an object: `<name>.<kind>[.<namespace>].<cluster>`,
/// lowercase, made valid (and shortened with a stable hash) by
/// [`entity::name_for`].
pub fn name_of(cluster: &str, kind: &str, namespace: &str, name: &str) -> String {
    let raw = if namespace.is_empty() {
        format!("{name}.{}.{cluster}", kind.to_lowercase())
    } else {
        format!("{name}.{}.{namespace}.{cluster}", kind.to_lowercase())
    };
    entity::name_for(&raw.to_lowercase())
}

/// Builds the `Resource` entity for one claim, XR, KRO instance or Kratix
/// resource.
pub fn for_resource(obj: &Value, ctx: &Context) -> Result<Value, Error> {
    let def = ctx.definition;
    let role = role_of(def, obj).ok_or_else(|| Error::MatchKind {
        kind: obj["kind"].as_str().unwrap_or_default().to_string(),
        definition: def.name.clone(),
    })?;
    let id = ObjectRef::of(obj);
    if id.name.is_empty() {
        return Err(Error::ReadName);
    }
    let owner = owner_of(obj, ctx);
    let (state, message) = for_state(obj);
    let mut annotations = annotations_of(obj, ctx, &id, role, (state, &message));
    let mut links = Vec::new();
    if let Some((path, link)) = edit_link(obj, ctx, role, &owner) {
        // The annotation keeps the in-app path (it works behind any base URL).
        annotations.insert("osp.dev/edit-url".into(), json!(path));
        links.extend(link);
    }
    links.extend(status_links(obj));

    let mut spec = Map::new();
    spec.insert("type".into(), json!(role.entity_type()));
    spec.insert("owner".into(), json!(owner));
    if let Some(system) = annotation(obj, &SYSTEM_KEYS).or(ctx.default_system) {
        spec.insert("system".into(), json!(system));
    }
    let depends = depends_on(obj, ctx);
    if !depends.is_empty() {
        spec.insert("dependsOn".into(), json!(depends));
    }
    let mut metadata = Map::new();
    metadata.insert(
        "name".into(),
        json!(name_of(ctx.cluster, &id.kind, &id.namespace, &id.name)),
    );
    metadata.insert("title".into(), json!(id.name));
    metadata.insert("description".into(), json!(description(&id, ctx.cluster)));
    metadata.insert("annotations".into(), Value::Object(annotations));
    let labels: Map<String, Value> =
        Passthrough::select(&ctx.passthrough.labels, &obj["metadata"]["labels"])
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    if !labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(labels));
    }
    metadata.insert(
        "tags".into(),
        json!([source_tag(def.source), state.as_str()]),
    );
    if !links.is_empty() {
        metadata.insert("links".into(), json!(links));
    }
    Ok(json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": metadata,
        "spec": spec,
    }))
}

/// The object's own owner annotation (any of [`OWNER_KEYS`]), else the
/// catalog's default.
fn owner_of(obj: &Value, ctx: &Context) -> String {
    annotation(obj, &OWNER_KEYS)
        .unwrap_or(ctx.default_owner)
        .to_string()
}

/// The first of `keys` annotated on the object with a non-blank value.
fn annotation<'a>(obj: &'a Value, keys: &[&str]) -> Option<&'a str> {
    let annotations = obj.pointer("/metadata/annotations")?;
    keys.iter()
        .find_map(|k| annotations.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Where the object lives and how it is doing, as annotations.
fn annotations_of(
    obj: &Value,
    ctx: &Context,
    id: &ObjectRef,
    role: Role,
    (state, message): (State, &str),
) -> Map<String, Value> {
    let mut annotations = entity::managed_annotations();
    let mut put = |k: &str, v: &str| {
        annotations.insert(k.into(), json!(v));
    };
    put("osp.dev/definition", &ctx.definition.name);
    put("osp.dev/cluster", ctx.cluster);
    put("osp.dev/api-version", &id.api_version);
    put("osp.dev/kind", &id.kind);
    put("osp.dev/name", &id.name);
    if !id.namespace.is_empty() {
        put("osp.dev/namespace", &id.namespace);
        put("backstage.io/kubernetes-namespace", &id.namespace);
    }
    put("osp.dev/state", state.as_str());
    // Where the claim is published, so Backstage can propose its deletion.
    for key in SOURCE_KEYS {
        if let Some(v) = annotation(obj, &[key]) {
            put(key, v);
        }
    }
    if !message.is_empty() {
        put(
            "osp.dev/status-message",
            &truncate(message, MAX_MESSAGE_LEN),
        );
    }
    put(
        "backstage.io/kubernetes-label-selector",
        &selector(role, id),
    );
    if let Some(secret) = connection_secret(obj) {
        put("osp.dev/connection-secret", &secret);
    }
    for (key, value) in gitops_annotations(obj) {
        put(key, &value);
    }
    let meta_annotations = &obj["metadata"]["annotations"];
    for (k, v) in Passthrough::select(&ctx.passthrough.annotations, meta_annotations) {
        annotations.entry(k.clone()).or_insert_with(|| v.clone());
    }
    annotations
}

/// What applied the object, in the annotations Backstage's Argo CD and Flux
/// plugins read: Argo CD's application from its tracking annotation
/// (`<app>:<group>/<kind>:<namespace>/<name>`, Argo CD 3's default; label
/// tracking's `app.kubernetes.io/instance` is not read, Helm sets it too);
/// Flux's Kustomization from the labels kustomize-controller sets.
fn gitops_annotations(obj: &Value) -> Vec<(&'static str, String)> {
    let meta = &obj["metadata"];
    let text = |v: &Value, key: &str| {
        v[key]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut out = Vec::new();
    let argo = text(&meta["annotations"], "argocd.argoproj.io/tracking-id")
        .and_then(|id| id.split_once(':').map(|(app, _)| app.to_string()))
        .filter(|app| !app.is_empty());
    if let Some(app) = argo {
        out.push(("argocd/app-name", app));
    }
    let labels = &meta["labels"];
    if let (Some(name), Some(namespace)) = (
        text(labels, "kustomize.toolkit.fluxcd.io/name"),
        text(labels, "kustomize.toolkit.fluxcd.io/namespace"),
    ) {
        out.push(("osp.dev/flux-kustomization", format!("{namespace}/{name}")));
    }
    out
}

/// The day-2 edit link: the in-app path and, when it is a valid absolute
/// URL under the app's base (the catalog rejects relative links), the link.
/// Only the kind users create is edited; an XR behind a claim is changed
/// through its claim.
fn edit_link(
    obj: &Value,
    ctx: &Context,
    role: Role,
    owner: &str,
) -> Option<(String, Option<Value>)> {
    let def = ctx.definition;
    let editable = match role {
        Role::Composite => !def.is_claim(),
        _ => true,
    };
    if !editable || ctx.template_name.is_empty() {
        return None;
    }
    let path = for_edit_url(ctx.template_name, &for_form_data(def, obj, owner));
    let url = format!("{}{path}", ctx.app_base_url.trim_end_matches('/'));
    let link = entity::is_absolute_url(&url)
        .then(|| json!({"url": url, "title": "Edit", "icon": "edit", "type": "edit"}));
    Some((path, link))
}

fn description(id: &ObjectRef, cluster: &str) -> String {
    if id.namespace.is_empty() {
        format!("{} `{}` in cluster `{}`.", id.kind, id.name, cluster)
    } else {
        format!(
            "{} `{}` in namespace `{}` of cluster `{}`.",
            id.kind, id.name, id.namespace, cluster
        )
    }
}

fn source_tag(source: Source) -> &'static str {
    match source {
        Source::Rgd => "kro",
        Source::Promise => "kratix",
        _ => "crossplane",
    }
}

/// Label selector the Kubernetes plugin uses to find the object's children.
fn selector(role: Role, id: &ObjectRef) -> String {
    match role {
        Role::Claim => format!(
            "crossplane.io/claim-name={},crossplane.io/claim-namespace={}",
            id.name, id.namespace
        ),
        Role::Composite => format!("crossplane.io/composite={}", id.name),
        Role::KroInstance => format!("kro.run/instance-name={}", id.name),
        Role::KratixResource => format!("kratix.io/resource-name={}", id.name),
    }
}

/// `[namespace/]name` of the connection secret; its contents are never read.
fn connection_secret(obj: &Value) -> Option<String> {
    let r = obj
        .pointer("/spec/writeConnectionSecretToRef")
        .or_else(|| obj.pointer("/spec/crossplane/writeConnectionSecretToRef"))?;
    let name = r.get("name").and_then(Value::as_str)?;
    Some(match r.get("namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    })
}

/// Top-level `status` fields holding an absolute http(s) URL become links
/// (anything else would get the entity rejected).
fn status_links(obj: &Value) -> Vec<Value> {
    let Some(status) = obj.get("status").and_then(Value::as_object) else {
        return Vec::new();
    };
    status
        .iter()
        .filter_map(|(k, v)| {
            let url = v.as_str()?;
            entity::is_absolute_url(url).then(|| json!({"url": url, "title": k}))
        })
        .collect()
}

/// The XR of a claim and the nested XRs of an XR, as entity refs.
fn depends_on(obj: &Value, ctx: &Context) -> Vec<String> {
    let mut out: Vec<String> = children_of(obj)
        .into_iter()
        .filter(|r| {
            ctx.composites
                .contains(&GroupKind::of_api_version(&r.api_version, &r.kind))
        })
        .map(|r| {
            format!(
                "resource:default/{}",
                name_of(ctx.cluster, &r.kind, &r.namespace, &r.name)
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests;
