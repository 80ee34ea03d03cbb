//! Catalog sources: the `--from-dir` directory (rescanned every second) and,
//! with `clusters` configured, kube-runtime watchers per cluster. Each
//! source fills the definitions [`crate::store::Store`] and reports its
//! objects and freshness to the [`Catalog`].
pub(crate) mod cluster;
pub(crate) mod dir;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::catalog::{Catalog, DEFAULT_SYNC_TIMEOUT, Settings};
use crate::clusters::{Cluster, ClusterRef};
use crate::store::FROM_DIR_CLUSTER;

/// How often `--from-dir` is checked for changes: a check only lists the
/// files and compares their times and sizes.
pub(crate) const DIR_INTERVAL: Duration = Duration::from_millis(250);

/// Errors that prevent a source from starting.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
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
    /// Clusters to watch, in lookup order, by name from the top-level
    /// `clusters:` list.
    #[serde(default)]
    pub clusters: Vec<ClusterRef>,
    /// Owner of Templates and APIs whose definition names none, and of
    /// Resources whose object has no `osp.dev/owner` annotation [default:
    /// the Template's owner, else `group:default/platform-team`].
    #[serde(default)]
    pub default_owner: Option<String>,
    /// How long to wait for every cluster's first sync before serving the
    /// synced ones, in milliseconds [default: 60000].
    #[serde(default)]
    pub sync_timeout_ms: Option<u64>,
    /// Backstage's `app.baseUrl` (flag `--app-base-url` wins).
    #[serde(default)]
    pub app_base_url: Option<String>,
    /// Annotation and label keys (or prefixes ending in `/`) copied from
    /// claims and XRs onto their Resources.
    #[serde(default)]
    pub passthrough: osp::resource::Passthrough,
    /// Which definitions get Templates and APIs: `matchLabels` and a mode
    /// per cluster (`clusterModes`), on top of each definition's own.
    #[serde(default)]
    pub definitions: osp::catalog::Listing,
    /// Annotation (else label) keys of a Namespace naming the owner and the
    /// system of the claims and XRs in it that name none, e.g.
    /// `{owner: example.org/owner}`; unset, no Namespace is read (and no
    /// RBAC for them is needed).
    #[serde(default)]
    pub namespace_keys: osp::resource::NamespaceKeys,
    /// Generated Templates end with a page showing the claim the form
    /// creates, and every violation, as the user types (needs the
    /// `@osp/plugin-osp` frontend plugin in the app) [default: false].
    #[serde(default)]
    pub claim_preview: bool,
}

/// `clusters` plus the `--kubeconfig` / `--context` flags: each context
/// becomes a cluster of the same name; `--kubeconfig` alone adds its current
/// context as cluster `default`.
pub(crate) fn with_flags(
    mut clusters: Vec<Cluster>,
    kubeconfig: Option<&Path>,
    contexts: &[String],
) -> Vec<Cluster> {
    let flagged: Vec<(String, Option<String>)> = if contexts.is_empty() {
        kubeconfig
            .map(|_| ("default".to_string(), None))
            .into_iter()
            .collect()
    } else {
        contexts
            .iter()
            .map(|c| (c.clone(), Some(c.clone())))
            .collect()
    };
    for (name, context) in flagged {
        if !clusters.iter().any(|c| c.name == name) {
            clusters.push(Cluster {
                name,
                kubeconfig: kubeconfig.map(Path::to_path_buf),
                context,
                in_cluster: false,
            });
        }
    }
    clusters
}

/// What the catalog sources need from the resolved configuration: this
/// feature's section, not the whole configuration.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Directory of definition YAML files (`--from-dir`).
    pub from_dir: Option<PathBuf>,
    /// The `catalog:` section.
    pub catalog: CatalogConfig,
    /// The clusters to watch: `catalog.clusters` resolved, then the
    /// `--kubeconfig`/`--context` ones.
    pub clusters: Vec<Cluster>,
    /// Limits on every definition file read from `from_dir`.
    pub document_limits: osp::document::Limits,
    /// Backstage's `app.baseUrl`, without a trailing `/`.
    pub app_base_url: String,
    /// Hosts of the configured forges, offered by the Templates' repository
    /// picker.
    pub repo_hosts: Vec<String>,
    /// The picker asks the user to sign in to the forge.
    pub user_credentials: bool,
}

/// The catalog settings the sources ask for.
pub(crate) fn settings(sources: &Sources) -> Settings {
    let mut clusters = Vec::new();
    if sources.from_dir.is_some() {
        clusters.push(FROM_DIR_CLUSTER.to_string());
    }
    clusters.extend(sources.clusters.iter().map(|c| c.name.clone()));
    Settings {
        clusters,
        sync_timeout: sources
            .catalog
            .sync_timeout_ms
            .map_or(DEFAULT_SYNC_TIMEOUT, Duration::from_millis),
        default_owner: sources.catalog.default_owner.clone(),
        app_base_url: sources.app_base_url.clone(),
        passthrough: sources.catalog.passthrough.clone(),
        listing: sources.catalog.definitions.clone(),
        namespace_keys: sources.catalog.namespace_keys.clone(),
        repo_hosts: sources.repo_hosts.clone(),
        user_credentials: sources.user_credentials,
        claim_preview: sources.catalog.claim_preview,
    }
}

/// Why the built-in owner is a problem, when it is in use: a new Backstage
/// catalog has no such group, so ownership relations would dangle.
pub(crate) fn owner_warning(catalog: &CatalogConfig) -> Option<String> {
    if catalog.default_owner.is_some() {
        return None;
    }
    Some(format!(
        "`catalog.defaultOwner` is not set: Templates, APIs and Resources whose definition or object names no owner are owned by `{}`, which a new Backstage catalog does not have; set `catalog.defaultOwner` to an existing group (or annotate definitions with `osp.dev/owner`)",
        osp::options::DEFAULT_OWNER
    ))
}

/// Configures the catalog, loads `--from-dir` once (so definitions are
/// known when this returns), then starts the watchers and the catalog
/// builder in the background. Returns the number of definitions loaded from
/// the directory.
pub(crate) async fn start(sources: &Sources, catalog: &Catalog) -> Result<usize, Error> {
    if let Some(w) = owner_warning(&sources.catalog) {
        tracing::warn!(owner = osp::options::DEFAULT_OWNER, "{w}");
    }
    catalog.configure(settings(sources));
    let mut loaded = 0;
    if let Some(d) = sources.from_dir.clone() {
        let c = catalog.clone();
        let options = catalog.options();
        let mut scanner = dir::Scanner::new(d.clone(), sources.document_limits, options);
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
    for cluster in &sources.clusters {
        tokio::spawn(cluster::run(cluster.clone(), catalog.clone()));
    }
    tokio::spawn(catalog.clone().run());
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServeArgs;

    #[test]
    fn the_built_in_owner_is_warned_about() {
        struct Case {
            reason: &'static str,
            file: &'static str,
            want_warning: bool,
        }
        let cases = [
            Case {
                reason: "no catalog section: the built-in owner is in use",
                file: "",
                want_warning: true,
            },
            Case {
                reason: "a catalog section without defaultOwner: still in use",
                file: "catalog: {syncTimeoutMs: 5}\n",
                want_warning: true,
            },
            Case {
                reason: "a configured owner replaces it",
                file: "catalog: {defaultOwner: 'group:default/devs'}\n",
                want_warning: false,
            },
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, c) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("config-{i}.yaml"));
            std::fs::write(&path, c.file).expect("write config");
            let args = ServeArgs {
                config: (!c.file.is_empty()).then_some(path),
                ..Default::default()
            };
            let config = crate::config::Config::resolve(&args, None).expect(c.reason);
            let got = owner_warning(&config.catalog);
            assert_eq!(got.is_some(), c.want_warning, "{}: {got:?}", c.reason);
            if let Some(w) = got {
                assert!(
                    w.contains("`catalog.defaultOwner`"),
                    "{}: names the setting",
                    c.reason
                );
                assert!(
                    w.contains(osp::options::DEFAULT_OWNER),
                    "{}: names the owner",
                    c.reason
                );
            }
        }
    }

    #[test]
    fn from_dir_templates_take_the_configured_owner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let xrd = crate::fixtures::xrd_v2;
        std::fs::write(dir.path().join("a.yaml"), xrd().named("as", "XA").yaml()).expect("write");
        std::fs::write(
            dir.path().join("b.yaml"),
            xrd()
                .named("bs", "XB")
                .annotated("osp.dev/owner", "group:default/team-b")
                .yaml(),
        )
        .expect("write");
        let catalog = Catalog::default();
        let options = osp::convert::Options {
            default_owner: Some("group:default/devs".into()),
            ..Default::default()
        };
        let mut scanner = dir::Scanner::new(dir.path().to_path_buf(), Default::default(), options);
        scanner.scan(&catalog).expect("scan");
        for (name, want, reason) in [
            (
                "as.example.org",
                "group:default/devs",
                "no owner named: the configured one",
            ),
            (
                "bs.example.org",
                "group:default/team-b",
                "the definition's own owner wins",
            ),
        ] {
            let k = catalog.store().get(name).expect(reason);
            assert_eq!(k.converted.template["spec"]["owner"], want, "{reason}");
            assert_eq!(k.converted.api["spec"]["owner"], want, "{reason}");
        }
    }
}
