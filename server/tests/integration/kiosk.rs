//! The kiosk from the outside: pairing, registration with consent and photo,
//! check-in by phone, replays, bad input, revocation; documents and erasure.
//!
//! Longer than 400 lines on purpose: independent tests of one feature, each a
//! whole story from the outside; split further they would share nothing but helpers.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use leptos::server_fn::ServerFn;
use serde_json::{Value, json};

/// An 8×8 orange PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4UaGBFTEMLQkAUtVaAV8W4QQAAAAASUVORK5CYII=";

fn photo() -> String {
    format!("data:image/png;base64,{PNG}")
}

/// Creates a kiosk at branch 1 and pairs it; returns its cookie.
pub async fn paired_kiosk(app: &TestApp) -> (i64, String) {
    let (id, code) =
        app::settings::ssr::devices::create(&app.state.db, 1, 1, "kiosk", None, "Entrance tablet")
            .await
            .unwrap();
    let reply = app
        .post_json(
            "/rpc/pair_kiosk",
            &json!({ "code": code.to_lowercase() }).to_string(),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let cookie = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("avtosalon_kiosk="))
        .expect("a kiosk cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    // The code works once.
    let again = app
        .post_json(
            "/rpc/pair_kiosk",
            &json!({ "code": code }).to_string(),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    (id, cookie.split(';').next().unwrap().to_string())
}

pub async fn info(app: &TestApp, kiosk: &str) -> Value {
    let reply = app.post_json("/rpc/kiosk_info", "{}", Some(kiosk)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

pub fn registration(submission: &str, phone: &str) -> Value {
    json!({
        "submission": submission,
        "full_name": "Dilnoza Rahimova",
        "phone": phone,
        "birth_year": "1992",
        "gender": "female",
        "source": "instagram",
        "car": "",
        "services": ["consultation", "test_drive"],
        "consent": true,
        "consent_version": 1,
        "language": "ru",
        "biometric": true,
        "photo": photo(),
    })
}

pub async fn register(app: &TestApp, kiosk: &str, form: &Value) -> crate::common::Reply {
    app.post_json(
        "/rpc/kiosk_register",
        &json!({ "form": form }).to_string(),
        Some(kiosk),
    )
    .await
}

fn stored_files(app: &TestApp, dir: &str) -> usize {
    std::fs::read_dir(app.state.data_dir.join(dir))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_paired_kiosk_registers_a_visitor_once_with_consent_and_photo() {
    let app = app_with_demo(30).await;
    let (_, kiosk) = paired_kiosk(&app).await;
    let setup = info(&app, &kiosk).await;
    assert_eq!(setup["consent_version"], 1);
    assert_eq!(setup["consent_texts"].as_array().unwrap().len(), 3);
    let submission = setup["submission"].as_str().unwrap().to_string();

    let form = registration(&submission, "+998 97 111-22-33");
    let reply = register(&app, &kiosk, &form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let done = reply.json();
    assert_eq!(done["new_client"], true);
    let client_id = done["client_id"].as_i64().unwrap();
    let visit_id = done["visit_id"].as_i64().unwrap();

    let (name, phone, version, language, biometric, photo_path): (
        String,
        String,
        i64,
        String,
        bool,
        String,
    ) = app::db_run!(app.state.db, |c| sqlx::query_as(
        "SELECT full_name, phone, consent_version, consent_language, biometric_opt_in, photo_path FROM clients WHERE id = $1",
    )
    .bind(client_id)
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(
        (
            name.as_str(),
            phone.as_str(),
            version,
            language.as_str(),
            biometric
        ),
        ("Dilnoza Rahimova", "+998971112233", 1, "ru", true)
    );
    // Re-encoded as JPEG under the data directory.
    let bytes = std::fs::read(app.state.data_dir.join(&photo_path)).unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "{photo_path}");
    let started: String = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT started_by FROM visits WHERE id = $1"
    )
    .bind(visit_id)
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(started, "kiosk");
    let services = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM service_requests WHERE visit_id = {visit_id}"),
    )
    .await;
    assert_eq!(services, 2);
    let queued = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM notification_outbox WHERE kind = 'new_client' AND client_id = {client_id}"),
    )
    .await;
    assert_eq!(queued, 1);

    // A double tap (the same submission again) changes nothing.
    let again = register(&app, &kiosk, &form).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json(), done);
    let visits = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM visits WHERE client_id = {client_id}"),
    )
    .await;
    assert_eq!(visits, 1);
    assert_eq!(stored_files(&app, "photos"), 1);

    // Staff see the photo; nobody else does.
    let admin = app.admin().await;
    let photo = app
        .get(&format!("/api/clients/{client_id}/photo"), Some(&admin))
        .await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(photo.headers[header::CACHE_CONTROL], "private, no-store");
    let anonymous = app
        .get(&format!("/api/clients/{client_id}/photo"), None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // The kiosk's own cookie is no staff session.
    let as_kiosk = app
        .get(&format!("/api/clients/{client_id}/photo"), Some(&kiosk))
        .await;
    assert_eq!(as_kiosk.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_registrations_are_refused_and_store_nothing() {
    let app = app_with_demo(20).await;
    let (_, kiosk) = paired_kiosk(&app).await;
    let clients_before = scalar(&app, "SELECT COUNT(*) FROM clients").await;
    let next_year = chrono_year() + 1;
    let executable = format!(
        "data:image/jpeg;base64,{}",
        base64_encode(b"\x7fELF\x02\x01\x01\x00 definitely not a photo")
    );
    let huge = format!("data:image/png;base64,{}", "A".repeat(12 * 1024 * 1024));
    let cases: Vec<(&str, Value)> = vec![
        ("phone", json!("12345")),
        ("full_name", json!("R2D2 Robot")),
        ("full_name", json!("A".repeat(500))),
        ("birth_year", json!("1800")),
        ("birth_year", json!(next_year.to_string())),
        ("birth_year", json!("")),
        ("consent", json!(false)),
        ("photo", json!(executable)),
        ("photo", json!("data:text/html;base64,PGgxPmhpPC9oMT4=")),
        (
            "photo",
            json!(format!("data:image/png;base64,{}", "A".repeat(11_300_000))),
        ),
        ("services", json!(["free_car"])),
        ("submission", json!("'; DROP TABLE clients; --")),
    ];
    for (field, value) in cases {
        let submission = info(&app, &kiosk).await["submission"]
            .as_str()
            .unwrap()
            .to_string();
        let mut form = registration(&submission, "+998971234500");
        form[field] = value;
        let reply = register(&app, &kiosk, &form).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.body
        );
        let error = reply.json();
        assert_eq!(error["error"], "invalid", "{error}");
    }
    // A body far beyond any photo is cut off before it is read whole.
    let submission = info(&app, &kiosk).await["submission"]
        .as_str()
        .unwrap()
        .to_string();
    let mut form = registration(&submission, "+998971234500");
    form["photo"] = json!(huge);
    let reply = register(&app, &kiosk, &form).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM clients").await,
        clients_before
    );
    assert_eq!(stored_files(&app, "photos"), 0);
}

#[tokio::test]
async fn returning_clients_check_in_by_phone_and_camera_visits_are_taken_over() {
    let app = app_with_demo(20).await;
    let (_, kiosk) = paired_kiosk(&app).await;

    // The entrance camera saw one unknown visitor a minute ago (and no other
    // unknown visitor is inside).
    let now = chrono_now();
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE visits SET left_at = entered_at + 60 WHERE client_id IS NULL AND left_at IS NULL",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let camera_visit: i64 = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "INSERT INTO visits (visit_token, branch_id, entered_at, started_by, created_at) \
         VALUES ('5f0c1f7e-0000-4000-8000-000000000001', 1, $1, 'camera', $2) RETURNING id",
    )
    .bind(now - 60)
    .bind(now - 60)
    .fetch_one(c)
    .await)
    .unwrap();
    let submission = info(&app, &kiosk).await["submission"]
        .as_str()
        .unwrap()
        .to_string();
    let done = register(&app, &kiosk, &registration(&submission, "+998971112299"))
        .await
        .json();
    assert_eq!(done["visit_id"], camera_visit, "{done}");

    // Close that visit, then the client comes back and checks in by phone.
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE visits SET left_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(camera_visit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let lookup = app
        .post_json(
            "/rpc/kiosk_lookup",
            r#"{"phone":"97 111 22 99"}"#,
            Some(&kiosk),
        )
        .await;
    assert_eq!(lookup.status, StatusCode::OK, "{}", lookup.body);
    assert_eq!(
        lookup.json(),
        json!({ "first_name": "Dilnoza", "consent_current": true })
    );
    let unknown = app
        .post_json(
            "/rpc/kiosk_lookup",
            r#"{"phone":"+998 99 000 00 01"}"#,
            Some(&kiosk),
        )
        .await;
    assert_eq!(unknown.json(), Value::Null);

    // A new consent text: the returning client must agree to it first.
    app::privacy::ssr::save_consent(&app.state.db, 1, "Yangi matn", "Новый текст", "New text")
        .await
        .unwrap();
    let lookup = app
        .post_json(
            "/rpc/kiosk_lookup",
            r#"{"phone":"+998971112299"}"#,
            Some(&kiosk),
        )
        .await
        .json();
    assert_eq!(lookup["consent_current"], false);
    let submission = info(&app, &kiosk).await["submission"]
        .as_str()
        .unwrap()
        .to_string();
    let check_in = |consent: Value| {
        json!({
            "submission": submission,
            "phone": "+998971112299",
            "services": ["credit"],
            "consent_version": consent,
            "biometric": false,
            "language": "en",
        })
        .to_string()
    };
    let refused = app
        .post_json("/rpc/kiosk_check_in", &check_in(Value::Null), Some(&kiosk))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let first = app
        .post_json("/rpc/kiosk_check_in", &check_in(json!(2)), Some(&kiosk))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = app
        .post_json("/rpc/kiosk_check_in", &check_in(json!(2)), Some(&kiosk))
        .await;
    assert_eq!(
        first.json(),
        second.json(),
        "a replay returns the first answer"
    );
    let client_id = first.json()["client_id"].as_i64().unwrap();
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) FROM visits WHERE client_id = {client_id}")
        )
        .await,
        2
    );
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT consent_version FROM clients WHERE id = {client_id}")
        )
        .await,
        2
    );
}

#[tokio::test]
async fn revoked_forged_and_camera_tokens_cannot_use_the_kiosk() {
    let app = app_with_demo(10).await;
    let (device, kiosk) = paired_kiosk(&app).await;
    info(&app, &kiosk).await;
    // A body that is not the function's arguments is a bad request, not a crash.
    let garbage = app
        .post_json("/rpc/kiosk_lookup", "{not json", Some(&kiosk))
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST, "{}", garbage.body);
    let missing = app
        .post_json("/rpc/kiosk_register", r#"{"form":{}}"#, Some(&kiosk))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
    let forged = format!("avtosalon_kiosk=kd_{}", "0".repeat(64));
    assert_eq!(
        app.post_json("/rpc/kiosk_info", "{}", Some(&forged))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post_json("/rpc/kiosk_info", "{}", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A camera's token is no kiosk token.
    let (_, code) = app::settings::ssr::devices::create(
        &app.state.db,
        1,
        1,
        "camera",
        Some("entrance"),
        "Door",
    )
    .await
    .unwrap();
    let (_, camera_token) = app::settings::ssr::devices::pair(&app.state.db, &code, "camera")
        .await
        .unwrap();
    assert_eq!(
        app.post_json(
            "/rpc/kiosk_info",
            "{}",
            Some(&format!("avtosalon_kiosk={camera_token}"))
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    app::settings::ssr::devices::revoke(&app.state.db, 1, device)
        .await
        .unwrap();
    assert_eq!(
        app.post_json("/rpc/kiosk_info", "{}", Some(&kiosk))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// A multipart upload the way a browser form sends it.
async fn upload(
    app: &TestApp,
    client_id: i64,
    cookie: Option<&str>,
    kind: &str,
    name: &str,
    bytes: &[u8],
) -> crate::common::Reply {
    let (content_type, body) = multipart_body(&[("kind", kind)], Some((name, bytes)));
    let mut request = Request::post(format!("/api/clients/{client_id}/documents"))
        .header(header::CONTENT_TYPE, content_type);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    app.send(request.body(Body::from(body)).unwrap()).await
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

#[tokio::test]
async fn documents_are_checked_stored_privately_and_audited() {
    let app = app_with_demo(10).await;
    let admin = app.admin().await;
    let client = 1;
    let passport = upload(
        &app,
        client,
        Some(&admin),
        "passport",
        "../../etc/passwd",
        PDF,
    )
    .await;
    assert_eq!(passport.status, StatusCode::CREATED, "{}", passport.body);
    let passport_id = passport.json()["id"].as_i64().unwrap();
    let (name, stored, checksum): (String, String, String) = app::db_run!(app.state.db, |c| {
        sqlx::query_as("SELECT file_name, stored_path, sha256 FROM documents WHERE id = $1")
            .bind(passport_id)
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert_eq!(name, "passwd.pdf", "the extension is the checked type's");
    assert!(
        stored.starts_with("documents/") && !stored.contains(".."),
        "{stored}"
    );
    assert_eq!(checksum, app::infra::tokens::sha256_hex(PDF));
    assert_eq!(
        std::fs::read(app.state.data_dir.join(&stored)).unwrap(),
        PDF
    );

    // Refused: a program called .jpg, an empty file, a bad kind, 10 MB + 1.
    let exe = upload(
        &app,
        client,
        Some(&admin),
        "other",
        "photo.jpg",
        b"MZ\x90\x00program",
    )
    .await;
    assert_eq!(exe.status, StatusCode::BAD_REQUEST, "{}", exe.body);
    let empty = upload(&app, client, Some(&admin), "other", "empty.pdf", b"").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let kind = upload(&app, client, Some(&admin), "selfie", "a.pdf", PDF).await;
    assert_eq!(kind.status, StatusCode::BAD_REQUEST);
    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let too_big = upload(&app, client, Some(&admin), "other", "big.pdf", &big).await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST, "{}", too_big.body);
    assert_eq!(too_big.json()["code"], "too_long");
    assert_eq!(stored_files(&app, "documents"), 1);
    assert_eq!(
        upload(&app, client, None, "other", "a.pdf", PDF)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Reception of the client's branch uploads a contract and sees it, but
    // not the passport; anonymous callers see nothing.
    let branch = scalar(&app, "SELECT branch_id FROM clients WHERE id = 1").await;
    app.post_form(
        app::settings::CreateStaff::PATH,
        &format!(
            "login=desk&full_name=Desk&role=reception&branch_id={branch}&password=desk-pass-1"
        ),
        Some(&admin),
    )
    .await;
    let desk = app.sign_in("desk", "desk-pass-1").await;
    let contract = upload(&app, client, Some(&desk), "contract", "shartnoma.pdf", PDF).await;
    assert_eq!(contract.status, StatusCode::CREATED, "{}", contract.body);
    let contract_id = contract.json()["id"].as_i64().unwrap();
    let view = app
        .get(&format!("/api/documents/{contract_id}"), Some(&desk))
        .await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(view.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(
        view.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(
        app.get(&format!("/api/documents/{passport_id}"), Some(&desk))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/api/documents/{passport_id}"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let download = app
        .get(
            &format!("/api/documents/{passport_id}?download=1"),
            Some(&admin),
        )
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(
        download.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let audited = scalar(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'document' AND action IN ('view', 'download')",
    )
    .await;
    assert_eq!(audited, 2);

    // A sale carries the client's own contract, never another client's document.
    let car = scalar(&app, "SELECT MIN(id) FROM car_models").await;
    let other = upload(&app, 2, Some(&admin), "contract", "other.pdf", PDF)
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let sale =
        |contract: i64| format!("client_id={client}&car={car}&price=250000000&contract={contract}");
    let foreign = app
        .post_form(
            app::clients::card::RecordClientSale::PATH,
            &sale(other),
            Some(&admin),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{}", foreign.body);
    let own = app
        .post_form(
            app::clients::card::RecordClientSale::PATH,
            &sale(contract_id),
            Some(&admin),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let attached = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM sales WHERE client_id = 1 AND contract_document_id = {contract_id}"),
    )
    .await;
    assert_eq!(attached, 1);
}

#[tokio::test]
async fn erasure_removes_personal_data_and_keeps_anonymous_visits() {
    let app = app_with_demo(20).await;
    let (_, kiosk) = paired_kiosk(&app).await;
    let submission = info(&app, &kiosk).await["submission"]
        .as_str()
        .unwrap()
        .to_string();
    let done = register(&app, &kiosk, &registration(&submission, "+998971110000"))
        .await
        .json();
    let client_id = done["client_id"].as_i64().unwrap();
    let admin = app.admin().await;
    assert_eq!(
        upload(&app, client_id, Some(&admin), "passport", "p.pdf", PDF)
            .await
            .status,
        StatusCode::CREATED
    );
    let visits_before = scalar(&app, "SELECT COUNT(*) FROM visits").await;
    app::privacy::ssr::erase_client(&app.state.db, &app.state.data_dir, 1, client_id)
        .await
        .unwrap();
    let (name, phone, photo, erased): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    ) = app::db_run!(app.state.db, |c| sqlx::query_as(
        "SELECT full_name, phone, photo_path, erased_at FROM clients WHERE id = $1"
    )
    .bind(client_id)
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!((name, phone, photo), (None, None, None));
    assert!(erased.is_some());
    assert_eq!(stored_files(&app, "photos"), 0);
    assert_eq!(stored_files(&app, "documents"), 0);
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) FROM documents WHERE client_id = {client_id}")
        )
        .await,
        0
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM visits").await,
        visits_before
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'erase'"
        )
        .await,
        1
    );
    // Gone from search, the card and the kiosk.
    let found = app
        .get("/api/clients?q=971110000", Some(&admin))
        .await
        .json();
    assert_eq!(found["total"], 0);
    let lookup = app
        .post_json(
            "/rpc/kiosk_lookup",
            r#"{"phone":"+998971110000"}"#,
            Some(&kiosk),
        )
        .await;
    assert_eq!(lookup.json(), Value::Null);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn chrono_year() -> i64 {
    // Good enough for "next year": 365.2425-day years since 1970.
    1970 + chrono_now() / 31_556_952
}

fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whoever types a returning client's phone at a kiosk may be someone else:
/// the new consent version is recorded, but face recognition is not switched
/// on from there. Staff switch it on the card, and only with a photo on file.
#[tokio::test]
async fn a_kiosk_cannot_switch_on_a_returning_client_s_face_recognition() {
    let app = app_with_demo(10).await;
    let (_, kiosk) = paired_kiosk(&app).await;
    let submission = info(&app, &kiosk).await["submission"]
        .as_str()
        .unwrap()
        .to_string();
    let mut form = registration(&submission, "+998971113344");
    form["biometric"] = json!(false);
    let done = register(&app, &kiosk, &form).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let client_id = done.json()["client_id"].as_i64().unwrap();
    let opted_in = format!(
        "SELECT CAST(CASE WHEN biometric_opt_in THEN 1 ELSE 0 END AS BIGINT) FROM clients WHERE id = {client_id}"
    );
    assert_eq!(scalar(&app, &opted_in).await, 0);

    app::privacy::ssr::save_consent(&app.state.db, 1, "Yangi matn", "Новый текст", "New text")
        .await
        .unwrap();
    let submission = info(&app, &kiosk).await["submission"]
        .as_str()
        .unwrap()
        .to_string();
    let check_in = json!({
        "submission": submission,
        "phone": "+998971113344",
        "services": ["consultation"],
        "consent_version": 2,
        "biometric": true,
        "language": "en",
    });
    let reply = app
        .post_json("/rpc/kiosk_check_in", &check_in.to_string(), Some(&kiosk))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT consent_version FROM clients WHERE id = {client_id}")
        )
        .await,
        2
    );
    assert_eq!(
        scalar(&app, &opted_in).await,
        0,
        "a kiosk switched face recognition on"
    );

    // Staff at the card, with the person there and the photo on file.
    let admin = app.admin().await;
    let on = app
        .post_form(
            app::clients::card::SetClientBiometrics::PATH,
            &format!("client_id={client_id}&on=true"),
            Some(&admin),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(scalar(&app, &opted_in).await, 1);
    assert_eq!(
        scalar(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'biometrics_on' AND entity_id = {client_id}")).await,
        1
    );
    // Without a photo there is nothing to compare the person with.
    let no_photo: i64 = scalar(
        &app,
        "SELECT id FROM clients WHERE photo_path IS NULL AND erased_at IS NULL ORDER BY id LIMIT 1",
    )
    .await;
    let refused = app
        .post_form(
            app::clients::card::SetClientBiometrics::PATH,
            &format!("client_id={no_photo}&on=true"),
            Some(&admin),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.json()["field"], "photo");
}

/// Each phone lookup tells a first name: a kiosk that asks too often is
/// slowed down, other kiosks are not.
#[tokio::test]
async fn a_kiosk_cannot_run_through_phone_numbers() {
    let app = app_with_demo(10).await;
    let (_, kiosk) = paired_kiosk(&app).await;
    let (_, other) = paired_kiosk(&app).await;
    let mut statuses = Vec::new();
    for n in 0..25 {
        let phone = format!(r#"{{"phone":"+9989900000{n:02}"}}"#);
        let reply = app
            .post_json("/rpc/kiosk_lookup", &phone, Some(&kiosk))
            .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(reply.headers.contains_key(axum::http::header::RETRY_AFTER));
        }
        statuses.push(reply.status);
    }
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(
        statuses[20..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let elsewhere = app
        .post_json(
            "/rpc/kiosk_lookup",
            r#"{"phone":"+998990000001"}"#,
            Some(&other),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::OK);
}
