//! Claim render+validate latency (release build): a small XRD (a handful
//! of fields and one CEL rule) and a large one (generated: 400 fields over
//! 4 levels, with patterns, enums, defaults and CEL rules), and the largest
//! corpus XRD when the corpus is present. Prints the per-claim median and
//! p99 over many runs, then lets criterion measure.
//! Run: `cargo bench --bench claim`.
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use osp::claim::{self, ClaimInput};
use osp::definition::{self, Definition};
use osp::document::{self, Limits};
use serde_json::{Map, Value, json};

const SMALL: &str = r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xpostgresqlinstances.database.example.org}
spec:
  group: database.example.org
  names: {kind: XPostgreSQLInstance, plural: xpostgresqlinstances}
  claimNames: {kind: PostgreSQLInstance, plural: postgresqlinstances}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [parameters]
            properties:
              parameters:
                type: object
                required: [storageGB]
                x-kubernetes-validations:
                - {rule: "self.minReplicas <= self.maxReplicas", message: "min exceeds max"}
                properties:
                  storageGB: {type: integer, minimum: 1}
                  version: {type: string, enum: ["15", "16"], default: "16"}
                  minReplicas: {type: integer, default: 1}
                  maxReplicas: {type: integer, default: 3}
                  name: {type: string, pattern: "^[a-z][a-z0-9-]*$"}
"#;

/// A large XRD: `spec.groupN.sectionM.fieldK`, 4 × 10 × 10 leaves.
fn large() -> (Definition, Value) {
    let mut groups = Map::new();
    let mut values = Map::new();
    for g in 0..4 {
        let mut sections = Map::new();
        let mut gv = Map::new();
        for s in 0..10 {
            let mut fields = Map::new();
            let mut sv = Map::new();
            for f in 0..10 {
                let (schema, value) = match f % 5 {
                    0 => (
                        json!({"type": "string", "pattern": "^[a-z][a-z0-9-]{0,62}$"}),
                        json!("name-x"),
                    ),
                    1 => (
                        json!({"type": "integer", "minimum": 0, "maximum": 1000, "default": 10}),
                        json!(42.0),
                    ),
                    2 => (
                        json!({"type": "string", "enum": ["a", "b", "c"], "default": "a"}),
                        json!("b"),
                    ),
                    3 => (json!({"type": "boolean", "default": false}), json!(true)),
                    _ => (
                        json!({"type": "array", "items": {"type": "string", "maxLength": 32}}),
                        json!(["x", "y", "z"]),
                    ),
                };
                fields.insert(format!("field{f}"), schema);
                sv.insert(format!("field{f}"), value);
            }
            sections.insert(
                format!("section{s}"),
                json!({"type": "object", "properties": fields,
                       "x-kubernetes-validations": [{"rule": "self.field1 >= 0", "message": "non-negative"}]}),
            );
            gv.insert(format!("section{s}"), Value::Object(sv));
        }
        groups.insert(
            format!("group{g}"),
            json!({"type": "object", "properties": sections}),
        );
        values.insert(format!("group{g}"), Value::Object(gv));
    }
    let doc = json!({
        "apiVersion": "apiextensions.crossplane.io/v2",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": "bigs.example.org"},
        "spec": {"group": "example.org", "names": {"kind": "Big", "plural": "bigs"},
                 "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": true, "referenceable": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": groups}}}}}]},
    });
    (
        definition::for_document(&doc).expect("large xrd"),
        Value::Object(values),
    )
}

fn corpus_largest() -> Option<(String, Definition)> {
    let dir = std::env::var_os("OSP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let mut best: Option<(usize, String, Definition)> = None;
    for entry in std::fs::read_dir(dir.join("xrd/public")).ok()?.flatten() {
        let path = entry.path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(docs) = document::from_yaml_stream(&text, Limits::default()) else {
            continue;
        };
        for doc in docs {
            let Ok(def) = definition::for_document(&doc) else {
                continue;
            };
            let size = def.schema.to_string().len();
            if claim::defaults_only(&def) && best.as_ref().is_none_or(|b| size > b.0) {
                let name = path.file_name()?.to_string_lossy().to_string();
                best = Some((size, name, def));
            }
        }
    }
    best.map(|(_, n, d)| (n, d))
}

fn input(def: &Definition, values: Value) -> ClaimInput {
    ClaimInput {
        name: "bench".into(),
        namespace: def.is_namespaced().then(|| "team-a".into()),
        values,
        owner: Some("group:default/team-a".into()),
        ..Default::default()
    }
}

fn measure(label: &str, def: &Definition, values: &Value) {
    let i = input(def, values.clone());
    claim::for_claim(def, &i).expect("bench claim is valid");
    const RUNS: usize = 2000;
    let mut runs: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(claim::for_claim(black_box(def), black_box(&i)).ok());
            start.elapsed()
        })
        .collect();
    runs.sort();
    let p = |q: f64| runs[((RUNS as f64 - 1.0) * q).round() as usize];
    println!(
        "{label}: render+validate median {:.1} µs, p99 {:.1} µs ({RUNS} runs)",
        p(0.5).as_secs_f64() * 1e6,
        p(0.99).as_secs_f64() * 1e6
    );
}

fn main() {
    let small_doc = document::from_yaml(SMALL, Limits::default()).expect("small yaml");
    let small = definition::for_document(&small_doc).expect("small xrd");
    let small_values = json!({"parameters": {"storageGB": 20.0, "name": "orders"}});
    let (big, big_values) = large();
    measure("small XRD (5 fields, 1 CEL rule)", &small, &small_values);
    measure("large XRD (400 fields, 40 CEL rules)", &big, &big_values);
    if let Some((name, def)) = corpus_largest() {
        measure(
            &format!("largest defaults-only corpus XRD ({name})"),
            &def,
            &Value::Null,
        );
    }
    let mut c = Criterion::default().configure_from_args();
    let si = input(&small, small_values);
    c.bench_function("claim/small", |b| {
        b.iter(|| claim::for_claim(black_box(&small), black_box(&si)).ok())
    });
    let bi = input(&big, big_values);
    c.bench_function("claim/large", |b| {
        b.iter(|| claim::for_claim(black_box(&big), black_box(&bi)).ok())
    });
    c.final_summary();
}
