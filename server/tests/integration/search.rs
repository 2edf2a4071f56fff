//! Client search finds a name however people type it: any apostrophe,
//! Latin or Cyrillic, ё or е, words in any order; on a database from before
//! this folding too.

use crate::common::{TestApp, app_with_demo, scalar};
use axum::http::StatusCode;
use leptos::server_fn::ServerFn;

async fn found(app: &TestApp, cookie: &str, q: &str) -> (i64, Vec<i64>) {
    let reply = app
        .get(
            &format!("/api/clients?page_size=100&sort=name&q={}", urlencoding(q)),
            Some(cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{q}: {}", reply.body);
    // Served from the page cache as stored JSON: still typed as JSON.
    assert_eq!(
        reply.headers[axum::http::header::CONTENT_TYPE],
        "application/json"
    );
    let page = reply.json();
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    (page["total"].as_i64().unwrap(), ids)
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn names_are_found_however_they_are_typed() {
    let app = app_with_demo(1_500).await;
    let admin = app.admin().await;
    let stored = found(&app, &admin, "Yo‘ldoshev").await;
    assert!(stored.0 > 0, "the demo has Yo‘ldoshevs");
    assert_eq!(
        stored.0,
        scalar(
            &app,
            "SELECT COUNT(*) FROM clients WHERE lower(full_name) LIKE '%yo‘ldoshev%' AND erased_at IS NULL"
        )
        .await
    );
    for typed in ["Yo'ldoshev", "yo`ldoshev", "YOʻLDOSHEV", "Йўлдошев"] {
        assert_eq!(found(&app, &admin, typed).await, stored, "{typed}");
    }
    let with_yo = found(&app, &admin, "Фёдоров").await;
    assert!(with_yo.0 > 0);
    assert_eq!(found(&app, &admin, "Федоров").await, with_yo);
    assert_eq!(found(&app, &admin, "Fedorov").await, with_yo);

    // Given name and surname in either order, one client among many.
    let name: String = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT full_name FROM clients WHERE full_name LIKE '%‘%' ORDER BY id LIMIT 1"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    let (given, surname) = name.split_once(' ').unwrap();
    let forwards = found(&app, &admin, &name).await;
    let backwards = found(
        &app,
        &admin,
        &format!("{} {given}", surname.replace('‘', "'")),
    )
    .await;
    assert!(forwards.0 > 0);
    assert_eq!(backwards, forwards, "{name}");
    // Both words must match: the surname alone finds more.
    assert!(found(&app, &admin, surname).await.0 > forwards.0);

    // A client renamed now is found at once, in the other script.
    let id = scalar(&app, "SELECT MIN(id) FROM clients").await;
    let renamed = app
        .post_form(
            app::clients::card::UpdateClient::PATH,
            &format!(
                "id={id}&form[full_name]={}&form[phone]=%2B998907776655&form[source]=walk_in",
                urlencoding("Зиёвуддин Жўрабоев")
            ),
            Some(&admin),
        )
        .await;
    assert!(renamed.status.is_success(), "{}", renamed.body);
    assert_eq!(
        found(&app, &admin, "Ziyovuddin Jo'raboyev").await.1,
        vec![id]
    );
    assert_eq!(
        found(&app, &admin, "Jo‘raboev Ziyovuddin").await.1,
        vec![id]
    );
    assert_eq!(found(&app, &admin, "ЖЎРАБОЕВ зиёвуддин").await.1, vec![id]);
    assert_eq!(found(&app, &admin, "90 777-66").await.1, vec![id]);
}

#[tokio::test]
async fn a_database_from_before_the_folding_is_refolded_at_start() {
    let _limit = crate::common::time_limit();
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::common::config(dir.path());
    config.no_demo_data = false;
    config.demo_clients = 300;
    let first = server::start(&config).await.unwrap();
    // As the previous release stored it: the name lower-cased as typed.
    app::db_run!(first.state.db, |c| sqlx::query(
        "UPDATE clients SET search_text = lower(full_name) || ' ' || substr(phone, 2) \
         WHERE erased_at IS NULL",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app::db_run!(first.state.db, |c| sqlx::query(
        "DELETE FROM settings WHERE key = 'search_fold_version'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    assert_eq!(indexed_yoldoshevs(&first.state.db).await, 0);
    drop(first);
    let second = server::start(&config).await.unwrap();
    let expected: i64 = app::db_run!(second.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM clients WHERE lower(full_name) LIKE '%yo‘ldoshev%' AND erased_at IS NULL",
    )
    .fetch_one(c)
    .await)
    .unwrap();
    let indexed = indexed_yoldoshevs(&second.state.db).await;
    assert!(expected > 0);
    assert_eq!(indexed, expected);
}

/// The clients the search index finds for "yoldoshev": SQLite's trigram FTS
/// table; on PostgreSQL the trigram index is on `search_text` itself.
async fn indexed_yoldoshevs(db: &app::infra::Db) -> i64 {
    match db.backend() {
        app::infra::db::Backend::Sqlite(pool) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM clients_fts WHERE clients_fts MATCH '\"yoldoshev\"'",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
        app::infra::db::Backend::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE search_text LIKE '%yoldoshev%'")
                .fetch_one(pool)
                .await
                .unwrap()
        }
    }
}
