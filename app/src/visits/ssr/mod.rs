//! Visits and the services asked for during them: check in, record a
//! service, close. Each is one write transaction.

pub mod sales;

use crate::error::{AppError, ConflictCode, InvalidCode};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::now;
use crate::vocab::{NotifyKind, ServiceKind, VisitEnd, VisitStart};

pub const NOTE_MAX: usize = 500;

/// Opens a visit for `client_id` at `branch_id` from the card; refuses a second open one.
pub async fn check_in(
    db: &Db,
    actor: i64,
    client_id: i64,
    branch_id: i64,
    started_by: VisitStart,
) -> Result<i64, AppError> {
    let mut tx = db.begin_write().await?;
    let erased: Option<Option<i64>> = crate::db_run!(tx, |c| sqlx::query_scalar(
        "SELECT erased_at FROM clients WHERE id = $1"
    )
    .bind(client_id)
    .fetch_optional(c)
    .await)?;
    if erased.ok_or(AppError::NotFound)?.is_some() {
        return Err(AppError::NotFound);
    }
    ensure_branch(tx.backend(), branch_id).await?;
    let t = now();
    let opening = Opening {
        client_id: Some(client_id),
        branch_id,
        started_by,
        entered_at: t,
    };
    let Opened::New(id) = open(tx.backend(), &opening, t).await? else {
        return Err(AppError::Conflict {
            code: ConflictCode::VisitOpen,
        });
    };
    audit::record(
        tx.backend(),
        Some(actor),
        "check_in",
        "visit",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A visit about to open: who (a client, or an unknown visitor), where, how.
#[derive(Debug, Clone)]
pub struct Opening {
    pub client_id: Option<i64>,
    pub branch_id: i64,
    pub started_by: VisitStart,
    pub entered_at: i64,
}

/// What [`open`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// A new visit; the client's counts include it.
    New(i64),
    /// The client already had this visit open (a client is in one place at a time).
    AlreadyOpen(i64),
}

impl Opened {
    pub fn id(self) -> i64 {
        match self {
            Opened::New(id) | Opened::AlreadyOpen(id) => id,
        }
    }
}

/// The one way a visit opens — from the card, the kiosk and the cameras —
/// inside the caller's write transaction. A client's first visit is marked
/// and their counts (visits, first and last visit) follow.
pub async fn open(
    mut conn: crate::infra::db::Conn<'_>,
    opening: &Opening,
    t: i64,
) -> Result<Opened, AppError> {
    let mut first_visit = false;
    if let Some(client_id) = opening.client_id {
        let open: Option<i64> = crate::db_run!(conn, |c| {
            sqlx::query_scalar(
            "SELECT id FROM visits WHERE client_id = $1 AND left_at IS NULL ORDER BY entered_at DESC LIMIT 1",
        )
        .bind(client_id)
        .fetch_optional(c).await
        })?;
        if let Some(id) = open {
            return Ok(Opened::AlreadyOpen(id));
        }
        first_visit = visit_count(conn.backend(), client_id).await? == 0;
    }
    let id: i64 = crate::db_run!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO visits (visit_token, client_id, branch_id, entered_at, started_by, is_first_visit, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(opening.client_id)
    .bind(opening.branch_id)
    .bind(opening.entered_at)
    .bind(opening.started_by)
    .bind(first_visit)
    .bind(t)
    .fetch_one(c).await
    })?;
    if let Some(client_id) = opening.client_id {
        count_visit(conn, client_id, opening.entered_at).await?;
    }
    Ok(Opened::New(id))
}

/// An unknown visitor's open visit becomes `client_id`'s (they registered
/// at the kiosk): counted as theirs as if it had opened for them.
pub async fn take_over(
    mut conn: crate::infra::db::Conn<'_>,
    visit_id: i64,
    client_id: i64,
) -> Result<(), AppError> {
    let first_visit = visit_count(conn.backend(), client_id).await? == 0;
    let entered_at: i64 = crate::db_run!(conn, |c| sqlx::query_scalar(
        "UPDATE visits SET client_id = $1, is_first_visit = $2 WHERE id = $3 AND client_id IS NULL RETURNING entered_at",
    )
    .bind(client_id)
    .bind(first_visit)
    .bind(visit_id)
    .fetch_optional(c).await)?
    .ok_or(AppError::NotFound)?;
    count_visit(conn, client_id, entered_at).await
}

async fn visit_count(
    mut conn: crate::infra::db::Conn<'_>,
    client_id: i64,
) -> Result<i64, AppError> {
    crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT visit_count FROM clients WHERE id = $1"
    )
    .bind(client_id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)
}

/// Counts a new visit on the client's record (visit count, first and last visit).
async fn count_visit(
    mut conn: crate::infra::db::Conn<'_>,
    client_id: i64,
    t: i64,
) -> Result<(), AppError> {
    crate::db_run!(conn, |c| sqlx::query(
        "UPDATE clients SET visit_count = visit_count + 1, last_visit_at = $1, \
         first_visit_at = COALESCE(first_visit_at, $2), updated_at = $3 WHERE id = $4",
    )
    .bind(t)
    .bind(t)
    .bind(t)
    .bind(client_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The branch must exist; a form or API body naming another is refused.
pub(crate) async fn ensure_branch(
    mut conn: crate::infra::db::Conn<'_>,
    branch_id: i64,
) -> Result<(), AppError> {
    let found: Option<i64> = crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT id FROM branches WHERE id = $1"
    )
    .bind(branch_id)
    .fetch_optional(c)
    .await)?;
    found
        .map(|_| ())
        .ok_or_else(|| AppError::invalid("branch", InvalidCode::UnknownValue))
}

/// The branch and client of an open visit, or why it cannot take changes.
async fn open_visit(
    mut conn: crate::infra::db::Conn<'_>,
    visit_id: i64,
) -> Result<(i64, Option<i64>), AppError> {
    let visit: Option<(i64, Option<i64>, Option<i64>)> = crate::db_run!(conn, |c| sqlx::query_as(
        "SELECT branch_id, client_id, left_at FROM visits WHERE id = $1"
    )
    .bind(visit_id)
    .fetch_optional(c)
    .await)?;
    let (branch, client, left) = visit.ok_or(AppError::NotFound)?;
    if left.is_some() {
        return Err(AppError::Conflict {
            code: ConflictCode::VisitClosed,
        });
    }
    Ok((branch, client))
}

/// The branch a visit belongs to (for role checks).
pub async fn branch_of(db: &Db, visit_id: i64) -> Result<i64, AppError> {
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT branch_id FROM visits WHERE id = $1"
    )
    .bind(visit_id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)
}

pub async fn add_service(
    db: &Db,
    actor: i64,
    visit_id: i64,
    kind: &str,
    note: &str,
) -> Result<(i64, i64), AppError> {
    let kind = ServiceKind::parse(kind)
        .ok_or_else(|| AppError::invalid("kind", InvalidCode::UnknownValue))?;
    let note = note.trim();
    if note.chars().count() > NOTE_MAX {
        return Err(AppError::invalid("note", InvalidCode::TooLong));
    }
    let mut tx = db.begin_write().await?;
    let (branch_id, client_id) = open_visit(tx.backend(), visit_id).await?;
    let id: i64 = crate::db_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO service_requests (visit_id, client_id, branch_id, kind, staff_id, requested_at, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(visit_id)
    .bind(client_id)
    .bind(branch_id)
    .bind(kind)
    .bind(actor)
    .bind(now())
    .bind((!note.is_empty()).then_some(note))
    .fetch_one(c).await
    })?;
    audit::record(
        tx.backend(),
        Some(actor),
        "add_service",
        "visit",
        Some(visit_id),
        Some(kind.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok((id, branch_id))
}

/// Closes an open visit now (staff or the exit camera); returns its branch.
pub async fn close(
    db: &Db,
    actor: i64,
    visit_id: i64,
    ended_by: VisitEnd,
) -> Result<i64, AppError> {
    let mut tx = db.begin_write().await?;
    let branch_id = close_in(tx.backend(), Some(actor), visit_id, ended_by, now()).await?;
    tx.commit().await?;
    Ok(branch_id)
}

/// Closes an open visit at `at` inside a transaction and, for a known client
/// seen out (not the automatic close at closing time), tells reception how
/// long they stayed.
pub(crate) async fn close_in(
    mut conn: crate::infra::db::Conn<'_>,
    actor: Option<i64>,
    visit_id: i64,
    ended_by: VisitEnd,
    at: i64,
) -> Result<i64, AppError> {
    let (branch_id, client_id) = open_visit(conn.backend(), visit_id).await?;
    let entered_at: i64 = crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT entered_at FROM visits WHERE id = $1"
    )
    .bind(visit_id)
    .fetch_one(c)
    .await)?;
    // A clock a little behind never makes a negative stay.
    let left_at = at.max(entered_at);
    crate::db_run!(conn, |c| sqlx::query(
        "UPDATE visits SET left_at = $1, ended_by = $2 WHERE id = $3"
    )
    .bind(left_at)
    .bind(ended_by)
    .bind(visit_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        conn.backend(),
        actor,
        "close",
        "visit",
        Some(visit_id),
        Some(ended_by.as_str()),
    )
    .await?;
    if client_id.is_some() && ended_by != VisitEnd::AutoClose {
        let notice = crate::notify::ssr::outbox::Notice {
            kind: NotifyKind::ClientLeft,
            branch_id: Some(branch_id),
            client_id,
            visit_id: Some(visit_id),
            payload: serde_json::json!({ "stayed_secs": left_at - entered_at, "ended_by": ended_by }),
        };
        crate::notify::ssr::outbox::enqueue(conn, notice, now()).await?;
    }
    Ok(branch_id)
}

/// The client of a visit, if known.
pub async fn client_of(db: &Db, visit_id: i64) -> Result<Option<i64>, AppError> {
    Ok(crate::db_run!(db, |c| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT client_id FROM visits WHERE id = $1"
    )
    .bind(visit_id)
    .fetch_optional(c)
    .await)?
    .flatten())
}
