//! Where each held object is filed, by kind and by Namespace, so a change
//! to a definition or to a Namespace finds the objects it affects without
//! walking every object.
use std::collections::{BTreeSet, HashMap};

use osp::definition::kinds::GroupKind;
use serde_json::Value;

use crate::catalog::ObjectId;

/// Objects by (cluster, kind) and by (cluster, Namespace).
#[derive(Debug, Default)]
pub(super) struct Index {
    placed: HashMap<ObjectId, (GroupKind, Option<String>)>,
    by_kind: HashMap<(String, GroupKind), BTreeSet<ObjectId>>,
    by_namespace: HashMap<(String, String), BTreeSet<ObjectId>>,
}

impl Index {
    /// Files `id` under what `obj` is now (`None`: it is gone).
    pub(super) fn file(&mut self, id: &ObjectId, obj: Option<&Value>) {
        let now = obj.map(|o| {
            let ns = o["metadata"]["namespace"].as_str().map(str::to_string);
            (GroupKind::of_object(o), ns)
        });
        if self.placed.get(id) == now.as_ref() {
            return;
        }
        if let Some((kind, ns)) = self.placed.remove(id) {
            let cluster = id.0.clone();
            unfile(&mut self.by_kind, (cluster.clone(), kind), id);
            if let Some(ns) = ns {
                unfile(&mut self.by_namespace, (cluster, ns), id);
            }
        }
        if let Some((kind, ns)) = now {
            let cluster = id.0.clone();
            let by_kind = self.by_kind.entry((cluster.clone(), kind.clone()));
            by_kind.or_default().insert(id.clone());
            if let Some(ns) = &ns {
                let by_ns = self.by_namespace.entry((cluster, ns.clone()));
                by_ns.or_default().insert(id.clone());
            }
            self.placed.insert(id.clone(), (kind, ns));
        }
    }

    /// The objects of `kind` in `cluster`.
    pub(super) fn of_kind(&self, cluster: &str, kind: &GroupKind) -> Vec<ObjectId> {
        let key = (cluster.to_string(), kind.clone());
        self.by_kind
            .get(&key)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// The objects in Namespace `ns` of `cluster`.
    pub(super) fn in_namespace(&self, cluster: &str, ns: &str) -> Vec<ObjectId> {
        let key = (cluster.to_string(), ns.to_string());
        self.by_namespace
            .get(&key)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// Every object filed.
    pub(super) fn ids(&self) -> impl Iterator<Item = &ObjectId> {
        self.placed.keys()
    }
}

fn unfile<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, BTreeSet<ObjectId>>,
    key: K,
    id: &ObjectId,
) {
    if let Some(ids) = map.get_mut(&key) {
        ids.remove(id);
        if ids.is_empty() {
            map.remove(&key);
        }
    }
}
