//! Backstage-side files: values for the official Helm chart (only the keys
//! we set, all of which exist in the chart's values.yaml) and our app-config.
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmValues {
    pub service_account: HelmServiceAccount,
    pub backstage: HelmBackstage,
    #[serde(default)]
    pub extra_deploy: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmServiceAccount {
    pub create: bool,
    pub name: String,
}

/// Lists stay `Value` here and are parsed strictly into k8s-openapi types.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmBackstage {
    #[serde(default)]
    pub extra_volume_mounts: Vec<Value>,
    #[serde(default)]
    pub extra_containers: Vec<Value>,
    #[serde(default)]
    pub extra_volumes: Vec<Value>,
    pub pdb: Option<HelmPdb>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmPdb {
    pub create: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub osp: OspConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OspConfig {
    pub sidecar: SidecarConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SidecarConfig {
    pub address: String,
    pub token_file: String,
}
