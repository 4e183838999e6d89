//! A club's hall screens get their club's feed, numbered on its own.

use super::*;
use club_shared::hall::{HallEventKind, HallMsg};
use futures_util::SinkExt;
use std::time::Duration;

/// The next event on a screen, skipping none: its number and body.
async fn next_event(ws: &mut Ws) -> (u64, club_shared::hall::HallEvent) {
    match next_hall_msg(ws, Duration::from_secs(10)).await {
        HallMsg::Event { seq, event } => (seq, *event),
        other => panic!("an event, not {other:?}"),
    }
}

async fn open_screen(srv: &TestServer, api: &Api) -> (Ws, u64, club_shared::HallSnapshot) {
    let mut ws = screen(srv, &api.token().unwrap()).await;
    match next_hall_msg(&mut ws, Duration::from_secs(10)).await {
        HallMsg::Snapshot { seq, hall } => (ws, seq, hall),
        other => panic!("a snapshot first, not {other:?}"),
    }
}

#[tokio::test]
async fn a_clubs_screen_gets_its_clubs_events_numbered_without_gaps() {
    let srv = TestServer::start().await;
    let owner = srv.owner().await;
    let (h, north, north_pc, nora) = two_clubs(&srv, &owner).await;
    let (mut chain, chain_seq, chain_hall) = open_screen(&srv, &owner).await;
    let (mut club, club_seq, club_hall) = open_screen(&srv, &nora).await;
    assert_eq!(chain_hall.devices.len(), 4);
    assert_eq!(
        club_hall.devices.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![north_pc]
    );
    assert!(club_hall.zones.iter().all(|z| z.club_id == north));

    // A session in club 1, then one in North: the chain's screen gets
    // both; North's gets North's, and the client's balance (the chain's).
    let here = new_session(&owner, h.client, h.pcs[0], h.keep).await;
    let there = new_session(&owner, h.client, north_pc, h.keep).await;
    let mut expected = chain_seq;
    let mut created = Vec::new();
    while created.len() < 2 {
        let (seq, e) = next_event(&mut chain).await;
        expected += 1;
        assert_eq!(seq, expected, "the chain's feed has no gaps");
        if e.kind == HallEventKind::SessionCreated {
            created.push(e.session.unwrap().id);
        }
    }
    assert_eq!(created, vec![here, there]);

    let mut expected = club_seq;
    let mut balances = 0;
    loop {
        let (seq, e) = next_event(&mut club).await;
        expected += 1;
        assert_eq!(seq, expected, "a club's feed has no gaps");
        assert!(
            e.devices.iter().all(|d| d.club_id == north),
            "club 1's PCs never reach North's screen: {e:?}"
        );
        if let Some(s) = &e.session {
            assert_eq!(s.id, there, "club 1's session never reaches North's screen");
            assert_eq!(e.kind, HallEventKind::SessionCreated);
            break;
        }
        if e.kind == HallEventKind::BalanceChanged {
            balances += 1;
        }
    }
    assert_eq!(
        balances, 1,
        "the balance change of the first session reached North"
    );

    // A fresh snapshot for North: its number follows its own feed.
    club.send(tokio_tungstenite::tungstenite::Message::Text(
        r#"{"type":"resync"}"#.into(),
    ))
    .await
    .unwrap();
    let mut resynced = None;
    while resynced.is_none() {
        match next_hall_msg(&mut club, Duration::from_secs(10)).await {
            HallMsg::Snapshot { seq, hall } => resynced = Some((seq, hall)),
            HallMsg::Event { seq, .. } => expected = seq,
            HallMsg::Error { message } => panic!("{message}"),
        }
    }
    let (seq, hall) = resynced.unwrap();
    assert!(seq >= expected, "{seq} after {expected}");
    assert_eq!(hall.devices.len(), 1);
    assert_eq!(hall.devices[0].session.as_ref().unwrap().id, there);
    srv.stop().await;
}
