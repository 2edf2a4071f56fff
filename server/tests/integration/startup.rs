//! Start-up and configuration errors, and the demo data, against real files.

use server::ServerError;

#[tokio::test]
async fn a_malformed_database_url_gives_a_clear_error() {
    let _limit = crate::common::time_limit();
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::common::config(dir.path());
    config.database_url = Some("mysql://nowhere".into());
    let error = server::start(&config)
        .await
        .err()
        .expect("an error")
        .to_string();
    assert!(error.contains("sqlite://"), "{error}");
    config.database_url = Some("postgres://u:topsecret@h/db".into());
    let error = server::start(&config)
        .await
        .err()
        .expect("an error")
        .to_string();
    assert!(!error.contains("topsecret"), "{error}");
}

#[tokio::test]
async fn an_unwritable_data_directory_gives_a_clear_error() {
    let _limit = crate::common::time_limit();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let mut config = crate::common::config(dir.path());
    config.data_dir = file.join("data");
    let error = server::start(&config).await.err().expect("an error");
    assert!(matches!(error, ServerError::DataDir(..)));
    assert!(error.to_string().contains("cannot be created or written"));
}

#[tokio::test]
async fn first_start_creates_admin_and_demo_data_once() {
    let _limit = crate::common::time_limit();
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::common::config(dir.path());
    config.no_demo_data = false;
    config.demo_clients = 150;
    config.admin_password = None;
    let first = server::start(&config).await.unwrap();
    let summary = first
        .demo_generated
        .clone()
        .expect("demo data on a new database");
    assert_eq!(summary.clients, 150);
    assert!(matches!(
        first.admin,
        app::settings::ssr::staff::AdminBootstrap::Created {
            generated: true,
            ..
        }
    ));
    drop(first);
    let second = server::start(&config).await.unwrap();
    assert!(second.demo_generated.is_none());
    assert_eq!(
        second.admin,
        app::settings::ssr::staff::AdminBootstrap::Exists
    );
}

async fn fingerprint(seed: u64) -> (server::demo::Summary, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = app::infra::Db::open(&format!("sqlite://{}/d.db", dir.path().display()))
        .await
        .unwrap();
    let summary = server::demo::generate_at(&db, 400, seed, 1_795_514_400, false)
        .await
        .unwrap();
    let tokens: String = app::db_run!(db, |c| sqlx::query_scalar(
        "SELECT string_agg(visit_token || full_name, '|' ORDER BY id) FROM (SELECT v.id, v.visit_token, c.full_name \
         FROM visits v LEFT JOIN clients c ON c.id = v.client_id ORDER BY v.id LIMIT 50) AS t",
    )
    .fetch_one(c)
    .await)
    .unwrap();
    (summary, tokens)
}

#[tokio::test]
async fn demo_data_is_deterministic_for_a_seed_and_consistent() {
    let _limit = crate::common::time_limit();
    let (a, fa) = fingerprint(5).await;
    let (b, fb) = fingerprint(5).await;
    let (_, fc) = fingerprint(6).await;
    assert_eq!(a, b);
    assert_eq!(fa, fb);
    assert_ne!(fa, fc);
    assert_eq!(a.clients, 400);
    assert!(a.visits > 2_000, "{a:?}");
    assert!(a.sales > 10, "{a:?}");
}

#[tokio::test]
async fn demo_aggregates_match_the_visits() {
    let _limit = crate::common::time_limit();
    let dir = tempfile::tempdir().unwrap();
    let db = app::infra::Db::open(&format!("sqlite://{}/d.db", dir.path().display()))
        .await
        .unwrap();
    server::demo::generate_at(&db, 300, 9, 1_795_514_400, false)
        .await
        .unwrap();
    let mismatched: i64 = app::db_run!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM clients c WHERE c.visit_count <> (SELECT COUNT(*) FROM visits v WHERE v.client_id = c.id) \
         OR c.last_visit_at <> (SELECT MAX(entered_at) FROM visits v WHERE v.client_id = c.id)",
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(mismatched, 0);
    let first_visits: i64 = app::db_run!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM visits WHERE is_first_visit"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(first_visits, 300);
    let branches: i64 = app::db_run!(db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM branches")
        .fetch_one(c)
        .await)
    .unwrap();
    assert_eq!(branches, 3);
    let sale_after_visit: i64 = app::db_run!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM sales s JOIN visits v ON v.id = s.visit_id WHERE s.sold_at < v.entered_at",
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(sale_after_visit, 0);
}

/// The data directory, the database and stored files are this user's only.
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = crate::common::app().await;
    let data_dir = app.state.data_dir.as_path();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(data_dir), 0o700);
    let stored = app::infra::files::store(data_dir, "documents", "x.pdf", b"%PDF-1.4").unwrap();
    assert_eq!(mode(&data_dir.join("documents")), 0o700);
    assert_eq!(mode(&data_dir.join(stored)), 0o600);
    let mut databases = 0;
    for entry in std::fs::read_dir(data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            databases += path.to_string_lossy().contains(".db") as usize;
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is readable by others",
                path.display()
            );
        }
    }
    // On PostgreSQL the database lives on its server, not in the data directory.
    assert!(
        databases >= 1 || crate::common::on_postgres(),
        "no database file in the data directory"
    );
}
