//! What the browser receives: pages, JSON and SVG charts compressed as the
//! browser asks (gzip on a plain-http kiosk, brotli over HTTPS), event
//! streams never (each event must leave at once), built assets revalidated.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::io::Read;

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a gzip body");
    text
}

async fn get_accepting(app: &TestApp, path: &str, cookie: &str, encoding: &str) -> Reply {
    let request = Request::get(path)
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_ENCODING, encoding)
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn pages_json_and_charts_are_compressed_when_the_browser_asks() {
    let app = app_with_demo(200).await;
    let admin = app.admin().await;
    for path in ["/stats", "/api/clients?page_size=200", "/clients"] {
        let plain = app.get(path, Some(&admin)).await;
        assert_eq!(plain.status, StatusCode::OK, "{path}");
        assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
        let gzip = get_accepting(&app, path, &admin, "gzip, deflate").await;
        assert_eq!(gzip.status, StatusCode::OK, "{path}");
        assert_eq!(gzip.headers[header::CONTENT_ENCODING], "gzip", "{path}");
        assert_eq!(gzip.headers[header::VARY], "accept-encoding", "{path}");
        let text = gunzip(&gzip.raw);
        assert!(
            gzip.raw.len() * 3 < text.len(),
            "{path}: {} B compressed from {} B",
            gzip.raw.len(),
            text.len()
        );
        // The same page: nothing lost in compression (pages carry a fresh
        // nonce, so compare their shape, JSON exactly).
        if path.starts_with("/api/") {
            assert_eq!(text, plain.body, "{path}");
        } else {
            assert!(text.contains("</html>") && text.len() > plain.body.len() / 2);
        }
        let brotli = get_accepting(&app, path, &admin, "gzip, deflate, br").await;
        assert_eq!(brotli.headers[header::CONTENT_ENCODING], "br", "{path}");
        // Personal pages stay out of every cache, compressed or not.
        assert_eq!(brotli.headers[header::CACHE_CONTROL], "no-store", "{path}");
    }
    // The statistics page's SVG charts are inline: they are in the HTML.
    let stats = gunzip(&get_accepting(&app, "/stats", &admin, "gzip").await.raw);
    assert!(stats.contains("<svg"), "charts in the page");
}

#[tokio::test]
async fn event_streams_are_not_compressed() {
    let app = app().await;
    let admin = app.admin().await;
    let request = Request::get("/api/events")
        .header(header::COOKIE, &admin)
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
}
