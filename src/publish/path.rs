//! Repository paths a publication may write: relative, normalised, inside the
//! configured base folder, never into `.git`.

/// Longest repository path accepted, in bytes: Linux's `PATH_MAX`, so every
/// checkout of the repository can create it.
pub const MAX_PATH_BYTES: usize = 4096;

/// Longest path segment (a file or folder name), in bytes: `NAME_MAX` of
/// common file systems, which Git hosts enforce as well.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Errors from checking a repository path. Each names the offending path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The path is empty.
    #[error("path is empty")]
    Empty,
    /// The path starts at the root (or names a drive).
    #[error("path `{path}` is absolute; use a repository-relative path")]
    Absolute { path: String },
    /// The path contains a backslash, which Windows clients read as a separator.
    #[error("path `{path}` contains a backslash")]
    Backslash { path: String },
    /// The path contains a control character (NUL, newline, ...).
    #[error("path `{path}` contains a control character")]
    ControlCharacter { path: String },
    /// The path has an empty segment (`a//b`, trailing `/`) or a `.` segment.
    #[error("path `{path}` has an empty or `.` segment")]
    EmptySegment { path: String },
    /// The path climbs out with `..`.
    #[error("path `{path}` contains `..`")]
    ParentSegment { path: String },
    /// The path points into a `.git` folder.
    #[error("path `{path}` points into `.git`")]
    GitDirectory { path: String },
    /// The path is longer than a checkout can create (the path shown is cut).
    #[error("path `{path}` is `{len}` bytes, over the limit of `{max}` bytes")]
    TooLong {
        path: String,
        len: usize,
        max: usize,
    },
    /// A file or folder name is longer than file systems allow (the path
    /// shown is cut).
    #[error(
        "path `{path}` has a segment of `{len}` bytes, over the limit of `{max}` bytes for a file or folder name"
    )]
    SegmentTooLong {
        path: String,
        len: usize,
        max: usize,
    },
    /// The path lies outside the configured base folder.
    #[error("path `{path}` is outside the base folder `{base}`")]
    OutsideBase { path: String, base: String },
}

/// Checks a repository path and that it lies under `base` (a folder; empty
/// means the repository root). Returns the path unchanged when it is safe.
pub fn for_path<'a>(path: &'a str, base: &str) -> Result<&'a str, Error> {
    let owned = || path.to_owned();
    if path.is_empty() {
        return Err(Error::Empty);
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(Error::TooLong {
            path: shown(path),
            len: path.len(),
            max: MAX_PATH_BYTES,
        });
    }
    if path.starts_with('/') || path.as_bytes().get(1) == Some(&b':') {
        return Err(Error::Absolute { path: owned() });
    }
    if path.contains('\\') {
        return Err(Error::Backslash { path: owned() });
    }
    if path.chars().any(char::is_control) {
        return Err(Error::ControlCharacter { path: owned() });
    }
    for segment in path.split('/') {
        match segment {
            "" | "." => return Err(Error::EmptySegment { path: owned() }),
            ".." => return Err(Error::ParentSegment { path: owned() }),
            // Case-insensitive: `.GIT` is `.git` on macOS and Windows checkouts.
            s if s.eq_ignore_ascii_case(".git") => {
                return Err(Error::GitDirectory { path: owned() });
            }
            s if s.len() > MAX_SEGMENT_BYTES => {
                return Err(Error::SegmentTooLong {
                    path: shown(path),
                    len: s.len(),
                    max: MAX_SEGMENT_BYTES,
                });
            }
            _ => {}
        }
    }
    let base = base.trim_matches('/');
    if !base.is_empty() {
        let inside = path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1);
        if !inside {
            return Err(Error::OutsideBase {
                path: owned(),
                base: base.to_owned(),
            });
        }
    }
    Ok(path)
}

/// `path` for a message: its first 64 characters, marked when cut.
fn shown(path: &str) -> String {
    match path.char_indices().nth(64) {
        Some((end, _)) => format!("{}...", &path[..end]),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unsafe_paths() {
        struct Case {
            reason: &'static str,
            path: &'static str,
            base: &'static str,
            want: Result<(), fn(String) -> Error>,
        }
        let outside = |path| Error::OutsideBase {
            path,
            base: "clusters".into(),
        };
        let cases = [
            Case {
                reason: "a plain nested path is fine",
                path: "clusters/dev/team-a/db1.yaml",
                base: "clusters",
                want: Ok(()),
            },
            Case {
                reason: "empty base means the whole repository",
                path: "db1.yaml",
                base: "",
                want: Ok(()),
            },
            Case {
                reason: "a base given with slashes is trimmed",
                path: "clusters/db1.yaml",
                base: "/clusters/",
                want: Ok(()),
            },
            Case {
                reason: "dots inside a name are not traversal",
                path: "a/..b/c..d.yaml",
                base: "",
                want: Ok(()),
            },
            Case {
                reason: "absolute unix path",
                path: "/etc/passwd",
                base: "",
                want: Err(|path| Error::Absolute { path }),
            },
            Case {
                reason: "windows drive path",
                path: "C:/x.yaml",
                base: "",
                want: Err(|path| Error::Absolute { path }),
            },
            Case {
                reason: "parent traversal in the middle",
                path: "clusters/../secrets.yaml",
                base: "",
                want: Err(|path| Error::ParentSegment { path }),
            },
            Case {
                reason: "parent traversal escaping the base",
                path: "clusters/../../x.yaml",
                base: "clusters",
                want: Err(|path| Error::ParentSegment { path }),
            },
            Case {
                reason: "leading parent traversal",
                path: "../x.yaml",
                base: "",
                want: Err(|path| Error::ParentSegment { path }),
            },
            Case {
                reason: "into .git",
                path: ".git/hooks/pre-commit",
                base: "",
                want: Err(|path| Error::GitDirectory { path }),
            },
            Case {
                reason: "nested .git in another case",
                path: "clusters/sub/.GIT/config",
                base: "clusters",
                want: Err(|path| Error::GitDirectory { path }),
            },
            Case {
                reason: "backslash traversal",
                path: "clusters\\..\\x.yaml",
                base: "",
                want: Err(|path| Error::Backslash { path }),
            },
            Case {
                reason: "double slash",
                path: "clusters//x.yaml",
                base: "",
                want: Err(|path| Error::EmptySegment { path }),
            },
            Case {
                reason: "trailing slash names a folder",
                path: "clusters/dev/",
                base: "",
                want: Err(|path| Error::EmptySegment { path }),
            },
            Case {
                reason: "dot segment",
                path: "clusters/./x.yaml",
                base: "",
                want: Err(|path| Error::EmptySegment { path }),
            },
            Case {
                reason: "NUL byte",
                path: "clusters/x\0.yaml",
                base: "",
                want: Err(|path| Error::ControlCharacter { path }),
            },
            Case {
                reason: "sibling folder sharing the base prefix",
                path: "clusters-prod/x.yaml",
                base: "clusters",
                want: Err(outside),
            },
            Case {
                reason: "the base folder itself is not a file",
                path: "clusters",
                base: "clusters",
                want: Err(outside),
            },
            Case {
                reason: "outside the base entirely",
                path: "apps/x.yaml",
                base: "clusters",
                want: Err(outside),
            },
        ];
        for c in cases {
            let got = for_path(c.path, c.base).map(|_| ());
            let want = c.want.map_err(|f| f(c.path.to_owned()));
            assert_eq!(got, want, "{}", c.reason);
        }
        assert_eq!(for_path("", ""), Err(Error::Empty));
    }

    #[test]
    fn bounds_path_and_segment_lengths() {
        struct Case {
            reason: &'static str,
            path: String,
            want: Result<(), (usize, usize, bool)>,
        }
        let name = |n: usize| "a".repeat(n);
        let cases = [
            Case {
                reason: "a name of 255 bytes is the longest allowed",
                path: format!("clusters/{}", name(255)),
                want: Ok(()),
            },
            Case {
                reason: "a name of 256 bytes is refused",
                path: format!("clusters/{}", name(256)),
                want: Err((256, MAX_SEGMENT_BYTES, true)),
            },
            Case {
                reason: "the campaign's 1,000,000-byte segment",
                path: format!("clusters/{}.yaml", name(1_000_000)),
                want: Err((1_000_014, MAX_PATH_BYTES, false)),
            },
            Case {
                reason: "4096 bytes of short segments are allowed",
                path: format!("{}abc.yaml", "abcdefg/".repeat(511)),
                want: Ok(()),
            },
            Case {
                reason: "4097 bytes are refused",
                path: format!("{}abcd.yaml", "abcdefg/".repeat(511)),
                want: Err((4097, MAX_PATH_BYTES, false)),
            },
            Case {
                reason: "multi-byte names count bytes, not characters",
                path: format!("clusters/{}", "é".repeat(128)),
                want: Err((256, MAX_SEGMENT_BYTES, true)),
            },
        ];
        for c in cases {
            let got = for_path(&c.path, "").map(|_| ());
            match (got, c.want) {
                (Ok(()), Ok(())) => {}
                (Err(Error::TooLong { path, len, max }), Err((l, m, false)))
                | (Err(Error::SegmentTooLong { path, len, max }), Err((l, m, true))) => {
                    assert_eq!((len, max), (l, m), "{}", c.reason);
                    assert!(
                        path.len() < 200,
                        "{}: the message shows a cut path",
                        c.reason
                    );
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
            }
        }
    }

    #[test]
    fn errors_name_the_path() {
        let err = for_path("clusters/../x.yaml", "").expect_err("traversal");
        assert_eq!(err.to_string(), "path `clusters/../x.yaml` contains `..`");
    }
}
