//! `for_template`: a [`Definition`] becomes a Backstage Software Template
//! (`scaffolder.backstage.io/v1beta3`) whose steps call the sidecar's actions.
use serde_json::{Map, Value, json};

use crate::definition::{Definition, Source};
use crate::entity;

/// Name of the scaffolder action that renders and validates the claim.
pub const RENDER_ACTION: &str = "osp:claim:render";
/// Name of the scaffolder action that opens the pull request.
pub const PUBLISH_ACTION: &str = "osp:claim:publish";

/// Builds the Template entity for a definition.
pub fn for_template(def: &Definition) -> Value {
    let target = def.target();
    let mut annotations = entity::managed_annotations();
    annotations.insert("osp.dev/definition".into(), json!(def.name));
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {
            "name": entity::name_for(&def.name),
            "title": title(def),
            "description": description(def),
            "tags": ["crossplane", target.kind.to_lowercase()],
            "annotations": annotations,
        },
        "spec": {
            "owner": def.annotations.get("backstage.io/owner").map_or("group:default/platform-team", String::as_str),
            "type": template_type(def),
            "parameters": [metadata_page(def), service_page(def), delivery_page()],
            "steps": steps(def),
            "output": {
                "links": [
                    {"title": "Pull request", "url": "${{ steps.publish.output.pullRequestUrl }}"},
                ],
            },
        },
    })
}

/// `spec.type` of the Template: what the user gets.
pub fn template_type(def: &Definition) -> &'static str {
    match def.source {
        Source::Rgd => "kro-instance",
        Source::Promise => "kratix-resource",
        _ if def.is_claim() => "crossplane-claim",
        _ => "crossplane-xr",
    }
}

fn title(def: &Definition) -> String {
    def.annotations
        .get("backstage.io/title")
        .cloned()
        .unwrap_or_else(|| def.target().kind.clone())
}

fn description(def: &Definition) -> String {
    def.annotations
        .get("backstage.io/description")
        .cloned()
        .unwrap_or_else(|| format!("Create a {} ({}).", def.target().kind, def.api_version()))
}

fn metadata_page(def: &Definition) -> Value {
    let mut props = Map::new();
    props.insert(
        "name".into(),
        json!({
            "title": "Name",
            "type": "string",
            "description": format!("Name of the {}.", def.target().kind),
            "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "maxLength": 63,
        }),
    );
    let mut required = vec![json!("name"), json!("owner")];
    if def.is_namespaced() {
        props.insert(
            "namespace".into(),
            json!({"title": "Namespace", "type": "string", "default": "default",
                   "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}),
        );
        required.push(json!("namespace"));
    }
    props.insert(
        "owner".into(),
        json!({"title": "Owner", "type": "string", "ui:field": "OwnerPicker",
               "ui:options": {"catalogFilter": {"kind": ["Group", "User"]}}}),
    );
    json!({"title": "Metadata", "required": required, "properties": props})
}

fn service_page(def: &Definition) -> Value {
    let spec = def
        .schema
        .pointer("/properties/spec")
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    json!({
        "title": def.target().kind,
        "properties": {"spec": form_schema(&spec)},
    })
}

fn delivery_page() -> Value {
    json!({
        "title": "Delivery",
        "required": ["repoUrl"],
        "properties": {
            "repoUrl": {"title": "Repository", "type": "string", "ui:field": "RepoUrlPicker",
                        "ui:options": {"allowedHosts": ["github.com"]}},
        },
    })
}

fn steps(def: &Definition) -> Value {
    let mut input = Map::new();
    input.insert("definition".into(), json!(def.name));
    input.insert("name".into(), json!("${{ parameters.name }}"));
    if def.is_namespaced() {
        input.insert("namespace".into(), json!("${{ parameters.namespace }}"));
    }
    input.insert("owner".into(), json!("${{ parameters.owner }}"));
    input.insert("values".into(), json!("${{ parameters.spec }}"));
    json!([
        {"id": "render", "name": "Render and validate", "action": RENDER_ACTION, "input": input},
        {"id": "publish", "name": "Open pull request", "action": PUBLISH_ACTION, "input": {
            "repoUrl": "${{ parameters.repoUrl }}",
            "manifest": "${{ steps.render.output.manifest }}",
            "path": "${{ steps.render.output.path }}",
            "idempotencyKey": "${{ steps.render.output.idempotencyKey }}",
        }},
    ])
}

/// The JSON Schema a form shows for an OpenAPI v3 (Kubernetes structural)
/// schema. Kubernetes-only keywords are dropped; everything else is kept.
pub fn form_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with("x-kubernetes-"))
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "properties" | "patternProperties" => Value::Object(
                            v.as_object()
                                .map(|p| p.iter().map(|(n, s)| (n.clone(), form_schema(s))).collect())
                                .unwrap_or_default(),
                        ),
                        "items" | "additionalProperties" | "not" => form_schema(v),
                        "allOf" | "anyOf" | "oneOf" => Value::Array(
                            v.as_array()
                                .map(|a| a.iter().map(form_schema).collect())
                                .unwrap_or_default(),
                        ),
                        _ => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}
