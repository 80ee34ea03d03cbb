//! A normalised view of the objects platform teams publish APIs with:
//! Crossplane XRDs (v1 and v2), and, through their own modules, KRO RGDs and
//! Kratix Promises. Every converter downstream works on [`Definition`] only.
use std::collections::BTreeMap;

use serde_json::Value;

pub mod compositions;
pub mod kinds;
mod machinery;
mod promise;
mod rgd;
mod xrd;

pub use machinery::{DELETE_POLICIES, UPDATE_POLICIES};

/// What published the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// `apiextensions.crossplane.io/v1` XRD.
    XrdV1,
    /// `apiextensions.crossplane.io/v2` XRD.
    XrdV2,
    /// KRO `ResourceGraphDefinition`.
    Rgd,
    /// Kratix `Promise`.
    Promise,
}

/// Scope of the kind users create, in Crossplane's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// v2 namespaced XR.
    Namespaced,
    /// v2 cluster-scoped XR (no claims, no `spec.claimRef`).
    Cluster,
    /// v1-style cluster-scoped XR that may be claimed.
    LegacyCluster,
}

/// Kind and plural of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `kind`, e.g. `PostgreSQLInstance`.
    pub kind: String,
    /// `plural`, e.g. `postgresqlinstances`.
    pub plural: String,
}

/// One definition, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// Where it came from.
    pub source: Source,
    /// `metadata.name` of the definition object.
    pub name: String,
    /// API group of the XR/claim.
    pub group: String,
    /// The version users create (Crossplane's referenceable version).
    pub version: String,
    /// Every served version, in the definition's order (`version` among them).
    pub versions: Vec<String>,
    /// Whether that version is marked deprecated.
    pub deprecated: bool,
    /// XR names.
    pub names: Names,
    /// Claim names, when the XRD offers a claim.
    pub claim_names: Option<Names>,
    /// Scope of the XR.
    pub scope: Scope,
    /// The version's `openAPIV3Schema` (an object schema), or `{}`.
    pub schema: Value,
    /// `metadata.annotations` of the definition.
    pub annotations: BTreeMap<String, String>,
    /// `metadata.labels` of the definition.
    pub labels: BTreeMap<String, String>,
    /// `spec.defaultCompositionRef.name`.
    pub default_composition: Option<String>,
    /// `spec.defaultCompositionUpdatePolicy`.
    pub default_update_policy: Option<String>,
    /// `spec.connectionSecretKeys`.
    pub connection_secret_keys: Vec<String>,
}

impl Definition {
    /// Kind users create: the claim when offered, else the XR.
    pub fn target(&self) -> &Names {
        self.claim_names.as_ref().unwrap_or(&self.names)
    }

    /// True when users create a claim rather than an XR.
    pub fn is_claim(&self) -> bool {
        self.claim_names.is_some()
    }

    /// True when the kind users create lives in a namespace.
    pub fn is_namespaced(&self) -> bool {
        self.is_claim() || self.scope == Scope::Namespaced
    }

    /// `apiVersion` of the kind users create.
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// The kinds of object this definition offers: its XR (or KRO
    /// instance), its claim, and a Promise's resource kind when that differs.
    pub fn group_kinds(&self) -> Vec<kinds::GroupKind> {
        let mut out = vec![kinds::GroupKind::new(&self.group, &self.names.kind)];
        if let Some(c) = &self.claim_names {
            out.push(kinds::GroupKind::new(&self.group, &c.kind));
        }
        if self.source == Source::Promise && self.target().kind != self.names.kind {
            out.push(kinds::GroupKind::new(&self.group, &self.target().kind));
        }
        out
    }

    /// The XR kind, when this is a Crossplane XRD (what nested XRs and
    /// claims refer to).
    pub fn composite(&self) -> Option<kinds::GroupKind> {
        matches!(self.source, Source::XrdV1 | Source::XrdV2)
            .then(|| kinds::GroupKind::new(&self.group, &self.names.kind))
    }
}

/// Errors from reading a definition. `path` is a schema/document path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The document is not a kind we convert.
    #[error("{}", unsupported(api_version, kind))]
    UnsupportedKind { api_version: String, kind: String },
    /// A required field is missing or empty.
    #[error("{path}: required field is missing")]
    Missing { path: String },
    /// A field has the wrong shape or value.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// No version can be offered to users.
    #[error("{path}: no served version to generate from")]
    NoServedVersion { path: String },
    /// The definition offers no API users could request (a Kratix Promise
    /// without `spec.api`).
    #[error("{path}: {reason}")]
    NoApi { path: String, reason: String },
}

impl Error {
    /// The document path the error points at, when it has one.
    pub fn path(&self) -> &str {
        match self {
            Error::UnsupportedKind { .. } => "kind",
            Error::Missing { path } | Error::Invalid { path, .. } => path,
            Error::NoServedVersion { path } | Error::NoApi { path, .. } => path,
        }
    }
}

/// Which field is wrong and what would be right: the kinds we read, from
/// the one table of kinds.
fn unsupported(api_version: &str, kind: &str) -> String {
    let expected: Vec<String> = kinds::KINDS
        .iter()
        .filter(|k| k.is_definition())
        .map(|k| format!("`{}` ({}/{})", k.kind, k.group, k.versions.join(", ")))
        .collect();
    let expected = expected.join(", ");
    match (api_version.trim(), kind.trim()) {
        (_, "") => format!("kind: missing; expected one of {expected}"),
        ("", k) => format!("apiVersion: missing for kind `{k}`; expected one of {expected}"),
        (a, k)
            if kinds::KINDS
                .iter()
                .any(|d| d.is_definition() && d.kind == k) =>
        {
            format!(
                "apiVersion: `{a}` is not an API osp reads for kind `{k}`; expected one of {expected}"
            )
        }
        (a, k) => format!(
            "kind: `{k}` (`{a}`) is not a definition osp converts; expected one of {expected}"
        ),
    }
}

/// Reads any supported definition document; its schema is copied.
pub fn for_document(doc: &Value) -> Result<Definition, Error> {
    read(doc).map(|found| found.copied(doc))
}

/// Like [`for_document`], consuming the document: its schema is moved into
/// the definition instead of copied (issue 18: the copy was about a tenth of
/// a conversion).
pub fn from_document(mut doc: Value) -> Result<Definition, Error> {
    let found = read(&doc)?;
    Ok(found.moved(&mut doc))
}

fn read(doc: &Value) -> Result<Found, Error> {
    match kinds::source_kind(doc).map(|k| k.role) {
        Some(kinds::Role::Definition(read)) => read(doc),
        _ => Err(Error::UnsupportedKind {
            api_version: str_at(doc, "apiVersion").unwrap_or_default().to_string(),
            kind: str_at(doc, "kind").unwrap_or_default().to_string(),
        }),
    }
}

/// What a reader found in a document: the definition, with its schema
/// still in the document (XRDs, Promises), for the caller to copy or move
/// out, or already built (RGDs).
#[derive(Debug)]
pub struct Found {
    definition: Definition,
    /// JSON pointer to the schema in the document; `None` when built.
    schema_at: Option<String>,
}

impl Found {
    pub(crate) fn built(definition: Definition) -> Self {
        Self {
            definition,
            schema_at: None,
        }
    }

    pub(crate) fn at(definition: Definition, pointer: String) -> Self {
        Self {
            definition,
            schema_at: Some(pointer),
        }
    }

    /// The definition, its schema copied from `doc`.
    pub fn copied(self, doc: &Value) -> Definition {
        self.place(|p| doc.pointer(p).cloned())
    }

    /// The definition, its schema moved out of `doc`.
    pub fn moved(self, doc: &mut Value) -> Definition {
        self.place(|p| doc.pointer_mut(p).map(Value::take))
    }

    fn place(mut self, schema: impl FnOnce(&str) -> Option<Value>) -> Definition {
        if let Some(p) = &self.schema_at {
            // Absent: an empty object schema (checked by `offered_version`).
            self.definition.schema = schema(p).unwrap_or_else(|| Value::Object(Default::default()));
        }
        self.definition
    }
}

/// The version a definition is generated from.
pub(crate) struct OfferedVersion<'a> {
    pub(crate) name: &'a str,
    /// Names of every served version, in order.
    pub(crate) served: Vec<String>,
    pub(crate) deprecated: bool,
    /// JSON pointer to its schema, for [`Found::at`].
    pub(crate) schema_at: String,
}

/// Picks the served version marked `preferred` (`referenceable` for XRDs,
/// `storage` for Kratix's CRD-shaped versions), else the first served one,
/// and reads its schema. `path` is where `versions` sits, for errors.
pub(crate) fn offered_version<'a>(
    spec: &'a Value,
    path: &str,
    preferred: &str,
) -> Result<OfferedVersion<'a>, Error> {
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Missing {
            path: path.to_string(),
        })?;
    let (index, version) = versions
        .iter()
        .enumerate()
        .find(|(_, v)| flag(v, preferred) && flag(v, "served"))
        .or_else(|| versions.iter().enumerate().find(|(_, v)| flag(v, "served")))
        .ok_or_else(|| Error::NoServedVersion {
            path: path.to_string(),
        })?;
    let name = str_at(version, "name")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::Missing {
            path: format!("{path}[{index}].name"),
        })?;
    let schema = version.pointer("/schema/openAPIV3Schema");
    if schema.is_some_and(|s| !s.is_object()) {
        return Err(Error::Invalid {
            path: format!("{path}[{index}].schema.openAPIV3Schema"),
            message: "must be an object schema".into(),
        });
    }
    let served = versions
        .iter()
        .filter(|v| flag(v, "served"))
        .filter_map(|v| str_at(v, "name").map(str::to_string))
        .collect();
    Ok(OfferedVersion {
        name,
        served,
        deprecated: flag(version, "deprecated"),
        schema_at: format!("/{}/{index}/schema/openAPIV3Schema", path.replace('.', "/")),
    })
}

/// A boolean field, `false` when unset.
pub(crate) fn flag(v: &Value, key: &str) -> bool {
    v.as_object().is_some_and(|m| crate::value::flag(m, key))
}

pub(crate) fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(crate) fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}
