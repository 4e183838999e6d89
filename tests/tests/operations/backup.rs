//! An online backup under load holds everything acknowledged, and a
//! restore brings it back.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_under_load_holds_everything_acknowledged_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_in(dir.path());
    let srv = ServerProcess::start(server_command(&db, "", &[])).await;
    let api = sign_in_owner(&srv.base).await;
    let client = new_client(&api, "Dana", "+1 555 0100", 0).await;
    open_shift(&api).await;
    let acked = Arc::new(tokio::sync::watch::Sender::new(0_i64));
    let stop = tokio_util::sync::CancellationToken::new();
    let load: Vec<_> = (0..3)
        .map(|_| top_ups(api.clone(), client, acked.clone(), stop.clone()))
        .collect();
    acknowledged(&acked, 50).await;

    // The backup starts with the load running; what was acknowledged
    // before it started must be in it.
    let before = *acked.borrow();
    let copy = dir.path().join("backup.db");
    let (ok, said) = club_server(&[
        os("backup"),
        os("--database"),
        db.as_os_str(),
        os("--to"),
        copy.as_os_str(),
    ])
    .await;
    let after = *acked.borrow();
    assert!(ok, "{said}");
    assert!(said.contains("integrity ok"), "{said}");
    // The load went on during the backup and after it.
    acknowledged(&acked, after + 20).await;
    stop.cancel();
    for l in load {
        l.await.unwrap();
    }

    let c = rusqlite::Connection::open(&copy).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (entries, sum): (i64, i64) = c
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM ledger WHERE client_id = ?1 AND account = 'money'",
            [client],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        entries >= before,
        "{entries} in the copy, {before} acknowledged before it began"
    );
    assert_eq!(sum, entries * 1_00);
    let balance: i64 = c
        .query_row("SELECT balance FROM clients WHERE id = ?1", [client], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        balance, sum,
        "the copy is one moment: balance and ledger agree"
    );
    drop(c);

    // A backup never overwrites, and a restore refuses a database in use.
    let (ok, said) = club_server(&[
        os("backup"),
        os("--database"),
        db.as_os_str(),
        os("--to"),
        copy.as_os_str(),
    ])
    .await;
    assert!(!ok && said.contains("exists already"), "{said}");
    let (ok, said) = club_server(&[
        os("restore"),
        os("--from"),
        copy.as_os_str(),
        os("--database"),
        db.as_os_str(),
    ])
    .await;
    assert!(
        !ok && said.contains("another club-server is using"),
        "{said}"
    );
    // So does a second server on the same file.
    let mut second = server_command(&db, "", &[]);
    let out = tokio::time::timeout(WAIT, second.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another club-server is using the database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv.stop().await;

    // Stopped, the club restores the backup; the replaced file is kept.
    let (ok, said) = club_server(&[
        os("restore"),
        os("--from"),
        copy.as_os_str(),
        os("--database"),
        db.as_os_str(),
    ])
    .await;
    assert!(ok, "{said}");
    assert!(said.contains("The replaced database is kept as"), "{said}");
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("club.db.replaced-")
        })
        .collect();
    assert!(!kept.is_empty());

    // A server on the restored file works: what the copy held, and new work.
    let srv = ServerProcess::start(server_command(&db, "", &[])).await;
    let api = sign_in_owner(&srv.base).await;
    let got = api
        .ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await;
    assert_eq!(got["balance"].as_i64().unwrap(), entries * 1_00);
    open_shift(&api).await;
    api.ok(
        Method::POST,
        &format!("/clients/{client}/top-ups"),
        json!({"amount": 1_00, "method": "cash"}),
    )
    .await;
    let got = api
        .ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await;
    assert_eq!(got["balance"].as_i64().unwrap(), (entries + 1) * 1_00);
    srv.stop().await;

    // A file that is no database is refused, and nothing is replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (ok, said) = club_server(&[
        os("restore"),
        os("--from"),
        junk.as_os_str(),
        os("--database"),
        db.as_os_str(),
    ])
    .await;
    assert!(!ok, "{said}");
    let c = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM clients", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "the database is untouched");
}
