//! The definitions the sidecar knows, keyed by name. Filled from a directory
//! of YAML files (`--from-dir`) and, with discovery, from clusters.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use osp::convert::Converted;
use osp::document::{self, Limits};

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

/// Thread-safe map of definition name to [`Known`].
#[derive(Debug, Clone, Default)]
pub struct Store {
    inner: Arc<RwLock<BTreeMap<String, Known>>>,
}

impl Store {
    /// Looks a definition up by name.
    pub fn get(&self, name: &str) -> Option<Known> {
        self.read().get(name).cloned()
    }

    /// Every known definition, sorted by name.
    pub fn all(&self) -> Vec<Known> {
        self.read().values().cloned().collect()
    }

    /// Replaces everything that came from `cluster` with `items`.
    pub fn replace_cluster(&self, cluster: &str, items: Vec<Known>) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, k| k.cluster != cluster);
        for k in items {
            map.insert(k.converted.definition.name.clone(), k);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Known>> {
        // A panic while holding the lock cannot leave the map half-written
        // (every write is a whole replace), so a poisoned lock is safe to use.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads every `*.yaml`, `*.yml` and `*.json` file below `dir`, converting
/// each definition document. Documents of other kinds are ignored; broken
/// definitions are reported, never fatal for the others.
pub fn load_dir(dir: &Path) -> std::io::Result<(Vec<Known>, Vec<Rejected>)> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let (mut known, mut rejected) = (Vec::new(), Vec::new());
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let docs = match document::from_yaml_stream(&text, Limits::default()) {
            Ok(d) => d,
            Err(e) => {
                rejected.push(Rejected {
                    file,
                    index: 0,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        for (index, doc) in docs.iter().enumerate() {
            if !is_definition(doc) {
                continue;
            }
            match osp::convert::for_entities(doc) {
                Ok(c) => known.push(Known {
                    cluster: FROM_DIR_CLUSTER.into(),
                    file: Some(file.clone()),
                    converted: Arc::new(c),
                }),
                Err(e) => rejected.push(Rejected {
                    file: file.clone(),
                    index,
                    reason: e.to_string(),
                }),
            }
        }
    }
    Ok((known, rejected))
}

/// True for kinds the converter handles.
pub fn is_definition(doc: &serde_json::Value) -> bool {
    matches!(
        doc.get("kind").and_then(|k| k.as_str()),
        Some("CompositeResourceDefinition" | "ResourceGraphDefinition" | "Promise")
    )
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
