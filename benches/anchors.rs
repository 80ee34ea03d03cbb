//! osp's half of the side-by-side bench against TeraSky's published
//! kubernetes-ingestor (issue 18); the driver is `benches/anchors/run.mjs`,
//! which runs this binary and `benches/anchors/terasky.mjs` in alternating
//! rounds over the same documents. Two modes, both print one JSON object:
//!
//! - `list`: every XRD document (`kind: CompositeResourceDefinition`) under
//!   the directory, with whether `osp::convert::for_entities` accepts it;
//! - `round IDS_FILE`: times the documents named in `IDS_FILE` (one id a
//!   line): each document `ANCHORS_RUNS` times (default 31, median kept),
//!   then `ANCHORS_PASSES` whole passes (default 15) over all of them, and
//!   the parse and YAML-writing steps of the same documents on their own.
//!   Timed is `osp::convert::from_document`, which `osp convert` runs: it
//!   consumes the parsed document (copies are made before the clock starts),
//!   so the schema moves into the output; a pass of the borrowed
//!   `for_entities` (the sidecar's) is reported beside it.
//!
//! A document's id is `relative/path#n:name`, n counting the XRD documents
//! of its file, so both sides name the same documents the same way. The
//! directory is `ANCHORS_DIR`, default `../shared/corpus/xrd`. Parsing is not
//! timed (TeraSky's side also gets already-parsed objects).
//!
//! Run alone: `cargo bench --bench anchors -- list`.
use std::collections::HashSet;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use osp::convert;
use osp::document::{self, Limits};
use serde_json::{Value, json};

/// The allocator the `osp` binary ships with (`sidecar/src/main.rs`), so
/// the bench measures what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/walk.rs"]
mod walk;
use walk::files;

fn dir() -> PathBuf {
    std::env::var_os("ANCHORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/xrd"))
}

/// `(id, document)` of every XRD document that parses.
fn xrds(root: &Path) -> Vec<(String, Value)> {
    let mut paths = Vec::new();
    files(root, &mut paths);
    let mut out = Vec::new();
    for p in paths {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let Ok(docs) = document::from_yaml_stream(&text, Limits::default()) else {
            continue;
        };
        let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        let xrd_docs = docs
            .into_iter()
            .filter(|d| d["kind"] == "CompositeResourceDefinition");
        for (n, d) in xrd_docs.enumerate() {
            let name = d["metadata"]["name"].as_str().unwrap_or("").to_owned();
            out.push((format!("{rel}#{n}:{name}"), d));
        }
    }
    out
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; modes are the other arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let root = dir();
    let docs = xrds(&root);
    match args.first().map(String::as_str) {
        Some("round") => {
            let ids = args.get(1).expect("round IDS_FILE");
            let wanted: HashSet<String> = std::fs::read_to_string(ids)
                .expect("ids file")
                .lines()
                .map(str::to_owned)
                .collect();
            let docs: Vec<&(String, Value)> =
                docs.iter().filter(|(id, _)| wanted.contains(id)).collect();
            println!("{}", round(&docs));
        }
        _ => {
            let list: Vec<Value> = docs
                .iter()
                .map(|(id, d)| match convert::for_entities(d) {
                    Ok(_) => json!({ "id": id, "ok": true }),
                    Err(e) => json!({ "id": id, "ok": false, "error": e.to_string() }),
                })
                .collect();
            println!("{}", json!({ "tool": "osp", "dir": root, "docs": list }));
        }
    }
}

/// One conversion of an owned copy of `d` (made before the clock starts),
/// result and leftovers dropped inside the timing.
fn timed(d: &Value, opts: &convert::Options) -> u128 {
    let doc = d.clone();
    let start = Instant::now();
    black_box(convert::from_document(black_box(doc), opts).is_ok());
    start.elapsed().as_nanos()
}

fn round(docs: &[&(String, Value)]) -> Value {
    let runs = env_usize("ANCHORS_RUNS", 31);
    let passes = env_usize("ANCHORS_PASSES", 15);
    let opts = convert::Options::default();
    // Warm-up: one pass, as the JavaScript side gets its JIT warm-up.
    for (_, d) in docs {
        timed(d, &opts);
    }
    let mut per_doc = serde_json::Map::new();
    for (id, d) in docs {
        let mut ns: Vec<u128> = (0..runs).map(|_| timed(d, &opts)).collect();
        ns.sort_unstable();
        per_doc.insert(id.clone(), json!({ "both_ns": ns[runs / 2] }));
    }
    let pass_ns: Vec<u128> = (0..passes)
        .map(|_| {
            let owned: Vec<Value> = docs.iter().map(|(_, d)| d.clone()).collect();
            let start = Instant::now();
            for d in owned {
                black_box(convert::from_document(black_box(d), &opts).is_ok());
            }
            start.elapsed().as_nanos()
        })
        .collect();
    // The borrowed entry point (the sidecar's: it keeps the documents).
    let borrowed_ns: Vec<u128> = (0..passes)
        .map(|_| {
            let start = Instant::now();
            for (_, d) in docs {
                black_box(convert::for_entities(black_box(d)).is_ok());
            }
            start.elapsed().as_nanos()
        })
        .collect();
    json!({
        "tool": "osp",
        "docs": docs.len(),
        "per_doc": per_doc,
        "pass": { "both_ns": pass_ns, "borrowed_ns": borrowed_ns },
        "phases": phases(docs, passes),
    })
}

/// The other two steps of an end-to-end run over the same documents, each
/// the median of `passes`: parsing the files that hold them (every document
/// of each file) and writing their Templates and APIs as YAML; and two
/// floors no owned output can go under.
fn phases(docs: &[&(String, Value)], passes: usize) -> Value {
    let root = dir();
    let mut rels: Vec<&str> = docs
        .iter()
        .filter_map(|(id, _)| id.split_once('#').map(|(rel, _)| rel))
        .collect();
    rels.dedup();
    let texts: Vec<String> = rels
        .iter()
        .filter_map(|rel| std::fs::read_to_string(root.join(rel)).ok())
        .collect();
    let entities: Vec<Value> = docs
        .iter()
        .filter_map(|(_, d)| convert::for_entities(d).ok())
        .flat_map(|c| [c.template, c.api])
        .collect();
    let median = |f: &dyn Fn()| {
        let mut ns: Vec<u128> = (0..passes.max(1))
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_nanos()
            })
            .collect();
        ns.sort_unstable();
        ns[ns.len() / 2]
    };
    let parse_ns = median(&|| {
        for t in &texts {
            black_box(document::from_yaml_stream(black_box(t), Limits::default()).is_ok());
        }
    });
    let dump_ns = median(&|| {
        for e in &entities {
            black_box(document::to_yaml(black_box(e)).len());
        }
    });
    // Floors for any owned output: a deep copy of every document (made and
    // dropped), and every document as compact JSON text (serde_json).
    let copy_ns = median(&|| {
        for (_, d) in docs {
            black_box(black_box(d).clone());
        }
    });
    let json_ns = median(&|| {
        for (_, d) in docs {
            black_box(serde_json::to_vec(black_box(d)).map(|v| v.len()).ok());
        }
    });
    json!({
        "copy_ns": copy_ns,
        "json_ns": json_ns,
        "files": texts.len(),
        "bytes": texts.iter().map(String::len).sum::<usize>(),
        "entities": entities.len(),
        "parse_ns": parse_ns,
        "dump_ns": dump_ns,
    })
}
