//! The revisioned change log. A revision is `epoch << 32 | counter`: the
//! epoch identifies one sidecar instance (its start time), so a revision
//! from another instance, or from before a restart, is recognised and
//! answered with "resync needed" instead of a wrong delta. Each entry
//! remembers the revision that last changed it, and removals leave a
//! tombstone; tombstones are bounded, and a delta from before the oldest
//! evicted tombstone needs a resync.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::entity;

/// Default bound on remembered removals.
pub const MAX_TOMBSTONES: usize = 50_000;

/// The epoch a revision belongs to.
pub fn epoch_of(revision: u64) -> u32 {
    (revision >> 32) as u32
}

/// One entity as served.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The entity.
    pub entity: Arc<Value>,
    /// Its JSON text, made once per change so snapshots only copy it.
    pub json: Arc<str>,
    /// FNV-1a of its JSON text; changes exactly when the entity changes.
    pub etag: String,
    /// Revision that last added or changed it.
    pub changed: u64,
}

/// Every entity at one revision, sorted by ref.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The revision.
    pub revision: u64,
    /// `(ref, entry)` pairs.
    pub entities: Vec<(String, Entry)>,
}

/// What changed since a revision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    /// Revision after applying this delta.
    pub revision: u64,
    /// The requested revision is unknown here: take a snapshot.
    pub resync_needed: bool,
    /// Added or changed entities, sorted by ref.
    pub upserted: Vec<(String, Entry)>,
    /// Removed refs, sorted.
    pub removed: Vec<String>,
}

/// The change log.
#[derive(Debug, Clone)]
pub struct Log {
    epoch: u32,
    counter: u32,
    entries: BTreeMap<String, Entry>,
    tombstones: BTreeMap<String, u64>,
    by_removal: BTreeSet<(u64, String)>,
    max_tombstones: usize,
    // Deltas since revisions below this cannot be computed any more.
    floor: u64,
}

impl Log {
    /// An empty log for an instance with this (non-zero) epoch.
    pub fn new(epoch: u32) -> Self {
        Self::with_max_tombstones(epoch, MAX_TOMBSTONES)
    }

    /// Like [`Log::new`] with a bound on remembered removals.
    pub fn with_max_tombstones(epoch: u32, max_tombstones: usize) -> Self {
        // Epoch 0 would make revision 0 ("nothing seen") look current.
        let epoch = epoch.max(1);
        Self {
            epoch,
            counter: 0,
            entries: BTreeMap::new(),
            tombstones: BTreeMap::new(),
            by_removal: BTreeSet::new(),
            max_tombstones,
            floor: u64::from(epoch) << 32,
        }
    }

    /// The current revision.
    pub fn revision(&self) -> u64 {
        (u64::from(self.epoch) << 32) | u64::from(self.counter)
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entities.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for a ref.
    pub fn get(&self, r: &str) -> Option<&Entry> {
        self.entries.get(r)
    }

    /// Makes `next` the entity set; the revision advances by one when
    /// anything was added, changed or removed. Returns whether it did.
    pub fn replace(&mut self, next: BTreeMap<String, Arc<Value>>) -> bool {
        let removed: Vec<(String, Option<Arc<Value>>)> = self
            .entries
            .keys()
            .filter(|r| !next.contains_key(*r))
            .map(|r| (r.clone(), None))
            .collect();
        let upserted = next.into_iter().map(|(r, e)| (r, Some(e)));
        self.apply(removed.into_iter().chain(upserted))
    }

    /// Applies what changed: each ref with its entity now, `None` when it
    /// is gone. Refs not named keep their entries, so the cost follows the
    /// changes, not the set; a named entity equal to the one held is no
    /// change. The revision advances by one when anything was added,
    /// changed or removed. Returns whether it did.
    pub fn apply(
        &mut self,
        changes: impl IntoIterator<Item = (String, Option<Arc<Value>>)>,
    ) -> bool {
        let revision = self.revision() + 1;
        let mut changed = false;
        for (r, entity) in changes {
            changed |= match entity {
                Some(e) => self.upsert(r, e, revision),
                None => self.remove(r, revision),
            };
        }
        if changed {
            self.counter = self.counter.wrapping_add(1);
            if self.counter == 0 {
                // 2^32 changes in one run: start a new epoch so old
                // revisions resync rather than alias.
                self.epoch = self.epoch.wrapping_add(1).max(1);
                self.floor = self.revision();
            }
        }
        changed
    }

    fn upsert(&mut self, r: String, entity: Arc<Value>, revision: u64) -> bool {
        let same = self
            .entries
            .get(&r)
            .is_some_and(|e| Arc::ptr_eq(&e.entity, &entity) || *e.entity == *entity);
        if same {
            return false;
        }
        if let Some(at) = self.tombstones.remove(&r) {
            self.by_removal.remove(&(at, r.clone()));
        }
        let json: Arc<str> = entity.to_string().into();
        let etag = format!("{:016x}", entity::fnv1a(json.as_bytes()));
        self.entries.insert(
            r,
            Entry {
                entity,
                json,
                etag,
                changed: revision,
            },
        );
        true
    }

    fn remove(&mut self, r: String, revision: u64) -> bool {
        if self.entries.remove(&r).is_none() {
            return false;
        }
        self.bury(r, revision);
        true
    }

    fn bury(&mut self, r: String, revision: u64) {
        self.tombstones.insert(r.clone(), revision);
        self.by_removal.insert((revision, r));
        while self.by_removal.len() > self.max_tombstones {
            let Some((at, r)) = self.by_removal.pop_first() else {
                break;
            };
            self.tombstones.remove(&r);
            self.floor = self.floor.max(at);
        }
    }

    /// Every entity at the current revision.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            revision: self.revision(),
            entities: self
                .entries
                .iter()
                .map(|(r, e)| (r.clone(), e.clone()))
                .collect(),
        }
    }

    /// What changed after `since`, or `resync_needed` when `since` is from
    /// another epoch, from the future, or older than the remembered
    /// removals.
    pub fn delta(&self, since: u64) -> Delta {
        let revision = self.revision();
        if epoch_of(since) != self.epoch || since > revision || since < self.floor {
            return Delta {
                revision,
                resync_needed: true,
                ..Delta::default()
            };
        }
        if since == revision {
            // What pollers ask most: nothing changed, no need to scan.
            return Delta {
                revision,
                ..Delta::default()
            };
        }
        Delta {
            revision,
            resync_needed: false,
            upserted: self
                .entries
                .iter()
                .filter(|(_, e)| e.changed > since)
                .map(|(r, e)| (r.clone(), e.clone()))
                .collect(),
            removed: {
                let mut v: Vec<String> = self
                    .by_removal
                    .range((since + 1, String::new())..)
                    .map(|(_, r)| r.clone())
                    .collect();
                v.sort();
                v
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(items: &[(&str, i64)]) -> BTreeMap<String, Arc<Value>> {
        items
            .iter()
            .map(|(r, v)| (r.to_string(), Arc::new(json!({"v": v}))))
            .collect()
    }

    fn refs(d: &Delta) -> (Vec<&str>, Vec<&str>) {
        (
            d.upserted.iter().map(|(r, _)| r.as_str()).collect(),
            d.removed.iter().map(String::as_str).collect(),
        )
    }

    #[test]
    fn revisions_advance_only_on_change() {
        let mut log = Log::new(7);
        let r0 = log.revision();
        assert_eq!(epoch_of(r0), 7, "the epoch is in the high bits");
        assert!(log.replace(set(&[("a", 1)])), "adding is a change");
        let r1 = log.revision();
        assert!(r1 > r0, "revisions increase");
        assert!(!log.replace(set(&[("a", 1)])), "the same set is no change");
        assert_eq!(log.revision(), r1, "no change keeps the revision");
        let etag = log.get("a").map(|e| e.etag.clone());
        log.replace(set(&[("a", 2)]));
        assert_ne!(
            log.get("a").map(|e| e.etag.clone()),
            etag,
            "etag follows content"
        );
    }

    #[test]
    fn applying_changes_touches_only_the_named_refs() {
        let mut log = Log::new(2);
        log.replace(set(&[("a", 1), ("b", 1)]));
        let b = log.get("b").cloned();
        assert!(
            !log.apply([("c".to_string(), None)]),
            "removing what is not there is no change"
        );
        assert!(log.apply([("a".to_string(), Some(Arc::new(json!({"v": 2}))))]));
        assert_eq!(log.get("b").cloned(), b, "an unnamed ref keeps its entry");
        let d = log.delta(log.revision() - 1);
        assert_eq!(
            refs(&d),
            (vec!["a"], vec![]),
            "the change alone is upserted"
        );
        assert!(
            log.apply([("a".to_string(), None)]),
            "a removal is a change"
        );
        assert_eq!(refs(&log.delta(log.revision() - 1)), (vec![], vec!["a"]));
    }

    #[test]
    fn deltas() {
        struct Case {
            reason: &'static str,
            since: fn(&[u64]) -> u64,
            want_resync: bool,
            want: (Vec<&'static str>, Vec<&'static str>),
        }
        // r[0]: {} → r[1]: {a,b} → r[2]: {a',b,c} → r[3]: {a',c} → r[4]: {a',b'',c}
        let mut log = Log::new(3);
        let mut revs = vec![log.revision()];
        for s in [
            set(&[("a", 1), ("b", 1)]),
            set(&[("a", 2), ("b", 1), ("c", 1)]),
            set(&[("a", 2), ("c", 1)]),
            set(&[("a", 2), ("b", 3), ("c", 1)]),
        ] {
            log.replace(s);
            revs.push(log.revision());
        }
        let cases = [
            Case {
                reason: "from the start everything is upserted",
                since: |r| r[0],
                want_resync: false,
                want: (vec!["a", "b", "c"], vec![]),
            },
            Case {
                reason: "a removed then re-added ref is an upsert, not a removal",
                since: |r| r[1],
                want_resync: false,
                want: (vec!["a", "b", "c"], vec![]),
            },
            Case {
                reason: "a removal after `since` is reported",
                since: |r| r[2],
                want_resync: false,
                want: (vec!["b"], vec![]),
            },
            Case {
                reason: "the current revision has no changes",
                since: |r| r[4],
                want_resync: false,
                want: (vec![], vec![]),
            },
            Case {
                reason: "zero (never synced) needs a snapshot",
                since: |_| 0,
                want_resync: true,
                want: (vec![], vec![]),
            },
            Case {
                reason: "a revision of another instance needs a snapshot",
                since: |r| r[2] ^ (1 << 40),
                want_resync: true,
                want: (vec![], vec![]),
            },
            Case {
                reason: "a revision from the future needs a snapshot",
                since: |r| r[4] + 1,
                want_resync: true,
                want: (vec![], vec![]),
            },
        ];
        for c in cases {
            let d = log.delta((c.since)(&revs));
            assert_eq!(d.resync_needed, c.want_resync, "{}", c.reason);
            assert_eq!(refs(&d), c.want, "{}", c.reason);
            assert_eq!(d.revision, log.revision(), "{}", c.reason);
        }
        log.replace(set(&[("c", 1)]));
        let d = log.delta(revs[4]);
        assert_eq!(refs(&d), (vec![], vec!["a", "b"]), "removals are listed");
    }

    #[test]
    fn bounded_tombstones_force_a_resync() {
        let mut log = Log::with_max_tombstones(1, 2);
        log.replace(set(&[("a", 1), ("b", 1), ("c", 1)]));
        let old = log.revision();
        log.replace(set(&[("b", 1), ("c", 1)]));
        let mid = log.revision();
        log.replace(set(&[("c", 1)]));
        assert!(!log.delta(old).resync_needed, "two removals are remembered");
        log.replace(set(&[]));
        assert!(
            log.delta(old).resync_needed,
            "the oldest removal was forgotten"
        );
        let d = log.delta(mid);
        assert!(!d.resync_needed, "later revisions still get deltas");
        assert_eq!(refs(&d).1, vec!["b", "c"], "with every removal since");
    }

    #[test]
    fn applying_deltas_reproduces_the_snapshot() {
        // Whatever sequence of sets, snapshot(r0) + delta(r0) == snapshot(now).
        let mut log = Log::new(9);
        let mut seen: BTreeMap<String, Arc<Value>> = BTreeMap::new();
        let mut rev = log.revision();
        for step in 0..40i64 {
            let next: BTreeMap<String, Arc<Value>> = (0..8i64)
                .filter(|i| (step * 7 + i * 3) % 5 != 0)
                .map(|i| (format!("e{i}"), Arc::new(json!({"v": (step + i) % 3}))))
                .collect();
            log.replace(next.clone());
            if step % 3 == 0 {
                let d = log.delta(rev);
                assert!(!d.resync_needed, "step {step}");
                for r in &d.removed {
                    seen.remove(r);
                }
                for (r, e) in d.upserted {
                    seen.insert(r, e.entity);
                }
                rev = d.revision;
                assert_eq!(seen, next, "step {step}: applied deltas equal the set");
            }
        }
    }
}
