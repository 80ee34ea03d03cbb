//! Generated protobuf and tonic code for `proto/osp/v1`, and the encoded
//! descriptor set that server reflection serves.
#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

/// Package `osp.v1`.
pub mod v1 {
    tonic::include_proto!("osp.v1");
}

pub use v1::*;

/// Encoded `FileDescriptorSet` of every `osp.v1` proto file.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/osp_descriptor.bin"));
