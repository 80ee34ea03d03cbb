//! Builds the manifest by serialisation: form values are shaped against the
//! schema (empty optional values dropped, integers coerced), defaulted like
//! the API server does, and ordered as the schema declares its properties.
use serde_json::{Map, Value, json};

use super::{
    BACKSTAGE_OWNER_ANNOTATION, ClaimInput, DEFINITION_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL,
    OWNER_ANNOTATION, TEMPLATE_ANNOTATION, Violation, Warning, coerce, defaults, schema,
};
use crate::annotations::SOURCE_KEYS;
use crate::definition::Definition;

/// The `spec` object built from form values.
pub fn spec(
    node: &Value,
    values: Value,
    warnings: &mut Vec<Warning>,
    violations: &mut Vec<Violation>,
) -> Value {
    let mut spec = shape(node, values, "spec", warnings, violations);
    defaults::apply(node, &mut spec);
    order(Some(node), spec)
}

/// The whole claim or XR around `spec`.
pub fn manifest(def: &Definition, input: &ClaimInput, spec: Value) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(input.name));
    if let Some(ns) = super::metadata::given(&input.namespace) {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert("labels".into(), json!({ MANAGED_BY_LABEL: MANAGED_BY }));
    let mut annotations = Map::new();
    annotations.insert(DEFINITION_ANNOTATION.into(), json!(def.name));
    if let Some(owner) = super::metadata::given(&input.owner) {
        annotations.insert(OWNER_ANNOTATION.into(), json!(owner));
        annotations.insert(BACKSTAGE_OWNER_ANNOTATION.into(), json!(owner));
    }
    if let Some(template) = super::metadata::given(&input.template_ref) {
        annotations.insert(TEMPLATE_ANNOTATION.into(), json!(template));
    }
    metadata.insert("annotations".into(), Value::Object(annotations));
    json!({
        "apiVersion": def.api_version(),
        "kind": def.target().kind,
        "metadata": metadata,
        "spec": spec,
    })
}

/// Records where the manifest is published ([`SOURCE_KEYS`], in order).
pub fn record_source(manifest: &mut Value, values: [&str; 3]) {
    if let Some(a) = manifest
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        for (k, v) in SOURCE_KEYS.iter().zip(values) {
            a.insert((*k).into(), json!(v));
        }
    }
}

/// Drops empty optional values and coerces numbers, depth first.
fn shape(
    node: &Value,
    value: Value,
    path: &str,
    warnings: &mut Vec<Warning>,
    violations: &mut Vec<Violation>,
) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let child_schema = schema::child(node, &key);
                let child_path = schema::join(path, &key);
                let child = match child_schema {
                    Some(s) => shape(s, child, &child_path, warnings, violations),
                    None => child,
                };
                if is_blank(child_schema, &child) && !schema::is_required(node, &key) {
                    continue;
                }
                out.insert(key, child);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let Some(item_schema) = schema::items(node) else {
                return Value::Array(items);
            };
            Value::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        shape(
                            item_schema,
                            item,
                            &format!("{path}[{i}]"),
                            warnings,
                            violations,
                        )
                    })
                    .collect(),
            )
        }
        mut scalar => {
            coerce::integer(node, &mut scalar, path, warnings, violations);
            scalar
        }
    }
}

/// A form's "nothing entered": `null` (unless nullable), `""` and `[]`,
/// unless the schema lists that very value in its `enum`.
fn is_blank(node: Option<&Value>, v: &Value) -> bool {
    let blank = match v {
        Value::Null => !node.is_some_and(|n| schema::flag(n, "nullable")),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    let listed = node
        .and_then(|n| n.get("enum"))
        .and_then(Value::as_array)
        .is_some_and(|e| e.contains(v));
    blank && !listed
}

/// Orders object fields as the schema declares them (undeclared, preserved
/// fields follow in input order) and drops optional objects left empty.
fn order(node: Option<&Value>, value: Value) -> Value {
    match value {
        Value::Object(mut map) => {
            let mut out = Map::new();
            if let Some(props) = node.and_then(schema::properties) {
                for (key, prop) in props {
                    let Some(v) = map.shift_remove(key) else {
                        continue;
                    };
                    let v = order(Some(prop), v);
                    let empty = v.as_object().is_some_and(Map::is_empty);
                    let required = node.is_some_and(|n| schema::is_required(n, key));
                    if empty && !required && prop.get("default").is_none() {
                        continue;
                    }
                    out.insert(key.clone(), v);
                }
            }
            let rest = node.and_then(schema::additional);
            for (key, v) in map {
                out.insert(key, order(rest, v));
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let item_schema = node.and_then(schema::items);
            Value::Array(items.into_iter().map(|i| order(item_schema, i)).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_defaults_and_orders_spec() {
        struct Case {
            reason: &'static str,
            schema: Value,
            values: Value,
            want: &'static str,
        }
        let cases = [
            Case {
                reason: "fields follow schema order, not input order",
                schema: json!({"type": "object", "properties": {
                    "a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}}}),
                values: json!({"c": "3", "a": "1", "b": "2"}),
                want: r#"{"a":"1","b":"2","c":"3"}"#,
            },
            Case {
                reason: "empty optional values are dropped, required ones kept",
                schema: json!({"type": "object", "required": ["r"], "properties": {
                    "r": {"type": "string"}, "o": {"type": "string"},
                    "l": {"type": "array", "items": {"type": "string"}},
                    "n": {"type": "integer"}, "obj": {"type": "object", "properties": {"x": {"type": "string"}}}}}),
                values: json!({"r": "", "o": "", "l": [], "n": null, "obj": {"x": ""}}),
                want: r#"{"r":""}"#,
            },
            Case {
                reason: "an empty string the enum allows is kept",
                schema: json!({"type": "object", "properties": {"e": {"type": "string", "enum": ["", "a"]}}}),
                values: json!({"e": ""}),
                want: r#"{"e":""}"#,
            },
            Case {
                reason: "defaults land in schema order and integers are coerced",
                schema: json!({"type": "object", "properties": {
                    "size": {"type": "integer", "default": 10}, "name": {"type": "string"},
                    "count": {"type": "integer"}}}),
                values: json!({"count": 3.0, "name": "x"}),
                want: r#"{"size":10,"name":"x","count":3}"#,
            },
            Case {
                reason: "a preserved free-form object is kept as given",
                schema: json!({"type": "object", "properties": {
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}),
                values: json!({"extra": {"z": 1, "a": {"b": [1, 2]}}}),
                want: r#"{"extra":{"z":1,"a":{"b":[1,2]}}}"#,
            },
        ];
        for c in cases {
            let (mut w, mut v) = (Vec::new(), Vec::new());
            let got = spec(&c.schema, c.values.clone(), &mut w, &mut v);
            assert_eq!(got.to_string(), c.want, "{}", c.reason);
            assert!(v.is_empty(), "{}: {v:?}", c.reason);
        }
    }
}
