//! The `--from-dir` source: definitions and, optionally, claims and XRs
//! from YAML files. The directory is polled (file list, sizes and
//! modification times) rather than watched with inotify, so it also works
//! on ConfigMap volumes, whose updates swap a symlink.
use std::path::{Path, PathBuf};
use std::time::Duration;

use osp::convert::Options;
use osp::document::Limits;

use crate::catalog::{Catalog, SourceReport};
use crate::store::FROM_DIR_CLUSTER;

mod load;
pub(crate) use load::{DirCache, load_dir};

/// Source name of the objects read from files.
pub(crate) const SOURCE: &str = "files";

type Fingerprint = Vec<(PathBuf, Option<crate::files::Stamp>)>;

/// What a change check compares: the listed files and their stamps (never
/// opened, so a FIFO or an unreadable file cannot block or fail it).
fn fingerprint(dir: &Path) -> std::io::Result<Fingerprint> {
    Ok(crate::files::list(dir)?
        .files
        .into_iter()
        .map(|f| {
            let stamp = std::fs::metadata(&f).ok().map(|m| crate::files::stamp(&m));
            (f, stamp)
        })
        .collect())
}

/// Reads a directory into the store and the catalog, re-reading only the
/// files that changed since the last scan.
#[derive(Debug)]
pub(crate) struct Scanner {
    dir: PathBuf,
    limits: Limits,
    options: Options,
    cache: DirCache,
}

impl Scanner {
    /// A scanner of `dir` reading each file under `limits` and converting
    /// definitions with `options`.
    pub(crate) fn new(dir: PathBuf, limits: Limits, options: Options) -> Self {
        Self {
            dir,
            limits,
            options,
            cache: DirCache::default(),
        }
    }

    /// Reads the directory into the store and the catalog; returns the
    /// number of definitions. On error nothing changes.
    pub(crate) fn scan(&mut self, catalog: &Catalog) -> std::io::Result<usize> {
        let loaded = load_dir(&self.dir, self.limits, &self.options, &mut self.cache)?;
        for r in &loaded.rejected {
            tracing::warn!(file = %r.file.display(), document = r.index, reason = %r.reason, "definition rejected");
        }
        for s in &loaded.skipped {
            if s.seen_before {
                tracing::debug!(path = %s.path.display(), reason = %s.reason, "entry skipped");
            } else {
                tracing::warn!(path = %s.path.display(), reason = %s.reason, "entry skipped");
            }
        }
        tracing::info!(
            definitions = loaded.known.len(),
            objects = loaded.objects.len(),
            rejected = loaded.rejected.len(),
            "definitions loaded"
        );
        let n = loaded.known.len();
        catalog
            .store()
            .replace_cluster(FROM_DIR_CLUSTER, loaded.known);
        catalog.replace_objects(FROM_DIR_CLUSTER, SOURCE, loaded.objects);
        catalog.set_state(FROM_DIR_CLUSTER, SourceReport::SYNCED);
        Ok(n)
    }
}

/// Rescans whenever the directory's files change. A directory that cannot
/// be read keeps its last good state, marked stale.
pub(crate) async fn watch(scanner: Scanner, catalog: Catalog, interval: Duration) {
    let dir = scanner.dir.clone();
    let scanner = std::sync::Arc::new(std::sync::Mutex::new(scanner));
    let mut last = {
        let d = dir.clone();
        tokio::task::spawn_blocking(move || fingerprint(&d).ok())
            .await
            .ok()
            .flatten()
    };
    loop {
        tokio::time::sleep(interval).await;
        let (d, c, s) = (dir.clone(), catalog.clone(), scanner.clone());
        let prev = last.clone();
        let result = tokio::task::spawn_blocking(move || {
            let now = fingerprint(&d)?;
            if prev.as_ref() == Some(&now) {
                return Ok(now);
            }
            s.lock().unwrap_or_else(|e| e.into_inner()).scan(&c)?;
            Ok::<_, std::io::Error>(now)
        })
        .await;
        match result {
            Ok(Ok(now)) => {
                if last.is_none() {
                    catalog.set_state(FROM_DIR_CLUSTER, SourceReport::SYNCED);
                }
                last = Some(now);
            }
            Ok(Err(e)) => {
                if last.is_some() {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot read definitions directory; serving its last state");
                }
                catalog.set_state(FROM_DIR_CLUSTER, SourceReport::failing(&e.to_string()));
                last = None;
            }
            Err(e) => tracing::error!(error = %e, "directory scan failed"),
        }
    }
}
