//! Finds the `osp-test-apiserver` binary (`tests/kube/`, Go): from
//! `OSP_TEST_APISERVER`, else the cached build if newer than its sources,
//! else built once per test process by `tests/kube/build.sh`, else (no Go)
//! whatever the cache holds.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// Where the binary came from and how long it took to get it.
#[derive(Debug, Clone)]
pub struct Binary {
    /// The executable.
    pub path: PathBuf,
    /// Time spent in `build.sh` (zero when `OSP_TEST_APISERVER` was set).
    pub build: std::time::Duration,
}

/// The binary, or `Ok(None)` with a printed reason when it can't be had
/// (no Go toolchain and nothing cached), so tests can skip.
pub fn binary() -> anyhow::Result<Option<Binary>> {
    static FOUND: OnceLock<Result<Option<Binary>, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| find().map_err(|e| format!("{e:#}")));
    match found {
        Ok(Some(b)) => Ok(Some(b.clone())),
        Ok(None) => {
            crate::missing("no osp-test-apiserver (set OSP_TEST_APISERVER or install Go)");
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

fn find() -> anyhow::Result<Option<Binary>> {
    if let Some(path) = std::env::var_os("OSP_TEST_APISERVER").map(PathBuf::from) {
        anyhow::ensure!(
            path.is_file(),
            "OSP_TEST_APISERVER=`{}` is not a file",
            path.display()
        );
        return Ok(Some(Binary {
            path,
            build: Default::default(),
        }));
    }
    let script = crate::repo_root().join("tests/kube/build.sh");
    let has_go = Command::new("go")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_go {
        // A binary built earlier still works without Go.
        let cached = cache_dir().join("bin/osp-test-apiserver");
        eprintln!("no Go toolchain: using `{}` if present", cached.display());
        return Ok(cached.is_file().then_some(Binary {
            path: cached,
            build: Default::default(),
        }));
    }
    let cached = cache_dir().join("bin/osp-test-apiserver");
    if std::env::var_os("OSP_TEST_APISERVER_BIN").is_none() && is_fresh(&cached) {
        // Newer than every source: build.sh would only re-link (13–24 s).
        return Ok(Some(Binary {
            path: cached,
            build: Default::default(),
        }));
    }
    let start = Instant::now();
    // stderr passes through: a cold build takes minutes and says so.
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("run `{}`: {e}", script.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "`{}` failed ({})",
        script.display(),
        out.status
    );
    let path = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| PathBuf::from(l.trim()))
        .unwrap_or_default();
    anyhow::ensure!(
        path.is_file(),
        "build.sh printed no binary path (got `{}`)",
        path.display()
    );
    Ok(Some(Binary {
        path,
        build: start.elapsed(),
    }))
}

/// Whether `bin` is newer than every file of `tests/kube/` (its Go sources,
/// `go.mod`, `go.sum`, `build.sh`; dependencies are pinned by `go.sum`).
fn is_fresh(bin: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(built) = modified(bin) else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir(crate::repo_root().join("tests/kube")) else {
        return false;
    };
    entries
        .flatten()
        .all(|e| modified(&e.path()).is_some_and(|m| m <= built))
}

/// `${OSP_CACHE_DIR:-$HOME/.cache/osp}`, as `build.sh` and `test.sh` use it.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OSP_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/osp")
}
