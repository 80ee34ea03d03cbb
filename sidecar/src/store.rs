//! The definitions the sidecar knows, per cluster, looked up by name in
//! cluster order. Filled from a directory of YAML files (`--from-dir`) and,
//! with discovery, from clusters.
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use osp::convert::Converted;

/// Name of the pseudo-cluster that `--from-dir` definitions belong to.
pub(crate) const FROM_DIR_CLUSTER: &str = "from-dir";

/// One known definition and its generated entities.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// Where it came from (`from-dir` or a cluster name).
    pub cluster: String,
    /// The file it was read from, when from a directory.
    pub file: Option<PathBuf>,
    /// The converted definition.
    pub converted: Arc<Converted>,
}

#[derive(Debug, Default)]
struct Inner {
    // Cluster name → definition name → definition.
    clusters: BTreeMap<String, BTreeMap<String, Known>>,
    // Lookup order; clusters not listed come after, by name.
    order: Vec<String>,
    // What changed since the catalog last took the changes.
    changed: Changed,
}

#[derive(Debug, Default)]
struct Changed {
    // The order changed: every name may have another first copy.
    all: bool,
    names: BTreeSet<String>,
}

/// The definitions that changed since the last [`Store::take_changes`],
/// each with its copies now (cluster order; none: it is gone).
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Every definition is listed (asked for, or the order changed); names
    /// gone from every cluster are then not.
    pub all: bool,
    /// Definition name → its copies and their clusters, first cluster
    /// first.
    pub definitions: Vec<(String, Vec<(String, Known)>)>,
}

/// Thread-safe definitions by cluster and name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    inner: Arc<RwLock<Inner>>,
}

impl Store {
    /// Sets the cluster lookup order (configuration order).
    pub(crate) fn set_order(&self, order: Vec<String>) {
        let mut inner = self.write();
        inner.order = order;
        inner.changed.all = true;
    }

    /// What changed since the last call (everything when `all`), taken
    /// with the copies now under one lock, so no change is missed.
    pub(crate) fn take_changes(&self, all: bool) -> Changes {
        let mut inner = self.write();
        let changed = std::mem::take(&mut inner.changed);
        let all = all || changed.all;
        let names = if all {
            inner
                .clusters
                .values()
                .flat_map(|d| d.keys().cloned())
                .collect()
        } else {
            changed.names
        };
        let definitions = names
            .into_iter()
            .map(|name| {
                let copies = ordered(&inner)
                    .filter_map(|(c, defs)| Some((c.to_string(), defs.get(&name)?.clone())))
                    .collect();
                (name, copies)
            })
            .collect();
        Changes { all, definitions }
    }

    /// Looks a definition up by name, in the first cluster that has it.
    pub(crate) fn get(&self, name: &str) -> Option<Known> {
        let inner = self.read();
        ordered(&inner).find_map(|(_, defs)| defs.get(name).cloned())
    }

    /// Looks a definition up in one cluster only.
    pub(crate) fn get_in(&self, cluster: &str, name: &str) -> Option<Known> {
        self.read().clusters.get(cluster)?.get(name).cloned()
    }

    /// Every known definition of every cluster, in cluster order, then by
    /// name.
    pub(crate) fn all(&self) -> Vec<Known> {
        let inner = self.read();
        ordered(&inner)
            .flat_map(|(_, defs)| defs.values().cloned())
            .collect()
    }

    /// Replaces everything that came from `cluster` with `items`. When two
    /// items share a definition name the first wins (for a directory: the
    /// first file in path order, then the first document), with a warning
    /// naming both; the ignored ones are returned.
    pub(crate) fn replace_cluster(&self, cluster: &str, items: Vec<Known>) -> Vec<Shadowed> {
        let (defs, shadowed) = first_of_each(items);
        for s in &shadowed {
            tracing::warn!(
                definition = %s.name,
                kept = %s.kept,
                ignored = %s.ignored,
                "definition defined twice; the first source in path order wins"
            );
        }
        let mut inner = self.write();
        let old = inner.clusters.insert(cluster.to_string(), defs);
        let Inner {
            clusters, changed, ..
        } = &mut *inner;
        changed.names.extend(replaced(
            old.as_ref(),
            clusters.get(cluster).unwrap_or(&BTreeMap::new()),
        ));
        shadowed
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-written
        // (every write is a single insert or remove), so a poisoned lock is
        // safe to use.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A definition ignored because an earlier source has the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shadowed {
    /// The definition name.
    pub name: String,
    /// The source that is used ([`Known::source`]).
    pub kept: String,
    /// The source that is ignored.
    pub ignored: String,
}

impl Known {
    /// Where it came from, for messages: its file, else its cluster.
    pub(crate) fn source(&self) -> String {
        match &self.file {
            Some(f) => format!("file `{}`", f.display()),
            None => format!("cluster `{}`", self.cluster),
        }
    }
}

/// `items` by definition name, the first of each name kept.
fn first_of_each(items: Vec<Known>) -> (BTreeMap<String, Known>, Vec<Shadowed>) {
    let mut defs: BTreeMap<String, Known> = BTreeMap::new();
    let mut shadowed = Vec::new();
    for k in items {
        match defs.entry(k.converted.definition.name.clone()) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(k);
            }
            std::collections::btree_map::Entry::Occupied(first) => shadowed.push(Shadowed {
                name: first.key().clone(),
                kept: first.get().source(),
                ignored: k.source(),
            }),
        }
    }
    (defs, shadowed)
}

/// Names added, removed or replaced by another conversion between `old`
/// and `new`: a pointer comparison per name, nothing converted again.
fn replaced(old: Option<&BTreeMap<String, Known>>, new: &BTreeMap<String, Known>) -> Vec<String> {
    let empty = BTreeMap::new();
    let old = old.unwrap_or(&empty);
    let gone = old.keys().filter(|n| !new.contains_key(*n));
    let differ = new.iter().filter(|(n, k)| {
        old.get(*n)
            .is_none_or(|o| !Arc::ptr_eq(&o.converted, &k.converted))
    });
    gone.chain(differ.map(|(n, _)| n)).cloned().collect()
}

fn ordered(inner: &Inner) -> impl Iterator<Item = (&str, &BTreeMap<String, Known>)> {
    let listed = inner
        .order
        .iter()
        .filter_map(|c| inner.clusters.get_key_value(c));
    let rest = inner
        .clusters
        .iter()
        .filter(|(c, _)| !inner.order.contains(c));
    listed.chain(rest).map(|(c, d)| (c.as_str(), d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use osp::document::{self, Limits};

    fn known(cluster: &str, yaml: &str) -> Known {
        let doc = document::from_yaml(yaml, Limits::default()).expect("yaml");
        Known {
            cluster: cluster.into(),
            file: None,
            converted: Arc::new(osp::convert::for_entities(&doc).expect("converts")),
        }
    }

    const XRD: &str = crate::fixtures::XRD_V2_NAMESPACED;

    #[test]
    fn changes_name_only_what_was_replaced() {
        let store = Store::default();
        let a = known("a", XRD);
        let other = known("a", &crate::fixtures::xrd_v1().yaml());
        store.replace_cluster("a", vec![a.clone(), other.clone()]);
        let names = |c: Changes| -> Vec<(String, usize)> {
            c.definitions
                .into_iter()
                .map(|(n, copies)| (n, copies.len()))
                .collect()
        };
        assert_eq!(names(store.take_changes(false)).len(), 2, "both are new");
        store.replace_cluster("a", vec![a.clone(), other.clone()]);
        assert!(
            store.take_changes(false).definitions.is_empty(),
            "the same conversions again are no change"
        );
        store.replace_cluster("a", vec![known("a", XRD), other.clone()]);
        assert_eq!(
            names(store.take_changes(false)),
            [("xapps.example.org".to_string(), 1)],
            "a new conversion of one definition names it alone"
        );
        store.replace_cluster("a", vec![other]);
        assert_eq!(
            names(store.take_changes(false)),
            [("xapps.example.org".to_string(), 0)],
            "a removed one is named without copies"
        );
        let all = store.take_changes(true);
        assert!(all.all);
        assert_eq!(
            names(all),
            [("xdbs.example.org".to_string(), 1)],
            "all: every name held"
        );
    }

    #[test]
    fn looks_up_in_cluster_order() {
        let store = Store::default();
        store.replace_cluster("b", vec![known("b", XRD)]);
        store.replace_cluster("a", vec![known("a", XRD)]);
        assert_eq!(
            store.get("xapps.example.org").map(|k| k.cluster),
            Some("a".into()),
            "unordered clusters come by name"
        );
        store.set_order(vec!["b".into(), "a".into()]);
        assert_eq!(
            store.get("xapps.example.org").map(|k| k.cluster),
            Some("b".into()),
            "configuration order wins"
        );
        assert_eq!(store.all().len(), 2, "each cluster's copy is listed");
        store.replace_cluster("b", vec![]);
        assert_eq!(
            store.get("xapps.example.org").map(|k| k.cluster),
            Some("a".into()),
            "the other cluster's copy remains"
        );
    }
}
