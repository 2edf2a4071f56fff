//! A bounded, seeded fuzz run through the real router: every REST route,
//! server function and page gets malformed bodies (bad JSON and forms, wrong
//! types, huge numbers, NUL and other unicode, duplicate keys, deep nesting,
//! oversized strings), wrong content types, path tricks and bad query
//! strings, as an admin and anonymously. Nothing may answer 5xx or panic,
//! and no refused request may store anything.

use crate::common::{TestApp, app_with_demo, scalar};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

/// A small deterministic generator (xorshift64*): the same seed sends the
/// same requests, so a failure can be replayed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const BODIES: &[&str] = &[
    "",
    "{",
    "[]",
    "null",
    "{}",
    "\"text\"",
    r#"{"id":"x","client_id":[],"name":{},"phone":1e309}"#,
    r#"{"id":99999999999999999999999,"page":-1,"page_size":1000000000}"#,
    r#"{"id":1,"id":2,"name":"a","name":"b"}"#,
    "{\"q\":\"a\\u0000b\",\"name\":\"\\u0000\",\"phone\":\"\\u0000\"}",
    r#"{"name":"ẞ𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u202e evil","login":"a\nb","password":"\r\n"}"#,
    r#"{"code":"","key":"","kind":"sideways","occurred_at":-9223372036854775808}"#,
    r#"{"form":{"submission":"x","phone":"+998","services":["flying"],"consent":"yes"}}"#,
    "id=%ZZ&&=&id=1&id=2",
    "id=-1&client_id=9223372036854775808&on=maybe&active=2",
    "name=%00&phone=%00&full_name=%00&login=%00&password=%00",
    "branch_id=abc&kind=kiosk&camera_role=roof&time_zone=Mars%2FOlympus",
    "q=%F0%28%8C%BC&page=1e3&from=2020-13-45&to=yesterday",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/cbor",
    "",
];

const IDS: &[&str] = &[
    "1",
    "0",
    "-1",
    "99999999999999999999",
    "abc",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "1%20OR%201%3D1",
];

const QUERIES: &[&str] = &[
    "",
    "?q=%00",
    "?q=ab%00cd&page=-1&page_size=100000",
    "?from=2020-13-45&to=0000-00-00&branch=x",
    "?lang=zz&branch=0&format=exe",
    "?page=99999999999999999999&sort=;DROP%20TABLE%20clients",
    "?%ZZ=%ZZ",
];

/// Rows of the tables a refused request must not touch.
async fn stored(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "clients",
        "visits",
        "service_requests",
        "sales",
        "documents",
        "staff",
        "branches",
        "devices",
        "api_tokens",
        "camera_events",
        "consent_texts",
        "car_models",
    ] {
        counts.push(scalar(app, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    counts
}

#[tokio::test]
async fn malformed_requests_never_get_a_5xx_or_store_anything() {
    let app = app_with_demo(30).await;
    let admin = app.admin().await;
    let mut targets: Vec<(Method, String)> = server::http::route_table()
        .into_iter()
        .map(|rule| (rule.method, rule.path))
        .collect();
    targets.extend(
        leptos::server_fn::axum::server_fn_paths().map(|(path, method)| (method, path.to_string())),
    );
    targets.extend(
        server::serve::page_paths()
            .into_iter()
            .map(|page| (Method::GET, page)),
    );
    // Server functions come from a hash map: sorted, every run sends the same requests.
    targets.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    let mut rng = Seeded(0x5EED_2026_1130);
    let mut counts = stored(&app).await;
    let (mut sent, mut accepted) = (0, Vec::new());
    for (method, path) in &targets {
        // The live stream never ends, by design; signing out ends the fuzzing session.
        if path == "/api/events" {
            continue;
        }
        let signs_out = path.contains("logout") || path.contains("sign_out");
        for round in 0..40 {
            let id = rng.pick(IDS);
            let uri = format!("{}{}", path.replace("{id}", id), rng.pick(QUERIES));
            let body = rng.pick(BODIES);
            let content_type = rng.pick(CONTENT_TYPES);
            let mut request = Request::builder().method(method.clone()).uri(&uri);
            if !content_type.is_empty() {
                request = request.header(header::CONTENT_TYPE, content_type);
            }
            if round % 3 != 0 && !signs_out {
                request = request.header(header::COOKIE, &admin);
            }
            let Ok(request) = request.body(Body::from(body.to_string())) else {
                continue; // not even a valid HTTP request line
            };
            let reply = app.send(request).await;
            sent += 1;
            // A refused request stores nothing; an accepted one (garbage
            // can still be a valid request) moves the baseline.
            if *method != Method::GET {
                let after = stored(&app).await;
                assert!(
                    reply.status.is_success() || after == counts,
                    "{method} {uri} {body:?} -> {} but stored something: {counts:?} -> {after:?}",
                    reply.status
                );
                counts = after;
            }
            assert!(
                !reply.status.is_server_error(),
                "{method} {uri} ({content_type}) {body:?} -> {}: {}",
                reply.status,
                reply.body
            );
            if reply.status.is_success() && *method != Method::GET {
                accepted.push(format!("{method} {uri} {body:?} -> {}", reply.status));
            }
        }
    }
    // Oversized bodies are refused before anything reads them.
    let huge = "x".repeat(13 * 1024 * 1024);
    let reply = app
        .send(
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, huge.len())
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let reply = app.post_json("/api/login", &nested, None).await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
    assert!(sent > 2_000, "only {sent} requests");
    eprintln!(
        "fuzz: {sent} requests to {} targets, none 5xx, {} non-GET accepted",
        targets.len(),
        accepted.len()
    );
}
