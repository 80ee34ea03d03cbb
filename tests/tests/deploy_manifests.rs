//! Every manifest under `deploy/` parses strictly into the `k8s-openapi`
//! types (unknown fields are errors), the sidecar container is locked down
//! and probed over native gRPC health, and no RBAC rule uses `*`.
#[path = "deploy_manifests/backstage.rs"]
mod backstage;
#[path = "deploy_manifests/kustomize.rs"]
mod kustomize;
#[path = "deploy_manifests/strict.rs"]
mod strict;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, PodSpec, Probe, ServiceAccount, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use osp::document::{Limits, from_yaml_stream};
use serde_json::Value;

use backstage::{AppConfig, HelmValues};
use kustomize::{Kustomization, NamespaceTransformer, RoleBindingSubjects};

const SIDECAR: &str = "osp";
const GRPC_PORT: i32 = 50051;
/// Names the sidecar's `grpc.health.v1.Health` reports.
const HEALTH_SERVICES: [&str; 5] = [
    "",
    "osp.v1.TemplateService",
    "osp.v1.ClaimService",
    "osp.v1.PublishService",
    "osp.v1.CatalogService",
];
const SIDECAR_PATCH: &str = "kustomize/components/sidecar/sidecar-patch.yaml";
const HELM_VALUES: &str = "helm/values-backstage.yaml";
const APP_CONFIG: &str = "examples/app-config.yaml";

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn deploy() -> PathBuf {
    repo().join("deploy")
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OSP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    dir.is_dir().then_some(dir)
}

/// One Kubernetes object, parsed strictly. Not every payload is inspected:
/// parsing it is the check.
#[allow(dead_code)]
#[derive(Debug)]
enum Object {
    Deployment(Box<Deployment>),
    ServiceAccount(Box<ServiceAccount>),
    ConfigMap(Box<ConfigMap>),
    Namespace(Box<Namespace>),
    ClusterRole(Box<ClusterRole>),
    ClusterRoleBinding(Box<ClusterRoleBinding>),
    Role(Box<Role>),
    RoleBinding(Box<RoleBinding>),
    NetworkPolicy(Box<NetworkPolicy>),
    PodDisruptionBudget(Box<PodDisruptionBudget>),
    /// A Crossplane object or a claim, checked against its (X)CRD schema.
    Custom {
        kind: String,
    },
}

/// Helm values with their lists parsed strictly.
#[derive(Debug)]
struct Helm {
    values: HelmValues,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    mounts: Vec<VolumeMount>,
    extra: Vec<Object>,
}

#[derive(Debug)]
enum File {
    Kustomization(Kustomization),
    Helm(Box<Helm>),
    AppConfig(AppConfig),
    Objects(Vec<Object>),
}

/// Schemas for custom kinds, keyed by `apiVersion` and `kind`.
#[derive(Debug, Default)]
struct Schemas(BTreeMap<(String, String), Value>);

impl Schemas {
    /// Crossplane's own CRDs from the corpus, and every XRD under `deploy/`
    /// (for the XR and its claim).
    fn load(docs: &[(PathBuf, Vec<Value>)]) -> anyhow::Result<Self> {
        let mut s = Self::default();
        match corpus() {
            Some(dir) => {
                for name in ["compositeresourcedefinitions", "compositions"] {
                    let path = dir.join(format!(
                        "crds/crossplane/apiextensions.crossplane.io_{name}.yaml"
                    ));
                    for doc in read(&path)? {
                        let crd: CustomResourceDefinition = serde_json::from_value(doc)?;
                        s.add_crd(&crd)?;
                    }
                }
            }
            None => eprintln!(
                "corpus not found (set OSP_CORPUS): Crossplane objects are checked for metadata only"
            ),
        }
        for doc in docs.iter().flat_map(|(_, d)| d) {
            if doc["kind"] == "CompositeResourceDefinition" {
                s.add_xrd(doc)?;
            }
        }
        Ok(s)
    }

    fn add_crd(&mut self, crd: &CustomResourceDefinition) -> anyhow::Result<()> {
        for v in &crd.spec.versions {
            let schema = v
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .context("crd version without schema")?;
            let key = (
                format!("{}/{}", crd.spec.group, v.name),
                crd.spec.names.kind.clone(),
            );
            self.0.insert(key, serde_json::to_value(schema)?);
        }
        Ok(())
    }

    fn add_xrd(&mut self, xrd: &Value) -> anyhow::Result<()> {
        let group = xrd["spec"]["group"]
            .as_str()
            .context("xrd without spec.group")?;
        for v in xrd["spec"]["versions"]
            .as_array()
            .context("xrd without spec.versions")?
        {
            let schema = &v["schema"]["openAPIV3Schema"];
            let api_version = format!("{group}/{}", v["name"].as_str().unwrap_or_default());
            for names in ["names", "claimNames"] {
                if let Some(kind) = xrd["spec"][names]["kind"].as_str() {
                    self.0
                        .insert((api_version.clone(), kind.to_owned()), schema.clone());
                }
            }
        }
        Ok(())
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
    Ok(from_yaml_stream(&text, Limits::default())?)
}

/// Every `*.yaml`/`*.yml` under `dir`, sorted, relative to `dir`.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p.strip_prefix(root).map(Path::to_path_buf).unwrap_or(p));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn parse_object(doc: &Value, schemas: &Schemas) -> anyhow::Result<Object> {
    let api_version = doc["apiVersion"].as_str().context("no apiVersion")?;
    let kind = doc["kind"].as_str().context("no kind")?;
    use strict::parse as p;
    Ok(match (api_version, kind) {
        ("apps/v1", "Deployment") => Object::Deployment(Box::new(p(doc)?)),
        ("v1", "ServiceAccount") => Object::ServiceAccount(Box::new(p(doc)?)),
        ("v1", "ConfigMap") => Object::ConfigMap(Box::new(p(doc)?)),
        ("v1", "Namespace") => Object::Namespace(Box::new(p(doc)?)),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => Object::ClusterRole(Box::new(p(doc)?)),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            Object::ClusterRoleBinding(Box::new(p(doc)?))
        }
        ("rbac.authorization.k8s.io/v1", "Role") => Object::Role(Box::new(p(doc)?)),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => Object::RoleBinding(Box::new(p(doc)?)),
        ("networking.k8s.io/v1", "NetworkPolicy") => Object::NetworkPolicy(Box::new(p(doc)?)),
        ("policy/v1", "PodDisruptionBudget") => Object::PodDisruptionBudget(Box::new(p(doc)?)),
        _ => parse_custom(doc, api_version, kind, schemas)?,
    })
}

/// Custom kinds: metadata strictly as `ObjectMeta`, the rest against the
/// kind's OpenAPI schema, as the API server would prune it.
fn parse_custom(
    doc: &Value,
    api_version: &str,
    kind: &str,
    schemas: &Schemas,
) -> anyhow::Result<Object> {
    let _: ObjectMeta = strict::parse(&doc["metadata"]).context("metadata")?;
    if kind == "CompositeResourceDefinition" {
        for (n, v) in doc["spec"]["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let _: JSONSchemaProps = strict::parse(&v["schema"]["openAPIV3Schema"])
                .with_context(|| format!("spec.versions[{n}].schema.openAPIV3Schema"))?;
        }
    }
    let key = (api_version.to_owned(), kind.to_owned());
    let crossplane = api_version.starts_with("apiextensions.crossplane.io/");
    let Some(schema) = schemas.0.get(&key) else {
        ensure!(
            crossplane && corpus().is_none(),
            "no schema for `{api_version}` `{kind}`"
        );
        return Ok(Object::Custom {
            kind: kind.to_owned(),
        });
    };
    let mut rest = doc.clone();
    if let Some(o) = rest.as_object_mut() {
        // Every object has these; CRD schemas declare them loosely or not at all.
        for k in ["apiVersion", "kind", "metadata"] {
            o.remove(k);
        }
    }
    let errors = strict::schema_errors(&rest, schema, "");
    ensure!(errors.is_empty(), "{}", errors.join("; "));
    Ok(Object::Custom {
        kind: kind.to_owned(),
    })
}

fn parse_helm(doc: &Value, schemas: &Schemas) -> anyhow::Result<Helm> {
    let values: HelmValues = serde_json::from_value(doc.clone())?;
    let b = &values.backstage;
    let containers = b
        .extra_containers
        .iter()
        .map(strict::parse)
        .collect::<Result<_, _>>()
        .context("backstage.extraContainers")?;
    let volumes = b
        .extra_volumes
        .iter()
        .map(strict::parse)
        .collect::<Result<_, _>>()
        .context("backstage.extraVolumes")?;
    let mounts = b
        .extra_volume_mounts
        .iter()
        .map(strict::parse)
        .collect::<Result<_, _>>()
        .context("backstage.extraVolumeMounts")?;
    let extra = values
        .extra_deploy
        .iter()
        .map(|d| parse_object(d, schemas))
        .collect::<Result<_, _>>()
        .context("extraDeploy")?;
    Ok(Helm {
        values,
        containers,
        volumes,
        mounts,
        extra,
    })
}

fn parse_kustomization(doc: &Value) -> anyhow::Result<Kustomization> {
    let k: Kustomization = serde_json::from_value(doc.clone())?;
    k.validate()?;
    for t in &k.transformers {
        let t: NamespaceTransformer =
            serde_json::from_value(osp::document::from_yaml(t, Limits::default())?)
                .context("transformers: only the builtin NamespaceTransformer is used")?;
        ensure!(
            t.api_version == "builtin" && t.kind == "NamespaceTransformer",
            "unexpected transformer `{}`",
            t.kind
        );
        // Keeps namespaced objects that name their namespace (the direct-apply
        // RoleBindings) where they are.
        ensure!(
            t.unset_only,
            "NamespaceTransformer must set `unsetOnly: true`"
        );
        ensure!(
            t.set_role_binding_subjects == RoleBindingSubjects::AllServiceAccounts,
            "NamespaceTransformer must set `setRoleBindingSubjects: allServiceAccounts`"
        );
        ensure!(
            !t.metadata.name.is_empty() && !t.metadata.namespace.is_empty(),
            "NamespaceTransformer needs a name and namespace"
        );
    }
    Ok(k)
}

fn parse_file(rel: &Path, docs: &[Value], schemas: &Schemas) -> anyhow::Result<File> {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let one = || -> anyhow::Result<&Value> {
        ensure!(
            docs.len() == 1,
            "expected one document, found `{}`",
            docs.len()
        );
        Ok(&docs[0])
    };
    Ok(if name == "kustomization.yaml" {
        File::Kustomization(parse_kustomization(one()?)?)
    } else if rel.starts_with("helm") && name.starts_with("values") {
        File::Helm(Box::new(parse_helm(one()?, schemas)?))
    } else if rel == Path::new(APP_CONFIG) {
        File::AppConfig(serde_json::from_value(one()?.clone())?)
    } else {
        ensure!(!docs.is_empty(), "no document");
        let objects = docs
            .iter()
            .enumerate()
            .map(|(n, d)| parse_object(d, schemas).with_context(|| format!("document {n}")));
        File::Objects(objects.collect::<Result<_, _>>()?)
    })
}

/// Every YAML file under `deploy/`, parsed.
fn load() -> anyhow::Result<Vec<(PathBuf, File)>> {
    let root = deploy();
    let files = yaml_files(&root);
    ensure!(!files.is_empty(), "no YAML under `{}`", root.display());
    let docs = files
        .iter()
        .map(|f| Ok((f.clone(), read(&root.join(f))?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let schemas = Schemas::load(&docs)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (rel, d) in &docs {
        match parse_file(rel, d, &schemas) {
            Ok(f) => out.push((rel.clone(), f)),
            Err(e) => errors.push(format!("deploy/{}: {e:#}", rel.display())),
        }
    }
    ensure!(
        errors.is_empty(),
        "manifests that do not parse strictly:\n{}",
        errors.join("\n")
    );
    Ok(out)
}

fn file<'a>(files: &'a [(PathBuf, File)], rel: &str) -> anyhow::Result<&'a File> {
    files
        .iter()
        .find(|(p, _)| p == Path::new(rel))
        .map(|(_, f)| f)
        .with_context(|| format!("deploy/{rel} missing"))
}

fn objects(files: &[(PathBuf, File)]) -> impl Iterator<Item = (&PathBuf, &Object)> {
    files.iter().flat_map(|(p, f)| {
        let objs: &[Object] = match f {
            File::Objects(o) => o,
            File::Helm(h) => &h.extra,
            _ => &[],
        };
        objs.iter().map(move |o| (p, o))
    })
}

fn pod_spec(d: &Deployment) -> anyhow::Result<&PodSpec> {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .context("deployment without pod spec")
}

fn sidecar(containers: &[Container]) -> anyhow::Result<&Container> {
    containers
        .iter()
        .find(|c| c.name == SIDECAR)
        .with_context(|| format!("no `{SIDECAR}` container"))
}

/// The sidecar's own patch: its container and pod volumes.
fn patch_parts(files: &[(PathBuf, File)]) -> anyhow::Result<(Container, Vec<Volume>)> {
    let File::Objects(objs) = file(files, SIDECAR_PATCH)? else {
        bail!("{SIDECAR_PATCH} is not a manifest")
    };
    let [Object::Deployment(d)] = objs.as_slice() else {
        bail!("{SIDECAR_PATCH} must hold exactly one Deployment")
    };
    let spec = pod_spec(d)?;
    Ok((
        sidecar(&spec.containers)?.clone(),
        spec.volumes.clone().unwrap_or_default(),
    ))
}

fn env<'a>(c: &'a Container, name: &str) -> Option<&'a str> {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .and_then(|e| e.value.as_deref())
}

fn probe_problems(which: &str, probe: Option<&Probe>) -> Vec<String> {
    let Some(p) = probe else {
        return vec![format!("no {which}")];
    };
    let mut out = Vec::new();
    if p.exec.is_some() || p.http_get.is_some() || p.tcp_socket.is_some() {
        out.push(format!("{which} must use only the native gRPC probe"));
    }
    match &p.grpc {
        None => out.push(format!("{which} is not a gRPC probe")),
        Some(g) => {
            if g.port != GRPC_PORT {
                out.push(format!(
                    "{which} dials port `{}`, not the health port `{GRPC_PORT}`",
                    g.port
                ));
            }
            let service = g.service.as_deref().unwrap_or_default();
            if !HEALTH_SERVICES.contains(&service) {
                out.push(format!(
                    "{which} asks for unknown health service `{service}`"
                ));
            }
        }
    }
    out
}

/// Everything wrong with a sidecar container, given the pod's volumes.
fn sidecar_problems(c: &Container, volumes: &[Volume]) -> Vec<String> {
    let mut out = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            out.push(what.to_owned());
        }
    };
    need(
        c.image.as_deref().is_some_and(|i| !i.is_empty()),
        "no image",
    );
    need(
        c.ports
            .iter()
            .flatten()
            .any(|p| p.container_port == GRPC_PORT && p.name.as_deref() == Some("grpc")),
        "no container port `grpc` on the health port",
    );
    // The kubelet dials the pod IP: loopback would fail every probe.
    need(
        env(c, "OSP_LISTEN") == Some("0.0.0.0:50051"),
        "OSP_LISTEN must be `0.0.0.0:50051` for the kubelet's probes",
    );
    let sc = c.security_context.clone().unwrap_or_default();
    need(
        sc.run_as_non_root == Some(true),
        "securityContext.runAsNonRoot must be true",
    );
    need(
        sc.run_as_user.is_some_and(|u| u != 0),
        "securityContext.runAsUser must be a non-root UID",
    );
    need(
        sc.read_only_root_filesystem == Some(true),
        "securityContext.readOnlyRootFilesystem must be true",
    );
    need(
        sc.allow_privilege_escalation == Some(false),
        "securityContext.allowPrivilegeEscalation must be false",
    );
    need(
        sc.privileged != Some(true),
        "securityContext.privileged must not be true",
    );
    let caps = sc.capabilities.unwrap_or_default();
    need(
        caps.drop.iter().flatten().any(|d| d == "ALL"),
        "securityContext.capabilities.drop must hold `ALL`",
    );
    need(
        caps.add.unwrap_or_default().is_empty(),
        "securityContext.capabilities.add must be empty",
    );
    need(
        sc.seccomp_profile
            .is_some_and(|s| s.type_ == "RuntimeDefault"),
        "securityContext.seccompProfile.type must be `RuntimeDefault`",
    );
    let res = c.resources.clone().unwrap_or_default();
    for (what, list) in [("requests", res.requests), ("limits", res.limits)] {
        let list = list.unwrap_or_default();
        need(
            list.contains_key("cpu") && list.contains_key("memory"),
            &format!("resources.{what} must set cpu and memory"),
        );
    }
    let mounts = c.volume_mounts.clone().unwrap_or_default();
    need(
        mounts.iter().all(|m| m.read_only == Some(true)),
        "every volumeMount must be readOnly",
    );
    // Secrets come from files: a literal value is a secret in the manifest.
    for e in c.env.iter().flatten() {
        let secretish = ["TOKEN", "KEY", "PASSWORD", "SECRET"]
            .iter()
            .any(|w| e.name.contains(w));
        if secretish && !e.name.ends_with("_FILE") && e.value.is_some() {
            out.push(format!(
                "env `{}` holds a literal secret; mount it as a file",
                e.name
            ));
        }
    }
    match env(c, "OSP_TOKEN_FILE") {
        None => out.push("OSP_TOKEN_FILE must be set (a token is required off loopback)".into()),
        Some(path) => {
            let from_secret = mounts.iter().any(|m| {
                Path::new(path).starts_with(&m.mount_path)
                    && volumes
                        .iter()
                        .any(|v| v.name == m.name && v.secret.is_some())
            });
            if !from_secret {
                out.push(format!(
                    "OSP_TOKEN_FILE `{path}` is not on a mounted Secret volume"
                ));
            }
        }
    }
    for m in &mounts {
        if !volumes.iter().any(|v| v.name == m.name) {
            out.push(format!("volumeMount `{}` has no volume", m.name));
        }
    }
    out.extend(probe_problems("startupProbe", c.startup_probe.as_ref()));
    out.extend(probe_problems("readinessProbe", c.readiness_probe.as_ref()));
    out.extend(probe_problems("livenessProbe", c.liveness_probe.as_ref()));
    out
}

/// Everything wrong with an RBAC rule set.
fn rule_problems(rules: &[PolicyRule], allowed_verbs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, r) in rules.iter().enumerate() {
        let lists = [
            ("apiGroups", r.api_groups.clone().unwrap_or_default()),
            ("resources", r.resources.clone().unwrap_or_default()),
            ("verbs", r.verbs.clone()),
            (
                "resourceNames",
                r.resource_names.clone().unwrap_or_default(),
            ),
            (
                "nonResourceURLs",
                r.non_resource_urls.clone().unwrap_or_default(),
            ),
        ];
        for (field, values) in &lists {
            if values.iter().any(|v| v.contains('*')) {
                out.push(format!("rules[{n}].{field} uses `*`"));
            }
        }
        if r.non_resource_urls.is_some() {
            out.push(format!("rules[{n}] grants nonResourceURLs"));
        }
        if r.api_groups.as_ref().is_none_or(Vec::is_empty)
            || r.resources.as_ref().is_none_or(Vec::is_empty)
        {
            out.push(format!("rules[{n}] must name apiGroups and resources"));
        }
        for v in &r.verbs {
            if !allowed_verbs.contains(&v.as_str()) {
                out.push(format!(
                    "rules[{n}] grants verb `{v}`, allowed here: {allowed_verbs:?}"
                ));
            }
        }
        let core = r.api_groups.iter().flatten().any(|g| g.is_empty());
        let resources = r.resources.clone().unwrap_or_default();
        if core && !r.verbs.iter().all(|v| v == "impersonate") {
            out.push(format!("rules[{n}] touches the core API group"));
        }
        if r.verbs.iter().any(|v| v == "impersonate")
            && !resources.iter().all(|x| x == "users" || x == "groups")
        {
            out.push(format!(
                "rules[{n}] impersonates something other than users and groups"
            ));
        }
    }
    out
}

const READ: &[&str] = &["get", "list", "watch"];

/// The verbs each role may grant; a role not listed here fails the test.
fn allowed_verbs(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "osp-read" => Some(&[]),
        n if n.starts_with("osp-read-") => Some(READ),
        "osp-apply" => Some(&["create", "patch"]),
        "osp-impersonate" => Some(&["impersonate"]),
        _ => None,
    }
}

#[test]
fn every_manifest_parses_strictly() -> anyhow::Result<()> {
    let files = load()?;
    let kinds: Vec<String> = objects(&files)
        .map(|(p, o)| format!("{}: {o:?}", p.display()).chars().take(80).collect())
        .collect();
    // Guards against a walker that silently finds nothing.
    ensure!(
        files.len() >= 20,
        "only `{}` YAML files found:\n{}",
        files.len(),
        kinds.join("\n")
    );
    Ok(())
}

#[test]
fn strict_parse_reports_what_the_types_drop() {
    struct Case {
        reason: &'static str,
        yaml: &'static str,
        want: Option<&'static str>,
    }
    let cases = [
        Case {
            reason: "a valid container parses",
            yaml: "name: osp\nimage: x\nsecurityContext: {readOnlyRootFilesystem: true}\n",
            want: None,
        },
        Case {
            reason: "a misspelt field is reported with its path",
            yaml: "name: osp\nsecurityContext: {readOnlyRootFileSystem: true}\n",
            want: Some("unknown field `securityContext.readOnlyRootFileSystem`"),
        },
        Case {
            reason: "a field in a list item is reported with its index",
            yaml: "name: osp\nports: [{containerPort: 1}, {containerPort: 2, hostPrt: 3}]\n",
            want: Some("unknown field `ports[1].hostPrt`"),
        },
        Case {
            reason: "a field at the top is reported",
            yaml: "name: osp\nimagePullPolicyy: Always\n",
            want: Some("unknown field `imagePullPolicyy`"),
        },
        Case {
            reason: "an explicit null is not a lost field",
            yaml: "name: osp\nimage: null\n",
            want: None,
        },
    ];
    for c in cases {
        let doc = osp::document::from_yaml(c.yaml, Limits::default()).expect(c.reason);
        let got = strict::parse::<Container>(&doc)
            .err()
            .map(|e| e.to_string());
        match (c.want, got) {
            (None, None) => {}
            (Some(w), Some(g)) => assert!(g.contains(w), "{}: got `{g}`, want `{w}`", c.reason),
            (w, g) => panic!("{}: got {g:?}, want {w:?}", c.reason),
        }
    }
}

#[test]
fn schema_check_reports_pruned_fields() {
    struct Case {
        reason: &'static str,
        doc: &'static str,
        want: &'static [&'static str],
    }
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {
                "size": {"type": "string"},
                "storageGB": {"type": "integer"},
                "input": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
            }},
        },
    });
    let cases = [
        Case {
            reason: "declared fields pass",
            doc: "spec: {size: small, storageGB: 20}",
            want: &[],
        },
        Case {
            reason: "preserved objects take anything",
            doc: "spec: {input: {any: {thing: 1}}}",
            want: &[],
        },
        Case {
            reason: "additionalProperties types the values",
            doc: "spec: {labels: {a: b, c: 1}}",
            want: &["`spec.labels.c`"],
        },
        Case {
            reason: "an undeclared field is pruned",
            doc: "spec: {sise: small}",
            want: &["unknown field `spec.sise`"],
        },
        Case {
            reason: "a wrong type is rejected",
            doc: "spec: {storageGB: \"20\"}",
            want: &["`spec.storageGB`"],
        },
        Case {
            reason: "list items are checked",
            doc: "spec: {items: [{name: a}, {nam: b}]}",
            want: &["unknown field `spec.items[1].nam`"],
        },
    ];
    for c in cases {
        let doc = osp::document::from_yaml(c.doc, Limits::default()).expect(c.reason);
        let got = strict::schema_errors(&doc, &schema, "");
        assert_eq!(got.len(), c.want.len(), "{}: got {got:?}", c.reason);
        for (g, w) in got.iter().zip(c.want) {
            assert!(g.contains(w), "{}: got `{g}`, want `{w}`", c.reason);
        }
    }
}

#[test]
fn sidecar_container_is_locked_down_and_probed_over_grpc() -> anyhow::Result<()> {
    let files = load()?;
    let (patch, patch_volumes) = patch_parts(&files)?;
    let File::Helm(helm) = file(&files, HELM_VALUES)? else {
        bail!("{HELM_VALUES} is not Helm values")
    };
    struct Case<'a> {
        reason: &'static str,
        container: &'a Container,
        volumes: &'a [Volume],
    }
    let cases = [
        Case {
            reason: "the kustomize patch",
            container: &patch,
            volumes: &patch_volumes,
        },
        Case {
            reason: "the Helm values",
            container: sidecar(&helm.containers)?,
            volumes: &helm.volumes,
        },
    ];
    for c in cases {
        let problems = sidecar_problems(c.container, c.volumes);
        ensure!(problems.is_empty(), "{}: {}", c.reason, problems.join("; "));
    }
    Ok(())
}

#[test]
fn sidecar_checks_catch_regressions() -> anyhow::Result<()> {
    let files = load()?;
    let (good, volumes) = patch_parts(&files)?;
    type Mutate = fn(&mut Container);
    struct Case {
        reason: &'static str,
        mutate: Mutate,
        want: &'static str,
    }
    let cases: [Case; 7] = [
        Case {
            reason: "writable root filesystem",
            mutate: |c| {
                c.security_context
                    .as_mut()
                    .expect("sc")
                    .read_only_root_filesystem = None
            },
            want: "readOnlyRootFilesystem",
        },
        Case {
            reason: "root user",
            mutate: |c| c.security_context.as_mut().expect("sc").run_as_user = Some(0),
            want: "runAsUser",
        },
        Case {
            reason: "capabilities kept",
            mutate: |c| c.security_context.as_mut().expect("sc").capabilities = None,
            want: "capabilities.drop",
        },
        Case {
            reason: "privilege escalation allowed",
            mutate: |c| {
                c.security_context
                    .as_mut()
                    .expect("sc")
                    .allow_privilege_escalation = Some(true)
            },
            want: "allowPrivilegeEscalation",
        },
        Case {
            reason: "probe on another port",
            mutate: |c| {
                c.readiness_probe
                    .as_mut()
                    .and_then(|p| p.grpc.as_mut())
                    .expect("grpc")
                    .port = 8080
            },
            want: "readinessProbe dials port `8080`",
        },
        Case {
            reason: "probe for an unknown service",
            mutate: |c| {
                c.liveness_probe
                    .as_mut()
                    .and_then(|p| p.grpc.as_mut())
                    .expect("grpc")
                    .service = Some("osp.v1.Nope".into())
            },
            want: "unknown health service `osp.v1.Nope`",
        },
        Case {
            reason: "loopback listen address",
            mutate: |c| {
                let e = c
                    .env
                    .as_mut()
                    .and_then(|e| e.iter_mut().find(|e| e.name == "OSP_LISTEN"))
                    .expect("OSP_LISTEN");
                e.value = Some("127.0.0.1:50051".into());
            },
            want: "OSP_LISTEN",
        },
    ];
    for c in cases {
        let mut container = good.clone();
        (c.mutate)(&mut container);
        let problems = sidecar_problems(&container, &volumes);
        ensure!(
            problems.iter().any(|p| p.contains(c.want)),
            "{}: want a problem with `{}`, got {problems:?}",
            c.reason,
            c.want
        );
    }
    Ok(())
}

#[test]
fn helm_values_carry_the_same_sidecar_as_the_patch() -> anyhow::Result<()> {
    let files = load()?;
    let (patch, patch_volumes) = patch_parts(&files)?;
    let File::Helm(helm) = file(&files, HELM_VALUES)? else {
        bail!("{HELM_VALUES} is not Helm values")
    };
    ensure!(
        helm.containers.len() == 1,
        "extraContainers must hold only the sidecar"
    );
    ensure!(
        sidecar(&helm.containers)? == &patch,
        "extraContainers[0] differs from {SIDECAR_PATCH}"
    );
    ensure!(
        helm.volumes == patch_volumes,
        "extraVolumes differ from the patch's volumes"
    );
    ensure!(
        !helm.values.service_account.create && helm.values.service_account.name == "osp",
        "serviceAccount must reuse `osp`"
    );
    ensure!(
        helm.values
            .backstage
            .pdb
            .as_ref()
            .is_some_and(|p| !p.create),
        "the chart's PDB lacks unhealthyPodEvictionPolicy; use extraDeploy's"
    );
    let pdbs: Vec<_> = helm
        .extra
        .iter()
        .filter_map(|o| match o {
            Object::PodDisruptionBudget(p) => Some(p),
            _ => None,
        })
        .collect();
    ensure!(
        pdbs.len() == 1,
        "extraDeploy must hold one PodDisruptionBudget"
    );
    ensure!(
        pdbs[0]
            .spec
            .as_ref()
            .and_then(|s| s.unhealthy_pod_eviction_policy.as_deref())
            == Some("AlwaysAllow"),
        "the PDB must let not-Ready pods be evicted"
    );
    Ok(())
}

#[test]
fn backstage_reaches_the_sidecar_with_the_mounted_token() -> anyhow::Result<()> {
    let files = load()?;
    let (patch, _) = patch_parts(&files)?;
    let File::AppConfig(app) = file(&files, APP_CONFIG)? else {
        bail!("{APP_CONFIG} is not app-config")
    };
    let address: std::net::SocketAddr = app
        .osp
        .sidecar
        .address
        .parse()
        .context("osp.sidecar.address")?;
    ensure!(
        address.ip().is_loopback(),
        "Backstage must call the sidecar over loopback, not `{address}`"
    );
    ensure!(
        i32::from(address.port()) == GRPC_PORT,
        "app-config port `{}` is not the sidecar's",
        address.port()
    );
    let token_file = Path::new(&app.osp.sidecar.token_file);
    ensure!(
        env(&patch, "OSP_TOKEN_FILE") == token_file.to_str(),
        "Backstage and the sidecar must read the same token file"
    );
    let File::Helm(helm) = file(&files, HELM_VALUES)? else {
        bail!("{HELM_VALUES} is not Helm values")
    };
    let File::Objects(token_patch) = file(&files, "examples/kustomize/backstage-token-patch.yaml")?
    else {
        bail!("token patch")
    };
    let [Object::Deployment(d)] = token_patch.as_slice() else {
        bail!("token patch must hold one Deployment")
    };
    let kustomize_mounts = pod_spec(d)?
        .containers
        .iter()
        .flat_map(|c| c.volume_mounts.clone().unwrap_or_default())
        .collect::<Vec<_>>();
    for (reason, mounts) in [
        ("Helm extraVolumeMounts", &helm.mounts),
        ("kustomize token patch", &kustomize_mounts),
    ] {
        ensure!(
            mounts.iter().any(|m| m.name == "osp-token"
                && m.read_only == Some(true)
                && token_file.starts_with(&m.mount_path)),
            "{reason}: no read-only `osp-token` mount holding `{}`",
            token_file.display()
        );
    }
    Ok(())
}

#[test]
fn no_rbac_rule_uses_wildcards_or_more_than_its_mode_needs() -> anyhow::Result<()> {
    let files = load()?;
    let mut roles = Vec::new();
    let mut problems = Vec::new();
    for (path, o) in objects(&files) {
        let (name, rules, aggregated) = match o {
            Object::ClusterRole(r) => (
                r.metadata.name.clone(),
                r.rules.clone().unwrap_or_default(),
                r.aggregation_rule.is_some(),
            ),
            Object::Role(r) => (
                r.metadata.name.clone(),
                r.rules.clone().unwrap_or_default(),
                false,
            ),
            Object::ClusterRoleBinding(b) => {
                problems.extend(subject_problems(&b.role_ref.name, b.subjects.as_deref()));
                continue;
            }
            Object::RoleBinding(b) => {
                problems.extend(subject_problems(&b.role_ref.name, b.subjects.as_deref()));
                continue;
            }
            _ => continue,
        };
        let name = name.unwrap_or_default();
        let Some(verbs) = allowed_verbs(&name) else {
            problems.push(format!(
                "deploy/{}: role `{name}` has no expectation in this test",
                path.display()
            ));
            continue;
        };
        if verbs.is_empty() && !(aggregated && rules.is_empty()) {
            problems.push(format!(
                "`{name}` must be an aggregated role with no rules of its own"
            ));
        }
        problems.extend(
            rule_problems(&rules, verbs)
                .into_iter()
                .map(|p| format!("deploy/{}: `{name}` {p}", path.display())),
        );
        roles.push(name);
    }
    for want in [
        "osp-read",
        "osp-read-definitions",
        "osp-apply",
        "osp-impersonate",
    ] {
        if !roles.iter().any(|r| r == want) {
            problems.push(format!("role `{want}` missing"));
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

fn subject_problems(
    role: &str,
    subjects: Option<&[k8s_openapi::api::rbac::v1::Subject]>,
) -> Vec<String> {
    let mut out = Vec::new();
    if allowed_verbs(role).is_none() {
        out.push(format!("binding to unknown role `{role}`"));
    }
    let subjects = subjects.unwrap_or_default();
    if subjects.is_empty()
        || subjects
            .iter()
            .any(|s| s.kind != "ServiceAccount" || s.name != "osp")
    {
        out.push(format!(
            "binding to `{role}` must name only the `osp` ServiceAccount"
        ));
    }
    out
}

#[test]
fn rbac_checks_catch_wildcards() {
    struct Case {
        reason: &'static str,
        rule: PolicyRule,
        want: &'static str,
    }
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let cases = [
        Case {
            reason: "wildcard verb",
            rule: rule(&["a.io"], &["xs"], &["*"]),
            want: "verbs uses `*`",
        },
        Case {
            reason: "wildcard resource",
            rule: rule(&["a.io"], &["*"], &["get"]),
            want: "resources uses `*`",
        },
        Case {
            reason: "wildcard group",
            rule: rule(&["*"], &["xs"], &["get"]),
            want: "apiGroups uses `*`",
        },
        Case {
            reason: "subresource wildcard",
            rule: rule(&["a.io"], &["xs/*"], &["get"]),
            want: "resources uses `*`",
        },
        Case {
            reason: "write verb in a read role",
            rule: rule(&["a.io"], &["xs"], &["delete"]),
            want: "verb `delete`",
        },
        Case {
            reason: "core group",
            rule: rule(&[""], &["secrets"], &["get"]),
            want: "core API group",
        },
    ];
    for c in cases {
        let got = rule_problems(&[c.rule], READ);
        assert!(
            got.iter().any(|g| g.contains(c.want)),
            "{}: got {got:?}",
            c.reason
        );
    }
}

#[test]
fn kustomizations_reference_existing_files() -> anyhow::Result<()> {
    let files = load()?;
    let mut problems = Vec::new();
    for (rel, f) in &files {
        let File::Kustomization(k) = f else { continue };
        let dir = deploy()
            .join(rel)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // `namespace:` would move the direct-apply RoleBindings out of their
        // target namespaces; the NamespaceTransformer with unsetOnly does not.
        if k.namespace.is_some() {
            problems.push(format!(
                "deploy/{}: use the NamespaceTransformer, not `namespace:`",
                rel.display()
            ));
        }
        for patch in &k.patches {
            let (Some(path), Some(kind)) = (
                &patch.path,
                patch.target.as_ref().and_then(|t| t.kind.as_ref()),
            ) else {
                continue;
            };
            let got = read(&dir.join(path)).ok().and_then(|d| {
                d.first()
                    .and_then(|d| d["kind"].as_str().map(str::to_owned))
            });
            if got.as_deref() != Some(kind.as_str()) {
                problems.push(format!(
                    "deploy/{}: patch `{path}` is a `{got:?}`, its target a `{kind}`",
                    rel.display()
                ));
            }
        }
        let paths = k
            .resources
            .iter()
            .chain(&k.components)
            .chain(k.patches.iter().filter_map(|p| p.path.as_ref()));
        for p in paths {
            if !dir.join(p).exists() {
                problems.push(format!("deploy/{}: `{p}` does not exist", rel.display()));
            }
        }
        for c in &k.components {
            let target = dir.join(c).join("kustomization.yaml");
            let kind = read(&target).ok().and_then(|d| {
                d.first()
                    .and_then(|d| d["kind"].as_str().map(str::to_owned))
            });
            if kind.as_deref() != Some("Component") {
                problems.push(format!(
                    "deploy/{}: component `{c}` is not a kustomize Component",
                    rel.display()
                ));
            }
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn dockerfile_packages_the_tested_binary_without_root_or_shell() -> anyhow::Result<()> {
    let text = std::fs::read_to_string(deploy().join("Dockerfile"))?;
    ensure!(
        text.contains("cargo build --release --locked -p osp-sidecar --bin osp"),
        "the image must build `osp` from `osp-sidecar` with the lockfile"
    );
    let last_stage = text
        .rsplit_once("\nFROM ")
        .map(|(_, s)| s)
        .context("no FROM")?;
    ensure!(
        last_stage.starts_with("gcr.io/distroless/"),
        "the runtime stage must be distroless (no shell)"
    );
    ensure!(
        !last_stage.lines().any(|l| l.starts_with("RUN ")),
        "the runtime stage cannot RUN: it has no shell"
    );
    let user = last_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .context("no USER in the runtime stage")?;
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap_or_default()
        .parse()
        .context("USER must be numeric, for runAsNonRoot")?;
    ensure!(uid != 0, "USER must not be root");
    ensure!(
        last_stage.contains("ENTRYPOINT [\"/usr/local/bin/osp\"]"),
        "exec-form entrypoint on the osp binary"
    );
    Ok(())
}

#[test]
fn docs_name_only_existing_deploy_paths() -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for doc in ["docs/deploy.md", "deploy/examples/README.md"] {
        let text = std::fs::read_to_string(repo().join(doc)).with_context(|| doc.to_owned())?;
        for (i, _) in text.match_indices("deploy/") {
            if text[..i].ends_with(|c: char| {
                c.is_alphanumeric() || c == '/' || c == '.' || c == '-' || c == '_'
            }) {
                continue;
            }
            let path: String = text[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || "/._-".contains(*c))
                .collect();
            let path = path.trim_end_matches('.');
            // kubectl's `deploy/NAME` shorthand for the Backstage Deployment.
            if path == "deploy/backstage" {
                continue;
            }
            if !repo().join(path).exists() {
                problems.push(format!("{doc}: `{path}` does not exist"));
            }
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

fn kubectl_available() -> bool {
    std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `to` relative to `from`; kustomize refuses absolute paths.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let up = from.components().count().saturating_sub(1);
    let mut out: PathBuf = std::iter::repeat_n("..", up).collect();
    out.push(to.strip_prefix("/").unwrap_or(to));
    out
}

fn kustomize_build(dir: &Path) -> anyhow::Result<Vec<Object>> {
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()?;
    ensure!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = from_yaml_stream(&String::from_utf8(out.stdout)?, Limits::default())?;
    docs.iter()
        .map(|d| parse_object(d, &Schemas::default()))
        .collect()
}

#[test]
fn kustomizations_render_with_kubectl() -> anyhow::Result<()> {
    if !kubectl_available() {
        eprintln!("kubectl not found: skipping the kustomize render check");
        return Ok(());
    }
    struct Case {
        reason: &'static str,
        /// An existing kustomization, or an overlay to add to the example Backstage.
        dir: &'static str,
        overlay: bool,
        deployment: bool,
        bindings: &'static [(&'static str, Option<&'static str>)],
    }
    let cases = [
        Case {
            reason: "the example",
            dir: "examples/kustomize",
            overlay: false,
            deployment: true,
            bindings: &[("osp-read", None)],
        },
        Case {
            reason: "Helm support objects",
            dir: "helm",
            overlay: false,
            deployment: false,
            bindings: &[("osp-read", None)],
        },
        Case {
            reason: "read-only",
            dir: "kustomize/overlays/read-only",
            overlay: true,
            deployment: true,
            bindings: &[("osp-read", None)],
        },
        Case {
            reason: "direct-apply keeps its RoleBinding in the target namespace",
            dir: "kustomize/overlays/direct-apply",
            overlay: true,
            deployment: true,
            bindings: &[("osp-read", None), ("osp-apply", Some("team-a"))],
        },
        Case {
            reason: "direct-apply-impersonate",
            dir: "kustomize/overlays/direct-apply-impersonate",
            overlay: true,
            deployment: true,
            bindings: &[("osp-read", None), ("osp-impersonate", None)],
        },
    ];
    for c in cases {
        let dir = if c.overlay {
            let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("deploy-{}", c.dir.replace('/', "-")));
            std::fs::create_dir_all(&tmp)?;
            // `..` steps must walk the real path, not a symlink.
            let tmp = tmp.canonicalize()?;
            let deploy = deploy().canonicalize()?;
            let backstage = relative(&tmp, &deploy.join("examples/kustomize/backstage"));
            let overlay = relative(&tmp, &deploy.join(c.dir));
            let k = format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [{}]\ncomponents: [{}]\n\
                 transformers:\n  - |-\n    apiVersion: builtin\n    kind: NamespaceTransformer\n    metadata: {{name: ns, namespace: backstage}}\n    unsetOnly: true\n    setRoleBindingSubjects: allServiceAccounts\n",
                backstage.display(),
                overlay.display()
            );
            std::fs::write(tmp.join("kustomization.yaml"), k)?;
            tmp
        } else {
            deploy().join(c.dir)
        };
        let objs = kustomize_build(&dir).with_context(|| c.reason)?;
        let mut bindings = Vec::new();
        let mut deployments = 0;
        for o in &objs {
            let (name, ns, subjects) = match o {
                Object::ClusterRoleBinding(b) => {
                    (b.metadata.name.clone(), None, b.subjects.clone())
                }
                Object::RoleBinding(b) => (
                    b.metadata.name.clone(),
                    b.metadata.namespace.clone(),
                    b.subjects.clone(),
                ),
                Object::ServiceAccount(sa) => {
                    ensure!(
                        sa.metadata.namespace.as_deref() == Some("backstage"),
                        "{}: ServiceAccount outside `backstage`",
                        c.reason
                    );
                    continue;
                }
                Object::Deployment(d) => {
                    deployments += 1;
                    let spec = pod_spec(d)?;
                    ensure!(
                        spec.service_account_name.as_deref() == Some("osp"),
                        "{}: pod not using the `osp` ServiceAccount",
                        c.reason
                    );
                    ensure!(
                        spec.automount_service_account_token == Some(false),
                        "{}: pod automounts a token",
                        c.reason
                    );
                    ensure!(
                        spec.containers.len() >= 2,
                        "{}: the Backstage container is gone",
                        c.reason
                    );
                    let problems = sidecar_problems(
                        sidecar(&spec.containers)?,
                        spec.volumes.as_deref().unwrap_or_default(),
                    );
                    ensure!(problems.is_empty(), "{}: {}", c.reason, problems.join("; "));
                    continue;
                }
                _ => continue,
            };
            for s in subjects.unwrap_or_default() {
                ensure!(
                    s.namespace.as_deref() == Some("backstage"),
                    "{}: `{name:?}` subject not in `backstage`",
                    c.reason
                );
            }
            bindings.push((name.unwrap_or_default(), ns));
        }
        ensure!(
            deployments == usize::from(c.deployment),
            "{}: `{deployments}` Deployments rendered",
            c.reason
        );
        let mut want: Vec<_> = c
            .bindings
            .iter()
            .map(|(n, ns)| ((*n).to_owned(), ns.map(str::to_owned)))
            .collect();
        want.sort();
        bindings.sort();
        ensure!(
            bindings == want,
            "{}: bindings {bindings:?}, want {want:?}",
            c.reason
        );
    }
    Ok(())
}

#[test]
fn sidecar_config_map_is_a_valid_config_file() -> anyhow::Result<()> {
    let files = load()?;
    let mut found = 0;
    for (path, o) in objects(&files) {
        let Object::ConfigMap(cm) = o else { continue };
        if cm.metadata.name.as_deref() != Some("osp-config") {
            continue;
        }
        found += 1;
        let data = cm.data.clone().unwrap_or_default();
        let text = data
            .get("config.yaml")
            .context("osp-config without `config.yaml`")?;
        // The sidecar's own type, which rejects unknown keys.
        let _: osp_sidecar::FileConfig =
            serde_json::from_value(osp::document::from_yaml(text, Limits::default())?)
                .with_context(|| format!("deploy/{}: config.yaml", path.display()))?;
        for key in data.keys() {
            ensure!(
                ["config.yaml", "otlpEndpoint"].contains(&key.as_str()),
                "osp-config: unexpected key `{key}`"
            );
        }
    }
    ensure!(
        found == 1,
        "expected one `osp-config` ConfigMap, found `{found}`"
    );
    Ok(())
}
