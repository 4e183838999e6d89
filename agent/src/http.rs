//! The agent's few plain requests: enrolling with the server, and
//! `start`/`status` asking the local lock screen. HTTP/1.1 over hyper; to a
//! server that serves TLS, over rustls trusting only the pinned certificate
//! (see `club_shared::tls`).

use anyhow::{anyhow, bail, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to the server: plain TCP, or TLS over it.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How long a TCP connect and a TLS handshake may take, each.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `host:port`, over TLS trusting only the certificate `pin`
/// names when `tls` (a TLS connection without a pin is refused: no PC
/// trusts a stranger).
pub async fn connect(
    host: &str,
    port: u16,
    tls: bool,
    pin: Option<&str>,
) -> anyhow::Result<Box<dyn Io>> {
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    .map_err(|_| anyhow!("connecting to {host}:{port} timed out"))?
    .with_context(|| format!("connecting to {host}:{port}"))?;
    let _ = stream.set_nodelay(true);
    if !tls {
        return Ok(Box::new(stream));
    }
    let pin = pin.ok_or_else(|| {
        anyhow!("the server serves TLS, but this PC has no certificate fingerprint to trust: enroll with --server-cert-sha256")
    })?;
    let config = club_shared::tls::pinned_client_config(pin).map_err(|e| anyhow!(e))?;
    let name = club_shared::tls::server_name(host).map_err(|e| anyhow!(e))?;
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_rustls::TlsConnector::from(config).connect(name, stream),
    )
    .await
    .map_err(|_| anyhow!("the TLS handshake with {host}:{port} timed out"))?
    .map_err(|e| anyhow!("TLS with {host}:{port}: {}", tls_reason(&e)))?;
    Ok(Box::new(stream))
}

/// A TLS failure in words: a certificate that is not the pinned one says
/// both fingerprints (rustls would print its inner error's debug form).
fn tls_reason(e: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::InvalidCertificate(CertificateError::Other(other))) => other.0.to_string(),
        _ => e.to_string(),
    }
}

/// A URL's parts the agent needs: TLS or not, host, port, path.
pub struct Target {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

pub fn target(url: &str) -> anyhow::Result<Target> {
    let uri: hyper::Uri = url.parse().with_context(|| format!("not a URL: {url}"))?;
    let tls = match uri.scheme_str() {
        Some("http" | "ws") => false,
        Some("https" | "wss") => true,
        _ => bail!("the URL must start with http:// or https://: {url}"),
    };
    let host = uri
        .host()
        .ok_or_else(|| anyhow!("no host in {url}"))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok(Target {
        tls,
        host,
        port,
        path,
    })
}

/// Sends one request over plain HTTP; answers (status, body).
pub async fn request(
    method: &str,
    url: &str,
    json: Option<&serde_json::Value>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    request_pinned(method, url, json, None).await
}

/// Sends one request, over TLS trusting only `pin` for an https:// URL,
/// with `bearer` as the token when given; answers the response once its
/// head has come.
async fn send(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    json: Option<&serde_json::Value>,
    pin: Option<&str>,
) -> anyhow::Result<hyper::Response<hyper::body::Incoming>> {
    let t = target(url)?;
    let stream = connect(&t.host, t.port, t.tls, pin).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let body = json.map(|j| j.to_string()).unwrap_or_default();
    let host = if t.host.contains(':') {
        format!("[{}]:{}", t.host, t.port)
    } else {
        format!("{}:{}", t.host, t.port)
    };
    let mut req = Request::builder()
        .method(method)
        .uri(t.path)
        .header("host", host)
        .header("content-type", "application/json");
    if let Some(token) = bearer {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = req.body(Full::new(Bytes::from(body)))?;
    Ok(sender.send_request(req).await?)
}

/// Sends one request, over TLS trusting only `pin` for an https:// URL.
pub async fn request_pinned(
    method: &str,
    url: &str,
    json: Option<&serde_json::Value>,
    pin: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let res = tokio::time::timeout(Duration::from_secs(30), send(method, url, None, json, pin))
        .await
        .map_err(|_| anyhow!("{url} did not answer in time"))??;
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, bytes))
}

/// Downloads `url` with `bearer` as the token (over TLS trusting only `pin`
/// for https://): the body, at most `max` bytes, within `timeout` in all.
/// Anything but 200 is an error naming the status and the server's reason.
pub async fn download(
    url: &str,
    bearer: &str,
    pin: Option<&str>,
    max: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    tokio::time::timeout(timeout, async {
        let res = send("GET", url, Some(bearer), None, pin).await?;
        let status = res.status().as_u16();
        let limited = http_body_util::Limited::new(res.into_body(), max.max(64 * 1024));
        let bytes = limited
            .collect()
            .await
            .map_err(|e| anyhow!("reading {url}: {e}"))?
            .to_bytes();
        if status != 200 {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let why = v["error"]["message"].as_str().unwrap_or("no reason given");
            bail!("{url} answered {status}: {why}");
        }
        if bytes.len() > max {
            bail!("{url} sent more than the {max} bytes announced");
        }
        Ok(bytes.to_vec())
    })
    .await
    .map_err(|_| anyhow!("{url} did not finish in {} s", timeout.as_secs()))?
}
