//! Generates the `api` module from `proto/prod.proto` with protox (no system `protoc` needed), and
//! writes the encoded `FileDescriptorSet` to `$OUT_DIR/prod_descriptor.bin`: what JSON clients
//! need (`grpc_lambda::json::Descriptors::decode`), embedded with
//! `include_bytes!(concat!(env!("OUT_DIR"), "/prod_descriptor.bin"))`.

use protox::prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/prod.proto");
    let descriptors = protox::compile(["prod.proto"], ["proto"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("prod_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
