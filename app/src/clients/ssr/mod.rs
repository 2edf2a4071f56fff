//! SQL for clients: search and the text it searches.

use crate::infra::Db;
use crate::infra::time;
use crate::vocab::{ServiceKind, Source, VisitEnd, VisitStart};
use sqlx::{QueryBuilder, Sqlite};

use crate::clients::{ClientPage, ClientQuery, ClientRow};
use crate::error::{AppError, ConflictCode, InvalidCode};
use crate::infra::db::OnUnique;

pub const SEARCH_MAX: usize = 100;

/// What `search_text` holds for a client: the lower-cased name and the phone's digits.
pub fn search_text(full_name: &str, phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!("{} {}", full_name.to_lowercase(), digits)
}

/// What a typed query searches for: a phone's digits, or the lower-cased text.
pub fn needle(q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let looks_like_phone = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    Some(if looks_like_phone {
        q.chars().filter(char::is_ascii_digit).collect()
    } else {
        q.to_lowercase()
    })
}

/// The LIKE pattern for a typed query: a phone typed with or without +998,
/// spaces or dashes becomes its digits; anything else matches the name.
pub fn pattern(q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let looks_like_phone = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    let needle = if looks_like_phone {
        q.chars().filter(char::is_ascii_digit).collect::<String>()
    } else {
        q.to_lowercase()
    };
    let escaped: String = needle
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Some(format!("%{escaped}%"))
}

/// A validated client query.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub pattern: Option<String>,
    /// The typed text as searched (digits of a phone, or lower-case words).
    pub needle: Option<String>,
    pub branch: Option<i64>,
    pub gender: Option<&'static str>,
    pub birth_year_max: Option<i64>,
    pub birth_year_min: Option<i64>,
    pub source: Option<Source>,
    pub car: Option<i64>,
    pub test_drive: Option<bool>,
    pub bought: Option<bool>,
    /// First visit between these local days (inclusive), read at the
    /// searched branch's offset.
    pub first_from_day: Option<i64>,
    pub first_to_day: Option<i64>,
    pub order_by: &'static str,
    pub page: i64,
    pub page_size: i64,
}

/// Sort keys and the ORDER BY each stands for; `-` means descending.
const SORTS: [(&str, &str); 10] = [
    ("name", "c.full_name ASC, c.id ASC"),
    ("-name", "c.full_name DESC, c.id DESC"),
    ("last_visit", "c.last_visit_at ASC, c.id ASC"),
    ("-last_visit", "c.last_visit_at DESC, c.id DESC"),
    ("first_visit", "c.first_visit_at ASC, c.id ASC"),
    ("-first_visit", "c.first_visit_at DESC, c.id DESC"),
    ("visits", "c.visit_count ASC, c.id ASC"),
    ("-visits", "c.visit_count DESC, c.id DESC"),
    ("age", "c.birth_year DESC, c.id ASC"),
    ("-age", "c.birth_year ASC, c.id ASC"),
];

/// An optional whole number within `range`, as typed in a query.
pub(crate) fn int(
    field: &str,
    value: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let n: i64 = value
        .parse()
        .map_err(|_| AppError::invalid(field, InvalidCode::BadFormat))?;
    if !range.contains(&n) {
        return Err(AppError::invalid(field, InvalidCode::OutOfRange));
    }
    Ok(Some(n))
}

fn flag(field: &str, value: &str) -> Result<Option<bool>, AppError> {
    match value.trim() {
        "" => Ok(None),
        "1" | "true" | "yes" => Ok(Some(true)),
        "0" | "false" | "no" => Ok(Some(false)),
        _ => Err(AppError::invalid(field, InvalidCode::BadFormat)),
    }
}

/// Checks every field of `query`; `now` gives the year ages count from.
pub fn validate(query: &ClientQuery, now: i64) -> Result<Search, AppError> {
    if query.q.chars().count() > SEARCH_MAX {
        return Err(AppError::invalid("q", InvalidCode::TooLong));
    }
    let gender = match query.gender.trim() {
        "" => None,
        "male" => Some("male"),
        "female" => Some("female"),
        _ => return Err(AppError::invalid("gender", InvalidCode::UnknownValue)),
    };
    let age_min = int("age_min", &query.age_min, 0..=150)?;
    let age_max = int("age_max", &query.age_max, 0..=150)?;
    if let (Some(lo), Some(hi)) = (age_min, age_max)
        && lo > hi
    {
        return Err(AppError::invalid("age_max", InvalidCode::OutOfRange));
    }
    let year = current_year(now);
    let source = match query.source.trim() {
        "" => None,
        s => Some(
            Source::parse(s)
                .ok_or_else(|| AppError::invalid("source", InvalidCode::UnknownValue))?,
        ),
    };
    let day = |field: &str, value: &str| -> Result<Option<i64>, AppError> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        crate::infra::time::parse_date(value)
            .map(Some)
            .ok_or_else(|| AppError::invalid(field, InvalidCode::BadFormat))
    };
    let (from, to) = (day("from", &query.from)?, day("to", &query.to)?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::invalid("to", InvalidCode::OutOfRange));
    }
    let sort = query.sort.trim();
    let order_by = if sort.is_empty() {
        "c.last_visit_at DESC, c.id DESC"
    } else {
        SORTS
            .iter()
            .find(|(key, _)| *key == sort)
            .map(|(_, order)| *order)
            .ok_or_else(|| AppError::invalid("sort", InvalidCode::UnknownValue))?
    };
    let page_size = int(
        "page_size",
        &query.page_size,
        1..=crate::clients::MAX_PAGE_SIZE,
    )?
    .unwrap_or(crate::clients::PAGE_SIZE);
    let page = int("page", &query.page, 1..=1_000_000)?.unwrap_or(1);
    Ok(Search {
        pattern: pattern(&query.q),
        needle: needle(&query.q),
        branch: int("branch", &query.branch, 1..=i64::MAX)?,
        gender,
        birth_year_max: age_min.map(|a| year - a),
        birth_year_min: age_max.map(|a| year - a - 1),
        source,
        car: int("car", &query.car, 1..=i64::MAX)?,
        test_drive: flag("test_drive", &query.test_drive)?,
        bought: flag("bought", &query.bought)?,
        first_from_day: from,
        first_to_day: to,
        order_by,
        page,
        page_size,
    })
}

/// Searches the clients a caller of `scope` sees: reception only its own branch.
pub async fn search_as(
    db: &Db,
    scope: crate::auth::ssr::Scope,
    query: &ClientQuery,
    now: i64,
) -> Result<ClientPage, AppError> {
    let mut search = validate(query, now)?;
    if let Some(own) = scope.branch() {
        search.branch = Some(own);
    } else if let Some(branch) = search.branch {
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM branches WHERE id = ?")
            .bind(branch)
            .fetch_optional(db.pool())
            .await?;
        if known.is_none() {
            return Err(AppError::invalid("branch", InvalidCode::UnknownValue));
        }
    }
    search_clients(db, &search).await
}

/// Whole years count from a birth year alone, so the year is UTC's: a few
/// hours around New Year do not change anyone's age band.
fn current_year(now: i64) -> i64 {
    crate::ui::date(now, 0)[..4].parse().unwrap_or(2026)
}

/// Unix bounds of the first-visit dates: local days at the searched branch
/// (the whole network: the first branch; a branch that does not exist finds
/// nobody anyway).
async fn first_visit_bounds(db: &Db, s: &Search) -> Result<(Option<i64>, Option<i64>), AppError> {
    if s.first_from_day.is_none() && s.first_to_day.is_none() {
        return Ok((None, None));
    }
    let offset = match crate::settings::ssr::branches::offset_minutes(db, s.branch).await {
        Err(AppError::Invalid { .. }) => {
            crate::settings::ssr::branches::offset_minutes(db, None).await?
        }
        found => found?,
    };
    Ok((
        s.first_from_day.map(|d| time::day_start(d, offset)),
        s.first_to_day.map(|d| time::day_start(d + 1, offset)),
    ))
}

/// The trigram index answers fragments of three characters or more.
fn fts_phrase(s: &Search) -> Option<String> {
    s.needle
        .as_ref()
        .filter(|n| n.chars().count() >= 3)
        .map(|n| format!("\"{}\"", n.replace('"', "\"\"")))
}

/// FROM clause: driven by the search index when there is a long enough needle.
fn push_from(q: &mut QueryBuilder<'_, Sqlite>, s: &Search) {
    if fts_phrase(s).is_some() {
        // CROSS JOIN keeps the index matches as the outer loop.
        q.push(" FROM clients_fts f CROSS JOIN clients c ON c.id = f.rowid");
    } else {
        q.push(" FROM clients c");
    }
}

fn push_filters<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    s: &'a Search,
    (first_from, first_to): (Option<i64>, Option<i64>),
) {
    q.push(" WHERE c.erased_at IS NULL");
    if let Some(phrase) = fts_phrase(s) {
        q.push(" AND f.clients_fts MATCH ").push_bind(phrase);
    }
    // The index may match across the name/phone boundary; LIKE is exact.
    if let Some(p) = &s.pattern {
        q.push(" AND c.search_text LIKE ")
            .push_bind(p)
            .push(" ESCAPE '\\'");
    }
    if let Some(b) = s.branch {
        q.push(" AND c.branch_id = ").push_bind(b);
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
        s.pattern,
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
    let mut count: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT COUNT(*)");
    push_from(&mut count, s);
    push_filters(&mut count, s, bounds);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut totals = totals.0.lock().unwrap_or_else(|p| p.into_inner());
    if totals.len() > 2_000 {
        totals.clear();
    }
    totals.insert(key, (std::time::Instant::now(), total));
    Ok(total)
}

fn filter_key(s: &Search) -> String {
    format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
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
fn rows_query(s: &Search, bounds: (Option<i64>, Option<i64>)) -> QueryBuilder<'_, Sqlite> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT c.id, c.full_name, c.phone, c.branch_id, b.name AS branch, c.gender, c.birth_year, c.source, \
                m.brand || ' ' || m.name AS car, c.visit_count, c.first_visit_at, c.last_visit_at, \
                b.utc_offset_minutes AS offset_minutes",
    );
    push_from(&mut q, s);
    q.push(
        " JOIN branches b ON b.id = c.branch_id LEFT JOIN car_models m ON m.id = c.car_model_id",
    );
    push_filters(&mut q, s, bounds);
    q.push(" ORDER BY ").push(s.order_by);
    q
}

/// Recently served pages, keyed like the totals: lists and API clients ask
/// for the same first pages again and again between two writes.
#[derive(Default)]
struct Pages(std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, ClientPage)>>);

pub async fn search_clients(db: &Db, s: &Search) -> Result<ClientPage, AppError> {
    let key = format!(
        "{:?}|{:?}|{}|{}|{}|{}|{}",
        db.version(),
        s.pattern,
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
    let total = count(db, s, bounds).await?;
    let mut q = rows_query(s, bounds);
    q.push(" LIMIT ").push_bind(s.page_size);
    q.push(" OFFSET ").push_bind((s.page - 1) * s.page_size);
    let items = q.build_query_as::<ClientRow>().fetch_all(db.pool()).await?;
    let page = ClientPage {
        items,
        total,
        page: s.page,
        page_size: s.page_size,
    };
    let mut pages = pages.0.lock().unwrap_or_else(|p| p.into_inner());
    if pages.len() > 500 {
        pages.clear();
    }
    pages.insert(key, (std::time::Instant::now(), page.clone()));
    Ok(page)
}

/// Every client matching `s` (no paging), for exports.
pub async fn export_rows(db: &Db, s: &Search) -> Result<Vec<ClientRow>, AppError> {
    let mut q = rows_query(s, first_visit_bounds(db, s).await?);
    q.push(" LIMIT 1000000");
    Ok(q.build_query_as::<ClientRow>().fetch_all(db.pool()).await?)
}

/// A phone typed any usual way, as E.164 (+998 and nine digits).
pub fn normalize_phone(value: &str) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid("phone", InvalidCode::Required));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()".contains(c))
    {
        return Err(AppError::invalid("phone", InvalidCode::BadFormat));
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        9 => Ok(format!("+998{digits}")),
        12 if digits.starts_with("998") => Ok(format!("+{digits}")),
        _ => Err(AppError::invalid("phone", InvalidCode::BadFormat)),
    }
}

/// A person's name: letters of any script, spaces, apostrophes, hyphens, dots.
pub fn validate_name(value: &str) -> Result<String, AppError> {
    let name = crate::error::required_text("full_name", value, crate::error::limits::NAME_MAX)?;
    let allowed = |c: char| c.is_alphabetic() || " '‘’ʻʼ`-.".contains(c);
    if name.chars().count() < 2 || !name.chars().all(allowed) {
        return Err(AppError::invalid("full_name", InvalidCode::BadFormat));
    }
    Ok(name.split_whitespace().collect::<Vec<_>>().join(" "))
}

pub fn validate_birth_year(value: &str, now: i64) -> Result<Option<i64>, AppError> {
    let year = current_year(now);
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let y: i64 = value
        .parse()
        .map_err(|_| AppError::invalid("birth_year", InvalidCode::BadFormat))?;
    // A client is at least 16 and at most 110 years old.
    if !(year - 110..=year - 16).contains(&y) {
        return Err(AppError::invalid("birth_year", InvalidCode::OutOfRange));
    }
    Ok(Some(y))
}

/// A client's editable details, validated.
pub struct ClientInput {
    pub full_name: String,
    pub phone: String,
    pub birth_year: Option<i64>,
    pub gender: Option<&'static str>,
    pub source: Source,
    pub car_model_id: Option<i64>,
}

pub fn parse_input(form: &crate::clients::ClientForm, now: i64) -> Result<ClientInput, AppError> {
    let gender = match form.gender.trim() {
        "" => None,
        "male" => Some("male"),
        "female" => Some("female"),
        _ => return Err(AppError::invalid("gender", InvalidCode::UnknownValue)),
    };
    let source = Source::parse(form.source.trim())
        .ok_or_else(|| AppError::invalid("source", InvalidCode::UnknownValue))?;
    let car_model_id = match form.car.trim() {
        "" => None,
        c => Some(
            c.parse()
                .map_err(|_| AppError::invalid("car", InvalidCode::BadFormat))?,
        ),
    };
    Ok(ClientInput {
        full_name: validate_name(&form.full_name)?,
        phone: normalize_phone(&form.phone)?,
        birth_year: validate_birth_year(&form.birth_year, now)?,
        gender,
        source,
        car_model_id,
    })
}

async fn check_references(
    conn: &mut sqlx::SqliteConnection,
    input: &ClientInput,
) -> Result<(), AppError> {
    if let Some(car) = input.car_model_id {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM car_models WHERE id = ?")
            .bind(car)
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_none() {
            return Err(AppError::invalid("car", InvalidCode::UnknownValue));
        }
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    actor: i64,
    branch_id: i64,
    input: &ClientInput,
) -> Result<i64, AppError> {
    let mut tx = db.begin_write().await?;
    let id = insert_client(&mut tx, branch_id, input, crate::infra::now()).await?;
    crate::infra::audit::record(&mut tx, Some(actor), "create", "client", Some(id), None).await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts a validated client inside the caller's write transaction.
pub async fn insert_client(
    conn: &mut sqlx::SqliteConnection,
    branch_id: i64,
    input: &ClientInput,
    t: i64,
) -> Result<i64, AppError> {
    check_references(&mut *conn, input).await?;
    crate::visits::ssr::ensure_branch(&mut *conn, branch_id).await?;
    sqlx::query_scalar(
        "INSERT INTO clients (branch_id, full_name, phone, birth_year, gender, source, car_model_id, search_text, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(branch_id)
    .bind(&input.full_name)
    .bind(&input.phone)
    .bind(input.birth_year)
    .bind(input.gender)
    .bind(input.source)
    .bind(input.car_model_id)
    .bind(search_text(&input.full_name, &input.phone))
    .bind(t)
    .bind(t)
    .fetch_one(conn)
    .await
    .on_unique("clients.phone", ConflictCode::PhoneTaken)
}

pub async fn update(db: &Db, actor: i64, id: i64, input: &ClientInput) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    check_references(&mut tx, input).await?;
    let updated = sqlx::query(
        "UPDATE clients SET full_name = ?, phone = ?, birth_year = ?, gender = ?, source = ?, car_model_id = ?, \
         search_text = ?, updated_at = ? WHERE id = ? AND erased_at IS NULL",
    )
    .bind(&input.full_name)
    .bind(&input.phone)
    .bind(input.birth_year)
    .bind(input.gender)
    .bind(input.source)
    .bind(input.car_model_id)
    .bind(search_text(&input.full_name, &input.phone))
    .bind(crate::infra::now())
    .bind(id)
    .execute(&mut *tx)
    .await
    .on_unique("clients.phone", ConflictCode::PhoneTaken)?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    crate::infra::audit::record(&mut tx, Some(actor), "update", "client", Some(id), None).await?;
    tx.commit().await?;
    Ok(())
}

/// The branch a client belongs to, for role checks.
pub async fn branch_of(db: &Db, id: i64) -> Result<i64, AppError> {
    sqlx::query_scalar("SELECT branch_id FROM clients WHERE id = ? AND erased_at IS NULL")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)
}

/// A client's branch (for role checks) and stored photo, if any.
pub async fn branch_and_photo(db: &Db, id: i64) -> Result<(i64, Option<String>), AppError> {
    sqlx::query_as("SELECT branch_id, photo_path FROM clients WHERE id = ? AND erased_at IS NULL")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)
}

/// Car models and branches, for the forms.
pub async fn choices(db: &Db) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let cars = sqlx::query_as(
        "SELECT id, brand || ' ' || name FROM car_models WHERE active = TRUE ORDER BY brand, name",
    )
    .fetch_all(db.pool())
    .await?;
    let branches = sqlx::query_as("SELECT id, name FROM branches ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    Ok((cars, branches))
}

/// Everything the client card shows; the view is audit-logged.
pub async fn load_card(
    db: &Db,
    actor: i64,
    id: i64,
) -> Result<crate::clients::card::CardData, AppError> {
    use crate::clients::card::{
        CardData, ClientDetails, DocumentEntry, SaleEntry, ServiceEntry, VisitEntry,
    };
    let client: ClientDetails = sqlx::query_as(
        "SELECT c.id, c.full_name, c.phone, c.branch_id, b.name AS branch, c.birth_year, c.gender, c.source, \
                c.car_model_id, m.brand || ' ' || m.name AS car, c.consent_at, c.consent_version, c.consent_language, \
                c.biometric_opt_in, c.created_at, c.visit_count, c.photo_path IS NOT NULL AS has_photo \
         FROM clients c JOIN branches b ON b.id = c.branch_id LEFT JOIN car_models m ON m.id = c.car_model_id \
         WHERE c.id = ? AND c.erased_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    type VisitRow = (i64, String, i64, Option<i64>, VisitStart, Option<VisitEnd>);
    let visit_rows: Vec<VisitRow> = sqlx::query_as(
        "SELECT v.id, b.name, v.entered_at, v.left_at, v.started_by, v.ended_by FROM visits v \
         JOIN branches b ON b.id = v.branch_id WHERE v.client_id = ? ORDER BY v.entered_at DESC LIMIT 200",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    type ServiceRow = (i64, ServiceKind, i64, Option<String>, Option<String>);
    let service_rows: Vec<ServiceRow> = sqlx::query_as(
        "SELECT s.visit_id, s.kind, s.requested_at, st.full_name, s.note FROM service_requests s \
         LEFT JOIN staff st ON st.id = s.staff_id WHERE s.client_id = ? ORDER BY s.requested_at",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let camera_matches: Vec<(i64, i64, Option<f64>)> = sqlx::query_as(
        "SELECT visit_id, id, similarity FROM camera_events \
         WHERE client_id = ? AND kind = 'enter' AND rejected = FALSE AND visit_id IS NOT NULL ORDER BY id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let visits = visit_rows
        .into_iter()
        .map(
            |(vid, branch, entered_at, left_at, started_by, ended_by)| VisitEntry {
                camera_match: camera_matches
                    .iter()
                    .find(|m| m.0 == vid && started_by == VisitStart::Camera)
                    .map(|m| (m.1, m.2)),
                id: vid,
                branch,
                entered_at,
                left_at,
                started_by,
                ended_by,
                services: service_rows
                    .iter()
                    .filter(|s| s.0 == vid)
                    .map(|s| ServiceEntry {
                        kind: s.1,
                        requested_at: s.2,
                        staff: s.3.clone(),
                        note: s.4.clone(),
                    })
                    .collect(),
            },
        )
        .collect();
    let sales: Vec<SaleEntry> = sqlx::query_as(
        "SELECT s.id, m.brand || ' ' || m.name AS car, s.price, s.sold_at, b.name AS branch, s.contract_document_id FROM sales s \
         JOIN branches b ON b.id = s.branch_id LEFT JOIN car_models m ON m.id = s.car_model_id \
         WHERE s.client_id = ? ORDER BY s.sold_at DESC",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let documents: Vec<DocumentEntry> = sqlx::query_as(
        "SELECT id, kind, file_name, size_bytes, uploaded_at FROM documents WHERE client_id = ? ORDER BY uploaded_at DESC",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let offset_minutes: i32 =
        sqlx::query_scalar("SELECT utc_offset_minutes FROM branches WHERE id = ?")
            .bind(client.branch_id)
            .fetch_one(db.pool())
            .await?;
    let (car_models, branches) = choices(db).await?;
    let mut conn = db.pool().acquire().await?;
    crate::infra::audit::record(&mut conn, Some(actor), "view", "client", Some(id), None).await?;
    Ok(CardData {
        client,
        visits,
        sales,
        documents,
        car_models,
        branches,
        offset_minutes,
        viewer_is_manager: false,
        viewer_is_admin: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_names_are_normalised() {
        assert_eq!(normalize_phone("90 123-45-67").unwrap(), "+998901234567");
        assert_eq!(
            normalize_phone("+998 (90) 123 45 67").unwrap(),
            "+998901234567"
        );
        assert_eq!(normalize_phone("998901234567").unwrap(), "+998901234567");
        assert!(normalize_phone("12345").is_err());
        assert!(normalize_phone("+7 901 234 56 78").is_err());
        assert!(normalize_phone("90 123 45 6x").is_err());
        assert_eq!(validate_name("  Aziz   Karimov ").unwrap(), "Aziz Karimov");
        assert_eq!(
            validate_name("G‘ayrat O‘ktamov").unwrap(),
            "G‘ayrat O‘ktamov"
        );
        assert!(validate_name("Александр Иванов").is_ok());
        assert!(validate_name("R2-D2").is_err());
        assert!(validate_name(&"a".repeat(500)).is_err());
        let now = 1_795_514_400;
        assert_eq!(validate_birth_year("1990", now).unwrap(), Some(1990));
        assert!(validate_birth_year("1800", now).is_err());
        assert!(validate_birth_year("2027", now).is_err());
        assert!(validate_birth_year("nineteen", now).is_err());
    }

    #[test]
    fn queries_are_validated() {
        let now = 1_795_514_400;
        let ok = |q: ClientQuery| validate(&q, now);
        let mut q = ClientQuery::default();
        assert_eq!(ok(q.clone()).unwrap().page_size, 25);
        q.page = "-1".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("page", InvalidCode::OutOfRange))
        );
        q.page = "1".into();
        q.page_size = "1000000".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("page_size", InvalidCode::OutOfRange))
        );
        q.page_size = String::new();
        q.sort = "password_hash".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("sort", InvalidCode::UnknownValue))
        );
        q.sort = "-visits".into();
        q.from = "2026-05-01".into();
        q.to = "2026-04-01".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("to", InvalidCode::OutOfRange))
        );
        q.to = "2026-13-01".into();
        assert_eq!(
            ok(q.clone()),
            Err(AppError::invalid("to", InvalidCode::BadFormat))
        );
        q.to = String::new();
        q.age_min = "40".into();
        q.age_max = "30".into();
        assert!(ok(q.clone()).is_err());
        q.age_max = "50".into();
        let s = ok(q.clone()).unwrap();
        assert_eq!(
            (s.birth_year_min, s.birth_year_max),
            (Some(1975), Some(1986))
        );
        q.q = "x".repeat(101);
        assert_eq!(ok(q), Err(AppError::invalid("q", InvalidCode::TooLong)));
    }

    #[test]
    fn phone_fragments_become_digits() {
        assert_eq!(pattern("+998 90-123").as_deref(), Some("%99890123%"));
        assert_eq!(pattern("Aziz").as_deref(), Some("%aziz%"));
        assert_eq!(pattern("Ал").as_deref(), Some("%ал%"));
        assert_eq!(pattern("50%_").as_deref(), Some("%50\\%\\_%"));
        assert_eq!(pattern("  "), None);
        assert_eq!(
            search_text("Aziz Karimov", "+998901234567"),
            "aziz karimov 998901234567"
        );
    }
}
