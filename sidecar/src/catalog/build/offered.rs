//! The kinds each cluster's definitions offer and the XR kinds of all of
//! them, kept up to date one definition at a time.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use osp::convert::Converted;
use osp::definition::kinds::GroupKind;

/// Conversions by the kinds they offer.
#[derive(Debug, Default)]
pub(super) struct Offered {
    /// Cluster → definition name → the conversion indexed.
    by_cluster: HashMap<String, BTreeMap<String, Arc<Converted>>>,
    /// (cluster, kind) → definition name → conversion; the last name
    /// offers the kind.
    kinds: HashMap<(String, GroupKind), BTreeMap<String, Arc<Converted>>>,
    /// XR kind → conversions (any cluster) that have it.
    counts: HashMap<GroupKind, usize>,
    /// Every XR kind offered (nested XRs and claims depend on them).
    pub(super) composites: BTreeSet<GroupKind>,
    /// [`Self::composites`] changed since [`Self::take_composites_changed`].
    composites_changed: bool,
}

impl Offered {
    /// The clusters that offer definition `name`.
    pub(super) fn clusters_with(&self, name: &str) -> Vec<String> {
        let with = self.by_cluster.iter().filter(|(_, d)| d.contains_key(name));
        with.map(|(c, _)| c.clone()).collect()
    }

    /// Makes `now` what `cluster` serves as `name`; returns the kinds whose
    /// offering conversion may have changed (none when it is the same).
    pub(super) fn set(
        &mut self,
        cluster: &str,
        name: &str,
        now: Option<&Arc<Converted>>,
    ) -> Vec<GroupKind> {
        let defs = self.by_cluster.entry(cluster.to_string()).or_default();
        let before = match now {
            Some(c) => defs.insert(name.to_string(), c.clone()),
            None => defs.remove(name),
        };
        if defs.is_empty() {
            self.by_cluster.remove(cluster);
        }
        if let (Some(b), Some(n)) = (&before, now)
            && Arc::ptr_eq(b, n)
        {
            return Vec::new();
        }
        let composite = |c: Option<&Arc<Converted>>| c.and_then(|c| c.definition.composite());
        if composite(before.as_ref()) != composite(now) {
            // Counted only when the XR kind itself changes: a count going
            // 1 → 0 → 1 would look like a change and rebuild every Resource.
            if let Some(b) = &before {
                self.count(b, false);
            }
            if let Some(n) = now {
                self.count(n, true);
            }
        }
        let mut touched = Vec::new();
        if let Some(b) = before {
            for kind in b.definition.group_kinds() {
                let key = (cluster.to_string(), kind.clone());
                if let Some(m) = self.kinds.get_mut(&key) {
                    m.remove(name);
                    if m.is_empty() {
                        self.kinds.remove(&key);
                    }
                }
                touched.push(kind);
            }
        }
        if let Some(n) = now {
            for kind in n.definition.group_kinds() {
                let key = (cluster.to_string(), kind.clone());
                let m = self.kinds.entry(key).or_default();
                m.insert(name.to_string(), n.clone());
                touched.push(kind);
            }
        }
        touched
    }

    /// The conversion offering `kind` in `cluster`.
    pub(super) fn offering(&self, cluster: &str, kind: &GroupKind) -> Option<&Arc<Converted>> {
        let m = self.kinds.get(&(cluster.to_string(), kind.clone()))?;
        m.last_key_value().map(|(_, c)| c)
    }

    /// Whether the XR kinds changed since the last call.
    pub(super) fn take_composites_changed(&mut self) -> bool {
        std::mem::take(&mut self.composites_changed)
    }

    fn count(&mut self, c: &Converted, add: bool) {
        let Some(kind) = c.definition.composite() else {
            return;
        };
        let n = self.counts.entry(kind.clone()).or_default();
        if add {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
        }
        let held = *n > 0;
        if !held {
            self.counts.remove(&kind);
        }
        let changed = if held {
            self.composites.insert(kind)
        } else {
            self.composites.remove(&kind)
        };
        self.composites_changed |= changed;
    }
}
