//! Sales from the card: one sale however often the form is sent, corrected
//! and cancelled by a manager with the audit log keeping what it was, and
//! the potential-buyers list following.

use crate::common::{app_with_demo, scalar};
use axum::http::StatusCode;
use leptos::server_fn::ServerFn;

use app::clients::card::{CancelClientSale, CorrectClientSale, RecordClientSale};

fn in_list(page: &serde_json::Value, client: i64) -> bool {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["client_id"] == client)
}

#[tokio::test]
async fn a_sale_is_recorded_once_corrected_and_cancelled_with_the_log_and_scores_following() {
    let app = app_with_demo(600).await;
    let admin = app.admin().await;
    let trained = app.post_json("/api/retrain_model", "", Some(&admin)).await;
    assert_eq!(trained.status, StatusCode::OK, "{}", trained.body);
    // The best-ranked non-buyer.
    let leads = app
        .get("/api/potential_buyers_ml?page_size=1", Some(&admin))
        .await
        .json();
    let client = leads["items"][0]["client_id"].as_i64().unwrap();
    let car = scalar(&app, "SELECT MIN(id) FROM car_models").await;
    let submission = "0b6b1c1e-4a57-4d4e-9a59-3f1f6f1c2a10";
    let form = format!("client_id={client}&car={car}&price=250+000+000&submission={submission}");

    // A double click: both requests at once, one sale.
    let (first, second) = tokio::join!(
        app.post_form(RecordClientSale::PATH, &form, Some(&admin)),
        app.post_form(RecordClientSale::PATH, &form, Some(&admin)),
    );
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(first.body, second.body, "the same sale id");
    let sales = format!("SELECT COUNT(*) FROM sales WHERE client_id = {client}");
    assert_eq!(scalar(&app, &sales).await, 1);
    let sale: i64 = first.body.trim().parse().unwrap();
    // The same submission id for another client is refused, not merged.
    let other = app
        .post_form(
            RecordClientSale::PATH,
            &format!(
                "client_id={}&car={car}&price=250000000&submission={submission}",
                client + 1
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST, "{}", other.body);
    assert!(other.body.contains("submission"), "{}", other.body);
    let buyers = app
        .get("/api/potential_buyers_ml?page_size=100", Some(&admin))
        .await
        .json();
    assert!(
        !in_list(&buyers, client),
        "a buyer is not a potential buyer"
    );

    // A typing mistake in the price is corrected; a bad price says which field.
    let bad = app
        .post_form(
            CorrectClientSale::PATH,
            &format!("client_id={client}&sale_id={sale}&car={car}&price=12abc"),
            Some(&admin),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("\"price\""), "{}", bad.body);
    let corrected = app
        .post_form(
            CorrectClientSale::PATH,
            &format!("client_id={client}&sale_id={sale}&car={car}&price=265000000"),
            Some(&admin),
        )
        .await;
    assert_eq!(corrected.status, StatusCode::OK, "{}", corrected.body);
    assert_eq!(
        scalar(&app, &format!("SELECT price FROM sales WHERE id = {sale}")).await,
        265_000_000
    );
    // A sale of another client cannot be reached through this one.
    let wrong_client = app
        .post_form(
            CancelClientSale::PATH,
            &format!("client_id={}&sale_id={sale}", client + 1),
            Some(&admin),
        )
        .await;
    assert_eq!(wrong_client.status, StatusCode::NOT_FOUND);

    // Cancelled: gone from the statistics, a potential buyer again, logged.
    let cancelled = app
        .post_form(
            CancelClientSale::PATH,
            &format!("client_id={client}&sale_id={sale}"),
            Some(&admin),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(scalar(&app, &sales).await, 0);
    let again = app
        .get("/api/potential_buyers_ml?page_size=5", Some(&admin))
        .await
        .json();
    assert!(in_list(&again, client), "back among the potential buyers");
    let log: Vec<(String, String)> = app::db_run!(app.state.db, |c| sqlx::query_as(
        "SELECT action, detail FROM audit_log WHERE entity = 'client' AND entity_id = $1 \
         AND action IN ('correct_sale', 'cancel_sale') ORDER BY id",
    )
    .bind(client)
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].0, "correct_sale");
    assert!(
        log[0].1.contains("250000000") && log[0].1.contains("265000000"),
        "{}",
        log[0].1
    );
    assert_eq!(log[1].0, "cancel_sale");
    assert!(log[1].1.contains("265000000"), "{}", log[1].1);
}
