//! One build of the entity set, from what changed since the last one: a
//! changed definition re-does its Template and API and the Resources of
//! the kinds it offers, a changed object its own Resource, a changed
//! Namespace the Resources in it; every other entity, and its JSON and etag
//! in the log, is left as it was. So a change to one claim among thousands
//! costs one entity, not a walk over the catalog.
mod index;
mod offered;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use osp::catalog::{Set, for_definition};
use osp::convert::Converted;
use osp::definition::kinds::GroupKind;
use osp::resource::{Context, for_resource};
use serde_json::Value;

use super::{Changed, Data, ObjectId, Settings};
use crate::store::{Changes, Known};

/// What the last builds made, kept for the next one.
#[derive(Debug, Default)]
pub(super) struct Cache {
    set: Set,
    definitions: HashMap<String, CachedDefinition>,
    resources: HashMap<(String, String), CachedResource>,
    offered: offered::Offered,
    index: index::Index,
    /// Conversions of entities built, for the tests.
    #[cfg(test)]
    built: usize,
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

#[cfg(test)]
impl Cache {
    /// Entities built (Templates and APIs of a definition count once).
    pub(super) fn built(&self) -> usize {
        self.built
    }
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

/// Applies what changed since the last build; returns each entity ref that
/// may have changed with its entity now (`None`: removed), for
/// [`osp::catalog::Log::apply`].
pub(super) fn update(
    definitions: Changes,
    objects: Changed,
    data: &Data,
    settings: &Settings,
    cache: &mut Cache,
) -> Vec<(String, Option<Arc<Value>>)> {
    let all = definitions.all || objects.all;
    let mut dirty = objects.objects;
    let mut names = definitions.definitions;
    if definitions.all {
        // Names no cluster holds any more are not listed: forget them too.
        let listed: BTreeSet<String> = names.iter().map(|(n, _)| n.clone()).collect();
        let gone = cache.definitions.keys().filter(|n| !listed.contains(*n));
        names.extend(gone.map(|n| (n.clone(), Vec::new())).collect::<Vec<_>>());
    }
    for (name, copies) in &names {
        for (cluster, kind) in definition(name, copies, settings, cache) {
            dirty.extend(cache.index.of_kind(&cluster, &kind));
        }
    }
    if cache.offered.take_composites_changed() {
        // dependsOn depends on which kinds are XRs: rebuild every Resource.
        cache.resources.clear();
        dirty.extend(every_object(data, cache));
    } else if all {
        dirty.extend(every_object(data, cache));
    }
    let namespaces: Vec<(String, String)> = dirty
        .iter()
        .filter(|(_, source, _)| source == super::NAMESPACES)
        .filter_map(|(c, _, key)| Some((c.clone(), key.rsplit('/').next()?.to_string())))
        .collect();
    for (cluster, ns) in namespaces {
        dirty.extend(cache.index.in_namespace(&cluster, &ns));
    }
    for id in &dirty {
        resource(id, data, settings, cache);
    }
    cache.set.changes()
}

/// Every object held now or filed before.
fn every_object(data: &Data, cache: &Cache) -> Vec<ObjectId> {
    let held = data.objects.iter().flat_map(|(c, sources)| {
        sources.iter().flat_map(move |(s, objects)| {
            objects
                .keys()
                .map(move |k| (c.clone(), s.clone(), k.clone()))
        })
    });
    held.chain(cache.index.ids().cloned()).collect()
}

/// Re-does the Template and API of definition `name` (one per name, from
/// the first cluster in configuration order that has it, listing every
/// cluster that does) when its conversion or clusters changed, and files
/// its kinds; returns the (cluster, kind)s whose offering changed.
fn definition(
    name: &str,
    copies: &[(String, Known)],
    settings: &Settings,
    cache: &mut Cache,
) -> Vec<(String, GroupKind)> {
    let mut touched = Vec::new();
    let mut clusters: Vec<String> = cache.offered.clusters_with(name);
    clusters.extend(copies.iter().map(|(c, _)| c.clone()));
    clusters.sort();
    clusters.dedup();
    for c in clusters {
        let now = copies
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, k)| &k.converted);
        let kinds = cache.offered.set(&c, name, now);
        touched.extend(kinds.into_iter().map(|k| (c.clone(), k)));
    }
    let key = format!("definition/{name}");
    let Some((_, known)) = copies.first() else {
        cache.definitions.remove(name);
        cache.set.remove(&key);
        return touched;
    };
    let clusters: Vec<String> = copies.iter().map(|(c, _)| c.clone()).collect();
    let all: Vec<&Known> = copies.iter().map(|(_, k)| k).collect();
    let differing = differing(&all);
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
        _ => {
            #[cfg(test)]
            {
                cache.built += 1;
            }
            let made = for_definition(&known.converted, &clusters, &settings.listing);
            let made: Vec<Arc<Value>> = made.into_iter().map(Arc::new).collect();
            cache.set.put(&key, made.clone());
            made
        }
    };
    cache.definitions.insert(
        name.to_string(),
        CachedDefinition {
            converted: known.converted.clone(),
            clusters,
            entities,
            differing,
        },
    );
    touched
}

/// Re-does the Resource of object `id`: one when a definition of its
/// cluster offers its kind, reused when nothing it is made from changed.
/// Keys are unique within a cluster (watch sources are per kind), so the
/// set knows it as `object/<cluster>/<key>`.
fn resource(id: &ObjectId, data: &Data, settings: &Settings, cache: &mut Cache) {
    let (cluster, source, key) = id;
    let sources = data.objects.get(cluster);
    let obj = sources.and_then(|s| s.get(source)).and_then(|m| m.get(key));
    cache.index.file(id, obj.map(AsRef::as_ref));
    let set_key = format!("object/{cluster}/{key}");
    let rid = (cluster.clone(), key.clone());
    let cached = cache.resources.remove(&rid);
    let converted = obj.and_then(|o| {
        let kind = GroupKind::of_object(o);
        cache.offered.offering(cluster, &kind).cloned()
    });
    let (Some(obj), Some(converted)) = (obj, converted) else {
        cache.set.remove(&set_key);
        return;
    };
    let namespaces = sources.and_then(|s| s.get(super::NAMESPACES));
    let offered = Offered {
        cluster,
        key,
        obj,
        defaults: defaults_of(settings, &converted, namespace_of(obj, namespaces)),
        converted: &converted,
    };
    let reused = cached.as_ref().is_some_and(|c| {
        Arc::ptr_eq(&c.object, obj)
            && Arc::ptr_eq(&c.converted, &converted)
            && c.defaults == offered.defaults
    });
    let entity = match cached {
        Some(c) if reused => Some(c.entity),
        _ => {
            #[cfg(test)]
            {
                cache.built += 1;
            }
            let entity = resource_entity(&offered, settings, &cache.offered.composites);
            if let Some(e) = &entity {
                cache.set.put(&set_key, vec![e.clone()]);
            } else {
                cache.set.remove(&set_key);
            }
            entity
        }
    };
    if let Some(entity) = entity {
        let c = CachedResource {
            object: obj.clone(),
            converted: converted.clone(),
            defaults: offered.defaults,
            entity,
        };
        cache.resources.insert(rid, c);
    }
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

/// The object's Resource entity; `None` (warned) when it cannot be built.
fn resource_entity(
    offered: &Offered<'_>,
    settings: &Settings,
    composites: &BTreeSet<GroupKind>,
) -> Option<Arc<Value>> {
    let (cluster, key, converted) = (offered.cluster, offered.key, offered.converted);
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
        composites,
    };
    match for_resource(offered.obj, &ctx) {
        Ok(e) => Some(Arc::new(e)),
        Err(e) => {
            tracing::warn!(%cluster, object = %key, error = %e, "resource skipped");
            None
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
