//! Shared helpers: a whole app on a fresh database per test (a SQLite file, or with
//! `TEST_POSTGRES_URL` set a new PostgreSQL database on that server), requests sent through
//! the real router, and the time limits that turn a hang into a failure with a message.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use clap::Parser;
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt;

pub const ADMIN_PASSWORD: &str = "admin-pass-123";

pub struct TestApp {
    pub router: Router,
    pub state: app::infra::AppState,
    _dir: tempfile::TempDir,
    _limit: TimeLimit,
}

pub fn config(dir: &std::path::Path) -> server::Config {
    let data = dir.join("data");
    server::Cli::parse_from([
        "server",
        "--data-dir",
        data.to_str().unwrap(),
        "--admin-password",
        ADMIN_PASSWORD,
        "--no-demo-data",
    ])
    .config
}

pub async fn app() -> TestApp {
    app_with(|_| {}).await
}

/// The PostgreSQL server the tests run on, when `TEST_POSTGRES_URL` names one (the URL of
/// a database this user may `CREATE DATABASE` from).
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Whether the apps of this run live on PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_server().is_some()
}

/// A new, migrated, empty PostgreSQL database for one test: a copy of a template
/// migrated once per run (copying is faster than migrating each time).
pub async fn new_postgres_database(server: &str) -> String {
    use sqlx::Connection;
    static TEMPLATE: tokio::sync::Mutex<Option<String>> = tokio::sync::Mutex::const_new(None);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let url_of = |name: &str| {
        let mut url = url::Url::parse(server).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(name);
        url.to_string()
    };
    let mut admin = sqlx::PgConnection::connect(server).await.unwrap();
    let mut template = TEMPLATE.lock().await;
    if template.is_none() {
        let name = format!("avtosalon_template_{}", std::process::id());
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let db = app::infra::Db::open(&url_of(&name)).await.unwrap();
        db.close().await;
        *template = Some(name);
    }
    let name = format!(
        "avtosalon_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::query(&format!(
        "CREATE DATABASE {name} TEMPLATE {}",
        template.as_ref().unwrap()
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    drop(template);
    admin.close().await.unwrap();
    url_of(&name)
}

/// An app whose configuration `change` adjusts first.
pub async fn app_with(change: impl FnOnce(&mut server::Config)) -> TestApp {
    let limit = time_limit();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    if let Some(server) = postgres_server() {
        config.database_url = Some(new_postgres_database(&server).await);
        // Many apps live at once in a test run; a few connections each are plenty.
        config.database_pool_size = Some(4);
    }
    change(&mut config);
    let started = server::start(&config).await.unwrap();
    let state = started.state.clone();
    let router = server::router(started.state).await.unwrap();
    TestApp {
        router,
        state,
        _dir: dir,
        _limit: limit,
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    /// The body as it came over the wire (compressed when it was).
    pub raw: axum::body::Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("avtosalon_session="))
            .map(|v| v.split(';').next().unwrap().to_string())
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }
}

async fn read(response: Response<Body>) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        raw: bytes,
    }
}

impl TestApp {
    /// Sends `request` and reads the whole answer, or fails the test when
    /// that takes longer than [`REQUEST_LIMIT`].
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let what = format!("{} {}", request.method(), request.uri());
        let answer = async { read(self.router.clone().oneshot(request).await.unwrap()).await };
        match tokio::time::timeout(REQUEST_LIMIT, answer).await {
            Ok(reply) => reply,
            Err(_) => panic!(
                "{what} got no complete answer within {} s: a request that never ends",
                REQUEST_LIMIT.as_secs()
            ),
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post_json(&self, path: &str, body: &str, cookie: Option<&str>) -> Reply {
        // Browsers always say how long the body is.
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len());
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// Like [`TestApp::post_json`], from the client address `address` (what
    /// the server learns from the connection when it serves for real).
    pub async fn post_json_from(&self, address: [u8; 4], path: &str, body: &str) -> Reply {
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body.to_string()))
            .unwrap();
        let peer = std::net::SocketAddr::from((address, 50_000));
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        self.send(request).await
    }

    /// Sends `request` with extra `headers` (e.g. `Origin`, `Host`).
    pub async fn send_with(&self, mut request: Request<Body>, headers: &[(&str, &str)]) -> Reply {
        for (name, value) in headers {
            request.headers_mut().insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        self.send(request).await
    }

    /// Calls a server function the way a browser form does.
    pub async fn post_form(&self, path: &str, form: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(form.to_string())).unwrap())
            .await
    }

    /// Signs in through the REST API and returns the session cookie.
    pub async fn sign_in(&self, login: &str, password: &str) -> String {
        let reply = self
            .post_json(
                "/api/login",
                &format!(r#"{{"login":"{login}","password":"{password}"}}"#),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.cookie().expect("a session cookie")
    }

    pub async fn admin(&self) -> String {
        self.sign_in("admin", ADMIN_PASSWORD).await
    }
}

/// An app whose database holds `clients` demo clients up to now.
pub async fn app_with_demo(clients: u32) -> TestApp {
    let app = app().await;
    server::demo::generate(&app.state.db, clients, 11, false)
        .await
        .unwrap();
    app
}

/// One number from a database opened beside a running server.
pub async fn scalar_in(db: &app::infra::Db, sql: &str) -> i64 {
    app::db_run!(db, |c| sqlx::query_scalar(sql).fetch_one(c).await).unwrap()
}

pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    app::db_run!(app.state.db, |c| sqlx::query_scalar(sql).fetch_one(c).await).unwrap()
}

/// No request takes this long, even on a busy machine; one that does is stuck.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// No test takes this long; `INTEGRATION_TEST_LIMIT_SECS` overrides it.
const DEFAULT_TEST_LIMIT: Duration = Duration::from_secs(300);

/// A running test's deadline, watched by one thread for the whole binary.
/// A test whose thread is blocked (so no timer of its own can fire) is still
/// caught: the watchdog names it and ends the process, so CI fails in
/// minutes with a message instead of waiting for its own job limit.
/// Every `TestApp` holds one; tests without a `TestApp` take one themselves.
pub struct TimeLimit {
    id: u64,
}

struct Running {
    test: String,
    deadline: Instant,
}

static RUNNING: LazyLock<Mutex<HashMap<u64, Running>>> = LazyLock::new(|| {
    std::thread::Builder::new()
        .name("test-watchdog".into())
        .spawn(watch)
        .expect("the test watchdog thread starts");
    Mutex::default()
});

static NEXT_LIMIT: AtomicU64 = AtomicU64::new(1);

fn test_limit() -> Duration {
    std::env::var("INTEGRATION_TEST_LIMIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TEST_LIMIT)
}

/// Starts the calling test's time limit; it ends when the guard is dropped.
pub fn time_limit() -> TimeLimit {
    let id = NEXT_LIMIT.fetch_add(1, Ordering::Relaxed);
    // libtest names each test's thread after the test.
    let test = std::thread::current()
        .name()
        .unwrap_or("a test (run with --test-threads=2 or more to see its name)")
        .to_string();
    let deadline = Instant::now() + test_limit();
    RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, Running { test, deadline });
    TimeLimit { id }
}

impl Drop for TimeLimit {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

fn watch() {
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(late) = running.values().find(|r| r.deadline <= now) {
            let others: Vec<&str> = running.values().map(|r| r.test.as_str()).collect();
            // Straight to the process's stderr: libtest captures `eprintln!`
            // of test threads and would drop it on exit.
            let _ = writeln!(
                std::io::stderr(),
                "\nTIME LIMIT: {} ran longer than {} s and is stopped as hung \
                 (tests still running: {}); ending the test process.",
                late.test,
                test_limit().as_secs(),
                others.join(", ")
            );
            std::process::exit(101);
        }
    }
}

/// A multipart body the way a browser form sends it: text fields, then the
/// `file` field if any. Returns the content type (with its boundary) and the body.
pub fn multipart_body(texts: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----avtosalon-test-boundary";
    let mut body = Vec::new();
    for (name, value) in texts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
