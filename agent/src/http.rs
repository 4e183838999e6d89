//! A minimal HTTP/1.1 client over hyper for the few plain requests the agent
//! makes: enrolling with the server, and `start`/`status` asking the local
//! lock screen. (No TLS: the club server and the lock screen are on the
//! club's own network and on loopback.)

use anyhow::{anyhow, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// Sends one request; answers (status, body).
pub async fn request(
    method: &str,
    url: &str,
    json: Option<&serde_json::Value>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let uri: hyper::Uri = url.parse().with_context(|| format!("not a URL: {url}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(anyhow!("only http:// URLs are supported: {url}"));
    }
    let host = uri
        .host()
        .ok_or_else(|| anyhow!("no host in {url}"))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| anyhow!("connecting to {host}:{port} timed out"))?
    .with_context(|| format!("connecting to {host}:{port}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let body = json.map(|j| j.to_string()).unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let res = tokio::time::timeout(Duration::from_secs(30), sender.send_request(req))
        .await
        .map_err(|_| anyhow!("{url} did not answer in time"))??;
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, bytes))
}
