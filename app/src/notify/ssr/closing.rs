//! Closing time at each branch: visits still open are closed (marked
//! `auto_close`: nobody saw them leave) and reception gets the day's summary.
//! Runs once per branch and local day, whenever the server is up after
//! closing, so a restart neither skips nor repeats it.

use crate::error::AppError;
use crate::infra::Db;
use crate::infra::time;
use crate::notify::ssr::outbox::{Notice, enqueue};
use crate::settings::ssr::branches::parse_hhmm;
use crate::visits::ssr as visits;
use crate::vocab::{NotifyKind, VisitEnd};

/// The day's figures at one branch, as the summary tells them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DaySummary {
    pub date: String,
    pub visits: i64,
    pub new: i64,
    pub returning: i64,
    pub test_drives: i64,
    pub sales: i64,
    pub auto_closed: i64,
}

/// Closes the day at every branch whose closing time has passed today;
/// returns the summaries it queued.
pub async fn run_due(db: &Db, now: i64) -> Result<Vec<(i64, DaySummary)>, AppError> {
    let branches: Vec<(i64, i32, String)> = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT id, utc_offset_minutes, closes_at FROM branches ORDER BY id"
    )
    .fetch_all(c)
    .await)?;
    let mut done = Vec::new();
    for (branch, offset, closes_at) in branches {
        let Some(closes) = parse_hhmm(&closes_at) else {
            continue;
        };
        if time::local_minute(now, offset) < i64::from(closes) {
            continue;
        }
        let day = time::local_day(now, offset);
        let date = time::day_string(day);
        let day_start = time::day_start(day, offset);
        let closing = time::closing_time(day, closes, offset);
        // The payload is JSON text; each database reads a field of it its own way.
        let date_of_payload = if db.is_postgres() {
            "CAST(payload AS jsonb) ->> 'date'"
        } else {
            "json_extract(payload, '$.date')"
        };
        let mut tx = db.begin_write().await?;
        let already: Option<i64> = crate::db_run!(tx, |c| {
            sqlx::query_scalar(&format!(
            "SELECT id FROM notification_outbox WHERE kind = 'daily_summary' AND branch_id = $1 \
             AND {date_of_payload} = $2"
        ))
        .bind(branch)
        .bind(&date)
        .fetch_optional(c)
        .await
        })?;
        if already.is_some() {
            continue;
        }
        let open: Vec<i64> = crate::db_run!(tx, |c| {
            sqlx::query_scalar(
            "SELECT id FROM visits WHERE branch_id = $1 AND left_at IS NULL AND entered_at < $2",
        )
        .bind(branch)
        .bind(closing)
        .fetch_all(c)
        .await
        })?;
        for visit in &open {
            visits::close_in(tx.backend(), None, *visit, VisitEnd::AutoClose, closing).await?;
        }
        let (visits, new): (i64, i64) = crate::db_run!(tx, |c| {
            sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN is_first_visit THEN 1 ELSE 0 END), 0) FROM visits \
             WHERE branch_id = $1 AND entered_at >= $2 AND entered_at < $3",
        )
        .bind(branch)
        .bind(day_start)
        .bind(day_start + 86_400)
        .fetch_one(c)
        .await
        })?;
        let known: i64 = crate::db_run!(tx, |c| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM visits WHERE branch_id = $1 AND entered_at >= $2 AND entered_at < $3 \
             AND client_id IS NOT NULL AND is_first_visit = FALSE",
        )
        .bind(branch)
        .bind(day_start)
        .bind(day_start + 86_400)
        .fetch_one(c).await
        })?;
        let test_drives: i64 = crate::db_run!(tx, |c| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM service_requests WHERE branch_id = $1 AND kind = 'test_drive' \
             AND requested_at >= $2 AND requested_at < $3",
        )
        .bind(branch)
        .bind(day_start)
        .bind(day_start + 86_400)
        .fetch_one(c)
        .await
        })?;
        let sales: i64 = crate::db_run!(tx, |c| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM sales WHERE branch_id = $1 AND sold_at >= $2 AND sold_at < $3",
        )
        .bind(branch)
        .bind(day_start)
        .bind(day_start + 86_400)
        .fetch_one(c)
        .await
        })?;
        let summary = DaySummary {
            date,
            visits,
            new,
            returning: known,
            test_drives,
            sales,
            auto_closed: open.len() as i64,
        };
        let notice = Notice {
            kind: NotifyKind::DailySummary,
            branch_id: Some(branch),
            client_id: None,
            visit_id: None,
            payload: serde_json::to_value(&summary).unwrap_or_default(),
        };
        enqueue(tx.backend(), notice, now).await?;
        tx.commit().await?;
        done.push((branch, summary));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db_with_branches(dir: &std::path::Path) -> Db {
        let db = Db::open(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .unwrap();
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO branches (id, name, city, time_zone, utc_offset_minutes, closes_at, created_at) VALUES \
             (1, 'Toshkent', 'Toshkent', 'Asia/Tashkent', 300, '20:00', 0), \
             (2, 'Bishkek', 'Bishkek', 'Asia/Bishkek', 360, '20:00', 0)",
        )
        .execute(c).await.map(|r| r.rows_affected()))
        .unwrap();
        db
    }

    /// Both close at 20:00 local: at 14:30 UTC that is past in Bishkek
    /// (20:30, UTC+6) and not yet in Tashkent (19:30, UTC+5).
    #[tokio::test]
    async fn each_branch_closes_at_its_own_local_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_branches(dir.path()).await;
        let day = time::parse_date("2026-11-25").unwrap();
        let entered = day * 86_400 + 10 * 3600;
        for branch in [1, 2] {
            crate::db_run!(db, |c| sqlx::query(
                "INSERT INTO visits (visit_token, branch_id, entered_at, started_by, is_first_visit, created_at) \
                 VALUES ($1, $2, $3, 'manual', FALSE, 0)",
            )
            .bind(format!("token-{branch}"))
            .bind(branch)
            .bind(entered)
            .execute(c).await.map(|r| r.rows_affected()))
            .unwrap();
        }
        let now = day * 86_400 + 14 * 3600 + 1800;
        let closed = run_due(&db, now).await.unwrap();
        assert_eq!(closed.len(), 1);
        let (branch, summary) = &closed[0];
        assert_eq!(*branch, 2);
        assert_eq!(summary.date, "2026-11-25");
        assert_eq!((summary.visits, summary.auto_closed), (1, 1));
        let left: Vec<(i64, Option<i64>, Option<String>)> = crate::db_run!(db, |c| sqlx::query_as(
            "SELECT branch_id, left_at, ended_by FROM visits ORDER BY branch_id"
        )
        .fetch_all(c)
        .await)
        .unwrap();
        // Closed at 20:00 Bishkek = 14:00 UTC; Tashkent's visit is still open.
        assert_eq!(left[0], (1, None, None));
        assert_eq!(
            left[1],
            (2, Some(day * 86_400 + 14 * 3600), Some("auto_close".into()))
        );
        // An hour later Tashkent closes too, Bishkek not again.
        let closed = run_due(&db, now + 3600).await.unwrap();
        assert_eq!(closed.iter().map(|(b, _)| *b).collect::<Vec<_>>(), vec![1]);
        assert!(run_due(&db, now + 3600).await.unwrap().is_empty());
    }

    /// After local midnight the new day is not closed before its closing time.
    #[tokio::test]
    async fn the_next_local_day_waits_for_its_closing() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_with_branches(dir.path()).await;
        let day = time::parse_date("2026-11-25").unwrap();
        // 19:30 UTC: 00:30 on the 26th in Tashkent, 01:30 in Bishkek.
        let closed = run_due(&db, day * 86_400 + 19 * 3600 + 1800).await.unwrap();
        assert!(closed.is_empty());
    }
}
