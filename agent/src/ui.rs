//! The lock screen on loopback: GET / is the page the player sees, GET
//! /api/status its data, POST /api/start the Start button (also what
//! `club-agent start` presses).

use crate::runtime::AgentHandle;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub(crate) async fn serve(listener: TcpListener, handle: AgentHandle, shutdown: CancellationToken) {
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "lock screen accept failed");
                    continue;
                }
            },
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| route(handle.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .header("x-frame-options", "DENY")
        .header("x-content-type-options", "nosniff")
        .header(
            "content-security-policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
        )
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Full<Bytes>> {
    reply(status, "application/json", v.to_string())
}

/// Whether a request may act on this page: its Host must be this address
/// (a DNS-rebinding page names its own host), and a browser's Origin, when
/// it sends one, this page's own. So a web page open in the player's
/// browser cannot press Start or read the status.
fn same_origin(req: &Request<Incoming>, own: std::net::SocketAddr) -> bool {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let hosts = [own.to_string(), format!("localhost:{}", own.port())];
    let host_ok = header(hyper::header::HOST).is_some_and(|h| hosts.iter().any(|x| x == h));
    let origin_ok = header(hyper::header::ORIGIN)
        .is_none_or(|o| hosts.iter().any(|x| o == format!("http://{x}")));
    host_ok && origin_ok
}

/// The longest a status request waits for a change.
const LONG_POLL: std::time::Duration = std::time::Duration::from_secs(20);

async fn route(
    handle: AgentHandle,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if !same_origin(&req, handle.ui_addr()) {
        return Ok(json(
            StatusCode::FORBIDDEN,
            &serde_json::json!({"error": {"code": "forbidden", "message": "this page answers only itself"}}),
        ));
    }
    let res = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => reply(StatusCode::OK, "text/html; charset=utf-8", PAGE.to_owned()),
        (&Method::GET, "/api/status") => {
            // `?after=V`: a long poll that answers once the status is no
            // longer version V (or after LONG_POLL), so a page or a test
            // waits on the change instead of asking again and again.
            let after = req
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("after=")))
                .map(str::parse::<u64>);
            let version = match after {
                None => handle.version(),
                Some(Ok(seen)) => handle.changed_since(seen, LONG_POLL).await,
                Some(Err(_)) => {
                    return Ok(json(
                        StatusCode::BAD_REQUEST,
                        &serde_json::json!({"error": {"code": "bad_request", "message": "after must be a whole number"}}),
                    ))
                }
            };
            let mut v = serde_json::to_value(handle.status()).unwrap_or_default();
            v["version"] = version.into();
            json(StatusCode::OK, &v)
        }
        (&Method::POST, "/api/start") => match handle.press_start().await {
            Ok(()) => json(
                StatusCode::OK,
                &serde_json::to_value(handle.status()).unwrap_or_default(),
            ),
            Err(message) => json(
                StatusCode::CONFLICT,
                &serde_json::json!({"error": {"code": "start_refused", "message": message}}),
            ),
        },
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": {"code": "not_found", "message": "no such page"}}),
        ),
    };
    Ok(res)
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clubhall</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  html,body{margin:0;height:100%;background:#0f1419;color:#e6e6e6;font:18px system-ui,sans-serif}
  main{display:flex;flex-direction:column;align-items:center;justify-content:center;height:100%;gap:18px;text-align:center}
  h1{font-size:44px;margin:0;font-weight:600}
  .sub{color:#9aa5b1}
  .clock{font-size:64px;font-variant-numeric:tabular-nums}
  button{font-size:28px;padding:16px 56px;border:0;border-radius:10px;background:#2f81f7;color:#fff;cursor:pointer}
  button:disabled{background:#3a4450;cursor:default}
  .warn{color:#f0b429}
  .err{color:#ff6b6b;min-height:1.2em}
  .dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px}
</style></head>
<body><main>
  <div class="sub" id="pc"></div>
  <h1 id="title">Locked</h1>
  <div class="sub" id="detail">Please see the desk to start a session.</div>
  <div class="clock" id="clock"></div>
  <button id="start" hidden>Start</button>
  <div class="warn" id="warnings"></div>
  <div class="err" id="err"></div>
  <div class="sub" id="link"></div>
</main>
<script>
const $ = id => document.getElementById(id);
function fmt(s){const h=Math.floor(s/3600),m=Math.floor(s%3600/60),x=s%60;return (h?h+":":"")+String(m).padStart(2,"0")+":"+String(x).padStart(2,"0");}
async function refresh(){
  let st;
  try { st = await (await fetch("/api/status")).json(); } catch(e) { return; }
  $("pc").textContent = st.device_name || "";
  $("link").innerHTML = '<span class="dot" style="background:'+(st.connected?'#3fb950':'#ff6b6b')+'"></span>'+(st.connected?'connected':(st.refused||'connecting to the club server…'));
  const s = st.session;
  $("start").hidden = true; $("clock").textContent = "";
  if (s && s.status === "ACTIVE" && st.locked) {
    $("title").textContent = "Welcome, " + s.client_name;
    $("detail").textContent = s.tariff_name + " — press Start when you are ready";
    $("start").hidden = false; $("start").disabled = !st.connected;
  } else if (s && s.status === "STARTED" && !st.locked) {
    $("title").textContent = "Playing: " + s.client_name;
    $("detail").textContent = s.tariff_name + " — time left";
    $("clock").textContent = fmt(st.seconds_left || 0);
  } else {
    $("title").textContent = "Locked";
    $("detail").textContent = "Please see the desk to start a session.";
  }
  $("warnings").textContent = (st.warnings || []).join(" · ");
}
$("start").onclick = async () => {
  $("start").disabled = true; $("err").textContent = "";
  const r = await fetch("/api/start", {method: "POST"});
  if (!r.ok) { const b = await r.json(); $("err").textContent = b.error.message; }
  refresh();
};
refresh(); setInterval(refresh, 1000);
</script></body></html>"#;
