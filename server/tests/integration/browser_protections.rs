//! What protects the browsers that use the app: cross-site requests are
//! refused (forms on another site cannot act as a signed-in admin, nor sign
//! anyone in), every answer carries the security headers, and with an
//! HTTPS public address cookies are Secure and HSTS is sent.

use crate::common::{ADMIN_PASSWORD, app, app_with, scalar};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use leptos::server_fn::ServerFn;

fn form(path: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn a_form_on_another_site_cannot_create_a_staff_account() {
    let app = app().await;
    let admin = app.admin().await;
    let body = "login=intruder&full_name=Intruder&role=admin&branch_id=&password=intruder-pass-1";
    let path = app::settings::CreateStaff::PATH;
    let from_elsewhere = app
        .send_with(
            form(path, body, Some(&admin)),
            &[
                ("origin", "http://evil.example"),
                ("host", "127.0.0.1:3000"),
            ],
        )
        .await;
    assert_eq!(
        from_elsewhere.status,
        StatusCode::FORBIDDEN,
        "{}",
        from_elsewhere.body
    );
    assert_eq!(from_elsewhere.json()["error"], "forbidden");
    // A browser that hides the origin still says the request is cross-site.
    let hidden = app
        .send_with(
            form(path, body, Some(&admin)),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM staff WHERE login = 'intruder'").await,
        0
    );

    // The same form from the app's own page works.
    let own = app
        .send_with(
            form(path, body, Some(&admin)),
            &[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000"),
            ],
        )
        .await;
    assert!(own.status.is_success(), "{}", own.body);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM staff WHERE login = 'intruder'").await,
        1
    );
}

#[tokio::test]
async fn another_site_cannot_sign_a_browser_in() {
    let app = app().await;
    let body = format!(r#"{{"login":"admin","password":"{ADMIN_PASSWORD}"}}"#);
    let request = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let reply = app
        .send_with(
            request,
            &[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:3000"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.cookie().is_none());
    let sign_in = form(
        app::auth::SignIn::PATH,
        &format!("login=admin&password={ADMIN_PASSWORD}"),
        None,
    );
    let reply = app.send_with(sign_in, &[("origin", "null")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.cookie().is_none());
}

#[tokio::test]
async fn answers_carry_the_security_headers() {
    let app = app().await;
    let admin = app.admin().await;
    let page = app.get("/", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    let policy = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self' 'nonce-"), "{policy}");
    // The nonce in the policy is the one on the page's scripts.
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(page.body.contains(&format!("nonce=\"{nonce}\"")), "{nonce}");
    for reply in [
        &page,
        &app.get("/api/me", Some(&admin)).await,
        &app.get("/login", None).await,
    ] {
        assert_eq!(reply.headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(reply.headers[header::REFERRER_POLICY], "same-origin");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
        // Plain HTTP: no HSTS.
        assert!(
            !reply
                .headers
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        );
    }
    assert!(
        page.cookie().is_none()
            || !page.headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .contains("Secure")
    );
}

#[tokio::test]
async fn behind_https_cookies_are_secure_hsts_is_sent_and_links_use_the_public_address() {
    let app = app_with(|config| {
        config.public_url =
            Some(app::infra::site::PublicUrl::parse("https://salon.example").unwrap());
    })
    .await;
    let reply = app
        .post_json(
            "/api/login",
            &format!(r#"{{"login":"admin","password":"{ADMIN_PASSWORD}"}}"#),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let set_cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
    assert!(
        reply.headers[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    let admin = reply.cookie().unwrap();
    let branch = app
        .post_form(
            app::settings::SaveBranch::PATH,
            "id=&name=Chilonzor&city=Toshkent&time_zone=Asia%2FTashkent&opens_at=09%3A00&closes_at=20%3A00",
            Some(&admin),
        )
        .await;
    let branch_id: i64 = branch.body.trim().parse().unwrap();
    // The public origin is same-site even when the proxy changes Host.
    let device = app
        .send_with(
            form(
                app::settings::devices::CreateDevice::PATH,
                &format!("name=Entrance&branch_id={branch_id}&kind=camera&camera_role=entrance"),
                Some(&admin),
            ),
            &[
                ("origin", "https://salon.example"),
                ("host", "127.0.0.1:3000"),
            ],
        )
        .await;
    assert!(device.status.is_success(), "{}", device.body);
    assert!(
        device
            .body
            .contains("vision pair --server https://salon.example --code"),
        "{}",
        device.body
    );
}

#[tokio::test]
async fn a_nul_in_a_search_is_a_bad_request() {
    let app = app().await;
    let admin = app.admin().await;
    for path in ["/api/clients?q=ab%00cd", "/api/clients?q=%00"] {
        let reply = app.get(path, Some(&admin)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], "q");
    }
}
