//! Support for end-to-end tests: the built `osp` binary on a free loopback
//! port, the real grpcurl, the shared corpus, a real API server (`kube`) and
//! the real Crossplane (`crossplane`).
#![forbid(unsafe_code)]

/// The shared fixture set of `tests/fixtures/` (see its README).
pub mod fixtures {
    /// `tests/fixtures/xrd-v1-claimable.yaml`.
    pub const XRD_V1_CLAIMABLE: &str = include_str!("../fixtures/xrd-v1-claimable.yaml");
    /// `tests/fixtures/xrd-v2-namespaced.yaml`.
    pub const XRD_V2_NAMESPACED: &str = include_str!("../fixtures/xrd-v2-namespaced.yaml");
}
pub mod crossplane;
pub mod kube;
pub mod server;

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Whether missing test prerequisites (the corpus, the test API server)
/// fail the run: under CI (`CI=true`) they must be there, locally a test
/// without them is skipped with a message.
pub fn prerequisites_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Reports a missing prerequisite: a panic under CI, else a printed skip.
pub fn missing(what: &str) {
    assert!(!prerequisites_required(), "{what}, and CI=true requires it");
    eprintln!("skipping: {what}");
}

/// The shared corpus (`../shared/corpus` next to the repository, or
/// `OSP_CORPUS`), or `None` when it is absent (see [`missing`]).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("OSP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        missing(&format!(
            "corpus not found at `{}` (set OSP_CORPUS)",
            dir.display()
        ));
        None
    }
}

/// Every `.yaml`/`.yml` file below `dir`, in path order.
pub fn yaml_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

/// The grpcurl binary: `OSP_GRPCURL`, else `grpcurl` on `PATH`.
pub fn grpcurl() -> PathBuf {
    std::env::var_os("OSP_GRPCURL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("grpcurl"))
}

/// Sends SIGTERM to a child this crate started (`what` names it in the
/// error) and waits up to 20 s for its exit status; SIGKILL after that.
pub fn terminate(
    child: &mut std::process::Child,
    what: &str,
) -> anyhow::Result<std::process::ExitStatus> {
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill()?;
    anyhow::bail!("{what} ignored SIGTERM")
}
