//! Catalog sources: the `--from-dir` directory (rescanned every second) and,
//! with `clusters` configured, kube-runtime watchers per cluster. Each
//! source fills the definitions [`crate::store::Store`] and reports its
//! objects and freshness to the [`Catalog`].
pub mod dir;

use std::path::PathBuf;
use std::time::Duration;

use crate::catalog::{Catalog, Settings};
use crate::config::Config;
use crate::store::FROM_DIR_CLUSTER;

/// How often `--from-dir` is checked for changes.
pub const DIR_INTERVAL: Duration = Duration::from_secs(1);

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

/// The catalog settings the configuration asks for.
pub fn settings(config: &Config) -> Settings {
    let mut clusters = Vec::new();
    if config.from_dir.is_some() {
        clusters.push(FROM_DIR_CLUSTER.to_string());
    }
    Settings {
        clusters,
        ..Settings::default()
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
        let (c, dir) = (catalog.clone(), d.clone());
        loaded = tokio::task::spawn_blocking(move || dir::scan(&dir, &c))
            .await
            .map_err(|e| Error::ReadDir {
                dir: d.clone(),
                source: std::io::Error::other(e),
            })?
            .map_err(|source| Error::ReadDir {
                dir: d.clone(),
                source,
            })?;
        tokio::spawn(dir::watch(d, catalog.clone(), DIR_INTERVAL));
    }
    tokio::spawn(catalog.clone().run());
    Ok(loaded)
}
