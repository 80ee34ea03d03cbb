//! `osp convert FILE|DIR|-`: definitions to Template and API entities, as a
//! multi-document YAML stream on stdout or one file per entity with `-o`.
//! Streamed: files are converted on every core and written in input order,
//! a bounded number of files (and bytes) in memory at a time, so memory
//! stays flat however many files a directory holds.
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use osp::document::{self, Limits};
use serde_json::Value;

use crate::files;

mod ordered;

/// `osp convert` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A YAML file, a directory (read recursively) or `-` for stdin.
    pub input: PathBuf,
    /// Write one file per entity into this directory instead of stdout.
    #[arg(short = 'o', long = "output-dir")]
    pub output_dir: Option<PathBuf>,
    /// Threads converting files at once; 0 means one per CPU.
    #[arg(short = 'j', long = "jobs", default_value_t = 0)]
    pub jobs: usize,
}

/// Files a thread may run ahead of the oldest one not yet written. Memory
/// grows with it, not with the number of files. With 2 per thread, every
/// large file stalled the other threads after two small ones (10x the corpus
/// holds ten 746 KB XRDs): 32 keeps them busy (`-j2`, 10x: 0.33 -> 0.25 s)
/// for about 2 MiB more peak RSS.
const WINDOW_PER_JOB: usize = 32;

/// Output held before threads wait for the writer (unless theirs is the
/// next file to write): 32 files per thread of the largest documents (4 MiB
/// each, several MiB of YAML) would otherwise be hundreds of MiB when the
/// output is slower than the threads. Typical files (tens of KB) never
/// reach it.
const WINDOW_BYTES: usize = 16 * 1024 * 1024;

/// An entity as YAML, with its file name for `-o`.
struct Rendered {
    /// `<kind>-<name>.yaml`; entity names are sanitised already, so they
    /// cannot contain separators.
    file_name: String,
    yaml: String,
}

impl Rendered {
    fn of(entity: &Value) -> Rendered {
        let kind = entity["kind"].as_str().unwrap_or("entity").to_lowercase();
        let name = entity["metadata"]["name"].as_str().unwrap_or("unnamed");
        Rendered {
            file_name: format!("{kind}-{name}.yaml"),
            yaml: document::to_yaml(entity),
        }
    }
}

/// Where converted entities go, in input order as soon as they are ready.
enum Sink {
    /// A multi-document YAML stream; buffered because stdout's own buffer
    /// flushes at every newline. Not a `StdoutLock`: whichever thread's
    /// file is next writes it (`ordered::map`), and a lock stays with its
    /// thread.
    Stream(BufWriter<std::io::Stdout>),
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
            None => Sink::Stream(BufWriter::with_capacity(64 * 1024, std::io::stdout())),
        })
    }

    fn write(&mut self, entity: &Rendered) -> std::io::Result<()> {
        match self {
            Sink::Stream(out) => {
                out.write_all(b"---\n")?;
                out.write_all(entity.yaml.as_bytes())
            }
            Sink::Dir(dir) => std::fs::write(dir.join(&entity.file_name), &entity.yaml),
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
    let (inputs, largest) = match inputs(&args.input) {
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
    let jobs = match args.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let (mut failed, mut unreadable) = (0usize, 0usize);
    // Files are read, parsed, converted and rendered on `jobs` threads, and
    // written in input order; at most `WINDOW_PER_JOB` files per thread and
    // `WINDOW_BYTES` of output are held, and the largest file starts first
    // so it does not finish alone.
    let window = ordered::Window {
        jobs,
        items: WINDOW_PER_JOB * jobs,
        bytes: WINDOW_BYTES,
        first: largest,
    };
    let written = ordered::map(
        inputs,
        window,
        |input| converted(input, limits),
        Converted::size,
        |out: Converted| {
            for m in &out.messages {
                eprintln!("{m}");
            }
            failed += out.failed;
            unreadable += usize::from(out.unreadable);
            out.entities.iter().try_for_each(|e| sink.write(e))
        },
    );
    if let Err(e) = written.and_then(|()| sink.finish()) {
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

/// One input's entities, rendered, and what to tell the user about it.
#[derive(Default)]
struct Converted {
    entities: Vec<Rendered>,
    /// Lines for stderr, in the order they arose.
    messages: Vec<String>,
    /// Documents rejected.
    failed: usize,
    unreadable: bool,
}

impl Converted {
    /// Bytes held until written: the rendered entities and the messages.
    fn size(&self) -> usize {
        let entities: usize = self
            .entities
            .iter()
            .map(|e| e.yaml.len() + e.file_name.len())
            .sum();
        entities + self.messages.iter().map(String::len).sum::<usize>()
    }
}

/// Reads, parses and converts one input.
fn converted(input: Input, limits: Limits) -> Converted {
    let mut out = Converted::default();
    let (name, text) = input.read(limits.max_bytes);
    let text = match text {
        Ok(t) => t,
        // Over the size limit: rejected like an oversized document.
        Err(e @ files::Error::TooLarge { .. }) => {
            out.messages.push(format!("{name}: {}", e.reason()));
            out.failed = 1;
            return out;
        }
        Err(e) => {
            out.messages.push(format!("osp: {e}"));
            out.unreadable = true;
            return out;
        }
    };
    let docs = match document::from_yaml_stream(&text, limits) {
        Ok(d) => d,
        Err(e) => {
            out.messages.push(format!("{name}: {e}"));
            out.failed = 1;
            return out;
        }
    };
    let options = osp::convert::Options::default();
    for (index, doc) in docs.into_iter().enumerate() {
        if !osp::definition::kinds::is_definition(&doc) {
            continue;
        }
        match osp::convert::from_document(doc, &options) {
            Ok(c) => {
                for w in &c.warnings {
                    out.messages.push(format!(
                        "{name}[{index}]: warning: {}: {}",
                        w.path, w.message
                    ));
                }
                out.entities.push(Rendered::of(&c.template));
                out.entities.push(Rendered::of(&c.api));
            }
            Err(e) => {
                out.messages.push(format!("{name}[{index}]: {e}"));
                out.failed += 1;
            }
        }
    }
    out
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

/// The inputs named by `input`, and the index of the largest file of a
/// directory. Only a directory that cannot be listed is an error; entries
/// that are not regular files are skipped with a message, like
/// `--from-dir` does.
fn inputs(input: &Path) -> std::io::Result<(Vec<Input>, Option<usize>)> {
    if input == Path::new("-") {
        return Ok((vec![Input::Stdin], None));
    }
    if input.is_dir() {
        let listing = files::list(input)?;
        for s in listing.skipped.iter().filter(|s| !s.seen_before) {
            eprintln!("osp: skipping `{}`: {}", s.path.display(), s.reason);
        }
        let largest = listing
            .largest
            .and_then(|(_, big)| listing.files.iter().position(|f| *f == big));
        return Ok((
            listing.files.into_iter().map(Input::File).collect(),
            largest,
        ));
    }
    Ok((vec![Input::File(input.to_path_buf())], None))
}
