//! Open Service Portal core: pure conversions from platform API definitions
//! (Crossplane XRDs, KRO RGDs, Kratix Promises) to Backstage entities and
//! claim manifests. No network, no async runtime: every function here is a
//! deterministic transformation that the sidecar and the CLI share.
#![forbid(unsafe_code)]

pub mod annotations;
pub mod api;
pub mod catalog;
pub mod claim;
pub mod convert;
pub mod definition;
pub mod document;
pub mod entity;
mod indent;
pub mod options;
pub mod publish;
pub mod resource;
pub mod template;
mod value;
pub mod warning;
