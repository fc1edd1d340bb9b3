//! Terraform's plugin protocol 6: the gRPC service, the go-plugin handshake with AutoMTLS, and
//! the conversions between protocol messages and the framework. Never names a resource.

pub mod convert;
pub mod handshake;
pub mod server;

/// Generated protocol types (from proto/tfplugin6.proto).
pub mod proto {
    #![allow(clippy::all, missing_docs, unused_qualifications)] // generated code is not ours to lint
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's controller and stdio services (from proto/go_plugin.proto).
pub mod go_plugin {
    #![allow(clippy::all, missing_docs, unused_qualifications)] // generated code is not ours to lint
    tonic::include_proto!("plugin");
}

pub use handshake::run;
pub use server::ProviderService;
