//! TLS both ends share: the certificate fingerprint a PC pins when it
//! enrolls (as `kubeadm join` pins the cluster CA by its hash), and a client
//! configuration that trusts exactly that certificate and nothing else.
//!
//! A club's certificate is usually self-signed, so no CA vouches for it; a
//! PC that trusted any certificate would hand its device secret to whoever
//! answers first. The pin is the SHA-256 of the certificate's DER bytes,
//! the figure `openssl x509 -noout -fingerprint -sha256` prints.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The provider both ends use (ring: it builds for Windows with mingw).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate's fingerprint: SHA-256 of its DER bytes, lowercase hex.
pub fn cert_sha256(der: &[u8]) -> String {
    sha256_hex(der)
}

/// SHA-256 in lowercase hex: certificate fingerprints, agent builds.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of everything `r` gives, in lowercase hex, read in 64 KiB
/// pieces (an executable is never all in memory at once).
pub fn sha256_hex_reader(mut r: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf)? {
            0 => return Ok(hex(&hasher.finalize())),
            n => hasher.update(&buf[..n]),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a fingerprint as people copy it: 64 hex digits, any case, with or
/// without colons or spaces between the bytes.
pub fn parse_sha256(text: &str) -> Result<String, String> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if digits.len() == 64 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(digits)
    } else {
        Err(format!(
            "a certificate fingerprint is 64 hex digits (SHA-256), not {text:?}"
        ))
    }
}

/// A client configuration that accepts only the certificate whose
/// fingerprint is `pin` (from [`parse_sha256`]), whatever names it carries,
/// and checks that the server holds its key as every TLS client does.
pub fn pinned_client_config(pin: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let pin = parse_sha256(pin)?;
    let provider = provider();
    let verifier = Arc::new(Pinned {
        pin,
        provider: provider.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The server name to send for a host (a DNS name or an IP address).
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))
}

#[derive(Debug)]
struct Pinned {
    pin: String,
    provider: Arc<CryptoProvider>,
}

/// Why a certificate was refused: it is not the pinned one.
#[derive(Debug)]
struct NotPinned {
    expected: String,
    presented: String,
}

impl std::fmt::Display for NotPinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server's certificate has SHA-256 {}, not the pinned {}",
            self.presented, self.expected
        )
    }
}

impl std::error::Error for NotPinned {}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = cert_sha256(end_entity);
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(NotPinned {
                    expected: self.pin.clone(),
                    presented,
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_as_people_copy_it() {
        let hex64 = "AB:".repeat(31) + "CD";
        assert_eq!(parse_sha256(&hex64).unwrap(), "ab".repeat(31) + "cd");
        assert!(parse_sha256("abc").is_err());
        assert!(parse_sha256(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn the_fingerprint_is_sha256_of_the_der_bytes() {
        // SHA-256 of the empty input.
        assert_eq!(
            cert_sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
