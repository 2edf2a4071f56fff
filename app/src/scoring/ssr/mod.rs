//! Purchase prediction: features, training, persistence of every model with
//! its metrics, scoring of all clients, and the reasons behind each score.

mod cores;
pub mod features;
pub mod model;
pub mod trees;

use std::collections::HashMap;
use std::sync::Arc;

use crate::infra::sql::Sql;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, ConflictCode};
use crate::i18n::*;
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::now;
pub use model::{Family, LinearModel, Metrics, Model, TrainError, TreeModel};

/// One reason behind a score: a feature and the client's value of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub feature: String,
    /// The raw value (a count, days, minutes …), for the sentence.
    pub value: f64,
    /// Its push on the log-odds.
    pub weight: f64,
}

/// Which way a feature must lean to be a reason to buy: more of it than
/// usual, or (recency) less.
#[derive(Clone, Copy, PartialEq)]
enum Lean {
    More,
    Less,
}

/// When a feature may be given as a reason to buy: the way it must push
/// (with the model's weight of the same sign, so "more" really helped) and
/// the least raw value that is a fact worth telling a salesperson. Age,
/// gender and how long ago someone first came are never reasons to buy.
fn reason_rule(feature: &str) -> Option<(Lean, f64)> {
    Some(match feature {
        "visits_total" | "visits_30d" => (Lean::More, 2.0),
        "days_since_last" => (Lean::Less, 0.0),
        "total_minutes" | "mean_minutes" => (Lean::More, 1.0),
        "test_drives"
        | "credit_talks"
        | "trade_in_talks"
        | "consultations"
        | "purchase_talks"
        | "returning_via_camera" => (Lean::More, 1.0),
        f if f.starts_with("source_") || f.starts_with("segment_") => (Lean::More, 1.0),
        _ => return None,
    })
}

/// The raw value as people count it: counts and durations are stored log(1 + x).
fn plain_value(feature: &str, raw: f64) -> f64 {
    let logged = features::NUMERIC.contains(&feature)
        && !matches!(feature, "age" | "male" | "returning_via_camera");
    if logged {
        features::unlog(raw).round()
    } else {
        raw
    }
}

/// Up to `n` true facts about this client that raised their score, largest
/// push first: a brand-new visitor is not told "came back on their own" or
/// "stays 0 min" because the model happens to weigh those against buying.
pub fn top_reasons(model: &Model, raw: &[f64], n: usize) -> Vec<Reason> {
    let contributions = model.contributions(raw);
    let mut order: Vec<usize> = (0..contributions.len())
        .filter(|&i| contributions[i] > 0.02 && is_reason(model, raw, i))
        .collect();
    order.sort_by(|&a, &b| contributions[b].total_cmp(&contributions[a]));
    order
        .into_iter()
        .take(n)
        .map(|i| Reason {
            feature: model.features()[i].clone(),
            value: plain_value(&model.features()[i], raw[i]),
            weight: contributions[i],
        })
        .collect()
}

/// Whether feature `i` is a fact about the client that speaks for buying
/// (its contribution, checked by the caller, is positive).
pub fn is_reason(model: &Model, raw: &[f64], i: usize) -> bool {
    let feature = model.features()[i].as_str();
    let Some((lean, least)) = reason_rule(feature) else {
        return false;
    };
    // The logistic model leans one way for everyone: its weight must agree
    // with "more (or less) of this helps". A tree's push is the client's own.
    let agrees = match model {
        Model::Logistic(m) => match lean {
            Lean::More => m.weights[i] > 0.0,
            Lean::Less => m.weights[i] < 0.0,
        },
        Model::Trees(_) => true,
    };
    agrees && plain_value(feature, raw[i]) >= least
}

/// A reason as a short sentence in `locale`.
pub fn reason_text(locale: Locale, reason: &Reason) -> String {
    let n = format!("{}", reason.value.round() as i64);
    let template = match reason.feature.as_str() {
        "visits_total" => td_string!(locale, reasons.visits_total),
        "visits_30d" => td_string!(locale, reasons.visits_30d),
        "days_since_first" => td_string!(locale, reasons.days_since_first),
        "days_since_last" if reason.value < 1.0 => td_string!(locale, reasons.here_today),
        "days_since_last" => td_string!(locale, reasons.days_since_last),
        "total_minutes" => td_string!(locale, reasons.total_minutes),
        "mean_minutes" => td_string!(locale, reasons.mean_minutes),
        "test_drives" if reason.value <= 1.0 => td_string!(locale, reasons.test_drive),
        "test_drives" => td_string!(locale, reasons.test_drives),
        "credit_talks" => td_string!(locale, reasons.credit),
        "trade_in_talks" => td_string!(locale, reasons.trade_in),
        "consultations" => td_string!(locale, reasons.consultations),
        "purchase_talks" => td_string!(locale, reasons.purchase_talks),
        "returning_via_camera" => td_string!(locale, reasons.camera),
        "age" => td_string!(locale, reasons.age),
        "male" if reason.value > 0.5 => td_string!(locale, reasons.man),
        "male" => td_string!(locale, reasons.woman),
        f if f.starts_with("source_") => {
            return td_string!(locale, reasons.source).replace(
                "%s",
                crate::vocab::Source::parse(&f[7..])
                    .unwrap_or(crate::vocab::Source::Other)
                    .label(locale),
            );
        }
        f if f.starts_with("segment_") => {
            return td_string!(locale, reasons.segment)
                .replace("%s", crate::potential::segment_label(locale, &f[8..]));
        }
        other => other,
    };
    template.replace("%n", &n)
}

/// A stored model as the model page lists it (without its body: a tree
/// ensemble's is hundreds of kilobytes, the page needs only the metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub id: i64,
    pub trained_at: i64,
    pub active: bool,
    pub family: Family,
    pub metrics: Metrics,
}

/// Held while a model is being trained.
#[derive(Default)]
struct Training(tokio::sync::Mutex<()>);

/// Trains both families on the whole database and stores them. The better
/// one (or the family an admin pinned) becomes active, and every client is
/// rescored, unless it ranks the newest clients worse than the active model
/// does: then it is kept inactive, `active: false` says so, and its metrics
/// carry both figures. On failure nothing changes.
pub async fn train_and_activate(db: &Db, actor: Option<i64>) -> Result<StoredModel, AppError> {
    // One training at a time per database: a second click (or the nightly
    // job meeting a click) is told one is running instead of fitting twice.
    let training = db.cache::<Training>();
    let _running = training.0.try_lock().map_err(|_| AppError::Conflict {
        code: ConflictCode::TrainingRunning,
    })?;
    let t = now();
    let began = std::time::Instant::now();
    let examples = features::kept(db, t, true).await?;
    let features_ms = began.elapsed().as_millis() as u64;
    let incumbent = active_model(db).await?;
    let incumbent_family = incumbent.as_ref().map(|(_, m)| m.family());
    let pinned = pinned_family(db).await?;
    let previous_logistic = last_logistic(db).await?;
    let fitting = tokio::task::spawn_blocking(move || {
        model::train_after(
            &examples,
            incumbent.as_ref().map(|(id, m)| (*id, m.as_ref())),
            pinned,
            previous_logistic.as_ref(),
        )
    });
    // Meanwhile, every client's features as of now, for the rescore (a
    // client whose visit lands during the fit is scored again below).
    let (trained, now_examples) = tokio::join!(fitting, features::kept(db, now(), false));
    let trained = trained.map_err(AppError::internal)?;
    let now_examples = now_examples?;
    let model::Trained { candidates, chosen } = trained.map_err(|e| AppError::TrainingRefused {
        reason: e.to_string(),
    })?;
    let fit_ms = began.elapsed().as_millis() as u64 - features_ms;
    // A pinned family replaces a model of the other family whatever the
    // hold-out says: the admin chose it.
    let switches_family = pinned.is_some() && incumbent_family != pinned;
    let activate = switches_family || candidates[chosen].1.beats_incumbent();
    let mut tx = db.begin_write().await?;
    if activate {
        crate::db_run!(tx, |c| sqlx::query(
            "UPDATE models SET active = FALSE WHERE active = TRUE"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    // Both families are stored, so the model page can show them side by side.
    let mut chosen_id = 0;
    for (i, (model, metrics)) in candidates.iter().enumerate() {
        let id: i64 = crate::db_run!(tx, |c| {
            sqlx::query_scalar(
            "INSERT INTO models (trained_at, algorithm, body, metrics, train_count, test_count, positive_count, active, trained_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(t)
        .bind(model.family().algorithm())
        .bind(model.encode().map_err(AppError::internal)?)
        .bind(serde_json::to_string(metrics).map_err(AppError::internal)?)
        .bind(metrics.train_count as i64)
        .bind(metrics.test_count as i64)
        .bind((metrics.train_buyers + metrics.test_buyers) as i64)
        .bind(activate && i == chosen)
        .bind(actor)
        .fetch_one(c).await
        })?;
        if i == chosen {
            chosen_id = id;
        }
    }
    let action = if activate {
        "train"
    } else {
        "train_kept_active"
    };
    audit::record(tx.backend(), actor, action, "model", Some(chosen_id), None).await?;
    tx.commit().await?;
    let stored_ms = began.elapsed().as_millis() as u64;
    let (model, metrics) = candidates
        .into_iter()
        .nth(chosen)
        .ok_or_else(|| AppError::internal("no model chosen"))?;
    let family = model.family();
    if activate {
        rescore_examples(db, chosen_id, model, now_examples).await?;
        // Features that changed since they were read (counted in
        // `client_features.changes` until the next read): those clients
        // were just scored from their earlier state, so again from today's.
        for client in features::changed_since_read(db, 1000).await? {
            rescore_client(db, client).await?;
        }
    }
    // Where a retrain's time goes, for the operator and the benchmarks.
    tracing::info!(
        model = chosen_id,
        family = family.as_str(),
        active = activate,
        features_ms,
        fit_ms,
        store_models_ms = stored_ms - features_ms - fit_ms,
        rescore_ms = began.elapsed().as_millis() as u64 - stored_ms,
        total_ms = began.elapsed().as_millis() as u64,
        "model trained"
    );
    Ok(StoredModel {
        id: chosen_id,
        trained_at: t,
        active: activate,
        family,
        metrics,
    })
}

/// The family an admin pinned (settings key `model_family`), if any.
pub async fn pinned_family(db: &Db) -> Result<Option<Family>, AppError> {
    let value: Option<String> = crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = 'model_family'"
    )
    .fetch_optional(c)
    .await)?;
    Ok(value.as_deref().and_then(Family::parse))
}

/// Pins a family (`logistic`, `trees`) for the next trainings, or lets the
/// hold-out choose (`auto`).
pub async fn pin_family(db: &Db, actor: i64, value: &str) -> Result<(), AppError> {
    let family = match value.trim() {
        "auto" | "" => None,
        other => Some(Family::parse(other).ok_or_else(|| {
            AppError::invalid("model_family", crate::error::InvalidCode::BadFormat)
        })?),
    };
    let mut tx = db.begin_write().await?;
    match family {
        Some(f) => {
            crate::db_run!(tx, |c| sqlx::query(
                "INSERT INTO settings (key, value) VALUES ('model_family', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(f.as_str())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        None => {
            crate::db_run!(tx, |c| sqlx::query(
                "DELETE FROM settings WHERE key = 'model_family'"
            )
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
    }
    audit::record(
        tx.backend(),
        Some(actor),
        "update",
        "model_family",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    // Pinned means used now: the newest model of that family becomes active.
    let active = active_model(db).await?.map(|(_, m)| m.family());
    if let Some(family) = family
        && active.is_some_and(|a| a != family)
    {
        let newest: Option<i64> = crate::db_run!(db, |c| sqlx::query_scalar(
            "SELECT MAX(id) FROM models WHERE algorithm = $1"
        )
        .bind(family.algorithm())
        .fetch_one(c)
        .await)?;
        if let Some(id) = newest {
            activate(db, actor, id).await?;
        }
    }
    Ok(())
}

pub async fn list_models(db: &Db) -> Result<Vec<StoredModel>, AppError> {
    let rows: Vec<(i64, i64, bool, String, String)> = crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT id, trained_at, active, algorithm, metrics FROM models ORDER BY id DESC LIMIT 20",
    )
    .fetch_all(c).await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, trained_at, active, algorithm, metrics) in rows {
        let Ok(mut metrics) = serde_json::from_str::<Metrics>(&metrics) else {
            continue;
        };
        // Models stored before the metrics named what they lean on.
        if metrics.explained.is_empty() {
            let body: String = crate::db_run!(db, |c| sqlx::query_scalar(
                "SELECT body FROM models WHERE id = $1"
            )
            .bind(id)
            .fetch_one(c)
            .await)?;
            if let Ok(model) = Model::decode(&algorithm, &body) {
                metrics.explained = model.explained();
            }
        }
        out.push(StoredModel {
            id,
            trained_at,
            active,
            family: Family::from_algorithm(&algorithm),
            metrics,
        });
    }
    Ok(out)
}

/// The active model, decoded once per process and kept while it stays active.
#[derive(Default)]
struct ActiveModel(std::sync::Mutex<Option<(i64, Arc<Model>)>>);

pub async fn active_model(db: &Db) -> Result<Option<(i64, Arc<Model>)>, AppError> {
    let row: Option<(i64, String)> = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT id, algorithm FROM models WHERE active = TRUE LIMIT 1"
    )
    .fetch_optional(c)
    .await)?;
    let Some((id, algorithm)) = row else {
        return Ok(None);
    };
    let cache = db.cache::<ActiveModel>();
    if let Some((cached, model)) = cache.0.lock().map_err(AppError::internal)?.as_ref()
        && *cached == id
    {
        return Ok(Some((id, model.clone())));
    }
    let body: String = crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT body FROM models WHERE id = $1"
    )
    .bind(id)
    .fetch_one(c)
    .await)?;
    let Ok(model) = Model::decode(&algorithm, &body) else {
        return Ok(None);
    };
    let model = Arc::new(model);
    *cache.0.lock().map_err(AppError::internal)? = Some((id, model.clone()));
    Ok(Some((id, model)))
}

/// Makes an earlier model active again and rescores with it.
pub async fn activate(db: &Db, actor: i64, id: i64) -> Result<(), AppError> {
    let row: Option<(String, String)> = crate::db_run!(db, |c| sqlx::query_as(
        "SELECT algorithm, body FROM models WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let (algorithm, body) = row.ok_or(AppError::NotFound)?;
    let model = Model::decode(&algorithm, &body).map_err(AppError::internal)?;
    let mut tx = db.begin_write().await?;
    crate::db_run!(tx, |c| sqlx::query("UPDATE models SET active = (id = $1)")
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    audit::record(
        tx.backend(),
        Some(actor),
        "activate",
        "model",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    rescore_all(db, id, model).await
}

/// A client's probability and, when worked out, the reasons behind it.
pub type Scored = (i64, f64, Option<Vec<Reason>>);

/// Scores the given examples, on both cores for many. The logistic model's
/// reasons are a multiplication and come with every score; the trees'
/// exact attributions cost about 0.1 ms a client, so a full rescore leaves
/// them (`None`) to be worked out for the clients a page shows (`explain`).
pub fn score(model: &Model, examples: &[features::Example], with_reasons: bool) -> Vec<Scored> {
    let explain = with_reasons || matches!(model, Model::Logistic(_));
    let rows: Vec<&[f64]> = examples.iter().map(|e| &e.values[..]).collect();
    let probabilities = model::on_both_cores(&rows, |rows| model.probabilities(rows));
    examples
        .iter()
        .zip(probabilities)
        .map(|(e, p)| {
            let reasons = explain.then(|| top_reasons(model, &e.values, 3));
            (e.client_id, p, reasons)
        })
        .collect()
}

/// Reasons for the given clients' scores as the active model sees them,
/// for those whose stored score came without (trees, after a full rescore).
pub async fn explain(db: &Db, clients: &[i64]) -> Result<HashMap<i64, Vec<Reason>>, AppError> {
    if clients.is_empty() {
        return Ok(HashMap::new());
    }
    let Some((_, model)) = active_model(db).await? else {
        return Ok(HashMap::new());
    };
    let values = features::scoring_values(db, now(), clients).await?;
    Ok(values
        .into_iter()
        .map(|(client, x)| (client, top_reasons(&model, &x, 3)))
        .collect())
}

/// How many clients' stored scores a full rescore compares with the new
/// ones to tell whether the model moved them.
const RANK_SAMPLE: usize = 500;

/// The rank index exactly as `migrations/*/20261201000001_lead_rank.sql`
/// create it.
const RANK_INDEX: &str =
    "CREATE INDEX client_scores_rank ON client_scores (probability DESC, client_id)";

/// Stores a full rescore as the scores arrive (`chunks`, `total` in all;
/// `sample`: the new scores of clients spread over them). A new model moves
/// nearly every client in the rank index, and 100,000 moves cost several
/// times building the index again (BENCHMARKS.md, "Retraining as the
/// manager waits for it"): when the sample shows most stored scores moved,
/// the index is dropped and built again after the writes, inside the same
/// transaction.
async fn store_scores(
    db: &Db,
    model_id: i64,
    sample: HashMap<i64, f64>,
    total: usize,
    chunks: &mut tokio::sync::mpsc::Receiver<Vec<Scored>>,
) -> Result<(), AppError> {
    let began = std::time::Instant::now();
    let mut tx = db.begin_write().await?;
    let mut q = Sql::new("SELECT client_id, probability FROM client_scores WHERE client_id IN (");
    {
        let mut ids = q.separated(", ");
        for client in sample.keys() {
            ids.push_bind(*client);
        }
    }
    q.push(")");
    let stored: Vec<(i64, f64)> = if sample.is_empty() {
        Vec::new()
    } else {
        crate::db_run!(tx, |c, D| q.query_as::<D, (i64, f64)>().fetch_all(c).await)?
    };
    let moved = stored
        .iter()
        .filter(|(client, p)| sample.get(client).is_some_and(|now| now != p))
        .count();
    // A first scoring (nothing stored) builds the index from scratch too.
    let rebuild = total >= 1_000 && (moved + sample.len() - stored.len()) * 2 > sample.len();
    if rebuild {
        // Readers keep the old index until the commit (PostgreSQL makes
        // them wait for it).
        crate::db_run!(tx, |c| sqlx::query("DROP INDEX client_scores_rank")
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    let sampled_ms = began.elapsed().as_millis() as u64;
    let t = now();
    let mut written = 0;
    while let Some(chunk) = chunks.recv().await {
        store_scores_in(tx.backend(), model_id, &chunk, t).await?;
        written += chunk.len();
    }
    if written != total {
        // The scoring thread stopped early: keep what was stored.
        return Err(AppError::internal("a full rescore stopped before its end"));
    }
    let written_ms = began.elapsed().as_millis() as u64;
    if rebuild {
        crate::db_run!(tx, |c| sqlx::query(RANK_INDEX)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    tracing::debug!(
        moved_in_sample = moved,
        sample = sample.len(),
        rank_rebuilt = rebuild,
        sampled_ms,
        write_ms = written_ms - sampled_ms,
        index_and_commit_ms = began.elapsed().as_millis() as u64 - written_ms,
        "scores stored"
    );
    Ok(())
}

async fn store_scores_in(
    mut conn: crate::infra::db::Conn<'_>,
    model_id: i64,
    scores: &[Scored],
    t: i64,
) -> Result<(), AppError> {
    for chunk in scores.chunks(2_000) {
        // Scores are computed outside this transaction: a client erased
        // meanwhile gets no score back (erasure leaves none, and the
        // potential-buyers count relies on it).
        let mut q: Sql = Sql::new(
            "INSERT INTO client_scores (client_id, model_id, probability, reasons, scored_at) \
             SELECT v.column1, ",
        );
        // The model and the time once per statement, not once per client.
        q.push_bind(model_id)
            .push(", v.column2, v.column3, ")
            .push_bind(t)
            .push(" FROM (");
        // A full rescore with trees brings no reasons: written as one
        // constant rather than bound 2,000 times.
        if chunk.iter().all(|(_, _, reasons)| reasons.is_none()) {
            q.push_values(chunk, |mut b, (client, p, _)| {
                b.push_bind(*client).push_bind(*p).push("'null'");
            });
        } else {
            q.push_values(chunk, |mut b, (client, p, reasons)| {
                b.push_bind(*client)
                    .push_bind(*p)
                    .push_bind(serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into()));
            });
        }
        // Updated in place (not deleted and inserted again), and only when
        // the score or its reasons differ.
        q.push(
            ") v WHERE EXISTS (SELECT 1 FROM clients c WHERE c.id = v.column1 AND c.erased_at IS NULL) \
             ON CONFLICT (client_id) DO UPDATE SET model_id = excluded.model_id, \
             probability = excluded.probability, reasons = excluded.reasons, scored_at = excluded.scored_at \
             WHERE client_scores.probability <> excluded.probability OR client_scores.reasons <> excluded.reasons",
        );
        crate::db_run!(conn, |c, D| q
            .query::<D>()
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Erasure: the client's score and model features go. The features row
/// stays, emptied and counted changed, so every process's copy of the
/// features drops them at its next refresh.
pub async fn forget(
    mut conn: crate::infra::db::Conn<'_>,
    client_id: i64,
) -> Result<(), sqlx::Error> {
    crate::db_run!(conn, |c| sqlx::query(
        "DELETE FROM client_scores WHERE client_id = $1"
    )
    .bind(client_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    crate::db_run!(conn, |c| sqlx::query(
        "UPDATE client_features SET changes = changes + 1, first_visit_at = NULL, bought = NULL, \
         training_cutoff = NULL, training = NULL, scoring_cutoff = NULL, scoring = NULL \
         WHERE client_id = $1",
    )
    .bind(client_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Rescores every client with `model` (their state as of now).
pub async fn rescore_all(db: &Db, model_id: i64, model: Model) -> Result<(), AppError> {
    let examples = features::kept(db, now(), false).await?;
    rescore_examples(db, model_id, model, examples).await
}

/// The last logistic model stored (active or not): where the next
/// logistic fit starts.
async fn last_logistic(db: &Db) -> Result<Option<model::LinearModel>, AppError> {
    let algorithm = Family::Logistic.algorithm();
    let body: Option<String> = crate::db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT body FROM models WHERE algorithm = $1 ORDER BY trained_at DESC, id DESC LIMIT 1",
    )
    .bind(algorithm)
    .fetch_optional(c)
    .await
    })?;
    Ok(match body.map(|b| Model::decode(algorithm, &b)) {
        Some(Ok(Model::Logistic(m))) => Some(m),
        _ => None,
    })
}

/// Clients scored per batch of a full rescore: each batch is written while
/// the next is scored, half of it on each core (on one core the scoring
/// was the slower of the two and the writer waited for it).
const SCORED_AT_ONCE: usize = 4_000;

async fn rescore_examples(
    db: &Db,
    model_id: i64,
    model: Model,
    examples: Vec<features::Example>,
) -> Result<(), AppError> {
    let began = std::time::Instant::now();
    let total = examples.len();
    let spread: Vec<&features::Example> = examples
        .iter()
        .step_by((total / RANK_SAMPLE).max(1))
        .collect();
    let rows: Vec<&[f64]> = spread.iter().map(|e| &e.values[..]).collect();
    let sample: HashMap<i64, f64> = spread
        .iter()
        .map(|e| e.client_id)
        .zip(model.probabilities(&rows))
        .collect();
    let model = Arc::new(model);
    let (sender, mut chunks) = tokio::sync::mpsc::channel(4);
    let scorer = {
        let model = model.clone();
        tokio::task::spawn_blocking(move || {
            let began = std::time::Instant::now();
            for batch in examples.chunks(SCORED_AT_ONCE) {
                // The writer gave up (an error): nobody reads the rest.
                if sender.blocking_send(score(&model, batch, false)).is_err() {
                    break;
                }
            }
            began.elapsed().as_millis() as u64
        })
    };
    let stored = store_scores(db, model_id, sample, total, &mut chunks).await;
    drop(chunks);
    let score_ms = scorer.await.map_err(AppError::internal)?;
    stored?;
    tracing::debug!(
        score_ms,
        score_and_store_ms = began.elapsed().as_millis() as u64,
        clients = total,
        "every client rescored"
    );
    if let Model::Trees(_) = model.as_ref() {
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(error) = explain_top(&db, model_id, model).await {
                tracing::warn!(%error, "reasons of the top clients not stored");
            }
        });
    }
    Ok(())
}

/// How many of the highest-ranked clients get their reasons stored right
/// after a full rescore with trees: the first pages of the list and the
/// bot's /top then read them instead of working them out.
const EXPLAINED_AT_ONCE: i64 = 250;

/// Stores the reasons of the highest-ranked clients who have not bought (in
/// the background: the retrain's answer does not wait for them). A client
/// rescored meanwhile keeps the reasons of that rescore.
async fn explain_top(db: &Db, model_id: i64, model: Arc<Model>) -> Result<(), AppError> {
    let clients: Vec<i64> = crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT s.client_id FROM client_scores s WHERE s.model_id = $1 AND s.reasons = 'null' \
         AND NOT EXISTS (SELECT 1 FROM sales x WHERE x.client_id = s.client_id) \
         ORDER BY s.probability DESC, s.client_id LIMIT $2",
    )
    .bind(model_id)
    .bind(EXPLAINED_AT_ONCE)
    .fetch_all(c)
    .await)?;
    let values = features::scoring_values(db, now(), &clients).await?;
    let explained = tokio::task::spawn_blocking(move || {
        values
            .into_iter()
            .map(|(client, x)| (client, top_reasons(&model, &x, 3)))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(AppError::internal)?;
    let mut tx = db.begin_write().await?;
    for (client, reasons) in explained {
        crate::db_run!(tx, |c| {
            sqlx::query(
            "UPDATE client_scores SET reasons = $1 WHERE client_id = $2 AND model_id = $3 AND reasons = 'null'",
        )
        .bind(serde_json::to_string(&reasons).map_err(AppError::internal)?)
        .bind(client)
        .bind(model_id)
        .execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rescores one client after their visits or services changed. A client
/// whose probability rises across the hot threshold is a new hot lead:
/// reception hears of it (once per crossing, not on every rescore).
pub async fn rescore_client(db: &Db, client_id: i64) -> Result<(), AppError> {
    let Some((model_id, model)) = active_model(db).await? else {
        return Ok(());
    };
    let examples = features::load(db, now(), false, Some(client_id)).await?;
    let scores = score(&model, &examples, true);
    let (hot, _) = bands(db).await?;
    let t = now();
    let mut tx = db.begin_write().await?;
    let before: Option<f64> = crate::db_run!(tx, |c| sqlx::query_scalar(
        "SELECT probability FROM client_scores WHERE client_id = $1"
    )
    .bind(client_id)
    .fetch_optional(c)
    .await)?;
    store_scores_in(tx.backend(), model_id, &scores, t).await?;
    if let Some((_, after, reasons)) = scores.first()
        && crossed_hot(before, *after, hot)
    {
        let branch: Option<i64> = crate::db_run!(tx, |c| sqlx::query_scalar(
            "SELECT branch_id FROM clients WHERE id = $1"
        )
        .bind(client_id)
        .fetch_optional(c)
        .await)?;
        let notice = crate::notify::ssr::outbox::Notice {
            kind: crate::vocab::NotifyKind::HotLead,
            branch_id: branch,
            client_id: Some(client_id),
            visit_id: None,
            payload: serde_json::json!({ "probability": after, "reasons": reasons }),
        };
        crate::notify::ssr::outbox::enqueue(tx.backend(), notice, t).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rescores after a visit or service was recorded. The record stands even if
/// scoring fails (no model file, a locked database): the score catches up on
/// the next rescore, so the failure is logged, not returned.
pub async fn rescore_after_change(db: &Db, client_id: i64) {
    if let Err(error) = rescore_client(db, client_id).await {
        tracing::warn!(%error, client_id, "client not rescored");
    }
}

/// Whether a rescore made a client a hot lead: below the threshold (or not
/// scored) before, at or above it now.
pub fn crossed_hot(before: Option<f64>, after: f64, hot: f64) -> bool {
    after >= hot && before.is_none_or(|b| b < hot)
}

/// Hot and warm thresholds (probabilities), from settings.
pub async fn bands(db: &Db) -> Result<(f64, f64), AppError> {
    let get = |key: &'static str, default: f64| async move {
        let v: Option<String> = crate::db_run!(db, |c| sqlx::query_scalar(
            "SELECT value FROM settings WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(c)
        .await)?;
        Ok::<f64, AppError>(v.and_then(|v| v.parse().ok()).unwrap_or(default))
    };
    Ok((get("score_hot", 0.5).await?, get("score_warm", 0.2).await?))
}

pub async fn set_bands(db: &Db, actor: i64, hot: f64, warm: f64) -> Result<(), AppError> {
    if !(0.0..=1.0).contains(&hot) || !(0.0..=1.0).contains(&warm) || warm >= hot {
        return Err(AppError::invalid(
            "score_hot",
            crate::error::InvalidCode::OutOfRange,
        ));
    }
    let mut tx = db.begin_write().await?;
    for (key, value) in [("score_hot", hot), ("score_warm", warm)] {
        crate::db_run!(tx, |c| {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value.to_string())
            .execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    audit::record(
        tx.backend(),
        Some(actor),
        "update",
        "score_bands",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the exact training matrix and labels as CSV, with each client's
/// first visit: training holds out the latest quarter by `(first_visit_at,
/// client_id)`, and `scripts/compare_sklearn.py` makes the same split.
pub async fn export_features(db: &Db, out: &mut impl std::io::Write) -> Result<usize, AppError> {
    let examples = features::kept(db, now(), true).await?;
    let io = |error: std::io::Error| AppError::internal(error);
    writeln!(
        out,
        "client_id,cutoff,first_visit_at,{},bought",
        features::names().join(",")
    )
    .map_err(io)?;
    for e in &examples {
        // Shortest round-trip form: scikit-learn sees exactly our values.
        let values: Vec<String> = e.values.iter().map(|v| format!("{v}")).collect();
        writeln!(
            out,
            "{},{},{},{},{}",
            e.client_id,
            e.cutoff,
            e.first_visit_at,
            values.join(","),
            u8::from(e.bought)
        )
        .map_err(io)?;
    }
    Ok(examples.len())
}

impl From<TrainError> for AppError {
    fn from(error: TrainError) -> Self {
        AppError::TrainingRefused {
            reason: error.to_string(),
        }
    }
}

/// When the active model was trained, if there is one.
/// When a model was last trained, active or not: a retrain kept inactive
/// (worse than the active one) counts, or the job would refit the same data
/// every ten minutes.
pub async fn last_trained_at(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT MAX(trained_at) FROM models"
    )
    .fetch_one(c)
    .await)
}

/// Sales since the last training, for automatic retraining.
pub async fn sales_since_training(db: &Db) -> Result<Option<i64>, AppError> {
    match last_trained_at(db).await? {
        Some(t) => Ok(Some(crate::db_run!(db, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM sales WHERE created_at > $1"
        )
        .bind(t)
        .fetch_one(c)
        .await)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::crossed_hot;

    #[test]
    fn a_hot_lead_is_announced_once_per_crossing() {
        assert!(crossed_hot(None, 0.6, 0.5));
        assert!(crossed_hot(Some(0.4), 0.5, 0.5));
        assert!(!crossed_hot(Some(0.55), 0.7, 0.5), "already hot: no repeat");
        assert!(!crossed_hot(Some(0.3), 0.45, 0.5));
        assert!(
            !crossed_hot(Some(0.7), 0.3, 0.5),
            "cooling down is not news"
        );
    }
}
