//! Who may do what: every REST route, every server function and every page,
//! asked by every kind of caller, through the real router on a fresh database.
//! The table below is the documentation of the access rules; a route, server
//! function or page without a row fails the test.
//!
//! Columns (callers), in this order:
//!   anon   nobody signed in
//!   rcB    reception of branch 2 asking about branch 1's client / visit
//!   rcA    reception of branch 1 (the data's own branch)
//!   mgr    manager              adm    admin
//!   kiosk  a paired kiosk tablet (its cookie)
//!   cam    a paired camera (its bearer token)
//!   tok    an API token (of the admin)
//!   rev    a revoked API token
//!   off    the session of a staff member who was deactivated since
//! Cells: `A` admitted by the rules (any answer but 401/403, never 5xx),
//! `U` refused as unknown (401; pages redirect to /login), `F` forbidden
//! (403), `*` open to anyone (any answer but 5xx: signing in says 401 or 429
//! to a wrong password), or an exact status code.
//!
//! Longer than 400 lines on purpose: independent tests of one feature, each a
//! whole story from the outside; split further they would share nothing but helpers.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use leptos::server_fn::ServerFn;
use serde_json::json;
use tower::ServiceExt;

use crate::camera::{enrolled_client, paired_camera};
use crate::common::{TestApp, app};

const CALLERS: [&str; 10] = [
    "anon", "rcB", "rcA", "mgr", "adm", "kiosk", "cam", "tok", "rev", "off",
];

/// How a row sends its request.
#[derive(Clone, Copy)]
enum Body_ {
    None,
    Form(&'static str),
    Json(&'static str),
}

struct Row {
    method: Method,
    path: String,
    body: Body_,
    expect: &'static str,
}

fn row(method: Method, path: impl Into<String>, body: Body_, expect: &'static str) -> Row {
    Row {
        method,
        path: path.into(),
        body,
        expect,
    }
}

/// Everyone's credentials and the data they ask about.
struct World {
    cookies: [Option<String>; 10],
    bearer: [Option<String>; 10],
    client: i64,
    visit: i64,
}

fn rpc<T: ServerFn>() -> String {
    T::PATH.to_string()
}

async fn form(app: &TestApp, path: &str, body: &str, cookie: &str) -> serde_json::Value {
    let reply = app.post_form(path, body, Some(cookie)).await;
    assert!(reply.status.is_success(), "{path}: {}", reply.body);
    serde_json::from_str(&reply.body).unwrap_or(serde_json::Value::Null)
}

async fn world(app: &TestApp) -> World {
    use app::settings::{CreateApiToken, CreateStaff, RevokeApiToken, SaveBranch, SetStaffActive};
    let admin = app.admin().await;
    // Branch 1 holds the data; branch 2 is the other reception's.
    for (name, zone) in [
        ("Toshkent", "Asia%2FTashkent"),
        ("Samarqand", "Asia%2FSamarkand"),
    ] {
        let body = format!(
            "id=&name={name}&city={name}&time_zone={zone}&opens_at=09%3A00&closes_at=20%3A00"
        );
        form(app, &rpc::<SaveBranch>(), &body, &admin).await;
    }
    let branch2 = 2;
    let staff = |login: &'static str, role: &'static str, branch: i64| {
        let admin = admin.clone();
        async move {
            let body = format!(
                "login={login}&full_name=Test+{login}&role={role}&branch_id={branch}&password=pass-{login}-123"
            );
            form(app, &rpc::<CreateStaff>(), &body, &admin)
                .await
                .as_i64()
                .unwrap()
        }
    };
    staff("rcb", "reception", branch2).await;
    staff("rca", "reception", 1).await;
    staff("mgr", "manager", 1).await;
    let leaver = staff("leaver", "manager", 1).await;
    let rcb = app.sign_in("rcb", "pass-rcb-123").await;
    let rca = app.sign_in("rca", "pass-rca-123").await;
    let mgr = app.sign_in("mgr", "pass-mgr-123").await;
    let off = app.sign_in("leaver", "pass-leaver-123").await;
    form(
        app,
        &rpc::<SetStaffActive>(),
        &format!("id={leaver}&active=false"),
        &admin,
    )
    .await;

    let token: String =
        serde_json::from_value(form(app, &rpc::<CreateApiToken>(), "name=matrix", &admin).await)
            .unwrap();
    let revoked: String =
        serde_json::from_value(form(app, &rpc::<CreateApiToken>(), "name=revoked", &admin).await)
            .unwrap();
    let revoked_id: i64 = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT id FROM api_tokens WHERE name = 'revoked'"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    form(
        app,
        &rpc::<RevokeApiToken>(),
        &format!("id={revoked_id}"),
        &admin,
    )
    .await;

    let (_, code) =
        app::settings::ssr::devices::create(&app.state.db, 1, 1, "kiosk", None, "Tablet")
            .await
            .unwrap();
    let paired = app
        .post_json(
            "/rpc/pair_kiosk",
            &json!({ "code": code }).to_string(),
            None,
        )
        .await;
    let kiosk = paired
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("avtosalon_kiosk="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a kiosk cookie");
    let camera = paired_camera(app, "entrance").await;

    // A client of branch 1 with an open visit.
    let client = enrolled_client(app, "Aziz Karimov", "+998901112233").await;
    let visit =
        app::visits::ssr::check_in(&app.state.db, 1, client, 1, app::vocab::VisitStart::Manual)
            .await
            .unwrap();

    World {
        cookies: [
            None,
            Some(rcb),
            Some(rca),
            Some(mgr),
            Some(admin),
            Some(kiosk),
            None,
            None,
            None,
            Some(off),
        ],
        bearer: [
            None,
            None,
            None,
            None,
            None,
            None,
            Some(camera),
            Some(token),
            Some(revoked),
            None,
        ],
        client,
        visit,
    }
}

/// The table. Rows that change data run after the ones that read it, and
/// the ones that end sessions run last.
fn table(w: &World) -> Vec<Row> {
    use Body_::{Form, Json, None as Empty};
    use Method as M;
    use app::auth::*;
    use app::camera::{RemoveStaffFace, StaffFaceStatus, StaffPresence};
    use app::clients::card::*;
    use app::clients::*;
    use app::dashboard::*;
    use app::potential::*;
    use app::profile::*;
    use app::settings::devices::*;
    use app::settings::*;
    use app::stats::*;
    let (c, v) = (w.client, w.visit);
    #[rustfmt::skip]
    let rows = vec![
        //                                                                  anon rcB rcA mgr adm kiosk cam tok rev off
        // Pages: the shell goes to any signed-in staff; the data behind it through server functions below.
        row(M::GET, "/", Empty,                                              "U A A A A U U U U U"),
        row(M::GET, "/clients", Empty,                                       "U A A A A U U U U U"),
        row(M::GET, "/clients/new", Empty,                                   "U A A A A U U U U U"),
        row(M::GET, format!("/clients/{c}"), Empty,                          "U A A A A U U U U U"),
        row(M::GET, "/stats", Empty,                                         "U A A A A U U U U U"),
        row(M::GET, "/potential", Empty,                                     "U A A A A U U U U U"),
        row(M::GET, "/settings", Empty,                                      "U A A A A U U U U U"),
        row(M::GET, "/profile", Empty,                                       "U A A A A U U U U U"),
        row(M::GET, "/kiosk", Empty,                                         "A A A A A A A A A A"),
        row(M::GET, "/login", Empty,                                         "200 303 303 303 303 200 200 200 200 200"),
        row(M::GET, "/healthz", Empty,                                       "A A A A A A A A A A"),
        // REST API.
        row(M::GET, "/api/me", Empty,                                        "U A A A A U U A U U"),
        row(M::GET, "/api/openapi.json", Empty,                              "U A A A A U U A U U"),
        row(M::GET, "/api/clients", Empty,                                   "U A A A A U U A U U"),
        row(M::GET, "/api/stats", Empty,                                     "U F F A A U U A U U"),
        row(M::GET, "/api/events", Empty,                                    "U A A A A U U A U U"),
        row(M::GET, "/api/export/clients", Empty,                            "U F F A A U U A U U"),
        row(M::GET, "/api/export/visits", Empty,                             "U F F A A U U A U U"),
        row(M::GET, format!("/api/clients/{c}/photo"), Empty,                "U F A A A U U A U U"),
        row(M::POST, format!("/api/clients/{c}/documents"), Empty,           "U F A A A U U A U U"),
        row(M::GET, "/api/documents/1", Empty,                               "U A A A A U U A U U"),
        row(M::GET, "/api/potential_buyers_ml", Empty,                       "U F F A A U U A U U"),
        row(M::POST, "/api/retrain_model", Empty,                            "U F F A A U U A U U"),
        row(M::POST, "/api/vision/pair", Json(r#"{"code":"NOPE"}"#),         "A A A A A A A A A A"),
        row(M::GET, "/api/vision/gallery", Empty,                            "U U U U U U A U U U"),
        row(M::GET, format!("/api/vision/clients/{c}/photo"), Empty,         "U U U U U U A U U U"),
        row(M::GET, "/api/vision/templates/1", Empty,                        "U U U U U U A U U U"),
        row(M::GET, "/api/vision/rejected/1", Empty,                         "U U U U U U A U U U"),
        row(M::GET, "/api/vision/staff/1/photo", Empty,                      "U U U U U U A U U U"),
        row(M::GET, "/api/vision/kiosk_frames", Empty,                       "U U U U U U A U U U"),
        row(M::POST, "/api/vision/kiosk_answers", Json("{}"),                "U U U U U U A U U U"),
        row(M::POST, "/api/vision/events", Json("{}"),                       "U U U U U U A U U U"),
        // Staff faces: one's own, or anyone's for an admin (admin is staff 1).
        row(M::POST, "/api/staff/1/face", Empty,                             "U F F F A U U A U U"),
        row(M::GET, "/api/nowhere", Empty,                                   "U 404 404 404 404 U U 404 U U"),
        // Server functions: staff.
        row(M::POST, rpc::<GetCurrentUser>(), Empty,                         "A A A A A A A A A A"),
        row(M::POST, rpc::<DashboardOverview>(), Empty,                      "U A A A A U U U U U"),
        row(M::POST, rpc::<DashboardBranches>(), Empty,                      "U A A A A U U U U U"),
        row(M::POST, rpc::<SearchClients>(), Form("query[page]=1"),          "U A A A A U U U U U"),
        row(M::POST, rpc::<ClientFormChoices>(), Empty,                      "U A A A A U U U U U"),
        row(M::POST, rpc::<LoadClientCard>(), Form(leak(format!("id={c}"))), "U F A A A U U U U U"),
        row(M::POST, rpc::<ClientScore>(), Form(leak(format!("client_id={c}&lang=uz"))), "U F A A A U U U U U"),
        row(M::POST, rpc::<AddVisitService>(), Form(leak(format!("visit_id={v}&kind=test_drive&note="))), "U F A A A U U U U U"),
        row(M::POST, rpc::<UpdateClient>(), Form(leak(format!("id={c}&form[full_name]=Aziz+Karimov&form[phone]=%2B998901112233"))), "U F A A A U U U U U"),
        row(M::POST, rpc::<RejectCameraMatch>(), Form(leak(format!("client_id={c}&event_id=999"))), "U F A A A U U U U U"),
        row(M::POST, rpc::<RecordClientSale>(), Form(leak(format!("client_id={c}&car=1&price=abc"))), "U F F A A U U U U U"),
        row(M::POST, rpc::<CorrectClientSale>(), Form(leak(format!("client_id={c}&sale_id=999&car=1&price=abc"))), "U F F A A U U U U U"),
        row(M::POST, rpc::<CancelClientSale>(), Form(leak(format!("client_id={c}&sale_id=999"))), "U F F A A U U U U U"),
        row(M::POST, rpc::<SetClientBiometrics>(), Form(leak(format!("client_id={c}&on=false"))), "U F A A A U U U U U"),
        row(M::POST, rpc::<DeleteClientDocument>(), Form(leak(format!("client_id={c}&id=999"))), "U F F A A U U U U U"),
        row(M::POST, rpc::<CheckInClient>(), Form(leak(format!("client_id={c}&branch_id=1"))), "U F A A A U U U U U"),
        row(M::POST, rpc::<CloseClientVisit>(), Form(leak(format!("visit_id={v}"))), "U F A A A U U U U U"),
        row(M::POST, rpc::<CreateClient>(), Form("form[full_name]=&form[phone]=&branch_id=1"), "U A A A A U U U U U"),
        row(M::POST, rpc::<TelegramStatus>(), Empty,                         "U A A A A U U U U U"),
        row(M::POST, rpc::<TelegramLinkCode>(), Empty,                       "U A A A A U U U U U"),
        row(M::POST, rpc::<SaveNotifyKinds>(), Form("kinds[0]=hot_lead"),    "U A A A A U U U U U"),
        row(M::POST, rpc::<TelegramUnlink>(), Empty,                         "U A A A A U U U U U"),
        row(M::POST, rpc::<StaffFaceStatus>(), Empty,                        "U A A A A U U U U U"),
        row(M::POST, rpc::<RemoveStaffFace>(), Form("staff_id=1"),           "U F F F A U U U U U"),
        row(M::POST, rpc::<ChangeOwnPassword>(), Form("current_password=x&new_password=short&repeat_password=short"), "U A A A A U U U U U"),
        // Server functions: managers.
        row(M::POST, rpc::<LoadStats>(), Form("from=&to=&branch=&lang=uz"),  "U F F A A U U U U U"),
        row(M::POST, rpc::<LoadLeads>(), Form("query[page]=1&lang=uz"),      "U F F A A U U U U U"),
        row(M::POST, rpc::<LoadModelPanel>(), Empty,                         "U F F A A U U U U U"),
        row(M::POST, rpc::<RetrainModel>(), Empty,                           "U F F A A U U U U U"),
        // Server functions: admins.
        row(M::POST, rpc::<ActivateModel>(), Form("id=999"),                 "U F F F A U U U U U"),
        row(M::POST, rpc::<SaveScoreBands>(), Form("hot=70&warm=40"),        "U F F F A U U U U U"),
        row(M::POST, rpc::<PinModelFamily>(), Form("family=auto"),           "U F F F A U U U U U"),
        row(M::POST, rpc::<LoadSettings>(), Empty,                           "U F F F A U U U U U"),
        row(M::POST, rpc::<StaffPresence>(), Empty,                          "U F F F A U U U U U"),
        row(M::POST, rpc::<LoadDevices>(), Empty,                            "U F F F A U U U U U"),
        row(M::POST, rpc::<SaveSnapshotRetention>(), Form("days=30"),        "U F F F A U U U U U"),
        row(M::POST, rpc::<CreateDevice>(), Form("name=&branch_id=1&kind=kiosk"), "U F F F A U U U U U"),
        row(M::POST, rpc::<RevokeDevice>(), Form("id=999"),                  "U F F F A U U U U U"),
        row(M::POST, rpc::<SaveConsent>(), Form("uz=&ru=&en="),              "U F F F A U U U U U"),
        row(M::POST, rpc::<SaveBranch>(), Form("id=&name=&city=&time_zone=&opens_at=&closes_at="), "U F F F A U U U U U"),
        row(M::POST, rpc::<CreateStaff>(), Form("login=&full_name=&role=&branch_id=&password="), "U F F F A U U U U U"),
        row(M::POST, rpc::<UpdateStaff>(), Form("id=999&login=&full_name=&role=&branch_id="), "U F F F A U U U U U"),
        row(M::POST, rpc::<SetStaffActive>(), Form("id=999&active=true"),    "U F F F A U U U U U"),
        row(M::POST, rpc::<UnlinkStaffTelegram>(), Form("id=999"),           "U F F F A U U U U U"),
        row(M::POST, rpc::<SetBranchBiometrics>(), Form("id=999&enabled=true"), "U F F F A U U U U U"),
        row(M::POST, rpc::<ResetStaffPassword>(), Form("id=999&password=x"), "U F F F A U U U U U"),
        row(M::POST, rpc::<CreateApiToken>(), Form("name="),                 "U F F F A U U U U U"),
        row(M::POST, rpc::<RevokeApiToken>(), Form("id=999"),                "U F F F A U U U U U"),
        row(M::POST, rpc::<EraseClient>(), Form("id=999"),                   "U F F F A U U U U U"),
        // Server functions: the kiosk tablet (its cookie, never a staff session).
        row(M::POST, "/rpc/pair_kiosk", Json(r#"{"code":"NOPE"}"#),          "A A A A A A A A A A"),
        row(M::POST, "/rpc/kiosk_info", Json("{}"),                          "U U U U U A U U U U"),
        row(M::POST, "/rpc/kiosk_lookup", Json(r#"{"phone":"x"}"#),          "U U U U U A U U U U"),
        row(M::POST, "/rpc/kiosk_face", Json(r#"{"frame":"x"}"#),            "U U U U U A U U U U"),
        row(M::POST, "/rpc/kiosk_check_in", Json(r#"{"submission":"s1","phone":"+998901112233","services":[],"consent_version":null,"biometric":false,"language":"uz"}"#), "U U U U U A U U U U"),
        row(M::POST, "/rpc/kiosk_register", Json(r#"{"form":{"submission":"s2","full_name":"","phone":"","birth_year":"","gender":"","source":"","car":"","services":[],"consent":false,"consent_version":1,"language":"uz","biometric":false,"photo":null}}"#), "U U U U U A U U U U"),
        // Signing in and out (last: they end sessions).
        row(M::POST, rpc::<SignIn>(), Form("login=nobody&password=wrong-password"), "* * * * * * * * * *"),
        row(M::POST, "/api/login", Json(r#"{"login":"nobody","password":"wrong-password"}"#), "* * * * * * * * * *"),
        row(M::POST, "/api/logout", Empty,                                   "U A A A A U U A U U"),
        row(M::POST, rpc::<SignOut>(), Empty,                                "A A A A A A A A A A"),
    ];
    rows
}

/// Test bodies are built once per run; leaking them keeps the table terse.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

async fn ask(app: &TestApp, w: &World, caller: usize, row: &Row) -> (StatusCode, Option<String>) {
    let mut request = Request::builder()
        .method(row.method.clone())
        .uri(&row.path)
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = &w.cookies[caller] {
        request = request.header(header::COOKIE, cookie);
    }
    if let Some(token) = &w.bearer[caller] {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match row.body {
        Body_::None => Body::empty(),
        Body_::Form(form) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form)
        }
        Body_::Json(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json)
        }
    };
    let response = app
        .router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Pages stream: read them to the end. Not the live stream: it never ends.
    if row.path != "/api/events" {
        use http_body_util::BodyExt;
        response.into_body().collect().await.unwrap();
    }
    (status, location)
}

fn meets(expect: &str, path: &str, status: StatusCode, location: Option<&str>) -> bool {
    let page = !path.starts_with("/api") && !path.starts_with("/rpc");
    match expect {
        "A" => {
            status != StatusCode::UNAUTHORIZED
                && status != StatusCode::FORBIDDEN
                && !status.is_server_error()
                && !(page && location == Some("/login"))
        }
        "U" if page => status.is_redirection() && location == Some("/login"),
        "U" => status == StatusCode::UNAUTHORIZED,
        "F" => status == StatusCode::FORBIDDEN,
        "*" => !status.is_server_error(),
        code => code.parse::<u16>().ok() == Some(status.as_u16()),
    }
}

#[tokio::test]
async fn every_route_server_function_and_page_follows_the_rule_book() {
    let app = app().await;
    let w = world(&app).await;
    let rows = table(&w);
    let mut wrong = Vec::new();
    for row in &rows {
        let cells: Vec<&str> = row.expect.split_whitespace().collect();
        assert_eq!(
            cells.len(),
            CALLERS.len(),
            "{} {}: cells",
            row.method,
            row.path
        );
        for (caller, expect) in cells.iter().enumerate() {
            let (status, location) = ask(&app, &w, caller, row).await;
            if !meets(expect, &row.path, status, location.as_deref()) {
                wrong.push(format!(
                    "{} {} as {}: expected {expect}, got {status} {}",
                    row.method,
                    row.path,
                    CALLERS[caller],
                    location.unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // Every server function has a row.
    let covered: BTreeSet<String> = rows.iter().map(|r| r.path.clone()).collect();
    let missing: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .filter(|path| !covered.contains(*path))
        .collect();
    assert!(
        missing.is_empty(),
        "server functions without a row: {missing:?}"
    );
    // Every page has a row (route parameters filled in).
    for page in server::serve::page_paths() {
        let filled = page.replace("{id}", &w.client.to_string());
        assert!(covered.contains(&filled), "page without a row: {page}");
    }
    // Every REST route has a row.
    for server::http::Rule { method, path, .. } in server::http::route_table() {
        let filled = path
            .replace("{id}", "1")
            .replace("/api/clients/1/", &format!("/api/clients/{}/", w.client))
            .replace(
                "/api/vision/clients/1/",
                &format!("/api/vision/clients/{}/", w.client),
            );
        assert!(
            rows.iter().any(|r| r.method == method && r.path == filled),
            "REST route without a row: {method} {path}"
        );
    }
}

/// A visit belongs to the branch visited: reception there finds and serves
/// a client of another branch while that client is visiting, and only then.
#[tokio::test]
async fn reception_serves_a_client_of_another_branch_while_they_visit_it() {
    use app::clients::card::{AddVisitService, CheckInClient, CloseClientVisit, LoadClientCard};
    let app = app().await;
    let w = world(&app).await;
    let (rcb, mgr) = (w.cookies[1].clone().unwrap(), w.cookies[3].clone().unwrap());
    let card_form = format!("id={}", w.client);
    let card = || app.post_form(LoadClientCard::PATH, &card_form, Some(&rcb));
    // Branch 2's list (the test client was written without a search text).
    let found = || async {
        let page = app
            .get("/api/clients?page_size=100", Some(&rcb))
            .await
            .json();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == w.client)
            .count()
    };
    assert_eq!(card().await.status, StatusCode::FORBIDDEN);
    assert_eq!(found().await, 0);

    // The client leaves branch 1 and comes to branch 2; the manager (of
    // branch 1) books the visit to the branch chosen, not the home branch.
    form(
        &app,
        &rpc::<CloseClientVisit>(),
        &format!("visit_id={}", w.visit),
        &mgr,
    )
    .await;
    let visit = form(
        &app,
        &rpc::<CheckInClient>(),
        &format!("client_id={}&branch_id=2", w.client),
        &mgr,
    )
    .await
    .as_i64()
    .unwrap();
    let booked: i64 = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT branch_id FROM visits WHERE id = $1"
    )
    .bind(visit)
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(booked, 2);

    // Branch 2's reception now finds, opens and serves them.
    assert_eq!(card().await.status, StatusCode::OK);
    assert_eq!(found().await, 1);
    let photo = app
        .get(&format!("/api/clients/{}/photo", w.client), Some(&rcb))
        .await;
    assert_ne!(photo.status, StatusCode::FORBIDDEN);
    form(
        &app,
        &rpc::<AddVisitService>(),
        &format!("visit_id={visit}&kind=test_drive&note="),
        &rcb,
    )
    .await;

    // Once the visit is over, the client is branch 1's again.
    form(
        &app,
        &rpc::<CloseClientVisit>(),
        &format!("visit_id={visit}"),
        &rcb,
    )
    .await;
    assert_eq!(card().await.status, StatusCode::FORBIDDEN);
    assert_eq!(found().await, 0);
}
