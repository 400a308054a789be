//! Generates the `grpc.testing` module from `proto/grpc/testing/*.proto` with protox: no system
//! `protoc` needed. The server is what the function runs; the client is what the tests call with.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["grpc/testing/test.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
