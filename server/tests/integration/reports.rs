//! `GET /api/clients` and `GET /api/stats` against demo data: filters,
//! paging, bad input, and totals equal to what SQL counts.
//!
//! Longer than 400 lines on purpose: independent tests of one feature, each a
//! whole story from the outside; split further they would share nothing but helpers.

use crate::common::{app_with_demo, scalar};
use axum::http::StatusCode;
use leptos::server_fn::ServerFn;

#[tokio::test]
async fn clients_api_filters_pages_and_finds_phone_fragments() {
    let app = app_with_demo(300).await;
    let admin = app.admin().await;
    let all = app.get("/api/clients?page_size=10", Some(&admin)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let json = all.json();
    assert_eq!(json["total"], 300);
    assert_eq!(json["page"], 1);
    assert_eq!(json["page_size"], 10);
    assert_eq!(json["items"].as_array().unwrap().len(), 10);

    // A phone typed with spaces and without +998 finds its client.
    let phone: String = app::db_run!(app.state.db, |c| sqlx::query_scalar(
        "SELECT phone FROM clients WHERE id = 42"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    let typed = format!("{}%20{}-{}", &phone[4..6], &phone[6..9], &phone[9..11]);
    let found = app
        .get(&format!("/api/clients?q={typed}"), Some(&admin))
        .await
        .json();
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["phone"] == phone.as_str()),
        "{found}"
    );

    let women = app
        .get("/api/clients?gender=female&page_size=200", Some(&admin))
        .await
        .json();
    let expected = scalar(&app, "SELECT COUNT(*) FROM clients WHERE gender = 'female'").await;
    assert_eq!(women["total"], expected);
    assert!(
        women["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["gender"] == "female")
    );

    let buyers = app
        .get("/api/clients?bought=1&sort=-visits", Some(&admin))
        .await
        .json();
    let expected = scalar(&app, "SELECT COUNT(DISTINCT client_id) FROM sales").await;
    assert_eq!(buyers["total"], expected);
    let visits: Vec<i64> = buyers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["visit_count"].as_i64().unwrap())
        .collect();
    assert!(visits.windows(2).all(|w| w[0] >= w[1]), "{visits:?}");

    let branch = app
        .get("/api/clients?branch=2&age_min=30&age_max=40", Some(&admin))
        .await
        .json();
    // This year in UTC, as SQLite's strftime('%Y', 'now') gave it.
    let year: i64 = app::ui::date(app::infra::now(), 0)[..4].parse().unwrap();
    let expected = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) FROM clients WHERE branch_id = 2 AND birth_year BETWEEN {year} - 41 AND {year} - 30"
        ),
    )
    .await;
    assert_eq!(branch["total"], expected);
}

/// Pages and totals are cached between writes; a write must show at once.
#[tokio::test]
async fn a_new_client_shows_in_the_next_list_despite_the_cache() {
    let app = app_with_demo(50).await;
    let admin = app.admin().await;
    let first = app
        .get("/api/clients?q=Zebo%20Yangi", Some(&admin))
        .await
        .json();
    assert_eq!(first["total"], 0, "{first}");
    let before = app
        .get("/api/clients?page_size=5", Some(&admin))
        .await
        .json();
    let input = app::clients::ssr::ClientInput {
        full_name: "Zebo Yangi".into(),
        phone: "+998900001122".into(),
        birth_year: Some(1990),
        gender: Some("female"),
        source: app::vocab::Source::Instagram,
        car_model_id: None,
    };
    app::clients::ssr::create(&app.state.db, 1, 1, &input)
        .await
        .unwrap();
    let found = app
        .get("/api/clients?q=Zebo%20Yangi", Some(&admin))
        .await
        .json();
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["full_name"], "Zebo Yangi");
    let after = app
        .get("/api/clients?page_size=5", Some(&admin))
        .await
        .json();
    assert_eq!(
        after["total"].as_i64().unwrap(),
        before["total"].as_i64().unwrap() + 1
    );
}

#[tokio::test]
async fn clients_api_refuses_bad_input_with_400() {
    let app = app_with_demo(20).await;
    let admin = app.admin().await;
    let long = "a".repeat(5000);
    for (query, field) in [
        ("page=-1", "page"),
        ("page_size=1000000", "page_size"),
        ("from=2026-02-30", "from"),
        ("branch=0", "branch"),
        ("branch=abc", "branch"),
        ("sort=password_hash", "sort"),
        ("gender=robot", "gender"),
        (&format!("q={long}"), "q"),
    ] {
        let reply = app
            .get(&format!("/api/clients?{query}"), Some(&admin))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], field, "{query}");
    }
    // Valid questions about things that do not exist, or ranges typed
    // backwards, are not bad requests (the OpenAPI document allows them).
    let missing = app.get("/api/clients?branch=999", Some(&admin)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    let backwards = app
        .get(
            "/api/clients?from=2026-05-01&to=2026-04-01&age_min=40&age_max=30",
            Some(&admin),
        )
        .await;
    let forwards = app
        .get(
            "/api/clients?from=2026-04-01&to=2026-05-01&age_min=30&age_max=40",
            Some(&admin),
        )
        .await;
    assert_eq!(backwards.status, StatusCode::OK, "{}", backwards.body);
    assert_eq!(backwards.body, forwards.body);
    // SQL metacharacters are only text.
    let sneaky = app
        .get(
            "/api/clients?q=%27%3B%20DROP%20TABLE%20clients%3B%20--",
            Some(&admin),
        )
        .await;
    assert_eq!(sneaky.status, StatusCode::OK);
    assert_eq!(sneaky.json()["total"], 0);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM clients").await, 20);
}

#[tokio::test]
async fn stats_totals_equal_sql_counts() {
    let app = app_with_demo(300).await;
    let admin = app.admin().await;
    let reply = app.get("/api/stats", Some(&admin)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stats = reply.json();
    // The default range is the last 365 local days, ending today.
    let from: String = stats["from"].as_str().unwrap().into();
    let to: String = stats["to"].as_str().unwrap().into();
    // Midnight UTC of `from` and of the day after `to`, less five hours.
    let (start, end) = app::infra::time::days_range(
        app::infra::time::parse_date(&from).unwrap(),
        app::infra::time::parse_date(&to).unwrap(),
        300,
    );
    let range = format!("entered_at >= {start} AND entered_at < {end}");
    let visits = scalar(&app, &format!("SELECT COUNT(*) FROM visits WHERE {range}")).await;
    assert_eq!(stats["totals"]["visits"], visits);
    let per_day: i64 = stats["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["visits"].as_i64().unwrap())
        .sum();
    let by_hour: i64 = stats["by_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    let heat: i64 = stats["weekday_hour"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!((per_day, by_hour, heat), (visits, visits, visits));
    let closed = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM visits WHERE left_at IS NOT NULL AND {range}"),
    )
    .await;
    let dwell: i64 = stats["dwell"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[1].as_i64().unwrap())
        .sum();
    assert_eq!(dwell, closed);
    // Unique visitors: each client (or stranger key, or anonymous visit) once
    // per branch and local day, counted here from the visits themselves.
    let visitors = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) FROM (SELECT DISTINCT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400, \
             CASE WHEN v.client_id IS NOT NULL THEN 'c' || CAST(v.client_id AS TEXT) \
                  WHEN v.stranger_key IS NOT NULL THEN 's' || v.stranger_key ELSE 'v' || CAST(v.id AS TEXT) END \
             FROM visits v JOIN branches b ON b.id = v.branch_id WHERE {}) AS people",
            range.replace("entered_at", "v.entered_at")
        ),
    )
    .await;
    assert!(visitors > 0 && visitors <= visits, "{visitors} of {visits}");
    assert_eq!(stats["totals"]["visitors"], visitors);
    assert_eq!(stats["funnel"]["visitors"], visitors);
    let per_day_visitors: i64 = stats["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["visitors"].as_i64().unwrap())
        .sum();
    assert_eq!(per_day_visitors, visitors);
    let credit = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) FROM service_requests WHERE kind = 'credit' AND {}",
            range.replace("entered_at", "requested_at")
        ),
    )
    .await;
    assert_eq!(stats["funnel"]["credit"], credit);
    let known = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM visits WHERE client_id IS NOT NULL AND {range}"),
    )
    .await;
    assert_eq!(stats["totals"]["known_visits"], known);
    let new = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM visits WHERE is_first_visit AND {range}"),
    )
    .await;
    assert_eq!(stats["totals"]["new_visits"], new);
    let sales_range = range.replace("entered_at", "sold_at");
    let sales = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM sales WHERE {sales_range}"),
    )
    .await;
    assert_eq!(stats["totals"]["sales"], sales);
    let drives = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) FROM service_requests WHERE kind = 'test_drive' AND {}",
            range.replace("entered_at", "requested_at")
        ),
    )
    .await;
    assert_eq!(stats["totals"]["test_drives"], drives);
    let age_total: i64 = stats["age_gender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["male"].as_i64().unwrap() + a["female"].as_i64().unwrap())
        .sum();
    assert_eq!(age_total, known);
    assert_eq!(stats["funnel"]["bought"], sales);
    assert_eq!(stats["funnel"]["bought"], sales);

    // One branch: fewer visits, and exactly that branch's.
    let one = app
        .get(
            &format!("/api/stats?from={from}&to={to}&branch=3"),
            Some(&admin),
        )
        .await
        .json();
    let branch_visits = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM visits WHERE branch_id = 3 AND {range}"),
    )
    .await;
    assert_eq!(one["totals"]["visits"], branch_visits);
    assert!(branch_visits < visits);
}

#[tokio::test]
async fn stats_refuse_bad_input_and_reception() {
    let app = app_with_demo(10).await;
    let admin = app.admin().await;
    // Valid by the OpenAPI document: a backwards range is read forwards, a
    // range over three years keeps its last 1,098 days, the answer says so.
    let reply = app
        .get("/api/stats?from=2015-01-01&to=2026-01-01", Some(&admin))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        (reply.json()["from"].as_str(), reply.json()["to"].as_str()),
        (Some("2022-12-31"), Some("2026-01-01"))
    );
    let reply = app
        .get("/api/stats?from=2026-05-01&to=2026-04-01", Some(&admin))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["from"], "2026-04-01");
    let reply = app.get("/api/stats?branch=77", Some(&admin)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    for query in ["from=yesterday", "branch=x", "branch=0", "branch=-3"] {
        let reply = app.get(&format!("/api/stats?{query}"), Some(&admin)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.body
        );
    }
    app.post_form(
        app::settings::CreateStaff::PATH,
        "login=desk&full_name=Desk&role=reception&branch_id=1&password=desk-pass-1",
        Some(&admin),
    )
    .await;
    let desk = app.sign_in("desk", "desk-pass-1").await;
    assert_eq!(
        app.get("/api/stats", Some(&desk)).await.status,
        StatusCode::FORBIDDEN
    );
    // Reception sees only its own branch's clients.
    let own = app
        .get("/api/clients?page_size=200", Some(&desk))
        .await
        .json();
    assert!(
        own["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["branch_id"] == 1)
    );
}

#[tokio::test]
async fn the_stats_page_renders_every_chart_in_the_first_html() {
    let app = app_with_demo(100).await;
    let admin = app.admin().await;
    let page = app.get("/stats?branch=1", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("data-chart=").count(),
        8,
        "{}",
        &page.body[..page.body.len().min(2000)]
    );
    assert!(page.body.contains("<svg"));
    assert!(page.body.contains("Kunlik tashriflar"));
}

#[tokio::test]
async fn roll_ups_follow_every_change_of_a_visit() {
    let app = app_with_demo(200).await;
    let db = &app.state.db;
    let a = &app;
    let check = |label: &'static str| async move {
        let rolled = scalar(
            a,
            "SELECT CAST(COALESCE(SUM(visits), 0) AS BIGINT) FROM stats_hourly",
        )
        .await;
        let counted = scalar(a, "SELECT COUNT(*) FROM visits").await;
        assert_eq!(rolled, counted, "{label}");
        let closed_rolled =
            scalar(a, "SELECT CAST(SUM(dwell0 + dwell1 + dwell2 + dwell3 + dwell4 + dwell5 + dwell6) AS BIGINT) FROM stats_hourly").await;
        let closed = scalar(a, "SELECT COUNT(*) FROM visits WHERE left_at IS NOT NULL").await;
        assert_eq!(closed_rolled, closed, "{label}");
        let unknown = scalar(
            a,
            "SELECT CAST(COALESCE(SUM(unknown_visits), 0) AS BIGINT) FROM stats_hourly",
        )
        .await;
        assert_eq!(
            unknown,
            scalar(a, "SELECT COUNT(*) FROM visits WHERE client_id IS NULL").await,
            "{label}"
        );
        let services = scalar(
            a,
            "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) FROM stats_services_daily",
        )
        .await;
        assert_eq!(
            services,
            scalar(a, "SELECT COUNT(*) FROM service_requests").await,
            "{label}"
        );
    };
    check("after the bulk load").await;
    let client: i64 = scalar(&app, "SELECT id FROM clients WHERE id NOT IN (SELECT client_id FROM visits WHERE left_at IS NULL AND client_id IS NOT NULL) ORDER BY id LIMIT 1").await;
    let visit = app::visits::ssr::check_in(db, 1, client, 1, app::vocab::VisitStart::Manual)
        .await
        .unwrap();
    check("after a check-in").await;
    app::visits::ssr::add_service(db, 1, visit, "test_drive", "")
        .await
        .unwrap();
    check("after a service").await;
    app::visits::ssr::close(db, 1, visit, app::vocab::VisitEnd::Manual)
        .await
        .unwrap();
    check("after closing").await;
    // An unknown visitor who registers later moves from unknown to known.
    app::db_run!(db, |c| sqlx::query(
        "UPDATE visits SET client_id = NULL WHERE id = $1"
    )
    .bind(visit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    check("after detaching").await;
    app::db_run!(db, |c| sqlx::query(
        "UPDATE visits SET client_id = $1 WHERE id = $2"
    )
    .bind(client)
    .bind(visit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    check("after attaching").await;
}

#[tokio::test]
async fn query_strings_that_do_not_decode_are_json_400s_after_the_role_check() {
    let app = app_with_demo(10).await;
    let admin = app.admin().await;
    // A repeated field does not decode into the query struct.
    for path in [
        "/api/clients?q=a&q=b",
        "/api/stats?from=a&from=b",
        "/api/export/visits?format=csv&format=xlsx",
        "/api/potential_buyers_ml?lang=en&lang=ru",
        "/api/documents/1?download=1&download=0",
    ] {
        let reply = app.get(path, Some(&admin)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.body
        );
        let body = reply.json();
        assert_eq!(body["field"], "query", "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    }
    app.post_form(
        app::settings::CreateStaff::PATH,
        "login=desk&full_name=Desk&role=reception&branch_id=1&password=desk-pass-1",
        Some(&admin),
    )
    .await;
    let desk = app.sign_in("desk", "desk-pass-1").await;
    for path in [
        "/api/stats?from=a&from=b",
        "/api/export/clients?q=a&q=b",
        "/api/potential_buyers_ml?lang=en&lang=ru",
    ] {
        let reply = app.get(path, Some(&desk)).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            reply.body
        );
    }
}
