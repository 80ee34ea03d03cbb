//! Direct apply of rendered claims and XRs to a cluster, for development
//! environments: server-side apply with field manager `osp`, optional
//! server-side dry-run, a namespace allow-list, and impersonation of the
//! requesting Backstage user so cluster RBAC decides. Off unless enabled.
pub(crate) mod classify;
pub(crate) mod identity;

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
};
use serde::Deserialize;
use serde_json::Value;

pub(crate) use identity::Identity;

use crate::clusters::{Cluster, ClusterRef, Impersonation};

/// The field manager of every apply.
pub(crate) const FIELD_MANAGER: &str = "osp";

/// The `apply:` section of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyConfig {
    /// `ApplyClaim` answers FAILED_PRECONDITION unless this is true.
    #[serde(default)]
    pub enabled: bool,
    /// Clusters apply may target, by name from the top-level `clusters:`
    /// list; `render.cluster` picks one.
    #[serde(default)]
    pub clusters: Vec<ClusterRef>,
    /// Namespaces apply may write to; `*` allows any. Empty allows none.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Whether cluster-scoped XRs (no namespace) may be applied.
    #[serde(default)]
    pub allow_cluster_scoped: bool,
    /// Impersonate the caller (`Impersonate-User`/`-Group`).
    #[serde(default)]
    pub impersonate: bool,
    /// Prefix of user names mapped from `user:default/alice`, e.g. `oidc:`.
    #[serde(default)]
    pub user_prefix: String,
    /// Prefix of group names mapped from `group:default/team-a`.
    #[serde(default)]
    pub group_prefix: String,
}

/// Errors from applying. The gRPC mapping (`errors::respond`) maps them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Apply is not enabled in this sidecar.
    #[error("apply is disabled: set `apply.enabled: true` in the sidecar config to allow it")]
    Disabled,
    /// No cluster was named and more than one (or none) is configured.
    #[error("no target cluster: name one of {}", list(known))]
    ChooseCluster { known: Vec<String> },
    /// The named cluster is not configured for apply.
    #[error(
        "cluster `{name}` is not configured for apply (known: {})",
        list(known)
    )]
    UnknownCluster { name: String, known: Vec<String> },
    /// The namespace is not in the allow-list.
    #[error(
        "namespace `{namespace}` is not in the apply allow-list ({})",
        list(allowed)
    )]
    NamespaceNotAllowed {
        namespace: String,
        allowed: Vec<String>,
    },
    /// Cluster-scoped objects are not allowed.
    #[error(
        "applying cluster-scoped `{kind}` is not allowed: set `apply.allowClusterScoped: true`"
    )]
    ClusterScopedNotAllowed { kind: String },
    /// Impersonation is on but the caller cannot be mapped to a user.
    #[error("{field}: {message}")]
    Identity { field: String, message: String },
    /// The cluster's kubeconfig could not be loaded.
    #[error(transparent)]
    LoadConfig(#[from] crate::clusters::Error),
    /// Server-side apply conflicts with another field manager.
    #[error(
        "apply of `{name}` in cluster `{cluster}` conflicts with other field managers: {message}"
    )]
    FieldConflict {
        cluster: String,
        name: String,
        message: String,
    },
    /// The object changed or exists in a conflicting way.
    #[error("apply of `{name}` in cluster `{cluster}` conflicted: {message}")]
    Conflict {
        cluster: String,
        name: String,
        message: String,
    },
    /// Cluster RBAC denied the (impersonated) request.
    #[error("cluster `{cluster}` denied the request: {message}")]
    Forbidden { cluster: String, message: String },
    /// The cluster rejected the sidecar's own credentials.
    #[error("cluster `{cluster}` rejected the sidecar's credentials: {message}")]
    Unauthorized { cluster: String, message: String },
    /// The server found the object invalid (schema, CEL, admission).
    #[error("cluster `{cluster}` rejected `{name}` as invalid: {message}")]
    Invalid {
        cluster: String,
        name: String,
        message: String,
        causes: Vec<crate::violation::Violation>,
    },
    /// The kind is not served: the XRD is not established there.
    #[error(
        "`{kind}` (`{api_version}`) is not served by cluster `{cluster}`: the XRD `{xrd}` is not established in that cluster"
    )]
    NotEstablished {
        cluster: String,
        api_version: String,
        kind: String,
        xrd: String,
    },
    /// The namespace does not exist in the cluster.
    #[error("namespace `{namespace}` does not exist in cluster `{cluster}`")]
    MissingNamespace { cluster: String, namespace: String },
    /// The cluster could not be reached or answered with a server error.
    #[error("cluster `{cluster}` is unavailable: {message}")]
    Unreachable { cluster: String, message: String },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to apply.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    /// The definition of the kind.
    pub definition: &'a osp::definition::Definition,
    /// The rendered manifest.
    pub manifest: &'a Value,
    /// `render.cluster`, possibly empty.
    pub cluster: &'a str,
    /// The caller, if given.
    pub caller: Option<&'a crate::pb::Caller>,
    /// Server-side dry-run.
    pub dry_run: bool,
}

/// The applied object.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    /// What the API server returned.
    pub object: DynamicObject,
    /// The cluster it went to.
    pub cluster: String,
}

/// The admitted API of a target's kind, on its cluster.
struct Endpoint {
    api: Api<DynamicObject>,
    cluster: String,
    name: String,
}

impl Endpoint {
    fn context<'a>(&'a self, target: &'a Target<'a>) -> classify::Context<'a> {
        classify::Context {
            cluster: &self.cluster,
            definition: target.definition,
            name: &self.name,
            namespace: target.manifest["metadata"]["namespace"].as_str(),
        }
    }
}

/// Applies manifests as the configuration allows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Applier {
    config: ApplyConfig,
    clusters: Vec<Cluster>,
}

impl Applier {
    /// An applier for the `apply:` configuration and its clusters
    /// (resolved against the top-level list).
    pub(crate) fn new(config: &ApplyConfig, clusters: Vec<Cluster>) -> Self {
        Self {
            config: config.clone(),
            clusters,
        }
    }

    /// Whether apply is enabled.
    pub(crate) fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Checks everything that needs no cluster: enabled, cluster,
    /// namespace, identity. Returns the cluster and who to impersonate.
    pub(crate) fn admit(&self, target: &Target<'_>) -> Result<(&Cluster, Option<Identity>), Error> {
        let c = &self.config;
        if !c.enabled {
            return Err(Error::Disabled);
        }
        let known = || self.clusters.iter().map(|k| k.name.clone()).collect();
        let cluster = match (target.cluster, self.clusters.as_slice()) {
            ("", [only]) => only,
            ("", _) => return Err(Error::ChooseCluster { known: known() }),
            (name, all) => {
                all.iter()
                    .find(|k| k.name == name)
                    .ok_or_else(|| Error::UnknownCluster {
                        name: name.into(),
                        known: known(),
                    })?
            }
        };
        match target.manifest["metadata"]["namespace"].as_str() {
            Some(ns) if !c.namespaces.iter().any(|a| a == "*" || a == ns) => {
                return Err(Error::NamespaceNotAllowed {
                    namespace: ns.into(),
                    allowed: c.namespaces.clone(),
                });
            }
            Some(_) => {}
            None if !c.allow_cluster_scoped => {
                return Err(Error::ClusterScopedNotAllowed {
                    kind: target.definition.target().kind.clone(),
                });
            }
            None => {}
        }
        let identity = if c.impersonate {
            Some(identity::for_caller(
                target.caller,
                &c.user_prefix,
                &c.group_prefix,
            )?)
        } else {
            None
        };
        Ok((cluster, identity))
    }

    /// Whether an object in `cluster` and `namespace` (None: cluster-scoped)
    /// would be admitted, from the configuration alone.
    pub(crate) fn admits(&self, cluster: &str, namespace: Option<&str>) -> bool {
        let c = &self.config;
        c.enabled
            && self.clusters.iter().any(|k| k.name == cluster)
            && match namespace {
                Some(ns) => c.namespaces.iter().any(|a| a == "*" || a == ns),
                None => c.allow_cluster_scoped,
            }
    }

    /// The API of the target's kind on its cluster, as the admitted caller.
    async fn api_for<'t>(&self, target: &Target<'t>, verb: &str) -> Result<Endpoint, Error> {
        let (cluster, identity) = self.admit(target)?;
        let impersonate = identity.as_ref().map(|id| Impersonation {
            user: &id.user,
            groups: &id.groups,
        });
        let client = crate::clusters::client(cluster, impersonate).await?;
        let d = target.definition;
        let names = d.target();
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(&d.group, &d.version, &names.kind),
            &names.plural,
        );
        let api: Api<DynamicObject> = match target.manifest["metadata"]["namespace"].as_str() {
            Some(ns) => Api::namespaced_with(client, ns, &resource),
            None => Api::all_with(client, &resource),
        };
        let name = target.manifest["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        tracing::info!(
            cluster = %cluster.name,
            kind = %names.kind,
            name = %name,
            dry_run = target.dry_run,
            user = identity.as_ref().map(|i| i.user.as_str()).unwrap_or(""),
            "{verb}"
        );
        Ok(Endpoint {
            api,
            cluster: cluster.name.clone(),
            name,
        })
    }

    /// Server-side applies the manifest (field manager `osp`, no force).
    pub(crate) async fn apply(&self, target: &Target<'_>) -> Result<Applied, Error> {
        let e = self.api_for(target, "apply").await?;
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.dry_run = target.dry_run;
        let object = e
            .api
            .patch(&e.name, &params, &Patch::Apply(target.manifest))
            .await
            .map_err(|err| classify::for_kube(err, &e.context(target)))?;
        Ok(Applied {
            object,
            cluster: e.cluster,
        })
    }

    /// Deletes the object the target names (its manifest needs only
    /// `metadata.name` and `namespace`). `Ok(false)` when it was gone.
    pub(crate) async fn delete(&self, target: &Target<'_>) -> Result<(String, bool), Error> {
        let e = self.api_for(target, "delete").await?;
        let params = DeleteParams {
            dry_run: target.dry_run,
            ..DeleteParams::default()
        };
        match e.api.delete(&e.name, &params).await {
            Ok(_) => Ok((e.cluster, true)),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok((e.cluster, false)),
            Err(err) => Err(classify::for_kube(err, &e.context(target))),
        }
    }
}

#[cfg(test)]
mod tests;
