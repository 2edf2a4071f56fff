//! Staff are not visitors: a member enrols their face (or an admin for them),
//! the cameras' gallery carries it, a recognised member opens no visit, sends
//! no notification and keeps no snapshot, only a presence log; removal and
//! deactivation forget the face everywhere.

use crate::camera::{PNG, camera_app, camera_event, camera_get, now_ms, paired_camera};
use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use leptos::server_fn::ServerFn;
use serde_json::json;

fn png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap()
}

/// The profile page's form, sent as a browser sends it (`Accept: text/html`).
async fn enrol_form(
    app: &TestApp,
    cookie: &str,
    staff_id: i64,
    consent: bool,
    photo: &[u8],
) -> Reply {
    let mut texts = vec![("back", "/profile")];
    if consent {
        texts.push(("consent", "on"));
    }
    let (content_type, body) = multipart_body(&texts, Some(("me.png", photo)));
    app.send(
        Request::post(format!("/api/staff/{staff_id}/face"))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::ACCEPT, "text/html")
            .header(header::COOKIE, cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn create_staff(app: &TestApp, admin: &str, login: &str) -> i64 {
    let body = format!(
        "login={login}&full_name=Sotuvchi+{login}&role=reception&branch_id=1&password=pass-{login}-123"
    );
    let reply = app
        .post_form(app::settings::CreateStaff::PATH, &body, Some(admin))
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    reply.json().as_i64().unwrap()
}

fn stored_faces(app: &TestApp) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(app.state.data_dir.join("staff_faces"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[tokio::test]
async fn an_enrolled_member_passing_the_cameras_is_never_a_visitor() {
    let app = camera_app().await;
    let admin = app.admin().await;
    let sales = create_staff(&app, &admin, "sales").await;
    let other = create_staff(&app, &admin, "other").await;
    let sales_cookie = app.sign_in("sales", "pass-sales-123").await;
    let other_cookie = app.sign_in("other", "pass-other-123").await;

    // Without consent nothing is kept, and the page says why.
    let refused = enrol_form(&app, &sales_cookie, sales, false, &png()).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location(), Some("/profile?face_error=consent#face"));
    // Not an image.
    let bad = enrol_form(&app, &sales_cookie, sales, true, b"<script>").await;
    assert_eq!(bad.location(), Some("/profile?face_error=type#face"));
    // A colleague cannot enrol someone else's face (JSON caller: 403).
    let (content_type, body) = multipart_body(&[("consent", "on")], Some(("x.png", &png())));
    let forbidden = app
        .send(
            Request::post(format!("/api/staff/{sales}/face"))
                .header(header::CONTENT_TYPE, content_type)
                .header(header::COOKIE, &other_cookie)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "{}",
        forbidden.body
    );
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM staff_faces").await, 0);
    assert!(stored_faces(&app).is_empty());

    // The member enrols their own face.
    let enrolled = enrol_form(&app, &sales_cookie, sales, true, &png()).await;
    assert_eq!(enrolled.location(), Some("/profile?face=ok#face"));
    let status = app
        .post_form(app::camera::StaffFaceStatus::PATH, "", Some(&sales_cookie))
        .await
        .json();
    assert_eq!(status["staff_id"], sales);
    assert_eq!(status["face"]["enrolled_by"], "Sotuvchi sales");
    // … and a colleague cannot even see whether they did.
    let peek = app
        .post_form(
            app::camera::StaffFaceStatus::PATH,
            &format!("staff_id={sales}"),
            Some(&other_cookie),
        )
        .await;
    assert_eq!(peek.status, StatusCode::FORBIDDEN);
    // An admin replaces the photo: one face per member, the old file gone.
    let replaced = enrol_form(&app, &admin, sales, true, &png()).await;
    assert_eq!(replaced.location(), Some("/profile?face=ok#face"));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM staff_faces").await, 1);
    assert_eq!(stored_faces(&app).len(), 1);

    // The cameras' gallery carries the member, and only cameras get the photo.
    let entrance = paired_camera(&app, "entrance").await;
    let exit = paired_camera(&app, "exit").await;
    let gallery = camera_get(&app, &entrance, "/api/vision/gallery")
        .await
        .json();
    let staff = gallery["staff"].as_array().unwrap();
    assert_eq!(staff.len(), 1, "{gallery}");
    assert_eq!(staff[0]["staff_id"], sales);
    let photo_path = staff[0]["photo"].as_str().unwrap().to_string();
    let photo = camera_get(&app, &entrance, &photo_path).await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(&photo.raw[..2], &[0xFF, 0xD8], "a re-encoded JPEG");
    assert_eq!(
        app.get(&photo_path, Some(&admin)).await.status,
        StatusCode::UNAUTHORIZED,
        "a staff session is no camera"
    );

    // The member walks in and out: no visit, no message, no snapshot kept.
    // An hour ago, or earlier if the half hour inside would cross the branch's midnight
    // (presence is counted per local day).
    let offset = scalar(
        &app,
        "SELECT CAST(utc_offset_minutes AS BIGINT) FROM branches ORDER BY id LIMIT 1",
    )
    .await as i32;
    let mut walked_in = now_ms() - 3_600_000;
    while app::infra::time::local_day(walked_in / 1000, offset)
        != app::infra::time::local_day(walked_in / 1000 + 1800, offset)
    {
        walked_in -= 3_600_000;
    }
    let enter = json!({"key": uuid::Uuid::new_v4().to_string(), "kind": "enter",
        "occurred_at": walked_in, "staff_id": sales, "similarity": 0.81, "snapshot": PNG});
    let reply = camera_event(&app, &entrance, &enter).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["visit_id"], serde_json::Value::Null);
    assert_eq!(
        camera_event(&app, &entrance, &enter).await.json()["duplicate"],
        true
    );
    let out = json!({"key": uuid::Uuid::new_v4().to_string(), "kind": "exit",
        "occurred_at": walked_in + 1_800_000, "staff_id": sales, "similarity": 0.77});
    assert_eq!(camera_event(&app, &exit, &out).await.status, StatusCode::OK);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM visits").await, 0);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM notification_outbox").await,
        0
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM camera_events WHERE snapshot_path IS NOT NULL"
        )
        .await,
        0
    );
    assert!(
        !app.state.data_dir.join("snapshots").exists()
            || std::fs::read_dir(app.state.data_dir.join("snapshots"))
                .unwrap()
                .next()
                .is_none(),
        "a staff member's face is never kept"
    );
    let (first_in, last_out, passages): (i64, i64, i64) = app::db_run!(app.state.db, |c| {
        sqlx::query_as(
            "SELECT first_in, last_out, passages FROM staff_presence WHERE staff_id = $1",
        )
        .bind(sales)
        .fetch_one(c)
        .await
    })
    .unwrap();
    assert_eq!(
        (first_in, last_out - first_in, passages),
        (walked_in / 1000, 1800, 2)
    );
    let presence = app
        .post_form(app::camera::StaffPresence::PATH, "", Some(&admin))
        .await
        .json();
    assert_eq!(presence[0]["name"], "Sotuvchi sales", "{presence}");
    // Statistics count no visitor.
    let stats = app.get("/api/stats", Some(&admin)).await.json();
    assert_eq!(stats["totals"]["visits"], 0, "{stats}");

    // A person is a client or a member, never both; an unknown member is refused.
    for (bad, field) in [
        (
            json!({"client_id": 1, "staff_id": sales, "similarity": 0.8}),
            "staff_id",
        ),
        (json!({"staff_id": other, "similarity": 0.8}), "staff_id"),
    ] {
        let mut event = json!({"key": uuid::Uuid::new_v4().to_string(), "kind": "enter",
            "occurred_at": now_ms()});
        event
            .as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        let reply = camera_event(&app, &entrance, &event).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.json()["field"], field);
    }

    // The member removes their face: row, file and gallery entry gone.
    let removed = app
        .post_form(
            app::camera::RemoveStaffFace::PATH,
            &format!("staff_id={sales}"),
            Some(&sales_cookie),
        )
        .await;
    assert!(removed.status.is_success(), "{}", removed.body);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM staff_faces").await, 0);
    assert!(stored_faces(&app).is_empty());
    let gallery = camera_get(&app, &entrance, "/api/vision/gallery")
        .await
        .json();
    assert_eq!(gallery["staff"], json!([]));
    assert_eq!(
        camera_get(&app, &entrance, &photo_path).await.status,
        StatusCode::NOT_FOUND
    );

    // Deactivating a member forgets their face too.
    enrol_form(&app, &admin, other, true, &png()).await;
    assert_eq!(stored_faces(&app).len(), 1);
    let off = app
        .post_form(
            app::settings::SetStaffActive::PATH,
            &format!("id={other}&active=false"),
            Some(&admin),
        )
        .await;
    assert!(off.status.is_success(), "{}", off.body);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM staff_faces").await, 0);
    assert!(stored_faces(&app).is_empty());
}
