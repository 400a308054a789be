//! Generates the `api` module from `proto/prod.proto` with protox: no system `protoc` needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/prod.proto");
    let descriptors = protox::compile(["prod.proto"], ["proto"])?;
    // tonic's server, and beside it `api::prod_lambda::router`: the same service as routes.
    let tonic = tonic_prost_build::configure()
        .build_client(false)
        .build_transport(false);
    grpc_lambda_build::compile_fds(tonic, descriptors)?;
    Ok(())
}
