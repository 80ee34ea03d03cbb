//! The kinds of object a source (a cluster or a directory) is read for: one
//! table that recognises definition documents, tells the cluster watcher
//! what to discover, and names the Compositions' kind. Adding a kind of
//! definition is one row here plus its reader.
use std::fmt;

use serde_json::Value;

use super::{Error, Found, promise::read_promise, rgd::read_rgd, xrd::read_xrd};

/// A Kubernetes API group and kind, e.g. `CompositeResourceDefinition` in
/// `apiextensions.crossplane.io`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKind {
    /// API group, empty for the core group.
    pub group: String,
    /// Kind, e.g. `XPostgreSQLInstance`.
    pub kind: String,
}

impl GroupKind {
    /// A group and kind.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
        }
    }

    /// The group and kind an `apiVersion` (`group/version`, or `version`
    /// for the core group) and a kind name.
    pub fn of_api_version(api_version: &str, kind: &str) -> Self {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        Self::new(group, kind)
    }

    /// The group and kind of an object document (`apiVersion` and `kind`).
    pub fn of_object(doc: &Value) -> Self {
        Self::of_api_version(
            doc["apiVersion"].as_str().unwrap_or_default(),
            doc["kind"].as_str().unwrap_or_default(),
        )
    }
}

/// Kubernetes' own spelling, `Kind.group` (`kubectl get kind.group`).
impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// What a source kind is read for.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    /// It defines an API: converted to a Template and an API.
    Definition(fn(&Value) -> Result<Found, Error>),
    /// A Crossplane Composition: offered as a choice in its XRD's Template.
    Composition,
}

/// One kind of object read from a source.
#[derive(Debug, Clone, Copy)]
pub struct SourceKind {
    /// Short name in logs and watcher keys, e.g. `xrds`.
    pub tag: &'static str,
    /// API group.
    pub group: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Versions to look for, preferred first.
    pub versions: &'static [&'static str],
    /// What it is read for.
    pub role: Role,
    /// A status condition that must be `True` before the object is used
    /// (an XRD's CRDs are served only once it is `Established`).
    pub ready_condition: Option<&'static str>,
}

/// Every kind a source is read for.
pub const KINDS: [SourceKind; 4] = [
    SourceKind {
        tag: "xrds",
        group: "apiextensions.crossplane.io",
        kind: "CompositeResourceDefinition",
        versions: &["v2", "v1"],
        role: Role::Definition(read_xrd),
        ready_condition: Some("Established"),
    },
    SourceKind {
        tag: "compositions",
        group: "apiextensions.crossplane.io",
        kind: "Composition",
        versions: &["v1"],
        role: Role::Composition,
        ready_condition: None,
    },
    SourceKind {
        tag: "rgds",
        group: "kro.run",
        kind: "ResourceGraphDefinition",
        versions: &["v1alpha1"],
        role: Role::Definition(read_rgd),
        ready_condition: None,
    },
    SourceKind {
        tag: "promises",
        group: "platform.kratix.io",
        kind: "Promise",
        versions: &["v1alpha1"],
        role: Role::Definition(read_promise),
        ready_condition: None,
    },
];

impl SourceKind {
    /// Its group and kind.
    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.group, self.kind)
    }

    /// True when it defines an API.
    pub fn is_definition(&self) -> bool {
        matches!(self.role, Role::Definition(_))
    }

    /// True when an object of this kind may be used now: its
    /// [`ready_condition`](Self::ready_condition), if any, is `True`.
    pub fn is_ready(&self, doc: &Value) -> bool {
        self.ready_condition.is_none_or(|wanted| {
            doc.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == wanted && c["status"] == "True")
                })
        })
    }
}

/// The table row with a tag.
pub fn by_tag(tag: &str) -> Option<&'static SourceKind> {
    KINDS.iter().find(|k| k.tag == tag)
}

/// The table row for a document's group and kind.
pub fn source_kind(doc: &Value) -> Option<&'static SourceKind> {
    let gk = GroupKind::of_object(doc);
    KINDS
        .iter()
        .find(|k| k.group == gk.group && k.kind == gk.kind)
}

/// True when a document is meant as a definition: its kind is one of the
/// definition kinds, whatever its group, so that a wrong `apiVersion` is
/// reported by [`super::for_document`] instead of silently skipped.
pub fn is_definition(doc: &Value) -> bool {
    let kind = doc["kind"].as_str().unwrap_or_default();
    KINDS.iter().any(|k| k.is_definition() && k.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_are_recognised_by_the_table() {
        struct Case {
            reason: &'static str,
            doc: Value,
            tag: Option<&'static str>,
            definition: bool,
        }
        let cases = [
            Case {
                reason: "a v2 XRD",
                doc: json!({"apiVersion": "apiextensions.crossplane.io/v2", "kind": "CompositeResourceDefinition"}),
                tag: Some("xrds"),
                definition: true,
            },
            Case {
                reason: "a Composition is read, but defines no API",
                doc: json!({"apiVersion": "apiextensions.crossplane.io/v1", "kind": "Composition"}),
                tag: Some("compositions"),
                definition: false,
            },
            Case {
                reason: "an XRD of another group is meant as one: reported, not skipped",
                doc: json!({"apiVersion": "example.org/v1", "kind": "CompositeResourceDefinition"}),
                tag: None,
                definition: true,
            },
            Case {
                reason: "a claim is an ordinary object",
                doc: json!({"apiVersion": "example.org/v1", "kind": "PostgreSQLInstance"}),
                tag: None,
                definition: false,
            },
            Case {
                reason: "no kind at all",
                doc: json!({"apiVersion": "v1"}),
                tag: None,
                definition: false,
            },
        ];
        for c in cases {
            assert_eq!(source_kind(&c.doc).map(|k| k.tag), c.tag, "{}", c.reason);
            assert_eq!(is_definition(&c.doc), c.definition, "{}", c.reason);
        }
    }

    #[test]
    fn group_kinds_print_as_kubectl_spells_them() {
        for (api_version, kind, want, reason) in [
            (
                "kro.run/v1alpha1",
                "ResourceGraphDefinition",
                "ResourceGraphDefinition.kro.run",
                "a named group",
            ),
            (
                "v1",
                "ConfigMap",
                "ConfigMap",
                "the core group has no suffix",
            ),
        ] {
            let gk = GroupKind::of_api_version(api_version, kind);
            assert_eq!(gk.to_string(), want, "{reason}");
        }
    }

    #[test]
    fn unsupported_kinds_name_the_field_and_what_would_do() {
        let cases = [
            (
                "missing apiVersion",
                serde_json::json!({"kind": "CompositeResourceDefinition"}),
                "apiVersion: missing for kind `CompositeResourceDefinition`",
            ),
            (
                "another group's kind of the same name",
                serde_json::json!({"apiVersion": "example.org/v1", "kind": "CompositeResourceDefinition"}),
                "apiVersion: `example.org/v1` is not an API osp reads",
            ),
            (
                "another kind",
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap"}),
                "kind: `ConfigMap` (`v1`) is not a definition osp converts",
            ),
            ("no kind", serde_json::json!({}), "kind: missing"),
        ];
        for (reason, doc, want) in cases {
            let got = crate::definition::for_document(&doc)
                .expect_err(reason)
                .to_string();
            assert!(got.starts_with(want), "{reason}: {got}");
            assert!(
                got.contains("`CompositeResourceDefinition` (apiextensions.crossplane.io/v2, v1)"),
                "{reason}: lists what would do: {got}"
            );
        }
    }
}
