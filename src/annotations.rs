//! Customisation of generated entities through annotations on the
//! definition. Our own prefix is `osp.dev/`; the dialects of two existing
//! tools are accepted so users can switch without editing their XRDs:
//! `terasky.backstage.io/*` (plus `x-ui-*` keywords in the schema, handled
//! by the form mapping) and `backstage.io/title|description|owner|lifecycle`
//! plus `openportal.dev/tags`. `docs/templates.md` is the reference.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::definition::Definition;
use crate::document;
use crate::warning::Warning;

/// Our annotation prefix.
pub const PREFIX: &str = "osp.dev/";
/// TeraSky's default prefix.
pub const TERASKY: &str = "terasky.backstage.io/";

/// Keys naming an owner entity ref, first match wins: ours, Backstage's
/// own, TeraSky's. Read on definitions and on claims and XRs alike.
pub const OWNER_KEYS: [&str; 3] = [
    "osp.dev/owner",
    "backstage.io/owner",
    "terasky.backstage.io/owner",
];

/// Keys naming a System entity ref (`spec.system` of APIs and Resources),
/// first match wins.
pub const SYSTEM_KEYS: [&str; 2] = ["osp.dev/system", "terasky.backstage.io/system"];

/// Where a published claim lives: its repository (RepoUrlPicker's form), its
/// path there and its idempotency key. Render writes them when it knows the
/// repository; the Resource carries them, so the claim can be deleted by a
/// pull request from Backstage.
pub const REPO_URL: &str = "osp.dev/repo-url";
/// See [`REPO_URL`].
pub const REPO_PATH: &str = "osp.dev/repo-path";
/// See [`REPO_URL`].
pub const IDEMPOTENCY_KEY: &str = "osp.dev/idempotency-key";
/// The three, in the order above.
pub const SOURCE_KEYS: [&str; 3] = [REPO_URL, REPO_PATH, IDEMPOTENCY_KEY];

/// Which catalog entities a definition gets (`osp.dev/catalog`, or the
/// operator's `catalog.definitions`). Ordered from least to most listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatalogMode {
    /// Neither (`none`; TeraSky's `exclude-from-catalog: "true"`); its
    /// claims and XRs still become Resources.
    None,
    /// The API only, nobody creates it from Backstage (`api-only`).
    ApiOnly,
    /// A Template and an API (`full`).
    #[default]
    Full,
}

impl CatalogMode {
    /// The mode an `osp.dev/catalog` value names.
    fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "full" => Some(Self::Full),
            "api-only" => Some(Self::ApiOnly),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// Whether the definition gets a Template.
    pub fn has_template(self) -> bool {
        self == Self::Full
    }

    /// Whether the definition gets an API.
    pub fn has_api(self) -> bool {
        self != Self::None
    }
}

/// Everything annotations can change. Field paths are data paths starting
/// at `spec` (`spec.parameters.region`; `spec.items[].name` inside arrays).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Customisation {
    /// Template title.
    pub title: Option<String>,
    /// Template description.
    pub description: Option<String>,
    /// Owner entity ref of the Template and API.
    pub owner: Option<String>,
    /// Lifecycle of the API entity.
    pub lifecycle: Option<String>,
    /// System the API belongs to (`spec.system`).
    pub system: Option<String>,
    /// Which catalog entities the definition gets.
    pub catalog: CatalogMode,
    /// Extra tags.
    pub tags: Vec<String>,
    /// Icon name shown with the template.
    pub icon: Option<String>,
    /// `backstage.io/techdocs-ref` to copy onto the Template.
    pub techdocs_ref: Option<String>,
    /// Fields left out of the form.
    pub hidden: BTreeSet<String>,
    /// Fields moved to the advanced page.
    pub advanced: BTreeSet<String>,
    /// Fields shown first, in this order, within their object.
    pub order: Vec<String>,
    /// `ui:*` overrides per field.
    pub ui: BTreeMap<String, Map<String, Value>>,
    /// Extra pages: title and the fields they hold, in order.
    pub pages: Vec<(String, Vec<String>)>,
    /// Target repository (`github.com?owner=o&repo=r`); no picker then.
    pub repo_url: Option<String>,
    /// Path of the manifest in the repository (may use `${{ parameters.* }}`).
    pub target_path: Option<String>,
    /// Keep the `kustomization.yaml` beside the manifest up to date.
    pub kustomization: bool,
}

/// Annotations keyed by name (the definition's `metadata.annotations`).
type Annotations = BTreeMap<String, String>;

/// Reads the customisation of a definition; malformed values become
/// warnings, never errors, so one typo does not hide a service.
pub fn for_customisation(def: &Definition) -> (Customisation, Vec<Warning>) {
    let a = &def.annotations;
    let mut warnings = Vec::new();
    let mut c = Customisation {
        title: text(
            a,
            &[
                "osp.dev/title",
                "backstage.io/title",
                "terasky.backstage.io/title",
            ],
        ),
        description: text(
            a,
            &[
                "osp.dev/description",
                "backstage.io/description",
                "terasky.backstage.io/description",
            ],
        ),
        owner: text(a, &OWNER_KEYS),
        system: text(a, &SYSTEM_KEYS),
        lifecycle: text(
            a,
            &[
                "osp.dev/lifecycle",
                "backstage.io/lifecycle",
                "terasky.backstage.io/lifecycle",
            ],
        ),
        icon: text(a, &["osp.dev/icon"]),
        techdocs_ref: text(a, &["backstage.io/techdocs-ref"]),
        target_path: text(
            a,
            &["osp.dev/target-path", "terasky.backstage.io/target-path"],
        ),
        repo_url: text(a, &["osp.dev/repo-url"]).or_else(|| gitops_repo_url(a)),
        tags: tags(a),
        hidden: paths(a.get("osp.dev/hidden")).collect(),
        advanced: paths(a.get("osp.dev/advanced")).collect(),
        order: paths(a.get("osp.dev/order")).collect(),
        ..Default::default()
    };
    if let Some(raw) = a.get("osp.dev/ui") {
        c.ui = ui_overrides(raw, &mut warnings);
    }
    if let Some(raw) = a.get("osp.dev/pages") {
        c.pages = pages(raw, &mut warnings);
    }
    c.catalog = catalog_mode(a, &mut warnings);
    c.kustomization = switch(
        a,
        &[
            "osp.dev/kustomization",
            "terasky.backstage.io/create-kustomization-file",
        ],
        &mut warnings,
    );
    (c, warnings)
}

/// The first of `keys` that is set, trimmed; blank counts as unset.
fn text(a: &Annotations, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| a.get(*k))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Comma-separated tags of ours and open-service-portal's, once each.
fn tags(a: &Annotations) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for key in ["osp.dev/tags", "openportal.dev/tags"] {
        for t in a.get(key).into_iter().flat_map(|v| v.split(',')) {
            let t = t.trim();
            if !t.is_empty() && !tags.iter().any(|x| x == t) {
                tags.push(t.to_string());
            }
        }
    }
    tags
}

/// open-service-portal's per-XRD GitOps target.
fn gitops_repo_url(a: &Annotations) -> Option<String> {
    let owner = text(a, &["openportal.dev/parameter.gitopsOwner"])?;
    let repo = text(a, &["openportal.dev/parameter.gitopsRepo"])?;
    Some(format!("github.com?owner={owner}&repo={repo}"))
}

/// `osp.dev/ui`: field path → `ui:*` options (the `ui:` prefix optional).
fn ui_overrides(raw: &str, warnings: &mut Vec<Warning>) -> BTreeMap<String, Map<String, Value>> {
    let mut out = BTreeMap::new();
    let Some(m) = mapping(raw) else {
        warnings.push(warning(
            "osp.dev/ui",
            "must be a YAML or JSON mapping of field paths to `ui:*` options".into(),
        ));
        return out;
    };
    for (path, v) in m {
        let Value::Object(ui) = v else {
            warnings.push(warning(
                "osp.dev/ui",
                format!("`{path}` must map to an object of `ui:*` options"),
            ));
            continue;
        };
        let ui = ui
            .into_iter()
            .map(|(k, v)| match k.starts_with("ui:") {
                true => (k, v),
                false => (format!("ui:{k}"), v),
            })
            .collect();
        out.insert(spec_path(&path), ui);
    }
    out
}

/// `osp.dev/pages`: page title → the fields it holds, in order.
fn pages(raw: &str, warnings: &mut Vec<Warning>) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let Some(m) = mapping(raw) else {
        warnings.push(warning(
            "osp.dev/pages",
            "must be a YAML or JSON mapping of page titles to field lists".into(),
        ));
        return out;
    };
    for (title, fields) in m {
        let fields: Vec<String> = match fields {
            Value::Array(f) => f.iter().filter_map(Value::as_str).map(spec_path).collect(),
            Value::String(s) => paths(Some(&s)).collect(),
            _ => Vec::new(),
        };
        if fields.is_empty() {
            warnings.push(warning(
                "osp.dev/pages",
                format!("page `{title}` lists no fields"),
            ));
        } else {
            out.push((title, fields));
        }
    }
    out
}

fn mapping(raw: &str) -> Option<Map<String, Value>> {
    match document::from_yaml(raw, document::Limits::default()) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// Comma- or newline-separated field paths.
fn paths(v: Option<&String>) -> impl Iterator<Item = String> + '_ {
    v.into_iter()
        .flat_map(|s| s.split([',', '\n']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(spec_path)
}

/// Paths may be written with or without the leading `spec.`.
pub fn spec_path(p: &str) -> String {
    let p = p.trim();
    if p == "spec" || p.starts_with("spec.") {
        p.to_string()
    } else {
        format!("spec.{p}")
    }
}

/// `osp.dev/catalog`, else TeraSky's `exclude-from-catalog`; a value of
/// neither's vocabulary is a warning and the default.
fn catalog_mode(a: &Annotations, warnings: &mut Vec<Warning>) -> CatalogMode {
    const KEY: &str = "osp.dev/catalog";
    const EXCLUDE: &str = "terasky.backstage.io/exclude-from-catalog";
    if let Some(raw) = a.get(KEY) {
        return CatalogMode::parse(raw).unwrap_or_else(|| {
            warnings.push(warning(
                KEY,
                format!(
                    "unknown value `{}`: expected `full`, `api-only` or `none`; using `full`",
                    raw.trim()
                ),
            ));
            CatalogMode::Full
        });
    }
    match a.get(EXCLUDE).map(|v| v.trim()) {
        Some("true") => CatalogMode::None,
        Some("false") | None => CatalogMode::Full,
        Some(other) => {
            warnings.push(warning(
                EXCLUDE,
                format!("unknown value `{other}`: expected `true` or `false`; the definition stays in the catalog"),
            ));
            CatalogMode::Full
        }
    }
}

/// A `"true"`/`"false"` switch, the first of `keys` set; off when unset,
/// and another value is a warning naming the key, and off.
fn switch(a: &Annotations, keys: &[&str], warnings: &mut Vec<Warning>) -> bool {
    let Some((key, raw)) = keys.iter().find_map(|k| a.get(*k).map(|v| (*k, v.trim()))) else {
        return false;
    };
    match raw {
        "true" => true,
        "false" => false,
        other => {
            warnings.push(warning(
                key,
                format!("unknown value `{other}`: expected `true` or `false`; using `false`"),
            ));
            false
        }
    }
}

fn warning(annotation: &str, message: String) -> Warning {
    Warning {
        path: format!("metadata.annotations.{annotation}"),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::for_document;
    use serde_json::json;

    fn def(annotations: Value) -> Definition {
        for_document(&json!({
            "apiVersion": "apiextensions.crossplane.io/v2", "kind": "CompositeResourceDefinition",
            "metadata": {"name": "xapps.example.org", "annotations": annotations},
            "spec": {"group": "example.org", "names": {"kind": "XApp", "plural": "xapps"},
                     "versions": [{"name": "v1", "served": true, "referenceable": true}]}}))
        .expect("valid xrd")
    }

    #[test]
    fn dialects_and_precedence() {
        struct Case {
            reason: &'static str,
            annotations: Value,
            check: fn(&Customisation) -> bool,
        }
        let cases = [
            Case {
                reason: "our prefix wins over backstage.io",
                annotations: json!({"osp.dev/title": "Ours", "backstage.io/title": "Theirs"}),
                check: |c| c.title.as_deref() == Some("Ours"),
            },
            Case {
                reason: "open-service-portal tags and gitops target are read",
                annotations: json!({"openportal.dev/tags": "db, aws", "openportal.dev/parameter.gitopsOwner": "o",
                                    "openportal.dev/parameter.gitopsRepo": "r"}),
                check: |c| {
                    c.tags == ["db", "aws"]
                        && c.repo_url.as_deref() == Some("github.com?owner=o&repo=r")
                },
            },
            Case {
                reason: "owner and system in TeraSky's dialect",
                annotations: json!({"terasky.backstage.io/owner": "group:default/dbas",
                                    "terasky.backstage.io/system": "system:default/data"}),
                check: |c| {
                    c.owner.as_deref() == Some("group:default/dbas")
                        && c.system.as_deref() == Some("system:default/data")
                },
            },
            Case {
                reason: "an API-only definition",
                annotations: json!({"osp.dev/catalog": "api-only"}),
                check: |c| c.catalog == CatalogMode::ApiOnly,
            },
            Case {
                reason: "TeraSky's opt-out leaves the definition out of the catalog",
                annotations: json!({"terasky.backstage.io/exclude-from-catalog": "true"}),
                check: |c| c.catalog == CatalogMode::None,
            },
            Case {
                reason: "ours wins over TeraSky's opt-out",
                annotations: json!({"osp.dev/catalog": "full", "terasky.backstage.io/exclude-from-catalog": "true"}),
                check: |c| c.catalog == CatalogMode::Full,
            },
            Case {
                reason: "kustomization upkeep, ours",
                annotations: json!({"osp.dev/kustomization": "true"}),
                check: |c| c.kustomization,
            },
            Case {
                reason: "kustomization upkeep in TeraSky's dialect",
                annotations: json!({"terasky.backstage.io/create-kustomization-file": " true "}),
                check: |c| c.kustomization,
            },
            Case {
                reason: "ours wins: kustomization upkeep turned off",
                annotations: json!({"osp.dev/kustomization": "false",
                                    "terasky.backstage.io/create-kustomization-file": "true"}),
                check: |c| !c.kustomization,
            },
            Case {
                reason: "terasky target path",
                annotations: json!({"terasky.backstage.io/target-path": "claims/app.yaml"}),
                check: |c| c.target_path.as_deref() == Some("claims/app.yaml"),
            },
            Case {
                reason: "paths get a spec prefix and ui keys a ui: prefix",
                annotations: json!({"osp.dev/hidden": "a, spec.b", "osp.dev/ui": "a: {widget: textarea}",
                                    "osp.dev/pages": "Network: [vpc, subnet]"}),
                check: |c| {
                    c.hidden.contains("spec.a")
                        && c.hidden.contains("spec.b")
                        && c.ui["spec.a"]["ui:widget"] == "textarea"
                        && c.pages
                            == [(
                                "Network".to_string(),
                                vec!["spec.vpc".to_string(), "spec.subnet".to_string()],
                            )]
                },
            },
        ];
        for c in cases {
            let (got, warnings) = for_customisation(&def(c.annotations));
            assert!((c.check)(&got), "{}: {got:?}", c.reason);
            assert!(warnings.is_empty(), "{}: {warnings:?}", c.reason);
        }
        let (_, warnings) = for_customisation(&def(json!({"osp.dev/ui": "[1, 2]"})));
        assert_eq!(warnings.len(), 1, "a malformed ui map is a warning");
        for (annotations, key) in [
            (json!({"osp.dev/catalog": "API"}), "osp.dev/catalog"),
            (
                json!({"terasky.backstage.io/exclude-from-catalog": "yes"}),
                "terasky.backstage.io/exclude-from-catalog",
            ),
            (
                json!({"terasky.backstage.io/create-kustomization-file": "yes"}),
                "terasky.backstage.io/create-kustomization-file",
            ),
        ] {
            let (got, warnings) = for_customisation(&def(annotations));
            assert_eq!(
                got.catalog,
                CatalogMode::Full,
                "an unknown mode keeps the default"
            );
            assert!(!got.kustomization, "and upkeep stays off");
            assert_eq!(warnings.len(), 1, "and is one warning");
            assert_eq!(
                warnings[0].path,
                format!("metadata.annotations.{key}"),
                "naming the key"
            );
        }
    }
}
