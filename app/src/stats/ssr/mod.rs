//! SQL behind the statistics. Ranges are local days of the branch (or of the
//! network's first branch when all are shown); the roll-ups count each visit
//! on its own branch's local day.

pub mod charts;

use crate::error::{AppError, InvalidCode};
use crate::infra::Db;
use crate::infra::time;
use crate::settings::ssr::branches;
use crate::stats::{AgeBand, DayCount, Funnel, Stats, Totals};
use crate::vocab::ServiceKind;
mod export;
pub use export::*;
mod rollups;
pub use rollups::*;

/// Longest range one request may ask for.
pub const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Local day numbers (days since 1970-01-01), inclusive.
    pub from_day: i64,
    pub to_day: i64,
    pub branch: Option<i64>,
    /// Minutes east of UTC the days are counted at: the branch's, or the
    /// first branch's for the whole network.
    pub offset_minutes: i32,
}

impl Filter {
    /// The Unix times [start, end) the days cover.
    pub fn utc_range(&self) -> (i64, i64) {
        time::days_range(self.from_day, self.to_day, self.offset_minutes)
    }
}

/// `""` or `"all"` for the whole network, else a branch id.
pub fn parse_branch(branch: &str) -> Result<Option<i64>, AppError> {
    match branch.trim() {
        "" | "all" => Ok(None),
        b => crate::clients::ssr::int("branch", b, 1..=i64::MAX),
    }
}

/// Validates the dates, read at `offset_minutes`: empty dates mean the last
/// 365 days up to today.
pub fn parse_filter(
    from: &str,
    to: &str,
    branch: Option<i64>,
    now: i64,
    offset_minutes: i32,
) -> Result<Filter, AppError> {
    let today = time::local_day(now, offset_minutes);
    let to_day = if to.trim().is_empty() {
        today
    } else {
        time::parse_date(to).ok_or_else(|| AppError::invalid("to", InvalidCode::BadFormat))?
    };
    let from_day = if from.trim().is_empty() {
        to_day - 364
    } else {
        time::parse_date(from).ok_or_else(|| AppError::invalid("from", InvalidCode::BadFormat))?
    };
    // Backwards means forwards; a longer period keeps its last MAX_DAYS
    // days (the answer says which days were counted).
    let (from_day, to_day) = (from_day.min(to_day), from_day.max(to_day));
    let from_day = from_day.max(to_day - (MAX_DAYS - 1));
    Ok(Filter {
        from_day,
        to_day,
        branch,
        offset_minutes,
    })
}

/// The query as typed, with the days of the branch asked for (an unknown
/// branch is refused).
pub async fn load_filter(
    db: &Db,
    from: &str,
    to: &str,
    branch: &str,
    now: i64,
) -> Result<Filter, AppError> {
    let branch = parse_branch(branch)?;
    let offset = branches::offset_minutes(db, branch).await?;
    parse_filter(from, to, branch, now, offset)
}

/// The last `days` local days up to today at `branch` (the network: the
/// first branch).
pub async fn recent_days(
    db: &Db,
    branch: Option<i64>,
    days: i64,
    now: i64,
) -> Result<Filter, AppError> {
    let offset_minutes = branches::offset_minutes(db, branch).await?;
    let to_day = time::local_day(now, offset_minutes);
    Ok(Filter {
        from_day: to_day - (days - 1),
        to_day,
        branch,
        offset_minutes,
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

/// One local day of the hourly roll-up, summed over its hours (and branches).
type DayRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

/// The rows of one aggregation of a roll-up over the filter's days (`$1`, `$2`) and
/// branch (`$3`, NULL for all).
async fn range_rows<T>(db: &Db, sql: &'static str, filter: &Filter) -> Result<Vec<T>, AppError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    Ok(crate::db_run!(db, |c| sqlx::query_as::<_, T>(sql)
        .bind(filter.from_day)
        .bind(filter.to_day)
        .bind(filter.branch)
        .fetch_all(c)
        .await)?)
}

/// The statistics from the roll-ups: a few thousand rows for a year.
pub async fn compute(db: &Db, filter: &Filter) -> Result<Stats, AppError> {
    let (from, to, branch) = (filter.from_day, filter.to_day, filter.branch);
    let (start, end) = filter.utc_range();

    // Six small aggregations, sent at once on their own pooled connections (the
    // answer waits for the slowest, not the sum). Counters are summed as INTEGER:
    // PostgreSQL adds BIGINTs up in NUMERIC, several times slower (a count of an
    // hour or a day always fits).
    let sold = async {
        let n: i64 = crate::db_run!(db, |c| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM sales WHERE sold_at >= $1 AND sold_at < $2 AND ($3 IS NULL OR branch_id = $3)",
        )
        .bind(start)
        .bind(end)
        .bind(branch)
        .fetch_one(c)
        .await
        })?;
        Ok::<_, AppError>(n)
    };
    let (day_rows, hour_rows, visitor_rows, service_rows, age_rows, sales) = tokio::try_join!(
        range_rows::<DayRow>(
            db,
            "SELECT day, CAST(SUM(CAST(visits AS INTEGER)) AS BIGINT), CAST(SUM(CAST(new_visits AS INTEGER)) AS BIGINT), \
                    CAST(SUM(CAST(returning_visits AS INTEGER)) AS BIGINT), CAST(SUM(CAST(unknown_visits AS INTEGER)) AS BIGINT), \
                    CAST(SUM(CAST(dwell0 AS INTEGER)) AS BIGINT), CAST(SUM(CAST(dwell1 AS INTEGER)) AS BIGINT), \
                    CAST(SUM(CAST(dwell2 AS INTEGER)) AS BIGINT), CAST(SUM(CAST(dwell3 AS INTEGER)) AS BIGINT), \
                    CAST(SUM(CAST(dwell4 AS INTEGER)) AS BIGINT), CAST(SUM(CAST(dwell5 AS INTEGER)) AS BIGINT), \
                    CAST(SUM(CAST(dwell6 AS INTEGER)) AS BIGINT) FROM stats_hourly \
             WHERE day >= $1 AND day <= $2 AND ($3 IS NULL OR branch_id = $3) GROUP BY day",
            filter,
        ),
        range_rows::<(i64, i64, i64)>(
            db,
            "SELECT (day + 3) % 7 AS weekday, hour, CAST(SUM(CAST(visits AS INTEGER)) AS BIGINT) FROM stats_hourly \
             WHERE day >= $1 AND day <= $2 AND ($3 IS NULL OR branch_id = $3) GROUP BY weekday, hour",
            filter,
        ),
        range_rows::<(i64, i64)>(
            db,
            "SELECT day, CAST(SUM(CAST(visitors AS INTEGER)) AS BIGINT) FROM stats_visitors_daily \
             WHERE day >= $1 AND day <= $2 AND ($3 IS NULL OR branch_id = $3) GROUP BY day",
            filter,
        ),
        range_rows::<(String, i64)>(
            db,
            "SELECT kind, CAST(SUM(CAST(requests AS INTEGER)) AS BIGINT) FROM stats_services_daily \
             WHERE day >= $1 AND day <= $2 AND ($3 IS NULL OR branch_id = $3) GROUP BY kind",
            filter,
        ),
        range_rows::<(i64, String, i64)>(
            db,
            "SELECT band, gender, CAST(SUM(CAST(visits AS INTEGER)) AS BIGINT) FROM stats_demographics_daily \
             WHERE day >= $1 AND day <= $2 AND ($3 IS NULL OR branch_id = $3) GROUP BY band, gender",
            filter,
        ),
        sold,
    )?;

    let days = (to - from + 1) as usize;
    let mut per_day: Vec<DayCount> = (0..days)
        .map(|i| DayCount {
            date: time::day_string(from + i as i64),
            visits: 0,
            visitors: 0,
            new: 0,
            returning: 0,
        })
        .collect();
    // Range totals: the days added up (visits, new, returning, unknown, 7 dwell buckets).
    let mut sums = [0i64; 11];
    for row in day_rows {
        let (day, visits, new, returning) = (row.0, row.1, row.2, row.3);
        let counts = [
            row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10, row.11,
        ];
        for (sum, n) in sums.iter_mut().zip(counts) {
            *sum += n;
        }
        if let Some(slot) = per_day.get_mut((day - from) as usize) {
            slot.visits = visits;
            slot.new = new;
            slot.returning = returning;
        }
    }
    let mut visitors = 0;
    for (day, people) in visitor_rows {
        visitors += people;
        if let Some(slot) = per_day.get_mut((day - from) as usize) {
            slot.visitors = people;
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
        visitors,
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
    totals.sales = sales;
    totals.known_visits = totals.new_visits + totals.returning_visits;

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
        from: time::day_string(from),
        to: time::day_string(to),
        branch,
        funnel: Funnel {
            visitors: totals.visitors,
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

    const DAY: i64 = 86_400;
    const TASHKENT: i32 = 300;

    #[test]
    fn filters_refuse_bad_input_and_read_ranges_forwards() {
        let now = 1_795_514_400;
        let f = parse_filter("", "", None, now, TASHKENT).unwrap();
        assert_eq!(f.to_day - f.from_day, 364);
        let day = |d| time::parse_date(d).unwrap();
        let backwards = parse_filter("2026-05-01", "2026-04-01", None, now, TASHKENT).unwrap();
        assert_eq!(
            (backwards.from_day, backwards.to_day),
            (day("2026-04-01"), day("2026-05-01"))
        );
        // Longer than three years: the last MAX_DAYS days are counted.
        let long = parse_filter("2020-01-01", "2026-04-01", None, now, TASHKENT).unwrap();
        assert_eq!(
            (long.from_day, long.to_day),
            (day("2026-04-01") - (MAX_DAYS - 1), day("2026-04-01"))
        );
        assert!(parse_branch("x").is_err());
        assert!(parse_branch("0").is_err());
        assert_eq!(parse_branch("2").unwrap(), Some(2));
        assert_eq!(parse_branch("all").unwrap(), None);
        assert!(parse_filter("yesterday", "", None, now, TASHKENT).is_err());
    }

    #[test]
    fn today_is_the_branch_s_today() {
        // 2026-11-24 18:30 UTC: still the 24th in Tashkent, the 25th in Bishkek.
        let now = time::parse_date("2026-11-24").unwrap() * DAY + 18 * 3600 + 1800;
        let tashkent = parse_filter("", "", None, now, TASHKENT).unwrap();
        let bishkek = parse_filter("", "", Some(2), now, 360).unwrap();
        assert_eq!(time::day_string(tashkent.to_day), "2026-11-24");
        assert_eq!(time::day_string(bishkek.to_day), "2026-11-25");
        let (start, _) = bishkek.utc_range();
        assert_eq!(start, time::day_start(bishkek.from_day, 360));
    }

    /// Each branch counts a visit on its own local day: 18:30 UTC is 23:30
    /// on the 24th in Tashkent but 00:30 on the 25th in Bishkek.
    #[tokio::test]
    async fn a_branch_counts_its_own_local_days() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO branches (id, name, city, time_zone, utc_offset_minutes, created_at) VALUES \
             (1, 'Toshkent', 'Toshkent', 'Asia/Tashkent', 300, 0), (2, 'Bishkek', 'Bishkek', 'Asia/Bishkek', 360, 0)",
        )
        .execute(c).await.map(|r| r.rows_affected()))
        .unwrap();
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO clients (id, branch_id, full_name, phone, visit_count, created_at, updated_at) \
             VALUES (1, 2, 'Aziz Karimov', '+998901234567', 1, 0, 0)",
        )
        .execute(c).await.map(|r| r.rows_affected()))
        .unwrap();
        let t = time::parse_date("2026-11-24").unwrap() * DAY + 18 * 3600 + 1800;
        for branch in [1, 2] {
            crate::db_run!(db, |c| sqlx::query(
                "INSERT INTO visits (visit_token, branch_id, entered_at, started_by, is_first_visit, created_at) \
                 VALUES ($1, $2, $3, 'manual', FALSE, 0)",
            )
            .bind(format!("token-{branch}"))
            .bind(branch)
            .bind(t)
            .execute(c).await.map(|r| r.rows_affected()))
            .unwrap();
        }
        crate::db_run!(db, |c| sqlx::query(
            "INSERT INTO sales (client_id, branch_id, price, sold_at, created_at) VALUES (1, 2, 1000, $1, 0)",
        )
        .bind(t)
        .execute(c).await.map(|r| r.rows_affected()))
        .unwrap();
        let now = t + 3600;
        let totals = |from: &'static str, branch: &'static str| {
            let db = db.clone();
            async move {
                let filter = load_filter(&db, from, from, branch, now).await.unwrap();
                compute(&db, &filter).await.unwrap().totals
            }
        };
        assert_eq!(totals("2026-11-24", "1").await.visits, 1);
        assert_eq!(totals("2026-11-25", "1").await.visits, 0);
        let bishkek_24 = totals("2026-11-24", "2").await;
        let bishkek_25 = totals("2026-11-25", "2").await;
        assert_eq!((bishkek_24.visits, bishkek_24.sales), (0, 0));
        assert_eq!((bishkek_25.visits, bishkek_25.sales), (1, 1));
        // Today at the Bishkek branch is already the 25th.
        let today = load_filter(&db, "", "", "2", now).await.unwrap();
        assert_eq!(time::day_string(today.to_day), "2026-11-25");
        assert!(load_filter(&db, "", "", "9", now).await.is_err());
    }

    /// The unique-visitor triggers agree with a count from the visits after
    /// every kind of write: a client twice a day, a stranger's key arriving and
    /// passing again, a kiosk takeover, "not this person", a move to another
    /// day, a deletion; and the statistics add the days up.
    #[tokio::test]
    async fn unique_visitors_follow_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        let run = |sql: &'static str| {
            let db = db.clone();
            async move {
                crate::db_run!(db, |c| sqlx::query(sql)
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))
                .unwrap();
            }
        };
        let kept = || {
            let db = db.clone();
            async move {
                let rows: Vec<(i64, i64, i64)> = crate::db_run!(db, |c| sqlx::query_as(
                    "SELECT branch_id, day, visitors FROM stats_visitors_daily WHERE visitors <> 0 ORDER BY branch_id, day"
                )
                .fetch_all(c)
                .await)
                .unwrap();
                rows
            }
        };
        let counted = || {
            let db = db.clone();
            async move {
                let rows: Vec<(i64, i64, i64)> = crate::db_run!(db, |c| sqlx::query_as(&format!(
                    "SELECT * FROM ({VISITORS_PER_DAY}) AS t ORDER BY 1, 2"
                ))
                .fetch_all(c)
                .await)
                .unwrap();
                rows
            }
        };
        run("INSERT INTO branches (id, name, city, time_zone, utc_offset_minutes, created_at) VALUES \
             (1, 'Toshkent', 'Toshkent', 'Asia/Tashkent', 300, 0)")
        .await;
        run("INSERT INTO clients (id, branch_id, full_name, phone, visit_count, created_at, updated_at) VALUES \
             (1, 1, 'Aziz', '+998901234567', 0, 0, 0), (2, 1, 'Malika', '+998901234568', 0, 0, 0)")
        .await;
        // 2026-11-24 10:00 Tashkent is 05:00 UTC.
        let steps: [(&str, &str, i64); 9] = [
            (
                "a client comes in",
                "INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, started_by, is_first_visit, created_at) VALUES (1, 'a', 1, 1, 1795496400, 'kiosk', TRUE, 0)",
                1,
            ),
            (
                "and again after lunch",
                "INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, started_by, is_first_visit, created_at) VALUES (2, 'b', 1, 1, 1795496400 + 14400, 'camera', FALSE, 0)",
                1,
            ),
            (
                "a stranger",
                "INSERT INTO visits (id, visit_token, branch_id, entered_at, started_by, is_first_visit, created_at) VALUES (3, 'c', 1, 1795496400 + 600, 'camera', FALSE, 0)",
                2,
            ),
            (
                "whose key arrives",
                "UPDATE visits SET stranger_key = 's-00000000000000aa' WHERE id = 3",
                2,
            ),
            (
                "passing again hours later",
                "INSERT INTO visits (id, visit_token, branch_id, entered_at, started_by, is_first_visit, stranger_key, created_at) VALUES (4, 'd', 1, 1795496400 + 20000, 'camera', FALSE, 's-00000000000000aa', 0)",
                2,
            ),
            (
                "registers at the kiosk as Malika",
                "UPDATE visits SET client_id = 2 WHERE id = 4",
                3,
            ),
            (
                "the first passage was Aziz after all",
                "UPDATE visits SET client_id = 1 WHERE id = 3",
                2,
            ),
            (
                "not this person",
                "UPDATE visits SET client_id = NULL WHERE id = 2",
                3,
            ),
            (
                "the next day",
                "UPDATE visits SET entered_at = entered_at + 86400 WHERE id = 1",
                4,
            ),
        ];
        for (what, sql, today_and_tomorrow) in steps {
            run(sql).await;
            assert_eq!(kept().await, counted().await, "after: {what}");
            let total: i64 = kept().await.iter().map(|r| r.2).sum();
            assert_eq!(total, today_and_tomorrow, "after: {what}");
        }
        run("DELETE FROM visits WHERE id = 2").await;
        assert_eq!(kept().await, counted().await, "after a deletion");

        let now = 1795496400 + 2 * 86400;
        let filter = load_filter(&db, "2026-11-24", "2026-11-25", "", now)
            .await
            .unwrap();
        let stats = compute(&db, &filter).await.unwrap();
        assert_eq!(stats.totals.visitors, 3);
        assert_eq!(stats.funnel.visitors, 3);
        let per_day: Vec<i64> = stats.per_day.iter().map(|d| d.visitors).collect();
        assert_eq!(per_day, vec![2, 1]);

        // A rebuild after a bulk load gives the same.
        let before = kept().await;
        let mut conn = db.acquire().await.unwrap();
        rebuild_rollups(conn.backend()).await.unwrap();
        assert_eq!(kept().await, before);
    }
}
