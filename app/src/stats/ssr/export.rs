//! The visits export: one row per visit with its client and services.

use super::*;
use crate::error::AppError;
use crate::infra::Db;

/// One visit of the visits export, with its client and requested services.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitExportRow {
    pub visit_token: String,
    pub client_name: Option<String>,
    pub phone: Option<String>,
    pub branch: String,
    /// The visited branch's minutes east of UTC, for local dates and times.
    pub utc_offset_minutes: i32,
    pub entered_at: i64,
    pub left_at: Option<i64>,
    pub started_by: String,
    pub ended_by: Option<String>,
    /// Service kinds, space-separated.
    pub services: Option<String>,
}

/// The visits export's column headers in `l`.
pub fn visit_export_headers(l: crate::i18n::Locale) -> [&'static str; 11] {
    use crate::i18n::td_string;
    [
        td_string!(l, export.visit_token),
        td_string!(l, export.client),
        td_string!(l, export.phone),
        td_string!(l, export.branch),
        td_string!(l, export.date),
        td_string!(l, export.entered),
        td_string!(l, export.left),
        td_string!(l, export.minutes),
        td_string!(l, export.started_by),
        td_string!(l, export.ended_by),
        td_string!(l, export.services),
    ]
}

/// Every visit in the filter's range, oldest first, for the visits export.
pub async fn visit_rows(db: &Db, filter: &Filter) -> Result<Vec<VisitExportRow>, AppError> {
    let (from, to) = filter.utc_range();
    Ok(crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT v.visit_token, c.full_name AS client_name, c.phone, b.name AS branch, b.utc_offset_minutes, \
                v.entered_at, v.left_at, \
                v.started_by, v.ended_by, \
                (SELECT string_agg(kind, ' ') FROM service_requests s WHERE s.visit_id = v.id) AS services \
         FROM visits v JOIN branches b ON b.id = v.branch_id LEFT JOIN clients c ON c.id = v.client_id \
         WHERE v.entered_at >= $1 AND v.entered_at < $2 AND ($3 IS NULL OR v.branch_id = $3) ORDER BY v.entered_at",
    )
    .bind(from)
    .bind(to)
    .bind(filter.branch)
    .fetch_all(c).await
    })?)
}
