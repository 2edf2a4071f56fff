//! API tokens for integrations: created by admins, stored hashed, revoked at
//! once, and the lookup that turns a bearer token into its owner.

use crate::error::{AppError, limits, required_text};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::now;
use serde::{Deserialize, Serialize};

/// An API token as the settings page lists it (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub name: String,
    pub owner: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub offset_minutes: i32,
    pub read_only: bool,
}

pub async fn list_tokens(db: &Db) -> Result<Vec<ApiTokenRow>, AppError> {
    Ok(crate::db_run!(db, |c| {
        sqlx::query_as(
        "SELECT t.id, t.name, s.login AS owner, t.created_at, t.last_used_at, t.revoked_at, \
                COALESCE(b.utc_offset_minutes, \
                         (SELECT utc_offset_minutes FROM branches ORDER BY id LIMIT 1), $1) AS offset_minutes, \
                t.read_only \
         FROM api_tokens t JOIN staff s ON s.id = t.staff_id LEFT JOIN branches b ON b.id = s.branch_id \
         ORDER BY t.revoked_at IS NOT NULL, t.id DESC",
    )
    .bind(crate::infra::time::DEFAULT_OFFSET_MINUTES)
    .fetch_all(c).await
    })?)
}

/// Revokes every token acting as `owner`: a token must not outlive its
/// owner's deactivation or a password reset (which may mean a leak).
pub async fn revoke_all_of(
    mut conn: crate::infra::db::Conn<'_>,
    owner: i64,
    t: i64,
) -> Result<u64, AppError> {
    Ok(crate::db_run!(conn, |c| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
    )
    .bind(t)
    .bind(owner)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?)
}

/// Creates a token acting as `owner`; returns the secret, shown once.
pub async fn create_token(
    db: &Db,
    owner: i64,
    name: &str,
    read_only: bool,
) -> Result<String, AppError> {
    let name = required_text("name", name, limits::NAME_MAX)?;
    let secret = format!("aa_{}", crate::infra::tokens::new_secret());
    let mut tx = db.begin_write().await?;
    let id: i64 = crate::db_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO api_tokens (name, token_hash, staff_id, created_at, read_only) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&name)
    .bind(crate::infra::tokens::sha256_hex(secret.as_bytes()))
    .bind(owner)
    .bind(now())
    .bind(read_only)
    .fetch_one(c).await
    })?;
    audit::record(
        tx.backend(),
        Some(owner),
        "create",
        "api_token",
        Some(id),
        Some(&name),
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

pub async fn revoke_token(db: &Db, actor: i64, id: i64) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let updated = crate::db_run!(tx, |c| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::revoked(tx.backend(), updated, actor, "api_token", id).await?;
    tx.commit().await?;
    Ok(())
}

/// A token's answer, as read at one write generation.
struct TokenEntry {
    version: u64,
    found: Option<(i64, TokenOwner)>,
    use_noted_at: Option<i64>,
}

/// Token answers by (database, token hash): API clients call many times a
/// second, and any write (a revocation, a deactivation) makes entries stale.
#[derive(Default)]
struct Tokens(std::sync::Mutex<std::collections::HashMap<String, TokenEntry>>);

/// The active staff member a bearer token acts as, if the token is valid.
/// Whom a token acts as, and whether it may only read.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub user: crate::auth::ssr::StaffUser,
    pub read_only: bool,
}

pub async fn user_for_token(db: &Db, secret: &str) -> Result<Option<TokenOwner>, AppError> {
    if !secret.starts_with("aa_") || secret.len() != 67 {
        return Ok(None);
    }
    let hash = crate::infra::tokens::sha256_hex(secret.as_bytes());
    let version = db.version();
    let key = hash;
    let cache = db.cache::<Tokens>();
    let t = now();
    let cached = {
        let tokens = cache.0.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .get(&key)
            .filter(|e| e.version == version)
            .map(|e| (e.found.clone(), e.use_noted_at))
    };
    let (found, use_noted_at) = match cached {
        Some(hit) => hit,
        None => {
            let row: Option<(i64, Option<i64>, bool)> = crate::db_run!(db, |c| {
                sqlx::query_as(
                "SELECT t.id, t.last_used_at, t.read_only FROM api_tokens t JOIN staff s ON s.id = t.staff_id \
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND s.active = TRUE",
            )
            .bind(&key)
            .fetch_optional(c).await
            })?;
            match row {
                None => (None, None),
                Some((token_id, last_used, read_only)) => {
                    let user: Option<crate::auth::ssr::StaffUser> = crate::db_run!(db, |c| {
                        sqlx::query_as(
                        "SELECT s.id, s.login, s.full_name, s.role, s.branch_id, s.language, s.password_hash \
                         FROM staff s JOIN api_tokens t ON t.staff_id = s.id WHERE t.id = $1",
                    )
                    .bind(token_id)
                    .fetch_optional(c).await
                    })?;
                    let owner = user.map(|user| TokenOwner { user, read_only });
                    (owner.map(|o| (token_id, o)), last_used)
                }
            }
        }
    };
    let mut use_noted_at = use_noted_at;
    // Note the use at most once a minute: a write per request would cost more than the request.
    if let Some((token_id, _)) = &found
        && use_noted_at.is_none_or(|l| t - l > 60)
    {
        crate::db_run!(db, |c| sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
        )
        .bind(t)
        .bind(token_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        use_noted_at = Some(t);
    }
    let mut tokens = cache.0.lock().unwrap_or_else(|p| p.into_inner());
    if tokens.len() > 1_000 {
        tokens.clear();
    }
    let user = found.as_ref().map(|(_, u)| u.clone());
    tokens.insert(
        key,
        TokenEntry {
            version,
            found,
            use_noted_at,
        },
    );
    Ok(user)
}
