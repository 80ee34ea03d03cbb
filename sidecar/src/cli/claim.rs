//! `osp claim render`: a claim or XR manifest from a definition and values.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use osp::claim::{ClaimInput, CompositionChoice, Error};
use osp::document::{self, Limits};

/// `osp claim` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Render and validate a claim or XR; YAML on stdout, violations on stderr.
    Render(RenderArgs),
}

/// `osp claim render` arguments.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The definition file (XRD, RGD or Promise); the first definition in it is used.
    #[arg(long)]
    pub definition: PathBuf,
    /// A YAML/JSON file with the form values (the spec fields); `-` for stdin.
    #[arg(long)]
    pub values: Option<PathBuf>,
    /// `metadata.name`.
    #[arg(long)]
    pub name: String,
    /// `metadata.namespace` (namespaced kinds only).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Owner entity ref, e.g. `group:default/team-a`.
    #[arg(long)]
    pub owner: Option<String>,
    /// Ref of the Template recorded as provenance.
    #[arg(long)]
    pub template_ref: Option<String>,
    /// Target cluster, for the suggested repository path.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Folder the suggested repository path is placed under (as `publish.base`).
    #[arg(long)]
    pub base: Option<String>,
    /// Composition name (`compositionRef.name`).
    #[arg(long)]
    pub composition: Option<String>,
    /// `Automatic` or `Manual`.
    #[arg(long)]
    pub update_policy: Option<String>,
    /// Connection secret name (claims only).
    #[arg(long)]
    pub connection_secret: Option<String>,
}

/// Runs the subcommand: 0 when valid, 1 on violations, 2 on unreadable input.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Render(args) => render(args),
    }
}

fn render(args: RenderArgs) -> ExitCode {
    let def = match definition(&args.definition) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("osp: {e}");
            return ExitCode::from(2);
        }
    };
    let values = match args.values.as_deref().map(values).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            eprintln!("osp: {e}");
            return ExitCode::from(2);
        }
    };
    let input = ClaimInput {
        name: args.name,
        namespace: args.namespace,
        values,
        owner: args.owner,
        template_ref: args.template_ref,
        composition: CompositionChoice {
            composition_name: args.composition,
            composition_selector: Default::default(),
            update_policy: args.update_policy,
            connection_secret_name: args.connection_secret,
        },
        cluster: args.cluster,
        base: args.base,
    };
    match osp::claim::for_claim(&def, &input) {
        Ok(r) => {
            for w in &r.warnings {
                eprintln!("warning: {}: {}", w.path, w.message);
            }
            eprintln!("path: {}", r.path);
            print!("{}", r.yaml);
            ExitCode::SUCCESS
        }
        Err(Error::Validation(violations)) => {
            for v in &violations {
                eprintln!("{v}");
            }
            eprintln!("osp: {} violation(s)", violations.len());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("osp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The file (or stdin for `-`), its size checked before reading and never
/// more than the document limit + 1 byte read.
fn read(path: &Path) -> Result<String, String> {
    let limit = Limits::default().max_bytes;
    let text = if path == Path::new("-") {
        crate::files::read_capped(std::io::stdin().lock(), Path::new("<stdin>"), limit)
    } else {
        crate::files::read_text(path, limit)
    };
    text.map_err(|e| match e {
        e @ crate::files::Error::TooLarge { .. } => format!("{}: {}", path.display(), e.reason()),
        e => e.to_string(),
    })
}

fn definition(path: &Path) -> Result<osp::definition::Definition, String> {
    let text = read(path)?;
    let docs = document::from_yaml_stream(&text, Limits::default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = docs
        .iter()
        .find(|d| crate::store::is_definition(d))
        .ok_or_else(|| format!("{}: no XRD, RGD or Promise found", path.display()))?;
    osp::definition::for_document(doc).map_err(|e| format!("{}: {e}", path.display()))
}

fn values(path: &Path) -> Result<serde_json::Value, String> {
    let text = read(path)?;
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    document::from_yaml(&text, Limits::default()).map_err(|e| format!("{}: {e}", path.display()))
}
