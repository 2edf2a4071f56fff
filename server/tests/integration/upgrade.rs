//! An upgrade as a showroom does it: the new `server` binary started on the
//! database an earlier release left (`tests/fixtures`, see its README). The
//! migrations since then run at start, nothing is lost, the old password
//! still signs in, every page and the model work, and a kiosk registers.

use crate::crash::{exchange, free_port, healthy, paired_kiosk, registration, start};
use sqlx::Row;
use std::io::Read;

/// Clients, visits and sales, read without migrating anything.
async fn counts(database: &std::path::Path) -> (i64, i64, i64, i64) {
    let url = format!("sqlite://{}?mode=ro", database.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM visits), \
         (SELECT count(*) FROM sales), (SELECT count(*) FROM _sqlx_migrations)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_binary_starts_on_the_last_release_database_and_keeps_everything() {
    let _limit = crate::common::time_limit();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    app::infra::files::private_dir(&data).unwrap();
    let database = data.join("avtosalon.db");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/release-2026-11-30.db.gz"
    );
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::write(&database, bytes).unwrap();
    let (clients, visits, sales, old_migrations) = counts(&database).await;
    assert_eq!((clients, visits, sales), (400, 4282, 35), "the fixture");
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count() as i64;
    assert!(
        old_migrations < shipped,
        "the fixture predates the newest migrations"
    );

    let port = free_port();
    let mut server = start(&data, port);
    healthy(port).await;
    let (status, _, health) = exchange(port, "GET", "/healthz", "", "").await.unwrap();
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));

    // The admin's password from before the upgrade.
    let (status, head, body) = exchange(
        port,
        "POST",
        "/api/login",
        "",
        r#"{"login":"admin","password":"upgrade-pass"}"#,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let session = head
        .lines()
        .filter_map(|line| line.strip_prefix("set-cookie: "))
        .find(|c| c.starts_with("avtosalon_session="))
        .and_then(|c| c.split(';').next())
        .map(|c| format!("Cookie: {c}\r\n"))
        .expect("a session cookie");
    let get = |path: &'static str| {
        let session = session.clone();
        async move {
            let (status, _, body) = exchange(port, "GET", path, &session, "").await.unwrap();
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let page: serde_json::Value =
        serde_json::from_str(&get("/api/clients?sort=name&page_size=1").await).unwrap();
    assert_eq!(page["total"], 400);
    let name = page["items"][0]["full_name"].as_str().unwrap().to_string();
    let id = page["items"][0]["id"].as_i64().unwrap();
    for path in ["/", "/clients", "/stats", "/potential", "/settings"] {
        get(path).await;
    }
    let card_path = format!("/clients/{id}");
    let (status, _, card) = exchange(port, "GET", &card_path, &session, "")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(card.contains(&name), "the card shows {name}");
    // The purchase model trains on the upgraded data.
    let (status, _, trained) = exchange(port, "POST", "/api/retrain_model", &session, "")
        .await
        .unwrap();
    assert_eq!(status, 200, "{trained}");

    // A kiosk registers a visitor on the upgraded database (the new sale and
    // lead tables included).
    let db = app::infra::Db::open(&format!("sqlite://{}", database.display()))
        .await
        .unwrap();
    let kiosk = paired_kiosk(&db, port).await;
    let (_, _, info) = exchange(port, "POST", "/rpc/kiosk_info", &kiosk, "{}")
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let form = registration(
        info["submission"].as_str().unwrap(),
        "+998971234567",
        info["consent_version"].as_i64().unwrap(),
    );
    let (status, _, body) = exchange(port, "POST", "/rpc/kiosk_register", &kiosk, &form)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    db.close().await;

    server.kill().unwrap();
    server.wait().unwrap();
    let (clients_after, visits_after, sales_after, migrations) = counts(&database).await;
    assert_eq!(migrations, shipped, "every migration applied");
    assert_eq!(clients_after, clients + 1);
    assert_eq!(visits_after, visits + 1);
    assert_eq!(sales_after, sales);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", database.display()))
        .await
        .unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");

    // And it starts again on what it upgraded.
    let mut again = start(&data, port);
    healthy(port).await;
    again.kill().unwrap();
    again.wait().unwrap();
}
