//! Compiles `proto/` with protox (pure Rust, no protoc) and generates the
//! tonic code plus the descriptor set used by server reflection.
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    // Read at run time: a build script binary shared between checkouts
    // (same target dir) must not carry the path it was compiled in.
    let proto_root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../proto");
    let files = ["catalog", "claims", "common", "publish", "templates"]
        .map(|f| proto_root.join(format!("osp/v1/{f}.proto")));
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&proto_root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_path = out.join("osp_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor_path)
        .skip_protoc_run()
        .compile_fds(fds)?;
    Ok(())
}
