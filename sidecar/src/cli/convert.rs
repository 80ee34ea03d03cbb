//! `osp convert FILE|DIR|-`: definitions to Template and API entities, as a
//! multi-document YAML stream on stdout or one file per entity with `-o`.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use osp::document::{self, Limits};

use crate::files;

/// `osp convert` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A YAML file, a directory (read recursively) or `-` for stdin.
    pub input: PathBuf,
    /// Write one file per entity into this directory instead of stdout.
    #[arg(short = 'o', long = "output-dir")]
    pub output_dir: Option<PathBuf>,
}

/// Runs the conversion; exits 1 when any definition document is rejected,
/// 2 when an input cannot be read (the readable ones are still converted).
pub(crate) fn run(args: Args) -> ExitCode {
    let limits = Limits::default();
    let inputs = match read_inputs(&args.input, limits.max_bytes) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("osp: cannot read `{}`: {e}", args.input.display());
            return ExitCode::from(2);
        }
    };
    let mut entities = Vec::new();
    let (mut failed, mut unreadable) = (0usize, 0usize);
    for (name, text) in inputs {
        let text = match text {
            Ok(t) => t,
            // Over the size limit: rejected like an oversized document.
            Err(e @ files::Error::TooLarge { .. }) => {
                eprintln!("{name}: {}", e.reason());
                failed += 1;
                continue;
            }
            Err(e) => {
                eprintln!("osp: {e}");
                unreadable += 1;
                continue;
            }
        };
        failed += convert_text(&name, &text, limits, &mut entities);
    }
    let written = match &args.output_dir {
        Some(dir) => write_files(dir, &entities),
        None => write_stream(&entities),
    };
    if let Err(e) = written {
        eprintln!("osp: cannot write output: {e}");
        return ExitCode::from(2);
    }
    if unreadable > 0 {
        eprintln!("osp: {unreadable} input(s) could not be read");
        return ExitCode::from(2);
    }
    if failed > 0 {
        eprintln!("osp: {failed} document(s) rejected");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Converts the definitions of one input into `entities`; returns how many
/// documents were rejected.
fn convert_text(
    name: &str,
    text: &str,
    limits: Limits,
    entities: &mut Vec<serde_json::Value>,
) -> usize {
    let docs = match document::from_yaml_stream(text, limits) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{name}: {e}");
            return 1;
        }
    };
    let mut failed = 0;
    for (index, doc) in docs.iter().enumerate() {
        if !osp::definition::kinds::is_definition(doc) {
            continue;
        }
        match osp::convert::for_entities(doc) {
            Ok(c) => {
                for w in &c.warnings {
                    eprintln!("{name}[{index}]: warning: {}: {}", w.path, w.message);
                }
                entities.push(c.template);
                entities.push(c.api);
            }
            Err(e) => {
                eprintln!("{name}[{index}]: {e}");
                failed += 1;
            }
        }
    }
    failed
}

fn write_stream(entities: &[serde_json::Value]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for e in entities {
        writeln!(out, "---")?;
        out.write_all(document::to_yaml(e).as_bytes())?;
    }
    out.flush()
}

fn write_files(dir: &Path, entities: &[serde_json::Value]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for e in entities {
        let kind = e["kind"].as_str().unwrap_or("entity").to_lowercase();
        let name = e["metadata"]["name"].as_str().unwrap_or("unnamed");
        // Entity names are sanitised already; they cannot contain separators.
        std::fs::write(
            dir.join(format!("{kind}-{name}.yaml")),
            document::to_yaml(e),
        )?;
    }
    Ok(())
}

/// `(display name, text)` of every input, each read up to `limit` bytes
/// (the size is checked before reading). Only a directory that cannot be
/// listed is an error; entries that are not regular files are skipped with
/// a message, like `--from-dir` does.
pub(crate) fn read_inputs(
    input: &Path,
    limit: usize,
) -> std::io::Result<Vec<(String, Result<String, files::Error>)>> {
    if input == Path::new("-") {
        let stdin = std::io::stdin().lock();
        let text = files::read_capped(stdin, Path::new("<stdin>"), limit);
        return Ok(vec![("<stdin>".into(), text)]);
    }
    if input.is_dir() {
        let listing = files::list(input)?;
        for s in listing.skipped.iter().filter(|s| !s.seen_before) {
            eprintln!("osp: skipping `{}`: {}", s.path.display(), s.reason);
        }
        return Ok(listing
            .files
            .into_iter()
            .map(|f| (f.display().to_string(), files::read_text(&f, limit)))
            .collect());
    }
    Ok(vec![(
        input.display().to_string(),
        files::read_text(input, limit),
    )])
}
