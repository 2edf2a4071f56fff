//! `server demo-data`: a believable dealership network — branches, staff,
//! catalogue, clients, a year of visits with real daily and weekly rhythms,
//! services, and sales driven by a hidden propensity a model can learn.
//! The same seed and the same `now` give the same data.

mod catalogue;
mod names;
mod simulate;

use app::infra::Db;
use app::infra::sql::Sql;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::ServerError;
pub use simulate::{Client, Sale, ServiceRequest, Visit, World};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub clients: usize,
    pub visits: usize,
    pub service_requests: usize,
    pub sales: usize,
}

/// True when there are neither clients nor visits.
pub async fn database_is_empty(db: &Db) -> Result<bool, ServerError> {
    let count: i64 = app::db_run!(db, |c| sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM clients) + (SELECT COUNT(*) FROM visits)"
    )
    .fetch_one(c)
    .await)?;
    Ok(count == 0)
}

/// Generates `clients` clients up to the present moment.
pub async fn generate(
    db: &Db,
    clients: u32,
    seed: u64,
    progress: bool,
) -> Result<Summary, ServerError> {
    generate_at(db, clients, seed, chrono::Utc::now().timestamp(), progress).await
}

/// Generates `clients` clients whose history ends at `now` (Unix seconds).
pub async fn generate_at(
    db: &Db,
    clients: u32,
    seed: u64,
    now: i64,
    progress: bool,
) -> Result<Summary, ServerError> {
    if clients > 2_000_000 {
        return Err(ServerError::Demo("at most 2,000,000 demo clients".into()));
    }
    let mut tx = db.begin_write().await?;
    let branches = ensure_reference_data(tx.backend(), now).await?;
    let car_models: Vec<(i64, i64, f64)> = app::db_run!(tx, |c| sqlx::query_as::<_, (i64, i64)>(
        "SELECT id, base_price FROM car_models ORDER BY id"
    )
    .fetch_all(c)
    .await)?
    .into_iter()
    .zip(catalogue::CAR_MODELS.iter().map(|m| m.4))
    .map(|((id, price), popularity)| (id, price, popularity))
    .collect();
    let staff: Vec<(i64, Option<i64>)> =
        app::db_run!(tx, |c| sqlx::query_as("SELECT id, branch_id FROM staff")
            .fetch_all(c)
            .await)?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let world = simulate::simulate(
        &mut rng,
        clients as usize,
        now,
        &branches,
        &car_models,
        &staff,
    );

    let total = world.clients.len() + world.visits.len() + world.services.len() + world.sales.len();
    let bar = if progress {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg:>16} [{bar:40}] {percent:>3}% {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    // Row-by-row roll-up triggers would double the load time: pause them and
    // rebuild the roll-ups in one pass instead.
    app::db_run!(tx, |c| sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('rollups_paused', '1')"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    app::infra::db::set_row_triggers(tx.backend(), &app::infra::db::TRIGGERED_TABLES, false)
        .await?;
    insert_world(tx.backend(), &world, &bar).await?;
    app::infra::db::set_row_triggers(tx.backend(), &app::infra::db::TRIGGERED_TABLES, true).await?;
    app::infra::db::sync_id_sequences(tx.backend()).await?;
    bar.set_message("statistics");
    app::stats::ssr::rebuild_rollups(tx.backend()).await?;
    app::scoring::ssr::features::mark_all_changed(tx.backend()).await?;
    app::db_run!(tx, |c| sqlx::query(
        "DELETE FROM settings WHERE key = 'rollups_paused'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    bar.finish_with_message("done");
    // Fresh statistics so the planner picks the right indexes at once.
    app::db_run!(db, |c| sqlx::query("ANALYZE")
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(Summary {
        clients: world.clients.len(),
        visits: world.visits.len(),
        service_requests: world.services.len(),
        sales: world.sales.len(),
    })
}

/// Branches, catalogue, demo staff and consent texts, created when missing.
/// Returns the branches as (id, UTC offset in minutes, opening minute,
/// closing minute, share of clients).
async fn ensure_reference_data(
    mut conn: app::infra::db::Conn<'_>,
    now: i64,
) -> Result<Vec<simulate::BranchInfo>, ServerError> {
    let existing: i64 = app::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM branches"
    )
    .fetch_one(c)
    .await)?;
    if existing == 0 {
        for (name, city, zone, opens, closes, _) in catalogue::BRANCHES {
            app::db_run!(conn, |c| {
                sqlx::query(
                "INSERT INTO branches (name, city, time_zone, utc_offset_minutes, opens_at, closes_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(name)
            .bind(city)
            .bind(zone)
            .bind(app::infra::time::offset_minutes(zone).unwrap_or(app::infra::time::DEFAULT_OFFSET_MINUTES))
            .bind(opens)
            .bind(closes)
            .bind(now - 400 * 86_400)
            .execute(c).await.map(|r| r.rows_affected())
            })?;
        }
    }
    let models: i64 = app::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM car_models"
    )
    .fetch_one(c)
    .await)?;
    if models == 0 {
        for (brand, name, segment, price, _) in catalogue::CAR_MODELS {
            app::db_run!(conn, |c| sqlx::query(
                "INSERT INTO car_models (brand, name, segment, base_price) VALUES ($1, $2, $3, $4)",
            )
            .bind(brand)
            .bind(name)
            .bind(segment)
            .bind(price)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
    }
    let consent: i64 = app::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM consent_texts"
    )
    .fetch_one(c)
    .await)?;
    if consent == 0 {
        for (language, body) in catalogue::CONSENT_TEXTS {
            app::db_run!(conn, |c| {
                sqlx::query("INSERT INTO consent_texts (version, language, body, created_at) VALUES (1, $1, $2, $3)")
                .bind(language)
                .bind(body)
                .bind(now - 400 * 86_400)
                .execute(c).await.map(|r| r.rows_affected())
            })?;
        }
    }
    let rows: Vec<(i64, String, String, String, String)> = app::db_run!(conn, |c| sqlx::query_as(
        "SELECT id, name, time_zone, opens_at, closes_at FROM branches ORDER BY id"
    )
    .fetch_all(c)
    .await)?;
    let demo_staff: i64 = app::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM staff WHERE login LIKE 'demo.%'"
    )
    .fetch_one(c)
    .await)?;
    if demo_staff == 0 {
        // Demo colleagues to attribute services to. They cannot sign in until
        // an admin sets a password for them.
        for (index, (id, ..)) in rows.iter().enumerate() {
            for (role, first, last) in [
                ("manager", "Sardor", "Rahimov"),
                ("reception", "Madina", "Karimova"),
            ] {
                let login = format!("demo.{role}{}", index + 1);
                app::db_run!(conn, |c| {
                    sqlx::query(
                    "INSERT INTO staff (login, full_name, password_hash, role, branch_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&login)
                .bind(format!("{first} {last} ({})", index + 1))
                .bind(app::infra::password::LOCKED_HASH)
                .bind(role)
                .bind(id)
                .bind(now - 400 * 86_400)
                .bind(now - 400 * 86_400)
                .execute(c).await.map(|r| r.rows_affected())
                })?;
            }
        }
    }
    let share = |name: &str| {
        catalogue::BRANCHES
            .iter()
            .find(|b| b.0 == name)
            .map(|b| b.5)
            .unwrap_or(0.2)
    };
    Ok(rows
        .into_iter()
        .map(|(id, name, zone, opens, closes)| simulate::BranchInfo {
            id,
            offset_minutes: app::infra::time::offset_minutes(&zone)
                .unwrap_or(app::infra::time::DEFAULT_OFFSET_MINUTES),
            opens: app::settings::ssr::branches::parse_hhmm(&opens).unwrap_or(540),
            closes: app::settings::ssr::branches::parse_hhmm(&closes).unwrap_or(1200),
            share: share(&name),
        })
        .collect())
}

/// Rows per multi-row INSERT; keeps bind counts far below SQLite's limit.
const BATCH: usize = 1_000;

async fn insert_world(
    mut conn: app::infra::db::Conn<'_>,
    world: &World,
    bar: &ProgressBar,
) -> Result<(), ServerError> {
    bar.set_message("clients");
    for chunk in world.clients.chunks(BATCH) {
        let mut q: Sql = Sql::new(
            "INSERT INTO clients (id, branch_id, full_name, phone, birth_year, gender, source, car_model_id, \
             consent_at, consent_version, consent_language, biometric_opt_in, search_text, first_visit_at, \
             last_visit_at, visit_count, created_at, updated_at) ",
        );
        q.push_values(chunk, |mut b, c| {
            b.push_bind(c.id)
                .push_bind(c.branch_id)
                .push_bind(&c.full_name)
                .push_bind(&c.phone)
                .push_bind(c.birth_year)
                .push_bind(c.gender)
                .push_bind(c.source)
                .push_bind(c.car_model_id)
                .push_bind(c.first_visit_at)
                .push_bind(1)
                .push_bind(c.language)
                .push_bind(c.biometric_opt_in)
                .push_bind(app::clients::ssr::search_text(&c.full_name, &c.phone))
                .push_bind(c.first_visit_at)
                .push_bind(c.last_visit_at)
                .push_bind(c.visit_count)
                .push_bind(c.first_visit_at)
                .push_bind(c.last_visit_at);
        });
        app::db_run!(conn, |c, D| q
            .query::<D>()
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        bar.inc(chunk.len() as u64);
    }
    bar.set_message("visits");
    for chunk in world.visits.chunks(BATCH) {
        let mut q: Sql = Sql::new(
            "INSERT INTO visits (id, visit_token, client_id, branch_id, entered_at, left_at, started_by, \
             ended_by, is_first_visit, created_at) ",
        );
        q.push_values(chunk, |mut b, v| {
            b.push_bind(v.id)
                .push_bind(v.token.to_string())
                .push_bind(v.client_id)
                .push_bind(v.branch_id)
                .push_bind(v.entered_at)
                .push_bind(v.left_at)
                .push_bind(v.started_by)
                .push_bind(v.ended_by)
                .push_bind(v.is_first_visit)
                .push_bind(v.entered_at);
        });
        app::db_run!(conn, |c, D| q
            .query::<D>()
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        bar.inc(chunk.len() as u64);
    }
    bar.set_message("services");
    for chunk in world.services.chunks(BATCH) {
        let mut q: Sql = Sql::new(
            "INSERT INTO service_requests (visit_id, client_id, branch_id, kind, staff_id, requested_at, outcome) ",
        );
        q.push_values(chunk, |mut b, s| {
            b.push_bind(s.visit_id)
                .push_bind(s.client_id)
                .push_bind(s.branch_id)
                .push_bind(s.kind)
                .push_bind(s.staff_id)
                .push_bind(s.requested_at)
                .push_bind(s.outcome);
        });
        app::db_run!(conn, |c, D| q
            .query::<D>()
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        bar.inc(chunk.len() as u64);
    }
    bar.set_message("sales");
    for chunk in world.sales.chunks(BATCH) {
        let mut q: Sql = Sql::new(
            "INSERT INTO sales (client_id, visit_id, branch_id, car_model_id, price, sold_at, staff_id, created_at) ",
        );
        q.push_values(chunk, |mut b, s| {
            b.push_bind(s.client_id)
                .push_bind(s.visit_id)
                .push_bind(s.branch_id)
                .push_bind(s.car_model_id)
                .push_bind(s.price)
                .push_bind(s.sold_at)
                .push_bind(s.staff_id)
                .push_bind(s.sold_at);
        });
        app::db_run!(conn, |c, D| q
            .query::<D>()
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        bar.inc(chunk.len() as u64);
    }
    Ok(())
}
