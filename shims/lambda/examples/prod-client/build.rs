//! Generates the `api` client from the example function's own `prod.proto` with protox: no
//! system `protoc` needed, and one proto for the function and its client.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../prod/proto/prod.proto");
    let descriptors = protox::compile(["prod.proto"], ["../prod/proto"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .compile_fds(descriptors)?;
    Ok(())
}
