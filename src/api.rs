//! `for_api`: a [`Definition`] becomes a Backstage `API` entity (type
//! `openapi`) describing the claim or XR the users create, so the catalog
//! shows the service's contract.
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::{Map, Value, json};

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
        },
    });
    // JSON text (valid YAML too, read by Backstage's openapi widget):
    // several times faster to write than YAML (docs/benchmarks.md); moved
    // in, as `json!` would copy it.
    api["spec"]["definition"] = Value::String(openapi(def));
    if let Some(system) = &custom.system {
        api["spec"]["system"] = json!(system);
    }
    api
}

/// An OpenAPI 3.0 document as JSON text: the object schema and the
/// Kubernetes paths to create and read it. The schema is written from the
/// definition as it is, never copied (issue 18: the copy was a fifth of the
/// conversion's time).
pub(crate) fn openapi(def: &Definition) -> String {
    let target = def.target();
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
    let head = json!({
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
    });
    let api_version = json!({"type": "string", "enum": [def.api_version()]});
    let kind = json!({"type": "string", "enum": [target.kind]});
    let doc = Document {
        head: &head,
        kind: &target.kind,
        schema: TypedSchema {
            schema: &def.schema,
            type_meta: [("apiVersion", &api_version), ("kind", &kind)],
        },
    };
    // Serialising borrowed `Value`s into a `String` cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// `head`'s entries, then `components.schemas.<kind>`.
struct Document<'a> {
    head: &'a Value,
    kind: &'a str,
    schema: TypedSchema<'a>,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let head = self.head.as_object().into_iter().flatten();
        let mut map = s.serialize_map(None)?;
        for (k, v) in head {
            map.serialize_entry(k, v)?;
        }
        let schemas = One("schemas", One(self.kind, &self.schema));
        map.serialize_entry("components", &schemas)?;
        map.end()
    }
}

/// A one-entry map.
struct One<K, V>(K, V);

impl<K: Serialize, V: Serialize> Serialize for One<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(&self.0, &self.1)?;
        map.end()
    }
}

/// The definition's schema with `apiVersion` and `kind` set in its
/// `properties`, as a map insert would: in place when present, else last.
struct TypedSchema<'a> {
    schema: &'a Value,
    type_meta: [(&'static str, &'a Value); 2],
}

impl Serialize for TypedSchema<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(schema) = self.schema.as_object() else {
            return self.schema.serialize(s);
        };
        let mut map = s.serialize_map(Some(schema.len()))?;
        for (k, v) in schema {
            match v.as_object() {
                Some(props) if k == "properties" => {
                    map.serialize_entry(k, &TypedProperties(props, &self.type_meta))?
                }
                _ => map.serialize_entry(k, v)?,
            }
        }
        map.end()
    }
}

struct TypedProperties<'a>(&'a Map<String, Value>, &'a [(&'static str, &'a Value); 2]);

impl Serialize for TypedProperties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let TypedProperties(props, type_meta) = self;
        let set = |k: &str| {
            type_meta
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| *v)
        };
        let mut map = s.serialize_map(None)?;
        for (k, v) in *props {
            map.serialize_entry(k, set(k).unwrap_or(v))?;
        }
        for (name, v) in type_meta
            .iter()
            .filter(|(name, _)| !props.contains_key(*name))
        {
            map.serialize_entry(name, v)?;
        }
        map.end()
    }
}
