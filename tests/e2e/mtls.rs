//! AutoMTLS: the provider serves only the client certificate Terraform announced.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

fn make_cert() -> (String, Vec<u8>, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("cert");
    (cert.pem(), cert.der().to_vec(), key.serialize_der())
}

/// Test-only: the server's certificate is checked by pinning in real Terraform; here any will do.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Opens a TLS connection presenting `client` (or no certificate) and reports whether an
/// application-data round trip (an HTTP/2 preface answered by a SETTINGS frame) succeeded.
async fn talks(addr: &str, client: Option<(&[u8], &[u8])>) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let crypto = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(crypto.clone())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(crypto)));
    let mut config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![CertificateDer::from(cert.to_vec())], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec())))
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let Ok(mut tls) = connector.connect(ServerName::try_from("localhost").expect("name"), tcp).await else { return false };
    if tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 9];
    matches!(tokio::time::timeout(std::time::Duration::from_secs(5), tls.read_exact(&mut buf)).await, Ok(Ok(_))) && buf[3] == 0x04
}

#[tokio::test]
async fn only_terraforms_certificate_is_served() {
    let (pem, der, key) = make_cert();
    let (_, other_der, other_key) = make_cert();
    let mut child = Command::new(env!("CARGO_BIN_EXE_terraform-provider-ibmqr"))
        .env("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", &pem)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("provider starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("handshake");
    let fields: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(&fields[..3], ["1", "6", "tcp"], "{line}");
    assert_eq!(fields[4], "grpc");
    assert!(!fields[5].is_empty(), "the server certificate is announced");
    let addr = fields[3].to_string();

    assert!(talks(&addr, Some((&der, &key))).await, "the announced certificate is served");
    assert!(!talks(&addr, Some((&other_der, &other_key))).await, "another certificate is refused");
    assert!(!talks(&addr, None).await, "a caller without a certificate is refused");
    let _ = child.kill();
    let _ = child.wait();
}
