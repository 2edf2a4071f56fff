//! Sign-in under attack: password checks are bounded, guesses are counted
//! before they are checked, and a stranger cannot lock staff out.

use crate::common::{ADMIN_PASSWORD, TestApp, app};
use axum::http::{StatusCode, header};
use std::sync::Arc;

fn login_body(login: &str, password: &str) -> String {
    format!(r#"{{"login":"{login}","password":"{password}"}}"#)
}

/// Sends `bodies` all at once from the given addresses and returns the
/// answers in order.
async fn at_once(
    app: &Arc<TestApp>,
    requests: Vec<([u8; 4], String)>,
) -> Vec<crate::common::Reply> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(address, body)| {
            let app = app.clone();
            tokio::spawn(async move { app.post_json_from(address, "/api/login", &body).await })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_are_counted_before_they_are_checked() {
    let app = Arc::new(app().await);
    let guesses = (0..40)
        .map(|n| ([10, 0, 0, 7], login_body("admin", &format!("guess-{n:04}"))))
        .collect();
    let replies = at_once(&app, guesses).await;
    let checked = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // Three free failures and the one that sets the lock; the rest wait.
    assert_eq!(
        checked,
        4,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(refused, 36);
    for reply in replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
    {
        assert!(
            reply.headers.contains_key(header::RETRY_AFTER),
            "{:?}",
            reply.headers
        );
    }
}

#[tokio::test]
async fn an_attacker_elsewhere_cannot_lock_the_admin_out() {
    let app = app().await;
    let attacker = [203, 0, 113, 9];
    let office = [192, 168, 1, 20];
    let mut last = StatusCode::OK;
    for n in 0..8 {
        last = app
            .post_json_from(
                attacker,
                "/api/login",
                &login_body("admin", &format!("guess-{n}")),
            )
            .await
            .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // The attacker is locked, even with the right password …
    let attacker_right = app
        .post_json_from(attacker, "/api/login", &login_body("admin", ADMIN_PASSWORD))
        .await;
    assert_eq!(attacker_right.status, StatusCode::TOO_MANY_REQUESTS);
    // … and the admin at the office signs in.
    let office_right = app
        .post_json_from(office, "/api/login", &login_body("admin", ADMIN_PASSWORD))
        .await;
    assert_eq!(office_right.status, StatusCode::OK, "{}", office_right.body);
}

#[tokio::test]
async fn one_address_cannot_try_every_login() {
    let app = app().await;
    let sprayer = [198, 51, 100, 4];
    let mut statuses = Vec::new();
    for n in 0..30 {
        let login = format!("staff{n}");
        let reply = app
            .post_json_from(sprayer, "/api/login", &login_body(&login, "password1"))
            .await;
        statuses.push(reply.status);
    }
    assert!(
        statuses[..20]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED)
    );
    assert_eq!(statuses[29], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

/// A flood of anonymous sign-ins from many addresses: a few checks run at a
/// time, the excess is refused at once with 503 and Retry-After, and the
/// admin can sign in once it has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_sign_ins_is_bounded_and_refused_quickly() {
    let app = Arc::new(app().await);
    let flood = (0..100u8)
        .map(|n| {
            (
                [10, 1, n, 1],
                login_body(&format!("nobody{n}"), "password1"),
            )
        })
        .collect();
    let replies = at_once(&app, flood).await;
    let busy: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    let checked = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(busy.len() + checked, 100);
    assert!(busy.len() >= 50, "only {} refused", busy.len());
    for reply in &busy {
        assert_eq!(reply.json()["error"], "busy");
        assert!(reply.headers.contains_key(header::RETRY_AFTER));
    }
    assert!(app.state.password_checks.most_at_once() <= 4);
    let admin = app
        .post_json_from(
            [192, 168, 1, 20],
            "/api/login",
            &login_body("admin", ADMIN_PASSWORD),
        )
        .await;
    assert_eq!(admin.status, StatusCode::OK);
}

/// Signing in over a session that is already signed in gives a new session
/// id (no fixation), and the old id no longer works.
#[tokio::test]
async fn signing_in_again_gives_a_new_session_id() {
    let app = app().await;
    let first = app.admin().await;
    let reply = app
        .post_json(
            "/api/login",
            &login_body("admin", ADMIN_PASSWORD),
            Some(&first),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let second = reply.cookie().expect("a new session cookie");
    assert_ne!(first, second);
    assert_eq!(
        app.get("/api/me", Some(&second)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/me", Some(&first)).await.status,
        StatusCode::UNAUTHORIZED
    );
}
