//! The one place that defines the model's features. Each client's features
//! are computed only from what was known before the outcome: for a buyer up
//! to their first sale, otherwise everything up to now (their last contact).
//! Training and scoring share it.

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

/// One client's features before scaling, and the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub client_id: i64,
    /// Features are computed from events strictly before this time.
    pub cutoff: i64,
    pub bought: bool,
    pub first_visit_at: i64,
    pub values: Vec<f64>,
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

/// Features of every client (or one), as of their cutoff.
/// `outcome_cutoff`: buyers are cut at their first sale (training); without
/// it everyone is cut at `now` (scoring today's state).
pub async fn load(
    db: &Db,
    now: i64,
    outcome_cutoff: bool,
    only: Option<i64>,
) -> Result<Vec<Example>, AppError> {
    // Time in the showroom counts up to the reference moment, so the visit
    // in which a buyer buys is not "missing" from their minutes.
    // The reference moment is the client's last contact: the end of their
    // latest visit (now while they are inside). A buyer's is the sale.
    // Measuring recency from the same kind of moment for buyers and others
    // keeps "bought during a visit" from leaking in as "visited recently".
    // One client (rescoring after a visit, on the request path) is looked up
    // by its indexes; `(?2 IS NULL OR id = ?2)` would make SQLite scan every
    // visit, sale and client (~250 ms on 100,000 clients). For everyone,
    // `?2 IS NULL` keeps the parameter and filters nothing.
    let (visit_filter, client_filter) = match only {
        Some(_) => ("client_id = ?2", "c.id = ?2"),
        None => ("?2 IS NULL", "?2 IS NULL"),
    };
    let cut = format!(
        "WITH first_sale AS (SELECT client_id, MIN(sold_at) AS sold_at FROM sales WHERE {visit_filter} GROUP BY client_id), \
         touch AS (SELECT client_id, MAX(COALESCE(left_at, ?1)) + 1 AS last_touch FROM visits \
                   WHERE client_id IS NOT NULL AND {visit_filter} GROUP BY client_id), \
         cut AS (SELECT c.id, {} AS t, f.sold_at IS NOT NULL AS bought, c.first_visit_at \
                 FROM clients c JOIN touch ON touch.client_id = c.id LEFT JOIN first_sale f ON f.client_id = c.id \
                 WHERE c.erased_at IS NULL AND c.first_visit_at IS NOT NULL AND {client_filter}) ",
        if outcome_cutoff {
            "MIN(COALESCE(f.sold_at, touch.last_touch), touch.last_touch)"
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
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{cut} SELECT cut.id, cut.t, cut.bought, cut.first_visit_at, COUNT(v.id), \
                COALESCE(SUM(CASE WHEN v.entered_at >= cut.t - 2592000 THEN 1 ELSE 0 END), 0), \
                MIN(v.entered_at), MAX(v.entered_at), \
                COALESCE(SUM(MIN(COALESCE(v.left_at, cut.t), cut.t) - v.entered_at), 0), \
                COUNT(v.id), \
                COALESCE(SUM(CASE WHEN v.started_by = 'camera' AND NOT v.is_first_visit THEN 1 ELSE 0 END), 0) \
         FROM cut LEFT JOIN visits v ON v.client_id = cut.id AND v.entered_at < cut.t \
         GROUP BY cut.id ORDER BY cut.id"
    ))
    .bind(now)
    .bind(only)
    .fetch_all(db.pool())
    .await?;
    let services: Vec<(i64, String, i64)> = sqlx::query_as(&format!(
        "{cut} SELECT s.client_id, s.kind, COUNT(*) FROM cut \
         JOIN service_requests s ON s.client_id = cut.id AND s.requested_at < cut.t GROUP BY s.client_id, s.kind"
    ))
    .bind(now)
    .bind(only)
    .fetch_all(db.pool())
    .await?;
    let attributes: Vec<AttributeRow> = sqlx::query_as(&format!(
        "SELECT c.id, c.birth_year, c.gender, c.source, m.segment FROM clients c \
         LEFT JOIN car_models m ON m.id = c.car_model_id WHERE c.erased_at IS NULL AND {}",
        client_filter.replace("?2", "?1")
    ))
    .bind(only)
    .fetch_all(db.pool())
    .await?;

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
                    ),
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

/// The raw count behind a log-transformed feature, for reason texts.
pub fn unlog(x: f64) -> f64 {
    x.exp() - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

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
