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

const BOUND: Duration = Duration::from_secs(20);

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
