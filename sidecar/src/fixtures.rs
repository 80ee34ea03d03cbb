//! The shared test fixtures of `tests/fixtures/` (see its README), and a
//! small builder so a test states its deliberate difference from one.
use std::sync::Arc;

use osp::convert::Converted;
use serde_json::Value;

/// `tests/fixtures/xrd-v1-claimable.yaml`.
pub(crate) const XRD_V1_CLAIMABLE: &str =
    include_str!("../../tests/fixtures/xrd-v1-claimable.yaml");

/// `tests/fixtures/xrd-v2-namespaced.yaml`.
pub(crate) const XRD_V2_NAMESPACED: &str =
    include_str!("../../tests/fixtures/xrd-v2-namespaced.yaml");

/// A fixture document, changed step by step.
#[derive(Debug, Clone)]
pub(crate) struct Fixture(Value);

/// The v1 XRD with a claim kind (`xdbs.example.org`).
pub(crate) fn xrd_v1() -> Fixture {
    Fixture::parse(XRD_V1_CLAIMABLE)
}

/// The v2 XRD with a namespaced XR (`xapps.example.org`).
pub(crate) fn xrd_v2() -> Fixture {
    Fixture::parse(XRD_V2_NAMESPACED)
}

impl Fixture {
    fn parse(yaml: &str) -> Self {
        Self(osp::document::from_yaml(yaml, Default::default()).expect("fixture parses"))
    }

    /// Another XR: plural `plural`, kind `kind`, named `plural.group` as
    /// Crossplane requires.
    pub(crate) fn named(mut self, plural: &str, kind: &str) -> Self {
        let group = self.0["spec"]["group"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.0["metadata"]["name"] = format!("{plural}.{group}").into();
        self.0["spec"]["names"] = serde_json::json!({"kind": kind, "plural": plural});
        self
    }

    /// Another claim kind: plural `plural`, kind `kind`.
    pub(crate) fn claimed(mut self, plural: &str, kind: &str) -> Self {
        self.0["spec"]["claimNames"] = serde_json::json!({"kind": kind, "plural": plural});
        self
    }

    /// With one more annotation.
    pub(crate) fn annotated(mut self, key: &str, value: &str) -> Self {
        self.0["metadata"]["annotations"][key] = value.into();
        self
    }

    /// The document as text (JSON, which every YAML reader reads).
    pub(crate) fn yaml(&self) -> String {
        self.0.to_string()
    }

    /// The definition as the core reads it.
    pub(crate) fn definition(&self) -> osp::definition::Definition {
        osp::definition::for_document(&self.0).expect("fixture is a definition")
    }

    /// The definition as the store holds it, from `cluster`.
    pub(crate) fn known(&self, cluster: &str) -> crate::store::Known {
        crate::store::Known {
            cluster: cluster.into(),
            file: None,
            converted: self.converted(),
        }
    }

    /// The converted entities.
    pub(crate) fn converted(&self) -> Arc<Converted> {
        Arc::new(osp::convert::for_entities(&self.0).expect("fixture converts"))
    }
}
