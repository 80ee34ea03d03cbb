//! `osp claim render`: a claim or XR manifest from a definition and values.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use osp::claim::{ClaimInput, CompositionChoice, Error};
use osp::document::{self, Limits};

/// `osp claim` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Render and validate a claim or XR; YAML on stdout, violations on stderr.
    Render(RenderArgs),
}

/// `osp claim render` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct RenderArgs {
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
    /// Repository the manifest is published to (`host?owner=o&repo=r`):
    /// the manifest records it with its path and key, so its Resource can be
    /// deleted from Backstage.
    #[arg(long)]
    pub repo_url: Option<String>,
    /// The path publishing writes to, when not the suggested one.
    #[arg(long)]
    pub target_path: Option<String>,
    /// Composition name (`compositionRef.name`).
    #[arg(long)]
    pub composition: Option<String>,
    /// `Automatic` or `Manual`.
    #[arg(long)]
    pub update_policy: Option<String>,
    /// Connection secret name (claims only).
    #[arg(long)]
    pub connection_secret: Option<String>,
    /// `Background` or `Foreground`: how deleting the claim deletes its XR
    /// (claims only).
    #[arg(long)]
    pub composite_delete_policy: Option<String>,
}

/// Runs the subcommand: 0 when valid, 1 on violations, 2 on unreadable input.
pub(crate) fn run(cmd: Command) -> ExitCode {
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
            composite_delete_policy: args.composite_delete_policy,
        },
        cluster: args.cluster,
        base: args.base,
        repo_url: args.repo_url,
        target_path: args.target_path,
    };
    match osp::claim::for_claim(&def, &input) {
        Ok(r) => {
            for w in &r.warnings {
                eprintln!("warning: {}: {}", one_line(&w.path), one_line(&w.message));
            }
            eprintln!("path: {}", r.path);
            print!("{}", r.yaml);
            ExitCode::SUCCESS
        }
        Err(Error::Validation(violations)) => {
            for v in &violations {
                eprintln!("{}", one_line(&v.to_string()));
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
        .find(|d| osp::definition::kinds::is_definition(d))
        .ok_or_else(|| format!("{}: no XRD, RGD or Promise found", path.display()))?;
    osp::definition::for_document(doc).map_err(|e| format!("{}: {e}", path.display()))
}

/// The values file: JSON when it is JSON, as gRPC's `values_json` reads it
/// (YAML caps implicit keys at 1024 characters, JSON does not), else one
/// YAML document; empty, `null` or `~` mean no values, as over gRPC.
fn values(path: &Path) -> Result<serde_json::Value, String> {
    let text = read(path)?;
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    let limits = Limits::default();
    if let Ok(v) = document::from_json(&text, limits) {
        return Ok(v);
    }
    let mut docs = document::from_yaml_stream(&text, limits)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match docs.len() {
        // A lone `~` (or `null`) document.
        0 => Ok(serde_json::Value::Null),
        1 => Ok(docs.remove(0)),
        n => Err(format!(
            "{}: expected one values document, found `{n}`",
            path.display()
        )),
    }
}

/// `s` on one line: control characters (newlines included) escaped, so a
/// name or value echoed in a violation cannot start a line of its own (and
/// forge, say, `metadata.name: forged`).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_over_grpc() {
        let long_key = "k".repeat(2000);
        let cases: Vec<(&str, String, Result<serde_json::Value, &str>)> = vec![
            (
                "empty: no values",
                String::new(),
                Ok(serde_json::Value::Null),
            ),
            (
                "`null` renders over gRPC, so here too",
                "null\n".into(),
                Ok(serde_json::Value::Null),
            ),
            (
                "`~` is YAML's null",
                "~\n".into(),
                Ok(serde_json::Value::Null),
            ),
            (
                "JSON with a key over YAML's 1024-character limit",
                format!("{{\"{long_key}\": 1}}"),
                Ok(serde_json::json!({ long_key.clone(): 1 })),
            ),
            (
                "YAML still works",
                "size: 3\n".into(),
                Ok(serde_json::json!({"size": 3})),
            ),
            (
                "two documents are refused",
                "a: 1\n---\nb: 2\n".into(),
                Err("expected one values document"),
            ),
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, (reason, text, want)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("values-{i}.yaml"));
            std::fs::write(&path, text).expect("write");
            match (values(&path), want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{reason}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{reason}: {g}"),
                (g, w) => panic!("{reason}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn violations_print_on_one_line() {
        let cases = [
            (
                "plain text is unchanged",
                "spec.size: must be > 0",
                "spec.size: must be > 0",
            ),
            (
                "a newline in a value cannot forge a line",
                "spec.name: bad value `x\nmetadata.name: forged`",
                "spec.name: bad value `x\\nmetadata.name: forged`",
            ),
            (
                "carriage returns and escapes",
                "a\r\u{1b}[2Jb",
                "a\\r\\u{1b}[2Jb",
            ),
            (
                "non-ASCII text stays readable",
                "name: é ü €",
                "name: é ü €",
            ),
        ];
        for (reason, input, want) in cases {
            let got = one_line(input);
            assert_eq!(got, want, "{reason}");
            assert!(!got.contains('\n'), "{reason}");
        }
    }
}
