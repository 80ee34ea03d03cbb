//! `for_claim`: a [`Definition`] plus form values becomes the claim or XR
//! manifest users create, validated the way the API server (and Crossplane)
//! would validate it, with every violation reported at once.
//!
//! The manifest is built as a `serde_json::Value` and serialised, never
//! templated as text, so no form value can inject YAML.
use std::collections::BTreeMap;

use serde_json::Value;

use crate::definition::Definition;
use crate::document;

mod coerce;
mod composition;
mod defaults;
mod metadata;
mod path;
mod render;
mod schema;
mod validate;

pub use path::{entity_ref, idempotency_key, repository_path};

/// Label every rendered manifest carries.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "osp";
/// Annotation holding the owner entity ref (our prefix).
pub const OWNER_ANNOTATION: &str = "osp.dev/owner";
/// Annotation holding the owner entity ref in Backstage's own key, which the
/// gRPC contract promises and Kubernetes ingestors already read.
pub const BACKSTAGE_OWNER_ANNOTATION: &str = "backstage.io/owner";
/// Annotation holding the ref of the Template that created the manifest.
pub const TEMPLATE_ANNOTATION: &str = "osp.dev/template";
/// Annotation holding the name of the definition the manifest was rendered from.
pub const DEFINITION_ANNOTATION: &str = "osp.dev/definition";

/// Composition settings chosen on the template's advanced page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompositionChoice {
    /// `compositionRef.name`.
    pub composition_name: Option<String>,
    /// `compositionSelector.matchLabels`.
    pub composition_selector: BTreeMap<String, String>,
    /// `compositionUpdatePolicy`: `Automatic` or `Manual`.
    pub update_policy: Option<String>,
    /// `writeConnectionSecretToRef.name` (claims only).
    pub connection_secret_name: Option<String>,
    /// `compositeDeletePolicy`: `Background` or `Foreground` (claims only).
    pub composite_delete_policy: Option<String>,
}

/// What users filled in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimInput {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; required exactly when the kind is namespaced.
    pub namespace: Option<String>,
    /// The `spec` fields, as an object (`null` means none).
    pub values: Value,
    /// Owner entity ref, e.g. `group:default/team-a`.
    pub owner: Option<String>,
    /// Ref of the Template that created the claim.
    pub template_ref: Option<String>,
    /// Composition choice.
    pub composition: CompositionChoice,
    /// Target cluster name for the repository path, key and Resource ref;
    /// `default` when unset (the sidecar passes the definition's cluster).
    pub cluster: Option<String>,
    /// Repository folder the default path layout is placed under (the
    /// sidecar's `publish.base`), so the suggested path is one publishing
    /// accepts; none when unset.
    pub base: Option<String>,
    /// Repository the manifest is published to (`host?owner=o&repo=r`);
    /// when set, the manifest records it with its path and key
    /// ([`crate::annotations::SOURCE_KEYS`]).
    pub repo_url: Option<String>,
    /// The path publishing writes to, when the Template fixes one (else the
    /// suggested path).
    pub target_path: Option<String>,
}

/// A non-fatal note about input accepted with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Field path, e.g. `spec.parameters.size`.
    pub path: String,
    /// What happened.
    pub message: String,
}

/// One reason the manifest would be rejected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// Field path, e.g. `spec.parameters.storageGB` or `metadata.name`.
    pub field: String,
    /// Human-readable reason.
    pub description: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// The rendered manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The claim or XR.
    pub manifest: Value,
    /// `manifest` as a YAML document, fields in schema order.
    pub yaml: String,
    /// `manifest` as compact JSON.
    pub json: String,
    /// Suggested repository path for GitOps.
    pub path: String,
    /// Stable key for this object: `claim/{cluster}/{namespace}/{kind}/{name}`.
    pub idempotency_key: String,
    /// Ref of the `Resource` entity the catalog will list the object as
    /// ([`entity_ref`]).
    pub entity_ref: String,
    /// Notes about values accepted with a change.
    pub warnings: Vec<Warning>,
}

/// Errors from rendering a claim.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The manifest would be rejected; every violation found.
    #[error("claim is invalid: {}", summary(.0))]
    Validation(Vec<Violation>),
    /// The definition's target-path annotation is not a usable pattern.
    #[error("annotation `{annotation}`: {message}")]
    TargetPath { annotation: String, message: String },
}

fn summary(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Bounds on evaluating `x-kubernetes-validations` rules, as the API server
/// bounds rule cost: hostile rules must not stall the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CelLimits {
    /// Largest estimated cost of one rule: rule length times the longest
    /// list it may iterate, to the power of its comprehension count.
    pub max_rule_cost: f64,
    /// Wall-clock budget for all rules of one manifest.
    pub time_budget: std::time::Duration,
}

impl Default for CelLimits {
    fn default() -> Self {
        Self {
            max_rule_cost: 1e8,
            time_budget: std::time::Duration::from_millis(250),
        }
    }
}

/// Renders and validates the claim (or XR) for `def` from `input`.
pub fn for_claim(def: &Definition, input: &ClaimInput) -> Result<Rendered, Error> {
    for_claim_with(def, input, CelLimits::default())
}

/// [`for_claim`] with CEL rules bounded by `cel` instead of the defaults.
pub fn for_claim_with(
    def: &Definition,
    input: &ClaimInput,
    cel: CelLimits,
) -> Result<Rendered, Error> {
    let mut warnings = Vec::new();
    let mut violations = Vec::new();
    let spec_schema = def
        .schema
        .pointer("/properties/spec")
        .unwrap_or(&Value::Null);

    metadata::check(def, input, &mut violations);
    let values = match &input.values {
        Value::Null => Value::Object(Default::default()),
        v @ Value::Object(_) => v.clone(),
        other => {
            violations.push(Violation {
                field: "spec".into(),
                description: format!("must be an object, got `{}`", schema::type_name(other)),
            });
            Value::Object(Default::default())
        }
    };
    metadata::check_reserved(def, spec_schema, &values, &mut violations);
    let spec = render::spec(spec_schema, values, &mut warnings, &mut violations);
    let mut manifest = render::manifest(def, input, spec);
    composition::place(def, &input.composition, &mut manifest, &mut violations);
    validate::manifest(def, &manifest, cel, &mut violations, &mut warnings);

    if !violations.is_empty() {
        violations.sort();
        violations.dedup();
        return Err(Error::Validation(violations));
    }
    let path = path::repository_path(def, input)?;
    let key = path::idempotency_key(def, input);
    if let Some(repo) = metadata::given(&input.repo_url) {
        let at = metadata::given(&input.target_path).unwrap_or(&path);
        render::record_source(&mut manifest, [repo, at, &key]);
    }
    Ok(Rendered {
        yaml: document::to_yaml(&manifest),
        json: manifest.to_string(),
        idempotency_key: key,
        entity_ref: path::entity_ref(def, input),
        path,
        manifest,
        warnings,
    })
}

/// Validates an existing manifest (e.g. one read back from Git) against the
/// definition without changing it; returns every violation found.
pub fn validate(def: &Definition, manifest: &Value) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut warnings = Vec::new();
    validate::manifest(
        def,
        manifest,
        CelLimits::default(),
        &mut violations,
        &mut warnings,
    );
    violations.sort();
    violations.dedup();
    violations
}

/// True when a claim with only defaults (no user values) can be valid for
/// the definition: no required `spec` field lacks a default, at any level
/// that defaulting reaches.
pub fn defaults_only(def: &Definition) -> bool {
    let spec = def
        .schema
        .pointer("/properties/spec")
        .unwrap_or(&Value::Null);
    defaults::satisfiable(spec)
}

#[cfg(test)]
mod tests;
