//! Real headless Chromium (Debian's), driven through Debian's chromedriver
//! over the W3C WebDriver protocol. Waits are event-driven: a script in the
//! page resolves when a MutationObserver sees the condition hold.

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    base: String,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

fn chromium() -> anyhow::Result<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| {
            anyhow!("Chromium is not installed: scripts/install-test-deps.sh installs it")
        })
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless
    /// Chromium session with a fresh profile.
    pub async fn start() -> anyhow::Result<Browser> {
        Self::start_with(false).await
    }

    /// A browser that accepts a self-signed certificate, as an operator
    /// does who confirmed the club server's certificate once.
    pub async fn start_accepting_self_signed() -> anyhow::Result<Browser> {
        Self::start_with(true).await
    }

    async fn start_with(accept_insecure_certs: bool) -> anyhow::Result<Browser> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?.port()
        };
        let mut driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("chromedriver: scripts/install-test-deps.sh installs it")?;
        let stdout = driver.stdout.take().context("chromedriver stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("started successfully") {
                    return Ok(());
                }
            }
            bail!("chromedriver exited before it was ready")
        })
        .await
        .context("chromedriver did not start in time")??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let profile = tempfile::tempdir()?;
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--window-size=1440,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": accept_insecure_certs,
            "goog:chromeOptions": {"binary": chromium()?, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let http = reqwest::Client::new();
        let res: Value = http
            .post(format!("http://127.0.0.1:{port}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let id = res["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no browser session: {res}"))?;
        let b = Browser {
            http,
            base: format!("http://127.0.0.1:{port}/session/{id}"),
            driver,
            _profile: profile,
        };
        b.cmd(
            "POST",
            "/timeouts",
            json!({"script": 15_000, "implicit": 0}),
        )
        .await?;
        Ok(b)
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let res: Value = req.send().await?.json().await?;
        if let Some(err) = res["value"]["error"].as_str() {
            bail!("webdriver {path}: {err}: {}", res["value"]["message"]);
        }
        Ok(res["value"].clone())
    }

    /// What the page's scripts logged as errors since the last call: thrown
    /// exceptions and `console.error`. A refused request (a 4xx the page
    /// shows to the operator) is the network's entry, not a script error.
    pub async fn script_errors(&self) -> anyhow::Result<Vec<String>> {
        let entries = self
            .cmd("POST", "/se/log", json!({"type": "browser"}))
            .await?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .filter(|e| e["source"] != "network")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .filter(|m| !m.contains("Failed to load resource"))
            .collect())
    }

    /// Drags with the mouse (pointer events): presses on the middle of
    /// `css`, moves by (dx, dy) in steps, and lets go.
    pub async fn drag(&self, css: &str, dx: i64, dy: i64) -> anyhow::Result<()> {
        let at = self
            .script(
                "const r = document.querySelector(arguments[0]).getBoundingClientRect();
                 return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)];",
                json!([css]),
            )
            .await?;
        let (x, y) = (at[0].as_i64().unwrap_or(0), at[1].as_i64().unwrap_or(0));
        let mut steps = vec![
            json!({"type": "pointerMove", "origin": "viewport", "x": x, "y": y}),
            json!({"type": "pointerDown", "button": 0}),
        ];
        for i in 1..=5 {
            steps.push(
                json!({"type": "pointerMove", "origin": "pointer", "duration": 20,
                "x": dx / 5 + if i == 5 { dx % 5 } else { 0 },
                "y": dy / 5 + if i == 5 { dy % 5 } else { 0 }}),
            );
        }
        steps.push(json!({"type": "pointerUp", "button": 0}));
        self.cmd(
            "POST",
            "/actions",
            json!({"actions": [{"type": "pointer", "id": "mouse",
                "parameters": {"pointerType": "mouse"}, "actions": steps}]}),
        )
        .await
        .map(drop)
    }

    /// Resizes the browser window (the page's viewport follows).
    pub async fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await
        .map(drop)
    }

    /// A Chrome DevTools command (e.g. emulating print media).
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
        .await
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.cmd("POST", "/url", json!({ "url": url }))
            .await
            .map(drop)
    }

    async fn element(&self, css: &str) -> anyhow::Result<String> {
        let v = self
            .cmd(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await
            .with_context(|| format!("finding {css}"))?;
        v[ELEMENT]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no element {css}"))
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let id = self.element(css).await?;
        self.cmd("POST", &format!("/element/{id}/click"), json!({}))
            .await
            .map(drop)
    }

    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let id = self.element(css).await?;
        self.cmd("POST", &format!("/element/{id}/clear"), json!({}))
            .await?;
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await
        .map(drop)
    }

    /// Chooses the option with `value` in a select, as a user would.
    pub async fn select(&self, css: &str, value: &str) -> anyhow::Result<()> {
        self.wait_for(&format!("{css} option[value=\"{value}\"]"), None)
            .await?;
        self.click(&format!("{css} option[value=\"{value}\"]"))
            .await
    }

    pub async fn exists(&self, css: &str) -> anyhow::Result<bool> {
        let v = self
            .script(
                "return document.querySelector(arguments[0]) !== null;",
                json!([css]),
            )
            .await?;
        Ok(v.as_bool().unwrap_or(false))
    }

    pub async fn attribute(&self, css: &str, name: &str) -> anyhow::Result<Option<String>> {
        let v = self
            .script(
                "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
                json!([css, name]),
            )
            .await?;
        Ok(v.as_str().map(str::to_owned))
    }

    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let v = self
            .script(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                json!([css]),
            )
            .await?;
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no element {css}"))
    }

    pub async fn script(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    pub async fn script_async(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.cmd(
            "POST",
            "/execute/async",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Waits until an element matches `css` (and, with `attr`, has that
    /// attribute value); fails after the script timeout (15 s).
    pub async fn wait_for(&self, css: &str, attr: Option<(&str, &str)>) -> anyhow::Result<()> {
        let (name, value) = attr.map_or((Value::Null, Value::Null), |(n, v)| (json!(n), json!(v)));
        let ok = self
            .script_async(
                r#"const [css, name, value, done] = arguments;
                const holds = () => {
                  const e = document.querySelector(css);
                  return !!e && (name === null || e.getAttribute(name) === value);
                };
                if (holds()) return done(true);
                const seen = new MutationObserver(() => { if (holds()) { seen.disconnect(); done(true); } });
                seen.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});"#,
                json!([css, name, value]),
            )
            .await
            .with_context(|| format!("waiting for {css} {attr:?}"))?;
        if ok != json!(true) {
            bail!("waiting for {css} {attr:?}: {ok}");
        }
        Ok(())
    }

    pub async fn screenshot(&self, path: &std::path::Path) -> anyhow::Result<()> {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", Value::Null).await?;
        let png =
            base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    pub async fn quit(mut self) {
        let _ = self.cmd("DELETE", "", Value::Null).await;
        let _ = self.driver.kill().await;
    }
}
