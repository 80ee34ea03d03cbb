//! Starts the real `osp` binary (`osp serve`) on a free loopback port and
//! stops it with SIGTERM when dropped.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The `osp` binary: `OSP_BIN`, else `target/debug/osp`, built once per
/// test run if missing.
pub fn osp_bin() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(bin) = std::env::var_os("OSP_BIN") {
                return Ok(PathBuf::from(bin));
            }
            let root = crate::repo_root();
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"));
            let bin = target.join("debug/osp");
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "osp-sidecar", "--bin", "osp"])
                .current_dir(&root)
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("cargo build of osp failed: {status}"));
            }
            Ok(bin)
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// A running `osp serve`.
#[derive(Debug)]
pub struct OspServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: PathBuf,
}

impl OspServer {
    /// Starts `osp serve --listen 127.0.0.1:<free> <args>` and waits until
    /// its overall health is SERVING.
    pub fn start(args: &[&str]) -> anyhow::Result<Self> {
        Self::start_with_env(args, &[])
    }

    /// Like [`OspServer::start`] with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let addr = free_addr()?;
        let log = std::env::temp_dir().join(format!("osp-serve-{}.log", addr.port()));
        let file = std::fs::File::create(&log)?;
        let child = Command::new(osp_bin()?)
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .context("spawn osp serve")?;
        let mut server = Self { child, addr, log };
        server.wait_serving(Duration::from_secs(30))?;
        Ok(server)
    }

    /// `host:port` for grpcurl.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_serving(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("osp serve exited early ({status}):\n{}", self.log());
            }
            if self.log().contains(" serving") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("osp serve not SERVING after {timeout:?}:\n{}", self.log())
    }

    /// Sends SIGTERM and waits for exit.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        crate::terminate(&mut self.child, "osp serve")
    }
}

impl Drop for OspServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.terminate();
        }
    }
}

/// A loopback address with a port nobody listens on right now.
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}
