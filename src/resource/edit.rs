//! The day-2 edit link: the definition's Template with its form prefilled
//! from the object's current spec, so a change goes through the same
//! render → validate → pull request path and rewrites the same file.
use serde_json::{Map, Value, json};

use crate::definition::Definition;

/// Backstage path of a Template's form, prefilled with `form_data`, relative
/// to the app's base URL.
pub fn for_edit_url(template_name: &str, form_data: &Value) -> String {
    format!(
        "/create/templates/default/{}?formData={}",
        encode(template_name),
        encode(&form_data.to_string())
    )
}

/// The form values that reproduce `obj`: the metadata page, the spec
/// without the fields Crossplane manages, and the advanced page's fields.
/// Values of fields moved to pages of their own are left to their defaults.
pub fn for_form_data(def: &Definition, obj: &Value, owner: &str) -> Value {
    let mut data = Map::new();
    let meta = |k: &str| obj.pointer(&format!("/metadata/{k}")).cloned();
    if let Some(n) = meta("name") {
        data.insert("name".into(), n);
    }
    if def.is_namespaced()
        && let Some(ns) = meta("namespace")
    {
        data.insert("namespace".into(), ns);
    }
    data.insert("owner".into(), json!(owner));
    let mut spec = obj
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // v2 XRs keep Crossplane's fields under `spec.crossplane`.
    let crossplane = spec.get("crossplane").cloned().unwrap_or(Value::Null);
    let at = |k: &str| spec.get(k).or_else(|| crossplane.get(k)).cloned();
    let advanced = [
        (
            "compositionName",
            at("compositionRef").and_then(|r| r.get("name").cloned()),
        ),
        (
            "compositionSelector",
            at("compositionSelector").and_then(|s| s.get("matchLabels").cloned()),
        ),
        ("updatePolicy", at("compositionUpdatePolicy")),
        (
            "compositeDeletePolicy",
            at("compositeDeletePolicy").filter(|_| def.is_claim()),
        ),
        (
            "connectionSecretName",
            at("writeConnectionSecretToRef")
                .filter(|_| def.is_claim())
                .and_then(|r| r.get("name").cloned()),
        ),
    ];
    for reserved in def.reserved_fields() {
        spec.remove(*reserved);
    }
    data.insert("spec".into(), Value::Object(spec));
    for (k, v) in advanced {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            data.insert(k.into(), v);
        }
    }
    Value::Object(data)
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so the
/// value survives as one query parameter.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values() {
        struct Case {
            reason: &'static str,
            raw: &'static str,
            want: &'static str,
        }
        let cases = [
            Case {
                reason: "unreserved characters stay",
                raw: "a-b_c.d~1",
                want: "a-b_c.d~1",
            },
            Case {
                reason: "JSON punctuation is escaped",
                raw: r#"{"a":1}"#,
                want: "%7B%22a%22%3A1%7D",
            },
            Case {
                reason: "non-ASCII is escaped per UTF-8 byte",
                raw: "é &",
                want: "%C3%A9%20%26",
            },
        ];
        for c in cases {
            assert_eq!(encode(c.raw), c.want, "{}", c.reason);
        }
    }
}
