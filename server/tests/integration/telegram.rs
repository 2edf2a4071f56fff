//! The bot against a fake Telegram Bot API server on 127.0.0.1 that speaks
//! the real HTTP protocol (getMe, getUpdates, sendMessage, sendPhoto as
//! multipart with `attach://`).
//!
//! Longer than 400 lines on purpose: independent tests of one feature, each a
//! whole story from the outside; split further they would share nothing but helpers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRequest, Path, State};
use axum::routing::post;
use serde_json::{Value, json};

use crate::common::{app, scalar};

#[derive(Default)]
struct Fake {
    updates: Vec<Value>,
    /// (chat, text or caption) of every message and photo, in arrival order.
    sent: Vec<(i64, String)>,
    /// (chat, caption, bytes of the attached photo) of every photo.
    photos: Vec<(i64, String, usize)>,
    /// When each of `sent` arrived.
    arrived: Vec<std::time::Instant>,
    /// While set, every send fails as Telegram does when it is down for us.
    failing: bool,
    /// Chats whose user blocked the bot.
    blocked: Vec<i64>,
    /// While set, Telegram answers every call as it does to a wrong token.
    refuse_token: bool,
    /// While set, every call fails as when Telegram is unreachable.
    down: bool,
    /// Calls of any method, to see how often the bot retries.
    calls: usize,
}

type Shared = Arc<Mutex<Fake>>;

/// A multipart request's text fields as JSON, and the bytes of the file
/// that the `photo` field points at with `attach://NAME`.
async fn multipart_fields(request: axum::extract::Request) -> (Value, usize) {
    let mut form = axum::extract::Multipart::from_request(request, &())
        .await
        .unwrap();
    let mut fields = serde_json::Map::new();
    let mut files = std::collections::HashMap::new();
    while let Some(field) = form.next_field().await.unwrap() {
        let name = field.name().unwrap_or_default().to_string();
        let is_file = field.file_name().is_some();
        let bytes = field.bytes().await.unwrap();
        if is_file {
            files.insert(name, bytes.len());
        } else {
            let text = String::from_utf8_lossy(&bytes).to_string();
            let value = text
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(text));
            fields.insert(name, value);
        }
    }
    let photo = fields
        .get("photo")
        .and_then(|p| p.as_str())
        .and_then(|p| p.strip_prefix("attach://"))
        .and_then(|name| files.get(name).copied())
        .unwrap_or(0);
    (Value::Object(fields), photo)
}

async fn method(
    State(fake): State<Shared>,
    Path((_bot, method)): Path<(String, String)>,
    request: axum::extract::Request,
) -> axum::Json<Value> {
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (request, photo_bytes) = if multipart {
        multipart_fields(request).await
    } else {
        let body = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .unwrap();
        (serde_json::from_slice(&body).unwrap_or(Value::Null), 0)
    };
    let mut fake = fake.lock().unwrap();
    fake.calls += 1;
    if fake.refuse_token {
        return axum::Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
    }
    if fake.down {
        return axum::Json(json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}));
    }
    let message = |chat: i64, text: &str| json!({"message_id": 1, "date": 1_700_000_000, "chat": {"id": chat, "type": "private"}, "text": text});
    axum::Json(match method.to_ascii_lowercase().as_str() {
        "getme" => {
            json!({"ok": true, "result": {"id": 42, "is_bot": true, "first_name": "Avtosalon",
            "username": "avtosalon_bot", "can_join_groups": false, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false}})
        }
        "getupdates" => {
            let offset = request["offset"].as_i64().unwrap_or(0);
            let updates: Vec<Value> = fake
                .updates
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap() >= offset)
                .cloned()
                .collect();
            json!({"ok": true, "result": updates})
        }
        "sendmessage" | "sendphoto"
            if fake
                .blocked
                .contains(&request["chat_id"].as_i64().unwrap_or(0)) =>
        {
            json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
        }
        "sendmessage" | "sendphoto" if fake.failing => {
            json!({"ok": false, "error_code": 400, "description": "Bad Request: the fake is down"})
        }
        "sendmessage" => {
            let chat = request["chat_id"].as_i64().unwrap();
            let text = request["text"].as_str().unwrap().to_string();
            fake.sent.push((chat, text.clone()));
            fake.arrived.push(std::time::Instant::now());
            json!({"ok": true, "result": message(chat, &text)})
        }
        "sendphoto" => {
            let chat = request["chat_id"].as_i64().unwrap();
            let caption = request["caption"].as_str().unwrap_or_default().to_string();
            fake.sent.push((chat, caption.clone()));
            fake.arrived.push(std::time::Instant::now());
            fake.photos.push((chat, caption.clone(), photo_bytes));
            json!({"ok": true, "result": message(chat, &caption)})
        }
        _ => json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"}),
    })
}

async fn fake_telegram() -> (Shared, url::Url) {
    let fake: Shared = Default::default();
    let router = axum::Router::new()
        .route("/{bot}/{method}", post(method))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, url::Url::parse(&format!("http://{address}")).unwrap())
}

/// Clients 1..=n at branch 1, each with a queued "new client" notification.
async fn queue_new_clients(app: &crate::common::TestApp, n: i64, t: i64) {
    for n in 1..=n {
        app::db_run!(app.state.db, |c| sqlx::query(
            "INSERT INTO clients (id, branch_id, full_name, phone, visit_count, created_at, updated_at) \
             VALUES ($1, 1, $2, $3, 1, 0, 0)",
        )
        .bind(n)
        .bind(format!("Client {n}"))
        .bind(format!("+99890000000{n}"))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        app::db_run!(app.state.db, |c| sqlx::query(
            "INSERT INTO notification_outbox (kind, branch_id, client_id, payload, created_at, next_attempt_at) \
             VALUES ('new_client', 1, $1, '{}', $2, $3)",
        )
        .bind(n)
        .bind(t)
        .bind(t)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
}

fn text_update(id: i64, chat: i64, text: &str) -> Value {
    json!({"update_id": id, "message": {"message_id": id, "date": 1_700_000_000,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": false, "first_name": "Madina"}, "text": text}})
}

async fn wait_for(fake: &Shared, what: impl Fn(&Fake) -> bool) {
    for _ in 0..300 {
        if what(&fake.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out; sent so far: {:?}", fake.lock().unwrap().sent);
}

fn start(app: &crate::common::TestApp, url: url::Url) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    server::bot::spawn(
        app.state.clone(),
        server::bot::BotConfig {
            token: "123456:TEST".into(),
            api_url: Some(url),
        },
        stopped,
    );
    stop
}

#[tokio::test]
async fn staff_link_with_a_code_and_strangers_are_refused() {
    let app = app().await;
    let (fake, url) = fake_telegram().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE staff SET telegram_link_code = $1, telegram_link_expires_at = $2, language = 'en' WHERE login = 'admin'",
    )
    .bind(app::infra::tokens::sha256_hex(b"LINK1234"))
    .bind(app::infra::now() + 600)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let stop = start(&app, url);
    fake.lock()
        .unwrap()
        .updates
        .push(text_update(1, 999, "/today"));
    wait_for(&fake, |f| f.sent.iter().any(|(chat, _)| *chat == 999)).await;
    assert!(fake.lock().unwrap().sent[0].1.contains("staff only"));

    fake.lock()
        .unwrap()
        .updates
        .push(text_update(2, 777, "/start LINK1234"));
    wait_for(&fake, |f| {
        f.sent
            .iter()
            .any(|(chat, t)| *chat == 777 && t.contains("Linked"))
    })
    .await;
    assert_eq!(
        scalar(
            &app,
            "SELECT telegram_chat_id FROM staff WHERE login = 'admin'"
        )
        .await,
        777
    );
    // The code works once.
    fake.lock()
        .unwrap()
        .updates
        .push(text_update(3, 555, "/start LINK1234"));
    wait_for(&fake, |f| f.sent.iter().any(|(chat, _)| *chat == 555)).await;
    assert!(
        fake.lock()
            .unwrap()
            .sent
            .iter()
            .any(|(c, t)| *c == 555 && t.contains("noma’lum"))
    );
    // Linked staff get answers in their language; unknown commands get help.
    for (id, text) in [(4, "/today"), (5, "/inside"), (6, "/fly")] {
        fake.lock()
            .unwrap()
            .updates
            .push(text_update(id, 777, text));
    }
    wait_for(&fake, |f| {
        f.sent.iter().filter(|(c, _)| *c == 777).count() >= 4
    })
    .await;
    let to_777: Vec<String> = fake
        .lock()
        .unwrap()
        .sent
        .iter()
        .filter(|(c, _)| *c == 777)
        .map(|(_, t)| t.clone())
        .collect();
    assert!(to_777[1].starts_with("Today: 0 visits"), "{to_777:?}");
    assert_eq!(to_777[2], "Nobody is in the showroom now.");
    assert!(
        to_777[3].starts_with("There is no such command.") && to_777[3].contains("/inside"),
        "{to_777:?}"
    );
    stop.send(true).unwrap();
}

#[tokio::test]
async fn a_database_failure_asks_to_try_again_in_the_chat_language() {
    let app = app().await;
    let db = &app.state.db;
    app::db_run!(db, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    // The reports' tables go missing; the staff table (who is asking) stays.
    for table in [
        "visits",
        "sales",
        "service_requests",
        "clients",
        "client_scores",
        "stats_hourly",
    ] {
        let sql = format!("ALTER TABLE {table} RENAME TO {table}_gone");
        app::db_run!(db, |c| sqlx::query(&sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
    }
    let try_again = "Something went wrong on our side; please try again in a minute.";
    for ask in ["/today", "/inside", "/client Aziz", "/top", "/stats week"] {
        assert_eq!(server::bot::answer(db, 777, ask).await, try_again, "{ask}");
    }
    // Answers that need no report are unchanged.
    assert_eq!(
        server::bot::answer(db, 777, "/stats year").await,
        "Write: /stats week or /stats month"
    );
    assert!(
        server::bot::answer(db, 777, "/fly")
            .await
            .starts_with("There is no such command.")
    );
    // Without the staff table the chat's language is unknown: all three.
    app::db_run!(db, |c| sqlx::query(
        "ALTER TABLE staff RENAME TO staff_gone"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let failed = server::bot::answer(db, 777, "/today").await;
    assert!(failed.contains(try_again), "{failed}");
    assert!(!failed.contains("no such command"), "{failed}");
}

#[tokio::test]
async fn an_outage_delays_notifications_and_each_arrives_once_in_order() {
    let app = app().await;
    let (fake, url) = fake_telegram().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    fake.lock().unwrap().failing = true;
    let t = app::infra::now();
    app::db_run!(app.state.db, |c| sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (1, 'Chilonzor', 'Toshkent', 0)",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    queue_new_clients(&app, 3, t).await;
    let stop = start(&app, url);
    // Telegram is down: attempts are counted, nothing is marked sent.
    for _ in 0..50 {
        if scalar(&app, "SELECT MAX(attempts) FROM notification_outbox").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(scalar(&app, "SELECT MAX(attempts) FROM notification_outbox").await > 0);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM notification_outbox WHERE sent_at IS NOT NULL"
        )
        .await,
        0
    );
    fake.lock().unwrap().failing = false;
    wait_for(&fake, |f| f.sent.len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sent = fake.lock().unwrap().sent.clone();
    let texts: Vec<&str> = sent.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(sent.len(), 3, "{texts:?}");
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(
            *text,
            format!(
                "New client registered at the kiosk: Client {n}, +99890000000{n}.\nBranch: Chilonzor",
                n = i + 1
            )
        );
    }
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM notification_outbox WHERE sent_at IS NOT NULL"
        )
        .await,
        3
    );
    stop.send(true).unwrap();
}

#[tokio::test]
async fn when_telegram_answers_again_what_waited_goes_out_at_once() {
    let app = app().await;
    let (fake, url) = fake_telegram().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app::db_run!(app.state.db, |c| sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (1, 'Chilonzor', 'Toshkent', 0)",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    fake.lock().unwrap().down = true;
    let stop = start(&app, url);
    for _ in 0..100 {
        if *app.state.bot.read().unwrap() == app::notify::BotState::Unreachable {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        *app.state.bot.read().unwrap(),
        app::notify::BotState::Unreachable
    );
    // A long outage: the notifications have backed off for five minutes.
    let t = app::infra::now();
    queue_new_clients(&app, 3, t).await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE notification_outbox SET attempts = 9, next_attempt_at = $1"
    )
    .bind(t + 300)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let back = std::time::Instant::now();
    fake.lock().unwrap().down = false;
    wait_for(&fake, |f| f.sent.len() >= 3).await;
    assert!(
        back.elapsed() < Duration::from_secs(60),
        "waited {:?} for the backoff",
        back.elapsed()
    );
    let sent = fake.lock().unwrap().sent.clone();
    assert!(
        sent[0].1.contains("Client 1") && sent[2].1.contains("Client 3"),
        "{sent:?}"
    );
    stop.send(true).unwrap();
}

#[tokio::test]
async fn linked_staff_ask_for_clients_leads_and_statistics() {
    let app = crate::common::app_with_demo(1_500).await;
    app::scoring::ssr::train_and_activate(&app.state.db, None)
        .await
        .unwrap();
    let (fake, url) = fake_telegram().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let (name, phone): (String, String) = app::db_run!(app.state.db, |c| sqlx::query_as(
        "SELECT full_name, phone FROM clients WHERE id = 7"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    let stop = start(&app, url);
    let asks = [
        format!("/client {}", &phone[4..]),
        "/top".to_string(),
        "/stats week".to_string(),
        "/stats year".to_string(),
        format!("/client {}", "x".repeat(500)),
    ];
    for (i, ask) in asks.iter().enumerate() {
        fake.lock()
            .unwrap()
            .updates
            .push(text_update(i as i64 + 1, 777, ask));
    }
    wait_for(&fake, |f| f.sent.len() >= asks.len()).await;
    let answers: Vec<String> = fake
        .lock()
        .unwrap()
        .sent
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert!(
        answers[0].starts_with(&format!("{name} · {phone} · visits: ")),
        "{answers:?}"
    );
    assert!(
        answers[0].contains("probability: ") && answers[0].ends_with('%'),
        "{answers:?}"
    );
    assert!(answers[1].starts_with("Hottest leads:"), "{answers:?}");
    assert_eq!(answers[1].lines().count(), 6, "{answers:?}");
    assert!(answers[2].starts_with("Last 7 days: "), "{answers:?}");
    assert!(answers[2].ends_with(" sales."), "{answers:?}");
    assert_eq!(answers[3], "Write: /stats week or /stats month");
    assert!(
        answers[4].starts_with("There is no such command."),
        "{answers:?}"
    );

    use leptos::server_fn::ServerFn;
    // Hot lead: a rescore that lifts a client over the hot threshold is
    // announced once, with the reasons; a second rescore is not news.
    let admin = app.admin().await;
    let bands = app
        .post_form(
            app::potential::SaveScoreBands::PATH,
            "hot=0.1&warm=0",
            Some(&admin),
        )
        .await;
    assert_eq!(bands.status, axum::http::StatusCode::OK, "{}", bands.body);
    app::db_run!(app.state.db, |c| sqlx::query(
        "DELETE FROM client_scores WHERE client_id = 7"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app::scoring::ssr::rescore_client(&app.state.db, 7)
        .await
        .unwrap();
    app::scoring::ssr::rescore_client(&app.state.db, 7)
        .await
        .unwrap();
    wait_for(&fake, |f| {
        f.sent.iter().any(|(_, t)| t.starts_with("Hot lead"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hot: Vec<String> = fake
        .lock()
        .unwrap()
        .sent
        .iter()
        .filter(|(_, t)| t.starts_with("Hot lead"))
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(hot.len(), 1, "{hot:?}");
    assert!(
        hot[0].starts_with(&format!("Hot lead: {name}, {phone} — probability ")),
        "{hot:?}"
    );
    assert!(hot[0].contains("\nWhy: "), "{hot:?}");
    stop.send(true).unwrap();
}

#[tokio::test]
async fn a_chat_that_blocked_the_bot_is_unlinked_and_holds_up_nobody() {
    let app = crate::camera::camera_app().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    add_staff(&app, "blocker", "manager", None, "en", 888, "new_client").await;
    let (fake, url) = fake_telegram().await;
    fake.lock().unwrap().blocked.push(888);
    let t = app::infra::now();
    queue_new_clients(&app, 2, t).await;
    let stop = start(&app, url);
    wait_for(&fake, |f| f.sent.len() >= 2).await;
    let sent = fake.lock().unwrap().sent.clone();
    assert!(sent.iter().all(|(chat, _)| *chat == 777), "{sent:?}");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM staff WHERE login = 'blocker' AND telegram_chat_id IS NULL"
        )
        .await,
        1
    );
    for _ in 0..50 {
        if scalar(
            &app,
            "SELECT COUNT(*) FROM notification_outbox WHERE sent_at IS NULL",
        )
        .await
            == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM notification_outbox WHERE sent_at IS NULL"
        )
        .await,
        0
    );
    stop.send(true).unwrap();
}

/// Staff for routing checks: (login, role, branch, language, chat, kinds).
#[tokio::test]
async fn the_bot_follows_the_access_rule_book() {
    let app = app().await;
    let db = &app.state.db;
    app::db_run!(db, |c| sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (1, 'Toshkent', 'Toshkent', 0)",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    add_staff(&app, "desk", "reception", Some(1), "en", 501, "").await;
    add_staff(&app, "boss", "manager", Some(1), "en", 502, "").await;
    // A reception account that lost its branch is refused everywhere, like on the web.
    add_staff(&app, "lost", "reception", None, "en", 503, "").await;
    let forbidden = "Only managers and admins may ask this. /help lists your commands.";
    for ask in ["/top", "/stats week"] {
        assert_eq!(server::bot::answer(db, 501, ask).await, forbidden, "{ask}");
        assert_ne!(server::bot::answer(db, 502, ask).await, forbidden, "{ask}");
    }
    assert_ne!(server::bot::answer(db, 501, "/today").await, forbidden);
    assert_ne!(server::bot::answer(db, 501, "/inside").await, forbidden);
    for ask in ["/today", "/inside", "/client Aziz", "/top"] {
        assert_eq!(server::bot::answer(db, 503, ask).await, forbidden, "{ask}");
    }
}

async fn add_staff(
    app: &crate::common::TestApp,
    login: &str,
    role: &str,
    branch: Option<i64>,
    language: &str,
    chat: i64,
    kinds: &str,
) {
    app::db_run!(app.state.db, |c| sqlx::query(
        "INSERT INTO staff (login, full_name, password_hash, role, branch_id, language, telegram_chat_id, notify_kinds, created_at, updated_at) \
         VALUES ($1, $2, 'x', $3, $4, $5, $6, $7, 0, 0)",
    )
    .bind(login)
    .bind(login)
    .bind(role)
    .bind(branch)
    .bind(language)
    .bind(chat)
    .bind(kinds)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
}

#[tokio::test]
async fn every_kind_of_notification_reaches_the_right_staff_in_their_language() {
    use crate::camera::{PNG, camera_event, enrolled_client, now_ms, paired_camera};
    let app = crate::camera::camera_app().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (2, 'Yunusobod', 'Toshkent', 0)",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    // Reception at the other branch hears nothing of branch 1; a manager
    // who chose only the daily summary gets only that, in Uzbek.
    add_staff(
        &app,
        "reception2",
        "reception",
        Some(2),
        "ru",
        888,
        "unknown_visitor,new_client,returning_client,client_left,hot_lead,daily_summary",
    )
    .await;
    add_staff(&app, "manager", "manager", None, "uz", 999, "daily_summary").await;
    let (fake, url) = fake_telegram().await;
    let stop = start(&app, url);
    let entrance = paired_camera(&app, "entrance").await;
    let exit = paired_camera(&app, "exit").await;
    let client = enrolled_client(&app, "Aziz Karimov", "+998901110001").await;
    let key = || uuid::Uuid::new_v4().to_string();

    let stranger = json!({"key": key(), "kind": "enter", "occurred_at": now_ms(), "client_id": null, "snapshot": PNG});
    assert_eq!(
        camera_event(&app, &entrance, &stranger).await.status,
        axum::http::StatusCode::OK
    );
    wait_for(&fake, |f| !f.photos.is_empty()).await;
    let entered = now_ms() - 25 * 60_000;
    let back = json!({"key": key(), "kind": "enter", "occurred_at": entered, "client_id": client, "similarity": 0.8, "snapshot": PNG});
    assert_eq!(
        camera_event(&app, &entrance, &back).await.status,
        axum::http::StatusCode::OK
    );
    let out = json!({"key": key(), "kind": "exit", "occurred_at": entered + 25 * 60_000, "client_id": client, "similarity": 0.7});
    assert_eq!(
        camera_event(&app, &exit, &out).await.status,
        axum::http::StatusCode::OK
    );
    wait_for(&fake, |f| f.sent.len() >= 3).await;

    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE branches SET closes_at = '00:00'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let closed = app::notify::ssr::closing::run_due(&app.state.db, app::infra::now())
        .await
        .unwrap();
    assert_eq!(closed.len(), 2, "both branches close at or before now");
    wait_for(&fake, |f| f.sent.len() >= 6).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let offset = app::settings::ssr::branches::offset_minutes(&app.state.db, Some(1))
        .await
        .unwrap();

    let fake = fake.lock().unwrap();
    let to = |chat: i64| -> Vec<String> {
        fake.sent
            .iter()
            .filter(|(c, _)| *c == chat)
            .map(|(_, t)| t.clone())
            .collect()
    };
    let admin = to(777);
    assert_eq!(admin.len(), 5, "{admin:?}");
    assert!(
        admin[0].starts_with("Unknown visitor at the entrance, "),
        "{admin:?}"
    );
    assert!(admin[0].ends_with("\nBranch: Chilonzor"), "{admin:?}");
    assert!(
        admin[1].starts_with("Aziz Karimov is back: visit 2.\nLast visit: "),
        "{admin:?}"
    );
    assert!(admin[1].contains(" · probability: — · car: —"), "{admin:?}");
    assert!(
        admin[2].starts_with("Aziz Karimov left after 25 min."),
        "{admin:?}"
    );
    let summaries: Vec<&String> = admin[3..].iter().collect();
    // The day closed is today at the branch: in the first 25 minutes after
    // its midnight the returning visit began yesterday and is not counted.
    let local_day = |ms: i64| (ms / 1000 + i64::from(offset) * 60).div_euclid(86_400);
    let counts = if local_day(entered) == local_day(now_ms()) {
        ": 2 visits, 0 new, 1 returning, 0 test drives, 0 sales."
    } else {
        ": 1 visits, 0 new, 0 returning, 0 test drives, 0 sales."
    };
    assert!(
        summaries
            .iter()
            .any(|t| t.contains(counts) && t.ends_with("Branch: Chilonzor")),
        "{admin:?}"
    );
    assert!(
        summaries.iter().any(|t| t.ends_with("Branch: Yunusobod")),
        "{admin:?}"
    );
    // The unknown visitor's snapshot and the client's photo went as photos.
    let photos: Vec<(i64, usize)> = fake.photos.iter().map(|(c, _, n)| (*c, *n)).collect();
    assert_eq!(photos.len(), 2, "{photos:?}");
    assert!(
        photos.iter().all(|(c, n)| *c == 777 && *n > 100),
        "{photos:?}"
    );
    // Routing: reception at branch 2 hears only its own summary, in Russian.
    assert_eq!(to(888).len(), 1, "{:?}", to(888));
    assert!(to(888)[0].starts_with("Итоги дня "), "{:?}", to(888));
    assert!(to(888)[0].ends_with("Филиал: Yunusobod"), "{:?}", to(888));
    let manager = to(999);
    assert_eq!(manager.len(), 2, "{manager:?}");
    assert!(
        manager.iter().all(|t| t.starts_with("Kun yakuni ")),
        "{manager:?}"
    );
    drop(fake);
    stop.send(true).unwrap();
}

/// How long from an event reaching the server to the notification arriving
/// at the fake Telegram server. Run by `make bench` (ignored in tests; no
/// timing is asserted): prints the median and the worst of 10 events.
#[tokio::test]
#[ignore]
async fn notification_latency() {
    use crate::camera::{camera_event, now_ms, paired_camera};
    let app = crate::camera::camera_app().await;
    app::db_run!(app.state.db, |c| sqlx::query(
        "UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let (fake, url) = fake_telegram().await;
    let stop = start(&app, url);
    let entrance = paired_camera(&app, "entrance").await;
    let mut latencies = Vec::new();
    for n in 0..10 {
        // Telegram allows one message a second per chat: keep under it, so
        // the figure is ours, not the rate limit's.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let started = std::time::Instant::now();
        let event = json!({"key": uuid::Uuid::new_v4().to_string(), "kind": "enter", "occurred_at": now_ms(), "client_id": null});
        assert_eq!(
            camera_event(&app, &entrance, &event).await.status,
            axum::http::StatusCode::OK
        );
        wait_for(&fake, |f| f.sent.len() > n).await;
        let arrived = fake.lock().unwrap().arrived[n];
        latencies.push(arrived.duration_since(started).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    println!(
        "event -> sendMessage on the fake Bot API: median {:.1} ms, max {:.1} ms (10 events)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    stop.send(true).unwrap();
}

#[tokio::test]
async fn a_code_from_the_profile_page_links_the_chat_and_kinds_are_chosen() {
    use leptos::server_fn::ServerFn;
    let app = app().await;
    let admin = app.admin().await;
    let reply = app
        .post_form(app::profile::TelegramLinkCode::PATH, "", Some(&admin))
        .await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.body);
    let link: app::profile::LinkCode = serde_json::from_str(&reply.body).unwrap();
    let code = link.code;
    assert_eq!(code.len(), 8);
    // The bot is not running yet: no name to show, no link.
    assert_eq!((link.bot, link.link), (None, None));
    let (fake, url) = fake_telegram().await;
    let stop = start(&app, url);
    fake.lock()
        .unwrap()
        .updates
        .push(text_update(1, 4242, &format!("/start {code}")));
    wait_for(&fake, |f| f.sent.iter().any(|(c, _)| *c == 4242)).await;
    assert_eq!(
        scalar(
            &app,
            "SELECT telegram_chat_id FROM staff WHERE login = 'admin'"
        )
        .await,
        4242
    );
    // Only known kinds can be chosen; the choice is stored in the fixed order.
    let bad = app
        .post_form(
            app::profile::SaveNotifyKinds::PATH,
            "kinds[0]=spam",
            Some(&admin),
        )
        .await;
    assert_eq!(
        bad.status,
        axum::http::StatusCode::BAD_REQUEST,
        "{}",
        bad.body
    );
    let good = app
        .post_form(
            app::profile::SaveNotifyKinds::PATH,
            "kinds[0]=hot_lead&kinds[1]=new_client",
            Some(&admin),
        )
        .await;
    assert_eq!(good.status, axum::http::StatusCode::OK, "{}", good.body);
    let kinds: String = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT notify_kinds FROM staff WHERE login = 'admin'"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(kinds, "new_client,hot_lead");
    stop.send(true).unwrap();
}

/// The bot's state for the settings page.
async fn bot_state(app: &crate::common::TestApp, admin: &str) -> Value {
    use leptos::server_fn::ServerFn;
    let settings = app
        .post_form(app::settings::LoadSettings::PATH, "", Some(admin))
        .await;
    settings.json()["bot"].clone()
}

/// A token Telegram refuses is said once, retried rarely, and shown in
/// Settings; a good one shows the bot's name there.
#[tokio::test]
async fn a_refused_token_is_reported_once_and_retried_rarely() {
    let app = app().await;
    let admin = app.admin().await;
    assert_eq!(bot_state(&app, &admin).await["state"], "off");
    let (fake, url) = fake_telegram().await;
    fake.lock().unwrap().refuse_token = true;
    let _stop = start(&app, url);
    let mut state = Value::Null;
    for _ in 0..100 {
        state = bot_state(&app, &admin).await;
        if state["state"] == "token_refused" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state["state"], "token_refused");
    let calls = fake.lock().unwrap().calls;
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Before, a refused token was retried (and logged) every 2 s.
    assert_eq!(fake.lock().unwrap().calls, calls, "retried within 5 s");
}

#[tokio::test]
async fn settings_show_the_connected_bot() {
    let app = app().await;
    let admin = app.admin().await;
    let (_fake, url) = fake_telegram().await;
    let _stop = start(&app, url);
    let mut state = Value::Null;
    for _ in 0..100 {
        state = bot_state(&app, &admin).await;
        if state["state"] == "connected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        state,
        json!({"state": "connected", "username": "avtosalon_bot"})
    );
    // The page says so in words, with the running version beside it.
    let page = app.get("/settings", Some(&admin)).await;
    assert!(page.body.contains("avtosalon_bot"), "{}", page.body);
    let version = page
        .body
        .split_once(r#"data-test="version""#)
        .map(|(_, rest)| rest.chars().take(200).collect::<String>())
        .expect("the version on the settings page");
    assert!(
        version.contains("Versiya") && version.contains(env!("CARGO_PKG_VERSION")),
        "{version}"
    );
}
