//! Remote control from the desk: a message on a PC, a reboot, a shutdown
//! (sent to its agent, which answers), and a wake (a Wake-on-LAN magic
//! packet the server sends, for the MAC addresses the agent reported).
//! Each PC's last command is kept in memory and shown in the hall while in
//! flight and once answered; the audit keeps every one. On a shared
//! database every server learns each command and its answer from the
//! outbox, and the one the PC's agent is connected to hands it over (see
//! `chain`).

use super::{required_text, Actor, Service};
use crate::error::{Error, Result};
use crate::requests::commands::NewCommand;
use club_shared::{CommandKind, CommandState, DeviceCommandView, Event, Permission, SessionStatus};
use std::net::SocketAddr;

/// A command on its way to a PC's agent (the gateway delivers it).
#[derive(Debug, Clone)]
pub struct CommandPush {
    pub device_id: i64,
    pub id: i64,
    pub kind: CommandKind,
    pub text: Option<String>,
}

/// The Wake-on-LAN magic packet for a MAC: six 0xFF bytes, then the MAC
/// sixteen times.
pub fn magic_packet(mac: [u8; 6]) -> [u8; 102] {
    let mut p = [0xFF; 102];
    for i in 0..16 {
        p[6 + i * 6..12 + i * 6].copy_from_slice(&mac);
    }
    p
}

impl Service {
    /// Sends a command to a PC (DeviceManage). A message, reboot or
    /// shutdown needs the PC's agent connected; a reboot or shutdown of a PC
    /// whose session is STARTED needs `force`. A wake is sent at once.
    pub async fn send_command(
        &self,
        actor: &Actor,
        device_id: i64,
        req: NewCommand,
    ) -> Result<DeviceCommandView> {
        actor.require(Permission::DeviceManage)?;
        let text = match req.kind {
            CommandKind::Message => Some(required_text(
                "text",
                req.text.as_deref().unwrap_or_default(),
                500,
            )?),
            _ if req.text.is_some() => {
                return Err(Error::bad("text", "only a message takes a text"))
            }
            _ => None,
        };
        let view = self.device_for(actor, device_id).await?;
        let presence = self.presence(device_id);
        let online = presence.online;
        let playing = view
            .session
            .as_ref()
            .filter(|s| s.status == SessionStatus::Started);
        match req.kind {
            CommandKind::Reboot | CommandKind::Shutdown if playing.is_some() && !req.force => {
                let s = playing.map(|s| s.client_name.clone()).unwrap_or_default();
                return Err(Error::Conflict(format!(
                    "{} has a started session ({s}); send \"force\": true to do it anyway",
                    view.name
                )));
            }
            CommandKind::Wake => {}
            _ if !online => {
                return Err(Error::Conflict(format!(
                    "{} is offline: its agent cannot be asked",
                    view.name
                )))
            }
            _ => {}
        }
        let macs: Vec<[u8; 6]> = view
            .metrics
            .iter()
            .flat_map(|m| m.macs.iter())
            .filter_map(|m| club_shared::parse_mac(m))
            .collect();
        if req.kind == CommandKind::Wake && macs.is_empty() {
            return Err(Error::Conflict(format!(
                "{} has not reported a MAC address yet (its agent reports them when it connects)",
                view.name
            )));
        }

        let now = self.now();
        // A wake is done here and now; the others wait for their agent.
        let (state, error) = match req.kind {
            CommandKind::Wake => match send_magic_packets(self.wol_target, &macs).await {
                Ok(()) => (CommandState::Done, None),
                Err(e) => (
                    CommandState::Failed,
                    Some(format!("sending to {}: {e}", self.wol_target)),
                ),
            },
            _ => (CommandState::Sent, None),
        };
        let mut tx = self.store.write().await?;
        // Numbered across the servers on a shared database.
        let id = match self.store.shared() {
            true => tx.next_command_id()?,
            false => self
                .command_ids
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        let command = DeviceCommandView {
            id,
            device_id,
            kind: req.kind,
            text: text.clone(),
            state,
            requested_at: now,
            requested_by: actor.operator_id(),
            answered_at: (req.kind == CommandKind::Wake).then_some(now),
            error,
        };
        let mut a = actor.audit("device.command", now);
        a.device_id = Some(device_id);
        a.session_id = playing.map(|s| s.id);
        a.after = Some(serde_json::json!({
            "id": id, "kind": req.kind, "text": text, "force": req.force,
            "state": command.state, "error": command.error,
        }));
        tx.insert_audit(&a)?;
        // Handed to the agent by the server it is connected to, this one
        // or another on the database (see `chain`).
        let deliver_on = (req.kind != CommandKind::Wake).then(|| {
            presence
                .instance
                .as_deref()
                .unwrap_or(self.instance())
                .to_owned()
        });
        let here = deliver_on.as_deref() == Some(self.instance());
        let note = super::chain::CommandNote {
            view: command.clone(),
            deliver_on,
        };
        self.commit_noting(tx, vec![Event::DeviceChanged { device_id }], vec![note])
            .await?;
        if here && self.command_pushes.receiver_count() == 0 {
            // Nobody listening (no gateway running) is the same as offline.
            self.command_undelivered(device_id, id).await?;
        }
        Ok(self.command(device_id).unwrap_or(command))
    }

    /// The agent's answer to a command.
    pub async fn command_done(
        &self,
        device_id: i64,
        id: i64,
        ok: bool,
        error: Option<String>,
    ) -> Result<bool> {
        let error = error.map(|e| e.chars().take(300).collect::<String>());
        self.answer_command(device_id, id, ok, error, "device.command_done")
            .await
    }

    /// A command the gateway could not hand to the agent.
    pub async fn command_undelivered(&self, device_id: i64, id: i64) -> Result<bool> {
        let why = "the PC's agent is not connected".to_owned();
        self.answer_command(
            device_id,
            id,
            false,
            Some(why),
            "device.command_undelivered",
        )
        .await
    }

    async fn answer_command(
        &self,
        device_id: i64,
        id: i64,
        ok: bool,
        error: Option<String>,
        kind: &'static str,
    ) -> Result<bool> {
        let Some(mut command) = self
            .command(device_id)
            .filter(|c| c.id == id && c.state == CommandState::Sent)
        else {
            return Ok(false);
        };
        let now = self.now();
        command.state = if ok {
            CommandState::Done
        } else {
            CommandState::Failed
        };
        command.answered_at = Some(now);
        command.error = if ok { None } else { error };
        let mut a = Actor::System.audit(kind, now);
        a.device_id = Some(device_id);
        a.after = Some(serde_json::json!({
            "id": id, "kind": command.kind, "state": command.state, "error": command.error,
        }));
        let mut tx = self.store.write().await?;
        tx.insert_audit(&a)?;
        let note = super::chain::CommandNote {
            view: command,
            deliver_on: None,
        };
        self.commit_noting(tx, vec![Event::DeviceChanged { device_id }], vec![note])
            .await?;
        Ok(true)
    }

    /// The last command sent to a PC, if any since the server started.
    pub fn command(&self, device_id: i64) -> Option<DeviceCommandView> {
        self.commands
            .read()
            .ok()
            .and_then(|m| m.get(&device_id).cloned())
    }

    pub(crate) fn set_command(&self, c: DeviceCommandView) {
        if let Ok(mut m) = self.commands.write() {
            m.insert(c.device_id, c);
        }
    }

    pub fn command_pushes(&self) -> tokio::sync::broadcast::Receiver<CommandPush> {
        self.command_pushes.subscribe()
    }
}

/// One magic packet per MAC to `target` (the LAN's broadcast address by
/// default; tests use loopback).
async fn send_magic_packets(target: SocketAddr, macs: &[[u8; 6]]) -> std::io::Result<()> {
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().expect("an address")
    } else {
        "[::]:0".parse().expect("an address")
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    socket.set_broadcast(true)?;
    for mac in macs {
        socket.send_to(&magic_packet(*mac), target).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_magic_packet_is_six_ff_then_the_mac_sixteen_times() {
        let mac = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];
        let p = magic_packet(mac);
        assert_eq!(&p[..6], &[0xFF; 6]);
        for chunk in p[6..].chunks(6) {
            assert_eq!(chunk, &mac);
        }
    }
}
