//! A real Kubernetes API server for tests: `osp-test-apiserver` (see
//! `tests/kube/README.md`) with Crossplane's CRDs, started once per test
//! binary ([`ApiServer::shared`]) or per test ([`ApiServer::start`]), plus
//! kube clients for the admin and for alice (namespace `team-a` only), and a
//! fault-injecting proxy ([`proxy::Proxy`]).
pub mod binary;
pub mod proxy;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// How long start-up may take before we give up (a loaded 2-core machine
/// needs ≈ 5–7 s; the rest is headroom).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// What the server writes to `--info` (the fields we use).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Info {
    /// `https://127.0.0.1:PORT`.
    pub server: String,
    /// The serving CA, PEM.
    pub ca_pem: String,
    /// Bearer token of `admin` (`system:masters`).
    pub admin_token: String,
    /// Bearer token of `alice` (Role in `team-a` only).
    pub alice_token: String,
    /// Kubernetes version, e.g. `v1.35.4`.
    pub version: String,
    /// The server's process id.
    pub pid: u32,
}

/// Start-up options.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Files applied before READY (`--xrd`); each XRD must get Established.
    pub xrds: Vec<PathBuf>,
    /// `--no-xrd-controller`: no stand-in for Crossplane's definition
    /// controller, for a real Crossplane ([`crate::crossplane::Loop`]) to
    /// establish XRDs (`--xrd` files are then applied without waiting).
    pub no_xrd_controller: bool,
}

/// A running `osp-test-apiserver`; SIGTERM on drop.
#[derive(Debug)]
pub struct ApiServer {
    child: Child,
    dir: PathBuf,
    /// What the server reported about itself.
    pub info: Info,
    /// Time from spawn to `READY`.
    pub ready_in: Duration,
    /// Time spent building the binary in this process (zero if prebuilt).
    pub build: Duration,
}

impl ApiServer {
    /// The server shared by every test of this test binary (no `--xrd`:
    /// tests create what they need through the API, in names of their own).
    /// `Ok(None)` (after printing why) when the binary or the corpus is
    /// missing. It is never dropped: it stops when the test process exits
    /// (the server watches its parent).
    pub fn shared() -> anyhow::Result<Option<&'static ApiServer>> {
        static SHARED: OnceLock<Result<Option<ApiServer>, String>> = OnceLock::new();
        let server =
            SHARED.get_or_init(|| Self::start(&Options::default()).map_err(|e| format!("{e:#}")));
        match server {
            Ok(s) => Ok(s.as_ref()),
            Err(e) => Err(anyhow::anyhow!("{e}")),
        }
    }

    /// Starts a server of its own (for tests that need isolation).
    pub fn start(options: &Options) -> anyhow::Result<Option<Self>> {
        let Some(crds) = crossplane_crds() else {
            return Ok(None);
        };
        let Some(bin) = binary::binary()? else {
            return Ok(None);
        };
        sweep_stale_dirs();
        let dir =
            std::env::temp_dir().join(format!("osp-kube-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).with_context(|| format!("create `{}`", dir.display()))?;
        let log = std::fs::File::create(dir.join("stderr.log"))?;
        let mut cmd = Command::new(&bin.path);
        cmd.arg("--kubeconfig")
            .arg(dir.join("kubeconfig"))
            .arg("--info")
            .arg(dir.join("info.json"))
            .arg("--crds")
            .arg(&crds);
        for xrd in &options.xrds {
            cmd.arg("--xrd").arg(xrd);
        }
        if options.no_xrd_controller {
            cmd.arg("--no-xrd-controller");
        }
        let started = Instant::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawn `{}`", bin.path.display()))?;
        let ready = wait_ready(&mut child, READY_TIMEOUT, "osp-test-apiserver");
        let ready_in = started.elapsed();
        let url = match ready {
            Ok(url) => url,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                let _ = std::fs::remove_dir_all(&dir);
                bail!("{e:#}; server stderr:\n{}", tail(&log, 4000));
            }
        };
        let text = std::fs::read_to_string(dir.join("info.json")).context("read info.json")?;
        let info: Info = serde_json::from_str(&text).context("parse info.json")?;
        anyhow::ensure!(
            info.server == url,
            "READY `{url}` but info.json says `{}`",
            info.server
        );
        Ok(Some(Self {
            child,
            dir,
            info,
            ready_in,
            build: bin.build,
        }))
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.info.server
    }

    /// The kubeconfig the server wrote (contexts `admin`, `alice`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// What the server wrote on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// Resident memory of the server process (VmRSS), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The kube config of a kubeconfig context (`admin` or `alice`).
    pub async fn config(&self, context: &str) -> anyhow::Result<kube::Config> {
        let kubeconfig = Kubeconfig::read_from(self.kubeconfig())?;
        let options = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        Ok(kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?)
    }

    /// A client as `admin` (`system:masters`). Create clients inside the
    /// test's runtime: a client's background task lives on the runtime that
    /// made it.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        Ok(kube::Client::try_from(self.config("admin").await?)?)
    }

    /// A client as `alice`, with her own token.
    pub async fn alice(&self) -> anyhow::Result<kube::Client> {
        Ok(kube::Client::try_from(self.config("alice").await?)?)
    }

    /// A client as `admin` impersonating `user` (`Impersonate-User`).
    pub async fn impersonating(&self, user: &str) -> anyhow::Result<kube::Client> {
        let mut config = self.config("admin").await?;
        config.auth_info.impersonate = Some(user.to_string());
        Ok(kube::Client::try_from(config)?)
    }

    /// Sends SIGTERM and waits (up to 20 s) for the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        crate::terminate(&mut self.child, "osp-test-apiserver")
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.terminate();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `../shared/corpus/crds/crossplane`, or `None` with a message.
pub fn crossplane_crds() -> Option<PathBuf> {
    let dir = crate::corpus_dir()?.join("crds/crossplane");
    if dir.is_dir() {
        Some(dir)
    } else {
        crate::missing(&format!("no Crossplane CRDs at `{}`", dir.display()));
        None
    }
}

/// Waits until the CRD `name` exists and is Established.
pub async fn wait_crd_established(
    client: &kube::Client,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<CustomResourceDefinition> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(crd) = api.get_opt(name).await? {
            let established = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                return Ok(crd);
            }
        }
        if Instant::now() > deadline {
            bail!("CRD `{name}` not Established after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `CompositeResourceDefinition` (`apiextensions.crossplane.io/v1`).
pub fn xrd_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(
            "apiextensions.crossplane.io",
            "v1",
            "CompositeResourceDefinition",
        ),
        "compositeresourcedefinitions",
    )
}

/// Waits until the XRD `name` has `Established=True` (written by the
/// server's stand-in for Crossplane's definition controller).
pub async fn wait_xrd_established(
    client: &kube::Client,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<DynamicObject> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &xrd_resource());
    let deadline = Instant::now() + timeout;
    loop {
        let xrd = api.get(name).await?;
        let conditions = xrd.data["status"]["conditions"].as_array();
        let condition = |t: &str| {
            conditions
                .into_iter()
                .flatten()
                .find(|c| c["type"] == t)
                .cloned()
        };
        if condition("Established").is_some_and(|c| c["status"] == "True") {
            return Ok(xrd);
        }
        if let Some(synced) = condition("Synced").filter(|c| c["status"] == "False") {
            bail!("XRD `{name}` failed: {}", synced["message"]);
        }
        if Instant::now() > deadline {
            bail!("XRD `{name}` not Established after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads stdout until its first line, `READY <rest>` (returns `<rest>`),
/// the process exits, or time runs out; stdout is drained afterwards.
pub(crate) fn wait_ready(
    child: &mut Child,
    timeout: Duration,
    what: &str,
) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next();
        let _ = tx.send(first);
        // Keep draining so the server never blocks on a full pipe.
        for _ in lines {}
    });
    match rx.recv_timeout(timeout) {
        Ok(Some(Ok(line))) => match line.strip_prefix("READY ") {
            Some(url) => Ok(url.trim().to_string()),
            None => bail!("{what}: expected `READY …` on stdout, got `{line}`"),
        },
        Ok(Some(Err(e))) => bail!("{what}: read stdout: {e}"),
        Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait()?;
            bail!("{what} exited before READY ({status})")
        }
        Err(mpsc::RecvTimeoutError::Timeout) => bail!("{what}: no READY within {timeout:?}"),
    }
}

/// Removes fixture dirs of test processes that are gone (the shared server
/// is never dropped, so its dir outlives the process).
fn sweep_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("osp-kube-"))
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The last `max` bytes of `s` (at a character boundary), for logs in
/// failure messages.
pub fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
