//! Reading a `--from-dir` directory: every `*.yaml`, `*.yml` and `*.json`
//! file below it, each under the document limits. Definitions are converted
//! with the Compositions found anywhere in the directory, so a directory
//! offers Compositions the way a cluster does; every other object with a
//! kind and a name (claims, XRs) is kept for the catalog. A broken document
//! or an unreadable file is rejected on its own, never fatal for the others.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use osp::convert::{Converted, Options};
use osp::definition::compositions::Compositions;
use osp::definition::kinds::is_definition;
use osp::document::{self, Limits};
use serde_json::Value;

use crate::files::{Skipped, Stamp};
use crate::store::{FROM_DIR_CLUSTER, Known};

/// A document that could not be loaded.
#[derive(Debug, Clone)]
pub(crate) struct Rejected {
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
pub(crate) struct Loaded {
    /// Converted definitions, in file order.
    pub known: Vec<Known>,
    /// Every other document with a `kind` and a `metadata.name`; shared
    /// with the catalog, so a rescan's cache holds no second copy.
    pub objects: Vec<Arc<Value>>,
    /// Broken documents, and files that could not be read.
    pub rejected: Vec<Rejected>,
    /// Entries of the directory that were not read at all (not regular
    /// files, unreadable subdirectories, symlink loops).
    pub skipped: Vec<Skipped>,
}

/// One file's documents as read, before conversion.
#[derive(Debug, Default)]
struct FileDocs {
    /// Definition documents and their index in the file.
    definitions: Vec<(usize, Value)>,
    /// Other objects with a kind and a name.
    objects: Vec<Arc<Value>>,
    /// The file or a document could not be read.
    rejected: Vec<Rejected>,
}

/// A definition's conversion, kept while its file and its Compositions are
/// unchanged (so its entities keep their identity and the catalog reuses
/// them).
#[derive(Debug)]
struct Conversion {
    index: usize,
    compositions: Vec<String>,
    result: Result<Arc<Converted>, String>,
}

#[derive(Debug)]
struct CachedFile {
    stamp: Stamp,
    docs: FileDocs,
    conversions: Vec<Conversion>,
}

/// What each file held when last read, so a rescan reads only the files
/// that changed and converts only the definitions whose file or
/// Compositions changed.
#[derive(Debug, Default)]
pub(crate) struct DirCache {
    files: HashMap<PathBuf, CachedFile>,
}

/// Reads `dir`, converting with `options` (the same for every call with one
/// `cache`) and reusing what `cache` holds. Only an unreadable `dir` is an
/// error: a file that cannot be read is [rejected](Loaded::rejected) and the
/// others are served.
pub(crate) fn load_dir(
    dir: &Path,
    limits: Limits,
    options: &Options,
    cache: &mut DirCache,
) -> std::io::Result<Loaded> {
    let listing = crate::files::list(dir)?;
    let files = read_changed(listing.files, limits, cache);
    let compositions = Compositions::for_objects(
        files
            .iter()
            .flat_map(|f| f.1.docs.objects.iter().map(AsRef::as_ref)),
    );
    let mut out = Loaded {
        skipped: listing.skipped,
        ..Loaded::default()
    };
    let mut next = HashMap::new();
    for (file, mut cached) in files {
        cached.conversions = convert_file(&cached, &compositions, options);
        append(&mut out, &file, &cached);
        next.insert(file, cached);
    }
    cache.files = next;
    Ok(out)
}

/// Each listed file's documents: from `cache` when its stamp is unchanged,
/// else read now. Files removed since the listing are left out.
fn read_changed(
    listed: Vec<PathBuf>,
    limits: Limits,
    cache: &mut DirCache,
) -> Vec<(PathBuf, CachedFile)> {
    let mut out = Vec::new();
    for file in listed {
        let stamp = match std::fs::metadata(&file) {
            Ok(m) => crate::files::stamp(&m),
            // Removed between listing and reading: the next scan sees it gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            // Read (and rejected with the reason) below, never cached.
            Err(_) => Stamp::default(),
        };
        let cached = match cache.files.remove(&file) {
            Some(c) if c.stamp == stamp && stamp != Stamp::default() => c,
            _ => match read_file(&file, limits) {
                Some(docs) => CachedFile {
                    stamp,
                    docs,
                    conversions: Vec::new(),
                },
                None => continue,
            },
        };
        out.push((file, cached));
    }
    out
}

/// The file's definitions converted with their Compositions, reusing each
/// earlier conversion whose Compositions are the same.
fn convert_file(
    cached: &CachedFile,
    compositions: &Compositions,
    options: &Options,
) -> Vec<Conversion> {
    cached
        .docs
        .definitions
        .iter()
        .map(|(index, doc)| {
            let comps = compositions.for_definition(doc);
            let earlier = cached
                .conversions
                .iter()
                .find(|c| c.index == *index && c.compositions == comps);
            let result = match earlier {
                Some(c) => c.result.clone(),
                None => {
                    let options = Options {
                        compositions: comps.clone(),
                        ..options.clone()
                    };
                    osp::convert::for_entities_with(doc, &options)
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                }
            };
            Conversion {
                index: *index,
                compositions: comps,
                result,
            }
        })
        .collect()
}

/// Adds one file's definitions, objects and rejections to `out`.
fn append(out: &mut Loaded, file: &Path, cached: &CachedFile) {
    out.rejected.extend(cached.docs.rejected.iter().cloned());
    for c in &cached.conversions {
        match &c.result {
            Ok(converted) => out.known.push(Known {
                cluster: FROM_DIR_CLUSTER.into(),
                file: Some(file.to_path_buf()),
                converted: converted.clone(),
            }),
            Err(reason) => out.rejected.push(Rejected {
                file: file.to_path_buf(),
                index: c.index,
                reason: reason.clone(),
            }),
        }
    }
    out.objects.extend(cached.docs.objects.iter().cloned());
}

/// One file's documents; `None` when it disappeared. A file that cannot be
/// read (permissions, not a regular file, too large, not UTF-8) is one
/// rejection, never an error for the whole directory.
fn read_file(file: &Path, limits: Limits) -> Option<FileDocs> {
    let mut out = FileDocs::default();
    let reject = |reason: String| Rejected {
        file: file.to_path_buf(),
        index: 0,
        reason,
    };
    let text = match crate::files::read_text(file, limits.max_bytes) {
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
        if is_definition(&doc) {
            out.definitions.push((index, doc));
        } else if doc["kind"].is_string()
            && doc.pointer("/metadata/name").is_some_and(Value::is_string)
        {
            out.objects.push(Arc::new(doc));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Shadowed, Store};

    use crate::fixtures::{XRD_V2_NAMESPACED as XRD, xrd_v2};

    fn load(dir: &Path) -> std::io::Result<Loaded> {
        load_dir(
            dir,
            Limits::default(),
            &Options::default(),
            &mut DirCache::default(),
        )
    }

    #[test]
    fn the_first_file_in_path_order_wins_a_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let with_title = |t: &str| xrd_v2().annotated("backstage.io/title", t).yaml();
        // Written in the other order: modification time must not matter.
        std::fs::create_dir(dir.path().join("b")).expect("mkdir");
        std::fs::write(dir.path().join("b/x.yaml"), with_title("Second")).expect("write");
        std::fs::write(dir.path().join("a.yaml"), with_title("First")).expect("write");
        let loaded = load(dir.path()).expect("load");
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
        let again = load(dir.path()).expect("load");
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
        std::fs::write(
            p("locked.yaml"),
            xrd_v2().named("xlocked", "XLocked").yaml(),
        )
        .expect("write");
        std::fs::set_permissions(
            p("locked.yaml"),
            std::os::unix::fs::PermissionsExt::from_mode(0o000),
        )
        .expect("chmod");
        // Root reads a mode-000 file anyway; /proc/self/mem fails for everyone.
        let locked_readable = std::fs::File::open(p("locked.yaml")).is_ok();
        std::os::unix::fs::symlink(dir.path(), p("loop")).expect("symlink");

        let loaded = load(dir.path()).expect("a bad entry is no error");
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
    fn definitions_offer_the_directory_s_compositions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let composition = |name: &str| {
            format!(
                "apiVersion: apiextensions.crossplane.io/v1\nkind: Composition\nmetadata: {{name: {name}}}\nspec: {{compositeTypeRef: {{apiVersion: example.org/v1, kind: XApp}}}}\n"
            )
        };
        std::fs::write(dir.path().join("xrd.yaml"), XRD).expect("write");
        let mut cache = DirCache::default();
        let mut scan = |reason: &str| {
            let loaded = load_dir(
                dir.path(),
                Limits::default(),
                &Options::default(),
                &mut cache,
            )
            .expect(reason);
            let k = loaded.known.into_iter().next().expect(reason);
            (k.converted.clone(), k.converted.definition.name.clone())
        };
        let (before, _) = scan("no composition yet");
        assert!(
            !before.template.to_string().contains("compositionRef"),
            "no Composition: no choice"
        );
        let (again, _) = scan("unchanged");
        assert!(
            Arc::ptr_eq(&before, &again),
            "an unchanged directory converts nothing"
        );

        std::fs::write(
            dir.path().join("comps.yaml"),
            format!("{}---\n{}", composition("b-gcp"), composition("a-aws")),
        )
        .expect("write");
        let (after, name) = scan("compositions added");
        assert_eq!(name, "xapps.example.org");
        let template = after.template.to_string();
        assert!(
            template.contains("a-aws") && template.contains("b-gcp"),
            "a Composition added in another file is offered without touching the XRD's file: {template}"
        );
    }
}
