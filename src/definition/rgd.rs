//! KRO `ResourceGraphDefinition`s. Their SimpleSchema (`type | marker=value`)
//! becomes the OpenAPI v3 object schema KRO itself would generate, so every
//! later step treats RGD instances like any other custom resource.
use serde_json::{Map, Value, json};

use super::{Definition, Error, Found, Names, Scope, Source, str_at, string_map};

/// KRO's default API group for instances.
pub const DEFAULT_GROUP: &str = "kro.run";

/// Reads an RGD. Instances are always namespaced.
pub(crate) fn read_rgd(doc: &Value) -> Result<Found, Error> {
    let meta = doc.get("metadata");
    let name = meta
        .and_then(|m| str_at(m, "name"))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("metadata.name"))?;
    let schema = doc
        .pointer("/spec/schema")
        .ok_or_else(|| missing("spec.schema"))?;
    let kind = str_at(schema, "kind")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("spec.schema.kind"))?;
    let version = str_at(schema, "apiVersion")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("spec.schema.apiVersion"))?;
    let group = str_at(schema, "group")
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_GROUP);
    let types = match schema.get("types") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(t)) => t.clone(),
        Some(_) => return Err(invalid("spec.schema.types", "must be a mapping")),
    };
    let parser = Parser { types: &types };
    let spec = match schema.get("spec") {
        None | Some(Value::Null) => json!({"type": "object"}),
        Some(v) => parser.object(v, "spec.schema.spec", &mut Vec::new())?,
    };
    Ok(Found::built(Definition {
        source: Source::Rgd,
        name: name.to_string(),
        group: group.to_string(),
        version: version.to_string(),
        versions: vec![version.to_string()],
        deprecated: false,
        names: Names {
            kind: kind.to_string(),
            plural: plural(&kind.to_lowercase()),
        },
        claim_names: None,
        scope: Scope::Namespaced,
        schema: json!({
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": spec,
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            },
        }),
        annotations: string_map(meta.and_then(|m| m.get("annotations"))),
        labels: string_map(meta.and_then(|m| m.get("labels"))),
        default_composition: None,
        default_update_policy: None,
        connection_secret_keys: Vec::new(),
    }))
}

/// English plural the way KRO derives resource names (lowercase kind).
pub fn plural(kind: &str) -> String {
    let consonant_y = kind.ends_with('y')
        && !kind.ends_with("ay")
        && !kind.ends_with("ey")
        && !kind.ends_with("oy")
        && !kind.ends_with("uy");
    if consonant_y {
        format!("{}ies", &kind[..kind.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|s| kind.ends_with(s))
    {
        format!("{kind}es")
    } else {
        format!("{kind}s")
    }
}

struct Parser<'a> {
    types: &'a Map<String, Value>,
}

impl Parser<'_> {
    /// A YAML mapping of fields: an object schema.
    fn object(&self, v: &Value, path: &str, stack: &mut Vec<String>) -> Result<Value, Error> {
        let Value::Object(fields) = v else {
            return self.field(v, path, stack).map(|(s, _)| s);
        };
        let mut props = Map::new();
        let mut required = Vec::new();
        for (name, f) in fields {
            let p = format!("{path}.{name}");
            let (schema, req) = match f {
                Value::Object(_) => (self.object(f, &p, stack)?, false),
                _ => self.field(f, &p, stack)?,
            };
            if req {
                required.push(json!(name));
            }
            props.insert(name.clone(), schema);
        }
        let mut out = Map::new();
        out.insert("type".into(), json!("object"));
        out.insert("properties".into(), Value::Object(props));
        if !required.is_empty() {
            out.insert("required".into(), Value::Array(required));
        }
        Ok(Value::Object(out))
    }

    /// One `type | markers` string; returns the schema and `required=true`.
    fn field(
        &self,
        v: &Value,
        path: &str,
        stack: &mut Vec<String>,
    ) -> Result<(Value, bool), Error> {
        let Some(text) = v.as_str() else {
            return Err(invalid(path, "must be a SimpleSchema string or a mapping"));
        };
        let (ty, markers) = match text.split_once('|') {
            Some((t, m)) => (t.trim(), parse_markers(m.trim(), path)?),
            None => (text.trim(), Vec::new()),
        };
        let mut schema = self.ty(ty, path, stack)?;
        let required = apply_markers(&mut schema, &markers, path)?;
        Ok((schema, required))
    }

    fn ty(&self, ty: &str, path: &str, stack: &mut Vec<String>) -> Result<Value, Error> {
        if let Some(item) = ty.strip_prefix("[]") {
            let items = strip_required(self.ty(item.trim(), path, stack)?);
            return Ok(json!({"type": "array", "items": items}));
        }
        if let Some(rest) = ty.strip_prefix("map[") {
            let (key, value) = rest
                .split_once(']')
                .ok_or_else(|| invalid(path, &format!("unclosed map type `{ty}`")))?;
            if key.trim() != "string" {
                return Err(invalid(
                    path,
                    &format!("map keys must be `string`, not `{key}`"),
                ));
            }
            let values = strip_required(self.ty(value.trim(), path, stack)?);
            return Ok(json!({"type": "object", "additionalProperties": values}));
        }
        Ok(match ty {
            "string" => json!({"type": "string"}),
            "integer" => json!({"type": "integer"}),
            "boolean" | "bool" => json!({"type": "boolean"}),
            "number" | "float" => json!({"type": "number"}),
            "object" => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            custom => {
                let Some(def) = self.types.get(custom) else {
                    return Err(invalid(path, &format!("unknown type `{custom}`")));
                };
                if stack.iter().any(|t| t == custom) {
                    return Err(invalid(
                        path,
                        &format!(
                            "type `{custom}` refers to itself through `{}`",
                            stack.join("` -> `")
                        ),
                    ));
                }
                stack.push(custom.to_string());
                let tpath = format!("spec.schema.types.{custom}");
                let out = match def {
                    Value::Object(_) => self.object(def, &tpath, stack),
                    // A string alias keeps its markers, including `required`,
                    // which the referencing field inherits below.
                    _ => self.field(def, &tpath, stack).map(|(mut s, req)| {
                        if req {
                            s["x-osp-required"] = json!(true);
                        }
                        s
                    }),
                };
                stack.pop();
                out?
            }
        })
    }
}

/// Splits `a=1 b="x y" c=[1,2]` respecting quotes and brackets.
fn parse_markers(s: &str, path: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(invalid(path, &format!("marker `{key}` has no `=value`")));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some('"') => value.push('"'),
                        Some('\\') => value.push('\\'),
                        // Other escapes belong to the value (regex `\.`).
                        Some(o) => {
                            value.push('\\');
                            value.push(o);
                        }
                        None => value.push('\\'),
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(invalid(
                    path,
                    &format!("marker `{key}` has an unclosed quote"),
                ));
            }
            // Keep a mark that it was quoted: a quoted default is a string.
            out.push((key, format!("\"{value}")));
            continue;
        }
        let mut depth = 0i32;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() && depth == 0 {
                break;
            }
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                _ => {}
            }
            value.push(c);
            chars.next();
        }
        out.push((key, value));
    }
}

/// Applies markers to a schema; returns whether the field is required.
fn apply_markers(
    schema: &mut Value,
    markers: &[(String, String)],
    path: &str,
) -> Result<bool, Error> {
    let mut required = schema
        .as_object_mut()
        .and_then(|m| m.remove("x-osp-required"))
        .is_some();
    let ty = schema["type"].as_str().unwrap_or("object").to_string();
    let mut validations: Vec<Value> = Vec::new();
    for (key, raw) in markers {
        let quoted = raw.starts_with('"');
        let text = raw.strip_prefix('"').unwrap_or(raw);
        let mpath = format!("{path}({key})");
        match key.as_str() {
            "required" => required = parse_bool(text, &mpath)?,
            "default" => schema["default"] = typed_value(text, quoted, &ty, &mpath)?,
            "description" => schema["description"] = json!(text),
            "enum" => {
                let values = text
                    .split(',')
                    .map(|v| typed_value(v.trim(), false, &ty, &mpath))
                    .collect::<Result<Vec<_>, _>>()?;
                schema["enum"] = Value::Array(values);
            }
            "minimum" | "maximum" => schema[key.as_str()] = number(text, &mpath)?,
            "minLength" | "maxLength" | "minItems" | "maxItems" => {
                let n: u64 = text.parse().map_err(|_| {
                    invalid(&mpath, &format!("`{text}` is not a non-negative integer"))
                })?;
                schema[key.as_str()] = json!(n);
            }
            "pattern" => schema["pattern"] = json!(text),
            // KRO says it the Kubernetes way: a list of unique items is a set.
            "uniqueItems" => {
                if parse_bool(text, &mpath)? {
                    schema["x-kubernetes-list-type"] = json!("set");
                }
            }
            "immutable" => {
                if parse_bool(text, &mpath)? {
                    validations
                        .push(json!({"rule": "self == oldSelf", "message": "field is immutable"}));
                }
            }
            "validation" => validations.push(json!({"rule": text})),
            other => {
                return Err(invalid(&mpath, &format!("unknown marker `{other}`")));
            }
        }
    }
    if !validations.is_empty() {
        schema["x-kubernetes-validations"] = Value::Array(validations);
    }
    Ok(required)
}

/// `required` of an alias means nothing for array items and map values.
fn strip_required(mut s: Value) -> Value {
    if let Some(m) = s.as_object_mut() {
        m.remove("x-osp-required");
    }
    s
}

fn parse_bool(s: &str, path: &str) -> Result<bool, Error> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(path, &format!("`{s}` is not `true` or `false`"))),
    }
}

fn number(s: &str, path: &str) -> Result<Value, Error> {
    serde_json::from_str::<serde_json::Number>(s)
        .map(Value::Number)
        .map_err(|_| invalid(path, &format!("`{s}` is not a number")))
}

/// A marker value read as the field's type: strings stay strings (KRO
/// accepts them unquoted), everything else is JSON.
fn typed_value(s: &str, quoted: bool, ty: &str, path: &str) -> Result<Value, Error> {
    if ty == "string" || (quoted && !s.starts_with(['[', '{'])) {
        return Ok(json!(s));
    }
    serde_json::from_str(s).map_err(|_| invalid(path, &format!("`{s}` is not a valid `{ty}`")))
}

fn missing(path: &str) -> Error {
    Error::Missing {
        path: path.to_string(),
    }
}

fn invalid(path: &str, message: &str) -> Error {
    Error::Invalid {
        path: path.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader with its schema copied, as `for_document` does.
    fn for_rgd(doc: &Value) -> Result<Definition, Error> {
        read_rgd(doc).map(|found| found.copied(doc))
    }

    fn rgd(schema: Value) -> Value {
        json!({"apiVersion": "kro.run/v1alpha1", "kind": "ResourceGraphDefinition",
               "metadata": {"name": "app"}, "spec": {"schema": schema}})
    }

    #[test]
    fn simple_schema_becomes_openapi() {
        struct Case {
            reason: &'static str,
            spec: Value,
            want: Result<Value, &'static str>,
        }
        let cases = [
            Case {
                reason: "markers become keywords and required moves to the parent",
                spec: json!({"name": "string | required=true description=\"The name\"",
                             "replicas": "integer | default=0 minimum=0 maximum=10"}),
                want: Ok(json!({"type": "object", "properties": {
                    "name": {"type": "string", "description": "The name"},
                    "replicas": {"type": "integer", "default": 0, "minimum": 0, "maximum": 10}},
                    "required": ["name"]})),
            },
            Case {
                reason: "arrays, maps and quoted string defaults",
                spec: json!({"tags": "[]string | default=[\"a\",\"b\"] uniqueItems=true",
                             "labels": "map[string]string",
                             "flag": "boolean | default=false",
                             "env": "string | default=\"dev\" enum=\"dev,prod\""}),
                want: Ok(json!({"type": "object", "properties": {
                    "tags": {"type": "array", "items": {"type": "string"},
                             "default": ["a", "b"], "x-kubernetes-list-type": "set"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "flag": {"type": "boolean", "default": false},
                    "env": {"type": "string", "default": "dev", "enum": ["dev", "prod"]}}})),
            },
            Case {
                reason: "an unknown type names the field",
                spec: json!({"db": "Database"}),
                want: Err("spec.schema.spec.db: unknown type `Database`"),
            },
            Case {
                reason: "a bad default names the field and marker",
                spec: json!({"n": "integer | default=abc"}),
                want: Err("spec.schema.spec.n(default): `abc` is not a valid `integer`"),
            },
        ];
        for c in cases {
            let got = for_rgd(&rgd(
                json!({"apiVersion": "v1alpha1", "kind": "App", "spec": c.spec}),
            ))
            .map(|d| d.schema["properties"]["spec"].clone())
            .map_err(|e| e.to_string());
            assert_eq!(got, c.want.map_err(str::to_string), "{}", c.reason);
        }
    }

    #[test]
    fn custom_types_resolve_and_cycles_fail() {
        let d = for_rgd(&rgd(json!({"apiVersion": "v1", "kind": "App",
            "types": {"Req": "string | required=true", "Db": {"host": "Req", "port": "integer | default=5432"}},
            "spec": {"db": "Db", "dbs": "[]Db"}})))
        .expect("valid rgd");
        let db = &d.schema["properties"]["spec"]["properties"]["db"];
        assert_eq!(
            db["required"],
            json!(["host"]),
            "alias `required` is inherited"
        );
        assert_eq!(db["properties"]["port"]["default"], json!(5432));
        assert_eq!(d.names.plural, "apps");
        let err = for_rgd(&rgd(json!({"apiVersion": "v1", "kind": "App",
            "types": {"A": {"b": "B"}, "B": {"a": "A"}}, "spec": {"a": "A"}})))
        .expect_err("cycle");
        assert!(err.to_string().contains("refers to itself"), "{err}");
    }

    #[test]
    fn plurals() {
        for (k, p) in [
            ("app", "apps"),
            ("policy", "policies"),
            ("gateway", "gateways"),
            ("ingress", "ingresses"),
        ] {
            assert_eq!(plural(k), p);
        }
    }
}
