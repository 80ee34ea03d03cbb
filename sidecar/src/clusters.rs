//! The clusters osp talks to: declared once in the config file's top-level
//! `clusters:` list and named from `catalog.clusters` and `apply.clusters`,
//! with one client builder for every feature. The older form, a cluster
//! written out inside `catalog.clusters` or `apply.clusters`, is still read
//! for one release, with a deprecation warning.
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One cluster: how to reach it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    /// Name used in entities (`osp.dev/cluster`), `render.cluster` and
    /// ClusterState.
    pub name: String,
    /// Kubeconfig file [default: `KUBECONFIG`, else `~/.kube/config`, else
    /// the pod's service account].
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// Context in the kubeconfig [default: its current context].
    #[serde(default)]
    pub context: Option<String>,
    /// Use the pod's service account, never a kubeconfig.
    #[serde(default)]
    pub in_cluster: bool,
}

/// A cluster as a feature section names it: by name (declared in the
/// top-level `clusters:`), or, deprecated, written out in place.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ClusterRef {
    /// The name of a cluster in the top-level `clusters:` list.
    Name(String),
    /// A cluster written out in the section (deprecated).
    Inline(Cluster),
}

/// Who a client acts as, when not as itself (`Impersonate-User`/`-Group`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Impersonation<'a> {
    /// User name.
    pub user: &'a str,
    /// Group names.
    pub groups: &'a [String],
}

/// Errors of the cluster list and its clients.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A section names a cluster the top-level list does not declare.
    #[error(
        "`{field}` names cluster `{name}`, which the top-level `clusters:` list does not declare (declared: {declared})"
    )]
    Undeclared {
        field: String,
        name: String,
        declared: String,
    },
    /// The top-level list declares a name twice.
    #[error("`clusters` declares cluster `{name}` twice")]
    Duplicate { name: String },
    /// The kubeconfig or in-cluster configuration could not be loaded.
    #[error("cannot load kubeconfig of cluster `{cluster}`: {message}")]
    LoadConfig { cluster: String, message: String },
}

/// The clusters of one section, resolved against the top-level list, and
/// the deprecation warnings for clusters written out in place.
pub(crate) fn resolve(
    declared: &[Cluster],
    refs: &[ClusterRef],
    section: &str,
) -> Result<(Vec<Cluster>, Vec<String>), Error> {
    for (i, c) in declared.iter().enumerate() {
        if declared[..i].iter().any(|d| d.name == c.name) {
            return Err(Error::Duplicate {
                name: c.name.clone(),
            });
        }
    }
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        match r {
            ClusterRef::Name(name) => match declared.iter().find(|c| &c.name == name) {
                Some(c) => out.push(c.clone()),
                None => {
                    return Err(Error::Undeclared {
                        field: format!("{section}[{i}]"),
                        name: name.clone(),
                        declared: names(declared),
                    });
                }
            },
            ClusterRef::Inline(c) => {
                warnings.push(format!(
                    "`{section}[{i}]` writes out cluster `{0}`: deprecated, and read for one more release only; declare it once in the top-level `clusters:` list and name it here (`- {0}`)",
                    c.name
                ));
                out.push(c.clone());
            }
        }
    }
    Ok((out, warnings))
}

fn names(clusters: &[Cluster]) -> String {
    if clusters.is_empty() {
        return "none".into();
    }
    clusters
        .iter()
        .map(|c| format!("`{}`", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A client for `cluster`, acting as `impersonate` when given. Where the
/// cluster names no kubeconfig: `in_cluster` uses the pod's service
/// account; a context is looked up in `KUBECONFIG` or `~/.kube/config`;
/// otherwise kube's inference (that kubeconfig, else the service account).
pub(crate) async fn client(
    cluster: &Cluster,
    impersonate: Option<Impersonation<'_>>,
) -> Result<kube::Client, Error> {
    let load = |message: String| Error::LoadConfig {
        cluster: cluster.name.clone(),
        message,
    };
    let options = kube::config::KubeConfigOptions {
        context: cluster.context.clone(),
        ..Default::default()
    };
    let mut config = if cluster.in_cluster {
        kube::Config::incluster().map_err(|e| load(e.to_string()))?
    } else if let Some(path) = &cluster.kubeconfig {
        from_file(path, &options).await.map_err(load)?
    } else if cluster.context.is_some() {
        kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| load(e.to_string()))?
    } else {
        kube::Config::infer()
            .await
            .map_err(|e| load(e.to_string()))?
    };
    if let Some(who) = impersonate {
        config.auth_info.impersonate = Some(who.user.to_string());
        config.auth_info.impersonate_groups = (!who.groups.is_empty()).then(|| who.groups.to_vec());
    }
    kube::Client::try_from(config).map_err(|e| load(e.to_string()))
}

async fn from_file(
    path: &Path,
    options: &kube::config::KubeConfigOptions,
) -> Result<kube::Config, String> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .map_err(|e| format!("`{}`: {e}", path.display()))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, options)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(name: &str) -> Cluster {
        Cluster {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn sections_name_declared_clusters() {
        struct Case {
            reason: &'static str,
            declared: Vec<Cluster>,
            refs: &'static str,
            want: Result<(&'static [&'static str], usize), &'static str>,
        }
        let cases = [
            Case {
                reason: "names resolve to the declared clusters, in the section's order",
                declared: vec![cluster("dev"), cluster("prod")],
                refs: "[prod, dev]",
                want: Ok((&["prod", "dev"], 0)),
            },
            Case {
                reason: "a cluster written out in place is still read, with a warning",
                declared: vec![],
                refs: "[{name: dev, context: kind-dev}]",
                want: Ok((&["dev"], 1)),
            },
            Case {
                reason: "an undeclared name points at its entry and lists the declared ones",
                declared: vec![cluster("dev")],
                refs: "[dev, staging]",
                want: Err(
                    "`catalog.clusters[1]` names cluster `staging`, which the top-level `clusters:` list does not declare (declared: `dev`)",
                ),
            },
            Case {
                reason: "a name declared twice is ambiguous",
                declared: vec![cluster("dev"), cluster("dev")],
                refs: "[dev]",
                want: Err("`clusters` declares cluster `dev` twice"),
            },
        ];
        for c in cases {
            let refs: Vec<ClusterRef> = serde_saphyr::from_str(c.refs).expect(c.reason);
            let got = resolve(&c.declared, &refs, "catalog.clusters");
            match (got, c.want) {
                (Ok((clusters, warnings)), Ok((names, n))) => {
                    let got: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
                    assert_eq!(got, names, "{}", c.reason);
                    assert_eq!(warnings.len(), n, "{}: {warnings:?}", c.reason);
                }
                (Err(e), Err(want)) => assert_eq!(e.to_string(), want, "{}", c.reason),
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
            }
        }
    }
}
