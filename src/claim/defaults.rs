//! Structural defaulting as the API server does it: top-down, a property's
//! `default` is set when the property is absent (or `null` and not
//! `nullable`), then defaulting continues inside the value, defaults
//! included. Falsy defaults (`false`, `0`, `""`) are defaults like any other.
use serde_json::Value;

use super::schema;

/// Applies `node`'s defaults inside `value`.
pub fn apply(node: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(props) = schema::properties(node) {
                for (key, prop) in props {
                    let Some(default) = prop.get("default") else {
                        continue;
                    };
                    let absent = match map.get(key) {
                        None => true,
                        Some(Value::Null) => !schema::flag(prop, "nullable"),
                        Some(_) => false,
                    };
                    if absent {
                        map.insert(key.clone(), default.clone());
                    }
                }
            }
            for (key, child) in map.iter_mut() {
                if let Some(s) = schema::child(node, key) {
                    apply(s, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema::items(node) {
                for item in items {
                    if item.is_null()
                        && !schema::flag(s, "nullable")
                        && let Some(d) = s.get("default")
                    {
                        *item = d.clone();
                    }
                    apply(s, item);
                }
            }
        }
        _ => {}
    }
}

/// True when every `required` property reachable without user input has a
/// default: an object with nothing filled in can then be valid.
pub fn satisfiable(node: &Value) -> bool {
    schema::required(node).all(|key| {
        let Some(prop) = schema::property(node, key) else {
            // Required but undeclared: only a preserving node could hold it.
            return false;
        };
        match prop.get("default") {
            None => false,
            Some(Value::Object(_)) => satisfiable(prop),
            Some(_) => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_defaults_like_the_api_server() {
        struct Case {
            reason: &'static str,
            schema: Value,
            value: Value,
            want: Value,
        }
        let cases = [
            Case {
                reason: "a falsy default is applied, not lost",
                schema: json!({"type": "object", "properties": {
                    "enabled": {"type": "boolean", "default": false},
                    "replicas": {"type": "integer", "default": 0},
                    "prefix": {"type": "string", "default": ""}}}),
                value: json!({}),
                want: json!({"enabled": false, "replicas": 0, "prefix": ""}),
            },
            Case {
                reason: "a value given is kept",
                schema: json!({"type": "object", "properties": {
                    "size": {"type": "integer", "default": 10}}}),
                value: json!({"size": 20}),
                want: json!({"size": 20}),
            },
            Case {
                reason: "null for a non-nullable field takes the default",
                schema: json!({"type": "object", "properties": {
                    "size": {"type": "integer", "default": 10}}}),
                value: json!({"size": null}),
                want: json!({"size": 10}),
            },
            Case {
                reason: "null for a nullable field stays null",
                schema: json!({"type": "object", "properties": {
                    "size": {"type": "integer", "nullable": true, "default": 10}}}),
                value: json!({"size": null}),
                want: json!({"size": null}),
            },
            Case {
                reason: "an absent object is not created, so its children get no defaults",
                schema: json!({"type": "object", "properties": {
                    "db": {"type": "object", "properties": {"size": {"type": "integer", "default": 10}}}}}),
                value: json!({}),
                want: json!({}),
            },
            Case {
                reason: "a defaulted object is defaulted inside too",
                schema: json!({"type": "object", "properties": {
                    "db": {"type": "object", "default": {},
                           "properties": {"size": {"type": "integer", "default": 10}}}}}),
                value: json!({}),
                want: json!({"db": {"size": 10}}),
            },
            Case {
                reason: "array items and additionalProperties are defaulted",
                schema: json!({"type": "object", "properties": {
                    "ports": {"type": "array", "items": {"type": "object", "properties": {
                        "protocol": {"type": "string", "default": "TCP"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "object",
                        "properties": {"v": {"type": "string", "default": "x"}}}}}}),
                value: json!({"ports": [{}, {"protocol": "UDP"}], "labels": {"a": {}}}),
                want: json!({"ports": [{"protocol": "TCP"}, {"protocol": "UDP"}], "labels": {"a": {"v": "x"}}}),
            },
        ];
        for c in cases {
            let mut v = c.value.clone();
            apply(&c.schema, &mut v);
            assert_eq!(v, c.want, "{}", c.reason);
        }
    }

    #[test]
    fn knows_when_defaults_alone_suffice() {
        struct Case {
            reason: &'static str,
            schema: Value,
            want: bool,
        }
        let cases = [
            Case {
                reason: "no required field",
                schema: json!({"type": "object", "properties": {"a": {"type": "string"}}}),
                want: true,
            },
            Case {
                reason: "required with default",
                schema: json!({"type": "object", "required": ["a"],
                    "properties": {"a": {"type": "string", "default": "x"}}}),
                want: true,
            },
            Case {
                reason: "required without default",
                schema: json!({"type": "object", "required": ["a"],
                    "properties": {"a": {"type": "string"}}}),
                want: false,
            },
            Case {
                reason: "required default object whose own required child lacks a default",
                schema: json!({"type": "object", "required": ["a"], "properties": {
                    "a": {"type": "object", "default": {}, "required": ["b"],
                          "properties": {"b": {"type": "string"}}}}}),
                want: false,
            },
        ];
        for c in cases {
            assert_eq!(satisfiable(&c.schema), c.want, "{}", c.reason);
        }
    }
}
