//! `for_api`: a [`Definition`] becomes a Backstage `API` entity (type
//! `openapi`) describing the claim or XR the users create, so the catalog
//! shows the service's contract.
use serde_json::{Value, json};

use crate::annotations::Customisation;
use crate::definition::Definition;
use crate::entity;
use crate::options::Options;

/// Builds the API entity for a definition and its customisation.
pub fn for_api(def: &Definition, custom: &Customisation, opts: &Options) -> Value {
    let target = def.target();
    let mut annotations = entity::managed_annotations();
    annotations.insert("osp.dev/definition".into(), json!(def.name));
    let mut api = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {
            "name": entity::name_for(&def.name),
            "title": format!("{} API", custom.title.clone().unwrap_or_else(|| target.kind.clone())),
            "description": format!("The `{}` resource (`{}`) users create.", target.kind, def.api_version()),
            "annotations": annotations,
        },
        "spec": {
            "type": "openapi",
            "lifecycle": custom.lifecycle.clone().unwrap_or_else(|| if def.deprecated { "deprecated".into() } else { "production".into() }),
            "owner": opts.owner_for(custom),
            // JSON text (valid YAML too, read by Backstage's openapi widget):
            // several times faster to write than YAML (docs/benchmarks.md).
            "definition": serde_json::to_string_pretty(&openapi(def)).unwrap_or_default(),
        },
    });
    if let Some(system) = &custom.system {
        api["spec"]["system"] = json!(system);
    }
    api
}

/// An OpenAPI 3.0 document: the object schema and the Kubernetes paths to
/// create and read it.
pub fn openapi(def: &Definition) -> Value {
    let target = def.target();
    let mut schema = def.schema.clone();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(
            "apiVersion".into(),
            json!({"type": "string", "enum": [def.api_version()]}),
        );
        props.insert(
            "kind".into(),
            json!({"type": "string", "enum": [target.kind]}),
        );
    }
    let plural = if def.is_claim() {
        &target.plural
    } else {
        &def.names.plural
    };
    let base = if def.is_namespaced() {
        format!(
            "/apis/{}/{}/namespaces/{{namespace}}/{plural}",
            def.group, def.version
        )
    } else {
        format!("/apis/{}/{}/{plural}", def.group, def.version)
    };
    let ns_param =
        json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}});
    let name_param =
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let mut params = Vec::new();
    if def.is_namespaced() {
        params.push(ns_param);
    }
    let reference = json!({"$ref": format!("#/components/schemas/{}", target.kind)});
    let ok =
        |d: &str| json!({"description": d, "content": {"application/json": {"schema": reference}}});
    let mut item_params = params.clone();
    item_params.push(name_param);
    json!({
        "openapi": "3.0.3",
        "info": {"title": format!("{} ({})", target.kind, def.api_version()), "version": def.version},
        "paths": {
            base.clone(): {
                "parameters": params,
                "post": {"summary": format!("Create a {}", target.kind), "operationId": format!("create{}", target.kind),
                         "requestBody": {"required": true, "content": {"application/json": {"schema": reference}}},
                         "responses": {"201": ok("Created")}},
            },
            format!("{base}/{{name}}"): {
                "parameters": item_params,
                "get": {"summary": format!("Read a {}", target.kind), "operationId": format!("read{}", target.kind),
                        "responses": {"200": ok("The resource")}},
            },
        },
        "components": {"schemas": {target.kind.clone(): schema}},
    })
}
