//! `osp claim render`: a claim or XR manifest from a definition and values.
use std::path::PathBuf;
use std::process::ExitCode;

/// `osp claim` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Render and validate a claim or XR; YAML on stdout, violations on stderr.
    Render(RenderArgs),
}

/// `osp claim render` arguments.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The definition file (XRD, RGD or Promise).
    #[arg(long)]
    pub definition: PathBuf,
    /// A YAML/JSON file with the form values (the spec fields).
    #[arg(long)]
    pub values: PathBuf,
    /// `metadata.name`.
    #[arg(long)]
    pub name: String,
    /// `metadata.namespace` (namespaced kinds only).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Owner entity ref, e.g. `group:default/team-a`.
    #[arg(long)]
    pub owner: Option<String>,
}

/// Runs the subcommand.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Render(_) => {
            eprintln!("osp: `claim render` is not implemented yet");
            ExitCode::from(2)
        }
    }
}
