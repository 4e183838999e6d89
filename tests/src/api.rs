//! The REST client the tests speak through, and the small hall most of
//! them start from.

use crate::pinned_http;
use reqwest::Method;
use serde_json::{json, Value};

/// A thin JSON client for the REST API.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// An anonymous client of the API at `base` (`http://host:port`).
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            token: None,
        }
    }

    /// An anonymous client of an https:// server that trusts only the
    /// certificate with this fingerprint, as an agent does.
    pub fn pinned(base: &str, sha256: &str) -> Api {
        Api {
            http: pinned_http(sha256).expect("an https client"),
            base: base.to_owned(),
            token: None,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body read");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Sends raw bytes as a JSON body (for malformed-input tests).
    pub async fn post_raw(&self, path: &str, raw: &str) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .header("content-type", "application/json")
            .body(raw.to_owned());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub fn token(&self) -> Option<String> {
        self.token.clone()
    }

    pub fn with_token(self, token: &str) -> Api {
        Api {
            token: Some(token.to_owned()),
            ..self
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A call that must succeed; answers its body.
    pub async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let body = if method == Method::GET {
            None
        } else {
            Some(body)
        };
        let (status, value) = self.call(method.clone(), path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {value}"
        );
        value
    }

    /// The id of the operator who signs in as `login`.
    pub async fn operator_id(&self, login: &str) -> i64 {
        let ops = self.ok(Method::GET, "/operators", Value::Null).await;
        ops.as_array()
            .unwrap()
            .iter()
            .find(|o| o["login"] == login)
            .unwrap_or_else(|| panic!("operator {login}"))["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn role_id(&self, name: &str) -> i64 {
        let roles = self.ok(Method::GET, "/roles", Value::Null).await;
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("role {name}"))["id"]
            .as_i64()
            .unwrap()
    }
}

/// A small hall: a zone, PCs, one tariff per refund policy, a client with money.
pub struct Hall {
    pub zone: i64,
    pub pcs: Vec<i64>,
    pub keep: i64,
    pub convert: i64,
    pub burn: i64,
    pub client: i64,
}

/// Seed numbers: the "2 hours for 200" tariff of the refund-policy page.
pub const TWO_HOURS: i64 = 7200;
pub const PRICE: i64 = 200;

pub async fn hall(api: &Api) -> Hall {
    let zone = api
        .ok(Method::POST, "/zones", json!({"name": "Main"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut pcs = Vec::new();
    for i in 0..3 {
        let d = api
            .ok(
                Method::POST,
                "/devices",
                json!({"name": format!("PC-{i}"), "zone_id": zone, "x": i, "y": 0}),
            )
            .await;
        pcs.push(d["id"].as_i64().unwrap());
    }
    let tariff = |name: &str, policy: &str| {
        let api = api.clone();
        let body = json!({"name": name, "duration_seconds": TWO_HOURS, "price": PRICE,
            "refund_policy": policy, "max_bonus_percent": 50});
        async move {
            api.ok(Method::POST, "/tariffs", body).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let keep = tariff("Keep", "keep_balance").await;
    let convert = tariff("Convert", "convert_to_bonus").await;
    let burn = tariff("Burn", "burn").await;
    let client = new_client(api, "Dana", "+1 555 0100", 1000).await;
    Hall {
        zone,
        pcs,
        keep,
        convert,
        burn,
        client,
    }
}

/// A session for `client` on `device` from a tariff: its id.
pub async fn new_session(api: &Api, client: i64, device: i64, tariff: i64) -> i64 {
    api.ok(
        Method::POST,
        "/sessions",
        json!({"client_id": client, "device_id": device, "tariff_id": tariff}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

pub async fn new_client(api: &Api, name: &str, phone: &str, money: i64) -> i64 {
    let id = api
        .ok(
            Method::POST,
            "/clients",
            json!({"name": name, "phone": phone, "pin": "4321"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    if money > 0 {
        open_shift(api).await;
        api.ok(
            Method::POST,
            &format!("/clients/{id}/top-ups"),
            json!({"amount": money, "method": "cash"}),
        )
        .await;
    }
    id
}

/// Opens the caller's shift with an empty till, as an operator does before
/// taking cash; a shift already open is fine.
pub async fn open_shift(api: &Api) {
    let (st, body) = api.post("/shifts/open", json!({"opening_cash": 0})).await;
    assert!(st == 201 || st == 409, "opening a shift: {st} {body}");
}
