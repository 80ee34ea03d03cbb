//! `osp convert FILE|DIR|-`: definitions to Template and API entities, as a
//! multi-document YAML stream on stdout or one file per entity with `-o`.
//! Streamed: one input file and its entities are in memory at a time, so
//! memory stays flat however many files a directory holds.
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use osp::document::{self, Limits};
use serde_json::Value;

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

/// Where converted entities go, each written as soon as it is converted.
enum Sink {
    /// A multi-document YAML stream; buffered because stdout's own buffer
    /// flushes at every newline.
    Stream(BufWriter<std::io::StdoutLock<'static>>),
    /// One `<kind>-<name>.yaml` per entity.
    Dir(PathBuf),
}

impl Sink {
    fn open(output_dir: Option<&Path>) -> std::io::Result<Sink> {
        Ok(match output_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                Sink::Dir(dir.to_path_buf())
            }
            None => Sink::Stream(BufWriter::with_capacity(
                64 * 1024,
                std::io::stdout().lock(),
            )),
        })
    }

    fn write(&mut self, entity: &Value) -> std::io::Result<()> {
        match self {
            Sink::Stream(out) => {
                out.write_all(b"---\n")?;
                out.write_all(document::to_yaml(entity).as_bytes())
            }
            Sink::Dir(dir) => {
                let kind = entity["kind"].as_str().unwrap_or("entity").to_lowercase();
                let name = entity["metadata"]["name"].as_str().unwrap_or("unnamed");
                // Entity names are sanitised already; they cannot contain separators.
                let path = dir.join(format!("{kind}-{name}.yaml"));
                std::fs::write(path, document::to_yaml(entity))
            }
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Stream(mut out) => out.flush(),
            Sink::Dir(_) => Ok(()),
        }
    }
}

/// Runs the conversion; exits 1 when any definition document is rejected,
/// 2 when an input cannot be read (the readable ones are still converted)
/// or the output cannot be written.
pub(crate) fn run(args: Args) -> ExitCode {
    let limits = Limits::default();
    let inputs = match inputs(&args.input) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("osp: cannot read `{}`: {e}", args.input.display());
            return ExitCode::from(2);
        }
    };
    let mut sink = match Sink::open(args.output_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => return cannot_write(&e),
    };
    let (mut failed, mut unreadable) = (0usize, 0usize);
    for input in inputs {
        let (name, text) = input.read(limits.max_bytes);
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
        match convert_text(&name, &text, limits, &mut sink) {
            Ok(n) => failed += n,
            Err(e) => return cannot_write(&e),
        }
    }
    if let Err(e) = sink.finish() {
        return cannot_write(&e);
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

fn cannot_write(e: &std::io::Error) -> ExitCode {
    eprintln!("osp: cannot write output: {e}");
    ExitCode::from(2)
}

/// Converts the definitions of one input and writes their entities; returns
/// how many documents were rejected.
fn convert_text(name: &str, text: &str, limits: Limits, sink: &mut Sink) -> std::io::Result<usize> {
    let docs = match document::from_yaml_stream(text, limits) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{name}: {e}");
            return Ok(1);
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
                sink.write(&c.template)?;
                sink.write(&c.api)?;
            }
            Err(e) => {
                eprintln!("{name}[{index}]: {e}");
                failed += 1;
            }
        }
    }
    Ok(failed)
}

/// One input, read only when its turn comes.
enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// `(display name, text)`, read up to `limit` bytes (the size is
    /// checked before reading).
    fn read(self, limit: usize) -> (String, Result<String, files::Error>) {
        match self {
            Input::Stdin => {
                let stdin = std::io::stdin().lock();
                let text = files::read_capped(stdin, Path::new("<stdin>"), limit);
                ("<stdin>".into(), text)
            }
            Input::File(f) => (f.display().to_string(), files::read_text(&f, limit)),
        }
    }
}

/// The inputs named by `input`. Only a directory that cannot be listed is
/// an error; entries that are not regular files are skipped with a message,
/// like `--from-dir` does.
fn inputs(input: &Path) -> std::io::Result<Vec<Input>> {
    if input == Path::new("-") {
        return Ok(vec![Input::Stdin]);
    }
    if input.is_dir() {
        let listing = files::list(input)?;
        for s in listing.skipped.iter().filter(|s| !s.seen_before) {
            eprintln!("osp: skipping `{}`: {}", s.path.display(), s.reason);
        }
        return Ok(listing.files.into_iter().map(Input::File).collect());
    }
    Ok(vec![Input::File(input.to_path_buf())])
}
