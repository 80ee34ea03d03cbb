//! Compositions indexed by the composite type they compose, so every source
//! (a cluster's watch or a `--from-dir` directory) offers an XRD's
//! Compositions as a choice the same way.
use std::collections::BTreeMap;

use serde_json::Value;

use super::kinds::{GroupKind, Role, source_kind};

/// Composition names by the XR group and kind of their
/// `spec.compositeTypeRef`, each list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compositions {
    by_type: BTreeMap<GroupKind, Vec<String>>,
}

impl Compositions {
    /// The index of every Composition among `objects` (other kinds are
    /// ignored, so a directory's whole object list can be passed).
    pub fn for_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut by_type: BTreeMap<GroupKind, Vec<String>> = BTreeMap::new();
        for c in objects {
            if !source_kind(c).is_some_and(|k| matches!(k.role, Role::Composition)) {
                continue;
            }
            let Some(name) = c["metadata"]["name"].as_str() else {
                continue;
            };
            let r = &c["spec"]["compositeTypeRef"];
            let target = GroupKind::of_api_version(
                r["apiVersion"].as_str().unwrap_or_default(),
                r["kind"].as_str().unwrap_or_default(),
            );
            by_type.entry(target).or_default().push(name.to_string());
        }
        for names in by_type.values_mut() {
            names.sort();
            names.dedup();
        }
        Self { by_type }
    }

    /// The Compositions of the XR an XRD document defines (`spec.group`,
    /// `spec.names.kind`); none for other documents.
    pub fn for_definition(&self, doc: &Value) -> Vec<String> {
        let spec = &doc["spec"];
        let target = GroupKind::new(
            spec["group"].as_str().unwrap_or_default(),
            spec["names"]["kind"].as_str().unwrap_or_default(),
        );
        self.by_type.get(&target).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn composition(name: &str, api_version: &str, kind: &str) -> Value {
        json!({"apiVersion": "apiextensions.crossplane.io/v1", "kind": "Composition",
            "metadata": {"name": name},
            "spec": {"compositeTypeRef": {"apiVersion": api_version, "kind": kind}}})
    }

    #[test]
    fn compositions_are_offered_for_the_xr_they_compose() {
        let objects = [
            composition("gcp", "example.org/v1alpha1", "XDatabase"),
            composition("aws", "example.org/v1", "XDatabase"),
            composition("other-kind", "example.org/v1", "XBucket"),
            composition("other-group", "example.com/v1", "XDatabase"),
            json!({"apiVersion": "example.org/v1", "kind": "Database", "metadata": {"name": "claim"}}),
        ];
        let index = Compositions::for_objects(&objects);
        let xrd = json!({"spec": {"group": "example.org", "names": {"kind": "XDatabase"}}});
        assert_eq!(
            index.for_definition(&xrd),
            ["aws", "gcp"],
            "every version of the XR, sorted; other kinds, groups and objects ignored"
        );
        let rgd = json!({"spec": {"schema": {"kind": "Thing"}}});
        assert!(index.for_definition(&rgd).is_empty(), "a non-XRD has none");
    }
}
