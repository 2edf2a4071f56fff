//! `GET /api/clients`: the client list with the same filters and rules as
//! the page. `GET /api/export/clients` and `GET /api/export/visits`: the
//! current filter as CSV or XLSX, for managers and admins; every export is
//! audit-logged.

use app::clients::{ClientPage, ClientQuery};
use app::error::{AppError, InvalidCode};
use app::infra::AppState;
use app::ui::{clock, date};
use axum::Json;
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
) -> Result<Json<ClientPage>, AppError> {
    let page =
        app::clients::ssr::search_as(&state.db, user.scope, &params, app::infra::now()).await?;
    Ok(Json(page))
}

#[derive(Deserialize, Default)]
struct Format {
    #[serde(default)]
    format: String,
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

/// A table as a downloadable file.
fn table_response(
    kind: Kind,
    name: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
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
                out.push_str(
                    &row.iter()
                        .map(|c| csv_field(c))
                        .collect::<Vec<_>>()
                        .join(","),
                );
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
            let mut workbook = rust_xlsxwriter::Workbook::new();
            let sheet = workbook.add_worksheet();
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (col, title) in header.iter().enumerate() {
                sheet
                    .write_string_with_format(0, col as u16, *title, &bold)
                    .map_err(AppError::internal)?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (col, cell) in row.iter().enumerate() {
                    sheet
                        .write_string(r as u32 + 1, col as u16, cell)
                        .map_err(AppError::internal)?;
                }
            }
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
    let mut conn = state.db.pool().acquire().await?;
    app::infra::audit::record(
        &mut conn,
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
    let header = [
        "id",
        "full_name",
        "phone",
        "branch",
        "gender",
        "birth_year",
        "source",
        "car",
        "visits",
        "first_visit",
        "last_visit",
    ];
    let rows = rows
        .into_iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                safe(&c.full_name.unwrap_or_default()),
                c.phone.unwrap_or_default(),
                safe(&c.branch),
                c.gender.unwrap_or_default(),
                c.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                c.source,
                safe(&c.car.unwrap_or_default()),
                c.visit_count.to_string(),
                c.first_visit_at
                    .map(|t| date(t, c.offset_minutes))
                    .unwrap_or_default(),
                c.last_visit_at
                    .map(|t| date(t, c.offset_minutes))
                    .unwrap_or_default(),
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
    let header = [
        "visit_token",
        "client",
        "phone",
        "branch",
        "date",
        "entered",
        "left",
        "minutes",
        "started_by",
        "ended_by",
        "services",
    ];
    let rows = rows
        .into_iter()
        .map(|v| {
            vec![
                v.visit_token,
                safe(&v.client_name.unwrap_or_default()),
                v.phone.unwrap_or_default(),
                safe(&v.branch),
                date(v.entered_at, v.utc_offset_minutes),
                clock(v.entered_at, v.utc_offset_minutes),
                v.left_at
                    .map(|l| clock(l, v.utc_offset_minutes))
                    .unwrap_or_default(),
                v.left_at
                    .map(|l| ((l - v.entered_at) / 60).to_string())
                    .unwrap_or_default(),
                v.started_by,
                v.ended_by.unwrap_or_default(),
                v.services.unwrap_or_default(),
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
    }
}
