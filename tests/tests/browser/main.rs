//! The operator page in real headless Chromium against a real server and
//! real agents: sign in, a PC comes online, a session is created on the
//! page, Start on the PC shows without a reload, a move updates both PCs,
//! a Cashier has no Cancel button and is refused when forcing it, and
//! Start on a PC whose agent is offline must be confirmed.

use club_tests::agents::TestAgent;
use club_tests::browser::Browser;
use club_tests::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;

mod desk;
mod hall;
mod setup;

fn docs(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name)
}

fn tile(id: i64) -> String {
    format!("[data-device-id=\"{id}\"]:not(#session-card)")
}

async fn sign_in(b: &Browser, srv: &TestServer, login: &str, password: &str) -> anyhow::Result<()> {
    b.goto(&format!("{}/", srv.base)).await?;
    b.wait_for("#login-form", None).await?;
    b.type_into("#login", login).await?;
    b.type_into("#password", password).await?;
    b.click("#login-submit").await?;
    // The app is in the page from the start: wait until it is shown.
    b.wait_for("#app:not([hidden])", None).await?;
    b.wait_for("#hall", None).await?;
    b.wait_for("#feed-status", None).await?;
    Ok(())
}
