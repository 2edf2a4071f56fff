//! SQL behind the potential-buyers list: clients ranked by their score.

use crate::clients::ssr::int;
use crate::error::{AppError, InvalidCode};
use crate::i18n::Locale;
use crate::infra::Db;
use crate::infra::sql::Sql;
use crate::potential::{Lead, LeadPage, LeadQuery};
use crate::scoring::ssr::{self as scoring, Reason};

pub struct LeadFilter {
    pub branch: Option<i64>,
    pub car: Option<i64>,
    pub not_bought: bool,
    pub since: Option<i64>,
    pub page: i64,
    pub page_size: i64,
}

pub fn validate(q: &LeadQuery, now: i64) -> Result<LeadFilter, AppError> {
    let not_bought = match q.not_bought.trim() {
        "" | "1" | "true" | "on" => true,
        "0" | "false" | "off" => false,
        _ => return Err(AppError::invalid("not_bought", InvalidCode::BadFormat)),
    };
    Ok(LeadFilter {
        branch: int("branch", &q.branch, 1..=i64::MAX)?,
        car: int("car", &q.car, 1..=i64::MAX)?,
        not_bought,
        since: int("last_visit_days", &q.last_visit_days, 1..=3650)?.map(|d| now - d * 86_400),
        page: int("page", &q.page, 1..=1_000_000)?.unwrap_or(1),
        page_size: int("page_size", &q.page_size, 1..=crate::clients::MAX_PAGE_SIZE)?.unwrap_or(25),
    })
}

/// The filters on the client's own columns, as one `EXISTS` the ranked scan
/// checks row by row (a join would make SQLite build a filter over every
/// client before the first row).
fn push_client_filters(q: &mut Sql, f: &LeadFilter) {
    q.push(" EXISTS (SELECT 1 FROM clients c WHERE c.id = s.client_id AND c.erased_at IS NULL");
    if let Some(b) = f.branch {
        q.push(" AND c.branch_id = ").push_bind(b);
    }
    if let Some(car) = f.car {
        q.push(" AND c.car_model_id = ").push_bind(car);
    }
    if let Some(since) = f.since {
        q.push(" AND c.last_visit_at >= ").push_bind(since);
    }
    q.push(")");
}

fn filters_clients(f: &LeadFilter) -> bool {
    f.branch.is_some() || f.car.is_some() || f.since.is_some()
}

/// How many clients the filter lists: scored clients, less the buyers when
/// only non-buyers are wanted. Erased clients have no score (erasure deletes
/// it and scoring skips them), so without client filters this counts two
/// small sets instead of looking at every client.
async fn lead_count(db: &Db, f: &LeadFilter) -> Result<i64, AppError> {
    let mut scored: Sql = Sql::new("SELECT COUNT(*) FROM client_scores s");
    if filters_clients(f) {
        scored.push(" WHERE");
        push_client_filters(&mut scored, f);
    }
    let mut total: i64 =
        crate::db_run!(db, |c, D| scored.query_scalar::<D, _>().fetch_one(c).await)?;
    if f.not_bought {
        let mut buyers: Sql = Sql::new(
            "SELECT COUNT(*) FROM client_scores s \
             WHERE s.client_id IN (SELECT client_id FROM sales)",
        );
        if filters_clients(f) {
            buyers.push(" AND");
            push_client_filters(&mut buyers, f);
        }
        total -= crate::db_run!(db, |c, D| buyers
            .query_scalar::<D, i64>()
            .fetch_one(c)
            .await)?;
    }
    Ok(total)
}

pub async fn leads(db: &Db, f: &LeadFilter, locale: Locale) -> Result<LeadPage, AppError> {
    let has_model = scoring::active_model(db).await?.is_some();
    let (hot, warm) = scoring::bands(db).await?;
    let total = lead_count(db, f).await?;
    // The page is picked from the score index first (best first, stopping
    // after its rows), then joined to the client's details.
    let mut q: Sql = Sql::new(
        "SELECT c.id, c.full_name, c.phone, b.name, m.brand || ' ' || m.name, p.probability, p.reasons, \
                c.last_visit_at, c.visit_count, EXISTS (SELECT 1 FROM sales x WHERE x.client_id = c.id) \
         FROM (SELECT s.client_id, s.probability, s.reasons FROM client_scores s WHERE",
    );
    push_client_filters(&mut q, f);
    if f.not_bought {
        q.push(" AND NOT EXISTS (SELECT 1 FROM sales x WHERE x.client_id = s.client_id)");
    }
    q.push(" ORDER BY s.probability DESC, s.client_id LIMIT ")
        .push_bind(f.page_size)
        .push(" OFFSET ")
        .push_bind((f.page - 1) * f.page_size)
        .push(
            ") p JOIN clients c ON c.id = p.client_id JOIN branches b ON b.id = c.branch_id \
             LEFT JOIN car_models m ON m.id = c.car_model_id \
             ORDER BY p.probability DESC, p.client_id",
        );
    type Row = (
        i64,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        f64,
        String,
        Option<i64>,
        i64,
        bool,
    );
    let rows: Vec<Row> = crate::db_run!(db, |c, D| q.query_as::<D, _>().fetch_all(c).await)?;
    let stored: Vec<Option<Vec<Reason>>> = rows
        .iter()
        .map(|row| serde_json::from_str(&row.6).unwrap_or_default())
        .collect();
    let unexplained: Vec<i64> = rows
        .iter()
        .zip(&stored)
        .filter(|(_, reasons)| reasons.is_none())
        .map(|(row, _)| row.0)
        .collect();
    let mut explained = scoring::explain(db, &unexplained).await?;
    let items = rows
        .into_iter()
        .zip(stored)
        .map(
            |((id, name, phone, branch, car, p, _, last, visits, bought), reasons)| {
                let reasons = reasons
                    .or_else(|| explained.remove(&id))
                    .unwrap_or_default();
                Lead {
                    client_id: id,
                    full_name: name,
                    phone,
                    branch,
                    car,
                    probability: p,
                    band: band(p, hot, warm).to_string(),
                    reasons: reasons
                        .iter()
                        .map(|r| scoring::reason_text(locale, r))
                        .collect(),
                    last_visit_at: last,
                    visit_count: visits,
                    bought,
                }
            },
        )
        .collect();
    Ok(LeadPage {
        items,
        total,
        page: f.page,
        page_size: f.page_size,
        has_model,
    })
}

pub fn band(p: f64, hot: f64, warm: f64) -> &'static str {
    if p >= hot {
        "hot"
    } else if p >= warm {
        "warm"
    } else {
        "cold"
    }
}

/// One client's score and reasons in `locale`, for the client card.
pub async fn client_score(
    db: &Db,
    client_id: i64,
    locale: Locale,
) -> Result<Option<(f64, String, Vec<String>)>, AppError> {
    let row: Option<(f64, String)> = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT probability, reasons FROM client_scores WHERE client_id = $1"
    )
    .bind(client_id)
    .fetch_optional(c)
    .await)?;
    let (hot, warm) = scoring::bands(db).await?;
    let Some((p, reasons)) = row else {
        return Ok(None);
    };
    let reasons = match serde_json::from_str::<Option<Vec<Reason>>>(&reasons).unwrap_or_default() {
        Some(reasons) => reasons,
        None => scoring::explain(db, &[client_id])
            .await?
            .remove(&client_id)
            .unwrap_or_default(),
    };
    Ok(Some((
        p,
        band(p, hot, warm).to_string(),
        reasons
            .iter()
            .map(|r| scoring::reason_text(locale, r))
            .collect(),
    )))
}
