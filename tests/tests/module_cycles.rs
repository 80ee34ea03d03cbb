//! No import circles between the top-level modules of a crate: each file's
//! `crate::<module>` references form a graph that must be acyclic (for the
//! sidecar too). A textual check, cheap enough for every run; `cargo modules
//! dependencies --acyclic` says the same with a full compiler front end.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Top-level module of a file below `src/`: `src/a/b.rs` and `src/a.rs` are `a`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// `crate::x` paths a file names, outside `#[cfg(test)]` test modules (tests
/// may reach anywhere).
fn references(text: &str) -> BTreeSet<String> {
    let production = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut out = BTreeSet::new();
    for (i, _) in production.match_indices("crate::") {
        let rest = &production[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            out.extend(inner.split(',').filter_map(|p| head(p.trim())));
        } else if let Some(h) = head(rest) {
            out.insert(h);
        }
    }
    out
}

fn head(path: &str) -> Option<String> {
    let name: String = path
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name.chars().next().is_some_and(|c| c.is_lowercase())).then_some(name)
}

fn graph(src: &Path) -> Graph {
    let mut g = Graph::new();
    for file in rust_files(src) {
        let Some(module) = module_of(src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("readable source");
        let refs = g.entry(module.clone()).or_default();
        refs.extend(references(&text).into_iter().filter(|r| *r != module));
    }
    g
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("tests.rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every pair of modules that reach each other, as `a <-> b` (a < b).
fn circles(g: &Graph) -> BTreeSet<String> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for n in g.get(&m).into_iter().flatten() {
                if g.contains_key(n) && seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        seen
    };
    let mut out = BTreeSet::new();
    for a in g.keys() {
        for b in reach(a) {
            if a < &b && reach(&b).contains(a) {
                out.insert(format!("{a} <-> {b}"));
            }
        }
    }
    out
}

#[test]
fn modules_form_no_import_circles() {
    struct Case {
        reason: &'static str,
        src: &'static str,
    }
    let cases = [
        Case {
            reason: "the core is acyclic",
            src: "src",
        },
        Case {
            reason: "the sidecar is acyclic: features take their own config section",
            src: "sidecar/src",
        },
    ];
    for c in cases {
        let found = circles(&graph(&osp_tests::repo_root().join(c.src)));
        assert!(found.is_empty(), "{}: import circles {found:?}", c.reason);
    }
}

#[test]
fn references_are_read_from_paths_and_groups() {
    let text = "use crate::{a::X, b};\nuse crate::c::Y;\nfn f() { crate::d::g(); }\n#[cfg(test)]\nmod tests { use crate::e; }";
    let got: Vec<_> = references(text).into_iter().collect();
    assert_eq!(got, ["a", "b", "c", "d"]);
}

#[test]
fn circles_are_found_through_intermediate_modules() {
    let g: Graph = [
        ("a", &["b"][..]),
        ("b", &["c"]),
        ("c", &["a"]),
        ("d", &["a"]),
    ]
    .into_iter()
    .map(|(m, refs)| (m.to_string(), refs.iter().map(|r| r.to_string()).collect()))
    .collect();
    let got: Vec<_> = circles(&g).into_iter().collect();
    assert_eq!(got, ["a <-> b", "a <-> c", "b <-> c"]);
}
