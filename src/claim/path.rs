//! Where a rendered manifest goes in a GitOps repository, and the stable
//! key that names the object across retries.
use super::metadata::given;
use super::{ClaimInput, Error};
use crate::definition::Definition;

/// Definition annotations that override the path layout, ours first.
pub const TARGET_PATH_ANNOTATIONS: [&str; 2] =
    ["osp.dev/target-path", "terasky.backstage.io/target-path"];

/// Layout for namespaced kinds.
const NAMESPACED: &str = "{cluster}/{namespace}/{kind}/{name}.yaml";
/// Layout for cluster-scoped kinds.
const CLUSTER: &str = "{cluster}/{kind}/{name}.yaml";

/// The suggested repository path: the layout under [`ClaimInput::base`], or
/// a definition's annotation pattern as written (it names the whole path).
/// A pattern not ending in `.yaml`/`.yml` names a directory; the file is
/// `{name}.yaml` inside it.
pub fn repository_path(def: &Definition, input: &ClaimInput) -> Result<String, Error> {
    let custom = TARGET_PATH_ANNOTATIONS
        .iter()
        .find_map(|a| def.annotations.get(*a).map(|p| (*a, p.trim())));
    let Some((annotation, pattern)) = custom else {
        let layout = if def.is_namespaced() {
            NAMESPACED
        } else {
            CLUSTER
        };
        let path = expand(layout, def, input).map_err(|message| Error::TargetPath {
            annotation: String::new(),
            message,
        })?;
        // The base is a literal folder, never a pattern.
        return Ok(match given(&input.base).map(|b| b.trim_matches('/')) {
            Some(base) if !base.is_empty() => format!("{base}/{path}"),
            _ => path,
        });
    };
    let pattern = if pattern.ends_with(".yaml") || pattern.ends_with(".yml") {
        pattern.to_string()
    } else {
        format!("{}/{{name}}.yaml", pattern.trim_end_matches('/'))
    };
    expand(&pattern, def, input).map_err(|message| Error::TargetPath {
        annotation: annotation.to_string(),
        message,
    })
}

/// `claim/{cluster}/{namespace}/{kind}/{name}` (namespace segment omitted
/// for cluster-scoped kinds).
pub fn idempotency_key(def: &Definition, input: &ClaimInput) -> String {
    let mut parts = vec!["claim", cluster(input)];
    if let Some(ns) = given(&input.namespace) {
        parts.push(ns);
    }
    let kind = def.target().kind.to_lowercase();
    parts.push(&kind);
    parts.push(&input.name);
    parts.join("/")
}

/// The ref of the `Resource` entity the catalog gives this object once the
/// sidecar sees it in its cluster: the name is [`crate::resource::name_of`]
/// (the very function the catalog names Resources with) of the target kind,
/// and Resources carry no `metadata.namespace`, so the entity namespace is
/// `default`. A contested name (two objects with the same name, rare) gets a
/// hash suffix in the catalog that this ref cannot know.
pub fn entity_ref(def: &Definition, input: &ClaimInput) -> String {
    let name = crate::resource::name_of(
        cluster(input),
        &def.target().kind,
        given(&input.namespace).unwrap_or_default(),
        &input.name,
    );
    format!("resource:default/{name}")
}

fn cluster(input: &ClaimInput) -> &str {
    given(&input.cluster).unwrap_or("default")
}

fn expand(pattern: &str, def: &Definition, input: &ClaimInput) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unclosed placeholder in `{pattern}`"))?;
        let key = rest[start + 1..start + end].trim();
        let value = match key {
            "cluster" => cluster(input).to_string(),
            "namespace" => given(&input.namespace).unwrap_or_default().to_string(),
            "kind" => def.target().kind.to_lowercase(),
            "name" => input.name.clone(),
            other => {
                return Err(format!(
                    "unknown placeholder `{{{other}}}` in `{pattern}`, expected `cluster`, `namespace`, `kind` or `name`"
                ));
            }
        };
        out.push_str(&value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    // An empty segment (a cluster-scoped `{namespace}`) is squeezed out.
    let segments: Vec<&str> = out.split('/').filter(|s| !s.is_empty()).collect();
    if out.starts_with('/') || segments.iter().any(|s| *s == ".." || *s == ".") {
        return Err(format!(
            "`{out}` must be a relative path without `.` or `..`"
        ));
    }
    Ok(segments.join("/"))
}
