//! The HTTP accept loop, with the limits a server on the players' LAN
//! needs (axum::serve has none): a connection that does not send a whole
//! request head within the header timeout, at its start or between two
//! requests, is closed; at most so many connections from one address and
//! in all, and one over a limit is closed at once. WebSocket connections
//! leave these counts once upgraded: by then they passed authentication.
//!
//! With TLS, the handshake must finish within the header timeout too; the
//! limits count the connection from its accept, before any handshake.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\
content-type: application/json\r\ncontent-length: 70\r\nconnection: close\r\n\r\n\
{\"error\":{\"code\":\"busy\",\"message\":\"too many connections; try again\"}}\n";

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request head (or the first one) must arrive whole within this.
    pub header_read_timeout: Duration,
    pub per_address: usize,
    pub total: usize,
    /// A request must arrive whole and be answered within this (408).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            per_address: 64,
            total: 1000,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// At most so many of something per key at once (connections per address,
/// greetings per PC); a slot is given back when dropped.
pub struct Slots<K>(Arc<Mutex<HashMap<K, usize>>>);

impl<K> Clone for Slots<K> {
    fn clone(&self) -> Self {
        Slots(self.0.clone())
    }
}

impl<K> Default for Slots<K> {
    fn default() -> Self {
        Slots(Arc::default())
    }
}

pub struct Slot<K: std::hash::Hash + Eq + Copy> {
    map: Slots<K>,
    key: K,
}

impl<K: std::hash::Hash + Eq + Copy> Slots<K> {
    /// A slot for `key`, if it holds fewer than `max`.
    pub fn take(&self, key: K, max: usize) -> Option<Slot<K>> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(key).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            map: self.clone(),
            key,
        })
    }
}

impl<K: std::hash::Hash + Eq + Copy> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut m = self.map.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

/// Open connections per address (as [`counted_as`] counts them).
#[derive(Clone, Default)]
struct PerAddress(Slots<IpAddr>);

/// The unit an address is counted in: one IPv4 address, or an IPv6 /64
/// (one host can use a whole /64 of addresses).
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl PerAddress {
    fn take(&self, ip: IpAddr, max: usize) -> Option<Slot<IpAddr>> {
        self.0.take(counted_as(ip), max)
    }
}

/// Serves `app` (over TLS with `tls`) until `shutdown`, then lets open
/// requests finish (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let total = Arc::new(Semaphore::new(limits.total));
    let per_address = PerAddress::default();
    let open = tokio_util::task::TaskTracker::new();
    let mut refused_logged = false;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most likely: wait, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (Ok(permit), Some(slot)) = (
            total.clone().try_acquire_owned(),
            per_address.take(peer.ip(), limits.per_address),
        ) else {
            if !refused_logged {
                tracing::warn!(%peer, "connection limit reached; closing new connections");
                refused_logged = true;
            }
            // A word before closing, best effort: a browser then says why.
            let _ = stream.try_write(TOO_MANY);
            continue;
        };
        refused_logged = false;
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req)
            });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true);
        let stop = shutdown.clone();
        let tls = tls.clone();
        open.spawn(async move {
            match tls {
                None => serve_one(&http, stream, service, &stop).await,
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        _ = stop.cancelled() => return,
                        h = tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)) => h,
                    };
                    match handshake {
                        Ok(Ok(stream)) => serve_one(&http, stream, service, &stop).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
            drop(slot);
        });
    }
    drop(listener);
    open.close();
    if tokio::time::timeout(Duration::from_secs(10), open.wait())
        .await
        .is_err()
    {
        tracing::warn!("some HTTP connections did not finish in time");
    }
    Ok(())
}

/// One connection, HTTP/1.1 with upgrades, until it ends or the server
/// stops (then the request in flight finishes first).
async fn serve_one<S, Svc>(
    http: &hyper::server::conn::http1::Builder,
    stream: S,
    service: Svc,
    stop: &CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    Svc: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    Svc::Future: Send + 'static,
{
    let mut conn = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::select! {
        _ = &mut conn => {}
        _ = stop.cancelled() => {
            std::pin::Pin::new(&mut conn).graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_slots_back_when_its_connections_close() {
        let m = PerAddress::default();
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let a = m.take(ip, 2).unwrap();
        let b = m.take(ip, 2).unwrap();
        assert!(m.take(ip, 2).is_none(), "a third from the same address");
        assert!(
            m.take("10.0.0.8".parse().unwrap(), 2).is_some(),
            "another address"
        );
        drop(a);
        assert!(m.take(ip, 2).is_some());
        drop(b);
    }

    #[test]
    fn one_ipv6_host_counts_as_its_slash_64() {
        let m = PerAddress::default();
        let _a = m.take("2001:db8:1:2::1".parse().unwrap(), 1).unwrap();
        assert!(m.take("2001:db8:1:2:ffff::9".parse().unwrap(), 1).is_none());
        assert!(m.take("2001:db8:1:3::1".parse().unwrap(), 1).is_some());
        let _v4 = m.take("::ffff:10.0.0.7".parse().unwrap(), 1).unwrap();
        assert!(m.take("10.0.0.7".parse().unwrap(), 1).is_none());
    }
}
