//! API tokens (created by admins, shown once, stored hashed, revocable) and
//! the OpenAPI document.

use crate::common::{app, scalar};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use leptos::server_fn::ServerFn;

async fn with_token(app: &crate::common::TestApp, path: &str, token: &str) -> crate::common::Reply {
    app.send(
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_token_works_until_revoked_and_is_stored_hashed() {
    let app = app().await;
    let admin = app.admin().await;
    let created = app
        .post_form(
            app::settings::CreateApiToken::PATH,
            "name=CRM+sync",
            Some(&admin),
        )
        .await;
    assert!(created.status.is_success(), "{}", created.body);
    let secret: String = serde_json::from_str(&created.body).unwrap();
    assert!(secret.starts_with("aa_") && secret.len() == 67);
    // Only a hash is kept.
    let stored = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{secret}'"),
    )
    .await;
    assert_eq!(stored, 0);

    let me = with_token(&app, "/api/me", &secret).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["login"], "admin");
    assert_eq!(
        with_token(&app, "/api/clients", &secret).await.status,
        StatusCode::OK
    );
    // Tokens open the API, not the pages.
    assert_eq!(
        with_token(&app, "/", &secret).await.status,
        StatusCode::SEE_OTHER
    );

    let wrong = with_token(&app, "/api/me", &format!("aa_{}", "0".repeat(64))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        with_token(&app, "/api/me", "garbage").await.status,
        StatusCode::UNAUTHORIZED
    );

    let id = scalar(&app, "SELECT id FROM api_tokens").await;
    let revoked = app
        .post_form(
            app::settings::RevokeApiToken::PATH,
            &format!("id={id}"),
            Some(&admin),
        )
        .await;
    assert!(revoked.status.is_success(), "{}", revoked.body);
    assert_eq!(
        with_token(&app, "/api/me", &secret).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn only_admins_create_tokens() {
    let app = app().await;
    let admin = app.admin().await;
    app.post_form(
        app::settings::CreateStaff::PATH,
        "login=boss&full_name=Boss&role=manager&branch_id=&password=boss-pass-1",
        Some(&admin),
    )
    .await;
    let boss = app.sign_in("boss", "boss-pass-1").await;
    let refused = app
        .post_form(app::settings::CreateApiToken::PATH, "name=x", Some(&boss))
        .await;
    assert!(refused.body.contains("forbidden"), "{}", refused.body);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM api_tokens").await, 0);
}

#[tokio::test]
async fn the_openapi_document_describes_routes_that_exist() {
    let app = app().await;
    let admin = app.admin().await;
    let reply = app.get("/api/openapi.json", Some(&admin)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    for required in [
        "/api/clients",
        "/api/stats",
        "/api/login",
        "/api/export/clients",
    ] {
        assert!(paths.contains_key(required), "{required} undocumented");
    }
    for (path, methods) in paths {
        if methods.get("get").is_some() && path != "/api/events" {
            let reply = app.get(path, Some(&admin)).await;
            assert_ne!(
                reply.status,
                StatusCode::NOT_FOUND,
                "{path} is documented but missing"
            );
        }
    }
}

/// A token acts as its owner and ends with them: deactivating the owner or
/// resetting their password (which may mean it leaked) revokes their tokens,
/// and reactivating the owner does not bring them back.
#[tokio::test]
async fn tokens_end_with_their_owner_s_deactivation_or_password_reset() {
    let app = app().await;
    let admin = app.admin().await;
    let created = app
        .post_form(
            app::settings::CreateStaff::PATH,
            "login=ops&full_name=Ops+Admin&role=admin&branch_id=&password=ops-pass-123",
            Some(&admin),
        )
        .await;
    assert!(created.status.is_success(), "{}", created.body);
    let ops_id = scalar(&app, "SELECT id FROM staff WHERE login = 'ops'").await;
    let new_token = |who: String| {
        let app = &app;
        async move {
            let reply = app
                .post_form(app::settings::CreateApiToken::PATH, "name=sync", Some(&who))
                .await;
            serde_json::from_str::<String>(&reply.body).unwrap()
        }
    };

    let ops = app.sign_in("ops", "ops-pass-123").await;
    let token = new_token(ops).await;
    assert_eq!(
        with_token(&app, "/api/me", &token).await.status,
        StatusCode::OK
    );
    let reset = app
        .post_form(
            app::settings::ResetStaffPassword::PATH,
            &format!("id={ops_id}&password=ops-pass-456"),
            Some(&admin),
        )
        .await;
    assert!(reset.status.is_success(), "{}", reset.body);
    assert_eq!(
        with_token(&app, "/api/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );

    let ops = app.sign_in("ops", "ops-pass-456").await;
    let token = new_token(ops).await;
    assert_eq!(
        with_token(&app, "/api/me", &token).await.status,
        StatusCode::OK
    );
    let active = |on: bool| format!("id={ops_id}&active={on}");
    let off = app
        .post_form(
            app::settings::SetStaffActive::PATH,
            &active(false),
            Some(&admin),
        )
        .await;
    assert!(off.status.is_success(), "{}", off.body);
    assert_eq!(
        with_token(&app, "/api/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.post_form(
        app::settings::SetStaffActive::PATH,
        &active(true),
        Some(&admin),
    )
    .await;
    assert_eq!(
        with_token(&app, "/api/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// A read-only token asks like its owner but cannot change anything.
#[tokio::test]
async fn a_read_only_token_can_ask_but_not_change() {
    let app = app().await;
    let admin = app.admin().await;
    let created = app
        .post_form(
            app::settings::CreateApiToken::PATH,
            "name=Reports&read_only=on",
            Some(&admin),
        )
        .await;
    assert!(created.status.is_success(), "{}", created.body);
    let secret: String = serde_json::from_str(&created.body).unwrap();
    assert_eq!(
        with_token(&app, "/api/clients", &secret).await.status,
        StatusCode::OK
    );
    let retrain = app
        .send(
            Request::post("/api/retrain_model")
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(retrain.status, StatusCode::FORBIDDEN, "{}", retrain.body);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM models").await, 0);
    let listed = app
        .post_form(app::settings::LoadSettings::PATH, "", Some(&admin))
        .await
        .json();
    assert_eq!(listed["tokens"][0]["read_only"], true);
    let bad = app
        .post_form(
            app::settings::CreateApiToken::PATH,
            "name=Odd&read_only=maybe",
            Some(&admin),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}
