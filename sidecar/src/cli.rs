//! The `osp` command line: `serve`, `convert`, `claim render`, `publish`.
pub(crate) mod claim;
pub(crate) mod convert;
pub(crate) mod publish;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, ServeArgs};

/// Open Service Portal: Crossplane APIs as a Backstage self-service marketplace.
#[derive(Debug, Parser)]
#[command(name = "osp", version, about)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the gRPC sidecar server.
    Serve(ServeArgs),
    /// Convert definitions (XRDs, RGDs, Promises) to Backstage Templates and APIs.
    Convert(convert::Args),
    /// Work with claims and XRs.
    #[command(subcommand)]
    Claim(claim::Command),
    /// Publish files as a pull request.
    Publish(publish::Args),
}

/// Runs the command line; the exit code is non-zero on any failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Convert(args) => convert::run(args),
        Command::Claim(cmd) => claim::run(cmd),
        Command::Publish(args) => publish::run(args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let config = match Config::resolve(&args, std::env::var("OSP_TOKEN").ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("osp: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("osp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _telemetry = runtime.block_on(async { crate::telemetry::init(config.log_format) });
    for d in &config.deprecations {
        tracing::warn!("{d}");
    }
    let served = runtime.block_on(crate::server::serve(config, shutdown_signal()));
    // Dropping the runtime would wait for every blocking task, and one stuck
    // in a system call (a file on a hung mount) would keep the process alive
    // after the drain; every answer is written by now.
    runtime.shutdown_timeout(BLOCKING_TASKS_GRACE);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server stopped");
            eprintln!("osp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How long `osp serve` waits at exit for background blocking work (a
/// conversion whose caller timed out, a directory scan) before leaving it.
const BLOCKING_TASKS_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Resolves on SIGTERM (Kubernetes) or SIGINT (Ctrl-C).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
