//! One build of the entity set, reusing the entities of unchanged
//! definitions and objects from the previous build (so a change to one
//! claim among thousands costs one entity).
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use osp::catalog::{Input, for_catalog, for_definition};
use osp::convert::Converted;
use osp::definition::kinds::GroupKind;
use osp::resource::{Context, for_resource};
use serde_json::Value;

use super::{Data, Settings};
use crate::store::Known;

/// Entities kept from the previous build.
#[derive(Debug, Default)]
pub(super) struct Cache {
    definitions: HashMap<String, CachedDefinition>,
    resources: HashMap<(String, String), CachedResource>,
    composites: BTreeSet<GroupKind>,
}

#[derive(Debug)]
struct CachedDefinition {
    converted: Arc<Converted>,
    clusters: Vec<String>,
    entities: Vec<Arc<Value>>,
    /// Sources whose copy differs from the one used (warned about once).
    differing: Vec<String>,
}

#[derive(Debug)]
struct CachedResource {
    object: Arc<Value>,
    converted: Arc<Converted>,
    defaults: Defaults,
    entity: Arc<Value>,
}

/// Owner and system for an object that names none itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Defaults {
    owner: String,
    system: Option<String>,
}

/// Identity of an object independent of the API version it was read at.
pub(super) fn key_for(api_version: &str, kind: &str, namespace: &str, name: &str) -> String {
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    format!("{group}/{kind}/{namespace}/{name}")
}

/// [`key_for`] of an object.
pub(super) fn key_of(obj: &Value) -> String {
    let r = osp::resource::ObjectRef::of(obj);
    key_for(&r.api_version, &r.kind, &r.namespace, &r.name)
}

/// The sources of `copies` (same name, configuration order) whose API
/// entity differs from the first's: a different schema or presentation,
/// merged under the first one's Template. Compositions may differ per
/// cluster and do not count.
pub(crate) fn differing(copies: &[&Known]) -> Vec<String> {
    let Some((first, rest)) = copies.split_first() else {
        return Vec::new();
    };
    rest.iter()
        .filter(|k| {
            !Arc::ptr_eq(&k.converted, &first.converted) && k.converted.api != first.converted.api
        })
        .map(|k| k.source())
        .collect()
}

/// Templates and APIs: one per definition name, from the first cluster
/// (configuration order) that has it, listing every cluster that does.
fn definition_inputs(
    defs: &[(String, BTreeMap<String, Known>)],
    settings: &Settings,
    cache: &mut Cache,
    inputs: &mut Vec<Input>,
) {
    let mut by_name: BTreeMap<&str, (Vec<&Known>, Vec<String>)> = BTreeMap::new();
    for (cluster, known) in defs {
        for (name, k) in known {
            let (copies, clusters) = by_name.entry(name).or_default();
            copies.push(k);
            clusters.push(cluster.clone());
        }
    }
    let mut definitions = HashMap::new();
    for (name, (copies, clusters)) in by_name {
        let known = copies[0];
        let differing = differing(&copies);
        let warned = cache.definitions.get(name).map(|c| &c.differing);
        if !differing.is_empty() && warned != Some(&differing) {
            tracing::warn!(
                definition = %name,
                kept = %known.source(),
                differing = %differing.join(", "),
                "definition differs between sources; the Template and API follow the first source in configuration order"
            );
        }
        let entities = match cache.definitions.remove(name) {
            Some(c) if Arc::ptr_eq(&c.converted, &known.converted) && c.clusters == clusters => {
                c.entities
            }
            _ => for_definition(&known.converted, &clusters, &settings.listing)
                .into_iter()
                .map(Arc::new)
                .collect(),
        };
        for e in &entities {
            inputs.push(Input {
                key: format!("definition/{name}"),
                entity: e.clone(),
            });
        }
        definitions.insert(
            name.to_string(),
            CachedDefinition {
                converted: known.converted.clone(),
                clusters,
                entities,
                differing,
            },
        );
    }
    cache.definitions = definitions;
}

/// The entity set of every definition and object.
pub(super) fn entities(
    defs: &[(String, BTreeMap<String, Known>)],
    data: &Data,
    settings: &Settings,
    cache: &mut Cache,
) -> BTreeMap<String, Arc<Value>> {
    let mut inputs = Vec::new();

    definition_inputs(defs, settings, cache, &mut inputs);

    let composites = composite_kinds(defs);
    if composites != cache.composites {
        // dependsOn depends on which kinds are XRs: rebuild every Resource.
        cache.resources.clear();
        cache.composites = composites;
    }

    resource_inputs(defs, data, settings, cache, &mut inputs);
    for_catalog(inputs)
}

/// Every XR kind the definitions offer.
fn composite_kinds(defs: &[(String, BTreeMap<String, Known>)]) -> BTreeSet<GroupKind> {
    defs.iter()
        .flat_map(|(_, d)| d.values())
        .filter_map(|k| k.converted.definition.composite())
        .collect()
}

/// An object a definition of its cluster offers, and the owner and system
/// its Resource gets when it names none.
struct Offered<'a> {
    cluster: &'a str,
    key: &'a str,
    obj: &'a Arc<Value>,
    converted: &'a Arc<Converted>,
    defaults: Defaults,
}

/// Resources: one per object whose kind a definition of its cluster offers,
/// reused from the previous build when nothing it is made from changed.
fn resource_inputs(
    defs: &[(String, BTreeMap<String, Known>)],
    data: &Data,
    settings: &Settings,
    cache: &mut Cache,
    inputs: &mut Vec<Input>,
) {
    let mut resources = HashMap::new();
    for (cluster, sources) in &data.objects {
        let Some((_, known)) = defs.iter().find(|(c, _)| c == cluster) else {
            continue;
        };
        let index = kind_index(known);
        let namespaces = sources.get(super::NAMESPACES);
        for (key, obj) in sources.values().flatten() {
            let Some(k) = index.get(&GroupKind::of_object(obj)) else {
                continue;
            };
            let offered = Offered {
                cluster,
                key,
                obj,
                converted: &k.converted,
                defaults: defaults_of(settings, &k.converted, namespace_of(obj, namespaces)),
            };
            let id = (cluster.clone(), key.clone());
            let Some(entity) = resource_entity(&id, &offered, settings, cache) else {
                continue;
            };
            inputs.push(Input {
                key: format!("object/{cluster}/{key}"),
                entity: entity.clone(),
            });
            resources.insert(
                id,
                CachedResource {
                    object: obj.clone(),
                    converted: offered.converted.clone(),
                    defaults: offered.defaults,
                    entity,
                },
            );
        }
    }
    cache.resources = resources;
}

/// The definitions of one cluster by each kind they offer.
fn kind_index(known: &BTreeMap<String, Known>) -> HashMap<GroupKind, &Known> {
    known
        .values()
        .flat_map(|k| {
            k.converted
                .definition
                .group_kinds()
                .into_iter()
                .map(move |g| (g, k))
        })
        .collect()
}

/// Owner and system of an object that names none itself: its Namespace's
/// annotation (else label) under the configured keys; else, for the owner,
/// the configured default owner, else the Template's owner.
fn defaults_of(settings: &Settings, converted: &Converted, namespace: Option<&Value>) -> Defaults {
    let keys = &settings.namespace_keys;
    let owner = keys
        .owner_in(namespace)
        .map(str::to_string)
        .or_else(|| settings.default_owner.clone())
        .unwrap_or_else(|| {
            converted.template["spec"]["owner"]
                .as_str()
                .unwrap_or(osp::options::DEFAULT_OWNER)
                .to_string()
        });
    Defaults {
        owner,
        system: keys.system_in(namespace).map(str::to_string),
    }
}

/// The watched Namespace object `obj` lives in, if any.
fn namespace_of<'a>(
    obj: &Value,
    namespaces: Option<&'a BTreeMap<String, Arc<Value>>>,
) -> Option<&'a Value> {
    let name = obj["metadata"]["namespace"].as_str()?;
    namespaces?
        .get(&key_for("v1", "Namespace", "", name))
        .map(AsRef::as_ref)
}

/// The object's Resource entity: the cached one when object, definition and
/// defaults are the same, else built anew; `None` (warned) when it cannot be.
fn resource_entity(
    id: &(String, String),
    offered: &Offered<'_>,
    settings: &Settings,
    cache: &mut Cache,
) -> Option<Arc<Value>> {
    let (cluster, key, obj, converted) =
        (offered.cluster, offered.key, offered.obj, offered.converted);
    match cache.resources.remove(id) {
        Some(c)
            if Arc::ptr_eq(&c.object, obj)
                && Arc::ptr_eq(&c.converted, converted)
                && c.defaults == offered.defaults =>
        {
            Some(c.entity)
        }
        _ => {
            let ctx = Context {
                cluster,
                definition: &converted.definition,
                template_name: converted.template["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default(),
                app_base_url: &settings.app_base_url,
                default_owner: &offered.defaults.owner,
                default_system: offered.defaults.system.as_deref(),
                passthrough: &settings.passthrough,
                composites: &cache.composites,
            };
            match for_resource(obj, &ctx) {
                Ok(e) => Some(Arc::new(e)),
                Err(e) => {
                    tracing::warn!(%cluster, object = %key, error = %e, "resource skipped");
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_without_owner_or_system_inherits_its_namespace_s() {
        struct Case {
            reason: &'static str,
            keys: (Option<&'static str>, Option<&'static str>),
            default_owner: Option<&'static str>,
            namespace: Value,
            want: (&'static str, Option<&'static str>),
        }
        let ns = |meta: Value| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta});
        let cases = [
            Case {
                reason: "the Namespace's annotations under the configured keys",
                keys: (Some("example.org/owner"), Some("example.org/system")),
                default_owner: Some("group:default/platform"),
                namespace: ns(json!({"name": "team-a", "annotations": {
                    "example.org/owner": "group:default/team-a",
                    "example.org/system": "payments"}})),
                want: ("group:default/team-a", Some("payments")),
            },
            Case {
                reason: "else its labels (label values hold a bare name)",
                keys: (Some("owner"), Some("system")),
                default_owner: None,
                namespace: ns(
                    json!({"name": "team-a", "labels": {"owner": "team-a", "system": "shop"}}),
                ),
                want: ("team-a", Some("shop")),
            },
            Case {
                reason: "a Namespace without the keys: the configured default, no system",
                keys: (Some("example.org/owner"), Some("example.org/system")),
                default_owner: Some("group:default/platform"),
                namespace: ns(
                    json!({"name": "team-a", "annotations": {"example.org/system": " "}}),
                ),
                want: ("group:default/platform", None),
            },
            Case {
                reason: "no key configured: Namespaces are not read",
                keys: (None, None),
                default_owner: None,
                namespace: ns(json!({"name": "team-a", "annotations": {"example.org/owner": "x"}})),
                want: ("group:default/platform-team", None),
            },
        ];
        let converted = crate::fixtures::xrd_v1().converted();
        for c in cases {
            let settings = Settings {
                namespace_keys: osp::resource::NamespaceKeys {
                    owner: c.keys.0.map(str::to_string),
                    system: c.keys.1.map(str::to_string),
                },
                default_owner: c.default_owner.map(str::to_string),
                ..Settings::default()
            };
            let got = defaults_of(&settings, &converted, Some(&c.namespace));
            let want = Defaults {
                owner: c.want.0.to_string(),
                system: c.want.1.map(str::to_string),
            };
            assert_eq!(got, want, "{}", c.reason);
        }
    }
}
