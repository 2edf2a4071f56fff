//! What only the PostgreSQL run can show (`scripts/postgres/integration.sh`, in `make test`):
//! the same data answers the same on both databases, a SQLite database copied onto
//! PostgreSQL serves the same product, backups of a PostgreSQL database restore, and a
//! second server on one database refuses to start. Without `TEST_POSTGRES_URL` (the SQLite
//! run) these tests say so and return: every other test runs on both.

use crate::common::{self, TestApp};
use axum::http::StatusCode;
use serde_json::Value;

/// Demo data "now": fixed, so both databases get the very same rows.
const NOW: i64 = 1_780_000_000;
const CLIENTS: u32 = 400;

fn postgres() -> Option<String> {
    let server = common::postgres_server();
    if server.is_none() {
        eprintln!("skipped: needs TEST_POSTGRES_URL (scripts/postgres/integration.sh runs it)");
    }
    server
}

async fn sqlite_app() -> TestApp {
    common::app_with(|config| {
        config.database_url = None;
        config.database_pool_size = None;
    })
    .await
}

async fn postgres_app(url: &str) -> TestApp {
    let url = url.to_string();
    common::app_with(move |config| config.database_url = Some(url)).await
}

async fn with_demo(app: &TestApp) {
    server::demo::generate_at(&app.state.db, CLIENTS, 11, NOW, false)
        .await
        .unwrap();
}

/// Equal JSON, numbers within a rounding of each other (a sum may be added up in
/// another order on the other database).
fn assert_same(what: &str, a: &Value, b: &Value) {
    fn walk(path: &str, a: &Value, b: &Value) -> Result<(), String> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                if (x - y).abs() <= 1e-9 * x.abs().max(1.0) {
                    Ok(())
                } else {
                    Err(format!("{path}: {x} ≠ {y}"))
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .try_for_each(|(i, (x, y))| walk(&format!("{path}[{i}]"), x, y)),
            (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
                x.iter().try_for_each(|(k, v)| match y.get(k) {
                    Some(w) => walk(&format!("{path}.{k}"), v, w),
                    None => Err(format!("{path}.{k}: missing on the other side")),
                })
            }
            _ if a == b => Ok(()),
            _ => Err(format!("{path}: {a} ≠ {b}")),
        }
    }
    if let Err(difference) = walk("", a, b) {
        panic!("{what} differs between SQLite and PostgreSQL: {difference}");
    }
}

/// The answers a manager sees, from statistics to search to the ranked buyers.
const PAGES: &[&str] = &[
    "/api/stats",
    "/api/stats?from=2025-01-01&to=2026-05-28",
    "/api/stats?from=2026-01-01&to=2026-05-28&branch=2",
    "/api/clients",
    "/api/clients?sort=name",
    "/api/clients?sort=-name&page=2",
    "/api/clients?sort=last_visit",
    "/api/clients?sort=-first_visit",
    "/api/clients?sort=age",
    "/api/clients?sort=-age&page=3",
    "/api/clients?sort=-visits",
    "/api/clients?q=ov",
    "/api/clients?q=ova&sort=name",
    "/api/clients?q=90",
    "/api/clients?gender=female&sort=name",
    "/api/clients?branch=3&sort=-last_visit",
    "/api/potential_buyers_ml",
    "/api/potential_buyers_ml?page=2",
];

async fn answers(app: &TestApp) -> Vec<(String, Value)> {
    let admin = app.admin().await;
    let mut found = Vec::new();
    for page in PAGES {
        let reply = app.get(page, Some(&admin)).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}: {}", reply.body);
        found.push((page.to_string(), reply.json()));
    }
    for id in [1, 7, 42, 133, 399] {
        let card = app::clients::ssr::load_card(&app.state.db, 1, id)
            .await
            .unwrap();
        found.push((
            format!("client card {id}"),
            serde_json::to_value(card).unwrap(),
        ));
    }
    found
}

fn assert_same_answers(left: &[(String, Value)], right: &[(String, Value)]) {
    assert_eq!(left.len(), right.len());
    for ((what, a), (_, b)) in left.iter().zip(right) {
        assert_same(what, a, b);
    }
    // The comparison saw real data, not two empty answers.
    let clients = &left.iter().find(|(w, _)| w == "/api/clients").unwrap().1;
    assert!(clients["total"].as_i64().unwrap() > 300, "{clients}");
}

#[tokio::test]
async fn the_same_data_gives_the_same_statistics_pages_search_and_model_on_both() {
    let Some(server) = postgres() else { return };
    let lite = sqlite_app().await;
    let pg = postgres_app(&common::new_postgres_database(&server).await).await;
    assert!(pg.state.db.is_postgres() && !lite.state.db.is_postgres());
    with_demo(&lite).await;
    with_demo(&pg).await;
    let lite_model = app::scoring::ssr::train_and_activate(&lite.state.db, None)
        .await
        .unwrap();
    let pg_model = app::scoring::ssr::train_and_activate(&pg.state.db, None)
        .await
        .unwrap();
    assert_eq!(lite_model.family, pg_model.family);
    assert_same(
        "the model's hold-out metrics",
        &serde_json::to_value(&lite_model.metrics).unwrap()["roc_auc"],
        &serde_json::to_value(&pg_model.metrics).unwrap()["roc_auc"],
    );
    for metric in ["pr_auc", "brier", "train_count", "test_buyers", "top"] {
        assert_same(
            metric,
            &serde_json::to_value(&lite_model.metrics).unwrap()[metric],
            &serde_json::to_value(&pg_model.metrics).unwrap()[metric],
        );
    }
    assert_same_answers(&answers(&lite).await, &answers(&pg).await);
}

#[tokio::test]
async fn a_sqlite_database_copied_onto_postgresql_serves_the_same_and_a_second_copy_is_refused() {
    let Some(server) = postgres() else { return };
    let lite = sqlite_app().await;
    with_demo(&lite).await;
    app::scoring::ssr::train_and_activate(&lite.state.db, None)
        .await
        .unwrap();
    let from = format!(
        "sqlite://{}",
        lite.state.data_dir.join("avtosalon.db").display()
    );
    // Values COPY's text format must escape, and bytes and doubles that must arrive exact.
    let name = "Tab\there \\ back\\slash\nnew line\r\\N Ёж 'q' \"dq\"";
    let blob: Vec<u8> = (0..=255u8).chain([b'\\', b'\t', b'\n', 0]).collect();
    let probability = 0.1 + 0.2;
    app::db_run!(lite.state.db, |c| sqlx::query(
        "UPDATE clients SET full_name = $1 WHERE id = 1"
    )
    .bind(name)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app::db_run!(lite.state.db, |c| sqlx::query(
        "INSERT INTO face_templates (client_id, image_path, embedding, model, created_at) \
         VALUES (1, NULL, $1, 'm', 7)"
    )
    .bind(&blob)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app::db_run!(lite.state.db, |c| sqlx::query(
        "UPDATE client_scores SET probability = $1 WHERE client_id = 1"
    )
    .bind(probability)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let to = common::new_postgres_database(&server).await;
    server::commands::copy_database(&from, &to).await.unwrap();
    let pg = postgres_app(&to).await;
    assert_same_answers(&answers(&lite).await, &answers(&pg).await);
    let copied: (Option<String>, Option<Vec<u8>>, Option<String>) =
        app::db_run!(pg.state.db, |c| sqlx::query_as(
            "SELECT c.full_name, f.embedding, f.image_path FROM clients c \
         JOIN face_templates f ON f.client_id = c.id WHERE c.id = 1 AND f.model = 'm'"
        )
        .fetch_one(c)
        .await)
        .unwrap();
    assert_eq!(copied, (Some(name.to_string()), Some(blob), None));
    let probabilities: Vec<f64> = app::db_run!(pg.state.db, |c| sqlx::query_scalar(
        "SELECT probability FROM client_scores WHERE client_id = 1"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(probabilities, [probability]);
    // A new client gets an id after the copied ones (the sequences were moved on).
    let new_id: i64 = app::db_run!(pg.state.db, |c| sqlx::query_scalar(
        "INSERT INTO clients (branch_id, phone, created_at, updated_at) \
         VALUES (1, '+998900000999', 0, 0) RETURNING id"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(new_id, i64::from(CLIENTS) + 1);

    let again = server::commands::copy_database(&from, &to)
        .await
        .unwrap_err()
        .to_string();
    assert!(again.contains("already has"), "{again}");
}

#[tokio::test]
async fn a_postgresql_backup_restores_and_whoever_was_erased_since_stays_erased() {
    let Some(server) = postgres() else { return };
    let _limit = common::time_limit();
    let url = common::new_postgres_database(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.database_url = Some(url.clone());
    let started = server::start(&config).await.unwrap();
    let db = started.state.db.clone();
    server::demo::generate_at(&db, 150, 3, NOW, false)
        .await
        .unwrap();
    let count = |db: app::infra::Db, sql: &'static str| async move {
        app::db_run!(db, |c| sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await).unwrap()
    };
    let visits = count(db.clone(), "SELECT COUNT(*) FROM visits").await;
    let taken = app::privacy::ssr::backup::take(&db, &config.data_dir, &config.backup_dir())
        .await
        .unwrap();
    assert!(taken.path.join("avtosalon.db").is_file());

    // After the backup: a client erased, a branch opened.
    app::privacy::ssr::erase_client(&db, &config.data_dir, 1, 5)
        .await
        .unwrap();
    app::db_run!(db, |c| sqlx::query(
        "INSERT INTO branches (name, city, created_at) VALUES ('Sergeli', 'Toshkent', 0)"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    // Someone signed in after the backup (the router creates the session store).
    let _sessions_made = server::router(started.state.clone()).await.unwrap();
    app::db_run!(db, |c| sqlx::query(
        "INSERT INTO tower_sessions.session (id, data, expiry_date) \
         VALUES ('signed-in-after-the-backup', '\\x00', now() + interval '1 hour')"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    drop(started);
    db.close().await;

    server::commands::restore(&config, &taken.path)
        .await
        .unwrap();
    let db = app::infra::Db::open(&url).await.unwrap();
    assert_eq!(
        count(db.clone(), "SELECT COUNT(*) FROM visits").await,
        visits
    );
    assert_eq!(
        count(
            db.clone(),
            "SELECT COUNT(*) FROM branches WHERE name = 'Sergeli'"
        )
        .await,
        0,
        "the branch opened after the backup is gone"
    );
    assert_eq!(
        count(
            db.clone(),
            "SELECT COUNT(*) FROM clients WHERE id = 5 AND full_name IS NULL AND phone IS NULL"
        )
        .await,
        1,
        "the client erased after the backup is erased again"
    );
    assert_eq!(
        count(
            db.clone(),
            "SELECT COUNT(*) FROM clients WHERE id = 6 AND full_name IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(db.clone(), "SELECT COUNT(*) FROM tower_sessions.session").await,
        0,
        "everyone signs in again after a restore"
    );
    // The restored database takes new rows.
    app::db_run!(db, |c| sqlx::query(
        "INSERT INTO branches (name, city, created_at) VALUES ('Yunusobod', 'Toshkent', 0)"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
}

#[tokio::test]
async fn a_second_server_on_one_postgresql_database_refuses_to_start() {
    let Some(server) = postgres() else { return };
    let _limit = common::time_limit();
    let url = common::new_postgres_database(&server).await;
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first_config = common::config(one.path());
    first_config.database_url = Some(url.clone());
    let mut second_config = common::config(two.path());
    second_config.database_url = Some(url);
    let first = server::start(&first_config).await.unwrap();
    let refused = server::start(&second_config)
        .await
        .err()
        .expect("a second server started on the same database");
    assert!(
        refused
            .to_string()
            .contains("another server is already serving"),
        "{refused}"
    );
    drop(first);
    // Once the first is gone, its claim goes with its connection.
    let mut tries = 0;
    loop {
        match server::start(&second_config).await {
            Ok(_) => break,
            Err(server::ServerError::DatabaseBusy) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(other) => panic!("the second server still cannot start: {other}"),
        }
    }
}
