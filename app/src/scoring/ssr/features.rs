//! The one place that defines the model's features. Each client's features
//! are computed only from what was known before the outcome: for a buyer up
//! to their first sale, otherwise everything up to now (their last contact).
//! Training and scoring share it.

use crate::infra::sql::Sql;
use std::collections::HashMap;

use crate::error::AppError;
use crate::infra::Db;
use crate::vocab::Source;

const DAY: f64 = 86_400.0;

/// Numeric features, in matrix order. Counts and durations enter as log(1 + x).
pub const NUMERIC: [&str; 14] = [
    "age",
    "male",
    "visits_total",
    "visits_30d",
    "days_since_first",
    "days_since_last",
    "total_minutes",
    "mean_minutes",
    "test_drives",
    "credit_talks",
    "trade_in_talks",
    "consultations",
    "purchase_talks",
    "returning_via_camera",
];

pub const SEGMENTS: [&str; 6] = [
    "budget",
    "sedan",
    "suv",
    "commercial",
    "premium",
    "electric",
];

/// All feature names: numeric, then one-hot source, then one-hot segment.
pub fn names() -> Vec<String> {
    NUMERIC
        .iter()
        .map(|n| n.to_string())
        .chain(Source::ALL.iter().map(|s| format!("source_{s}")))
        .chain(SEGMENTS.iter().map(|s| format!("segment_{s}")))
        .collect()
}

pub fn width() -> usize {
    NUMERIC.len() + Source::ALL.len() + SEGMENTS.len()
}

/// The one-hot groups (source, segment) as ranges of the vector: at most
/// one member of each is set, which the trees bin as one column.
pub fn one_hot_groups() -> Vec<std::ops::Range<usize>> {
    let sources = NUMERIC.len()..NUMERIC.len() + Source::ALL.len();
    let segments = sources.end..sources.end + SEGMENTS.len();
    vec![sources, segments]
}

/// One client's features before scaling, and the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub client_id: i64,
    /// Features are computed from events strictly before this time.
    pub cutoff: i64,
    pub bought: bool,
    pub first_visit_at: i64,
    /// Shared with the kept copy: a retrain hands 100,000 rows around
    /// twice without copying them.
    pub values: std::sync::Arc<[f64]>,
}

impl Example {
    pub fn value(&self, name: &str) -> f64 {
        names()
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
            .unwrap_or(0.0)
    }
}

/// Birth year, gender, source, car segment.
type Attributes = (Option<i64>, Option<String>, String, Option<String>);
type AttributeRow = (i64, Option<i64>, Option<String>, String, Option<String>);

#[derive(Default, Clone, Copy)]
struct VisitAgg {
    count: i64,
    last_30d: i64,
    first: Option<i64>,
    last: Option<i64>,
    seconds: i64,
    closed: i64,
    camera_returns: i64,
}

/// Which clients a computation covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    All,
    One(i64),
    /// Those whose kept row counts changes.
    Changed,
}

/// Features of every client (or one), as of their cutoff, computed from
/// every visit, service and sale (the reference that `kept` must equal).
/// `outcome_cutoff`: buyers are cut at their first sale (training); without
/// it everyone is cut at their last contact (scoring today's state).
pub async fn load(
    db: &Db,
    now: i64,
    outcome_cutoff: bool,
    only: Option<i64>,
) -> Result<Vec<Example>, AppError> {
    let scope = only.map_or(Scope::All, Scope::One);
    compute(db, now, outcome_cutoff, scope).await
}

async fn compute(
    db: &Db,
    now: i64,
    outcome_cutoff: bool,
    scope: Scope,
) -> Result<Vec<Example>, AppError> {
    let only = match scope {
        Scope::One(id) => Some(id),
        _ => None,
    };
    // Time in the showroom counts up to the reference moment, so the visit
    // in which a buyer buys is not "missing" from their minutes.
    // The reference moment is the client's last contact: the end of their
    // latest visit (now while they are inside). A buyer's is the sale.
    // Measuring recency from the same kind of moment for buyers and others
    // keeps "bought during a visit" from leaking in as "visited recently".
    // One client (rescoring after a visit, on the request path) is looked up
    // by its indexes; `($2 IS NULL OR id = $2)` would make SQLite scan every
    // visit, sale and client (~250 ms on 100,000 clients). For everyone,
    // `$2 IS NULL` keeps the parameter and filters nothing.
    // The clients with changes are read through the partial index on
    // `client_features`: a day's writes touch a few hundred of 100,000.
    const CHANGED: &str = "(SELECT client_id FROM client_features WHERE changes > 0)";
    let changed_visits = format!("$2 IS NULL AND client_id IN {CHANGED}");
    let changed_clients = format!("$2 IS NULL AND c.id IN {CHANGED}");
    let (visit_filter, client_filter) = match scope {
        Scope::One(_) => ("client_id = $2", "c.id = $2"),
        Scope::All => ("$2 IS NULL", "$2 IS NULL"),
        Scope::Changed => (changed_visits.as_str(), changed_clients.as_str()),
    };
    let cut = format!(
        "WITH first_sale AS (SELECT client_id, MIN(sold_at) AS sold_at FROM sales WHERE {visit_filter} GROUP BY client_id), \
         touch AS (SELECT client_id, MAX(COALESCE(left_at, $1)) + 1 AS last_touch FROM visits \
                   WHERE client_id IS NOT NULL AND {visit_filter} GROUP BY client_id), \
         cut AS (SELECT c.id, {} AS t, f.sold_at IS NOT NULL AS bought, c.first_visit_at \
                 FROM clients c JOIN touch ON touch.client_id = c.id LEFT JOIN first_sale f ON f.client_id = c.id \
                 WHERE c.erased_at IS NULL AND c.first_visit_at IS NOT NULL AND {client_filter}) ",
        if outcome_cutoff {
            "CASE WHEN COALESCE(f.sold_at, touch.last_touch) < touch.last_touch THEN COALESCE(f.sold_at, touch.last_touch) ELSE touch.last_touch END"
        } else {
            "touch.last_touch"
        }
    );
    type Row = (
        i64,
        i64,
        bool,
        i64,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        i64,
        i64,
        i64,
    );
    // One group per client, read in client order; the client's own columns go through
    // MIN/MAX of their single value so PostgreSQL accepts them without grouping by them
    // (grouping by them too makes SQLite sort instead of streaming).
    let rows: Vec<Row> = crate::db_run!(db, |c| {
        sqlx::query_as(&format!(
        "{cut} SELECT cut.id, MIN(cut.t), MAX(CASE WHEN cut.bought THEN 1 ELSE 0 END) = 1, MIN(cut.first_visit_at), COUNT(v.id), \
                COALESCE(SUM(CASE WHEN v.entered_at >= cut.t - 2592000 THEN 1 ELSE 0 END), 0), \
                MIN(v.entered_at), MAX(v.entered_at), \
                CAST(COALESCE(SUM(CASE WHEN COALESCE(v.left_at, cut.t) < cut.t THEN COALESCE(v.left_at, cut.t) ELSE cut.t END - v.entered_at), 0) AS BIGINT), \
                COUNT(v.id), \
                COALESCE(SUM(CASE WHEN v.started_by = 'camera' AND NOT v.is_first_visit THEN 1 ELSE 0 END), 0) \
         FROM cut LEFT JOIN visits v ON v.client_id = cut.id AND v.entered_at < cut.t \
         GROUP BY cut.id ORDER BY cut.id"
    ))
    .bind(now)
    .bind(only)
    .fetch_all(c).await
    })?;
    let services: Vec<(i64, String, i64)> = crate::db_run!(db, |c| {
        sqlx::query_as(&format!(
        "{cut} SELECT s.client_id, s.kind, COUNT(*) FROM cut \
         JOIN service_requests s ON s.client_id = cut.id AND s.requested_at < cut.t GROUP BY s.client_id, s.kind"
    ))
    .bind(now)
    .bind(only)
    .fetch_all(c).await
    })?;
    let attributes: Vec<AttributeRow> = crate::db_run!(db, |c| sqlx::query_as(&format!(
        "SELECT c.id, c.birth_year, c.gender, c.source, m.segment FROM clients c \
         LEFT JOIN car_models m ON m.id = c.car_model_id WHERE c.erased_at IS NULL AND {}",
        client_filter.replace("$2", "$1")
    ))
    .bind(only)
    .fetch_all(c)
    .await)?;

    let mut service_counts: HashMap<i64, [i64; 5]> = HashMap::new();
    for (client, kind, count) in services {
        let slot = match kind.as_str() {
            "test_drive" => 0,
            "credit" => 1,
            "trade_in" => 2,
            "consultation" => 3,
            "purchase_talk" => 4,
            _ => continue,
        };
        service_counts.entry(client).or_default()[slot] += count;
    }
    let attributes: HashMap<i64, Attributes> = attributes
        .into_iter()
        .map(|(id, year, gender, source, segment)| (id, (year, gender, source, segment)))
        .collect();

    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                t,
                bought,
                first_visit_at,
                count,
                last_30d,
                first,
                last,
                seconds,
                closed,
                camera_returns,
            )| {
                let agg = VisitAgg {
                    count,
                    last_30d,
                    first,
                    last,
                    seconds,
                    closed,
                    camera_returns,
                };
                let (year, gender, source, segment) =
                    attributes
                        .get(&id)
                        .cloned()
                        .unwrap_or((None, None, String::new(), None));
                let services = service_counts.get(&id).copied().unwrap_or_default();
                Example {
                    client_id: id,
                    cutoff: t,
                    bought,
                    first_visit_at,
                    values: vector(
                        t,
                        year,
                        gender.as_deref(),
                        &source,
                        segment.as_deref(),
                        &agg,
                        &services,
                    )
                    .into(),
                }
            },
        )
        .collect())
}

fn vector(
    t: i64,
    birth_year: Option<i64>,
    gender: Option<&str>,
    source: &str,
    segment: Option<&str>,
    agg: &VisitAgg,
    services: &[i64; 5],
) -> Vec<f64> {
    let year = 1970.0 + t as f64 / (365.2425 * DAY);
    let age = birth_year
        .map(|y| (year - y as f64).clamp(16.0, 100.0))
        .unwrap_or(38.0);
    let male = match gender {
        Some("male") => 1.0,
        Some("female") => 0.0,
        _ => 0.5,
    };
    let days = |at: Option<i64>| at.map(|a| ((t - a) as f64 / DAY).max(0.0)).unwrap_or(365.0);
    let ln = |x: f64| (1.0 + x.max(0.0)).ln();
    let total_minutes = agg.seconds as f64 / 60.0;
    let mean_minutes = if agg.closed > 0 {
        total_minutes / agg.closed as f64
    } else {
        0.0
    };
    let mut v = vec![
        age,
        male,
        ln(agg.count as f64),
        ln(agg.last_30d as f64),
        ln(days(agg.first)),
        ln(days(agg.last)),
        ln(total_minutes),
        ln(mean_minutes),
        ln(services[0] as f64),
        ln(services[1] as f64),
        ln(services[2] as f64),
        ln(services[3] as f64),
        ln(services[4] as f64),
        if agg.camera_returns > 0 { 1.0 } else { 0.0 },
    ];
    v.extend(
        Source::ALL
            .iter()
            .map(|s| if s.as_str() == source { 1.0 } else { 0.0 }),
    );
    v.extend(
        SEGMENTS
            .iter()
            .map(|s| if Some(*s) == segment { 1.0 } else { 0.0 }),
    );
    v
}

/// Above this many changed clients, recomputing everyone at once is quicker
/// than looking each one up.
const RECOMPUTE_ALL_ABOVE: usize = 20_000;

/// One client's kept row: both cut modes.
#[derive(Clone)]
struct KeptRow {
    bought: bool,
    first_visit_at: i64,
    training_cutoff: i64,
    training: std::sync::Arc<[f64]>,
    scoring_cutoff: i64,
    scoring: std::sync::Arc<[f64]>,
}

/// The kept features in memory, mirroring `client_features`: read once, then
/// kept in step by `refresh` (reading 100,000 rows through the driver takes
/// ~0.7 s, a retrain reads them twice). `generation` is the table's
/// (settings key `features_generation`, counted up by every refresh): a
/// refresh by another process (`server train`) makes this copy reload.
#[derive(Default)]
struct Mirror(tokio::sync::Mutex<Option<Loaded>>);

struct Loaded {
    generation: i64,
    rows: std::collections::BTreeMap<i64, KeptRow>,
}

async fn generation(mut conn: crate::infra::db::Conn<'_>) -> Result<i64, sqlx::Error> {
    let value: Option<String> = crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = 'features_generation'"
    )
    .fetch_optional(c)
    .await)?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

type StoredRow = (i64, bool, i64, i64, Vec<u8>, i64, Vec<u8>);

async fn load_all(db: &Db) -> Result<Loaded, AppError> {
    let mut conn = db.acquire().await?;
    let generation = generation(conn.backend()).await?;
    let rows: Vec<StoredRow> = crate::db_run!(conn, |c| {
        sqlx::query_as(
        "SELECT client_id, bought, first_visit_at, training_cutoff, training, scoring_cutoff, scoring \
         FROM client_features WHERE training IS NOT NULL AND scoring IS NOT NULL",
    )
    .fetch_all(c).await
    })?;
    Ok(Loaded {
        generation,
        rows: rows
            .into_iter()
            .map(
                |(id, bought, first, training_cutoff, training, scoring_cutoff, scoring)| {
                    let row = KeptRow {
                        bought,
                        first_visit_at: first,
                        training_cutoff,
                        training: decode(&training).into(),
                        scoring_cutoff,
                        scoring: decode(&scoring).into(),
                    };
                    (id, row)
                },
            )
            .collect(),
    })
}

/// Brings the kept features (`client_features`, and this process's copy) up
/// to date: recomputes the rows whose clients changed since they were last
/// computed. Returns how many.
pub async fn refresh(db: &Db, now: i64) -> Result<usize, AppError> {
    let mirror = db.cache::<Mirror>();
    // One refresh at a time: two would both subtract the same changes.
    let mut mirror = mirror.0.lock().await;
    refresh_locked(db, now, &mut mirror).await
}

async fn refresh_locked(db: &Db, now: i64, mirror: &mut Option<Loaded>) -> Result<usize, AppError> {
    let current = generation(db.acquire().await?.backend()).await?;
    if mirror.as_ref().is_none_or(|m| m.generation != current) {
        *mirror = Some(load_all(db).await?);
    }
    // The change counts as of now: a write after this point leaves its row
    // counting changes, so it is recomputed next time.
    let changed: Vec<(i64, i64)> = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT client_id, changes FROM client_features WHERE changes > 0"
    )
    .fetch_all(c)
    .await)?;
    if changed.is_empty() {
        return Ok(0);
    }
    let scope = if changed.len() > RECOMPUTE_ALL_ABOVE {
        Scope::All
    } else {
        Scope::Changed
    };
    let mut training: HashMap<i64, Example> = compute(db, now, true, scope)
        .await?
        .into_iter()
        .map(|e| (e.client_id, e))
        .collect();
    let mut scoring: HashMap<i64, Example> = compute(db, now, false, scope)
        .await?
        .into_iter()
        .map(|e| (e.client_id, e))
        .collect();
    let mut tx = db.begin_write().await?;
    for chunk in changed.chunks(500) {
        // Minus the changes this computation saw: what was written meanwhile
        // still counts. An update, not an upsert: a client erased meanwhile
        // (their row deleted) gets no row back.
        let mut q: Sql = Sql::new(
            "UPDATE client_features SET changes = CASE WHEN client_features.changes - v.column2 > 0 THEN client_features.changes - v.column2 ELSE 0 END, \
             first_visit_at = v.column3, bought = v.column4, training_cutoff = v.column5, \
             training = v.column6, scoring_cutoff = v.column7, scoring = v.column8 FROM (",
        );
        q.push_values(chunk, |mut row, (client, changes)| {
            let trained = training.get(client);
            let scored = scoring.get(client);
            row.push_bind(*client)
                .push_bind(*changes)
                .push_bind(trained.map(|e| e.first_visit_at))
                .push_bind(trained.map(|e| e.bought))
                .push_bind(trained.map(|e| e.cutoff))
                .push_bind(trained.map(|e| encode(&e.values)))
                .push_bind(scored.map(|e| e.cutoff))
                .push_bind(scored.map(|e| encode(&e.values)));
        });
        q.push(") AS v WHERE client_features.client_id = v.column1");
        crate::db_run!(tx, |c, D| q
            .query::<D>()
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    let generation: String = crate::db_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO settings (key, value) VALUES ('features_generation', '1') \
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT) RETURNING value",
    )
    .fetch_one(c)
    .await
    })?;
    tx.commit().await?;
    let loaded = mirror
        .as_mut()
        .ok_or_else(|| AppError::internal("features not loaded"))?;
    loaded.generation = generation.parse().unwrap_or(0);
    for (client, _) in &changed {
        match (training.remove(client), scoring.remove(client)) {
            (Some(trained), Some(scored)) => {
                let row = KeptRow {
                    bought: trained.bought,
                    first_visit_at: trained.first_visit_at,
                    training_cutoff: trained.cutoff,
                    training: trained.values,
                    scoring_cutoff: scored.cutoff,
                    scoring: scored.values,
                };
                loaded.rows.insert(*client, row);
            }
            _ => {
                loaded.rows.remove(client);
            }
        }
    }
    Ok(changed.len())
}

/// Every client's features as kept (after `refresh`): cut at the first sale
/// for training (`outcome_cutoff`), else as of the last contact. The same
/// examples `load` computes from scratch, in client order.
pub async fn kept(db: &Db, now: i64, outcome_cutoff: bool) -> Result<Vec<Example>, AppError> {
    let mirror = db.cache::<Mirror>();
    let mut mirror = mirror.0.lock().await;
    refresh_locked(db, now, &mut mirror).await?;
    let loaded = mirror
        .as_ref()
        .ok_or_else(|| AppError::internal("features not loaded"))?;
    Ok(loaded
        .rows
        .iter()
        .map(|(client_id, row)| {
            let (cutoff, values) = if outcome_cutoff {
                (row.training_cutoff, row.training.clone())
            } else {
                (row.scoring_cutoff, row.scoring.clone())
            };
            Example {
                client_id: *client_id,
                cutoff,
                bought: row.bought,
                first_visit_at: row.first_visit_at,
                values,
            }
        })
        .collect())
}

/// Clients whose kept features changed since they were last read (at most
/// `limit`).
pub async fn changed_since_read(db: &Db, limit: i64) -> Result<Vec<i64>, AppError> {
    Ok(crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT client_id FROM client_features WHERE changes > 0 LIMIT $1"
    )
    .bind(limit)
    .fetch_all(c)
    .await)?)
}

/// Today's feature values of the given clients: their kept row, or (when
/// something changed since it was computed) worked out afresh.
pub async fn scoring_values(
    db: &Db,
    now: i64,
    clients: &[i64],
) -> Result<Vec<(i64, Vec<f64>)>, AppError> {
    let mut q: Sql =
        Sql::new("SELECT client_id, changes, scoring FROM client_features WHERE client_id IN (");
    let mut ids = q.separated(", ");
    for client in clients {
        ids.push_bind(*client);
    }
    q.push(")");
    let rows: Vec<(i64, i64, Option<Vec<u8>>)> =
        crate::db_run!(db, |c, D| q.query_as::<D, _>().fetch_all(c).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for (client, changes, scoring) in rows {
        match scoring {
            Some(bytes) if changes == 0 => out.push((client, decode(&bytes))),
            _ => {
                if let Some(e) = load(db, now, false, Some(client)).await?.pop() {
                    out.push((client, e.values.to_vec()));
                }
            }
        }
    }
    Ok(out)
}

/// After a bulk load that paused the triggers: every client gets a row, and
/// every row is recomputed at the next refresh.
pub async fn mark_all_changed(mut conn: crate::infra::db::Conn<'_>) -> Result<(), sqlx::Error> {
    crate::db_run!(conn, |c| {
        sqlx::query(
        "INSERT INTO client_features (client_id) SELECT id FROM clients WHERE erased_at IS NULL ON CONFLICT DO NOTHING",
    )
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    crate::db_run!(conn, |c| sqlx::query(
        "UPDATE client_features SET changes = changes + 1"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Feature values as stored: little-endian f64s, exact.
fn encode(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn decode(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .collect()
}

/// The raw count behind a log-transformed feature, for reason texts.
pub fn unlog(x: f64) -> f64 {
    x.exp() - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_come_back_exactly() {
        let values = vec![0.1, -2.5, f64::MIN_POSITIVE, 1e300, 0.0];
        assert_eq!(decode(&encode(&values)), values);
    }

    #[test]
    fn names_match_the_vector() {
        let v = vector(
            1_795_514_400,
            Some(1990),
            Some("male"),
            "referral",
            Some("suv"),
            &VisitAgg::default(),
            &[1, 0, 0, 2, 0],
        );
        assert_eq!(v.len(), width());
        assert_eq!(names().len(), width());
        let at = |n: &str| v[names().iter().position(|x| x == n).unwrap()];
        assert_eq!(at("source_referral"), 1.0);
        assert_eq!(at("segment_suv"), 1.0);
        assert_eq!(at("male"), 1.0);
        assert!((unlog(at("test_drives")) - 1.0).abs() < 1e-9);
        assert!((unlog(at("consultations")) - 2.0).abs() < 1e-9);
        assert!((at("age") - 36.9).abs() < 0.2);
    }
}
