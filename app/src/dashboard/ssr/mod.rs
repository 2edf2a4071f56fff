//! Queries behind the dashboard.

use crate::dashboard::{InsideVisitor, Overview};
use crate::error::AppError;
use crate::infra::Db;
use crate::infra::time::local_midnight;
use crate::settings::ssr::branches;
use crate::vocab::ServiceKind;

const DAY: i64 = 86_400;

/// The branch's offset; for a branch that does not exist (nothing to count)
/// the network's.
async fn offset_of(db: &Db, branch_id: Option<i64>) -> Result<i32, AppError> {
    match branches::offset_minutes(db, branch_id).await {
        Err(AppError::NotFound) => branches::offset_minutes(db, None).await,
        found => found,
    }
}

/// Today at `branch_id` (the network: the first branch), up to `now`.
pub async fn overview(db: &Db, branch_id: Option<i64>, now: i64) -> Result<Overview, AppError> {
    let offset_minutes = offset_of(db, branch_id).await?;
    let today = local_midnight(now, offset_minutes);
    // New, returning and unknown as Statistics counts them: a visit without
    // a client is unknown, never returning.
    let (visits_today, new_today, returning_today): (i64, i64, i64) = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN is_first_visit THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN client_id IS NOT NULL AND NOT is_first_visit THEN 1 ELSE 0 END), 0) \
         FROM visits WHERE entered_at >= $1 AND entered_at <= $2 AND ($3 IS NULL OR branch_id = $4)",
    )
    .bind(today)
    .bind(now)
    .bind(branch_id)
    .bind(branch_id)
    .fetch_one(c).await
    })?;
    // Same weekday last week, up to the same time of day.
    let visits_last_week: i64 = crate::db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM visits WHERE entered_at >= $1 AND entered_at <= $2 AND ($3 IS NULL OR branch_id = $4)",
    )
    .bind(today - 7 * DAY)
    .bind(now - 7 * DAY)
    .bind(branch_id)
    .bind(branch_id)
    .fetch_one(c).await
    })?;
    let test_drives_today: i64 = crate::db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM service_requests WHERE kind = 'test_drive' AND requested_at >= $1 \
         AND requested_at <= $2 AND ($3 IS NULL OR branch_id = $4)",
    )
    .bind(today)
    .bind(now)
    .bind(branch_id)
    .bind(branch_id)
    .fetch_one(c)
    .await
    })?;
    let sales_today: i64 = crate::db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM sales WHERE sold_at >= $1 AND sold_at <= $2 AND ($3 IS NULL OR branch_id = $4)",
    )
    .bind(today)
    .bind(now)
    .bind(branch_id)
    .bind(branch_id)
    .fetch_one(c).await
    })?;

    type InsideRow = (
        i64,
        Option<i64>,
        Option<String>,
        String,
        i64,
        bool,
        i64,
        Option<String>,
        bool,
        Option<f64>,
    );
    let (hot, _) = crate::scoring::ssr::bands(db).await?;
    let rows: Vec<InsideRow> = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT v.id, v.client_id, c.full_name, b.name, v.entered_at, v.is_first_visit, \
                COALESCE(c.visit_count, 0), \
                (SELECT string_agg(s.kind, ',') FROM service_requests s WHERE s.visit_id = v.id), \
                COALESCE(c.photo_path IS NOT NULL, FALSE), \
                (SELECT p.probability FROM client_scores p WHERE p.client_id = v.client_id) \
         FROM visits v JOIN branches b ON b.id = v.branch_id LEFT JOIN clients c ON c.id = v.client_id \
         WHERE v.left_at IS NULL AND ($1 IS NULL OR v.branch_id = $2) \
         ORDER BY v.entered_at DESC LIMIT 200",
    )
    .bind(branch_id)
    .bind(branch_id)
    .fetch_all(c).await
    })?;
    let inside = rows
        .into_iter()
        .map(
            |(
                visit_id,
                client_id,
                name,
                branch,
                entered_at,
                is_first_visit,
                visit_count,
                services,
                has_photo,
                probability,
            )| {
                InsideVisitor {
                    visit_id,
                    client_id,
                    name,
                    branch,
                    entered_at,
                    is_first_visit,
                    visit_count,
                    services: services
                        .map(|s| s.split(',').filter_map(ServiceKind::parse).collect())
                        .unwrap_or_default(),
                    has_photo,
                    hot_lead: probability.is_some_and(|p| p >= hot),
                }
            },
        )
        .collect();
    Ok(Overview {
        now,
        offset_minutes,
        visits_today,
        visits_last_week,
        new_today,
        returning_today,
        unknown_today: visits_today - new_today - returning_today,
        test_drives_today,
        sales_today,
        inside,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_is_local() {
        // 2026-11-24 02:00 Tashkent = 2026-11-23 21:00 UTC.
        let now = 1_795_467_600; // 2026-11-23 21:00 UTC
        let midnight = local_midnight(now, 300);
        assert_eq!((now - midnight) / 3600, 2);
    }

    #[tokio::test]
    async fn counts_today_and_lists_open_visits() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        let now = 1_795_514_400; // 15:00 in Tashkent
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO branches (id, name, city, created_at) VALUES (1, 'A', 'Toshkent', 0)",
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO clients (id, branch_id, full_name, phone, visit_count, created_at, updated_at) \
             VALUES (1, 1, 'Aziz Karimov', '+998901234567', 3, 0, 0)",
        )
        .execute(c).await.map(|r| r.rows_affected()))
        .unwrap();
        for (id, client, entered, left, first) in [
            (1, Some(1), now - 3600, None, false),
            (2, None, now - 600, None, false),
            (3, Some(1), now - 7 * DAY - 3600, Some(now - 7 * DAY), true),
            (4, Some(1), now - 2 * DAY, Some(now - 2 * DAY + 60), false),
        ] {
            crate::db_run!(db, |c| sqlx::query(
                "INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, is_first_visit, created_at) \
                 VALUES ($1, $2, $3, 1, $4, $5, 'manual', $6, 0)",
            )
            .bind(id)
            .bind(format!("token-{id}"))
            .bind(client)
            .bind(entered)
            .bind(left)
            .bind(first)
            .execute(c).await.map(|r| r.rows_affected()))
            .unwrap();
        }
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO service_requests (visit_id, client_id, branch_id, kind, requested_at) VALUES (1, 1, 1, 'test_drive', $1)",
        )
        .bind(now - 1800)
        .execute(c).await.map(|r| r.rows_affected()))
        .unwrap();
        // Aziz scores above the hot threshold (0.5 by default).
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO models (id, trained_at, algorithm, body, metrics, train_count, test_count, positive_count) \
             VALUES (1, 0, 'logistic', '{}', '{}', 0, 0, 0)",
        )
        .execute(c).await.map(|r| r.rows_affected()))
        .unwrap();
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO client_scores (client_id, model_id, probability, reasons, scored_at) VALUES (1, 1, 0.8, '[]', 0)",
        )
        .execute(c).await.map(|r| r.rows_affected()))
        .unwrap();
        let o = overview(&db, None, now).await.unwrap();
        assert_eq!(o.visits_today, 2);
        // Visit 2 has no client: unknown, not returning (as Statistics counts).
        assert_eq!((o.new_today, o.returning_today, o.unknown_today), (0, 1, 1));
        assert_eq!(o.visits_last_week, 1);
        assert_eq!(o.test_drives_today, 1);
        assert_eq!(o.inside.len(), 2);
        assert_eq!(o.inside[0].name, None);
        assert_eq!(o.inside[1].name.as_deref(), Some("Aziz Karimov"));
        assert_eq!(o.inside[1].services, vec![ServiceKind::TestDrive]);
        assert!(o.inside[1].hot_lead && !o.inside[0].hot_lead);
        let other_branch = overview(&db, Some(2), now).await.unwrap();
        assert_eq!(other_branch.visits_today, 0);
    }
}
