//! `osp`: the Open Service Portal command line and sidecar server.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    osp_sidecar::main()
}
