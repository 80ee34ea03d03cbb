//! The definitions the sidecar knows, per cluster, looked up by name in
//! cluster order. Filled from a directory of YAML files (`--from-dir`) and,
//! with discovery, from clusters.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use osp::convert::{Converted, Options};
use osp::document::{self, Limits};
use serde_json::Value;

use crate::files::Stamp;

/// Name of the pseudo-cluster that `--from-dir` definitions belong to.
pub const FROM_DIR_CLUSTER: &str = "from-dir";

/// One known definition and its generated entities.
#[derive(Debug, Clone)]
pub struct Known {
    /// Where it came from (`from-dir` or a cluster name).
    pub cluster: String,
    /// The file it was read from, when from a directory.
    pub file: Option<PathBuf>,
    /// The converted definition.
    pub converted: Arc<Converted>,
}

/// A document that could not be loaded.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The file.
    pub file: PathBuf,
    /// 0-based index of the document in the file.
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// What a directory holds: definitions, other objects (claims, XRs), and
/// what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Converted definitions, in file order.
    pub known: Vec<Known>,
    /// Every other document with a `kind` and a `metadata.name`; shared
    /// with the catalog, so a rescan's cache holds no second copy.
    pub objects: Vec<Arc<Value>>,
    /// Broken documents, and files that could not be read.
    pub rejected: Vec<Rejected>,
    /// Entries of the directory that were not read at all (not regular
    /// files, unreadable subdirectories, symlink loops).
    pub skipped: Vec<crate::files::Skipped>,
}

#[derive(Debug, Default)]
struct Inner {
    // Cluster name → definition name → definition.
    clusters: BTreeMap<String, BTreeMap<String, Known>>,
    // Lookup order; clusters not listed come after, by name.
    order: Vec<String>,
}

/// Thread-safe definitions by cluster and name.
#[derive(Debug, Clone, Default)]
pub struct Store {
    inner: Arc<RwLock<Inner>>,
}

impl Store {
    /// Sets the cluster lookup order (configuration order).
    pub fn set_order(&self, order: Vec<String>) {
        self.write().order = order;
    }

    /// Looks a definition up by name, in the first cluster that has it.
    pub fn get(&self, name: &str) -> Option<Known> {
        let inner = self.read();
        ordered(&inner).find_map(|(_, defs)| defs.get(name).cloned())
    }

    /// Looks a definition up in one cluster.
    pub fn get_in(&self, cluster: &str, name: &str) -> Option<Known> {
        self.read().clusters.get(cluster)?.get(name).cloned()
    }

    /// Every known definition of every cluster, in cluster order, then by
    /// name.
    pub fn all(&self) -> Vec<Known> {
        let inner = self.read();
        ordered(&inner)
            .flat_map(|(_, defs)| defs.values().cloned())
            .collect()
    }

    /// The definitions of each cluster, in cluster order.
    pub fn by_cluster(&self) -> Vec<(String, BTreeMap<String, Known>)> {
        let inner = self.read();
        ordered(&inner)
            .map(|(c, defs)| (c.to_string(), defs.clone()))
            .collect()
    }

    /// Replaces everything that came from `cluster` with `items`. When two
    /// items share a definition name the first wins (for a directory: the
    /// first file in path order, then the first document), with a warning
    /// naming both; the ignored ones are returned.
    pub fn replace_cluster(&self, cluster: &str, items: Vec<Known>) -> Vec<Shadowed> {
        let (defs, shadowed) = first_of_each(items);
        for s in &shadowed {
            tracing::warn!(
                definition = %s.name,
                kept = %s.kept,
                ignored = %s.ignored,
                "definition defined twice; the first source in path order wins"
            );
        }
        self.write().clusters.insert(cluster.to_string(), defs);
        shadowed
    }

    /// Adds or replaces one definition of `cluster`.
    pub fn upsert(&self, known: Known) {
        self.write()
            .clusters
            .entry(known.cluster.clone())
            .or_default()
            .insert(known.converted.definition.name.clone(), known);
    }

    /// Removes one definition of `cluster`; true when it was there.
    pub fn remove(&self, cluster: &str, name: &str) -> bool {
        self.write()
            .clusters
            .get_mut(cluster)
            .is_some_and(|d| d.remove(name).is_some())
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
pub struct Shadowed {
    /// The definition name.
    pub name: String,
    /// The source that is used ([`Known::source`]).
    pub kept: String,
    /// The source that is ignored.
    pub ignored: String,
}

impl Known {
    /// Where it came from, for messages: its file, else its cluster.
    pub fn source(&self) -> String {
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

/// Reads every `*.yaml`, `*.yml` and `*.json` file below `dir`, converting
/// each definition document. Documents of other kinds are ignored; broken
/// definitions are reported, never fatal for the others. Each file is read
/// under `limits`.
pub fn load_dir(dir: &Path, limits: Limits) -> std::io::Result<(Vec<Known>, Vec<Rejected>)> {
    let loaded = load_dir_all(dir, limits)?;
    Ok((loaded.known, loaded.rejected))
}

/// Like [`load_dir`], also keeping the other objects (claims, XRs, ...).
pub fn load_dir_all(dir: &Path, limits: Limits) -> std::io::Result<Loaded> {
    load_dir_cached(dir, limits, &Options::default(), &mut DirCache::default())
}

/// What each file held when last read, so a rescan reads and converts only
/// the files that changed (and unchanged definitions keep their identity,
/// which lets the catalog reuse their entities).
#[derive(Debug, Default)]
pub struct DirCache {
    files: HashMap<PathBuf, (Stamp, Loaded)>,
}

/// Like [`load_dir_all`], converting with `options` (the same for every
/// call with one `cache`) and reusing what `cache` holds for unchanged files.
/// Only an unreadable `dir` is an error: a file that cannot be read is
/// [rejected](Loaded::rejected) and the others are served.
pub fn load_dir_cached(
    dir: &Path,
    limits: Limits,
    options: &Options,
    cache: &mut DirCache,
) -> std::io::Result<Loaded> {
    let listing = crate::files::list(dir)?;
    let mut out = Loaded {
        skipped: listing.skipped,
        ..Loaded::default()
    };
    let mut seen = HashMap::new();
    for file in listing.files {
        let stamp = match std::fs::metadata(&file) {
            Ok(m) => crate::files::stamp(&m),
            // Removed between listing and reading: the next scan sees it gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            // Read (and rejected with the reason) below, never cached.
            Err(_) => Stamp::default(),
        };
        let loaded = match cache.files.remove(&file) {
            Some((s, l)) if s == stamp && s != Stamp::default() => l,
            _ => match load_file(&file, limits, options) {
                Some(l) => l,
                None => continue,
            },
        };
        out.known.extend(loaded.known.iter().cloned());
        out.objects.extend(loaded.objects.iter().cloned());
        out.rejected.extend(loaded.rejected.iter().cloned());
        seen.insert(file, (stamp, loaded));
    }
    cache.files = seen;
    Ok(out)
}

/// One file's documents; `None` when it disappeared. A file that cannot be
/// read (permissions, not a regular file, too large, not UTF-8) is one
/// rejection, never an error for the whole directory.
fn load_file(file: &Path, limits: Limits, options: &Options) -> Option<Loaded> {
    let mut out = Loaded::default();
    let file = file.to_path_buf();
    let reject = |reason: String| Rejected {
        file: file.clone(),
        index: 0,
        reason,
    };
    let text = match crate::files::read_text(&file, limits.max_bytes) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return None,
        Err(e) => {
            out.rejected.push(reject(e.reason()));
            return Some(out);
        }
    };
    let docs = match document::from_yaml_stream(&text, limits) {
        Ok(d) => d,
        Err(e) => {
            out.rejected.push(reject(e.to_string()));
            return Some(out);
        }
    };
    for (index, doc) in docs.into_iter().enumerate() {
        if !is_definition(&doc) {
            if doc.get("kind").and_then(Value::as_str).is_some()
                && doc
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .is_some()
            {
                out.objects.push(Arc::new(doc));
            }
            continue;
        }
        match osp::convert::for_entities_with(&doc, options) {
            Ok(c) => out.known.push(Known {
                cluster: FROM_DIR_CLUSTER.into(),
                file: Some(file.clone()),
                converted: Arc::new(c),
            }),
            Err(e) => out.rejected.push(Rejected {
                file: file.clone(),
                index,
                reason: e.to_string(),
            }),
        }
    }
    Some(out)
}

/// The YAML/JSON files below `dir`, sorted, and the entries skipped.
pub fn files(dir: &Path) -> std::io::Result<crate::files::Listing> {
    crate::files::list(dir)
}

/// True for kinds the converter handles.
pub fn is_definition(doc: &serde_json::Value) -> bool {
    matches!(
        doc.get("kind").and_then(|k| k.as_str()),
        Some("CompositeResourceDefinition" | "ResourceGraphDefinition" | "Promise")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(cluster: &str, yaml: &str) -> Known {
        let doc = document::from_yaml(yaml, Limits::default()).expect("yaml");
        Known {
            cluster: cluster.into(),
            file: None,
            converted: Arc::new(osp::convert::for_entities(&doc).expect("converts")),
        }
    }

    const XRD: &str = "apiVersion: apiextensions.crossplane.io/v2\nkind: CompositeResourceDefinition\nmetadata: {name: xapps.example.org}\nspec:\n  group: example.org\n  names: {kind: XApp, plural: xapps}\n  versions: [{name: v1, served: true, referenceable: true, schema: {openAPIV3Schema: {type: object}}}]\n";

    #[test]
    fn the_first_file_in_path_order_wins_a_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let with_title = |t: &str| {
            XRD.replace(
                "metadata: {name: xapps.example.org}",
                &format!("metadata: {{name: xapps.example.org, annotations: {{backstage.io/title: {t}}}}}"),
            )
        };
        // Written in the other order: modification time must not matter.
        std::fs::create_dir(dir.path().join("b")).expect("mkdir");
        std::fs::write(dir.path().join("b/x.yaml"), with_title("Second")).expect("write");
        std::fs::write(dir.path().join("a.yaml"), with_title("First")).expect("write");
        let loaded = load_dir_all(dir.path(), Limits::default()).expect("load");
        let store = Store::default();
        let shadowed = store.replace_cluster(FROM_DIR_CLUSTER, loaded.known);
        let k = store.get("xapps.example.org").expect("known");
        assert_eq!(
            k.converted.template["metadata"]["title"], "First",
            "the first file in path order is used"
        );
        assert_eq!(
            shadowed,
            vec![Shadowed {
                name: "xapps.example.org".into(),
                kept: format!("file `{}`", dir.path().join("a.yaml").display()),
                ignored: format!("file `{}`", dir.path().join("b/x.yaml").display()),
            }],
            "the warning names both files"
        );
        let again = load_dir_all(dir.path(), Limits::default()).expect("load");
        assert_eq!(
            store.replace_cluster(FROM_DIR_CLUSTER, again.known),
            shadowed,
            "a rescan decides the same way"
        );
    }

    /// The campaign's directory faults: each costs only its own entry.
    #[cfg(unix)]
    #[test]
    fn a_bad_entry_costs_only_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |s: &str| dir.path().join(s);
        std::fs::write(p("a.yaml"), XRD).expect("write");
        std::os::unix::fs::symlink("/proc/self/mem", p("mem.yaml")).expect("symlink");
        let fifo = std::process::Command::new("mkfifo")
            .arg(p("fifo.yaml"))
            .status()
            .expect("mkfifo");
        assert!(fifo.success());
        std::fs::write(p("locked.yaml"), XRD.replace("xapps", "xlocked")).expect("write");
        std::fs::set_permissions(
            p("locked.yaml"),
            std::os::unix::fs::PermissionsExt::from_mode(0o000),
        )
        .expect("chmod");
        // Root reads a mode-000 file anyway; /proc/self/mem fails for everyone.
        let locked_readable = std::fs::File::open(p("locked.yaml")).is_ok();
        std::os::unix::fs::symlink(dir.path(), p("loop")).expect("symlink");

        let loaded = load_dir_all(dir.path(), Limits::default()).expect("a bad entry is no error");
        let names: Vec<&str> = loaded
            .known
            .iter()
            .map(|k| k.converted.definition.name.as_str())
            .collect();
        let want: &[&str] = if locked_readable {
            &["xapps.example.org", "xlocked.example.org"]
        } else {
            &["xapps.example.org"]
        };
        assert_eq!(names, want, "the readable definitions are served");
        let rejected: Vec<(&Path, &str)> = loaded
            .rejected
            .iter()
            .map(|r| (r.file.as_path(), r.reason.as_str()))
            .collect();
        assert!(
            rejected
                .iter()
                .any(|(f, r)| *f == p("mem.yaml") && r.contains("cannot read")),
            "the unreadable file is rejected with its path: {rejected:?}"
        );
        assert_eq!(
            rejected.iter().any(|(f, _)| *f == p("locked.yaml")),
            !locked_readable,
            "a mode-000 file is rejected unless we are root: {rejected:?}"
        );
        let skipped: Vec<&Path> = loaded.skipped.iter().map(|s| s.path.as_path()).collect();
        assert_eq!(
            skipped,
            [p("fifo.yaml"), p("loop")],
            "the FIFO is never opened, the loop never walked"
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
        assert!(store.remove("b", "xapps.example.org"), "removal reports it");
        assert_eq!(
            store.get("xapps.example.org").map(|k| k.cluster),
            Some("a".into()),
            "the other cluster's copy remains"
        );
    }
}
