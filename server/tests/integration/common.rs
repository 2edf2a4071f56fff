//! Shared helpers: a whole app on a fresh SQLite file per test, and requests
//! sent through the real router.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use clap::Parser;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub const ADMIN_PASSWORD: &str = "admin-pass-123";

pub struct TestApp {
    pub router: Router,
    pub state: app::infra::AppState,
    _dir: tempfile::TempDir,
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
    let dir = tempfile::tempdir().unwrap();
    let started = server::start(&config(dir.path())).await.unwrap();
    let state = started.state.clone();
    let router = server::router(started.state).await.unwrap();
    TestApp {
        router,
        state,
        _dir: dir,
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
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
    }
}

impl TestApp {
    pub async fn send(&self, request: Request<Body>) -> Reply {
        read(self.router.clone().oneshot(request).await.unwrap()).await
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

pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}
