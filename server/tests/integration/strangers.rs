//! One stranger, one visitor: the camera program's key for an unknown face
//! keeps their passages in one visit, closes their own visit when they
//! leave, and lets the kiosk registration of that face take over the visit
//! it opened even when other strangers came in at the same time.

use crate::camera::{PNG, camera_app, camera_event, camera_get, now_ms, paired_camera};
use crate::common::*;
use crate::kiosk::{info, paired_kiosk, register, registration};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

const A: &str = "s-00000000000000aa";
const B: &str = "s-00000000000000bb";
const C: &str = "s-00000000000000cc";

async fn passage(
    app: &TestApp,
    camera: &str,
    kind: &str,
    key: Option<&str>,
    minutes_ago: i64,
) -> Value {
    let mut event = json!({"key": uuid::Uuid::new_v4().to_string(), "kind": kind,
        "occurred_at": now_ms() - minutes_ago * 60_000, "snapshot": PNG});
    if let Some(key) = key {
        event["stranger"] = json!(key);
    }
    let reply = camera_event(app, camera, &event).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

async fn visit_of(app: &TestApp, key: &str) -> (i64, Option<i64>, Option<i64>) {
    app::db_run!(app.state.db, |c| sqlx::query_as(
        "SELECT id, left_at, client_id FROM visits WHERE stranger_key = $1"
    )
    .bind(key)
    .fetch_one(c)
    .await)
    .unwrap()
}

#[tokio::test]
async fn a_stranger_is_one_visitor_and_registers_into_their_own_visit() {
    let app = camera_app().await;
    let entrance = paired_camera(&app, "entrance").await;
    let exit = paired_camera(&app, "exit").await;
    let (_, kiosk) = paired_kiosk(&app).await;

    // A comes in, steps out to the car without the exit camera seeing it, comes back.
    let first = passage(&app, &entrance, "enter", Some(A), 30).await;
    let again = passage(&app, &entrance, "enter", Some(A), 12).await;
    assert_eq!(first["visit_id"], again["visit_id"], "the same visitor");
    // B and C come in together.
    let b = passage(&app, &entrance, "enter", Some(B), 10).await;
    passage(&app, &entrance, "enter", Some(C), 10).await;
    assert_ne!(b["visit_id"], first["visit_id"]);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM visits").await, 3);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM notification_outbox WHERE kind = 'unknown_visitor'"
        )
        .await,
        3,
        "reception hears of each stranger once"
    );
    // B leaves: B's visit closes, not A's (the longest open).
    passage(&app, &exit, "exit", Some(B), 9).await;
    assert!(visit_of(&app, B).await.1.is_some());
    assert_eq!(visit_of(&app, A).await.1, None);
    // B fetches something from the car and is back four minutes later: the same visit again.
    let back = passage(&app, &entrance, "enter", Some(B), 5).await;
    assert_eq!(back["visit_id"], b["visit_id"]);
    assert_eq!(visit_of(&app, B).await.1, None);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM visits").await, 3);
    assert_eq!(
        scalar(&app, "SELECT CAST(SUM(visits) AS BIGINT) FROM stats_hourly").await,
        3,
        "the statistics count three visitors"
    );
    passage(&app, &exit, "exit", Some(B), 4).await;
    assert!(visit_of(&app, B).await.1.is_some());

    // C stands in front of the kiosk: the camera program knows the face as C.
    app.state.face_relay.next_frames(1, Duration::ZERO).await;
    let answer = async {
        let frames = app
            .send(
                Request::get("/api/vision/kiosk_frames")
                    .header(header::AUTHORIZATION, format!("Bearer {entrance}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .json();
        let id = frames[0]["id"].clone();
        let reply = app
            .send(
                Request::post("/api/vision/kiosk_answers")
                    .header(header::AUTHORIZATION, format!("Bearer {entrance}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(
                        json!({"id": id, "client_id": null, "stranger": C}).to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    };
    let frame = json!({ "frame": format!("data:image/png;base64,{PNG}") }).to_string();
    let ask = app.post_json("/rpc/kiosk_face", &frame, Some(&kiosk));
    let ((), asked) = tokio::join!(answer, ask);
    assert_eq!(asked.json(), json!("NotKnown"));
    // C registers: two unknown visits are open (A's and C's), and C's becomes theirs.
    let setup = info(&app, &kiosk).await;
    let mut form = registration(setup["submission"].as_str().unwrap(), "+998901234570");
    form["consent_version"] = setup["consent_version"].clone();
    let done = register(&app, &kiosk, &form).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let done = done.json();
    let (c_visit, _, c_client) = visit_of(&app, C).await;
    assert_eq!(done["visit_id"], c_visit);
    assert_eq!(c_client, done["client_id"].as_i64());
    assert_eq!(visit_of(&app, A).await.2, None, "A is still a stranger");
    // The camera program is told to forget C's anonymous face (now a client, who did
    // not agree to face recognition), not A's or B's.
    let gallery = camera_get(&app, &entrance, "/api/vision/gallery").await;
    assert_eq!(gallery.status, StatusCode::OK, "{}", gallery.body);
    assert_eq!(gallery.json()["forget_strangers"], json!([C]));
    // Erased, C stays on the list: nothing of their face outlives the erasure.
    app::privacy::ssr::erase_client(&app.state.db, &app.state.data_dir, 1, c_client.unwrap())
        .await
        .unwrap();
    let gallery = camera_get(&app, &entrance, "/api/vision/gallery").await;
    assert_eq!(gallery.json()["forget_strangers"], json!([C]));

    // A leaves unseen by key (the camera program restarted): the longest-open unknown visit.
    passage(&app, &exit, "exit", None, 1).await;
    assert!(visit_of(&app, A).await.1.is_some());

    // Keys have the camera program's shape and name nobody known.
    for (bad, extra) in [
        ("s-XYZ", json!({})),
        (A, json!({"client_id": 1, "similarity": 0.8})),
    ] {
        let mut event = json!({"key": uuid::Uuid::new_v4().to_string(), "kind": "enter",
            "occurred_at": now_ms(), "stranger": bad});
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let reply = camera_event(&app, &entrance, &event).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.json()["field"], "stranger");
    }
}

/// Out for lunch and back an hour later: two visits, one visitor; the
/// statistics say both (`GET /api/stats`, the roll-ups the triggers keep).
#[tokio::test]
async fn a_stranger_back_hours_later_is_a_second_visit_but_the_same_visitor() {
    let app = camera_app().await;
    let entrance = paired_camera(&app, "entrance").await;
    let exit = paired_camera(&app, "exit").await;
    let admin = app.admin().await;

    let morning = passage(&app, &entrance, "enter", Some(A), 100).await;
    passage(&app, &exit, "exit", Some(A), 90).await;
    // Seventy minutes after leaving: not back from the car, a new visit.
    let afternoon = passage(&app, &entrance, "enter", Some(A), 20).await;
    assert_ne!(morning["visit_id"], afternoon["visit_id"]);
    passage(&app, &entrance, "enter", Some(B), 10).await;
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM visits").await, 3);

    // One visitor for A, unless local midnight fell between A's two visits.
    let offset = scalar(
        &app,
        "SELECT CAST(utc_offset_minutes AS BIGINT) FROM branches ORDER BY id LIMIT 1",
    )
    .await;
    let now = now_ms() / 1000;
    let day = |minutes_ago: i64| app::infra::time::local_day(now - minutes_ago * 60, offset as i32);
    let expected = if day(100) == day(20) { 2 } else { 3 };
    let reply = app.get("/api/stats", Some(&admin)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stats = reply.json();
    assert_eq!(stats["totals"]["visits"], 3);
    assert_eq!(stats["totals"]["visitors"], expected);
    assert_eq!(stats["funnel"]["visitors"], expected);
}
