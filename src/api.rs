//! `for_api`: a [`Definition`] becomes a Backstage `API` entity (type
//! `openapi`) describing the claim or XR the users create, so the catalog
//! shows the service's contract.
use serde_json::{Value, json};

use crate::annotations::Customisation;
use crate::definition::Definition;
use crate::entity;
use crate::options::Options;

mod openapi;
mod pretty;

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
        },
    });
    // JSON text (valid YAML too, read by Backstage's openapi widget):
    // several times faster to write than YAML (docs/benchmarks.md); moved
    // in, as `json!` would copy it.
    api["spec"]["definition"] = Value::String(openapi::for_openapi(def));
    if let Some(system) = &custom.system {
        api["spec"]["system"] = json!(system);
    }
    api
}
