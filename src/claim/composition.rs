//! Puts the composition choice where Crossplane reads it: `spec.*` on claims
//! and legacy XRs, `spec.crossplane.*` on v2 XRs.
use serde_json::{Map, Value, json};

use super::metadata::{MAX_NAME_LEN, dns1123_label, given};
use super::{CompositionChoice, Violation};
use crate::definition::{DELETE_POLICIES, Definition, Scope, UPDATE_POLICIES};

/// Adds the choice to `manifest.spec`, reporting invalid choices.
pub fn place(
    def: &Definition,
    choice: &CompositionChoice,
    manifest: &mut Value,
    out: &mut Vec<Violation>,
) {
    let v2_xr = !def.is_claim() && def.scope != Scope::LegacyCluster;
    let prefix = if v2_xr { "spec.crossplane" } else { "spec" };
    let mut fields = Map::new();
    if let Some(name) = given(&choice.composition_name) {
        if let Some(why) = subdomain(name) {
            out.push(violation(prefix, "compositionRef.name", why));
        }
        fields.insert("compositionRef".into(), json!({ "name": name }));
    }
    if !choice.composition_selector.is_empty() {
        for (k, v) in &choice.composition_selector {
            if let Some(why) = label_value(v) {
                out.push(violation(
                    prefix,
                    &format!("compositionSelector.matchLabels.{k}"),
                    why,
                ));
            }
            if k.is_empty() || k.len() > 253 || k.contains(char::is_whitespace) {
                out.push(violation(
                    prefix,
                    "compositionSelector.matchLabels",
                    format!("`{k}` is not a valid label key"),
                ));
            }
        }
        fields.insert(
            "compositionSelector".into(),
            json!({ "matchLabels": choice.composition_selector }),
        );
    }
    if let Some(policy) = given(&choice.update_policy) {
        if !UPDATE_POLICIES.contains(&policy) {
            out.push(violation(
                prefix,
                "compositionUpdatePolicy",
                format!("unsupported value `{policy}`, expected `Automatic` or `Manual`"),
            ));
        }
        fields.insert("compositionUpdatePolicy".into(), json!(policy));
    }
    if let Some(policy) = given(&choice.composite_delete_policy) {
        place_delete_policy(def, policy, prefix, &mut fields, out);
    }
    if let Some(secret) = given(&choice.connection_secret_name) {
        if let Some(why) = subdomain(secret) {
            out.push(violation(prefix, "writeConnectionSecretToRef.name", why));
        }
        if def.is_claim() {
            fields.insert(
                "writeConnectionSecretToRef".into(),
                json!({ "name": secret }),
            );
        } else {
            out.push(violation(
                prefix,
                "writeConnectionSecretToRef",
                format!(
                    "connection secrets can only be chosen for claims, `{}` is an XR",
                    def.target().kind
                ),
            ));
        }
    }
    if fields.is_empty() {
        return;
    }
    let Some(spec) = manifest.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if v2_xr {
        spec.insert("crossplane".into(), Value::Object(fields));
    } else {
        spec.extend(fields);
    }
}

fn subdomain(name: &str) -> Option<String> {
    // Object names are DNS-1123 subdomains: labels joined by dots.
    if name.len() > 253 {
        return Some(format!(
            "must be no more than `253` characters, got `{}`",
            name.len()
        ));
    }
    name.split('.')
        .find_map(|label| dns1123_label(label, MAX_NAME_LEN))
        .map(|_| format!("`{name}` is not a valid DNS-1123 subdomain"))
}

fn label_value(v: &str) -> Option<String> {
    let ok = v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && v.chars().next().is_none_or(|c| c.is_ascii_alphanumeric())
        && v.chars().last().is_none_or(|c| c.is_ascii_alphanumeric());
    (!ok).then(|| format!("`{v}` is not a valid label value"))
}

fn violation(prefix: &str, field: &str, description: impl Into<String>) -> Violation {
    Violation {
        field: format!("{prefix}.{field}"),
        description: description.into(),
    }
}
/// `compositeDeletePolicy`: a claim's field (an XR has no claim to delete).
fn place_delete_policy(
    def: &Definition,
    policy: &str,
    prefix: &str,
    fields: &mut Map<String, Value>,
    out: &mut Vec<Violation>,
) {
    if !def.is_claim() {
        out.push(violation(
            prefix,
            "compositeDeletePolicy",
            format!(
                "a delete policy can only be chosen for claims, `{}` is an XR",
                def.target().kind
            ),
        ));
        return;
    }
    if !DELETE_POLICIES.contains(&policy) {
        out.push(violation(
            prefix,
            "compositeDeletePolicy",
            format!("unsupported value `{policy}`, expected `Background` or `Foreground`"),
        ));
    }
    fields.insert("compositeDeletePolicy".into(), json!(policy));
}
