//! The bot against a fake Telegram Bot API server on 127.0.0.1 that speaks
//! the real HTTP protocol (getMe, getUpdates, sendMessage).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};

use crate::common::{app, scalar};

#[derive(Default)]
struct Fake {
    updates: Vec<Value>,
    sent: Vec<(i64, String)>,
    /// While set, every send fails as Telegram does when it is down for us.
    failing: bool,
}

type Shared = Arc<Mutex<Fake>>;

async fn method(
    State(fake): State<Shared>,
    Path((_bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut fake = fake.lock().unwrap();
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
        "sendmessage" if fake.failing => {
            json!({"ok": false, "error_code": 400, "description": "Bad Request: the fake is down"})
        }
        "sendmessage" => {
            let chat = request["chat_id"].as_i64().unwrap();
            let text = request["text"].as_str().unwrap().to_string();
            fake.sent.push((chat, text.clone()));
            json!({"ok": true, "result": message(chat, &text)})
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

fn text_update(id: i64, chat: i64, text: &str) -> Value {
    json!({"update_id": id, "message": {"message_id": id, "date": 1_700_000_000,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": false, "first_name": "Madina"}, "text": text}})
}

async fn wait_for(fake: &Shared, what: impl Fn(&Fake) -> bool) {
    for _ in 0..150 {
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
    sqlx::query(
        "UPDATE staff SET telegram_link_code = ?, telegram_link_expires_at = ?, language = 'en' WHERE login = 'admin'",
    )
        .bind(app::server::tokens::sha256_hex(b"LINK1234"))
        .bind(app::server::now() + 600)
        .execute(app.state.db.pool())
        .await
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
async fn an_outage_delays_notifications_and_each_arrives_once_in_order() {
    let app = app().await;
    let (fake, url) = fake_telegram().await;
    sqlx::query("UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    fake.lock().unwrap().failing = true;
    let t = app::server::now();
    sqlx::query(
        "INSERT INTO branches (id, name, city, created_at) VALUES (1, 'Chilonzor', 'Toshkent', 0)",
    )
    .execute(app.state.db.pool())
    .await
    .unwrap();
    for n in 1..=3 {
        sqlx::query(
            "INSERT INTO clients (id, branch_id, full_name, phone, visit_count, created_at, updated_at) \
             VALUES (?, 1, ?, ?, 1, 0, 0)",
        )
        .bind(n)
        .bind(format!("Client {n}"))
        .bind(format!("+99890000000{n}"))
        .execute(app.state.db.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO notification_outbox (kind, branch_id, client_id, payload, created_at, next_attempt_at) \
             VALUES ('new_client', 1, ?, '{}', ?, ?)",
        )
        .bind(n)
        .bind(t)
        .bind(t)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    }
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
                "New client registered at the kiosk: Client {n}, +99890000000{n}.",
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
async fn linked_staff_ask_for_clients_leads_and_statistics() {
    let app = crate::common::app_with_demo(1_500).await;
    app::server::scoring::train_and_activate(&app.state.db, None)
        .await
        .unwrap();
    let (fake, url) = fake_telegram().await;
    sqlx::query("UPDATE staff SET telegram_chat_id = 777, language = 'en' WHERE login = 'admin'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let (name, phone): (String, String) =
        sqlx::query_as("SELECT full_name, phone FROM clients WHERE id = 7")
            .fetch_one(app.state.db.pool())
            .await
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
    let code: String = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(code.len(), 8);
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
    let kinds: String = sqlx::query_scalar("SELECT notify_kinds FROM staff WHERE login = 'admin'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(kinds, "new_client,hot_lead");
    stop.send(true).unwrap();
}
