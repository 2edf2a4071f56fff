//! The camera program's API from the outside: pairing, the gallery, events
//! opening and closing visits once per key, bad input refused, "not this
//! person", biometrics off, closing time and snapshot retention.
//!
//! Longer than 400 lines on purpose: independent tests of one feature, each a
//! whole story from the outside; split further they would share nothing but helpers.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use leptos::server_fn::ServerFn;
use serde_json::{Value, json};

/// An 8×8 orange PNG.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4UaGBFTEMLQkAUtVaAV8W4QQAAAAASUVORK5CYII=";

/// An 8×8 blue PNG: someone else's face.
pub const OTHER_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR42mOQizqBFTEMLQkAGBlQAUe2mrMAAAAASUVORK5CYII=";

/// A fresh app with one branch (id 1) and nothing else.
pub async fn camera_app() -> TestApp {
    let app = app().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (1, 'Chilonzor', 'Toshkent', 0)",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app
}

/// Creates a camera at branch 1 and pairs it through the API; returns its token.
pub async fn paired_camera(app: &TestApp, role: &str) -> String {
    let (_, code) =
        app::settings::ssr::devices::create(&app.state.db, 1, 1, "camera", Some(role), "Door")
            .await
            .unwrap();
    let reply = app
        .post_json(
            "/api/vision/pair",
            &json!({ "code": code }).to_string(),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["camera_role"], role);
    assert_eq!(body["branch_id"], 1);
    // The code works once.
    let again = app
        .post_json(
            "/api/vision/pair",
            &json!({ "code": code }).to_string(),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
    body["token"].as_str().unwrap().to_string()
}

pub async fn camera_get(app: &TestApp, token: &str, path: &str) -> Reply {
    app.send(
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

pub async fn camera_event(app: &TestApp, token: &str, event: &Value) -> Reply {
    let body = event.to_string();
    app.send(
        Request::post("/api/vision/events")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// A client who opted in to face recognition, with a stored photo.
pub async fn enrolled_client(app: &TestApp, name: &str, phone: &str) -> i64 {
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap();
    let jpeg = app::infra::files::reencode_photo(&png).unwrap();
    let stored = app::infra::files::store(
        &app.state.data_dir,
        "photos",
        &format!("{phone}.jpg"),
        &jpeg,
    )
    .unwrap();
    let t = app::infra::now();
    app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "INSERT INTO clients (branch_id, full_name, phone, photo_path, biometric_opt_in, consent_at, visit_count, \
         last_visit_at, created_at, updated_at) VALUES (1, $1, $2, $3, TRUE, $4, 1, $5, $6, $7) RETURNING id",
    )
    .bind(name)
    .bind(phone)
    .bind(stored)
    .bind(t)
    .bind(t - 30 * 86_400)
    .bind(t)
    .bind(t)
    .fetch_one(c)
    .await)
    .unwrap()
}

pub fn now_ms() -> i64 {
    app::infra::now() * 1000
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn only_paired_cameras_use_the_vision_api() {
    let app = camera_app().await;
    let token = paired_camera(&app, "entrance").await;
    assert_eq!(
        camera_get(&app, &token, "/api/vision/gallery").await.status,
        StatusCode::OK
    );
    // No token, a forged one, a staff session, a kiosk's token: all refused.
    assert_eq!(
        app.get("/api/vision/gallery", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let forged = format!("kd_{}", "0".repeat(64));
    assert_eq!(
        camera_get(&app, &forged, "/api/vision/gallery")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let admin = app.admin().await;
    assert_eq!(
        app.get("/api/vision/gallery", Some(&admin)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (_, kiosk_code) =
        app::settings::ssr::devices::create(&app.state.db, 1, 1, "kiosk", None, "Tablet")
            .await
            .unwrap();
    let kiosk = app
        .post_json(
            "/api/vision/pair",
            &json!({ "code": kiosk_code }).to_string(),
            None,
        )
        .await;
    // A kiosk's code is no camera's.
    assert_eq!(kiosk.status, StatusCode::NOT_FOUND, "{}", kiosk.body);
    let malformed = app.post_json("/api/vision/pair", "{not json", None).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    // Revoked: refused on the next request.
    let id: i64 = scalar(&app, "SELECT MIN(id) FROM devices WHERE kind = 'camera'").await;
    app::settings::ssr::devices::revoke(&app.state.db, 1, id)
        .await
        .unwrap();
    assert_eq!(
        camera_get(&app, &token, "/api/vision/gallery").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_gallery_holds_only_opted_in_clients_and_follows_erasure() {
    let app = camera_app().await;
    let token = paired_camera(&app, "entrance").await;
    let enrolled = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;
    let refused = enrolled_client(&app, "Dilnoza Saidova", "+998901110002").await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE clients SET biometric_opt_in = FALSE WHERE id = $1"
    )
    .bind(refused)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let gallery = camera_get(&app, &token, "/api/vision/gallery").await.json();
    assert_eq!(gallery["biometrics_enabled"], true);
    let ids: Vec<i64> = gallery["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![enrolled]);
    let photo = camera_get(
        &app,
        &token,
        gallery["clients"][0]["photo"].as_str().unwrap(),
    )
    .await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(photo.headers[header::CACHE_CONTROL], "private, no-store");
    assert_eq!(
        camera_get(
            &app,
            &token,
            &format!("/api/vision/clients/{refused}/photo")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Erased: gone from the gallery and its photo with it.
    app::privacy::ssr::erase_client(&app.state.db, &app.state.data_dir, 1, enrolled)
        .await
        .unwrap();
    let gallery = camera_get(&app, &token, "/api/vision/gallery").await.json();
    assert_eq!(gallery["clients"], json!([]));
    assert_eq!(
        camera_get(
            &app,
            &token,
            &format!("/api/vision/clients/{enrolled}/photo")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn entrance_and_exit_open_and_close_one_visit_per_passage() {
    let app = camera_app().await;
    let entrance = paired_camera(&app, "entrance").await;
    let exit = paired_camera(&app, "exit").await;
    let client = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;
    let entered = now_ms() - 30 * 60_000;
    let enter = json!({"key": key(), "kind": "enter", "occurred_at": entered,
        "client_id": client, "similarity": 0.74, "track": "entrance-7", "snapshot": PNG});
    let first = camera_event(&app, &entrance, &enter).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let first = first.json();
    assert_eq!(first["duplicate"], false);
    // The same key again (a replayed queue): the same answer, nothing new.
    let replay = camera_event(&app, &entrance, &enter).await.json();
    assert_eq!(replay["duplicate"], true);
    assert_eq!(replay["event_id"], first["event_id"]);
    assert_eq!(replay["visit_id"], first["visit_id"]);
    let visit = first["visit_id"].as_i64().unwrap();
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM camera_events").await, 1);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM visits").await, 1);
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT visit_count FROM clients WHERE id = {client}")
        )
        .await,
        2
    );
    // Seen again at the entrance while inside: the same visit.
    let again = camera_event(
        &app,
        &entrance,
        &json!({"key": key(), "kind": "enter", "occurred_at": entered + 60_000, "client_id": client, "similarity": 0.7}),
    )
    .await
    .json();
    assert_eq!(again["visit_id"], visit);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM visits").await, 1);
    // The exit camera closes it with the time spent.
    let left = camera_event(
        &app,
        &exit,
        &json!({"key": key(), "kind": "exit", "occurred_at": entered + 30 * 60_000, "client_id": client, "similarity": 0.69}),
    )
    .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    let (entered_at, left_at, ended_by): (i64, i64, String) = app::db_run!(app.state.db, |c| {
        sqlx::query_as("SELECT entered_at, left_at, ended_by FROM visits WHERE id = $1")
            .bind(visit)
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert_eq!(left_at - entered_at, 1800);
    assert_eq!(ended_by, "exit_camera");
    let kinds: Vec<String> = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT kind FROM notification_outbox ORDER BY id"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(kinds, vec!["returning_client", "client_left"]);

    // A stranger: an unknown visitor's visit, with the snapshot kept for reception.
    let stranger = camera_event(
        &app,
        &entrance,
        &json!({"key": key(), "kind": "enter", "occurred_at": now_ms() - 5_000, "client_id": null, "snapshot": PNG}),
    )
    .await
    .json();
    let unknown_visit = stranger["visit_id"].as_i64().unwrap();
    let (client_of_visit, started_by): (Option<i64>, String) = app::db_run!(app.state.db, |c| {
        sqlx::query_as("SELECT client_id, started_by FROM visits WHERE id = $1")
            .bind(unknown_visit)
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert_eq!((client_of_visit, started_by.as_str()), (None, "camera"));
    let payload: String = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT payload FROM notification_outbox WHERE kind = 'unknown_visitor'",
    )
    .fetch_one(c)
    .await)
    .unwrap();
    let snapshot = serde_json::from_str::<Value>(&payload).unwrap()["snapshot"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(app.state.data_dir.join(&snapshot).is_file(), "{snapshot}");
    // Leaving unrecognised closes the oldest unknown camera visit.
    let gone = camera_event(
        &app,
        &exit,
        &json!({"key": key(), "kind": "exit", "occurred_at": now_ms(), "client_id": null}),
    )
    .await
    .json();
    assert_eq!(gone["visit_id"], unknown_visit);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM visits WHERE left_at IS NULL").await,
        0
    );
}

#[tokio::test]
async fn bad_events_are_refused_with_a_reason_and_store_nothing() {
    let app = camera_app().await;
    let token = paired_camera(&app, "entrance").await;
    let client = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;
    let not_opted: i64 = enrolled_client(&app, "Dilnoza Saidova", "+998901110002").await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE clients SET biometric_opt_in = FALSE WHERE id = $1"
    )
    .bind(not_opted)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let good = json!({"key": key(), "kind": "enter", "occurred_at": now_ms(), "client_id": client, "similarity": 0.8});
    let with = |field: &str, value: Value| {
        let mut event = good.clone();
        event[field] = value;
        event
    };
    let cases = [
        (with("kind", json!("dance")), "kind"),
        (with("key", json!("x")), "key"),
        (with("key", json!("../../etc/passwd")), "key"),
        (
            with("occurred_at", json!(now_ms() + 3_600_000)),
            "occurred_at",
        ),
        (
            with("occurred_at", json!(now_ms() - 30 * 86_400_000)),
            "occurred_at",
        ),
        (with("similarity", json!(1.7)), "similarity"),
        (with("client_id", json!(999_999)), "client_id"),
        (with("client_id", json!(not_opted)), "client_id"),
        (with("snapshot", json!("%%%")), "snapshot"),
        (
            with("snapshot", json!("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==")),
            "snapshot",
        ),
        (with("track", json!("t".repeat(65))), "track"),
        (with("surprise", json!(1)), "request"),
        (with("occurred_at", json!("yesterday")), "request"),
    ];
    for (event, field) in &cases {
        let reply = camera_event(&app, &token, event).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{event}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], *field, "{event}");
    }
    let raw = app
        .send(
            Request::post("/api/vision/events")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM camera_events").await, 0);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM visits").await, 0);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM notification_outbox").await,
        0
    );
    let snapshots = app.state.data_dir.join("snapshots");
    assert!(
        !snapshots.exists() || std::fs::read_dir(&snapshots).unwrap().next().is_none(),
        "a refused event left a file behind"
    );
    // The good one still goes through.
    assert_eq!(
        camera_event(&app, &token, &good).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn not_this_person_moves_the_visit_to_an_unknown_visitor() {
    let app = camera_app().await;
    let token = paired_camera(&app, "entrance").await;
    let client = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;
    let event = camera_event(
        &app,
        &token,
        &json!({"key": key(), "kind": "enter", "occurred_at": now_ms(), "client_id": client, "similarity": 0.58, "snapshot": PNG}),
    )
    .await
    .json();
    let (event_id, visit) = (
        event["event_id"].as_i64().unwrap(),
        event["visit_id"].as_i64().unwrap(),
    );
    let admin = app.admin().await;
    // The card shows the match with its similarity.
    let card = app
        .post_form(
            app::clients::card::LoadClientCard::PATH,
            &format!("id={client}"),
            Some(&admin),
        )
        .await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.body);
    assert_eq!(
        card.json()["visits"][0]["camera_match"],
        json!([event_id, 0.58])
    );
    // Another client's event id is refused.
    let wrong = app
        .post_form(
            app::clients::card::RejectCameraMatch::PATH,
            &format!("client_id={client}&event_id={}", event_id + 100),
            Some(&admin),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND, "{}", wrong.body);
    let reply = app
        .post_form(
            app::clients::card::RejectCameraMatch::PATH,
            &format!("client_id={client}&event_id={event_id}"),
            Some(&admin),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let owner: Option<i64> = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT client_id FROM visits WHERE id = $1"
    )
    .bind(visit)
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(owner, None);
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT visit_count FROM clients WHERE id = {client}")
        )
        .await,
        0
    );
    // The face is now a negative example in the gallery.
    let gallery = camera_get(&app, &token, "/api/vision/gallery").await.json();
    let rejected = gallery["clients"][0]["rejected"][0]
        .as_str()
        .unwrap()
        .to_string();
    let face = camera_get(&app, &token, &rejected).await;
    assert_eq!(face.status, StatusCode::OK);
    assert_eq!(face.headers[header::CONTENT_TYPE], "image/jpeg");
    // Rejecting twice finds nothing to reject.
    let twice = app
        .post_form(
            app::clients::card::RejectCameraMatch::PATH,
            &format!("client_id={client}&event_id={event_id}"),
            Some(&admin),
        )
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn biometrics_off_at_a_branch_identifies_nobody() {
    let app = camera_app().await;
    let token = paired_camera(&app, "entrance").await;
    let client = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;
    let admin = app.admin().await;
    let reply = app
        .post_form(
            app::settings::SetBranchBiometrics::PATH,
            "id=1&enabled=false",
            Some(&admin),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let gallery = camera_get(&app, &token, "/api/vision/gallery").await.json();
    assert_eq!(
        gallery,
        json!({"biometrics_enabled": false, "clients": [], "staff": [], "forget_strangers": []})
    );
    let event = camera_event(
        &app,
        &token,
        &json!({"key": key(), "kind": "enter", "occurred_at": now_ms(), "client_id": client, "similarity": 0.9, "snapshot": PNG}),
    )
    .await;
    assert_eq!(event.status, StatusCode::OK, "{}", event.body);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM camera_events WHERE client_id IS NULL AND snapshot_path IS NULL"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM visits WHERE client_id IS NULL").await,
        1
    );
}

#[tokio::test]
async fn closing_time_closes_open_visits_once_and_old_snapshots_go() {
    let app = camera_app().await;
    let token = paired_camera(&app, "entrance").await;
    let client = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;
    // Closing time was midnight local time: every earlier open visit closes.
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE branches SET opens_at = '00:00', closes_at = '00:01' WHERE id = 1"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let t = app::infra::now();
    let local_midnight = (t + 300 * 60).div_euclid(86_400) * 86_400 - 300 * 60;
    for (who, when) in [
        (Some(client), local_midnight - 3_600),
        (None, local_midnight - 600),
    ] {
        app::db_run!(app.state.db, |c| sqlx::query(
            "INSERT INTO visits (visit_token, client_id, branch_id, entered_at, started_by, created_at) \
             VALUES ($1, $2, 1, $3, 'camera', $4)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(who)
        .bind(when)
        .bind(when)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
    let done = app::notify::ssr::closing::run_due(&app.state.db, t)
        .await
        .unwrap();
    if t - local_midnight < 60 {
        // The first minute of the day: not yet closing time here.
        return;
    }
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1.auto_closed, 2);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM visits WHERE ended_by = 'auto_close'"
        )
        .await,
        2
    );
    // No "client left" for visits nobody saw end.
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM notification_outbox WHERE kind = 'client_left'"
        )
        .await,
        0
    );
    // Once per day, however often the job runs.
    assert!(
        app::notify::ssr::closing::run_due(&app.state.db, t + 60)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM notification_outbox WHERE kind = 'daily_summary'"
        )
        .await,
        1
    );

    // Retention: an unknown visitor's snapshot older than the period goes.
    let admin = app.admin().await;
    let bad = app
        .post_form(
            app::settings::devices::SaveSnapshotRetention::PATH,
            "days=0",
            Some(&admin),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let ok = app
        .post_form(
            app::settings::devices::SaveSnapshotRetention::PATH,
            "days=3",
            Some(&admin),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    for days_ago in [5, 1] {
        camera_event(
            &app,
            &token,
            &json!({"key": key(), "kind": "enter", "occurred_at": now_ms() - days_ago * 86_400_000, "client_id": null, "snapshot": PNG}),
        )
        .await;
    }
    let paths: Vec<String> = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT snapshot_path FROM camera_events WHERE snapshot_path IS NOT NULL ORDER BY occurred_at",
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(paths.len(), 2);
    let purged = app::camera::ssr::purge_snapshots(&app.state.db, &app.state.data_dir)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert!(!app.state.data_dir.join(&paths[0]).exists());
    assert!(app.state.data_dir.join(&paths[1]).exists());
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// A client who was recognised at the entrance, matched wrongly once
/// (corrected by staff), and announced on Telegram is erased: nothing in the
/// data directory (database, its log, photos, snapshots, faces) still holds
/// their name, their phone or any image of them.
#[tokio::test]
async fn erasure_leaves_no_trace_of_a_recognised_corrected_notified_client() {
    let app = camera_app().await;
    let token = paired_camera(&app, "entrance").await;
    let name = "Zebiniso Erasetestova";
    let phone_digits = "935550123";
    let client = enrolled_client(&app, name, &format!("+998{phone_digits}")).await;
    let admin = app.admin().await;
    // Recognised, and the visit announced.
    let seen = camera_event(
        &app,
        &token,
        &json!({"key": key(), "kind": "enter", "occurred_at": now_ms() - 60_000, "client_id": client, "similarity": 0.81, "snapshot": PNG}),
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let exit = paired_camera(&app, "exit").await;
    let left = camera_event(
        &app,
        &exit,
        &json!({"key": key(), "kind": "exit", "occurred_at": now_ms() - 30_000, "client_id": client, "similarity": 0.8}),
    )
    .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    // Another visitor is taken for them once, and staff correct it.
    let wrong = camera_event(
        &app,
        &token,
        &json!({"key": key(), "kind": "enter", "occurred_at": now_ms(), "client_id": client, "similarity": 0.55, "snapshot": OTHER_PNG}),
    )
    .await
    .json();
    let corrected = app
        .post_form(
            app::clients::card::RejectCameraMatch::PATH,
            &format!("client_id={client}&event_id={}", wrong["event_id"]),
            Some(&admin),
        )
        .await;
    assert_eq!(corrected.status, StatusCode::OK, "{}", corrected.body);

    // Before: their traces are there, so the search below can find them.
    let data_dir = app.state.data_dir.as_path();
    let images: Vec<String> = files_under(data_dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .map(|p| sha256(&std::fs::read(p).unwrap()))
        .collect();
    assert!(
        images.len() >= 3,
        "photo, snapshots and rejected face: {images:?}"
    );
    let told = format!("SELECT COUNT(*) FROM notification_outbox WHERE client_id = {client}");
    assert!(
        scalar(&app, &told).await >= 1,
        "the visit was not announced"
    );

    let erased = app
        .post_form(
            app::clients::card::EraseClient::PATH,
            &format!("id={client}&confirm=on"),
            Some(&admin),
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);

    for path in files_under(data_dir) {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(name), "{} holds the name", path.display());
        assert!(
            !text.contains(phone_digits),
            "{} holds the phone",
            path.display()
        );
        assert!(
            !images.contains(&sha256(&bytes)),
            "{} is an image of them",
            path.display()
        );
    }
    assert_eq!(
        scalar(&app, &told).await,
        0,
        "texts about them are still queued"
    );
    let gallery = camera_get(&app, &token, "/api/vision/gallery").await.json();
    assert_eq!(gallery["clients"], json!([]));
}

/// A camera tells only what it can see: an entrance camera sends entries,
/// an exit camera exits, and only of visits at its own branch.
#[tokio::test]
async fn cameras_report_only_their_own_door_and_branch() {
    let app = camera_app().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (2, 'Yunusobod', 'Toshkent', 0)",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let entrance = paired_camera(&app, "entrance").await;
    let exit = paired_camera(&app, "exit").await;
    let client = enrolled_client(&app, "Aziz Karimov", "+998901110002").await;
    let enter = json!({"key": key(), "kind": "enter", "occurred_at": now_ms() - 60_000, "client_id": client, "similarity": 0.8});
    // An exit camera cannot open a visit, an entrance camera cannot close one.
    let refused = camera_event(&app, &exit, &enter).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.json()["field"], "kind");
    let visit = camera_event(&app, &entrance, &enter).await.json()["visit_id"]
        .as_i64()
        .unwrap();
    let leave = |key: String| json!({"key": key, "kind": "exit", "occurred_at": now_ms(), "client_id": client, "similarity": 0.8});
    let refused = camera_event(&app, &entrance, &leave(key())).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);

    // The exit camera of another branch does not end this visit.
    let (_, code) =
        app::settings::ssr::devices::create(&app.state.db, 1, 2, "camera", Some("exit"), "Door 2")
            .await
            .unwrap();
    let elsewhere = app
        .post_json(
            "/api/vision/pair",
            &json!({ "code": code }).to_string(),
            None,
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let seen = camera_event(&app, &elsewhere, &leave(key())).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert_eq!(seen.json()["visit_id"], Value::Null);
    let open = format!("SELECT COUNT(*) FROM visits WHERE id = {visit} AND left_at IS NULL");
    assert_eq!(scalar(&app, &open).await, 1);
    // Its own branch's exit camera does.
    let left = camera_event(&app, &exit, &leave(key())).await;
    assert_eq!(left.json()["visit_id"], visit);
    assert_eq!(scalar(&app, &open).await, 0);
}

/// Pairing codes are short: an address that keeps trying wrong ones is
/// slowed down (and wrong codes never take the write lock); others are not.
#[tokio::test]
async fn pairing_codes_cannot_be_guessed() {
    let app = camera_app().await;
    let guesser = [203, 0, 113, 50];
    let mut statuses = Vec::new();
    for n in 0..12 {
        let body = json!({ "code": format!("ABCD{n:04}") }).to_string();
        statuses.push(
            app.post_json_from(guesser, "/api/vision/pair", &body)
                .await
                .status,
        );
    }
    assert!(
        statuses[..10].iter().all(|s| *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    assert!(
        statuses[10..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let elsewhere = app
        .post_json_from(
            [192, 168, 1, 30],
            "/api/vision/pair",
            &json!({ "code": "ABCD0000" }).to_string(),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
}
