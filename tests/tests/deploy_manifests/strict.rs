//! Strict parsing. `k8s-openapi` types skip unknown fields, so a typo such as
//! `readOnlyRootFileSystem` would parse and silently do nothing; we parse,
//! serialise back and report every input field that did not survive.
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses `doc` into `T`, failing on fields `T` does not know.
pub fn parse<T: DeserializeOwned + Serialize>(doc: &Value) -> anyhow::Result<T> {
    let typed: T = serde_json::from_value(doc.clone())?;
    let back = serde_json::to_value(&typed)?;
    let lost = lost_fields(doc, &back);
    anyhow::ensure!(lost.is_empty(), "{}", lost.join("; "));
    Ok(typed)
}

/// Input fields missing or changed in the round-tripped value. Fields only in
/// the round-tripped value are defaults and fine.
pub fn lost_fields(input: &Value, back: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(input, back, "", &mut out);
    out
}

fn walk(input: &Value, back: &Value, path: &str, out: &mut Vec<String>) {
    match (input, back) {
        (Value::Object(i), Value::Object(b)) => {
            for (k, v) in i {
                let p = join(path, k);
                match b.get(k) {
                    Some(bv) => walk(v, bv, &p, out),
                    None if v.is_null() => {}
                    None => out.push(format!("unknown field `{p}`")),
                }
            }
        }
        (Value::Array(i), Value::Array(b)) if i.len() == b.len() => {
            for (n, (iv, bv)) in i.iter().zip(b).enumerate() {
                walk(iv, bv, &format!("{path}[{n}]"), out);
            }
        }
        (i, b) if i == b => {}
        // `minimum: 10` reads back as `10.0` from an f64 field: same value.
        (Value::Number(i), Value::Number(b)) if i.as_f64() == b.as_f64() => {}
        (i, b) => out.push(format!("`{path}`: `{i}` reads back as `{b}`")),
    }
}

/// Fields of `doc` that an OpenAPI v3 schema (as in a CRD) does not declare,
/// and values of the wrong type: what the API server would prune or reject.
pub fn schema_errors(doc: &Value, schema: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(doc, schema, path, &mut out);
    out
}

fn check(doc: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
    let int_or_string = schema["x-kubernetes-int-or-string"] == Value::Bool(true);
    let ok = match (schema["type"].as_str(), doc) {
        (None, _) => true,
        (_, _) if int_or_string => doc.is_i64() || doc.is_u64() || doc.is_string(),
        (Some("object"), Value::Object(_))
        | (Some("array"), Value::Array(_))
        | (Some("string"), Value::String(_))
        | (Some("boolean"), Value::Bool(_)) => true,
        (Some("integer"), v) => v.is_i64() || v.is_u64(),
        (Some("number"), v) => v.is_number(),
        _ => false,
    };
    if !ok {
        out.push(format!(
            "`{path}`: `{doc}` is not of type `{}`",
            schema["type"]
        ));
        return;
    }
    match doc {
        Value::Object(fields) => {
            let props = schema["properties"].as_object();
            for (k, v) in fields {
                let p = join(path, k);
                match (
                    props.and_then(|p| p.get(k)),
                    &schema["additionalProperties"],
                ) {
                    (Some(s), _) => check(v, s, &p, out),
                    (None, Value::Object(s)) => check(v, &Value::Object(s.clone()), &p, out),
                    (None, Value::Bool(true)) => {}
                    (None, _) if preserve => {}
                    // No type and no properties: the schema says nothing here.
                    (None, _) if props.is_none() && schema.get("type").is_none() => {}
                    (None, _) => out.push(format!("unknown field `{p}`")),
                }
            }
        }
        Value::Array(items) => {
            for (n, v) in items.iter().enumerate() {
                check(v, &schema["items"], &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
