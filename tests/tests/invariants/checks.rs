//! The invariants, read back from the database after every step.

use super::*;

impl World {
    /// All the invariants, read back from the database.
    pub(super) async fn check(&mut self) -> Result<(), TestCaseError> {
        self.check_ledgers().await?;
        self.check_conservation().await?;
        let sessions = read(
            "sessions",
            self.service
                .list_sessions(&Actor::System, SessionQuery::default())
                .await,
        )?;
        self.check_one_running_per_device(&sessions).await?;
        self.check_statuses_move_forward(&sessions)?;
        check_segments_chain(&sessions)?;
        self.check_nothing_negative().await
    }

    /// Invariant 1: a balance equals the sum of its ledger.
    async fn check_ledgers(&self) -> Result<(), TestCaseError> {
        let bad = read("ledgers", self.service.ledger_mismatches().await)?;
        prop_assert!(
            bad.is_empty(),
            "balances differ from their ledgers for clients {:?}",
            bad
        );
        Ok(())
    }

    /// Invariant 2: nothing is created or lost; every topped-up unit is
    /// on a balance, on a holding, recognised as revenue or burned.
    async fn check_conservation(&self) -> Result<(), TestCaseError> {
        let t = read("money totals", self.service.money_totals().await)?;
        let accounted =
            t.balances + t.bonus_balances + t.holding_value + t.revenue + t.burned + t.paid_out;
        prop_assert_eq!(
            t.topped_up,
            accounted,
            "money not conserved: {:?} (accounted for {})",
            t,
            accounted
        );
        Ok(())
    }

    /// Invariant 3: at most one ACTIVE or STARTED session per device, and
    /// the hall agrees with the session list. The hall can show only one
    /// running session per PC, so the list is what catches a second one;
    /// comparing the two catches a hall that hides or invents one.
    async fn check_one_running_per_device(
        &self,
        sessions: &[SessionView],
    ) -> Result<(), TestCaseError> {
        let mut running: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        let mut pending: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        for s in sessions {
            match s.status {
                SessionStatus::Active | SessionStatus::Started => {
                    running.entry(s.device_id).or_default().push(s.id)
                }
                SessionStatus::Pending => {
                    pending.entry(s.device_id).or_default().insert(s.id);
                }
                SessionStatus::Ended | SessionStatus::Cancelled => {}
            }
        }
        for (device, ids) in &running {
            prop_assert!(
                ids.len() <= 1,
                "device {} runs sessions {:?} at once",
                device,
                ids
            );
        }

        let hall = read("hall", self.service.hall().await)?;
        prop_assert_eq!(hall.devices.len(), DEVICES);
        for d in &hall.devices {
            let listed = running.get(&d.id).and_then(|ids| ids.first().copied());
            prop_assert_eq!(
                d.session.as_ref().map(|s| s.id),
                listed,
                "hall and session list disagree on what runs on device {}",
                d.id
            );
            if let Some(s) = &d.session {
                prop_assert!(
                    matches!(s.status, SessionStatus::Active | SessionStatus::Started),
                    "hall shows session {} as running on device {} while it is {}",
                    s.id,
                    d.id,
                    s.status
                );
            }
            let reservations: BTreeSet<i64> = d.reservations.iter().map(|s| s.id).collect();
            prop_assert_eq!(
                reservations,
                pending.get(&d.id).cloned().unwrap_or_default(),
                "hall and session list disagree on the reservations of device {}",
                d.id
            );
        }
        Ok(())
    }

    /// Invariant 4: statuses only move forward along the state machine, and
    /// final is final.
    fn check_statuses_move_forward(
        &mut self,
        sessions: &[SessionView],
    ) -> Result<(), TestCaseError> {
        for s in sessions {
            if let Some(old) = self.seen.insert(s.id, s.status) {
                prop_assert!(
                    s.status.rank() >= old.rank(),
                    "session {} went back from {} to {}",
                    s.id,
                    old,
                    s.status
                );
                if matches!(old, SessionStatus::Ended | SessionStatus::Cancelled) {
                    prop_assert_eq!(s.status, old, "session {} left its final status", s.id);
                }
            }
        }
        // Ids are unique, so equal sizes mean no session seen before is gone.
        prop_assert_eq!(
            self.seen.len(),
            sessions.len(),
            "a session disappeared from the list"
        );
        Ok(())
    }

    /// Invariant 5: refusals keep every amount and every holding non-negative.
    async fn check_nothing_negative(&self) -> Result<(), TestCaseError> {
        for &id in &self.clients {
            let c = read("client", self.service.client(id).await)?;
            prop_assert!(
                c.balance >= 0 && c.bonus_balance >= 0,
                "client {} has balance {} and bonus {}",
                id,
                c.balance,
                c.bonus_balance
            );
            for h in &c.holdings {
                prop_assert!(
                    (0..=h.total_seconds).contains(&h.remaining_seconds)
                        && (0..=h.price_paid).contains(&h.value_remaining),
                    "holding out of bounds: {:?}",
                    h
                );
            }
        }
        Ok(())
    }
}

/// Invariant 6: a started session's open segments run back to back from
/// its start (or a switch), the session ends when the last one does, and no
/// segment, open or closed, uses more than its span. Before Start no open
/// segment has a span.
fn check_segments_chain(sessions: &[SessionView]) -> Result<(), TestCaseError> {
    for s in sessions {
        let open: Vec<_> = s
            .segments
            .iter()
            .filter(|g| g.closed_at.is_none())
            .collect();
        match s.status {
            SessionStatus::Started => {
                for pair in open.windows(2) {
                    prop_assert_eq!(
                        pair[0].ends_at,
                        pair[1].starts_at,
                        "session {}: segment {} does not follow segment {}",
                        s.id,
                        pair[1].id,
                        pair[0].id
                    );
                }
                prop_assert!(
                    open.iter()
                        .all(|g| g.starts_at.is_some() && g.ends_at.is_some()),
                    "session {} runs an open segment without a span",
                    s.id
                );
                if let Some(last) = open.last() {
                    prop_assert_eq!(
                        last.ends_at,
                        s.ends_at,
                        "session {} ends apart from its last segment",
                        s.id
                    );
                }
            }
            SessionStatus::Pending | SessionStatus::Active => {
                prop_assert!(
                    open.iter().all(|g| g.starts_at.is_none()),
                    "session {} has a running segment before Start",
                    s.id
                );
            }
            SessionStatus::Ended | SessionStatus::Cancelled => {
                prop_assert!(open.is_empty(), "closed session {} has open segments", s.id);
            }
        }
        for g in &s.segments {
            if let (Some(used), Some(from), Some(to)) = (g.seconds_used, g.starts_at, g.ends_at) {
                prop_assert!(
                    used <= (to - from).num_seconds(),
                    "segment {} used {} s of a {} s span",
                    g.id,
                    used,
                    (to - from).num_seconds()
                );
            }
        }
    }
    Ok(())
}
