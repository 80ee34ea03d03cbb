//! Small readers over an OpenAPI v3 (structural) schema node, shared by
//! rendering, defaulting and validation.
use serde_json::{Map, Value};

/// The node's `type`, if any.
pub fn ty(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

/// `properties` of an object schema.
pub fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// The schema of property `key`.
pub fn property<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    properties(schema).and_then(|p| p.get(key))
}

/// Whether `key` is listed in the node's `required`.
pub fn is_required(schema: &Value, key: &str) -> bool {
    required(schema).any(|r| r == key)
}

/// The node's `required` names.
pub fn required(schema: &Value) -> impl Iterator<Item = &str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// `items` of an array schema (a single schema; tuple forms are not structural).
pub fn items(schema: &Value) -> Option<&Value> {
    schema.get("items").filter(|i| i.is_object())
}

/// `additionalProperties` when it is a schema.
pub fn additional(schema: &Value) -> Option<&Value> {
    schema.get("additionalProperties").filter(|a| a.is_object())
}

/// A boolean extension such as `x-kubernetes-preserve-unknown-fields`.
pub fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Whether unknown fields are kept at this object node.
pub fn preserves_unknown(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-preserve-unknown-fields")
        || schema.get("additionalProperties") == Some(&Value::Bool(true))
}

/// Whether the node is `x-kubernetes-int-or-string`.
pub fn int_or_string(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-int-or-string")
}

/// The schema for the child `key` of an object node: its property, else
/// `additionalProperties`.
pub fn child<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    property(schema, key).or_else(|| additional(schema))
}

/// JSON type name of a value, in OpenAPI words.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `prefix.key`, or `key` at the root.
pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}
