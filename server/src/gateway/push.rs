//! What the server pushes to connected agents: their desired state after
//! every committed change, the desk's commands, and the close of a
//! connection whose secret was revoked.

use super::*;
use crate::service::{DesiredPush, Service};
use club_shared::protocol::ServerMsg;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Closes the connection of a PC enrolled again: its old secret no longer
/// opens a connection, and one already open closes at once.
pub async fn close_revoked(service: Service, gateway: Gateway, shutdown: CancellationToken) {
    let mut bus = service.bus.subscribe();
    loop {
        let e = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = bus.recv() => e,
        };
        let device_ids: Vec<i64> = match e {
            Ok(club_shared::Event::DeviceRevoked { device_id }) => vec![device_id],
            Ok(_) => continue,
            // Missed some: check every connected PC.
            Err(broadcast::error::RecvError::Lagged(_)) => gateway.connected(),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        for device_id in device_ids {
            match service.device_secret_hash(device_id).await {
                Ok(current) => gateway.close_if_revoked(device_id, current.as_deref()),
                Err(e) => tracing::error!(error = ?e, "reading a device's secret"),
            }
        }
    }
}

/// Sends each new desired state to its PC, if connected. The operation that
/// changed it has stored it already, so this is a send, not a write.
pub async fn push_states(service: Service, gateway: Gateway, shutdown: CancellationToken) {
    let mut pushes = service.desired_pushes();
    let mut resyncs = service.resyncs();
    loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => return,
            // Outcomes may have been missed (see `service::chain`).
            _ = resyncs.changed() => current_states(&service, gateway.connected()).await,
            p = pushes.recv() => match p {
                Ok(p) => vec![p],
                // Missed pushes: bring every connected PC up to date.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    current_states(&service, gateway.connected()).await
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        for DesiredPush {
            device_id,
            seq,
            desired,
        } in batch
        {
            // A PC that is away gets its current state when it connects.
            if let Some(outbox) = gateway.outbox(device_id) {
                outbox.put(encode(&ServerMsg::State {
                    seq,
                    server_time: service.now(),
                    desired,
                }));
            }
        }
    }
}

/// Hands the desk's commands to the PCs' connections, in order; a command
/// for a PC that is not connected is answered as undelivered.
pub async fn push_commands(service: Service, gateway: Gateway, shutdown: CancellationToken) {
    let mut pushes = service.command_pushes();
    loop {
        let push = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = pushes.recv() => match p {
                Ok(p) => p,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "commands missed");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let frame = encode(&ServerMsg::Command {
            id: push.id,
            kind: push.kind,
            text: push.text,
        });
        let sent = gateway
            .outbox(push.device_id)
            .is_some_and(|o| o.put_command(frame));
        if !sent {
            if let Err(e) = service.command_undelivered(push.device_id, push.id).await {
                tracing::error!(error = ?e, "recording an undelivered command");
            }
        }
    }
}

async fn current_states(service: &Service, devices: Vec<i64>) -> Vec<DesiredPush> {
    let mut out = Vec::with_capacity(devices.len());
    for device_id in devices {
        match service.current_desired_state(device_id).await {
            Ok((seq, desired)) => out.push(DesiredPush {
                device_id,
                seq,
                desired,
            }),
            Err(e) => tracing::error!(device.id = device_id, error = ?e, "desired state"),
        }
    }
    out
}
