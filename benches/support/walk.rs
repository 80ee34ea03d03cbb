//! The corpus walk the benches share: every `*.yaml`/`*.yml` under a
//! directory, sorted, recursively (included with `#[path]`, as benches are
//! separate crates).
use std::path::{Path, PathBuf};

/// Appends the YAML files under `dir` to `out`, in sorted order.
pub fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}
