//! Support for end-to-end tests: the built `osp` binary on a free loopback
//! port, the real grpcurl, and the shared corpus.
#![forbid(unsafe_code)]

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

/// The shared corpus (`../shared/corpus` next to the repository, or
/// `OSP_CORPUS`), or `None` with a message when it is absent.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("OSP_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: corpus not found at `{}` (set OSP_CORPUS)",
            dir.display()
        );
        None
    }
}

/// The grpcurl binary: `OSP_GRPCURL`, else `grpcurl` on `PATH`.
pub fn grpcurl() -> PathBuf {
    std::env::var_os("OSP_GRPCURL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("grpcurl"))
}
