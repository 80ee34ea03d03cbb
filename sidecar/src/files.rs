//! Listing and reading definition files from a directory someone else
//! controls (`--from-dir`, `osp convert DIR`, CLI inputs): only regular
//! files are opened, never more than the size limit is read, directory
//! symlink loops are followed once and depth is bounded. A bad entry is
//! skipped and reported; it never stops the others.
use std::collections::HashSet;
use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Deepest directory level listed below the root: definition folders are
/// shallow, and the bound stops runaway trees (e.g. symlinks to ever new
/// bind mounts) that the loop check alone would walk for long.
pub(crate) const MAX_DIR_DEPTH: usize = 16;

/// Errors of reading one file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The file's metadata could not be read.
    #[error("cannot inspect `{path}`: {source}")]
    Inspect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file (FIFO, socket, device, directory): opening a
    /// FIFO blocks until a writer comes, a device may never end.
    #[error("`{path}` is not a regular file but a {kind}")]
    NotRegular { path: PathBuf, kind: &'static str },
    /// The file could not be opened.
    #[error("cannot open `{path}`: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is over the size limit (known before reading it, or found
    /// while reading a file that grew).
    #[error("`{path}` is {size} bytes, over the limit of `{limit}` bytes")]
    TooLarge {
        path: PathBuf,
        /// The size: `limit + 1` means "more than the limit" when it grew.
        size: u64,
        limit: usize,
    },
    /// The file is not UTF-8 text.
    #[error(
        "`{path}` is not UTF-8 text: line {line}, column {column}: byte `{byte:#04x}` starts no UTF-8 character"
    )]
    Utf8 {
        path: PathBuf,
        /// 1-based line and column (in characters) of the first bad byte.
        line: usize,
        column: usize,
        byte: u8,
        #[source]
        source: std::string::FromUtf8Error,
    },
}

impl Error {
    /// The reason in the words of the same limit on a request ("document
    /// is `N` bytes, over the limit of `M` bytes"), else the message.
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::TooLarge { size, limit, .. } => osp::document::Error::TooLarge {
                size: usize::try_from(*size).unwrap_or(usize::MAX),
                limit: *limit,
            }
            .to_string(),
            e => e.to_string(),
        }
    }

    /// True when the file vanished between listing and reading: the next
    /// scan sees it gone, so it is neither served nor reported.
    pub(crate) fn is_not_found(&self) -> bool {
        match self {
            Self::Inspect { source, .. } | Self::Open { source, .. } => {
                source.kind() == std::io::ErrorKind::NotFound
            }
            _ => false,
        }
    }
}

/// Reads a regular file of at most `limit` bytes as text. The type and size
/// are checked before opening; the file is opened non-blocking and checked
/// again on the handle (it may have been swapped since), and at most
/// `limit + 1` bytes are read.
pub(crate) fn read_text(path: &Path, limit: usize) -> Result<String, Error> {
    let inspect = |source| Error::Inspect {
        path: path.to_path_buf(),
        source,
    };
    check(path, &std::fs::metadata(path).map_err(inspect)?, limit)?;
    let file = open_nonblocking(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let meta = file.metadata().map_err(inspect)?;
    check(path, &meta, limit)?;
    // Room for the whole file and the byte that shows its end: grown from
    // nothing, the buffer was copied at each doubling.
    let size = usize::try_from(meta.len()).unwrap_or(usize::MAX).min(limit);
    read_into(
        Vec::with_capacity(size.saturating_add(1)),
        file,
        path,
        limit,
    )
}

/// Reads at most `limit` bytes of text from `reader` (a file, stdin),
/// named `path` in errors: never more than `limit + 1` bytes are buffered.
pub(crate) fn read_capped(reader: impl Read, path: &Path, limit: usize) -> Result<String, Error> {
    read_into(Vec::new(), reader, path, limit)
}

fn read_into(
    mut bytes: Vec<u8>,
    reader: impl Read,
    path: &Path,
    limit: usize,
) -> Result<String, Error> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() > limit {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|source| {
        let (line, column, byte) = position(source.as_bytes(), source.utf8_error().valid_up_to());
        Error::Utf8 {
            path: path.to_path_buf(),
            line,
            column,
            byte,
            source,
        }
    })
}

/// Line and column (1-based, the column in characters) of byte `at`, which
/// ends the valid UTF-8 prefix of `bytes`, and the byte there.
fn position(bytes: &[u8], at: usize) -> (usize, usize, u8) {
    let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let line = valid.matches('\n').count() + 1;
    let column = valid
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line, column, bytes.get(at).copied().unwrap_or_default())
}

fn check(path: &Path, meta: &Metadata, limit: usize) -> Result<(), Error> {
    if !meta.is_file() {
        return Err(Error::NotRegular {
            path: path.to_path_buf(),
            kind: kind(meta),
        });
    }
    if meta.len() > limit as u64 {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit,
        });
    }
    Ok(())
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // A FIFO swapped in after the check must not block the open.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// What kind of entry `meta` describes, for messages.
fn kind(meta: &Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_socket() {
            return "socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "device";
        }
    }
    if meta.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// A file's identity for change detection: modification time, size and
/// (on Unix) status-change time, so a `chmod` that makes an unreadable
/// file readable is noticed although its content did not change.
pub(crate) type Stamp = (Option<SystemTime>, u64, i64, i64);

/// The [`Stamp`] of `meta`.
pub(crate) fn stamp(meta: &Metadata) -> Stamp {
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        (meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let changed = (0, 0);
    (meta.modified().ok(), meta.len(), changed.0, changed.1)
}

/// An entry below the directory that is not listed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// The entry.
    pub path: PathBuf,
    /// Why, in words.
    pub reason: String,
    /// A directory reached a second time: expected on ConfigMap volumes
    /// (`..data` links to the current version), so not worth a warning.
    pub seen_before: bool,
}

/// The YAML/JSON files below a directory, and what was skipped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Listing {
    /// `*.yaml`, `*.yml` and `*.json` regular files (symlinks to them
    /// included), sorted.
    pub files: Vec<PathBuf>,
    /// Entries left out: not regular files, unreadable subdirectories,
    /// directories seen before (a symlink loop) or too deep.
    pub skipped: Vec<Skipped>,
    /// The largest of `files` and its size in bytes (the first in sorted
    /// order among equals), from the stat the walk makes anyway.
    pub largest: Option<(u64, PathBuf)>,
}

impl Listing {
    fn add(&mut self, path: PathBuf, size: u64) {
        let larger = self
            .largest
            .as_ref()
            .is_none_or(|(s, p)| size > *s || (size == *s && path < *p));
        if larger {
            self.largest = Some((size, path.clone()));
        }
        self.files.push(path);
    }

    fn skip(&mut self, path: PathBuf, reason: String) {
        self.skipped.push(Skipped {
            path,
            reason,
            seen_before: false,
        });
    }
}

/// Lists `dir`. Only an unreadable `dir` itself is an error; anything below
/// it that cannot be used is in [`Listing::skipped`].
pub(crate) fn list(dir: &Path) -> std::io::Result<Listing> {
    let mut listing = Listing::default();
    let mut seen = HashSet::new();
    seen.insert(dir_id(&std::fs::metadata(dir)?, dir));
    // Each directory's entries in name order, subdirectories walked in
    // their place: the files come out sorted, with no sort of whole paths
    // (comparing them component by component was a sixth of listing).
    walk(sorted_entries(dir)?, 1, &mut seen, &mut listing);
    Ok(listing)
}

type DirId = (u64, u64, Option<PathBuf>);

/// A directory's identity: device and inode on Unix, else its canonical
/// path, so two ways to reach it are seen as one.
#[cfg(unix)]
fn dir_id(meta: &Metadata, _path: &Path) -> DirId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino(), None)
}

#[cfg(not(unix))]
fn dir_id(_meta: &Metadata, path: &Path) -> DirId {
    (0, 0, std::fs::canonicalize(path).ok())
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}

fn walk(entries: Vec<PathBuf>, depth: usize, seen: &mut HashSet<DirId>, out: &mut Listing) {
    for path in entries {
        let wanted = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        );
        // `metadata` follows symlinks (ConfigMap volumes are made of them)
        // and only stats: it never opens, so a FIFO cannot block it.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => descend(path, &meta, depth, seen, out),
            Ok(meta) if wanted && meta.is_file() => out.add(path, meta.len()),
            Ok(meta) if wanted => {
                let reason = format!("not a regular file but a {}", kind(&meta));
                out.skip(path, reason);
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => out.skip(path, format!("cannot inspect: {e}")),
        }
    }
}

/// Walks the subdirectory `path` unless it is too deep or seen before.
fn descend(
    path: PathBuf,
    meta: &Metadata,
    depth: usize,
    seen: &mut HashSet<DirId>,
    out: &mut Listing,
) {
    if depth >= MAX_DIR_DEPTH {
        out.skip(path, format!("deeper than `{MAX_DIR_DEPTH}` levels"));
    } else if !seen.insert(dir_id(meta, &path)) {
        out.skipped.push(Skipped {
            path,
            reason: "directory already listed (a symlink loop or a second link)".into(),
            seen_before: true,
        });
    } else {
        match sorted_entries(&path) {
            Ok(entries) => walk(entries, depth + 1, seen, out),
            Err(e) => out.skip(path, format!("cannot list directory: {e}")),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("run mkfifo");
        assert!(status.success(), "mkfifo {}", path.display());
    }

    /// A directory with one entry of each hostile kind, as the campaign
    /// found them.
    fn hostile_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |s: &str| dir.path().join(s);
        std::fs::write(p("a.yaml"), "kind: A\n").expect("write");
        std::fs::write(p("notes.txt"), "not yaml\n").expect("write");
        std::os::unix::fs::symlink(p("a.yaml"), p("b.yml")).expect("symlink");
        mkfifo(&p("fifo.yaml"));
        let _socket = std::os::unix::net::UnixListener::bind(p("sock.yaml")).expect("bind");
        std::os::unix::fs::symlink("/dev/zero", p("zero.yaml")).expect("symlink");
        std::os::unix::fs::symlink(p("gone"), p("dangling.yaml")).expect("symlink");
        std::fs::create_dir(p("sub")).expect("mkdir");
        std::fs::write(p("sub/c.json"), "{}").expect("write");
        std::os::unix::fs::symlink(dir.path(), p("sub/root")).expect("symlink");
        std::os::unix::fs::symlink("..", p("sub/up")).expect("symlink");
        let mut deep = p("deep");
        for i in 0..MAX_DIR_DEPTH + 2 {
            deep = deep.join(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::write(deep.join("e.yaml"), "kind: E\n").expect("write");
        dir
    }

    #[test]
    fn list_gives_files_in_path_order_across_directories() {
        // Names where byte order and component order differ (`-` and `.`
        // sort before `/`): the listing is in `Path`'s component order.
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |s: &str| dir.path().join(s);
        for d in ["a", "a-b", "a/z", "b"] {
            std::fs::create_dir_all(p(d)).expect("mkdir");
        }
        for f in [
            "a.yaml",
            "a-b/x.yaml",
            "a/y.yaml",
            "a/z/w.yaml",
            "a/b.yaml",
            "b.yaml",
            "b/a.json",
            "0.yml",
        ] {
            std::fs::write(p(f), "kind: A\n").expect("write");
        }
        let files = list(dir.path()).expect("list").files;
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted);
        assert_eq!(files.len(), 8);
    }

    #[test]
    fn list_names_the_largest_file_first_in_order_among_equals() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            list(dir.path()).expect("list").largest,
            None,
            "nothing listed"
        );
        let p = |s: &str| dir.path().join(s);
        std::fs::create_dir(p("sub")).expect("mkdir");
        for (name, text) in [
            ("a.yaml", "a"),
            ("sub/big.yaml", "0123456789"),
            ("c.yaml", "0123456789"),
        ] {
            std::fs::write(p(name), text).expect("write");
        }
        let listing = list(dir.path()).expect("list");
        assert_eq!(listing.largest, Some((10, p("c.yaml"))));
    }

    #[test]
    fn list_takes_regular_files_only_and_follows_no_loop() {
        enum Want {
            Listed,
            Skipped(&'static str),
            Absent,
        }
        struct Case {
            reason: &'static str,
            path: &'static str,
            want: Want,
        }
        let cases = [
            Case {
                reason: "a regular YAML file is listed",
                path: "a.yaml",
                want: Want::Listed,
            },
            Case {
                reason: "a symlink to a regular file is listed (ConfigMap volumes)",
                path: "b.yml",
                want: Want::Listed,
            },
            Case {
                reason: "files in subdirectories are listed",
                path: "sub/c.json",
                want: Want::Listed,
            },
            Case {
                reason: "other extensions are ignored silently",
                path: "notes.txt",
                want: Want::Absent,
            },
            Case {
                reason: "a FIFO would block the reader until a writer comes",
                path: "fifo.yaml",
                want: Want::Skipped("not a regular file but a FIFO"),
            },
            Case {
                reason: "a socket cannot be read as a file",
                path: "sock.yaml",
                want: Want::Skipped("not a regular file but a socket"),
            },
            Case {
                reason: "a device never ends",
                path: "zero.yaml",
                want: Want::Skipped("not a regular file but a device"),
            },
            Case {
                reason: "a dangling symlink is a file removed mid-update",
                path: "dangling.yaml",
                want: Want::Absent,
            },
            Case {
                reason: "a symlink back to the root is not walked again",
                path: "sub/root",
                want: Want::Skipped("already listed"),
            },
            Case {
                reason: "a symlink to the parent is not walked again",
                path: "sub/up",
                want: Want::Skipped("already listed"),
            },
        ];
        let dir = hostile_dir();
        let listing = list(dir.path()).expect("list");
        for c in cases {
            let path = dir.path().join(c.path);
            let listed = listing.files.contains(&path);
            let skipped = listing.skipped.iter().find(|s| s.path == path);
            match c.want {
                Want::Listed => assert!(listed, "{}: {listing:?}", c.reason),
                Want::Absent => assert!(!listed && skipped.is_none(), "{}", c.reason),
                Want::Skipped(why) => {
                    assert!(!listed, "{}", c.reason);
                    let s = skipped.unwrap_or_else(|| panic!("{}: {listing:?}", c.reason));
                    assert!(s.reason.contains(why), "{}: {}", c.reason, s.reason);
                }
            }
        }
        assert_eq!(
            listing.files.len(),
            3,
            "nothing else is listed, each file once: {:?}",
            listing.files
        );
        let too_deep = listing
            .skipped
            .iter()
            .filter(|s| s.reason.contains("deeper than"))
            .count();
        assert_eq!(too_deep, 1, "the deep chain is cut once: {listing:?}");
    }

    #[test]
    fn read_text_opens_only_regular_files_within_the_limit() {
        struct Case {
            reason: &'static str,
            path: &'static str,
            want: Result<&'static str, &'static str>,
        }
        let cases = [
            Case {
                reason: "a small regular file is read",
                path: "a.yaml",
                want: Ok("kind: A\n"),
            },
            Case {
                reason: "exactly the limit is fine",
                path: "limit.yaml",
                want: Ok("12345678"),
            },
            Case {
                reason: "a FIFO is refused without opening it for reading",
                path: "fifo.yaml",
                want: Err("is not a regular file but a FIFO"),
            },
            Case {
                reason: "a symlink to a device is refused",
                path: "zero.yaml",
                want: Err("is not a regular file but a device"),
            },
            Case {
                reason: "a 1 GiB sparse file is refused from its size, not read",
                path: "huge.yaml",
                want: Err("is 1073741824 bytes, over the limit of `8` bytes"),
            },
            Case {
                reason: "a file whose read fails (here /proc/self/mem at offset 0) is an error, not a panic",
                path: "mem.yaml",
                want: Err("cannot read"),
            },
            Case {
                reason: "invalid UTF-8 names the file and the position",
                path: "latin1.yaml",
                want: Err(
                    "is not UTF-8 text: line 2, column 2: byte `0xe9` starts no UTF-8 character",
                ),
            },
        ];
        let dir = hostile_dir();
        let p = |s: &str| dir.path().join(s);
        std::fs::write(p("limit.yaml"), "12345678").expect("write");
        std::fs::write(p("latin1.yaml"), b"\xc3\xa9\nk\xe9\n").expect("write");
        std::fs::File::create(p("huge.yaml"))
            .and_then(|f| f.set_len(1 << 30))
            .expect("sparse file");
        std::os::unix::fs::symlink("/proc/self/mem", p("mem.yaml")).expect("symlink");
        for c in cases {
            let got = read_text(&p(c.path), 8).map_err(|e| e.to_string());
            match (got, c.want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{}", c.reason),
                (Err(g), Err(w)) => assert!(g.contains(w), "{}: {g}", c.reason),
                (g, w) => panic!("{}: got {g:?}, want {w:?}", c.reason),
            }
        }
    }
}
