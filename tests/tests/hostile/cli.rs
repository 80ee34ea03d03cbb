//! Hostile YAML through the CLI, where bytes (not proto strings) arrive:
//! invalid UTF-8, alias bombs and deep nesting on `osp convert -` stdin and
//! in `osp claim render --values` files. Each must exit non-zero with a
//! message, within a bound, without a panic.
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use osp_tests::server::osp_bin;

use super::inputs::{XRD, billion_laughs};

const BOUND: Duration = Duration::from_secs(60);

struct Out {
    code: Option<i32>,
    stderr: String,
}

fn osp(args: &[&str], stdin: &[u8]) -> Result<Out> {
    let mut child = Command::new(osp_bin()?)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawn osp")?;
    let pid = child.id().to_string();
    let mut pipe = child.stdin.take().context("stdin")?;
    let input = stdin.to_vec();
    // Write from a thread so a child that stops reading cannot block us.
    std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    // Wait (and drain stderr) on a thread so we can give up after BOUND.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(BOUND) {
        Ok(out) => {
            let out = out?;
            Ok(Out {
                code: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            anyhow::bail!("osp {args:?} did not finish within {BOUND:?}")
        }
    }
}

pub fn run() -> Result<()> {
    struct Case {
        reason: &'static str,
        input: Vec<u8>,
    }
    let mut invalid_utf8 = XRD.as_bytes().to_vec();
    invalid_utf8.extend_from_slice(b"\nbad: \xff\xfe\xc0\x80\n");
    let cases = [
        Case {
            reason: "invalid UTF-8",
            input: invalid_utf8,
        },
        Case {
            reason: "billion laughs",
            input: billion_laughs().into_bytes(),
        },
        Case {
            reason: "10k nested flow sequences",
            input: "[".repeat(10_000).into_bytes(),
        },
        Case {
            reason: "duplicate keys",
            input: XRD
                .replace("  group: example.org\n", "  group: a\n  group: b\n")
                .into_bytes(),
        },
    ];
    let dir = std::env::temp_dir().join(format!("osp-hostile-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let xrd = dir.join("xrd.yaml");
    std::fs::write(&xrd, XRD)?;
    let values = dir.join("values.yaml");
    let xrd = xrd.display().to_string();
    let values_arg = values.display().to_string();
    for c in cases {
        let got = osp(&["convert", "-"], &c.input)?;
        assert!(
            matches!(got.code, Some(1 | 2)),
            "convert, {}: {:?} {}",
            c.reason,
            got.code,
            got.stderr
        );
        assert!(
            !got.stderr.contains("panicked") && !got.stderr.is_empty(),
            "convert, {}: {}",
            c.reason,
            got.stderr
        );

        std::fs::write(&values, &c.input)?;
        let got = osp(
            &[
                "claim",
                "render",
                "--definition",
                &xrd,
                "--name",
                "orders",
                "--namespace",
                "team-a",
                "--values",
                &values_arg,
            ],
            b"",
        )?;
        assert!(
            matches!(got.code, Some(1 | 2)),
            "claim render, {}: {:?} {}",
            c.reason,
            got.code,
            got.stderr
        );
        assert!(
            !got.stderr.contains("panicked"),
            "claim render, {}: {}",
            c.reason,
            got.stderr
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Files the CLI must not read whole or open at all: a 1 GiB sparse file
/// (refused from its size, which the message shows: reading first cost
/// about 1 GB of memory), a FIFO (opening it blocked forever), as `convert`
/// input, inside a `convert` directory and as `claim render` inputs.
pub fn run_files() -> Result<()> {
    struct Case {
        reason: &'static str,
        args: Vec<String>,
        want_code: i32,
        want: &'static str,
    }
    let dir = std::env::temp_dir().join(format!("osp-hostile-files-{}", std::process::id()));
    let mixed = dir.join("mixed");
    std::fs::create_dir_all(&mixed)?;
    let xrd = dir.join("xrd.yaml");
    std::fs::write(&xrd, XRD)?;
    std::fs::write(mixed.join("a.yaml"), XRD)?;
    let sparse = dir.join("sparse.yaml");
    std::fs::File::create(&sparse)?.set_len(1 << 30)?;
    std::fs::File::create(mixed.join("sparse.yaml"))?.set_len(1 << 30)?;
    let fifo = dir.join("fifo.yaml");
    for f in [&fifo, &mixed.join("fifo.yaml")] {
        let status = Command::new("mkfifo").arg(f).status()?;
        anyhow::ensure!(status.success(), "mkfifo {}", f.display());
    }
    let s = |p: &std::path::Path| p.display().to_string();
    let render = |definition: &std::path::Path, values: &std::path::Path| {
        [
            "claim",
            "render",
            "--definition",
            &s(definition),
            "--values",
            &s(values),
            "--name",
            "orders",
            "--namespace",
            "team-a",
        ]
        .map(String::from)
        .to_vec()
    };
    let cases = [
        Case {
            reason: "convert of a 1 GiB file: refused from its size",
            args: vec!["convert".into(), s(&sparse)],
            want_code: 1,
            want: "document is `1073741824` bytes, over the limit of `4194304` bytes",
        },
        Case {
            reason: "convert of a FIFO: refused without opening it",
            args: vec!["convert".into(), s(&fifo)],
            want_code: 2,
            want: "is not a regular file but a FIFO",
        },
        Case {
            reason: "convert of a directory: the good file is converted, the others named",
            args: vec!["convert".into(), s(&mixed)],
            want_code: 1,
            want: "skipping",
        },
        Case {
            reason: "claim render --values of a 1 GiB file",
            args: render(&xrd, &sparse),
            want_code: 2,
            want: "document is `1073741824` bytes",
        },
        Case {
            reason: "claim render --definition of a 1 GiB file",
            args: render(&sparse, &xrd),
            want_code: 2,
            want: "document is `1073741824` bytes",
        },
        Case {
            reason: "claim render --values of a FIFO",
            args: render(&xrd, &fifo),
            want_code: 2,
            want: "is not a regular file but a FIFO",
        },
    ];
    for c in cases {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let got = osp(&args, b"")?;
        assert_eq!(got.code, Some(c.want_code), "{}: {}", c.reason, got.stderr);
        assert!(got.stderr.contains(c.want), "{}: {}", c.reason, got.stderr);
        assert!(
            !got.stderr.contains("panicked"),
            "{}: {}",
            c.reason,
            got.stderr
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
