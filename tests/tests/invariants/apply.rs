//! One step of a case: an operation against the service.

use super::*;

impl World {
    /// Runs one operation. Refusals are fine; internal errors fail the case.
    pub(super) async fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let sys = &Actor::System;
        let svc = &self.service;
        match *op {
            Op::TopUp { client, amount } => {
                let req = TopUp {
                    amount,
                    method: PaymentMethod::Cash,
                };
                allowed(svc.top_up(sys, self.clients[client], req).await)?;
            }
            Op::Purchase {
                client,
                tariff,
                bonus,
            } => {
                let req = Purchase {
                    tariff_id: self.tariffs[tariff],
                    bonus_amount: bonus,
                    pay: None,
                };
                allowed(svc.purchase(sys, self.clients[client], req).await)?;
            }
            Op::CreateSession {
                client,
                device,
                ref source,
                offset_minutes,
            } => {
                let client_id = self.clients[client];
                let Some((holding_id, tariff_id, bonus_amount)) =
                    self.payment(client_id, source).await?
                else {
                    return Ok(());
                };
                let planned_start_at = (offset_minutes > 0)
                    .then(|| self.clock.now() + Duration::minutes(offset_minutes));
                let req = NewSession {
                    client_id,
                    device_id: self.devices[device],
                    holding_id,
                    tariff_id,
                    bonus_amount,
                    planned_start_at,
                };
                if let Some(view) = allowed(svc.create_session(sys, req).await)? {
                    self.sessions.push(view.id);
                }
            }
            Op::Start { pick } => {
                if let Some(id) = self.pick_session(pick) {
                    allowed(svc.start_session(sys, id, None, false).await)?;
                }
            }
            Op::Cancel { pick } => {
                if let Some(id) = self.pick_session(pick) {
                    allowed(svc.cancel_session(sys, id, None).await)?;
                }
            }
            Op::End { pick } => {
                if let Some(id) = self.pick_session(pick) {
                    allowed(svc.end_session(sys, id, None).await)?;
                }
            }
            Op::AddTariff {
                pick,
                ref source,
                switch,
            } => {
                let Some(id) = self.pick_session(pick) else {
                    return Ok(());
                };
                let client_id = read("session", svc.session(id).await)?.client_id;
                let Some((holding_id, tariff_id, bonus_amount)) =
                    self.payment(client_id, source).await?
                else {
                    return Ok(());
                };
                let req = AddTariff {
                    holding_id,
                    tariff_id,
                    bonus_amount,
                    mode: if switch {
                        AddMode::Switch
                    } else {
                        AddMode::Extend
                    },
                    reason: None,
                };
                allowed(svc.add_tariff(sys, id, req).await)?;
            }
            Op::Advance { minutes } => {
                self.clock.advance(Duration::minutes(minutes));
                self.run_scheduler_passes().await?;
            }
        }
        Ok(())
    }

    /// What a client pays with: `(holding_id, tariff_id, bonus)`, or None
    /// when they have no holding to pick.
    async fn payment(
        &self,
        client_id: i64,
        source: &Source,
    ) -> Result<Option<(Option<i64>, Option<i64>, i64)>, TestCaseError> {
        Ok(match *source {
            Source::Tariff { tariff, bonus } => Some((None, Some(self.tariffs[tariff]), bonus)),
            Source::Holding { pick } => {
                let holdings = read("client", self.service.client(client_id).await)?.holdings;
                (!holdings.is_empty()).then(|| (Some(holdings[pick % holdings.len()].id), None, 0))
            }
        })
    }
}
