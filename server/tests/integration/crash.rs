//! Crash safety: the real `server` binary is killed (SIGKILL) in the middle
//! of a burst of camera events and kiosk registrations, then started again on
//! the same data. Every event and registration that got a success answer is
//! stored exactly once with its visit, nothing is half-written (no visit
//! without its event, no photo without its client), and a camera or kiosk
//! replaying its queue gets the first answers back instead of new visits.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) const PASSWORD: &str = "crash-admin-pass";

/// One HTTP/1.1 request over a fresh connection: (status, head, body);
/// `None` when the server is gone (refused, reset or cut off mid-answer).
/// `headers` are extra header lines, each ending in CRLF.
pub(crate) async fn exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Option<(u16, String, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{headers}\
         Accept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    Some((status, head.to_string(), body.to_string()))
}

/// A request with an optional device token: (status, body).
async fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Option<(u16, String)> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let (status, _, body) = exchange(port, method, path, &auth, body).await?;
    Some((status, body))
}

/// A kiosk at branch 1, paired over HTTP; returns the `Cookie:` header line
/// that carries its token.
pub(crate) async fn paired_kiosk(db: &app::infra::Db, port: u16) -> String {
    let (_, code) = app::settings::ssr::devices::create(db, 1, 1, "kiosk", None, "Tablet")
        .await
        .unwrap();
    let (status, head, body) = exchange(
        port,
        "POST",
        "/rpc/pair_kiosk",
        "",
        &json!({ "code": code }).to_string(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    head.lines()
        .filter_map(|line| line.strip_prefix("set-cookie: "))
        .find(|cookie| cookie.starts_with("avtosalon_kiosk="))
        .and_then(|cookie| cookie.split(';').next())
        .map(|cookie| format!("Cookie: {cookie}\r\n"))
        .expect("a kiosk cookie")
}

/// An 8×8 orange PNG, as the tablet camera's data URL.
const PHOTO: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4UaGBFTEMLQkAUtVaAV8W4QQAAAAASUVORK5CYII=";

/// A kiosk's registration of a new visitor with consent and photo.
pub(crate) fn registration(submission: &str, phone: &str, consent_version: i64) -> String {
    json!({"form": {
        "submission": submission, "full_name": "Dilnoza Rahimova", "phone": phone,
        "birth_year": "1992", "gender": "female", "source": "instagram", "car": "",
        "services": ["consultation", "test_drive"], "consent": true,
        "consent_version": consent_version, "language": "uz", "biometric": false, "photo": PHOTO,
    }})
    .to_string()
}

pub(crate) fn start(data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--admin-password", PASSWORD, "--no-demo-data"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts")
}

pub(crate) async fn healthy(port: u16) {
    for _ in 0..600 {
        if let Some((200, _)) = http(port, "GET", "/healthz", None, "").await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not answer /healthz within 60 s");
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_keeps_every_answered_event_and_registration_exactly_once() {
    let _limit = crate::common::time_limit();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = start(&data, port);
    healthy(port).await;
    // A branch and an entrance camera, made beside the running server.
    let url = format!("sqlite://{}", data.join("avtosalon.db").display());
    let db = app::infra::Db::open(&url).await.unwrap();
    app::db_run!(db, |c| sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (1, 'Chilonzor', 'Toshkent', 0)",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let (_, code) =
        app::settings::ssr::devices::create(&db, 1, 1, "camera", Some("entrance"), "Door")
            .await
            .unwrap();
    let (status, body) = http(
        port,
        "POST",
        "/api/vision/pair",
        None,
        &json!({ "code": code }).to_string(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let token: String = serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .into();

    let kiosk = paired_kiosk(&db, port).await;
    let (_, _, setup) = exchange(port, "POST", "/rpc/kiosk_info", &kiosk, "{}")
        .await
        .unwrap();
    let consent_version = serde_json::from_str::<Value>(&setup).unwrap()["consent_version"]
        .as_i64()
        .unwrap();

    // Four kiosk senders register new visitors (photo, consent, services)
    // while the cameras send; each remembers what it was answered.
    // (submission, phone, client id, visit id) of each answered registration.
    type Registered = Vec<(String, String, i64, i64)>;
    let registered: Arc<Mutex<Registered>> = Arc::default();
    let kiosks: Vec<_> = (0..4)
        .map(|sender| {
            let (registered, kiosk) = (registered.clone(), kiosk.clone());
            tokio::spawn(async move {
                for n in 0..100 {
                    let submission = uuid::Uuid::new_v4().to_string();
                    let phone = format!("+99890{:07}", sender * 1000 + n);
                    let form = registration(&submission, &phone, consent_version);
                    match exchange(port, "POST", "/rpc/kiosk_register", &kiosk, &form).await {
                        Some((200, _, body)) => {
                            let body: Value = serde_json::from_str(&body).unwrap();
                            let ids = (
                                body["client_id"].as_i64().unwrap(),
                                body["visit_id"].as_i64().unwrap(),
                            );
                            registered
                                .lock()
                                .unwrap()
                                .push((submission, phone, ids.0, ids.1));
                        }
                        Some((status, _, body)) => panic!("{status}: {body}"),
                        None => return,
                    }
                }
            })
        })
        .collect();

    // A burst from 16 senders; the server is killed once 40 events and 10
    // registrations have been answered.
    let answered: Arc<Mutex<Vec<(String, i64, i64)>>> = Arc::default();
    let now_ms = app::infra::now() * 1000;
    let senders: Vec<_> = (0..16)
        .map(|sender| {
            let (answered, token) = (answered.clone(), token.clone());
            tokio::spawn(async move {
                for n in 0..40 {
                    let key = uuid::Uuid::new_v4().to_string();
                    let event = json!({"key": key, "kind": "enter", "occurred_at": now_ms - (sender * 40 + n) * 10});
                    match http(port, "POST", "/api/vision/events", Some(&token), &event.to_string()).await {
                        Some((200, body)) => {
                            let body: Value = serde_json::from_str(&body).unwrap();
                            let ids = (body["event_id"].as_i64().unwrap(), body["visit_id"].as_i64().unwrap());
                            answered.lock().unwrap().push((key, ids.0, ids.1));
                        }
                        Some((status, body)) => panic!("{status}: {body}"),
                        None => return,
                    }
                }
            })
        })
        .collect();
    while answered.lock().unwrap().len() < 40 || registered.lock().unwrap().len() < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    for sender in senders.into_iter().chain(kiosks) {
        sender.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let registered = registered.lock().unwrap().clone();
    assert!(answered.len() >= 40 && registered.len() >= 10);
    assert!(answered.len() < 640, "the kill came after the burst");
    assert!(
        registered.len() < 400,
        "the kill came after the registrations"
    );
    eprintln!(
        "crash: {} events and {} registrations answered before SIGKILL",
        answered.len(),
        registered.len()
    );

    // What a kill between writing a photo and committing its row leaves (the
    // burst may or may not have hit that moment): a photo and a half-written
    // file nobody refers to. Start-up removes both.
    std::fs::write(data.join("photos/left-behind.jpg"), b"a face").unwrap();
    std::fs::write(data.join("photos/.half.jpg.part"), b"a fa").unwrap();

    let mut server = start(&data, port);
    healthy(port).await;
    assert!(!data.join("photos/left-behind.jpg").exists());
    assert!(!data.join("photos/.half.jpg.part").exists());
    for (key, event_id, visit_id) in &answered {
        let (events, visits): (i64, i64) = app::db_run!(db, |c| sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM camera_events WHERE event_key = $1 AND id = $2 AND visit_id = $3), \
                    (SELECT COUNT(*) FROM visits WHERE id = $4)",
        )
        .bind(key)
        .bind(event_id)
        .bind(visit_id)
        .bind(visit_id)
        .fetch_one(c)
        .await)
        .unwrap();
        assert_eq!(
            (events, visits),
            (1, 1),
            "answered event {key} is not stored once with its visit"
        );
    }
    for (submission, phone, client_id, visit_id) in &registered {
        let (clients, visits, photo): (i64, i64, Option<String>) =
            app::db_run!(db, |c| sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM clients WHERE phone = $1), \
                    (SELECT COUNT(*) FROM visits WHERE id = $2 AND client_id = $3), \
                    (SELECT photo_path FROM clients WHERE id = $4 AND phone = $5)",
            )
            .bind(phone)
            .bind(visit_id)
            .bind(client_id)
            .bind(client_id)
            .bind(phone)
            .fetch_one(c)
            .await)
            .unwrap();
        assert_eq!(
            (clients, visits),
            (1, 1),
            "answered registration {submission} is not stored once with its visit"
        );
        let photo = photo.expect("the registered client keeps the photo");
        assert!(data.join(&photo).is_file(), "{photo} is not on disk");
    }
    // Every photo on disk belongs to a client: a photo written just before
    // the kill, whose registration never committed, is gone after restart.
    let photos: std::collections::HashSet<String> = app::db_run!(db, |c| sqlx::query_scalar(
        "SELECT photo_path FROM clients WHERE photo_path IS NOT NULL"
    )
    .fetch_all(c)
    .await)
    .unwrap()
    .into_iter()
    .collect();
    for file in std::fs::read_dir(data.join("photos")).unwrap() {
        let name = format!("photos/{}", file.unwrap().file_name().to_string_lossy());
        assert!(photos.contains(&name), "{name} belongs to nobody");
    }
    // Nothing half-written: every event has its visit and every camera visit its event.
    let orphans: (i64, i64) = app::db_run!(db, |c| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM camera_events e WHERE e.visit_id IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.id = e.visit_id)), \
                (SELECT COUNT(*) FROM visits v WHERE v.started_by = 'camera' \
                 AND NOT EXISTS (SELECT 1 FROM camera_events e WHERE e.visit_id = v.id))",
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(
        orphans,
        (0, 0),
        "events without visits, camera visits without events"
    );
    // The camera replays its queue: the first answers come back, nothing new.
    let visits_before = crate::common::scalar_in(&db, "SELECT COUNT(*) FROM visits").await;
    for (key, event_id, visit_id) in answered.iter().take(10) {
        let event = json!({"key": key, "kind": "enter", "occurred_at": now_ms});
        let (status, body) = http(
            port,
            "POST",
            "/api/vision/events",
            Some(&token),
            &event.to_string(),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (body["event_id"].as_i64(), body["visit_id"].as_i64()),
            (Some(*event_id), Some(*visit_id))
        );
        assert_eq!(body["duplicate"], true);
    }
    // The kiosk resends answered registrations: the first answers come back.
    for (submission, phone, client_id, visit_id) in registered.iter().take(5) {
        let form = registration(submission, phone, consent_version);
        let (status, _, body) = exchange(port, "POST", "/rpc/kiosk_register", &kiosk, &form)
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (body["client_id"].as_i64(), body["visit_id"].as_i64()),
            (Some(*client_id), Some(*visit_id))
        );
    }
    assert_eq!(
        crate::common::scalar_in(&db, "SELECT COUNT(*) FROM visits").await,
        visits_before
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
