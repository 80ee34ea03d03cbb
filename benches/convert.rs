//! Conversion speed over the whole corpus (release build): every XRD, RGD
//! and Promise that converts is timed on its own; prints the per-document
//! median and p99 and the total of one pass, then lets criterion measure a
//! whole pass, a parse of every file and the YAML of every entity, the
//! last two beside serde-saphyr alone. Run: `cargo bench --bench convert` (set `OSP_CORPUS` to
//! point elsewhere).
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use osp::convert;
use osp::document::{self, Limits};
use serde_json::Value;

#[path = "support/walk.rs"]
mod walk;
use walk::files;

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OSP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    dir.is_dir().then_some(dir)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let Some(root) = corpus() else {
        println!("corpus not found (set OSP_CORPUS); nothing to measure");
        return;
    };
    let mut paths = Vec::new();
    for sub in ["xrd", "rgd", "promise"] {
        files(&root.join(sub), &mut paths);
    }
    let texts: Vec<(String, String)> = paths
        .iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(p).ok()?)))
        .collect();
    let named: Vec<(String, Value)> = texts
        .iter()
        .filter_map(|(p, t)| {
            Some((
                p.clone(),
                document::from_yaml_stream(t, Limits::default()).ok()?,
            ))
        })
        .flat_map(|(p, ds)| ds.into_iter().map(move |d| (p.clone(), d)))
        .filter(|(_, d)| convert::for_entities(d).is_ok())
        .collect();
    let docs: Vec<Value> = named.iter().map(|(_, d)| d.clone()).collect();
    const RUNS: usize = 31;
    let mut timed: Vec<(Duration, &str)> = named
        .iter()
        .map(|(name, d)| {
            let mut runs: Vec<Duration> = (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    let c = convert::for_entities(black_box(d));
                    black_box(&c);
                    start.elapsed()
                })
                .collect();
            runs.sort();
            (runs[RUNS / 2], name.as_str())
        })
        .collect();
    timed.sort();
    let medians: Vec<Duration> = timed.iter().map(|(t, _)| *t).collect();
    let total: Duration = medians.iter().sum();
    println!(
        "template conversion over {} corpus documents: per-document median {:.1} µs, p99 {:.1} µs, max {:.1} µs; total for one pass {:.2} ms",
        medians.len(),
        percentile(&medians, 0.5).as_secs_f64() * 1e6,
        percentile(&medians, 0.99).as_secs_f64() * 1e6,
        medians.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
        total.as_secs_f64() * 1e3,
    );
    if let Some((t, name)) = timed.last() {
        println!("slowest: {name} ({:.1} µs)", t.as_secs_f64() * 1e6);
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    c.bench_function("convert whole corpus", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(convert::for_entities(black_box(d)).is_ok());
            }
        })
    });
    // Parsing and writing YAML are most of `osp convert` (docs/benchmarks.md);
    // each beside serde-saphyr alone, the baseline `document` falls back to.
    let texts: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
    beside(
        &mut c,
        "parse whole corpus",
        &texts,
        |t| document::from_yaml_stream(t, Limits::default()).is_ok(),
        |t| serde_saphyr::from_multiple::<Value>(t).is_ok(),
    );
    let entities: Vec<Value> = docs
        .iter()
        .filter_map(|d| convert::for_entities(d).ok())
        .flat_map(|c| [c.template, c.api])
        .collect();
    beside(
        &mut c,
        "write YAML of every entity",
        &entities,
        |e| document::to_yaml(e).len(),
        |e| serde_saphyr::to_string(e).map_or(0, |s| s.len()),
    );
    c.final_summary();
}

/// `ours` over every input, then serde-saphyr `alone` over the same, as two
/// benchmarks of one run.
fn beside<I, R, S>(
    c: &mut Criterion,
    name: &str,
    inputs: &[I],
    ours: impl Fn(&I) -> R,
    alone: impl Fn(&I) -> S,
) {
    c.bench_function(name, |b| {
        b.iter(|| {
            inputs
                .iter()
                .for_each(|i| drop(black_box(ours(black_box(i)))))
        })
    });
    c.bench_function(&format!("{name}, serde-saphyr alone"), |b| {
        b.iter(|| {
            inputs
                .iter()
                .for_each(|i| drop(black_box(alone(black_box(i)))))
        })
    });
}
