//! Generates the `api` client and server used by the tests and the load-test servers from
//! `proto/prod.proto` with protox: no system `protoc` needed. The library itself does not use it.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/prod.proto");
    let descriptors = protox::compile(["prod.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
