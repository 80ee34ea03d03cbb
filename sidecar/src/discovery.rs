//! Catalog sources: the `--from-dir` directory (rescanned every second) and,
//! with `clusters` configured, kube-runtime watchers per cluster. Each
//! source fills the definitions [`crate::store::Store`] and reports its
//! objects and freshness to the [`Catalog`].
pub mod cluster;
pub mod dir;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::catalog::{Catalog, DEFAULT_SYNC_TIMEOUT, Settings};
use crate::config::Config;
use crate::store::FROM_DIR_CLUSTER;

/// How often `--from-dir` is checked for changes: a check only lists the
/// files and compares their times and sizes.
pub const DIR_INTERVAL: Duration = Duration::from_millis(250);

/// Errors that prevent a source from starting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The definitions directory could not be read.
    #[error("cannot read definitions directory `{dir}`: {source}")]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// The `catalog:` section of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogConfig {
    /// Clusters to watch, in lookup order.
    #[serde(default)]
    pub clusters: Vec<ClusterSource>,
    /// Owner of Resources whose object has no `osp.dev/owner` annotation
    /// [default: the Template's owner].
    #[serde(default)]
    pub default_owner: Option<String>,
    /// How long to wait for every cluster's first sync before serving the
    /// synced ones, in milliseconds [default: 60000].
    #[serde(default)]
    pub sync_timeout_ms: Option<u64>,
    /// See [`crate::config::ServeArgs::app_base_url`].
    #[serde(default)]
    pub app_base_url: Option<String>,
}

/// One watched cluster.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSource {
    /// Name used in entities (`osp.dev/cluster`) and in ClusterState.
    pub name: String,
    /// Kubeconfig file; `KUBECONFIG` or `~/.kube/config` when unset.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// Context in the kubeconfig; its current context when unset.
    #[serde(default)]
    pub context: Option<String>,
    /// Use the pod's service account instead of a kubeconfig.
    #[serde(default)]
    pub in_cluster: bool,
}

impl CatalogConfig {
    /// The file section plus the `--kubeconfig` / `--context` flags: each
    /// context becomes a cluster of the same name; `--kubeconfig` alone adds
    /// its current context as cluster `default`.
    pub fn with_flags(mut self, kubeconfig: Option<&Path>, contexts: &[String]) -> Self {
        let mut add = |name: &str, context: Option<String>| {
            if !self.clusters.iter().any(|c| c.name == name) {
                self.clusters.push(ClusterSource {
                    name: name.to_string(),
                    kubeconfig: kubeconfig.map(Path::to_path_buf),
                    context,
                    in_cluster: false,
                });
            }
        };
        if contexts.is_empty() {
            if kubeconfig.is_some() {
                add("default", None);
            }
        } else {
            for c in contexts {
                add(c, Some(c.clone()));
            }
        }
        self
    }
}

/// The catalog settings the configuration asks for.
pub fn settings(config: &Config) -> Settings {
    let mut clusters = Vec::new();
    if config.from_dir.is_some() {
        clusters.push(FROM_DIR_CLUSTER.to_string());
    }
    clusters.extend(config.catalog.clusters.iter().map(|c| c.name.clone()));
    Settings {
        clusters,
        sync_timeout: config
            .catalog
            .sync_timeout_ms
            .map_or(DEFAULT_SYNC_TIMEOUT, Duration::from_millis),
        default_owner: config.catalog.default_owner.clone(),
        app_base_url: config.app_base_url.clone(),
    }
}

/// Configures the catalog, loads `--from-dir` once (so definitions are
/// known when this returns), then starts the watchers and the catalog
/// builder in the background. Returns the number of definitions loaded from
/// the directory.
pub async fn start(config: &Config, catalog: &Catalog) -> Result<usize, Error> {
    catalog.configure(settings(config));
    let mut loaded = 0;
    if let Some(d) = config.from_dir.clone() {
        let c = catalog.clone();
        let mut scanner = dir::Scanner::new(d.clone(), config.document_limits);
        let (scanner, scanned) = tokio::task::spawn_blocking(move || {
            let n = scanner.scan(&c);
            (scanner, n)
        })
        .await
        .map_err(|e| Error::ReadDir {
            dir: d.clone(),
            source: std::io::Error::other(e),
        })?;
        loaded = scanned.map_err(|source| Error::ReadDir {
            dir: d.clone(),
            source,
        })?;
        tokio::spawn(dir::watch(scanner, catalog.clone(), DIR_INTERVAL));
    }
    for cluster in &config.catalog.clusters {
        tokio::spawn(cluster::run(cluster.clone(), catalog.clone()));
    }
    tokio::spawn(catalog.clone().run());
    Ok(loaded)
}
