//! Faces at the kiosk, through the server: the tablet's frame reaches the
//! branch's camera program (played here by HTTP calls with a camera token),
//! its answer comes back as a first name and a one-time token, and "yes, that
//! is me" checks the client in. Nobody is named who did not opt in; without a
//! camera program, or with face recognition off, the kiosk is told so.

use crate::camera::{PNG, camera_app, enrolled_client, paired_camera};
use crate::common::*;
use crate::kiosk::{info, paired_kiosk};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

fn frame() -> String {
    format!("data:image/png;base64,{PNG}")
}

async fn kiosk_face(app: &TestApp, kiosk: &str) -> Reply {
    app.post_json(
        "/rpc/kiosk_face",
        &json!({ "frame": frame() }).to_string(),
        Some(kiosk),
    )
    .await
}

/// The camera program's side: takes the waiting frames (a long poll) and
/// answers each with `client`. Returns how many it answered.
async fn camera_answers(app: &TestApp, token: &str, client: Option<i64>) -> usize {
    let frames = app
        .send(
            Request::get("/api/vision/kiosk_frames")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(frames.status, StatusCode::OK, "{}", frames.body);
    let frames = frames.json();
    for f in frames.as_array().unwrap() {
        assert!(f["jpeg"].as_str().unwrap().starts_with("/9j/"), "a JPEG");
        let body = json!({ "id": f["id"], "client_id": client, "similarity": 0.8 }).to_string();
        let reply = app
            .send(
                Request::post("/api/vision/kiosk_answers")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }
    frames.as_array().unwrap().len()
}

/// A kiosk frame answered by the camera program with `client`.
async fn recognised_as(app: &TestApp, kiosk: &str, camera: &str, client: Option<i64>) -> Value {
    let (answered, reply) =
        tokio::join!(camera_answers(app, camera, client), kiosk_face(app, kiosk));
    assert_eq!(answered, 1);
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

#[tokio::test]
async fn a_returning_client_is_greeted_by_face_and_checks_in_with_one_tap() {
    let app = camera_app().await;
    let (_, kiosk) = paired_kiosk(&app).await;
    let camera = paired_camera(&app, "entrance").await;
    let aziz = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;

    // No camera program has asked for frames: the kiosk hears "unavailable".
    assert_eq!(kiosk_face(&app, &kiosk).await.json(), json!("Unavailable"));

    // The camera program is polling: the frame reaches it and Aziz comes back.
    app.state.face_relay.next_frames(1, Duration::ZERO).await;
    let answer = recognised_as(&app, &kiosk, &camera, Some(aziz)).await;
    let known = &answer["Known"];
    assert_eq!(known["first_name"], "Aziz", "{answer}");
    assert_eq!(known["consent_current"], false);
    let token = known["recognition"].as_str().unwrap().to_string();
    assert!(!answer.to_string().contains("Karimov"), "a first name only");

    // "Yes, check me in" (agreeing to the current consent text on the way).
    let setup = info(&app, &kiosk).await;
    let check_in = json!({
        "submission": setup["submission"], "phone": "", "services": ["test_drive"],
        "consent_version": setup["consent_version"], "language": "uz", "recognition": token,
    });
    let done = app
        .post_json("/rpc/kiosk_check_in", &check_in.to_string(), Some(&kiosk))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["client_id"], aziz);
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) FROM visits WHERE client_id = {aziz} AND left_at IS NULL")
        )
        .await,
        1
    );
    // The token works once.
    let mut again = check_in.clone();
    again["submission"] = json!(uuid::Uuid::new_v4().to_string());
    let replay = app
        .post_json("/rpc/kiosk_check_in", &again.to_string(), Some(&kiosk))
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.body.contains("recognition"), "{}", replay.body);

    // Nobody known, and a client who did not opt in is never named even if
    // the camera program names them.
    assert_eq!(
        recognised_as(&app, &kiosk, &camera, None).await,
        json!("NotKnown")
    );
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE clients SET biometric_opt_in = FALSE WHERE id = $1"
    )
    .bind(aziz)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    assert_eq!(
        recognised_as(&app, &kiosk, &camera, Some(aziz)).await,
        json!("NotKnown")
    );

    // Not an image: refused with the field named, nothing relayed.
    let bad = app
        .post_json(
            "/rpc/kiosk_face",
            &json!({ "frame": "data:image/png;base64,PHNjcmlwdD4=" }).to_string(),
            Some(&kiosk),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("frame"), "{}", bad.body);

    // Face recognition switched off at the branch: unavailable, and the
    // camera program gets no frames.
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE branches SET biometrics_enabled = FALSE WHERE id = 1"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    assert_eq!(kiosk_face(&app, &kiosk).await.json(), json!("Unavailable"));
}
