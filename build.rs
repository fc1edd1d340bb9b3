// Compiles the plugin protocol's .proto files with a pure-Rust compiler (protox), so that a build
// needs no system protoc.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/tfplugin6.proto", "proto/go_plugin.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        // The client stubs serve the gRPC-level tests of every RPC.
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
