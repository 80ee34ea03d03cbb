//! A driver of the real catalog for `benches/rebuild.rs`: generated
//! definitions and claims in one cluster, reported the way the cluster
//! watchers report them, then one change at a time. Hidden from the docs:
//! it exists so a bench can time the crate's own rebuild, not a copy.
use std::sync::Arc;

use osp::convert::Converted;
use serde_json::{Value, json};

use crate::catalog::{Catalog, Settings, SourceReport};
use crate::store::{Known, Store};

const CLUSTER: &str = "bench";

/// A synced catalog of generated definitions and claims.
#[derive(Debug)]
#[doc(hidden)]
pub struct Rebuild {
    catalog: Catalog,
    known: Vec<Known>,
    /// Two conversions of the first definition, differing in title: a
    /// change alternates between them.
    variants: [Arc<Converted>; 2],
    changes: u64,
}

/// XRD number `i`: a claim kind `Db{i}` with a few fields.
fn xrd(i: usize, title: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": format!("xdb{i}s.bench.example.org"),
                     "annotations": {"backstage.io/title": title}},
        "spec": {
            "group": "bench.example.org",
            "names": {"kind": format!("XDb{i}"), "plural": format!("xdb{i}s")},
            "claimNames": {"kind": format!("Db{i}"), "plural": format!("db{i}s")},
            "versions": [{"name": "v1", "served": true, "referenceable": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "string", "enum": ["small", "large"]},
                        "storageGB": {"type": "integer", "minimum": 1, "default": 10},
                        "region": {"type": "string", "default": "eu-west-1"}}}}}}}]
        }
    })
}

/// Claim number `n` of definition `i`, owned by `owner`.
fn claim(i: usize, n: usize, owner: &str) -> Value {
    json!({
        "apiVersion": "bench.example.org/v1",
        "kind": format!("Db{i}"),
        "metadata": {"name": format!("db-{n}"), "namespace": format!("team-{}", n % 20),
                     "annotations": {"osp.dev/owner": owner}},
        "spec": {"size": "small"},
        "status": {"conditions": [{"type": "Ready", "status": "True"},
                                  {"type": "Synced", "status": "True"}]}
    })
}

fn source(i: usize) -> String {
    format!("bench.example.org/Db{i}")
}

fn converted(doc: &Value) -> Arc<Converted> {
    Arc::new(osp::convert::for_entities(doc).unwrap_or_else(|e| panic!("bench XRD: {e}")))
}

impl Rebuild {
    /// `definitions` definitions and `claims` claims spread over them,
    /// built once.
    pub fn new(definitions: usize, claims: usize) -> Self {
        let catalog = Catalog::new(Store::default(), 1);
        catalog.configure(Settings {
            clusters: vec![CLUSTER.into()],
            ..Settings::default()
        });
        let known: Vec<Known> = (0..definitions.max(1))
            .map(|i| Known {
                cluster: CLUSTER.into(),
                file: None,
                converted: converted(&xrd(i, "Database")),
            })
            .collect();
        let variants = [known[0].converted.clone(), converted(&xrd(0, "Changed"))];
        catalog.store().replace_cluster(CLUSTER, known.clone());
        for i in 0..known.len() {
            let mine = (i..claims).step_by(known.len());
            let objects: Vec<Value> = mine.map(|n| claim(i, n, "group:default/a")).collect();
            catalog.replace_objects(CLUSTER, &source(i), objects);
        }
        catalog.set_state(CLUSTER, SourceReport::SYNCED);
        catalog.rebuild();
        Self {
            catalog,
            known,
            variants,
            changes: 0,
        }
    }

    /// Entities in the catalog.
    pub fn entities(&self) -> usize {
        self.catalog.snapshot().map_or(0, |s| s.entities.len())
    }

    /// One definition changed (its title), as a cluster reports it: the
    /// cluster's definitions replaced, then a rebuild.
    pub fn change_definition(&mut self) {
        self.changes += 1;
        self.known[0].converted = self.variants[(self.changes % 2) as usize].clone();
        self.catalog
            .store()
            .replace_cluster(CLUSTER, self.known.clone());
        self.catalog.changed();
        assert!(
            self.catalog.rebuild(),
            "a definition change is a new revision"
        );
    }

    /// One claim changed (its owner), as an instance watcher reports it,
    /// then a rebuild.
    pub fn change_claim(&mut self) {
        self.changes += 1;
        let owner = format!("group:default/team-{}", self.changes % 2);
        self.catalog
            .upsert_object(CLUSTER, &source(0), claim(0, 0, &owner));
        assert!(self.catalog.rebuild(), "a claim change is a new revision");
    }
}
