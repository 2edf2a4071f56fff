//! The daily roll-ups the statistics read: rebuilt in one pass after a bulk
//! load (triggers keep them current otherwise).

/// The age band (index into AGE_BANDS) the roll-ups use, as SQL on a birth
/// year and a Unix time; `year` is the UTC year of `v.entered_at` in the database's SQL
/// (the triggers of both migration sets compute the same).
fn band_sql(year: &str) -> String {
    format!(
        "CASE WHEN c.birth_year IS NULL THEN -1 \
         WHEN {year} - c.birth_year < 25 THEN 0 \
         WHEN {year} - c.birth_year < 35 THEN 1 \
         WHEN {year} - c.birth_year < 45 THEN 2 \
         WHEN {year} - c.birth_year < 55 THEN 3 \
         WHEN {year} - c.birth_year < 65 THEN 4 ELSE 5 END"
    )
}

/// Unique visitors per branch and local day, from the visits: a person is a
/// client, else a stranger's key, else the anonymous visit itself (the same
/// SELECT as the migration's backfill; the triggers keep it current).
pub const VISITORS_PER_DAY: &str = "SELECT branch_id, day, COUNT(DISTINCT visitor) FROM ( \
     SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day, \
            CASE WHEN v.client_id IS NOT NULL THEN 'c' || CAST(v.client_id AS TEXT) \
                 WHEN v.stranger_key IS NOT NULL THEN 's' || v.stranger_key \
                 ELSE 'v' || CAST(v.id AS TEXT) END AS visitor \
     FROM visits v JOIN branches b ON b.id = v.branch_id \
 ) AS people GROUP BY branch_id, day";

/// Recomputes every roll-up (and the search index) from the visits, services
/// and clients in one pass, after a bulk load that paused the triggers.
pub async fn rebuild_rollups(mut conn: crate::infra::db::Conn<'_>) -> Result<(), sqlx::Error> {
    let postgres = matches!(conn, crate::infra::db::Backend::Postgres(_));
    let band = band_sql(if postgres {
        "CAST(EXTRACT(YEAR FROM to_timestamp(v.entered_at) AT TIME ZONE 'UTC') AS BIGINT)"
    } else {
        "CAST(strftime('%Y', v.entered_at, 'unixepoch') AS INTEGER)"
    });
    for table in [
        "stats_hourly",
        "stats_services_daily",
        "stats_demographics_daily",
        "stats_visitors_daily",
    ] {
        crate::db_run!(conn, |c| sqlx::query(&format!("DELETE FROM {table}"))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    let dwell = |lo: i64, hi: i64| {
        format!(
            "SUM(CASE WHEN v.left_at - v.entered_at >= {lo} AND v.left_at - v.entered_at < {hi} THEN 1 ELSE 0 END)"
        )
    };
    crate::db_run!(conn, |c| {
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
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    crate::db_run!(conn, |c| {
        sqlx::query(
        "INSERT INTO stats_services_daily (branch_id, day, kind, requests) \
         SELECT s.branch_id, (s.requested_at + b.utc_offset_minutes * 60) / 86400 AS day, s.kind, COUNT(*) \
         FROM service_requests s JOIN branches b ON b.id = s.branch_id GROUP BY s.branch_id, day, s.kind",
    )
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    crate::db_run!(conn, |c| {
        sqlx::query(&format!(
            "INSERT INTO stats_visitors_daily (branch_id, day, visitors) {VISITORS_PER_DAY}"
        ))
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    // PostgreSQL's trigram index follows every write, paused triggers or not.
    if !postgres {
        crate::db_run!(conn, |c| sqlx::query(
            "INSERT INTO clients_fts (clients_fts) VALUES ('rebuild')"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    crate::db_run!(conn, |c| {
        sqlx::query(&format!(
        "INSERT INTO stats_demographics_daily (branch_id, day, band, gender, visits) \
         SELECT v.branch_id, (v.entered_at + b.utc_offset_minutes * 60) / 86400 AS day, {band} AS band, \
                COALESCE(c.gender, 'unknown') AS g, COUNT(*) \
         FROM visits v JOIN branches b ON b.id = v.branch_id JOIN clients c ON c.id = v.client_id \
         GROUP BY v.branch_id, day, band, g"
    ))
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}
