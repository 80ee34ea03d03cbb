//! The catalog the sidecar serves: the entity set built from cached
//! definitions and objects ([`for_catalog`] at once, [`Set`] change by
//! change), and the revisioned change log that turns successive sets into
//! snapshots and deltas ([`Log`]).
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::annotations::CatalogMode;
use crate::convert::Converted;

mod log;
mod set;

pub use log::{Delta, Entry, Log, MAX_TOMBSTONES, Snapshot, epoch_of};
pub use set::Set;

/// Annotation listing the clusters a definition exists in.
pub const CLUSTERS_ANNOTATION: &str = "osp.dev/clusters";

/// One entity and the identity of what it was built from.
#[derive(Debug, Clone)]
pub struct Input {
    /// Stable, unique identity of the source (e.g. `definition/<name>` or
    /// `object/<cluster>/<apiVersion>/<kind>/<namespace>/<name>`); it decides
    /// who keeps a contested name.
    pub key: String,
    /// The entity.
    pub entity: Arc<Value>,
}

/// What the operator decides about listing definitions, on top of each
/// definition's own `osp.dev/catalog` (the `catalog.definitions` section):
/// the least listed of the three wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Listing {
    /// Only definitions carrying all these labels are listed; others are
    /// `none` (still served for rendering, their objects still Resources).
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// A mode per cluster [default: `full`]: a definition gets the most a
    /// cluster serving it allows, and its Template offers only the clusters
    /// whose mode is `full`.
    #[serde(default)]
    pub cluster_modes: BTreeMap<String, CatalogMode>,
}

impl Listing {
    fn cluster_mode(&self, cluster: &str) -> CatalogMode {
        self.cluster_modes.get(cluster).copied().unwrap_or_default()
    }

    /// The mode of a definition the `clusters` serve.
    pub fn mode_for(&self, converted: &Converted, clusters: &[String]) -> CatalogMode {
        let labels = &converted.definition.labels;
        let selected = self
            .match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        let by_cluster = clusters
            .iter()
            .map(|c| self.cluster_mode(c))
            .max()
            .unwrap_or_default();
        let by_selector = if selected {
            CatalogMode::Full
        } else {
            CatalogMode::None
        };
        converted.catalog.min(by_cluster).min(by_selector)
    }
}

/// The Template and API of a definition, as many as its mode asks for
/// ([`Listing::mode_for`]), annotated with the clusters it exists in
/// (configuration order). A Template that several clusters may create in
/// offers the choice.
pub fn for_definition(converted: &Converted, clusters: &[String], listing: &Listing) -> Vec<Value> {
    let mode = listing.mode_for(converted, clusters);
    let mut out = Vec::new();
    if mode.has_template() {
        let mut template = converted.template.clone();
        let choice: Vec<String> = clusters
            .iter()
            .filter(|c| listing.cluster_mode(c).has_template())
            .cloned()
            .collect();
        if choice.len() > 1 {
            with_cluster_choice(&mut template, &choice);
        }
        out.push(template);
    }
    if mode.has_api() {
        out.push(converted.api.clone());
    }
    for e in &mut out {
        if let Some(a) = e
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            a.insert(CLUSTERS_ANNOTATION.into(), json!(clusters.join(",")));
        }
    }
    out
}

/// Adds a `cluster` field (the clusters, the first by default) to the
/// Template's first page and passes it to the render and apply steps, which
/// take the repository path, the key and the apply target from it.
fn with_cluster_choice(template: &mut Value, clusters: &[String]) {
    if let Some(props) = template
        .pointer_mut("/spec/parameters/0/properties")
        .and_then(Value::as_object_mut)
    {
        props.insert(
            "cluster".into(),
            json!({
                "title": "Cluster",
                "type": "string",
                "description": "Cluster it is created in; the repository path follows it.",
                "enum": clusters,
                "default": clusters[0],
            }),
        );
    }
    let steps = template
        .pointer_mut("/spec/steps")
        .and_then(Value::as_array_mut);
    for step in steps.into_iter().flatten() {
        let claim_step = matches!(
            step["action"].as_str(),
            Some("osp:claim:render" | "osp:claim:apply")
        );
        if let Some(input) = step.get_mut("input").and_then(Value::as_object_mut)
            && claim_step
        {
            input.insert("cluster".into(), json!("${{ parameters.cluster }}"));
        }
    }
}

/// The entity set by ref. Entities whose refs collide are resolved
/// deterministically: sorted by [`Input::key`], the first keeps its name and
/// each other gets `<name>-<8 hex digits of FNV-1a of its key>` (shortened
/// to stay valid), so a name never depends on arrival order.
pub fn for_catalog(inputs: Vec<Input>) -> BTreeMap<String, Arc<Value>> {
    // One resolution, the one the sidecar keeps between builds: each key's
    // entities put at once, in input order.
    let mut by_key: BTreeMap<String, Vec<Arc<Value>>> = BTreeMap::new();
    for i in inputs {
        by_key.entry(i.key).or_default().push(i.entity);
    }
    let mut set = Set::default();
    for (key, entities) in by_key {
        set.put(&key, entities);
    }
    set.resolved()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity;

    fn resource(name: &str) -> Arc<Value> {
        Arc::new(json!({"kind": "Resource", "metadata": {"name": name}}))
    }

    #[test]
    fn resolves_collisions_by_key() {
        let a = Input {
            key: "object/a".into(),
            entity: resource("x"),
        };
        let b = Input {
            key: "object/b".into(),
            entity: resource("x"),
        };
        let one = for_catalog(vec![a.clone(), b.clone()]);
        let two = for_catalog(vec![b, a]);
        assert_eq!(one, two, "arrival order does not matter");
        assert_eq!(one.len(), 2, "both are kept");
        assert!(
            Arc::ptr_eq(&one["resource:default/x"], &one["resource:default/x"]),
            "the first key keeps the name"
        );
        let renamed: Vec<_> = one.keys().filter(|k| *k != "resource:default/x").collect();
        assert!(
            renamed[0].starts_with("resource:default/x-"),
            "the other gets a hash suffix: {renamed:?}"
        );
    }

    /// A claim or XR of `kind` for `def`, with URL-looking status fields
    /// (only the absolute one may become a link).
    fn object(def: &crate::definition::Definition, kind: &str) -> Value {
        let mut metadata = json!({"name": format!("my-{}", kind.to_lowercase())});
        if def.is_namespaced() || def.claim_names.as_ref().is_some_and(|c| c.kind == kind) {
            metadata["namespace"] = json!("team-a");
        }
        json!({
            "apiVersion": def.api_version(),
            "kind": kind,
            "metadata": metadata,
            "spec": {},
            "status": {
                "endpoint": "https://db.example.org:5432/x",
                "console": "/relative/console",
                "broken": "http:// not a url",
                "empty": "https://",
            },
        })
    }

    #[test]
    fn every_link_is_an_absolute_url() {
        struct Case {
            reason: &'static str,
            app_base_url: &'static str,
            want_edit_prefix: &'static str,
        }
        let cases = [
            Case {
                reason: "Backstage's default app.baseUrl",
                app_base_url: "http://localhost:3000",
                want_edit_prefix: "http://localhost:3000/create/templates/default/",
            },
            Case {
                reason: "an app under a path, written with a trailing slash",
                app_base_url: "https://portal.example.org/backstage/",
                want_edit_prefix: "https://portal.example.org/backstage/create/templates/default/",
            },
        ];
        let examples = [
            include_str!("../examples/postgres-xrd.yaml"),
            include_str!("../examples/bucket-xrd.yaml"),
            include_str!("../examples/network-xrd.yaml"),
        ];
        for c in cases {
            let mut inputs = Vec::new();
            let mut composites = std::collections::BTreeSet::new();
            let converted: Vec<Converted> = examples
                .iter()
                .map(|y| {
                    let doc = crate::document::from_yaml(y, Default::default()).expect("yaml");
                    crate::convert::for_entities(&doc).expect("converts")
                })
                .collect();
            for conv in &converted {
                let d = &conv.definition;
                composites.insert(crate::definition::kinds::GroupKind::new(
                    &d.group,
                    &d.names.kind,
                ));
            }
            for conv in &converted {
                let def = &conv.definition;
                for e in for_definition(conv, &["prod".to_string()], &Listing::default()) {
                    inputs.push(Input {
                        key: format!("definition/{}", def.name),
                        entity: Arc::new(e),
                    });
                }
                let mut kinds = vec![def.names.kind.clone()];
                kinds.extend(def.claim_names.as_ref().map(|n| n.kind.clone()));
                for kind in kinds {
                    let ctx = crate::resource::Context {
                        cluster: "prod",
                        definition: def,
                        template_name: conv.template["metadata"]["name"].as_str().expect("name"),
                        app_base_url: c.app_base_url,
                        default_owner: "group:default/team-a",
                        default_system: None,
                        composites: &composites,
                        passthrough: &crate::resource::Passthrough::NONE,
                    };
                    let e =
                        crate::resource::for_resource(&object(def, &kind), &ctx).expect("resource");
                    inputs.push(Input {
                        key: format!("object/prod/{}/{kind}", def.group),
                        entity: Arc::new(e),
                    });
                }
            }
            let set = for_catalog(inputs);
            let mut kinds = std::collections::BTreeSet::new();
            let (mut links, mut edits) = (0, 0);
            for e in set.values() {
                kinds.insert(e["kind"].as_str().unwrap_or_default().to_string());
                for l in e["metadata"]["links"].as_array().into_iter().flatten() {
                    let url = l["url"].as_str().unwrap_or_default();
                    assert!(
                        entity::is_absolute_url(url),
                        "{}: `{url}` of {} is not absolute",
                        c.reason,
                        entity::ref_of(e)
                    );
                    links += 1;
                    if l["type"] == "edit" {
                        assert!(url.starts_with(c.want_edit_prefix), "{}: {url}", c.reason);
                        edits += 1;
                    }
                }
            }
            assert_eq!(
                kinds,
                ["API", "Resource", "Template"].map(String::from).into(),
                "{}: every kind of entity was checked",
                c.reason
            );
            // Claims, and XRs without a claim, are edited: 1 + 1 + 1.
            assert_eq!(edits, 3, "{}: the edit links are there", c.reason);
            assert_eq!(
                links,
                edits + 4,
                "{}: one status link per Resource, the others dropped",
                c.reason
            );
        }
    }

    #[test]
    fn long_contested_names_stay_valid() {
        let long = "n".repeat(63);
        let set = for_catalog(vec![
            Input {
                key: "1".into(),
                entity: resource(&long),
            },
            Input {
                key: "2".into(),
                entity: resource(&long),
            },
        ]);
        for e in set.values() {
            let n = e["metadata"]["name"].as_str().unwrap_or_default();
            assert!(n.len() <= entity::MAX_NAME_LEN, "`{n}` is too long");
        }
    }

    #[test]
    fn a_definition_lists_what_its_catalog_mode_asks_for() {
        let yaml = include_str!("../examples/bucket-xrd.yaml");
        for (mode, want, reason) in [
            ("full", &["Template", "API"][..], "the default: both"),
            ("api-only", &["API"][..], "nobody creates it from Backstage"),
            ("none", &[][..], "left out of the catalog"),
        ] {
            let mut doc = crate::document::from_yaml(yaml, Default::default()).expect("yaml");
            doc["metadata"]["annotations"]["osp.dev/catalog"] = mode.into();
            let converted = crate::convert::for_entities(&doc).expect("converts");
            let kinds: Vec<String> =
                for_definition(&converted, &["prod".to_string()], &Listing::default())
                    .iter()
                    .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
                    .collect();
            assert_eq!(kinds, want, "{reason}");
        }
    }

    #[test]
    fn a_definition_served_by_several_clusters_offers_the_choice() {
        let doc = crate::document::from_yaml(
            include_str!("../examples/bucket-xrd.yaml"),
            Default::default(),
        )
        .expect("yaml");
        let converted = crate::convert::for_entities(&doc).expect("converts");
        let one = for_definition(&converted, &["prod".to_string()], &Listing::default());
        assert!(
            one[0]["spec"]["parameters"][0]["properties"]
                .get("cluster")
                .is_none(),
            "one cluster: no choice"
        );
        let two = for_definition(
            &converted,
            &["prod".to_string(), "staging".to_string()],
            &Listing::default(),
        );
        let field = &two[0]["spec"]["parameters"][0]["properties"]["cluster"];
        assert_eq!(
            field["enum"],
            json!(["prod", "staging"]),
            "every cluster offered"
        );
        assert_eq!(field["default"], "prod", "the first by default");
        let render = two[0]["spec"]["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["action"] == "osp:claim:render"))
            .expect("render step");
        assert_eq!(
            render["input"]["cluster"], "${{ parameters.cluster }}",
            "render uses it"
        );
        assert_eq!(two[1]["kind"], "API", "the API is unchanged");
    }

    #[test]
    fn the_operator_narrows_what_is_listed() {
        struct Case {
            reason: &'static str,
            listing: &'static str,
            clusters: &'static [&'static str],
            kinds: &'static [&'static str],
            choice: Option<&'static [&'static str]>,
        }
        let cases = [
            Case {
                reason: "no listing: everything, every cluster offered",
                listing: "{}",
                clusters: &["prod", "staging"],
                kinds: &["Template", "API"],
                choice: Some(&["prod", "staging"]),
            },
            Case {
                reason: "a label the definition lacks: not listed",
                listing: "{matchLabels: {portal: 'yes'}}",
                clusters: &["prod"],
                kinds: &[],
                choice: None,
            },
            Case {
                reason: "an api-only cluster is not offered; the other still is",
                listing: "{clusterModes: {staging: api-only}}",
                clusters: &["prod", "staging"],
                kinds: &["Template", "API"],
                choice: None,
            },
            Case {
                reason: "every serving cluster api-only: the API alone",
                listing: "{clusterModes: {prod: api-only, staging: none}}",
                clusters: &["prod", "staging"],
                kinds: &["API"],
                choice: None,
            },
        ];
        let doc = crate::document::from_yaml(
            include_str!("../examples/bucket-xrd.yaml"),
            Default::default(),
        )
        .expect("yaml");
        let converted = crate::convert::for_entities(&doc).expect("converts");
        for c in cases {
            let listing: Listing = serde_saphyr::from_str(c.listing).expect(c.reason);
            let clusters: Vec<String> = c.clusters.iter().map(|s| s.to_string()).collect();
            let entities = for_definition(&converted, &clusters, &listing);
            let kinds: Vec<&str> = entities.iter().filter_map(|e| e["kind"].as_str()).collect();
            assert_eq!(kinds, c.kinds, "{}", c.reason);
            let choice = entities
                .first()
                .map(|t| &t["spec"]["parameters"][0]["properties"]["cluster"]["enum"])
                .filter(|e| !e.is_null());
            assert_eq!(choice.cloned(), c.choice.map(|c| json!(c)), "{}", c.reason);
        }
    }
}
