//! More than one photo per client: clear camera matches become templates of the client
//! (one a day, at most four), a face staff reject stops being one, and switching face
//! recognition off drops them.

use crate::camera::{
    PNG, camera_app, camera_event, camera_get, enrolled_client, now_ms, paired_camera,
};
use crate::common::*;
use axum::http::{StatusCode, header};
use leptos::server_fn::ServerFn;
use serde_json::{Value, json};

fn enter(client: i64, similarity: f64) -> Value {
    json!({"key": uuid::Uuid::new_v4().to_string(), "kind": "enter", "occurred_at": now_ms(),
           "client_id": client, "similarity": similarity, "snapshot": PNG})
}

async fn gallery_entry(app: &TestApp, token: &str) -> Value {
    let gallery = camera_get(app, token, "/api/vision/gallery").await;
    assert_eq!(gallery.status, StatusCode::OK, "{}", gallery.body);
    gallery.json()["clients"][0].clone()
}

fn urls(entry: &Value, list: &str) -> Vec<String> {
    entry[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn clear_matches_become_templates_bounded_and_dropped_when_rejected_or_switched_off() {
    let app = camera_app().await;
    let token = paired_camera(&app, "entrance").await;
    let client = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;
    let before = gallery_entry(&app, &token).await;
    assert_eq!(urls(&before, "templates"), Vec::<String>::new());

    // A match just over the naming threshold is not clear enough to learn from.
    let unsure = camera_event(&app, &token, &enter(client, 0.6)).await;
    assert_eq!(unsure.status, StatusCode::OK, "{}", unsure.body);
    assert_eq!(
        urls(&gallery_entry(&app, &token).await, "templates").len(),
        0
    );

    // Four captures from earlier days are on file.
    let day = 86_400;
    let t = app::infra::now();
    for days_ago in [9, 7, 5, 3] {
        app::db_run!(app.state.db, |c| sqlx::query(
            "INSERT INTO face_templates (client_id, image_path, rejected, created_at) \
             SELECT $1, snapshot_path, FALSE, $2 FROM camera_events WHERE client_id = $3 LIMIT 1",
        )
        .bind(client)
        .bind(t - days_ago * day)
        .bind(client)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
    let oldest: i64 = scalar(
        &app,
        &format!("SELECT MIN(id) FROM face_templates WHERE client_id = {client}"),
    )
    .await;
    let four = gallery_entry(&app, &token).await;
    assert_eq!(urls(&four, "templates").len(), 4);

    // A clear match today: kept, the oldest capture goes, the gallery version moves.
    let clear = camera_event(&app, &token, &enter(client, 0.83))
        .await
        .json();
    let now_listed = gallery_entry(&app, &token).await;
    let templates = urls(&now_listed, "templates");
    assert_eq!(templates.len(), 4, "{templates:?}");
    assert!(!templates.contains(&format!("/api/vision/templates/{oldest}")));
    assert_ne!(now_listed["version"], four["version"]);
    let newest = templates
        .iter()
        .max_by_key(|u| u.rsplit('/').next().unwrap().parse::<i64>().unwrap())
        .unwrap()
        .clone();
    let face = camera_get(&app, &token, &newest).await;
    assert_eq!(face.status, StatusCode::OK, "{}", face.body);
    assert_eq!(face.headers[header::CONTENT_TYPE], "image/jpeg");
    // A template is not served as a rejected face, nor to a stranger to the API.
    let id = newest.rsplit('/').next().unwrap();
    let wrong_list = camera_get(&app, &token, &format!("/api/vision/rejected/{id}")).await;
    assert_eq!(wrong_list.status, StatusCode::NOT_FOUND);
    let anonymous = app.get(&newest, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // One look a day: another clear match the same day adds nothing.
    camera_event(&app, &token, &enter(client, 0.9)).await;
    assert_eq!(
        urls(&gallery_entry(&app, &token).await, "templates"),
        templates
    );

    // "Not this person" on today's match: its face stops being a template and becomes a
    // negative example.
    let admin = app.admin().await;
    let rejected = app
        .post_form(
            app::clients::card::RejectCameraMatch::PATH,
            &format!("client_id={client}&event_id={}", clear["event_id"]),
            Some(&admin),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let after = gallery_entry(&app, &token).await;
    assert_eq!(urls(&after, "templates").len(), 3);
    assert!(!urls(&after, "templates").contains(&newest));
    assert_eq!(urls(&after, "rejected").len(), 1);

    // Face recognition switched off for the client: no capture stays a template.
    let off = app
        .post_form(
            app::clients::card::SetClientBiometrics::PATH,
            &format!("client_id={client}&on=false"),
            Some(&admin),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) FROM face_templates WHERE client_id = {client} AND rejected = FALSE"
            )
        )
        .await,
        0
    );
}
