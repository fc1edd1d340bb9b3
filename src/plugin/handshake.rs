//! go-plugin handshake and the gRPC server's transport.
//!
//! Terraform starts the provider with a magic cookie and its client certificate
//! (`PLUGIN_CLIENT_CERT`). We generate a server certificate, listen on 127.0.0.1, print
//! `1|6|tcp|ADDR|grpc|CERT` and serve gRPC over TLS that accepts only Terraform's certificate.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, InvalidSignature, PrivateKeyDer, PrivatePkcs8KeyDer, SignatureVerificationAlgorithm,
    UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

use crate::framework::Provider;

use super::go_plugin;
use super::proto::provider_server::ProviderServer;
use super::server::ProviderService;

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const PROTOCOL_VERSION: &str = "6";

/// Serves `provider` the way Terraform expects; returns the process exit code.
pub async fn run<P: Provider>(provider: Arc<P>) -> i32 {
    let versions = std::env::var("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_else(|_| PROTOCOL_VERSION.to_string());
    if !versions.split(',').any(|v| v.trim() == PROTOCOL_VERSION) {
        eprintln!("terraform-provider-ibmqr speaks plugin protocol 6; this Terraform offers {versions}. Use Terraform 1.0 or later.");
        return 1;
    }
    let client_cert = match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(pem) if !pem.trim().is_empty() => pem,
        _ => {
            eprintln!("PLUGIN_CLIENT_CERT is not set: terraform-provider-ibmqr only serves Terraform's AutoMTLS connections.");
            return 1;
        }
    };
    let tls = match TlsSetup::new(&client_cert) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot set up TLS for the plugin connection: {e}");
            return 1;
        }
    };
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1: {e}");
            return 1;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cannot read the listening address: {e}");
            return 1;
        }
    };
    let cert_b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&tls.server_cert_der);
    let shutdown = CancellationToken::new();
    let incoming = accept_tls(listener, tls.acceptor, shutdown.clone());
    // The handshake line: after this, Terraform connects.
    println!("1|{PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert_b64}");
    use std::io::Write;
    let _ = std::io::stdout().flush();

    match serve(provider, incoming, shutdown).await {
        Ok(()) => 0,
        Err(e) => {
            log::error!("plugin server failed: {e}");
            1
        }
    }
}

/// Serves the provider and go-plugin's side services on `incoming` until `shutdown` (or
/// GRPCController.Shutdown) fires. Used without TLS by the gRPC-level tests.
pub async fn serve<P: Provider, IO>(
    provider: Arc<P>,
    incoming: impl futures::Stream<Item = Result<IO, std::io::Error>> + Send + 'static,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error>
where
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
{
    let cancel = CancellationToken::new();
    let service = ProviderService::new(provider, cancel);
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;
    let controller = Controller { shutdown: shutdown.clone() };
    let stdio = Stdio { shutdown: shutdown.clone() };
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(go_plugin::grpc_controller_server::GrpcControllerServer::new(controller))
        .add_service(go_plugin::grpc_stdio_server::GrpcStdioServer::new(stdio))
        .add_service(ProviderServer::new(service).max_decoding_message_size(256 << 20).max_encoding_message_size(256 << 20))
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
}

/// Accepts TCP connections, sets TCP_NODELAY (Nagle plus delayed ACKs stall small RPCs), and
/// completes the TLS handshake off the accept loop.
fn accept_tls(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shutdown: CancellationToken,
) -> ReceiverStream<Result<TlsConn, std::io::Error>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Ok(tls) => {
                        let _ = tx.send(Ok(TlsConn { inner: tls, peer })).await;
                    }
                    // A caller without Terraform's certificate: refused, and not worth more than a log line.
                    Err(e) => log::warn!("TLS handshake from {peer} refused: {e}"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// A TLS connection, as tonic wants it.
pub struct TlsConn {
    inner: tokio_rustls::server::TlsStream<TcpStream>,
    peer: SocketAddr,
}

impl Connected for TlsConn {
    type ConnectInfo = SocketAddr;
    fn connect_info(&self) -> SocketAddr {
        self.peer
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

struct TlsSetup {
    server_cert_der: Vec<u8>,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl TlsSetup {
    fn new(client_cert_pem: &str) -> Result<Self, String> {
        use rustls::pki_types::pem::PemObject;
        let client_der = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
            .map_err(|e| format!("PLUGIN_CLIENT_CERT is not a PEM certificate: {e}"))?;

        // P-256 keys are quick to make: start-up is paid on every Terraform command, three times per plan.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(|e| e.to_string())?;
        params.subject_alt_names.push(rcgen::SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "ibmqr");
        params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
        // Terraform puts this certificate in its root pool, so it must be a CA as well as a server.
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages =
            vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyEncipherment, rcgen::KeyUsagePurpose::KeyCertSign];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(1);
        params.not_after = now + time::Duration::days(365);
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        let server_cert_der = cert.der().to_vec();

        let crypto = Arc::new(crypto_provider());
        let verifier = Arc::new(PinnedClientCert { der: client_der.to_vec(), crypto: crypto.clone() });
        let mut config = rustls::ServerConfig::builder_with_provider(crypto)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from(server_cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(|e| e.to_string())?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self { server_cert_der, acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)) })
    }
}

/// Accepts exactly the certificate Terraform announced in PLUGIN_CLIENT_CERT. Terraform's is a
/// self-signed P-521 CA certificate that stock chain verification refuses; pinning it is both
/// simpler and stricter. The handshake signature is still verified against its key.
#[derive(Debug)]
struct PinnedClientCert {
    der: Vec<u8>,
    crypto: Arc<rustls::crypto::CryptoProvider>,
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General("client certificate is not the one Terraform announced".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.crypto.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.crypto.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.crypto.signature_verification_algorithms.supported_schemes()
    }
}

/// ring, plus verification of ECDSA P-521 / SHA-512 signatures: Terraform's client certificate
/// uses that curve and ring does not support it.
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    let base = provider.signature_verification_algorithms;
    let all: Vec<&'static dyn SignatureVerificationAlgorithm> = base.all.iter().copied().chain([P521_SHA512]).collect();
    let mut mapping: Vec<(SignatureScheme, &'static [&'static dyn SignatureVerificationAlgorithm])> =
        base.mapping.iter().copied().filter(|(scheme, _)| *scheme != SignatureScheme::ECDSA_NISTP521_SHA512).collect();
    mapping.push((SignatureScheme::ECDSA_NISTP521_SHA512, &[P521_SHA512]));
    // Built once per process: leaking the two small tables gives them the 'static life rustls wants.
    provider.signature_verification_algorithms =
        rustls::crypto::WebPkiSupportedAlgorithms { all: Vec::leak(all), mapping: Vec::leak(mapping) };
    provider
}

const P521_SHA512: &dyn SignatureVerificationAlgorithm = &EcdsaP521Sha512;

#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier;
        let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature = p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

struct Controller {
    shutdown: CancellationToken,
}

#[tonic::async_trait]
impl go_plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _r: Request<go_plugin::Empty>) -> Result<Response<go_plugin::Empty>, Status> {
        // Let this answer reach Terraform before the server stops.
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            shutdown.cancel();
        });
        Ok(Response::new(go_plugin::Empty {}))
    }
}

struct Stdio {
    shutdown: CancellationToken,
}

type StdioStream = Pin<Box<dyn futures::Stream<Item = Result<go_plugin::StdioData, Status>> + Send>>;

#[tonic::async_trait]
impl go_plugin::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;

    /// Our output goes straight to the inherited stderr, so the stream only stays open until shutdown.
    async fn stream_stdio(&self, _r: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        let shutdown = self.shutdown.clone();
        let stream = futures::stream::once(async move {
            shutdown.cancelled().await;
            Err(Status::cancelled("provider shutting down"))
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p521::ecdsa::signature::Signer;

    #[test]
    fn p521_signatures_verify_and_tampering_fails() {
        let mut scalar = [0u8; 66];
        scalar[65] = 7;
        let signing = p521::ecdsa::SigningKey::from_slice(&scalar).expect("key");
        let public = p521::ecdsa::VerifyingKey::from(&signing).to_sec1_point(false);
        let message = b"TLS 1.3, client CertificateVerify";
        let signature: p521::ecdsa::Signature = signing.sign(message);
        let der = signature.to_der();
        assert!(P521_SHA512.verify_signature(public.as_bytes(), message, der.as_bytes()).is_ok());
        assert!(P521_SHA512.verify_signature(public.as_bytes(), b"another message", der.as_bytes()).is_err());
        assert!(P521_SHA512.verify_signature(&public.as_bytes()[..10], message, der.as_bytes()).is_err());
    }

    #[test]
    fn the_provider_offers_p521_for_tls13() {
        let provider = crypto_provider();
        assert!(provider.signature_verification_algorithms.supported_schemes().contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        assert!(provider.signature_verification_algorithms.supported_schemes().contains(&SignatureScheme::ECDSA_NISTP256_SHA256));
    }
}
