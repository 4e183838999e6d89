//! `--demo`: a hall a newcomer can explore, put in through the same
//! operations staff use.

use super::{Actor, Service};
use crate::error::Result;
use crate::requests::clients::NewClient;
use crate::requests::hall::{NewDevice, NewZone};
use crate::requests::money::TopUp;
use crate::requests::sessions::NewSession;
use crate::requests::staff::NewOperator;
use crate::requests::tariffs::TariffInput;
use club_shared::{builtin_roles, ExpirationPolicy, PaymentMethod, RefundPolicy};

pub struct DemoLogins {
    /// (login, password, role)
    pub operators: Vec<(String, String, String)>,
    /// (phone, PIN)
    pub players: Vec<(String, String)>,
}

fn tariff(name: &str, minutes: i64, price: i64, policy: RefundPolicy) -> TariffInput {
    TariffInput {
        name: name.into(),
        duration_seconds: minutes * 60,
        price,
        refund_policy: policy,
        max_bonus_percent: None,
        validity_days: None,
        expiration_policy: ExpirationPolicy::Burn,
        window_start_minute: None,
        window_end_minute: None,
        zone_ids: vec![],
        active: true,
    }
}

/// The setting that lists the PCs the demo created: the only ones its
/// in-process agents may ever enroll.
const DEMO_DEVICES: &str = "demo_devices";

/// Whether the club already has anything of its own: then the demo adds
/// nothing to it.
async fn has_data(service: &Service) -> Result<bool> {
    let clients = {
        let mut c = service.store.read().await?;
        c.search_clients("", 1)?.len()
    };
    Ok(clients > 0
        || !service.list_zones(&Actor::System).await?.is_empty()
        || !service.list_devices(&Actor::System).await?.is_empty()
        || !service.list_tariffs().await?.is_empty())
}

/// The PCs the demo created in this database.
#[cfg(feature = "demo-agents")]
async fn demo_devices(service: &Service) -> Result<Vec<i64>> {
    let mut c = service.store.read().await?;
    Ok(c.get_setting(DEMO_DEVICES)?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// Fills an empty database; answers None, adding nothing, when it already
/// has zones, PCs, tariffs or clients.
pub async fn fill(service: &Service) -> Result<Option<DemoLogins>> {
    if has_data(service).await? {
        return Ok(None);
    }
    let sys = Actor::System;
    let main = service
        .create_zone(
            &sys,
            NewZone {
                name: "Main hall".into(),
                club_id: None,
            },
        )
        .await?;
    let vip = service
        .create_zone(
            &sys,
            NewZone {
                name: "VIP".into(),
                club_id: None,
            },
        )
        .await?;
    let mut pcs = Vec::new();
    for i in 0..8 {
        let d = NewDevice {
            name: format!("PC-{:02}", i + 1),
            zone_id: main.id,
            x: i % 4,
            y: i / 4,
        };
        pcs.push(service.create_device(&sys, d).await?.device.id);
    }
    for i in 0..4 {
        let d = NewDevice {
            name: format!("VIP-{:02}", i + 1),
            zone_id: vip.id,
            x: i % 2,
            y: i / 2,
        };
        pcs.push(service.create_device(&sys, d).await?.device.id);
    }

    let ids = serde_json::to_string(&pcs).map_err(|e| crate::error::Error::Internal(e.into()))?;
    service
        .run(move |_, tx| Ok((tx.put_setting(DEMO_DEVICES, &ids)?, Vec::new())))
        .await?;

    let hour = service
        .save_tariff(
            &sys,
            None,
            TariffInput {
                max_bonus_percent: Some(50),
                ..tariff("1 hour", 60, 150_00, RefundPolicy::KeepBalance)
            },
        )
        .await?;
    let three = service
        .save_tariff(
            &sys,
            None,
            TariffInput {
                max_bonus_percent: Some(30),
                ..tariff("3 hours", 180, 400_00, RefundPolicy::ConvertToBonus)
            },
        )
        .await?;
    service
        .save_tariff(
            &sys,
            None,
            TariffInput {
                window_start_minute: Some(22 * 60),
                window_end_minute: Some(8 * 60),
                ..tariff("Night package", 600, 800_00, RefundPolicy::Burn)
            },
        )
        .await?;
    service
        .save_tariff(
            &sys,
            None,
            TariffInput {
                zone_ids: vec![vip.id],
                ..tariff("VIP hour", 60, 300_00, RefundPolicy::KeepBalance)
            },
        )
        .await?;
    service
        .save_tariff(
            &sys,
            None,
            TariffInput {
                max_bonus_percent: Some(0),
                ..tariff("Promo 30 min", 30, 50_00, RefundPolicy::Burn)
            },
        )
        .await?;
    service
        .save_tariff(
            &sys,
            None,
            TariffInput {
                validity_days: Some(30),
                expiration_policy: ExpirationPolicy::ConvertToBonus,
                ..tariff("Multipass 10 h", 600, 1200_00, RefundPolicy::KeepBalance)
            },
        )
        .await?;

    let people = [
        ("Alex Turner", "+1 555 0101", "1111", 5000_00),
        ("Maria Lopez", "+1 555 0102", "2222", 2000_00),
        ("Sam Kim", "+1 555 0103", "3333", 800_00),
    ];
    let mut clients = Vec::new();
    for (name, phone, pin, money) in people {
        let c = service
            .create_client(
                &sys,
                NewClient {
                    name: name.into(),
                    phone: phone.into(),
                    auto_renewal: false,
                    pin: Some(pin.into()),
                },
            )
            .await?;
        service
            .top_up(
                &sys,
                c.id,
                TopUp {
                    amount: money,
                    method: PaymentMethod::Cash,
                },
            )
            .await?;
        clients.push(c.id);
    }

    let mut operators = Vec::new();
    let roles = {
        let mut c = service.store.read().await?;
        c.list_roles()?
    };
    for (login, password, role) in [
        ("admin", "admin-demo-1", builtin_roles::ADMINISTRATOR),
        ("cashier", "cashier-demo-1", builtin_roles::CASHIER),
    ] {
        if let Some(r) = roles.iter().find(|r| r.name == role) {
            let req = NewOperator {
                login: login.into(),
                password: password.into(),
                role_id: r.id,
                club_id: None,
            };
            service.create_operator(&sys, req).await?;
            operators.push((login.to_owned(), password.to_owned(), role.to_owned()));
        }
    }

    // A hall with life in it: one playing, one waiting for Start, one booked.
    let session = |client_id, device_id, tariff_id, planned_start_at| NewSession {
        client_id,
        device_id,
        holding_id: None,
        tariff_id: Some(tariff_id),
        bonus_amount: 0,
        planned_start_at,
    };
    let playing = service
        .create_session(&sys, session(clients[0], pcs[0], three.id, None))
        .await?;
    service.start_session(&sys, playing.id, None, false).await?;
    service
        .create_session(&sys, session(clients[1], pcs[1], hour.id, None))
        .await?;
    let later = service.now() + chrono::Duration::hours(2);
    service
        .create_session(&sys, session(clients[2], pcs[2], hour.id, Some(later)))
        .await?;

    Ok(Some(DemoLogins {
        operators,
        players: people
            .iter()
            .map(|(_, phone, pin, _)| (phone.to_string(), pin.to_string()))
            .collect(),
    }))
}

/// Where the demo agents keep their state: beside the database file, or in
/// the state directory (see `Config::files_base`).
pub fn agents_dir(files_base: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{files_base}.agents"))
}

/// Built without the `demo-agents` feature: the demo hall's PCs stay
/// offline (real agents can still be enrolled to them).
#[cfg(not(feature = "demo-agents"))]
pub async fn run_agents(
    _service: &Service,
    _dir: &std::path::Path,
    _server_url: &str,
    _shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<DemoAgents> {
    Ok(DemoAgents {
        built_without: true,
        ..DemoAgents::default()
    })
}

/// The demo PCs whose agents run in this process.
#[derive(Default)]
pub struct DemoAgents {
    /// Each PC's name and its lock screen's address.
    pub screens: Vec<(String, std::net::SocketAddr)>,
    /// Demo PCs left alone: enrolled by an agent of their own, or disabled.
    pub left_alone: Vec<String>,
    /// This server was built without the demo-agents feature.
    pub built_without: bool,
    /// Resolves once every agent is connected (10 s at most).
    pub connected: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
}

/// Runs the agent's own code for every PC of the hall, in this process, so
/// the demo hall is online, sends metrics, and has lock screens with a Start
/// button. Each PC is enrolled through the same operation a real agent uses.
#[cfg(feature = "demo-agents")]
pub async fn run_agents(
    service: &Service,
    dir: &std::path::Path,
    server_url: &str,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<DemoAgents> {
    use crate::requests::enrollment::EnrollRequest;
    use club_agent::state::{Enrollment, StateDir};
    let (mut screens, mut left_alone, mut handles) = (Vec::new(), Vec::new(), Vec::new());
    let ours = demo_devices(service).await?;
    for device in service.list_devices(&Actor::System).await? {
        let state_dir = StateDir::new(dir.join(&device.name));
        // The demo's own key for this PC, if the server still knows it.
        let enrolled = match state_dir.load_enrollment() {
            Ok((e, secret)) if e.device_id == device.id => service
                .authenticate_device(&secret)
                .await
                .ok()
                .map(|_| secret),
            _ => None,
        };
        let secret = match enrolled {
            Some(secret) => secret,
            // Never a PC the demo did not create, and never one a real
            // agent enrolled since: a new code would revoke its key.
            None if !ours.contains(&device.id) => continue,
            None if device.enrolled || !device.enabled => {
                left_alone.push(device.name);
                continue;
            }
            None => {
                let code = service
                    .new_enrollment_code(&Actor::System, device.id)
                    .await?;
                let req = EnrollRequest {
                    code: code.enrollment_code,
                    hostname: format!("demo-{}", device.name),
                };
                service.enroll(req).await?.device_secret
            }
        };
        state_dir.save_enrollment(
            &Enrollment {
                server: server_url.to_owned(),
                also: Vec::new(),
                device_id: device.id,
                server_cert_sha256: service.server_cert_sha256(),
            },
            &secret,
        )?;
        let mut opts = club_agent::AgentOptions::new(state_dir, "127.0.0.1:0".parse()?);
        // No display for these PCs: their lock screens are the loopback pages.
        opts.lock_channel = None;
        let (handle, _task) = club_agent::run(opts, shutdown.clone()).await?;
        screens.push((device.name, handle.ui_addr()));
        handles.push(handle);
    }
    let connected = async move {
        let wait = std::time::Duration::from_secs(10);
        futures_util::future::join_all(handles.iter().map(|h| h.wait_until(wait, |s| s.connected)))
            .await;
    };
    Ok(DemoAgents {
        screens,
        left_alone,
        built_without: false,
        connected: Some(Box::pin(connected)),
    })
}
