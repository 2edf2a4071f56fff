//! SQL behind the statistics. Ranges are local days of the branch (or of the
//! network's first branch when all are shown).

pub mod charts;

use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
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

use crate::vocab::ServiceKind;

/// The age band (index into AGE_BANDS) the roll-ups use, as SQL on a birth
/// year and a Unix time.
const BAND_SQL: &str = "CASE WHEN c.birth_year IS NULL THEN -1 \
     WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 25 THEN 0 \
     WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 35 THEN 1 \
     WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 45 THEN 2 \
     WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 55 THEN 3 \
     WHEN CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER) - c.birth_year < 65 THEN 4 ELSE 5 END";

/// Recomputes every roll-up (and the search index) from the visits, services
/// and clients in one pass, after a bulk load that paused the triggers.
pub async fn rebuild_rollups(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    for table in [
        "stats_hourly",
        "stats_services_daily",
        "stats_demographics_daily",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    let dwell = |lo: i64, hi: i64| {
        format!(
            "SUM(CASE WHEN v.left_at - v.entered_at >= {lo} AND v.left_at - v.entered_at < {hi} THEN 1 ELSE 0 END)"
        )
    };
    sqlx::query(&format!(
        "INSERT INTO stats_hourly (branch_id, day, hour, visits, new_visits, returning_visits, unknown_visits, \
             dwell0, dwell1, dwell2, dwell3, dwell4, dwell5, dwell6) \
         SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day, \
                ((v.entered_at + b.utc_offset_minutes * 60) % 86400) / 3600 AS hour, COUNT(*), \
                SUM(CASE WHEN v.is_first_visit THEN 1 ELSE 0 END), \
                SUM(CASE WHEN v.client_id IS NOT NULL AND NOT v.is_first_visit THEN 1 ELSE 0 END), \
                SUM(CASE WHEN v.client_id IS NULL THEN 1 ELSE 0 END), {}, {}, {}, {}, {}, {}, {} \
         FROM visits v JOIN branches b ON b.id = v.branch_id GROUP BY v.branch_id, day, hour",
        dwell(i64::MIN / 2, 900),
        dwell(900, 1800),
        dwell(1800, 2700),
        dwell(2700, 3600),
        dwell(3600, 5400),
        dwell(5400, 7200),
        dwell(7200, i64::MAX / 2),
    ))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO stats_services_daily (branch_id, day, kind, requests) \
         SELECT s.branch_id, (s.requested_at + b.utc_offset_minutes * 60) / 86400 AS day, s.kind, COUNT(*) \
         FROM service_requests s JOIN branches b ON b.id = s.branch_id GROUP BY s.branch_id, day, s.kind",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO clients_fts (clients_fts) VALUES ('rebuild')")
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO stats_demographics_daily (branch_id, day, band, gender, visits) \
         SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day, {BAND_SQL} AS band, \
                COALESCE(c.gender, 'unknown') AS g, COUNT(*) \
         FROM visits v JOIN branches b ON b.id = v.branch_id JOIN clients c ON c.id = v.client_id \
         GROUP BY v.branch_id, day, band, g"
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The statistics from the roll-ups: a few thousand rows for a year.
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
    let (from, to, branch) = (filter.from_day, filter.to_day, filter.branch);

    // Three small aggregations instead of returning every (day, hour) row.
    let day_rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, SUM(visits), SUM(new_visits), SUM(returning_visits) FROM stats_hourly \
         WHERE day >= ?1 AND day <= ?2 AND (?3 IS NULL OR branch_id = ?3) GROUP BY day",
    )
    .bind(from)
    .bind(to)
    .bind(branch)
    .fetch_all(db.pool())
    .await?;
    let hour_rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT (day + 3) % 7 AS weekday, hour, SUM(visits) FROM stats_hourly \
         WHERE day >= ?1 AND day <= ?2 AND (?3 IS NULL OR branch_id = ?3) GROUP BY weekday, hour",
    )
    .bind(from)
    .bind(to)
    .bind(branch)
    .fetch_all(db.pool())
    .await?;
    let sums: Vec<i64> = {
        let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(visits), 0), COALESCE(SUM(new_visits), 0), COALESCE(SUM(returning_visits), 0), \
                    COALESCE(SUM(unknown_visits), 0), COALESCE(SUM(dwell0), 0), COALESCE(SUM(dwell1), 0), \
                    COALESCE(SUM(dwell2), 0), COALESCE(SUM(dwell3), 0), COALESCE(SUM(dwell4), 0), \
                    COALESCE(SUM(dwell5), 0), COALESCE(SUM(dwell6), 0) \
             FROM stats_hourly WHERE day >= ?1 AND day <= ?2 AND (?3 IS NULL OR branch_id = ?3)",
        )
        .bind(from)
        .bind(to)
        .bind(branch)
        .fetch_one(db.pool())
        .await?;
        vec![
            row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10,
        ]
    };
    let days = (to - from + 1) as usize;
    let mut per_day: Vec<DayCount> = (0..days)
        .map(|i| DayCount {
            date: date((from + i as i64) * DAY, 0),
            visits: 0,
            new: 0,
            returning: 0,
        })
        .collect();
    for (day, visits, new, returning) in day_rows {
        if let Some(slot) = per_day.get_mut((day - from) as usize) {
            slot.visits = visits;
            slot.new = new;
            slot.returning = returning;
        }
    }
    let mut by_hour = vec![0i64; 24];
    let mut weekday_hour = vec![vec![0i64; 24]; 7];
    for (weekday, hour, visits) in hour_rows {
        let hour = hour.clamp(0, 23) as usize;
        by_hour[hour] += visits;
        weekday_hour[weekday.rem_euclid(7) as usize][hour] += visits;
    }
    let mut totals = Totals {
        visits: sums[0],
        new_visits: sums[1],
        returning_visits: sums[2],
        unknown_visits: sums[3],
        ..Totals::default()
    };
    let dwell_counts = &sums[4..11];
    let dwell: Vec<(String, i64)> = DWELL_BUCKETS
        .iter()
        .zip(dwell_counts)
        .map(|((_, label), n)| (label.to_string(), *n))
        .collect();

    let service_rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, SUM(requests) FROM stats_services_daily \
         WHERE day >= ?1 AND day <= ?2 AND (?3 IS NULL OR branch_id = ?3) GROUP BY kind",
    )
    .bind(from)
    .bind(to)
    .bind(branch)
    .fetch_all(db.pool())
    .await?;
    let service_count = |k: ServiceKind| {
        service_rows
            .iter()
            .find(|(kind, _)| kind == k.as_str())
            .map(|(_, c)| *c)
            .unwrap_or(0)
    };
    let services: Vec<(ServiceKind, i64)> = ServiceKind::ALL
        .into_iter()
        .map(|k| (k, service_count(k)))
        .collect();
    totals.test_drives = service_count(ServiceKind::TestDrive);

    let offset = offset_minutes * 60;
    let sales: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sales WHERE sold_at >= ?1 AND sold_at < ?2 AND (?3 IS NULL OR branch_id = ?3)",
    )
    .bind(from * DAY - offset)
    .bind((to + 1) * DAY - offset)
    .bind(branch)
    .fetch_one(db.pool())
    .await?;
    totals.sales = sales;
    totals.known_visits = totals.new_visits + totals.returning_visits;

    let age_rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT band, gender, SUM(visits) FROM stats_demographics_daily \
         WHERE day >= ?1 AND day <= ?2 AND (?3 IS NULL OR branch_id = ?3) GROUP BY band, gender",
    )
    .bind(from)
    .bind(to)
    .bind(branch)
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
    for (band, gender, visits) in age_rows {
        if let Some(slot) = usize::try_from(band)
            .ok()
            .and_then(|b| age_gender.get_mut(b))
        {
            match gender.as_str() {
                "male" => slot.male += visits,
                "female" => slot.female += visits,
                _ => {}
            }
        }
    }

    Ok(Stats {
        from: date(from * DAY, 0),
        to: date(to * DAY, 0),
        branch,
        funnel: Funnel {
            visitors: totals.visits,
            test_drive: totals.test_drives,
            credit: service_count(ServiceKind::Credit),
            bought: sales,
        },
        totals,
        per_day,
        by_hour,
        weekday_hour,
        age_gender,
        services,
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
