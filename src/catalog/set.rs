//! The entity set kept between builds, so one change costs what it
//! touches: each source's entities grouped by ref. [`Set::changes`] names
//! the refs that changed since it was last asked, resolving contested refs
//! the one way [`super::for_catalog`] resolves a whole set (it puts each
//! key's entities into a fresh set).
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::entity;

/// Entities by source key, resolved to one entity per ref.
#[derive(Debug, Default)]
pub struct Set {
    /// Source key → the refs of its entities.
    sources: HashMap<String, Vec<String>>,
    /// Ref → its entities with their source keys, by key, each key's in
    /// input order; the first keeps the name. A sorted `Vec`, not a map:
    /// nearly every ref has one entity, and a map's node per ref cost
    /// about half a KiB (5 MiB at 10,000 entities).
    groups: BTreeMap<String, Vec<(String, Arc<Value>)>>,
    /// Refs with more than one entity.
    contested: BTreeSet<String>,
    /// The renamed entities of the last resolution.
    renamed: BTreeMap<String, Arc<Value>>,
    /// Refs whose first entity may have changed since the last changes.
    touched: BTreeSet<String>,
}

impl Set {
    /// Makes `entities` what source `key` holds (none: it holds nothing).
    pub fn put(&mut self, key: &str, entities: Vec<Arc<Value>>) {
        self.remove(key);
        if entities.is_empty() {
            return;
        }
        let mut refs = Vec::with_capacity(entities.len());
        for e in entities {
            let r = entity::ref_of(&e);
            let group = self.groups.entry(r.clone()).or_default();
            let at = group.partition_point(|(k, _)| k.as_str() <= key);
            group.insert(at, (key.to_string(), e));
            if group.len() > 1 {
                self.contested.insert(r.clone());
            }
            self.touched.insert(r.clone());
            refs.push(r);
        }
        self.sources.insert(key.to_string(), refs);
    }

    /// Forgets what source `key` holds.
    pub fn remove(&mut self, key: &str) {
        let Some(refs) = self.sources.remove(key) else {
            return;
        };
        for r in refs {
            if let Some(group) = self.groups.get_mut(&r) {
                group.retain(|(k, _)| k != key);
                match group.len() {
                    0 => {
                        self.groups.remove(&r);
                        self.contested.remove(&r);
                    }
                    1 => {
                        self.contested.remove(&r);
                    }
                    _ => {}
                }
            }
            self.touched.insert(r);
        }
    }

    /// Number of entities in the resolved set.
    pub fn len(&self) -> usize {
        self.groups.len() + self.renamed.len()
    }

    /// True when there are no entities.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Each ref that may have changed since the last call, sorted, with its
    /// entity now (`None`: removed). Unchanged entities keep their `Arc`.
    pub fn changes(&mut self) -> Vec<(String, Option<Arc<Value>>)> {
        let mut refs = std::mem::take(&mut self.touched);
        if !self.contested.is_empty() || !self.renamed.is_empty() {
            // A rename depends on every name taken: resolve all again
            // (contested refs are rare).
            let renamed = self.resolve();
            refs.extend(self.renamed.keys().cloned());
            refs.extend(renamed.keys().cloned());
            self.renamed = renamed;
        }
        refs.into_iter()
            .map(|r| {
                let now = self.first(&r).or_else(|| self.renamed.get(&r).cloned());
                (r, now)
            })
            .collect()
    }

    /// The whole resolved set (what [`super::for_catalog`] returns).
    pub fn resolved(&self) -> BTreeMap<String, Arc<Value>> {
        let mut out: BTreeMap<String, Arc<Value>> = self
            .groups
            .keys()
            .filter_map(|r| Some((r.clone(), self.first(r)?)))
            .collect();
        out.extend(self.resolve());
        out
    }

    fn first(&self, r: &str) -> Option<Arc<Value>> {
        self.groups.get(r)?.first().map(|(_, e)| e.clone())
    }

    /// The contested entities after each ref's first, renamed.
    fn resolve(&self) -> BTreeMap<String, Arc<Value>> {
        let mut out = BTreeMap::new();
        for r in &self.contested {
            let Some(group) = self.groups.get(r) else {
                continue;
            };
            for (key, e) in group.iter().skip(1) {
                let (r, e) = renamed(key, e, |r| {
                    self.groups.contains_key(r) || out.contains_key(r)
                });
                out.insert(r, Arc::new(e));
            }
        }
        out
    }
}

/// A contested entity renamed `<name>-<8 hex digits of FNV-1a of its key>`
/// (`-1`, `-2`… more while `taken`), shortened to stay valid; and its ref.
fn renamed(key: &str, contested: &Value, taken: impl Fn(&str) -> bool) -> (String, Value) {
    let name = contested["metadata"]["name"].as_str().unwrap_or_default();
    let hash = format!("{:08x}", entity::fnv1a(key.as_bytes()) as u32);
    let mut n = 0u32;
    loop {
        let suffix = if n == 0 {
            hash.clone()
        } else {
            format!("{hash}-{n}")
        };
        let keep = entity::MAX_NAME_LEN - suffix.len() - 1;
        let base: String = name.chars().take(keep).collect();
        let base = base.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        let mut e = contested.clone();
        e["metadata"]["name"] = json!(format!("{base}-{suffix}"));
        let r = entity::ref_of(&e);
        if !taken(&r) {
            return (r, e);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Input, for_catalog};
    use proptest::prelude::*;
    use serde_json::json;

    fn entity(kind: &str, name: &str, v: u8) -> Arc<Value> {
        Arc::new(json!({"kind": kind, "metadata": {"name": name}, "v": v}))
    }

    /// One step: source `key` now holds these (kind, name, version)s.
    fn step() -> impl Strategy<Value = (u8, Vec<(u8, u8, u8)>)> {
        (
            0u8..6,
            prop::collection::vec((0u8..2, 0u8..4, 0u8..2), 0..3),
        )
    }

    proptest! {
        /// Whatever the puts and removals, the set resolved step by step is
        /// the one `for_catalog` makes from scratch, and the changes
        /// reported carry one state to the next.
        #[test]
        fn changes_reproduce_for_catalog(steps in prop::collection::vec(step(), 1..30)) {
            let mut set = Set::default();
            let mut held: BTreeMap<String, Vec<Arc<Value>>> = BTreeMap::new();
            let mut seen: BTreeMap<String, Arc<Value>> = BTreeMap::new();
            for (key, items) in steps {
                let key = format!("k{key}");
                // Two names are what `n0` becomes for `k1` and `k2` when
                // contested, so renames collide with firsts too.
                let hash = |k: &str| format!("{:08x}", entity::fnv1a(k.as_bytes()) as u32);
                let names = ["n0".to_string(), "n1".to_string(), format!("n0-{}", hash("k1")), format!("n0-{}", hash("k2"))];
                let es: Vec<Arc<Value>> = items
                    .iter()
                    .map(|(k, n, v)| entity(["Resource", "API"][*k as usize], &names[*n as usize], *v))
                    .collect();
                set.put(&key, es.clone());
                held.insert(key, es);
                let want = for_catalog(
                    held.iter()
                        .flat_map(|(k, es)| es.iter().map(|e| Input { key: k.clone(), entity: e.clone() }))
                        .collect(),
                );
                for (r, e) in set.changes() {
                    match e {
                        Some(e) => seen.insert(r, e),
                        None => seen.remove(&r),
                    };
                }
                prop_assert_eq!(&seen, &want);
                prop_assert_eq!(&set.resolved(), &want);
                prop_assert_eq!(set.len(), want.len());
            }
        }
    }

    #[test]
    fn an_unchanged_entity_is_not_reported() {
        let mut set = Set::default();
        let a = entity("Resource", "a", 0);
        set.put("one", vec![a.clone()]);
        set.put("two", vec![entity("Resource", "b", 0)]);
        assert_eq!(set.changes().len(), 2, "both are new");
        set.put("two", vec![entity("Resource", "b", 1)]);
        let changes = set.changes();
        assert_eq!(
            changes.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
            ["resource:default/b"],
            "only the changed source's ref"
        );
        set.remove("one");
        assert_eq!(
            set.changes(),
            vec![("resource:default/a".to_string(), None)],
            "a removal is reported once"
        );
        assert!(set.changes().is_empty(), "nothing changed since");
    }
}
