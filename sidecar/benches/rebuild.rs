//! The cost of one change to the live catalog, against its size: one
//! definition changed (the cluster's definitions reported again, then a
//! rebuild) and one claim changed (one watch event, then a rebuild), in
//! catalogs of 100 definitions + 1,000 claims and 1,000 definitions +
//! 10,000 claims, through the crate's own catalog (`osp_sidecar::bench`).
//! Prints the median and p95 per change and the ratio between the sizes
//! (1× means proportional to the change, 10× proportional to the catalog),
//! then lets criterion measure.
//! Run: `cargo bench -p osp-sidecar --bench rebuild`.
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use osp_sidecar::bench::Rebuild;

/// (definitions, claims): the second ten times the first.
const SIZES: [(usize, usize); 2] = [(100, 1_000), (1_000, 10_000)];

/// Changes timed per size for the summary.
const CHANGES: usize = 201;

type Change = fn(&mut Rebuild);

const KINDS: [(&str, Change); 2] = [
    ("definition", Rebuild::change_definition),
    ("claim", Rebuild::change_claim),
];

/// Median and p95 of `CHANGES` changes.
fn per_change(r: &mut Rebuild, change: Change) -> (Duration, Duration) {
    change(r); // warm-up
    let mut samples: Vec<Duration> = (0..CHANGES)
        .map(|_| {
            let t = Instant::now();
            change(black_box(r));
            t.elapsed()
        })
        .collect();
    samples.sort();
    (samples[CHANGES / 2], samples[CHANGES * 95 / 100])
}

fn summary() {
    for (kind, change) in KINDS {
        let mut medians = Vec::new();
        for (defs, claims) in SIZES {
            let mut r = Rebuild::new(defs, claims);
            let (median, p95) = per_change(&mut r, change);
            println!(
                "{kind} change, {defs} definitions + {claims} claims ({} entities): median {median:?}, p95 {p95:?}",
                r.entities()
            );
            medians.push(median);
        }
        let ratio = medians[1].as_secs_f64() / medians[0].as_secs_f64();
        println!("{kind} change: 10× the catalog costs {ratio:.1}× per change");
    }
}

fn main() {
    summary();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for (kind, change) in KINDS {
        let mut group = c.benchmark_group(format!("{kind} change"));
        for (defs, claims) in SIZES {
            let mut r = Rebuild::new(defs, claims);
            let id = BenchmarkId::from_parameter(format!("{defs} definitions + {claims} claims"));
            group.bench_function(id, |b| b.iter(|| change(&mut r)));
        }
        group.finish();
    }
    c.final_summary();
}
