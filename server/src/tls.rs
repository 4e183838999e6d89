//! HTTPS and WSS with rustls: the club's own certificate and key
//! (`--tls-cert`, `--tls-key`, PEM), or one the server makes on its first
//! start and keeps beside the database (`--tls-self-signed`). Agents pin the
//! certificate by its SHA-256, which the enrollment answers carry.

use anyhow::{anyhow, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone)]
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// SHA-256 of the certificate the server presents, lowercase hex.
    pub cert_sha256: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert_sha256", &self.cert_sha256)
            .finish_non_exhaustive()
    }
}

/// Where a self-signed certificate and its key are kept, beside the
/// database file `path`.
pub fn self_signed_paths(path: &str) -> (PathBuf, PathBuf) {
    (
        PathBuf::from(format!("{path}.tls-cert.pem")),
        PathBuf::from(format!("{path}.tls-key.pem")),
    )
}

/// The club's certificate chain and key, from PEM files.
pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Tls> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading the certificate {}", cert.display()))?;
    let leaf = chain
        .first()
        .ok_or_else(|| anyhow!("{} holds no certificate", cert.display()))?;
    let cert_sha256 = club_shared::tls::cert_sha256(leaf);
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(club_shared::tls::provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the key do not belong together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        cert_sha256,
    })
}

/// The kept self-signed certificate, made on the first start: valid for
/// `localhost`, the machine's name and the addresses in `names`.
pub fn self_signed(cert: &Path, key: &Path, names: Vec<String>) -> anyhow::Result<Tls> {
    if !cert.exists() || !key.exists() {
        let made = rcgen::generate_simple_self_signed(names)
            .context("making a self-signed certificate")?;
        write_new(key, made.key_pair.serialize_pem().as_bytes(), true)?;
        write_new(cert, made.cert.pem().as_bytes(), false)?;
        tracing::info!(cert = %cert.display(), "made a self-signed certificate");
    }
    load(cert, key)
}

/// Write-then-rename; a key readable by its owner only.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// The names a self-signed certificate is made for: localhost, this
/// machine's host name, loopback, and the address it listens on.
pub fn names_for(listen: std::net::SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_owned());
        }
    } else if let Ok(host) = std::env::var("COMPUTERNAME") {
        names.push(host);
    }
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    names.sort();
    names.dedup();
    names
}
