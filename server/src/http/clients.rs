//! `GET /api/clients`: the client list with the same filters and rules as
//! the page. `GET /api/export/clients` and `GET /api/export/visits`: the
//! current filter as CSV or XLSX, for managers and admins; every export is
//! audit-logged.

use app::clients::ClientQuery;
use app::error::{AppError, InvalidCode};
use app::i18n::Locale;
use app::infra::AppState;
use app::ui::{clock, date};
use app::vocab::{ServiceKind, Source, VisitEnd, VisitStart};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::ApiQuery;
use super::routes::{Access, Admitted, Routes};
use app::auth::ssr::Need;
use axum::http::Method;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Method::GET,
            "/clients",
            Access::Staff(Need::Staff),
            get(clients),
        )
        .route(
            Method::GET,
            "/export/clients",
            Access::Staff(Need::Manager),
            get(export_clients),
        )
        .route(
            Method::GET,
            "/export/visits",
            Access::Staff(Need::Manager),
            get(export_visits),
        )
}

async fn clients(
    State(state): State<AppState>,
    Admitted(user): Admitted,
    ApiQuery(params): ApiQuery<ClientQuery>,
) -> Result<Response, AppError> {
    let json = app::clients::ssr::search_json_as(&state.db, user.scope, &params, app::infra::now())
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

#[derive(Deserialize, Default)]
struct Format {
    #[serde(default)]
    format: String,
    /// The language of the headers and words (absent: English).
    lang: Option<String>,
}

enum Kind {
    Csv,
    Xlsx,
}

fn kind(format: &str) -> Result<Kind, AppError> {
    match format {
        "" | "csv" => Ok(Kind::Csv),
        "xlsx" => Ok(Kind::Xlsx),
        _ => Err(AppError::invalid("format", InvalidCode::UnknownValue)),
    }
}

/// A text cell that a spreadsheet will not run as a formula.
fn safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One cell of an export, typed: a spreadsheet sorts and sums numbers and
/// dates only when they are stored as such, not as text.
enum Cell {
    /// Free text: defused against formulas in CSV (an XLSX string cell is never run).
    Text(String),
    /// A phone number or token, as it is: validated on the way in, and a
    /// quote before "+998…" would break it.
    Code(String),
    Int(i64),
    /// A moment shown as the day at the branch's offset (minutes east of UTC).
    Date(i64, i32),
    /// A moment shown as the time of day at the branch's offset.
    Time(i64, i32),
    Blank,
}

impl Cell {
    fn text(value: Option<String>) -> Cell {
        value
            .filter(|v| !v.is_empty())
            .map_or(Cell::Blank, Cell::Text)
    }

    fn csv(&self) -> String {
        match self {
            Cell::Text(text) => csv_field(&safe(text)),
            Cell::Code(text) => csv_field(text),
            Cell::Int(n) => n.to_string(),
            Cell::Date(at, offset) => date(*at, *offset),
            Cell::Time(at, offset) => clock(*at, *offset),
            Cell::Blank => String::new(),
        }
    }
}

/// The export's language: `lang` as the page sends it, English when absent.
fn export_locale(lang: Option<&str>) -> Result<Locale, AppError> {
    match lang {
        None => Ok(Locale::en),
        Some(l) => l
            .parse()
            .map_err(|_| AppError::invalid("lang", InvalidCode::UnknownValue)),
    }
}

/// A table as a downloadable file.
fn table_response(
    kind: Kind,
    name: &str,
    header: &[&str],
    rows: Vec<Vec<Cell>>,
) -> Result<Response, AppError> {
    // The file's name carries the day in UTC: exports cover many branches.
    let stamp = date(app::infra::now(), 0);
    match kind {
        Kind::Csv => {
            // A byte-order mark so spreadsheet programs read Cyrillic and Uzbek letters right.
            let mut out = String::from("\u{feff}");
            out.push_str(
                &header
                    .iter()
                    .map(|h| csv_field(h))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push_str("\r\n");
            for row in rows {
                out.push_str(&row.iter().map(Cell::csv).collect::<Vec<_>>().join(","));
                out.push_str("\r\n");
            }
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}-{stamp}.csv\""),
                    ),
                ],
                out,
            )
                .into_response())
        }
        Kind::Xlsx => {
            use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
            let mut workbook = Workbook::new();
            let sheet = workbook.add_worksheet();
            let bold = Format::new().set_bold();
            let day = Format::new().set_num_format("yyyy-mm-dd");
            let time = Format::new().set_num_format("hh:mm");
            let moment = |at: i64, offset: i32| {
                ExcelDateTime::from_timestamp(at + i64::from(offset) * 60)
                    .map_err(AppError::internal)
            };
            for (col, title) in header.iter().enumerate() {
                sheet
                    .write_string_with_format(0, col as u16, *title, &bold)
                    .map_err(AppError::internal)?;
            }
            for (r, row) in rows.iter().enumerate() {
                let r = r as u32 + 1;
                for (col, cell) in row.iter().enumerate() {
                    let col = col as u16;
                    match cell {
                        Cell::Text(text) | Cell::Code(text) => {
                            sheet.write_string(r, col, text).map(|_| ())
                        }
                        Cell::Int(n) => sheet.write_number(r, col, *n as f64).map(|_| ()),
                        Cell::Date(at, offset) => sheet
                            .write_datetime_with_format(r, col, &moment(*at, *offset)?, &day)
                            .map(|_| ()),
                        Cell::Time(at, offset) => sheet
                            .write_datetime_with_format(r, col, &moment(*at, *offset)?, &time)
                            .map(|_| ()),
                        Cell::Blank => Ok(()),
                    }
                    .map_err(AppError::internal)?;
                }
            }
            sheet.set_freeze_panes(1, 0).map_err(AppError::internal)?;
            sheet.autofit();
            let bytes = workbook.save_to_buffer().map_err(AppError::internal)?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}-{stamp}.xlsx\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
    }
}

async fn audit(
    state: &AppState,
    staff: i64,
    entity: &str,
    detail: &str,
    rows: usize,
) -> Result<(), AppError> {
    let mut conn = state.db.acquire().await?;
    app::infra::audit::record(
        conn.backend(),
        Some(staff),
        "export",
        entity,
        None,
        Some(&format!("{rows} rows; {detail}")),
    )
    .await?;
    Ok(())
}

/// The route's rule admits managers first, so reception gets 403 whatever it asks.
async fn export_clients(
    State(state): State<AppState>,
    Admitted(user): Admitted,
    params: Result<ApiQuery<ClientQuery>, AppError>,
    format: Result<ApiQuery<Format>, AppError>,
) -> Result<Response, AppError> {
    let (ApiQuery(params), ApiQuery(format)) = (params?, format?);
    let kind = kind(&format.format)?;
    let search = app::clients::ssr::validate(&params, app::infra::now())?;
    let rows = app::clients::ssr::export_rows(&state.db, &search).await?;
    audit(
        &state,
        user.id,
        "clients",
        &params.to_query_string(),
        rows.len(),
    )
    .await?;
    let l = export_locale(format.lang.as_deref())?;
    let header = app::clients::ssr::export_headers(l);
    let rows = rows
        .into_iter()
        .map(|c| {
            let gender = c
                .gender
                .as_deref()
                .and_then(|g| app::clients::ssr::gender_word(l, g))
                .map_or(Cell::Blank, |word| Cell::Text(word.to_string()));
            let source =
                Source::parse(&c.source).map_or(c.source.clone(), |s| s.label(l).to_string());
            vec![
                Cell::Int(c.id),
                Cell::text(c.full_name),
                c.phone.map_or(Cell::Blank, Cell::Code),
                Cell::text(Some(c.branch)),
                gender,
                c.birth_year.map_or(Cell::Blank, Cell::Int),
                Cell::text(Some(source)),
                Cell::text(c.car),
                Cell::Int(c.visit_count),
                c.first_visit_at
                    .map_or(Cell::Blank, |t| Cell::Date(t, c.offset_minutes)),
                c.last_visit_at
                    .map_or(Cell::Blank, |t| Cell::Date(t, c.offset_minutes)),
            ]
        })
        .collect();
    table_response(kind, "clients", &header, rows)
}

#[derive(Deserialize, Default)]
struct VisitParams {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    branch: String,
}

async fn export_visits(
    State(state): State<AppState>,
    Admitted(user): Admitted,
    params: Result<ApiQuery<VisitParams>, AppError>,
    format: Result<ApiQuery<Format>, AppError>,
) -> Result<Response, AppError> {
    let (ApiQuery(p), ApiQuery(format)) = (params?, format?);
    let kind = kind(&format.format)?;
    let filter =
        app::stats::ssr::load_filter(&state.db, &p.from, &p.to, &p.branch, app::infra::now())
            .await?;
    let rows = app::stats::ssr::visit_rows(&state.db, &filter).await?;
    audit(
        &state,
        user.id,
        "visits",
        &format!("from={}&to={}&branch={}", p.from, p.to, p.branch),
        rows.len(),
    )
    .await?;
    let l = export_locale(format.lang.as_deref())?;
    let header = app::stats::ssr::visit_export_headers(l);
    let rows = rows
        .into_iter()
        .map(|v| {
            let offset = v.utc_offset_minutes;
            let services = v.services.map(|kinds| {
                kinds
                    .split(' ')
                    .map(|k| ServiceKind::parse(k).map_or(k, |s| s.label(l)))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            let started = VisitStart::parse(&v.started_by)
                .map_or(v.started_by.clone(), |s| s.label(l).to_string());
            let ended = v
                .ended_by
                .map(|e| VisitEnd::parse(&e).map_or(e.clone(), |s| s.label(l).to_string()));
            vec![
                Cell::Code(v.visit_token),
                Cell::text(v.client_name),
                v.phone.map_or(Cell::Blank, Cell::Code),
                Cell::text(Some(v.branch)),
                Cell::Date(v.entered_at, offset),
                Cell::Time(v.entered_at, offset),
                v.left_at.map_or(Cell::Blank, |t| Cell::Time(t, offset)),
                v.left_at
                    .map_or(Cell::Blank, |t| Cell::Int((t - v.entered_at) / 60)),
                Cell::text(Some(started)),
                Cell::text(ended),
                Cell::text(services),
            ]
        })
        .collect();
    table_response(kind, "visits", &header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe("Aziz"), "Aziz");
        // Free text is defused in CSV; a phone number is left dialable.
        assert_eq!(Cell::Text("=1+1".into()).csv(), "'=1+1");
        assert_eq!(Cell::Code("+998901234567".into()).csv(), "+998901234567");
    }
}
