//! The real Crossplane for tests: `osp-loop` (see `tests/loop/README.md`)
//! runs Crossplane v2's core and function-patch-and-transform against the
//! API server of a kubeconfig (`osp-test-apiserver --no-xrd-controller`,
//! [`crate::kube::Options::no_xrd_controller`]). [`Loop::start`] waits for
//! its `READY` line; SIGTERM on drop. [`world`] sets up the cluster side,
//! [`catalog`] follows osp's, [`tree`] compares the two.
pub mod catalog;
pub mod tree;
pub mod world;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::kube::binary::cache_dir;
use crate::kube::{ApiServer, Options, tail, wait_ready};

/// How long start-up may take (8.5–13 s on a quiet 2-core machine; the
/// apiserver making Crossplane's 21 CRDs Established dominates and slows
/// down a lot under load). Also passed as osp-loop's own `--timeout`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(300);

/// The cluster's name in osp's config.
pub const CLUSTER: &str = "loop";
/// How long anything may take to happen (Crossplane and Flux need well
/// under a second per hop on a quiet machine; this one is shared).
pub const TIMEOUT: Duration = Duration::from_secs(120);
/// How often the catalog and the API server are polled.
pub const POLL: Duration = Duration::from_millis(50);

/// What osp-loop writes to `--info` (the fields we use).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Info {
    /// `127.0.0.1:PORT` of function-patch-and-transform.
    pub function_endpoint: String,
    /// `function-patch-and-transform`, the `Function`'s name.
    pub function_name: String,
    /// e.g. `v0.10.7`.
    pub function_version: String,
    /// e.g. `v2.3.0`.
    pub crossplane_version: String,
    /// Process id of `crossplane core start`.
    pub crossplane_pid: u32,
    /// Process id of the function.
    pub function_pid: u32,
    /// With Flux: `http://127.0.0.1:PORT/osp/gitops.git`, whose branch
    /// `main` Flux applies.
    #[serde(default)]
    pub git_url: Option<String>,
    /// With Flux: that bare repository on disk (osp's local publish target
    /// can write to it; the server serves what is there).
    #[serde(default)]
    pub git_dir: Option<PathBuf>,
}

/// How to start osp-loop.
#[derive(Debug, Clone, Default)]
pub struct LoopOptions {
    /// Also Flux and its git server (`--flux`; built by
    /// `OSP_LOOP_FLUX=1 tests/loop/build.sh`).
    pub flux: bool,
}

/// A running `osp-loop`; SIGTERM on drop (it stops its children).
#[derive(Debug)]
pub struct Loop {
    child: Child,
    dir: PathBuf,
    /// What it reported about itself.
    pub info: Info,
    /// The `READY` line without `READY `, e.g.
    /// `crossplane=v2.3.0 function-patch-and-transform=127.0.0.1:PORT`.
    pub ready: String,
    /// Time from spawn to `READY`.
    pub ready_in: Duration,
}

/// The API server real Crossplane runs against: without the `xcrd`
/// stand-in, so Crossplane's own definition controller establishes XRDs.
/// `None` (a skip) where osp-loop or the API server is not built here;
/// under CI their absence is an error.
pub fn api_server() -> anyhow::Result<Option<ApiServer>> {
    if binary()?.is_none() {
        return Ok(None);
    }
    ApiServer::start(&Options {
        no_xrd_controller: true,
        ..Default::default()
    })
}

/// The osp-loop binary: `OSP_LOOP` (must exist), else
/// `${OSP_CACHE_DIR:-~/.cache/osp}/bin/osp-loop` (`tests/loop/build.sh`);
/// `Ok(None)` with a printed reason when that is missing (a failure under
/// `CI=true`, see [`crate::missing`]).
pub fn binary() -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = std::env::var_os("OSP_LOOP").map(PathBuf::from) {
        anyhow::ensure!(
            path.is_file(),
            "OSP_LOOP=`{}` is not a file",
            path.display()
        );
        return Ok(Some(path));
    }
    let path = cache_dir().join("bin/osp-loop");
    if path.is_file() {
        Ok(Some(path))
    } else {
        crate::missing(&format!(
            "no osp-loop at `{}` (run tests/loop/build.sh or set OSP_LOOP)",
            path.display()
        ));
        Ok(None)
    }
}

impl Loop {
    /// Starts osp-loop against `kubeconfig` (its current context, which
    /// must be cluster-admin: `admin` of osp-test-apiserver) and waits for
    /// `READY`: Crossplane running, the `Function` Installed and Healthy.
    /// `Ok(None)` when the binary is missing (see [`binary`]).
    pub fn start(kubeconfig: &Path) -> anyhow::Result<Option<Self>> {
        Self::start_with(kubeconfig, &LoopOptions::default())
    }

    /// [`Loop::start`] with options; with Flux, `READY` also means its
    /// Kustomization is Ready.
    pub fn start_with(kubeconfig: &Path, options: &LoopOptions) -> anyhow::Result<Option<Self>> {
        let Some(bin) = binary()? else {
            return Ok(None);
        };
        // osp-loop's default `--lib`, where build.sh puts Flux.
        let flux = bin.with_file_name("../lib/osp-loop/flux/source-controller");
        if options.flux && !flux.is_file() {
            crate::missing(&format!(
                "no Flux at `{}` (run OSP_LOOP_FLUX=1 tests/loop/build.sh)",
                flux.display()
            ));
            return Ok(None);
        }
        let dir = std::env::temp_dir().join(format!(
            "osp-loop-fixture-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("create `{}`", dir.display()))?;
        let log = std::fs::File::create(dir.join("stderr.log"))?;
        let started = Instant::now();
        let mut child = Command::new(&bin)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--exit-with-parent")
            .arg("--info")
            .arg(dir.join("info.json"))
            .arg("--log-dir")
            .arg(dir.join("logs"))
            .arg("--timeout")
            .arg(format!("{}s", READY_TIMEOUT.as_secs()))
            .args(options.flux.then_some("--flux"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawn `{}`", bin.display()))?;
        // osp-loop gives up by itself after --timeout; a little more here.
        let ready = wait_ready(
            &mut child,
            READY_TIMEOUT + Duration::from_secs(20),
            "osp-loop",
        );
        let ready_in = started.elapsed();
        let ready = match ready {
            Ok(r) => r,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let logs = logs_of(&dir);
                let _ = std::fs::remove_dir_all(&dir);
                bail!("{e:#}; osp-loop's logs:\n{}", tail(&logs, 8000));
            }
        };
        let text = std::fs::read_to_string(dir.join("info.json")).context("read info.json")?;
        let info: Info = serde_json::from_str(&text).context("parse info.json")?;
        Ok(Some(Self {
            child,
            dir,
            info,
            ready,
            ready_in,
        }))
    }

    /// osp-loop's stderr and its children's logs (Crossplane, the function).
    pub fn logs(&self) -> String {
        logs_of(&self.dir)
    }

    /// Sends SIGTERM and waits (up to 20 s) for the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        crate::terminate(&mut self.child, "osp-loop")
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("osp-loop's logs:\n{}", tail(&self.logs(), 8000));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.terminate();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every log of a fixture dir, each under its name.
fn logs_of(dir: &Path) -> String {
    let mut files = vec![dir.join("stderr.log")];
    if let Ok(entries) = std::fs::read_dir(dir.join("logs")) {
        let mut more: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    let mut out = String::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        out.push_str(&format!("==> {} <==\n{}\n", f.display(), tail(&text, 3000)));
    }
    out
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
