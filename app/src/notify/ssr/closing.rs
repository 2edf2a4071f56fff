//! Closing time at each branch: visits still open are closed (marked
//! `auto_close`: nobody saw them leave) and reception gets the day's summary.
//! Runs once per branch and local day, whenever the server is up after
//! closing, so a restart neither skips nor repeats it.

use crate::error::AppError;
use crate::infra::Db;
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

/// (local day number, minutes since local midnight) of `t` at `offset` minutes east of UTC.
fn local_day_and_minute(t: i64, offset_minutes: i64) -> (i64, i64) {
    let local = t + offset_minutes * 60;
    (local.div_euclid(86_400), local.rem_euclid(86_400) / 60)
}

fn date_of_day(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Closes the day at every branch whose closing time has passed today;
/// returns the summaries it queued.
pub async fn run_due(db: &Db, now: i64) -> Result<Vec<(i64, DaySummary)>, AppError> {
    let branches: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, utc_offset_minutes, closes_at FROM branches ORDER BY id")
            .fetch_all(db.pool())
            .await?;
    let mut done = Vec::new();
    for (branch, offset, closes_at) in branches {
        let Some(closes) = parse_hhmm(&closes_at) else {
            continue;
        };
        let (day, minute) = local_day_and_minute(now, offset);
        if minute < i64::from(closes) {
            continue;
        }
        let date = date_of_day(day);
        let day_start = day * 86_400 - offset * 60;
        let closing = day_start + i64::from(closes) * 60;
        let mut tx = db.begin_write().await?;
        let already: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM notification_outbox WHERE kind = 'daily_summary' AND branch_id = ? \
             AND json_extract(payload, '$.date') = ?",
        )
        .bind(branch)
        .bind(&date)
        .fetch_optional(&mut *tx)
        .await?;
        if already.is_some() {
            continue;
        }
        let open: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM visits WHERE branch_id = ? AND left_at IS NULL AND entered_at < ?",
        )
        .bind(branch)
        .bind(closing)
        .fetch_all(&mut *tx)
        .await?;
        for visit in &open {
            visits::close_in(&mut tx, None, *visit, VisitEnd::AutoClose, closing).await?;
        }
        let (visits, new): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(is_first_visit), 0) FROM visits \
             WHERE branch_id = ? AND entered_at >= ? AND entered_at < ?",
        )
        .bind(branch)
        .bind(day_start)
        .bind(day_start + 86_400)
        .fetch_one(&mut *tx)
        .await?;
        let known: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM visits WHERE branch_id = ? AND entered_at >= ? AND entered_at < ? \
             AND client_id IS NOT NULL AND is_first_visit = FALSE",
        )
        .bind(branch)
        .bind(day_start)
        .bind(day_start + 86_400)
        .fetch_one(&mut *tx)
        .await?;
        let test_drives: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM service_requests WHERE branch_id = ? AND kind = 'test_drive' \
             AND requested_at >= ? AND requested_at < ?",
        )
        .bind(branch)
        .bind(day_start)
        .bind(day_start + 86_400)
        .fetch_one(&mut *tx)
        .await?;
        let sales: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sales WHERE branch_id = ? AND sold_at >= ? AND sold_at < ?",
        )
        .bind(branch)
        .bind(day_start)
        .bind(day_start + 86_400)
        .fetch_one(&mut *tx)
        .await?;
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
        enqueue(&mut tx, notice, now).await?;
        tx.commit().await?;
        done.push((branch, summary));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_follows_the_branch_offset() {
        // 2026-11-25 15:30 UTC is 20:30 in Tashkent (UTC+5).
        let t = 1_795_620_600;
        let (day, minute) = local_day_and_minute(t, 300);
        assert_eq!(date_of_day(day), "2026-11-25");
        assert_eq!(minute, 20 * 60 + 30);
        // 20:30 UTC is already 01:30 the next day there.
        let (day, minute) = local_day_and_minute(t + 5 * 3600, 300);
        assert_eq!(date_of_day(day), "2026-11-26");
        assert_eq!(minute, 90);
    }
}
