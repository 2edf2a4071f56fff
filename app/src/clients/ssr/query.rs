//! Running a validated client search: the SQL, its totals and a small cache
//! of recent pages (both keyed by the write generation).

use super::*;
use crate::clients::{ClientPage, ClientQuery, ClientRow};
use crate::error::AppError;
use crate::infra::Db;
use crate::infra::sql::Sql;
use crate::infra::time;

/// Searches the clients a caller of `scope` sees: reception only its own branch.
pub async fn search_as(
    db: &Db,
    scope: crate::auth::ssr::Scope,
    query: &ClientQuery,
    now: i64,
) -> Result<ClientPage, AppError> {
    let search = search_for(db, scope, query, now).await?;
    search_clients(db, &search).await
}

/// The same page as `search_as`, as the JSON the API sends: serialized once
/// per cached page, since API clients ask for the same pages between writes.
pub async fn search_json_as(
    db: &Db,
    scope: crate::auth::ssr::Scope,
    query: &ClientQuery,
    now: i64,
) -> Result<axum::body::Bytes, AppError> {
    let search = search_for(db, scope, query, now).await?;
    let cached = cached_page(db, &search).await?;
    if let Some(json) = cached.json.get() {
        return Ok(json.clone());
    }
    let json =
        axum::body::Bytes::from(serde_json::to_vec(&cached.page).map_err(AppError::internal)?);
    Ok(cached.json.get_or_init(|| json).clone())
}

/// The validated search a caller of `scope` may run.
async fn search_for(
    db: &Db,
    scope: crate::auth::ssr::Scope,
    query: &ClientQuery,
    now: i64,
) -> Result<Search, AppError> {
    let mut search = validate(query, now)?;
    if let Some(own) = scope.branch() {
        search.branch = None;
        search.served_at = Some(own);
    } else if let Some(branch) = search.branch {
        let known: Option<i64> = crate::db_run!(db, |c| sqlx::query_scalar(
            "SELECT id FROM branches WHERE id = $1"
        )
        .bind(branch)
        .fetch_optional(c)
        .await)?;
        // A branch that does not exist is not a bad question but a missing thing.
        known.ok_or(AppError::NotFound)?;
    }
    Ok(search)
}

/// Whole years count from a birth year alone, so the year is UTC's: a few
/// hours around New Year do not change anyone's age band.
pub(super) fn current_year(now: i64) -> i64 {
    crate::ui::date(now, 0)[..4].parse().unwrap_or(2026)
}

/// Unix bounds of the first-visit dates: local days at the searched branch
/// (the whole network: the first branch; a branch that does not exist finds
/// nobody anyway).
async fn first_visit_bounds(db: &Db, s: &Search) -> Result<(Option<i64>, Option<i64>), AppError> {
    if s.first_from_day.is_none() && s.first_to_day.is_none() {
        return Ok((None, None));
    }
    let offset = match crate::settings::ssr::branches::offset_minutes(db, s.branch.or(s.served_at))
        .await
    {
        Err(AppError::NotFound) => crate::settings::ssr::branches::offset_minutes(db, None).await?,
        found => found?,
    };
    Ok((
        s.first_from_day.map(|d| time::day_start(d, offset)),
        s.first_to_day.map(|d| time::day_start(d + 1, offset)),
    ))
}

/// The trigram index answers words of three characters or more; every such
/// word must match (any order), and LIKE then checks each word exactly.
fn fts_phrase(s: &Search) -> Option<String> {
    let phrases: Vec<String> = s
        .words
        .iter()
        .filter(|w| w.chars().count() >= 3)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" AND "))
}

/// Which index answers the words: SQLite's FTS5 table, joined in; on PostgreSQL the
/// trigram GIN index on `search_text` serves the LIKE filters themselves.
#[derive(Clone, Copy)]
enum WordIndex {
    Fts5,
    Trigram,
}

impl WordIndex {
    fn of(db: &Db) -> WordIndex {
        if db.is_postgres() {
            WordIndex::Trigram
        } else {
            WordIndex::Fts5
        }
    }

    /// The FTS5 query for `s`, when this index needs one.
    fn phrase(self, s: &Search) -> Option<String> {
        match self {
            WordIndex::Fts5 => fts_phrase(s),
            WordIndex::Trigram => None,
        }
    }
}

/// FROM clause: driven by the search index when there is a long enough needle.
fn push_from(q: &mut Sql, s: &Search, index: WordIndex) {
    if index.phrase(s).is_some() {
        // CROSS JOIN keeps the index matches as the outer loop.
        q.push(" FROM clients_fts f CROSS JOIN clients c ON c.id = f.rowid");
    } else {
        q.push(" FROM clients c");
    }
}

fn push_filters(
    q: &mut Sql,
    s: &Search,
    index: WordIndex,
    (first_from, first_to): (Option<i64>, Option<i64>),
) {
    q.push(" WHERE c.erased_at IS NULL");
    if let Some(phrase) = index.phrase(s) {
        q.push(" AND f.clients_fts MATCH ").push_bind(phrase);
    }
    // The index may match across the name/phone boundary; LIKE is exact.
    for word in &s.words {
        q.push(" AND c.search_text LIKE ")
            .push_bind(like_pattern(word))
            .push(" ESCAPE '\\'");
    }
    if let Some(b) = s.branch {
        q.push(" AND c.branch_id = ").push_bind(b);
    }
    if let Some(b) = s.served_at {
        q.push(" AND (c.branch_id = ")
            .push_bind(b)
            .push(" OR EXISTS (SELECT 1 FROM visits v WHERE v.client_id = c.id AND v.left_at IS NULL AND v.branch_id = ")
            .push_bind(b)
            .push("))");
    }
    if let Some(g) = s.gender {
        q.push(" AND c.gender = ").push_bind(g);
    }
    if let Some(y) = s.birth_year_max {
        q.push(" AND c.birth_year <= ").push_bind(y);
    }
    if let Some(y) = s.birth_year_min {
        q.push(" AND c.birth_year >= ").push_bind(y);
    }
    if let Some(src) = &s.source {
        q.push(" AND c.source = ").push_bind(src);
    }
    if let Some(car) = s.car {
        q.push(" AND c.car_model_id = ").push_bind(car);
    }
    if let Some(t) = s.test_drive {
        q.push(if t { " AND EXISTS" } else { " AND NOT EXISTS" });
        q.push(" (SELECT 1 FROM service_requests s WHERE s.client_id = c.id AND s.kind = 'test_drive')");
    }
    if let Some(b) = s.bought {
        q.push(if b { " AND EXISTS" } else { " AND NOT EXISTS" });
        q.push(" (SELECT 1 FROM sales x WHERE x.client_id = c.id)");
    }
    if let Some(f) = first_from {
        q.push(" AND c.first_visit_at >= ").push_bind(f);
    }
    if let Some(t) = first_to {
        q.push(" AND c.first_visit_at < ").push_bind(t);
    }
}

/// Totals of recent searches: counting means scanning, the page does not.
/// Keyed by the database's write generation, so any write makes them stale.
#[derive(Default)]
struct Totals(std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, i64)>>);
const TOTAL_TTL: std::time::Duration = std::time::Duration::from_secs(60);

async fn count(db: &Db, s: &Search, bounds: (Option<i64>, Option<i64>)) -> Result<i64, AppError> {
    let key = format!(
        "{:?}|{:?}|{}|{}",
        db.version(),
        s.words,
        s.branch.unwrap_or(0),
        filter_key(s)
    );
    let totals = db.cache::<Totals>();
    if let Some((at, total)) = totals
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .copied()
        && at.elapsed() < TOTAL_TTL
    {
        return Ok(total);
    }
    let mut count: Sql = Sql::new("SELECT COUNT(*)");
    push_from(&mut count, s, WordIndex::of(db));
    push_filters(&mut count, s, WordIndex::of(db), bounds);
    let total: i64 = crate::db_run!(db, |c, D| count.query_scalar::<D, _>().fetch_one(c).await)?;
    let mut totals = totals.0.lock().unwrap_or_else(|p| p.into_inner());
    if totals.len() > 2_000 {
        totals.clear();
    }
    totals.insert(key, (std::time::Instant::now(), total));
    Ok(total)
}

fn filter_key(s: &Search) -> String {
    format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        s.served_at,
        s.gender,
        s.birth_year_max,
        s.birth_year_min,
        s.source,
        s.car,
        s.test_drive,
        s.bought,
        s.first_from_day,
        s.first_to_day
    )
}

/// The client rows matching `s`, in its order; callers add LIMIT/OFFSET.
fn rows_query(s: &Search, index: WordIndex, bounds: (Option<i64>, Option<i64>)) -> Sql {
    let mut q: Sql = Sql::new(
        "SELECT c.id, c.full_name, c.phone, c.branch_id, b.name AS branch, c.gender, c.birth_year, c.source, \
                m.brand || ' ' || m.name AS car, c.visit_count, c.first_visit_at, c.last_visit_at, \
                b.utc_offset_minutes AS offset_minutes",
    );
    push_from(&mut q, s, index);
    q.push(
        " JOIN branches b ON b.id = c.branch_id LEFT JOIN car_models m ON m.id = c.car_model_id",
    );
    push_filters(&mut q, s, index, bounds);
    q.push(" ORDER BY ").push(s.order_by);
    q
}

/// Recently served pages, keyed like the totals: lists and API clients ask
/// for the same first pages again and again between two writes.
#[derive(Default)]
struct Pages(
    std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, std::sync::Arc<CachedPage>)>,
    >,
);

/// A page and, once the API has asked for it, its JSON.
struct CachedPage {
    page: ClientPage,
    json: std::sync::OnceLock<axum::body::Bytes>,
}

pub async fn search_clients(db: &Db, s: &Search) -> Result<ClientPage, AppError> {
    Ok(cached_page(db, s).await?.page.clone())
}

async fn cached_page(db: &Db, s: &Search) -> Result<std::sync::Arc<CachedPage>, AppError> {
    let key = format!(
        "{:?}|{:?}|{}|{}|{}|{}|{}",
        db.version(),
        s.words,
        s.branch.unwrap_or(0),
        filter_key(s),
        s.order_by,
        s.page,
        s.page_size
    );
    let pages = db.cache::<Pages>();
    if let Some((at, page)) = pages.0.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
        && at.elapsed() < TOTAL_TTL
    {
        return Ok(page.clone());
    }
    let bounds = first_visit_bounds(db, s).await?;
    let mut q = rows_query(s, WordIndex::of(db), bounds);
    q.push(" LIMIT ").push_bind(s.page_size);
    q.push(" OFFSET ").push_bind((s.page - 1) * s.page_size);
    // The count and the page on two connections at once: the first search
    // after a write waits for the slower of the two, not for both.
    let rows = async { crate::db_run!(db, |c, D| q.query_as::<D, ClientRow>().fetch_all(c).await) };
    let (total, items) = tokio::join!(count(db, s, bounds), rows);
    let (total, items) = (total?, items?);
    let page = std::sync::Arc::new(CachedPage {
        page: ClientPage {
            items,
            total,
            page: s.page,
            page_size: s.page_size,
        },
        json: std::sync::OnceLock::new(),
    });
    let mut pages = pages.0.lock().unwrap_or_else(|p| p.into_inner());
    if pages.len() > 500 {
        pages.clear();
    }
    pages.insert(key, (std::time::Instant::now(), page.clone()));
    Ok(page)
}

/// The clients export's column headers in `l`, in `ClientRow` export order.
pub fn export_headers(l: crate::i18n::Locale) -> [&'static str; 11] {
    use crate::i18n::td_string;
    [
        td_string!(l, export.id),
        td_string!(l, export.full_name),
        td_string!(l, export.phone),
        td_string!(l, export.branch),
        td_string!(l, export.gender),
        td_string!(l, export.birth_year),
        td_string!(l, export.source),
        td_string!(l, export.car),
        td_string!(l, export.visits),
        td_string!(l, export.first_visit),
        td_string!(l, export.last_visit),
    ]
}

/// A stored gender as a word in `l`.
pub fn gender_word(l: crate::i18n::Locale, gender: &str) -> Option<&'static str> {
    use crate::i18n::td_string;
    match gender {
        "male" => Some(td_string!(l, card.male)),
        "female" => Some(td_string!(l, card.female)),
        _ => None,
    }
}

/// Every client matching `s` (no paging), for exports.
pub async fn export_rows(db: &Db, s: &Search) -> Result<Vec<ClientRow>, AppError> {
    let mut q = rows_query(s, WordIndex::of(db), first_visit_bounds(db, s).await?);
    q.push(" LIMIT 1000000");
    Ok(crate::db_run!(db, |c, D| q
        .query_as::<D, ClientRow>()
        .fetch_all(c)
        .await)?)
}
