//! The Open Service Portal sidecar: a gRPC server next to the Backstage
//! backend, and the `osp` command line. All conversions live in the pure
//! `osp` core crate; this crate does I/O: serving, files, clusters, GitHub.
#![forbid(unsafe_code)]

pub mod apply;
pub mod catalog;
pub mod cli;
pub mod clusters;
pub mod config;
pub mod discovery;
pub mod errors;
pub mod files;
#[cfg(test)]
mod fixtures;
pub mod github;
pub mod gitlocal;
pub mod pb;
pub mod secret;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod violation;
