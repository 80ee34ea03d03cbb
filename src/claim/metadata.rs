//! Object metadata rules: a DNS-1123 label name short enough for Crossplane,
//! a namespace present exactly when the kind is namespaced, and `spec`
//! fields Crossplane reserves for itself.
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{ClaimInput, Violation, schema};
use crate::definition::Definition;

/// Crossplane copies claim and XR names into label values
/// (`crossplane.io/claim-name`, `crossplane.io/composite`), which are at most
/// 63 characters.
pub const MAX_NAME_LEN: usize = 63;

static DNS1123_LABEL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").ok());

/// `Some(s)` for a non-empty string: gRPC sends "" for unset.
pub fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Why `s` is not a DNS-1123 label of at most `max` characters, if it is not.
pub fn dns1123_label(s: &str, max: usize) -> Option<String> {
    if s.is_empty() {
        return Some("required value".into());
    }
    if s.len() > max {
        return Some(format!(
            "must be no more than `{max}` characters, got `{}`",
            s.len()
        ));
    }
    let ok = DNS1123_LABEL.as_ref().is_some_and(|r| r.is_match(s));
    (!ok).then(|| {
        format!(
            "`{s}` must consist of lower case alphanumeric characters or `-`, and must start and end with an alphanumeric character"
        )
    })
}

/// Checks `metadata.name` and `metadata.namespace`.
pub fn check(def: &Definition, input: &ClaimInput, out: &mut Vec<Violation>) {
    if let Some(why) = dns1123_label(&input.name, MAX_NAME_LEN) {
        out.push(violation("metadata.name", why));
    }
    match (def.is_namespaced(), given(&input.namespace)) {
        (true, None) => out.push(violation(
            "metadata.namespace",
            format!("required value: `{}` is namespaced", def.target().kind),
        )),
        (true, Some(ns)) => {
            if let Some(why) = dns1123_label(ns, MAX_NAME_LEN) {
                out.push(violation("metadata.namespace", why));
            }
        }
        (false, Some(_)) => out.push(violation(
            "metadata.namespace",
            format!("must not be set: `{}` is cluster-scoped", def.target().kind),
        )),
        (false, None) => {}
    }
}

/// Rejects form values for fields Crossplane manages, unless the XRD's own
/// schema declares them.
pub fn check_reserved(def: &Definition, spec: &Value, values: &Value, out: &mut Vec<Violation>) {
    let Some(map) = values.as_object() else {
        return;
    };
    for key in def.reserved_fields() {
        if map.contains_key(*key) && schema::property(spec, key).is_none() {
            out.push(violation(
                &format!("spec.{key}"),
                format!("`{key}` is managed by crossplane; set it with the composition choice"),
            ));
        }
    }
}

fn violation(field: &str, description: impl Into<String>) -> Violation {
    Violation {
        field: field.to_string(),
        description: description.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_dns1123_labels() {
        struct Case {
            reason: &'static str,
            name: String,
            ok: bool,
        }
        let cases = [
            Case {
                reason: "simple name",
                name: "my-db".into(),
                ok: true,
            },
            Case {
                reason: "digits first is fine",
                name: "1db".into(),
                ok: true,
            },
            Case {
                reason: "upper case",
                name: "MyDB".into(),
                ok: false,
            },
            Case {
                reason: "trailing dash",
                name: "db-".into(),
                ok: false,
            },
            Case {
                reason: "dots are not allowed in a label",
                name: "a.b".into(),
                ok: false,
            },
            Case {
                reason: "exactly 63",
                name: "a".repeat(63),
                ok: true,
            },
            Case {
                reason: "64 is too long for a crossplane label value",
                name: "a".repeat(64),
                ok: false,
            },
            Case {
                reason: "empty",
                name: String::new(),
                ok: false,
            },
        ];
        for c in cases {
            assert_eq!(
                dns1123_label(&c.name, MAX_NAME_LEN).is_none(),
                c.ok,
                "{}",
                c.reason
            );
        }
    }
}
