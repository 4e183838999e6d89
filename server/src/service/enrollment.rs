//! Enrolling a PC's agent: a one-time code at the desk (with the exact
//! commands to run on the PC), traded once by the agent for its device
//! secret. A new secret replaces the old one.

use super::{required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::requests::enrollment::EnrollRequest;
use crate::secrets;
use crate::store;
use club_shared::{Event, Permission};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentCode {
    pub device_id: i64,
    pub enrollment_code: String,
    pub enrollment_expires_at: chrono::DateTime<chrono::Utc>,
    /// When the server serves TLS: the SHA-256 of its certificate, for
    /// `club-agent enroll --server-cert-sha256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cert_sha256: Option<String>,
    /// What to run on the PC: the enroll command, and the Linux and Windows
    /// installers (packaging/linux/install-agent.sh,
    /// packaging/windows/install-agent.ps1) that also set up the service.
    /// Made from the address the desk reached the server at.
    #[serde(flatten)]
    pub commands: Option<AgentCommands>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentCommands {
    /// e.g. `club-agent enroll --server http://10.0.0.2:8080 --code K7Q2M9XW4P`
    pub agent_command: String,
    /// e.g. `sudo ./install-agent.sh --server http://10.0.0.2:8080 --code K7Q2M9XW4P`
    pub install_command_linux: String,
    /// In an elevated PowerShell beside `packaging/windows/install-agent.ps1`,
    /// e.g. `powershell -ExecutionPolicy Bypass -File .\install-agent.ps1
    /// -Server http://10.0.0.2:8080 -Code K7Q2M9XW4P`
    pub install_command_windows: String,
}

impl AgentCommands {
    /// The commands for `code`, for PCs that reach the server at `server`
    /// (a URL made of checked parts only: no shell quoting is needed).
    pub fn new(server: &str, code: &str, pin: Option<&str>) -> Self {
        let unix_pin = pin
            .map(|p| format!(" --server-cert-sha256 {p}"))
            .unwrap_or_default();
        let args = format!("--server {server} --code {code}{unix_pin}");
        let windows_pin = pin
            .map(|p| format!(" -ServerCertSha256 {p}"))
            .unwrap_or_default();
        AgentCommands {
            agent_command: format!("club-agent enroll {args}"),
            install_command_linux: format!("sudo ./install-agent.sh {args}"),
            install_command_windows: format!(
                "powershell -ExecutionPolicy Bypass -File .\\install-agent.ps1 \
                 -Server {server} -Code {code}{windows_pin}"
            ),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Enrolled {
    pub device_id: i64,
    pub device_secret: String,
}

pub(super) const ENROLLMENT_TTL_HOURS: i64 = 24;

impl Service {
    pub async fn new_enrollment_code(
        &self,
        actor: &Actor,
        device_id: i64,
    ) -> Result<EnrollmentCode> {
        actor.require(Permission::DeviceManage)?;
        let now = self.now();
        let actor = actor.clone();
        self.run(move |this, tx| {
            let actor = &actor;
            let d = tx
                .get_device(device_id)?
                .ok_or_else(|| Error::not_found("device", device_id))?;
            actor.in_club(d.club_id, "device", device_id)?;
            let code = secrets::enrollment_code();
            let expires = now + chrono::Duration::hours(ENROLLMENT_TTL_HOURS);
            tx.insert_enrollment_code(device_id, &secrets::digest(&code), store::ms(expires))?;
            let mut a = actor.audit("device.enrollment_code", now);
            a.device_id = Some(device_id);
            tx.insert_audit(&a)?;
            let events = vec![];
            Ok((
                EnrollmentCode {
                    device_id,
                    enrollment_code: code,
                    enrollment_expires_at: expires,
                    server_cert_sha256: this.server_cert_sha256(),
                    commands: None,
                },
                events,
            ))
        })
        .await
    }

    /// An agent trades a one-time code for its device secret. A new secret
    /// replaces the old one: re-enrolling a PC revokes its previous agent.
    pub async fn enroll(&self, req: EnrollRequest) -> Result<Enrolled> {
        let hostname = required_text("hostname", &req.hostname, 255)?;
        let code = req.code.trim().to_uppercase();
        if code.is_empty() {
            return Err(Error::bad("code", "must not be empty"));
        }
        let now = self.now();
        let mut tx = self.store.write().await?;
        let device_id = tx
            .redeem_enrollment_code(&secrets::digest(&code), store::ms(now))?
            .ok_or_else(|| {
                Error::Unauthorized("the enrollment code is unknown, used or expired".into())
            })?;
        let secret = secrets::random_token();
        tx.set_device_secret(device_id, &secrets::digest(&secret), &hostname)?;
        let mut a = Actor::Agent { device_id }.audit("device.enroll", now);
        a.device_id = Some(device_id);
        a.after = Some(serde_json::json!({ "hostname": hostname }));
        tx.insert_audit(&a)?;
        self.commit(
            tx,
            vec![
                Event::DeviceChanged { device_id },
                Event::DeviceRevoked { device_id },
            ],
        )
        .await?;
        Ok(Enrolled {
            device_id,
            device_secret: secret,
        })
    }
}

#[cfg(test)]
mod agent_command_tests {
    use super::AgentCommands;

    #[test]
    fn every_command_carries_the_pin_when_the_server_serves_tls() {
        let c = AgentCommands::new("https://10.0.0.2:8443", "K7Q2M9XW4P", Some("ab12"));
        assert_eq!(
            c.agent_command,
            "club-agent enroll --server https://10.0.0.2:8443 --code K7Q2M9XW4P --server-cert-sha256 ab12"
        );
        assert_eq!(
            c.install_command_linux,
            "sudo ./install-agent.sh --server https://10.0.0.2:8443 --code K7Q2M9XW4P --server-cert-sha256 ab12"
        );
        assert_eq!(
            c.install_command_windows,
            r"powershell -ExecutionPolicy Bypass -File .\install-agent.ps1 -Server https://10.0.0.2:8443 -Code K7Q2M9XW4P -ServerCertSha256 ab12"
        );
    }
}
