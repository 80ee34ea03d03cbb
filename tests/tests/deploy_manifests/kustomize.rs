//! The subset of kustomize's `Kustomization`/`Component` we use, with unknown
//! fields rejected so a misspelt key fails here rather than being ignored.
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kustomization {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    /// Inline transformer configs (YAML strings).
    #[serde(default)]
    pub transformers: Vec<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    pub path: Option<String>,
    pub target: Option<Target>,
}

// Fields exist so that `deny_unknown_fields` accepts them; few are read.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
}

/// kustomize's builtin `NamespaceTransformer` config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceTransformer {
    pub api_version: String,
    pub kind: String,
    pub metadata: TransformerMeta,
    pub unset_only: bool,
    pub set_role_binding_subjects: RoleBindingSubjects,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerMeta {
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum RoleBindingSubjects {
    DefaultOnly,
    AllServiceAccounts,
    None,
}

impl Kustomization {
    /// Checks the kind/apiVersion pair kustomize accepts.
    pub fn validate(&self) -> anyhow::Result<()> {
        match (self.api_version.as_str(), self.kind.as_str()) {
            ("kustomize.config.k8s.io/v1beta1", "Kustomization")
            | ("kustomize.config.k8s.io/v1alpha1", "Component") => Ok(()),
            (a, k) => anyhow::bail!("unexpected kustomization `{a}` `{k}`"),
        }
    }
}
