//! Which server each PC is on, and its metrics, among the servers on one
//! database: beats, presence on record, metrics shared by `NOTIFY`.

use super::*;

impl Service {
    /// Marks a PC's metrics fresh, for the other servers (see
    /// `share_metrics`).
    pub(crate) fn metrics_fresh(&self, device_id: i64) {
        if self.store.shared() {
            if let Ok(mut fresh) = self.chain.fresh.lock() {
                fresh.insert(device_id);
            }
        }
    }

    /// Tells the other servers the fresh metrics of the PCs connected
    /// here, in notifications small enough for `NOTIFY`.
    pub(super) async fn share_metrics(&self) -> Result<()> {
        let fresh = std::mem::take(&mut *self.chain.fresh.lock().map_err(|_| poisoned())?);
        let mut pcs = Vec::new();
        for device_id in fresh {
            let p = self.presence(device_id);
            if let (true, Some(m)) = (p.here(), p.metrics) {
                pcs.push((device_id, m, p.last_seen_at));
            }
        }
        // Each PC written once; the payloads are put together from them.
        let from = serde_json::to_string(&*self.chain.instance).map_err(internal)?;
        let mut payloads = Vec::new();
        let mut batch: Vec<String> = Vec::new();
        let mut size = 0;
        for pc in &pcs {
            let one = serde_json::to_string(pc).map_err(internal)?;
            if size + one.len() > NOTICE_BYTES && !batch.is_empty() {
                payloads.push(format!(r#"{{"from":{from},"pcs":[{}]}}"#, batch.join(",")));
                batch.clear();
                size = 0;
            }
            size += one.len() + 1;
            batch.push(one);
        }
        if !batch.is_empty() {
            payloads.push(format!(r#"{{"from":{from},"pcs":[{}]}}"#, batch.join(",")));
        }
        if payloads.is_empty() {
            return Ok(());
        }
        let mut c = self.store.read().await?;
        for p in payloads {
            c.notify(METRICS, &p)?;
        }
        Ok(())
    }

    /// Another server's PCs' fresh metrics: shown in this server's hall.
    pub(super) fn take_metrics(&self, payload: &str) {
        let shared: SharedMetrics = match serde_json::from_str(payload) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "metrics another server shared cannot be read");
                return;
            }
        };
        if *shared.from == *self.chain.instance {
            return;
        }
        let mut events = Vec::new();
        if let Ok(mut map) = self.presence.write() {
            for (device_id, metrics, seen) in shared.pcs {
                let Some(p) = map.get_mut(&device_id) else {
                    continue;
                };
                if p.instance.as_deref() == Some(shared.from.as_str()) {
                    p.metrics = Some(metrics.bounded());
                    p.last_seen_at = seen.or(p.last_seen_at);
                    events.push(Event::DeviceMetrics { device_id });
                }
            }
        }
        self.bus.publish(events);
    }

    /// Reads which server every connected PC is on. PCs connected here
    /// stay as this server knows them.
    pub(super) async fn load_presence(&self) -> Result<()> {
        let on_record = self.store.read().await?.all_presence()?;
        let on_record: std::collections::HashMap<i64, String> = on_record.into_iter().collect();
        let mut map = self.presence.write().map_err(|_| poisoned())?;
        map.retain(|id, p| p.here() || on_record.contains_key(id));
        for (id, instance) in on_record {
            if *instance != *self.chain.instance {
                // On record elsewhere: the agent moved on, also when this
                // server's connection to it has not closed yet.
                let p = map.entry(id).or_default();
                if p.instance.as_deref() != Some(instance.as_str()) {
                    *p = DevicePresence::elsewhere(&instance);
                }
            }
        }
        Ok(())
    }

    /// Reads which server a PC is on after an operation changed it.
    pub(crate) async fn refresh_presence(&self, device_id: i64) -> Result<()> {
        let on_record = self.store.read().await?.presence_of(device_id)?;
        let mut map = self.presence.write().map_err(|_| poisoned())?;
        let p = map.entry(device_id).or_default();
        match on_record {
            // Connected here: this server knows best.
            Some(i) if *i == *self.chain.instance => {}
            // Still where it was: its shared metrics stay.
            Some(i) if p.online && p.instance.as_deref() == Some(i.as_str()) => {}
            // Connected elsewhere, also when this server's connection
            // to it has not closed yet: the agent moved on.
            Some(i) => *p = DevicePresence::elsewhere(&i),
            // Connected here but off the record: this server was taken
            // for dead and its beat puts it back.
            None if p.here() => {}
            None => *p = DevicePresence::default(),
        }
        Ok(())
    }

    /// One beat: on record as alive (again, if it was taken for dead), the
    /// silent servers' PCs offline.
    pub(super) async fn beat(&self) -> Result<()> {
        let instance = self.chain.instance.clone();
        let (alive, silent) = {
            let mut c = self.store.read().await?;
            let alive = c.beat_instance(&instance)?;
            (alive, c.silent_instances(millis(SILENT))?)
        };
        if !alive {
            tracing::warn!("this server was silent and taken for dead: back on record");
            self.rejoin().await?;
        }
        for other in silent.into_iter().filter(|i| *i != *instance) {
            self.remove_silent(other).await?;
        }
        Ok(())
    }

    /// Back on record, with the PCs connected here.
    pub(super) async fn rejoin(&self) -> Result<()> {
        let here: Vec<i64> = {
            let map = self.presence.read().map_err(|_| poisoned())?;
            map.iter()
                .filter(|(_, p)| p.here())
                .map(|(id, _)| *id)
                .collect()
        };
        let instance = self.chain.instance.clone();
        // A PC on record elsewhere now moved on to that server while this
        // one was off the record: it stays there.
        let taken = self
            .run(move |this, tx| {
                tx.register_instance(&instance)?;
                let since = store::ms(this.now());
                let mut events = Vec::new();
                let mut taken = Vec::new();
                for device_id in here {
                    if !tx.claim_presence(device_id, &instance, since)? {
                        taken.push(device_id);
                    }
                    events.push(Event::DeviceChanged { device_id });
                }
                Ok((taken, events))
            })
            .await?;
        for device_id in taken {
            self.refresh_presence(device_id).await?;
        }
        Ok(())
    }

    /// Leaves the database's servers (a server that stops): its PCs go
    /// offline for the others at once, not once it has been silent.
    pub(crate) async fn leave(&self) -> Result<()> {
        let instance = self.chain.instance.to_string();
        let devices = self
            .run(move |_, tx| {
                let devices = tx.remove_instance(&instance, None)?;
                let events = devices
                    .iter()
                    .map(|&device_id| Event::DeviceChanged { device_id })
                    .collect();
                Ok((devices, events))
            })
            .await?;
        tracing::info!(pcs = devices.len(), "left the servers on the database");
        Ok(())
    }

    /// Takes a silent server for dead: its PCs go offline, on record for
    /// those in a started session, as a PC that goes silent is.
    pub(super) async fn remove_silent(&self, other: String) -> Result<()> {
        let now = self.now();
        let removed = other.clone();
        let devices = self
            .run(move |_, tx| {
                let devices = tx.remove_instance(&other, Some(millis(SILENT)))?;
                let mut events = Vec::new();
                for &device_id in &devices {
                    let after = serde_json::json!({
                        "online": false,
                        "server": other,
                        "why": "its server stopped beating",
                    });
                    crate::service::agents::audit_if_playing(
                        tx,
                        device_id,
                        "device.offline_while_playing",
                        now,
                        after,
                    )?;
                    events.push(Event::DeviceChanged { device_id });
                }
                Ok((devices, events))
            })
            .await?;
        if !devices.is_empty() {
            tracing::warn!(server = %removed, pcs = devices.len(), "a silent server taken for dead: its PCs are offline");
        }
        // Commands it was to hand to their agents never will be.
        for device_id in devices {
            if let Some(c) = self
                .command(device_id)
                .filter(|c| c.state == CommandState::Sent)
            {
                self.command_undelivered(device_id, c.id).await?;
            }
        }
        Ok(())
    }
}

impl DevicePresence {
    /// Connected to this server.
    pub fn here(&self) -> bool {
        self.online && self.instance.is_none()
    }

    /// Connected to another server on the database.
    pub(super) fn elsewhere(instance: &str) -> Self {
        DevicePresence {
            online: true,
            instance: Some(instance.into()),
            last_seen_at: None,
            metrics: None,
        }
    }
}
