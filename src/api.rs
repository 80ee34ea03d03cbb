//! `for_api`: a [`Definition`] becomes a Backstage `API` entity (type
//! `openapi`) describing the claim or XR the users create.
use serde_json::{Value, json};

use crate::definition::Definition;
use crate::{document, entity};

/// Builds the API entity for a definition.
pub fn for_api(def: &Definition) -> Value {
    let target = def.target();
    let openapi = json!({
        "openapi": "3.0.0",
        "info": {"title": format!("{} ({})", target.kind, def.api_version()), "version": def.version},
        "paths": {},
        "components": {"schemas": {target.kind.clone(): def.schema}},
    });
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {
            "name": entity::name_for(&def.name),
            "title": format!("{} API", target.kind),
            "annotations": entity::managed_annotations(),
        },
        "spec": {
            "type": "openapi",
            "lifecycle": def.annotations.get("backstage.io/lifecycle").map_or("production", String::as_str),
            "owner": def.annotations.get("backstage.io/owner").map_or("group:default/platform-team", String::as_str),
            "definition": document::to_yaml(&openapi),
        },
    })
}
