//! `osp convert FILE|DIR|-`: definitions to Template and API entities, as a
//! multi-document YAML stream on stdout or one file per entity with `-o`.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use osp::document::{self, Limits};

/// `osp convert` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A YAML file, a directory (read recursively) or `-` for stdin.
    pub input: PathBuf,
    /// Write one file per entity into this directory instead of stdout.
    #[arg(short = 'o', long = "output-dir")]
    pub output_dir: Option<PathBuf>,
}

/// Runs the conversion; exits 1 when any definition document is rejected.
pub fn run(args: Args) -> ExitCode {
    let inputs = match read_inputs(&args.input) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("osp: cannot read `{}`: {e}", args.input.display());
            return ExitCode::from(2);
        }
    };
    let mut entities = Vec::new();
    let mut failed = 0usize;
    for (name, text) in inputs {
        let docs = match document::from_yaml_stream(&text, Limits::default()) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{name}: {e}");
                failed += 1;
                continue;
            }
        };
        for (index, doc) in docs.iter().enumerate() {
            if !crate::store::is_definition(doc) {
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
    }
    let written = match &args.output_dir {
        Some(dir) => write_files(dir, &entities),
        None => write_stream(&entities),
    };
    if let Err(e) = written {
        eprintln!("osp: cannot write output: {e}");
        return ExitCode::from(2);
    }
    if failed > 0 {
        eprintln!("osp: {failed} document(s) rejected");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
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

/// `(display name, text)` of every input file.
pub fn read_inputs(input: &Path) -> std::io::Result<Vec<(String, String)>> {
    if input == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(vec![("<stdin>".into(), text)]);
    }
    if input.is_dir() {
        let mut files = Vec::new();
        collect(input, &mut files)?;
        files.sort();
        return files
            .into_iter()
            .map(|f| Ok((f.display().to_string(), std::fs::read_to_string(&f)?)))
            .collect();
    }
    Ok(vec![(
        input.display().to_string(),
        std::fs::read_to_string(input)?,
    )])
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
