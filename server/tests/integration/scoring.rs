//! The purchase model on demo data: it beats the visit-count baseline, sees
//! nothing after a sale, keeps the old model when it cannot train, and its
//! reasons are its largest contributions.

use crate::common::{app_with_demo, scalar};
use axum::http::StatusCode;
use leptos::server_fn::ServerFn;

#[tokio::test]
async fn the_model_beats_the_baseline_and_ranks_clients_with_reasons() {
    let app = app_with_demo(3_000).await;
    let admin = app.admin().await;
    let trained = app.post_json("/api/retrain_model", "", Some(&admin)).await;
    assert_eq!(trained.status, StatusCode::OK, "{}", trained.body);
    let m = trained.json();
    let (auc, baseline) = (
        m["roc_auc"].as_f64().unwrap(),
        m["baseline_roc_auc"].as_f64().unwrap(),
    );
    eprintln!(
        "ROC AUC {auc:.3}, baseline {baseline:.3}, Brier {}",
        m["brier"]
    );
    assert!(
        auc > baseline + 0.05,
        "model {auc} vs visit count {baseline}"
    );
    assert!(m["brier"].as_f64().unwrap() < 0.2);
    // Of the newest clients ranked highest, more bought than of as many at random.
    let (ranked, bought) = (m["top"][0].as_u64().unwrap(), m["top"][1].as_u64().unwrap());
    let base =
        ranked as f64 * m["test_buyers"].as_f64().unwrap() / m["test_count"].as_f64().unwrap();
    assert!(
        ranked == (m["test_count"].as_u64().unwrap() / 10).clamp(1, 100) && bought as f64 > base,
        "{bought} of {ranked} vs {base}"
    );
    // A retrain on the same data is measured against the active model on the
    // same clients; not worse, it replaces it, and the answer says against what.
    let again = app
        .post_json("/api/retrain_model", "", Some(&admin))
        .await
        .json();
    assert_eq!(again["active"], true, "{again}");
    assert_eq!(again["incumbent"][0], m["id"], "{again}");
    assert_eq!(
        scalar(&app, "SELECT id FROM models WHERE active").await,
        again["id"].as_i64().unwrap()
    );

    let leads = app
        .get("/api/potential_buyers_ml?page_size=50", Some(&admin))
        .await;
    assert_eq!(leads.status, StatusCode::OK, "{}", leads.body);
    let leads = leads.json();
    let items = leads["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    let probabilities: Vec<f64> = items
        .iter()
        .map(|l| l["probability"].as_f64().unwrap())
        .collect();
    assert!(probabilities.windows(2).all(|w| w[0] >= w[1]));
    assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(items.iter().all(|l| l["bought"] == false));
    assert!(
        items
            .iter()
            .all(|l| !l["reasons"].as_array().unwrap().is_empty())
    );
    assert_eq!(
        leads["total"],
        scalar(
            &app,
            "SELECT COUNT(*) FROM clients WHERE id NOT IN (SELECT client_id FROM sales)"
        )
        .await
    );
    // Each filter lists exactly the clients SQL finds for it, best first,
    // and counts them (the list reads the score index, the count subtracts
    // buyers: both must agree with the plain query).
    let unsold = "c.id NOT IN (SELECT client_id FROM sales)";
    let recent = format!("c.last_visit_at >= {}", app::infra::now() - 90 * 86_400);
    for (query, filter) in [
        ("branch=1&not_bought=0", "c.branch_id = 1".to_string()),
        ("branch=2", format!("c.branch_id = 2 AND {unsold}")),
        (
            "car=1&last_visit_days=90",
            format!("c.car_model_id = 1 AND {recent} AND {unsold}"),
        ),
        ("not_bought=0&page=2", "TRUE".to_string()),
    ] {
        let page = app
            .get(
                &format!("/api/potential_buyers_ml?page_size=40&{query}"),
                Some(&admin),
            )
            .await
            .json();
        let listed: Vec<i64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["client_id"].as_i64().unwrap())
            .collect();
        let offset = if query.contains("page=2") { 40 } else { 0 };
        let sql = format!(
            "SELECT c.id FROM clients c JOIN client_scores s ON s.client_id = c.id \
             WHERE {filter} ORDER BY s.probability DESC, c.id LIMIT 40 OFFSET {offset}"
        );
        let expected: Vec<i64> = app::db_run!(app.state.db, |c| sqlx::query_scalar(&sql)
            .fetch_all(c)
            .await)
        .unwrap();
        assert!(!expected.is_empty(), "{query}");
        assert_eq!(listed, expected, "{query}");
        let total = scalar(
            &app,
            &format!(
                "SELECT COUNT(*) FROM clients c JOIN client_scores s ON s.client_id = c.id WHERE {filter}"
            ),
        )
        .await;
        assert_eq!(page["total"], total, "{query}");
    }
    // Every client was scored.
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM client_scores").await,
        3_000
    );
    // That full rescore built the rank index again: it is back, as the
    // migration made it.
    let rank_index = match app.state.db.backend() {
        app::infra::db::Backend::Sqlite(_) => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'client_scores_rank' \
             AND sql LIKE '%(probability DESC, client_id)'"
        }
        app::infra::db::Backend::Postgres(_) => {
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'client_scores_rank' \
             AND indexdef LIKE '%(probability DESC, client_id)'"
        }
    };
    assert_eq!(scalar(&app, rank_index).await, 1);
    let russian = app
        .get("/api/potential_buyers_ml?page_size=1&lang=ru", Some(&admin))
        .await
        .json();
    let reason = russian["items"][0]["reasons"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.chars().any(|c| ('а'..='я').contains(&c)), "{reason}");
    assert_eq!(
        app.get("/api/potential_buyers_ml?page=0", Some(&admin))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn features_after_the_sale_change_nothing() {
    let app = app_with_demo(400).await;
    let db = &app.state.db;
    let now = app::infra::now();
    let buyer: i64 = scalar(&app, "SELECT client_id FROM sales ORDER BY id LIMIT 1").await;
    let before = app::scoring::ssr::features::load(db, now, true, Some(buyer))
        .await
        .unwrap();
    let sold_at = scalar(
        &app,
        &format!("SELECT MIN(sold_at) FROM sales WHERE client_id = {buyer}"),
    )
    .await;
    // A later visit with a test drive and credit talk, an hour after the sale.
    app::db_run!(db, |c| sqlx::query(
        "INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, created_at) \
         VALUES (999999, 'after-sale', $1, 1, $2, $3, 'camera', 0)",
    )
    .bind(buyer)
    .bind(sold_at + 3600)
    .bind(sold_at + 7200)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    for kind in ["test_drive", "credit", "trade_in"] {
        app::db_run!(db, |c| sqlx::query(
            "INSERT INTO service_requests (visit_id, client_id, branch_id, kind, requested_at) VALUES (999999, $1, 1, $2, $3)",
        )
        .bind(buyer)
        .bind(kind)
        .bind(sold_at + 4000)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
    let after = app::scoring::ssr::features::load(db, now, true, Some(buyer))
        .await
        .unwrap();
    assert_eq!(before, after);
    assert!(after[0].bought);
    // Without the outcome cut-off (today's state), the new visit counts.
    let today = app::scoring::ssr::features::load(db, now, false, Some(buyer))
        .await
        .unwrap();
    assert_ne!(today[0].values, after[0].values);
}

#[tokio::test]
async fn one_class_keeps_the_previous_model_and_says_why() {
    let app = app_with_demo(1_500).await;
    let admin = app.admin().await;
    assert_eq!(
        app.post_json("/api/retrain_model", "", Some(&admin))
            .await
            .status,
        StatusCode::OK
    );
    let active = scalar(&app, "SELECT id FROM models WHERE active").await;
    app::db_run!(app.state.db, |c| sqlx::query("DELETE FROM sales")
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    let refused = app.post_json("/api/retrain_model", "", Some(&admin)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.json()["error"], "training_refused");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("one class"),
        "{}",
        refused.body
    );
    assert_eq!(
        scalar(&app, "SELECT id FROM models WHERE active").await,
        active
    );
    // One training: one model of each family, none added by the refusal.
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM models").await, 2);
    // The same through the page's server function, for the UI.
    let ui = app
        .post_form(app::potential::RetrainModel::PATH, "", Some(&admin))
        .await;
    assert!(ui.body.contains("training_refused"), "{}", ui.body);
}

#[tokio::test]
async fn reasons_are_the_largest_contributions() {
    let app = app_with_demo(1_500).await;
    let now = app::infra::now();
    let examples = app::scoring::ssr::features::load(&app.state.db, now, false, None)
        .await
        .unwrap();
    // One client's features (the rescoring path, by index) are that
    // client's row of everyone's, for buyers and others, in both cut modes.
    for outcome_cutoff in [false, true] {
        let everyone = app::scoring::ssr::features::load(&app.state.db, now, outcome_cutoff, None)
            .await
            .unwrap();
        for example in everyone.iter().step_by(97) {
            let one = app::scoring::ssr::features::load(
                &app.state.db,
                now,
                outcome_cutoff,
                Some(example.client_id),
            )
            .await
            .unwrap();
            assert_eq!(one, vec![example.clone()]);
        }
    }
    for family in ["logistic", "trees"] {
        app::db_run!(app.state.db, |c| sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('model_family', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        .bind(family)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        app::scoring::ssr::train_and_activate(&app.state.db, None)
            .await
            .unwrap();
        let (_, model) = app::scoring::ssr::active_model(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(model.family().as_str(), family);
        reasons_are_true_and_largest(&app, &model, &examples).await;
        // The trees' reasons are worked out when a client is shown, not for
        // everyone at training; the list and the card show the same ones.
        let unexplained = scalar(
            &app,
            "SELECT COUNT(*) FROM client_scores WHERE reasons = 'null'",
        )
        .await;
        assert_eq!(
            unexplained > 0,
            family == "trees",
            "{family}: {unexplained}"
        );
        let admin = app.admin().await;
        let leads = app
            .get(
                "/api/potential_buyers_ml?page_size=20&lang=en",
                Some(&admin),
            )
            .await
            .json();
        let items = leads["items"].as_array().unwrap();
        assert!(
            items
                .iter()
                .all(|l| !l["reasons"].as_array().unwrap().is_empty()),
            "{family}: {leads}"
        );
        let first = items[0]["client_id"].as_i64().unwrap();
        let card = app::potential::ssr::client_score(&app.state.db, first, app::i18n::Locale::en)
            .await
            .unwrap()
            .unwrap();
        let listed: Vec<String> = items[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        assert_eq!(card.2, listed, "{family}");
    }
}

async fn reasons_are_true_and_largest(
    app: &crate::common::TestApp,
    model: &app::scoring::ssr::Model,
    examples: &[app::scoring::ssr::features::Example],
) {
    // The logistic model's weight; a tree's push is the client's own (its
    // contribution, checked positive below).
    let weight = |feature: &str| match model {
        app::scoring::ssr::Model::Logistic(m) => {
            m.weights[m.features.iter().position(|f| f == feature).unwrap()]
        }
        app::scoring::ssr::Model::Trees(_) => {
            if feature == "days_since_last" {
                -1.0
            } else {
                1.0
            }
        }
    };
    let mut shown = 0;
    for example in examples.iter().take(400) {
        let reasons = app::scoring::ssr::top_reasons(model, &example.values, 3);
        shown += reasons.len();
        let contributions = model.contributions(&example.values);
        // The contributions and the expected score add up to the raw score.
        let sum = model.expected() + contributions.iter().sum::<f64>();
        assert!((sum - model.raw(&example.values)).abs() < 1e-6);
        // Largest pushes first, among the facts that may be reasons.
        let mut explainable: Vec<(usize, f64)> = contributions
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, c)| *c > 0.02 && app::scoring::ssr::is_reason(model, &example.values, *i))
            .collect();
        explainable.sort_by(|a, b| b.1.total_cmp(&a.1));
        let expected: Vec<&String> = explainable
            .iter()
            .take(3)
            .map(|(i, _)| &model.features()[*i])
            .collect();
        let got: Vec<&String> = reasons.iter().map(|r| &r.feature).collect();
        assert_eq!(got, expected, "client {}", example.client_id);
        // Each reason is a true fact about this client that speaks for buying,
        // checked against the database, not against the rule itself.
        let client = example.client_id;
        for reason in &reasons {
            let (f, v) = (reason.feature.as_str(), reason.value);
            assert!(reason.weight > 0.0, "{f} pushed down client {client}");
            let sql_for = |sql: &str| sql.replace('?', &client.to_string());
            match f {
                "visits_total" => {
                    assert!(v >= 2.0 && weight(f) > 0.0, "{f} {v}");
                    assert_eq!(
                        scalar(
                            app,
                            &sql_for("SELECT COUNT(*) FROM visits WHERE client_id = ?")
                        )
                        .await,
                        v as i64
                    );
                }
                "returning_via_camera" => {
                    assert!(weight(f) > 0.0);
                    assert!(scalar(app, &sql_for("SELECT COUNT(*) FROM visits WHERE client_id = ? AND started_by = 'camera' AND NOT is_first_visit")).await >= 1, "client {client}: no camera visit");
                }
                "visits_30d" => assert!(v >= 2.0 && weight(f) > 0.0, "{f} {v}"),
                "total_minutes" | "mean_minutes" => assert!(v >= 1.0 && weight(f) > 0.0, "{f} {v}"),
                "days_since_last" => assert!(weight(f) < 0.0, "a long absence is no reason to buy"),
                "test_drives" | "credit_talks" | "trade_in_talks" | "consultations"
                | "purchase_talks" => {
                    assert!(v >= 1.0 && weight(f) > 0.0, "{f} {v}")
                }
                f if f.starts_with("source_") || f.starts_with("segment_") => assert_eq!(v, 1.0),
                other => panic!("{other} is not a reason to buy (client {client})"),
            }
        }
    }
    assert!(
        shown > 200,
        "only {shown} reasons for 400 clients ({:?})",
        model.family()
    );
}

#[tokio::test]
async fn reception_may_not_retrain_or_rank() {
    let app = app_with_demo(50).await;
    let admin = app.admin().await;
    app.post_form(
        app::settings::CreateStaff::PATH,
        "login=desk&full_name=Desk&role=reception&branch_id=1&password=desk-pass-1",
        Some(&admin),
    )
    .await;
    let desk = app.sign_in("desk", "desk-pass-1").await;
    assert_eq!(
        app.post_json("/api/retrain_model", "", Some(&desk))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/potential_buyers_ml", Some(&desk))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// Two retrains at once: one fits, the other is told a training is running
/// (409) instead of fitting the same data twice; one training's models
/// (one per family) are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_retrains_at_once_train_once() {
    let app = std::sync::Arc::new(app_with_demo(600).await);
    let admin = app.admin().await;
    let before = scalar(&app, "SELECT COUNT(*) FROM models").await;
    let clicks: Vec<_> = (0..2)
        .map(|_| {
            let (app, admin) = (app.clone(), admin.clone());
            tokio::spawn(async move { app.post_json("/api/retrain_model", "", Some(&admin)).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for click in clicks {
        let reply = click.await.unwrap();
        if reply.status == StatusCode::CONFLICT {
            assert_eq!(reply.json()["code"], "training_running", "{}", reply.body);
        }
        statuses.push(reply.status);
    }
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM models").await,
        before + 2
    );
}

/// The automatic retraining counts sales since the last training, even one
/// whose model was kept inactive (worse than the active one): counted from
/// the active model, the job would refit the same data every ten minutes.
#[tokio::test]
async fn a_retrain_kept_inactive_resets_the_sales_count() {
    let app = app_with_demo(600).await;
    let db = &app.state.db;
    app::scoring::ssr::train_and_activate(db, None)
        .await
        .unwrap();
    let now = app::infra::now();
    app::db_run!(db, |c| sqlx::query("UPDATE models SET trained_at = $1")
        .bind(now - 3_600)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    // The demo's day runs up to now: its sales of the last hour go before
    // the training, and one sale comes after it.
    app::db_run!(db, |c| sqlx::query(
        "UPDATE sales SET created_at = CASE WHEN id = (SELECT MIN(id) FROM sales) THEN $1 ELSE $2 END \
         WHERE id = (SELECT MIN(id) FROM sales) OR created_at > $2"
    )
    .bind(now - 60)
    .bind(now - 7_200)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    assert_eq!(
        app::scoring::ssr::sales_since_training(db).await.unwrap(),
        Some(1)
    );
    // A later training whose model stayed inactive.
    app::db_run!(db, |c| sqlx::query(
        "INSERT INTO models (trained_at, algorithm, body, metrics, train_count, test_count, positive_count, active, trained_by) \
         SELECT $1, algorithm, body, metrics, train_count, test_count, positive_count, FALSE, trained_by FROM models WHERE active",
    )
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    assert_eq!(
        app::scoring::ssr::sales_since_training(db).await.unwrap(),
        Some(0)
    );
    assert_eq!(
        app::scoring::ssr::last_trained_at(db).await.unwrap(),
        Some(now)
    );
}

/// The kept features (what retraining reads) equal a full recount from every
/// visit, service and sale, in both cut modes, after writes of every kind
/// that can change them.
#[tokio::test]
async fn kept_features_follow_every_write_and_equal_a_full_recount() {
    use app::scoring::ssr::features::{kept, load};
    let app = app_with_demo(400).await;
    let db = &app.state.db;
    let now = app::infra::now();
    for outcome_cutoff in [true, false] {
        let full = load(db, now, outcome_cutoff, None).await.unwrap();
        assert!(full.len() > 300);
        assert_eq!(kept(db, now, outcome_cutoff).await.unwrap(), full);
    }
    let changed = "SELECT count(*) FROM client_features WHERE changes > 0";
    assert_eq!(scalar(&app, changed).await, 0);

    let buyers = "SELECT client_id FROM sales GROUP BY client_id ORDER BY client_id";
    let buyer: i64 = scalar(&app, &format!("{buyers} LIMIT 1")).await;
    let other_buyer: i64 = scalar(&app, &format!("{buyers} LIMIT 1 OFFSET 1")).await;
    let visitors = format!(
        "SELECT client_id FROM visits WHERE client_id NOT IN ({buyers}) \
         GROUP BY client_id HAVING count(*) >= 2 ORDER BY client_id"
    );
    let (a, b, c, d): (i64, i64, i64, i64) = (
        scalar(&app, &format!("{visitors} LIMIT 1")).await,
        scalar(&app, &format!("{visitors} LIMIT 1 OFFSET 1")).await,
        scalar(&app, &format!("{visitors} LIMIT 1 OFFSET 2")).await,
        scalar(&app, &format!("{visitors} LIMIT 1 OFFSET 3")).await,
    );
    let sold_at = scalar(
        &app,
        &format!("SELECT MIN(sold_at) FROM sales WHERE client_id = {buyer}"),
    )
    .await;
    for statement in [
        // A visit with a test drive after the buyer's sale (changes today's
        // features, not the training ones).
        format!(
            "INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, created_at) \
             VALUES (999998, 'kept-after-sale', {buyer}, 1, {}, {}, 'camera', 0)",
            sold_at + 3600,
            sold_at + 7200
        ),
        format!(
            "INSERT INTO service_requests (visit_id, client_id, branch_id, kind, requested_at) \
             VALUES (999998, {buyer}, 1, 'test_drive', {})",
            sold_at + 4000
        ),
        // A first sale for `a`, a cancelled one for the other buyer.
        format!(
            "INSERT INTO sales (client_id, branch_id, price, sold_at, created_at) \
             SELECT {a}, 1, 250000000, MAX(entered_at), 0 FROM visits WHERE client_id = {a}"
        ),
        format!("DELETE FROM sales WHERE client_id = {other_buyer}"),
        // A visit moved from `b` to `c` (a camera match corrected).
        format!(
            "UPDATE visits SET client_id = {c} WHERE id = (SELECT MIN(id) FROM visits WHERE client_id = {b})"
        ),
        // A service struck off, and a client's own details changed.
        format!(
            "DELETE FROM service_requests WHERE id = (SELECT MIN(id) FROM service_requests WHERE client_id = {d})"
        ),
        format!("UPDATE clients SET source = 'olx', birth_year = 1970 WHERE id = {d}"),
    ] {
        app::db_run!(db, |c| sqlx::query(&statement)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
    }
    assert!(
        scalar(&app, changed).await >= 5,
        "every written client counts a change"
    );
    for outcome_cutoff in [true, false] {
        assert_eq!(
            kept(db, now, outcome_cutoff).await.unwrap(),
            load(db, now, outcome_cutoff, None).await.unwrap(),
            "outcome cut-off: {outcome_cutoff}"
        );
    }
    assert_eq!(scalar(&app, changed).await, 0);

    // Another process (here a second pool, with its own copy of the features)
    // refreshes first: this one's copy notices and reloads, not missing the change.
    let url = match db.backend() {
        app::infra::db::Backend::Sqlite(_) => {
            let file = app.state.data_dir.join("avtosalon.db");
            format!("sqlite://{}", file.display())
        }
        app::infra::db::Backend::Postgres(pool) => {
            use sqlx::ConnectOptions;
            pool.connect_options().to_url_lossy().to_string()
        }
    };
    let other = app::infra::Db::open(&url).await.unwrap();
    let sql = format!("UPDATE clients SET source = 'telegram' WHERE id = {a}");
    app::db_run!(db, |c| sqlx::query(&sql)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    assert_eq!(
        app::scoring::ssr::features::refresh(&other, now)
            .await
            .unwrap(),
        1
    );
    for outcome_cutoff in [true, false] {
        assert_eq!(
            kept(db, now, outcome_cutoff).await.unwrap(),
            load(db, now, outcome_cutoff, None).await.unwrap()
        );
    }
}
