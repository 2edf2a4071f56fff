//! SQL behind the statistics. Ranges are local days of the branch (or of the
//! network's first branch when all are shown).

use super::Db;
use crate::error::{AppError, InvalidCode};
use crate::stats::{AgeBand, DayCount, Funnel, Stats, Totals};
use crate::ui::date;

const DAY: i64 = 86_400;
/// Longest range one request may ask for.
pub const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Local day numbers (days since 1970-01-01), inclusive.
    pub from_day: i64,
    pub to_day: i64,
    pub branch: Option<i64>,
}

/// Day number of a "YYYY-MM-DD" date.
pub fn parse_date(value: &str) -> Option<i64> {
    let mut parts = value.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > month_days[(m - 1) as usize] {
        return None;
    }
    // Days-from-civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Validates the query: empty dates mean the last 365 days up to today.
pub fn parse_filter(from: &str, to: &str, branch: &str, now: i64) -> Result<Filter, AppError> {
    let today = (now + 5 * 3600).div_euclid(DAY);
    let to_day = if to.trim().is_empty() {
        today
    } else {
        parse_date(to).ok_or_else(|| AppError::invalid("to", InvalidCode::BadFormat))?
    };
    let from_day = if from.trim().is_empty() {
        to_day - 364
    } else {
        parse_date(from).ok_or_else(|| AppError::invalid("from", InvalidCode::BadFormat))?
    };
    if from_day > to_day || to_day - from_day >= MAX_DAYS {
        return Err(AppError::invalid("to", InvalidCode::OutOfRange));
    }
    let branch = match branch.trim() {
        "" | "all" => None,
        b => Some(
            b.parse()
                .map_err(|_| AppError::invalid("branch", InvalidCode::BadFormat))?,
        ),
    };
    Ok(Filter {
        from_day,
        to_day,
        branch,
    })
}

pub const AGE_BANDS: [(i64, i64, &str); 6] = [
    (18, 24, "18–24"),
    (25, 34, "25–34"),
    (35, 44, "35–44"),
    (45, 54, "45–54"),
    (55, 64, "55–64"),
    (65, 200, "65+"),
];

pub const DWELL_BUCKETS: [(i64, &str); 7] = [
    (15, "<15"),
    (30, "15–30"),
    (45, "30–45"),
    (60, "45–60"),
    (90, "60–90"),
    (120, "90–120"),
    (i64::MAX, "120+"),
];

pub use crate::catalog::SERVICE_KINDS;

pub async fn compute(db: &Db, filter: &Filter) -> Result<Stats, AppError> {
    let offset_minutes: i64 = match filter.branch {
        Some(id) => sqlx::query_scalar("SELECT utc_offset_minutes FROM branches WHERE id = ?")
            .bind(id)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| AppError::invalid("branch", InvalidCode::UnknownValue))?,
        None => sqlx::query_scalar("SELECT utc_offset_minutes FROM branches ORDER BY id LIMIT 1")
            .fetch_optional(db.pool())
            .await?
            .unwrap_or(300),
    };
    let offset = offset_minutes * 60;
    let start = filter.from_day * DAY - offset;
    let end = (filter.to_day + 1) * DAY - offset;
    let branch = filter.branch;

    // One pass over the visits for the per-day, hourly and dwell figures.
    let rows: Vec<(i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT (entered_at + ?1) / 86400 AS day, ((entered_at + ?1) % 86400) / 3600 AS hour, \
                COUNT(*), \
                SUM(CASE WHEN is_first_visit THEN 1 ELSE 0 END), \
                SUM(CASE WHEN client_id IS NOT NULL AND NOT is_first_visit THEN 1 ELSE 0 END), \
                SUM(CASE WHEN client_id IS NULL THEN 1 ELSE 0 END), \
                0 \
         FROM visits WHERE entered_at >= ?2 AND entered_at < ?3 AND (?4 IS NULL OR branch_id = ?4) \
         GROUP BY day, hour",
    )
    .bind(offset)
    .bind(start)
    .bind(end)
    .bind(branch)
    .fetch_all(db.pool())
    .await?;
    let days = (filter.to_day - filter.from_day + 1) as usize;
    let mut per_day: Vec<DayCount> = (0..days)
        .map(|i| DayCount {
            date: date((filter.from_day + i as i64) * DAY, 0),
            visits: 0,
            new: 0,
            returning: 0,
        })
        .collect();
    let mut by_hour = vec![0i64; 24];
    let mut weekday_hour = vec![vec![0i64; 24]; 7];
    let mut totals = Totals::default();
    for (day, hour, visits, new, returning, unknown, _) in rows {
        let index = (day - filter.from_day) as usize;
        if let Some(slot) = per_day.get_mut(index) {
            slot.visits += visits;
            slot.new += new;
            slot.returning += returning;
        }
        let hour = hour.clamp(0, 23) as usize;
        by_hour[hour] += visits;
        weekday_hour[(day + 3).rem_euclid(7) as usize][hour] += visits;
        totals.visits += visits;
        totals.new_visits += new;
        totals.returning_visits += returning;
        totals.unknown_visits += unknown;
    }

    let dwell_rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT CASE WHEN d < 900 THEN 0 WHEN d < 1800 THEN 1 WHEN d < 2700 THEN 2 WHEN d < 3600 THEN 3 \
                WHEN d < 5400 THEN 4 WHEN d < 7200 THEN 5 ELSE 6 END AS bucket, COUNT(*) \
         FROM (SELECT left_at - entered_at AS d FROM visits \
               WHERE left_at IS NOT NULL AND entered_at >= ?1 AND entered_at < ?2 AND (?3 IS NULL OR branch_id = ?3)) \
         GROUP BY bucket",
    )
    .bind(start)
    .bind(end)
    .bind(branch)
    .fetch_all(db.pool())
    .await?;
    let mut dwell: Vec<(String, i64)> = DWELL_BUCKETS
        .iter()
        .map(|(_, l)| (l.to_string(), 0))
        .collect();
    for (bucket, count) in dwell_rows {
        if let Some(slot) = dwell.get_mut(bucket as usize) {
            slot.1 = count;
        }
    }

    let service_rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, COUNT(*) FROM service_requests \
         WHERE requested_at >= ?1 AND requested_at < ?2 AND (?3 IS NULL OR branch_id = ?3) GROUP BY kind",
    )
    .bind(start)
    .bind(end)
    .bind(branch)
    .fetch_all(db.pool())
    .await?;
    let services: Vec<(String, i64)> = SERVICE_KINDS
        .iter()
        .map(|k| {
            let count = service_rows
                .iter()
                .find(|(kind, _)| kind == k)
                .map(|(_, c)| *c)
                .unwrap_or(0);
            (k.to_string(), count)
        })
        .collect();
    totals.test_drives = services
        .iter()
        .find(|(k, _)| k == "test_drive")
        .map(|(_, c)| *c)
        .unwrap_or(0);

    let (visitors, test_drive, credit): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(DISTINCT v.client_id), \
                (SELECT COUNT(DISTINCT client_id) FROM service_requests WHERE kind = 'test_drive' \
                   AND requested_at >= ?1 AND requested_at < ?2 AND (?3 IS NULL OR branch_id = ?3)), \
                (SELECT COUNT(DISTINCT client_id) FROM service_requests WHERE kind = 'credit' \
                   AND requested_at >= ?1 AND requested_at < ?2 AND (?3 IS NULL OR branch_id = ?3)) \
         FROM visits v WHERE v.entered_at >= ?1 AND v.entered_at < ?2 AND (?3 IS NULL OR v.branch_id = ?3)",
    )
    .bind(start)
    .bind(end)
    .bind(branch)
    .fetch_one(db.pool())
    .await?;
    let (sales, bought): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT client_id) FROM sales \
         WHERE sold_at >= ?1 AND sold_at < ?2 AND (?3 IS NULL OR branch_id = ?3)",
    )
    .bind(start)
    .bind(end)
    .bind(branch)
    .fetch_one(db.pool())
    .await?;
    totals.unique_clients = visitors;
    totals.sales = sales;

    // Age is taken in the last year of the range.
    let year_of_range: i64 = date(filter.to_day * DAY, 0)[..4].parse().unwrap_or(2026);
    let age_rows: Vec<(Option<String>, Option<i64>, i64)> = sqlx::query_as(
        "SELECT c.gender, ?4 - c.birth_year AS age, COUNT(*) FROM clients c \
         WHERE c.id IN (SELECT client_id FROM visits WHERE client_id IS NOT NULL \
                        AND entered_at >= ?1 AND entered_at < ?2 AND (?3 IS NULL OR branch_id = ?3)) \
         GROUP BY c.gender, age",
    )
    .bind(start)
    .bind(end)
    .bind(branch)
    .bind(year_of_range)
    .fetch_all(db.pool())
    .await?;
    let mut age_gender: Vec<AgeBand> = AGE_BANDS
        .iter()
        .map(|(_, _, label)| AgeBand {
            band: label.to_string(),
            male: 0,
            female: 0,
        })
        .collect();
    for (gender, age, count) in age_rows {
        let Some(age) = age else { continue };
        if let Some(band) = AGE_BANDS
            .iter()
            .position(|(lo, hi, _)| (*lo..=*hi).contains(&age))
        {
            match gender.as_deref() {
                Some("male") => age_gender[band].male += count,
                Some("female") => age_gender[band].female += count,
                _ => {}
            }
        }
    }

    Ok(Stats {
        from: date(filter.from_day * DAY, 0),
        to: date(filter.to_day * DAY, 0),
        branch,
        totals,
        per_day,
        by_hour,
        weekday_hour,
        age_gender,
        services,
        funnel: Funnel {
            visitors,
            test_drive,
            credit,
            bought,
        },
        dwell,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-11-24"), Some(1_795_514_400 / DAY));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("24-11-2026"), None);
        assert_eq!(parse_date("'; DROP TABLE visits; --"), None);
    }

    #[test]
    fn filters_refuse_bad_ranges() {
        let now = 1_795_514_400;
        let f = parse_filter("", "", "", now).unwrap();
        assert_eq!(f.to_day - f.from_day, 364);
        assert!(parse_filter("2026-05-01", "2026-04-01", "", now).is_err());
        assert!(parse_filter("2020-01-01", "2026-04-01", "", now).is_err());
        assert!(parse_filter("2026-01-01", "2026-02-01", "x", now).is_err());
        assert_eq!(
            parse_filter("2026-01-01", "2026-02-01", "2", now)
                .unwrap()
                .branch,
            Some(2)
        );
        assert!(parse_filter("yesterday", "", "", now).is_err());
    }
}
