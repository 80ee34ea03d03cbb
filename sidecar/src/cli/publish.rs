//! `osp publish`: files to a pull request (or a local Git branch).
use std::process::ExitCode;

/// `osp publish` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Target repository, `owner/name`.
    #[arg(long)]
    pub repository: String,
}

/// Runs the command.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("osp: `publish` is not implemented yet");
    ExitCode::from(2)
}
