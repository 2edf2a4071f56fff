//! Backups with the real `server` binary: `server backup` taken while a kiosk
//! keeps registering, then `server restore` after the server stops. Every
//! registration answered before the backup began comes back with its photo,
//! whoever was erased after the backup stays erased, and a restore (or a
//! second server) is refused while a server runs on the data directory.

use crate::crash::{exchange, free_port, healthy, registration, start};
use serde_json::Value;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

fn command(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--data-dir", data.to_str().unwrap()])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the server binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_during_registrations_restores_every_committed_one() {
    let _limit = crate::common::time_limit();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = start(&data, port);
    healthy(port).await;
    let url = format!("sqlite://{}", data.join("avtosalon.db").display());
    let db = app::infra::Db::open(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (1, 'Chilonzor', 'Toshkent', 0)",
    )
    .execute(db.sqlite_pool().unwrap())
    .await
    .unwrap();
    let kiosk = crate::crash::paired_kiosk(&db, port).await;

    // The kiosk registers visitors without pause for the whole test.
    let answered: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let registering = {
        let (answered, stop, kiosk) = (answered.clone(), stop.clone(), kiosk.clone());
        tokio::spawn(async move {
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let phone = format!("+99891{n:07}");
                let form = registration(&uuid::Uuid::new_v4().to_string(), &phone, 1);
                let (status, _, body) =
                    exchange(port, "POST", "/rpc/kiosk_register", &kiosk, &form)
                        .await
                        .expect("the server answers");
                assert_eq!(status, 200, "{body}");
                let client = serde_json::from_str::<Value>(&body).unwrap()["client_id"]
                    .as_i64()
                    .unwrap();
                answered.lock().unwrap().push((phone, client));
            }
        })
    };
    while answered.lock().unwrap().len() < 15 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // What was answered before the backup begins must be in it.
    let before: Vec<(String, i64)> = answered.lock().unwrap().clone();
    let backup = tokio::task::spawn_blocking({
        let data = data.clone();
        move || command(&data, &["backup"])
    })
    .await
    .unwrap();
    assert!(
        backup.status.success(),
        "{}{}",
        String::from_utf8_lossy(&backup.stdout),
        String::from_utf8_lossy(&backup.stderr)
    );
    let printed = String::from_utf8_lossy(&backup.stdout);
    let folder = printed
        .strip_prefix("backup taken: ")
        .and_then(|rest| rest.split(" (").next())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| panic!("unexpected output: {printed}"));
    assert!(folder.join("avtosalon.db").is_file());
    while answered.lock().unwrap().len() < before.len() + 10 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    registering.await.unwrap();

    // Erased after the backup: must stay erased after the restore.
    let (erased_phone, erased_id) = before[3].clone();
    let erased_photo: String = sqlx::query_scalar("SELECT photo_path FROM clients WHERE id = ?")
        .bind(erased_id)
        .fetch_one(db.sqlite_pool().unwrap())
        .await
        .unwrap();
    app::privacy::ssr::erase_client(&db, &data, 1, erased_id)
        .await
        .unwrap();

    // A restore while the server runs is refused, as is a second server.
    let refused = command(&data, &["restore", folder.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("stop it first"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let second = command(&data, &["--bind", &format!("127.0.0.1:{}", free_port())]);
    assert!(!second.status.success(), "a second server started");
    server.kill().unwrap();
    server.wait().unwrap();
    db.close().await;

    let restored = command(&data, &["restore", folder.to_str().unwrap()]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(
        String::from_utf8_lossy(&restored.stdout).contains("1 client(s) erased since"),
        "{}",
        String::from_utf8_lossy(&restored.stdout)
    );
    let db = app::infra::Db::open(&url).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(db.sqlite_pool().unwrap())
        .await
        .unwrap();
    assert_eq!(check, "ok");
    for (phone, id) in &before {
        let (name, photo): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT full_name, photo_path FROM clients WHERE id = ?")
                .bind(id)
                .fetch_one(db.sqlite_pool().unwrap())
                .await
                .unwrap_or_else(|_| panic!("client {id} ({phone}) is not in the backup"));
        if *id == erased_id {
            assert_eq!((name, photo), (None, None), "erased again");
            continue;
        }
        assert_eq!(name.as_deref(), Some("Dilnoza Rahimova"));
        let photo = photo.expect("a photo");
        assert!(data.join(&photo).is_file(), "{photo} restored");
    }
    let visits = crate::common::scalar_in(
        &db,
        &format!(
            "SELECT COUNT(*) FROM visits WHERE client_id IN ({})",
            before
                .iter()
                .map(|(_, id)| id.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    )
    .await;
    assert_eq!(visits, before.len() as i64, "each registration's visit");
    assert!(
        !data.join(&erased_photo).exists(),
        "the erased face is gone"
    );
    let phone_left = crate::common::scalar_in(
        &db,
        &format!("SELECT COUNT(*) FROM clients WHERE phone = '{erased_phone}'"),
    )
    .await;
    assert_eq!(phone_left, 0);
}
