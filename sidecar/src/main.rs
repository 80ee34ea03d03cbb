//! `osp`: the Open Service Portal command line and sidecar server.
#![forbid(unsafe_code)]

use std::process::ExitCode;

/// mimalloc instead of the system allocator: conversion builds and drops
/// many small JSON values, and glibc's malloc/free took about a third of
/// its time (issue 18: a conversion pass 13.7 -> 10.5 ms, `osp convert`
/// 10-20 % faster). Its v2 series, which returns freed pages after 10 ms
/// (v3 waits a second, so peak RSS grew with the input); without
/// transparent huge pages, which would round small heaps up to 2 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    osp_sidecar::main()
}
