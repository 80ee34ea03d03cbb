//! The Open Service Portal sidecar: a gRPC server next to the Backstage
//! backend, and the `osp` command line. All conversions live in the pure
//! `osp` core crate; this crate does I/O: serving, files, clusters, GitHub.
#![forbid(unsafe_code)]
// Crate-private by default: a `pub` item no outside caller can reach is a
// lint error, so dead code shows.
#![warn(unreachable_pub)]

pub(crate) mod apply;
#[doc(hidden)]
pub mod bench;
pub(crate) mod catalog;
pub(crate) mod cli;
pub(crate) mod clusters;
pub(crate) mod config;
pub(crate) mod discovery;
pub(crate) mod errors;
pub(crate) mod files;
#[cfg(test)]
mod fixtures;
pub mod forge;
pub mod github;
pub mod gitlab;
pub mod gitlocal;
pub mod pb;
pub mod secret;
pub(crate) mod server;
pub(crate) mod service;
pub(crate) mod store;
pub(crate) mod telemetry;
pub(crate) mod violation;

// The outside surface: the binary's entry, the server and its
// configuration (end-to-end tests run it in process), and the clients the
// integration tests and benches drive (`github`, `gitlocal`, `pb`), and the
// catalog driver `benches/rebuild.rs` times (`bench`, hidden from the docs).
pub use cli::main;
pub use config::{Config, FileConfig, LogFormat, ServeArgs};
pub use server::serve;
pub use service::protobuf_struct::from_struct;
