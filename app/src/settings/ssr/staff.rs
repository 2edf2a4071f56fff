//! SQL and rules for staff accounts: the first admin, and the settings
//! page's create / edit / reset / deactivate.

use crate::auth::Role;
use crate::error::{AppError, ConflictCode, InvalidCode, limits, required_text};
use crate::infra::Db;
use crate::infra::audit;
use crate::infra::db::OnUnique;
use crate::infra::now;
use crate::infra::password;
use serde::{Deserialize, Serialize};

/// What `ensure_admin` did, so the caller can tell the operator.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    Exists,
    Created { password: String, generated: bool },
}

/// Creates the `admin` account on a database that has none.
pub async fn ensure_admin(db: &Db, configured: Option<String>) -> Result<AdminBootstrap, AppError> {
    let exists: Option<i64> = crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT id FROM staff WHERE login = 'admin'"
    )
    .fetch_optional(c)
    .await)?;
    if exists.is_some() {
        return Ok(AdminBootstrap::Exists);
    }
    let (password, generated) = match configured.filter(|p| !p.is_empty()) {
        Some(p) => {
            validate_password(&p)?;
            (p, false)
        }
        None => (password::generate(), true),
    };
    let hash = password::hash(password.clone()).await?;
    let t = now();
    crate::db_run!(db, |c| {
        sqlx::query(
        "INSERT INTO staff (login, full_name, password_hash, role, language, created_at, updated_at) \
         VALUES ('admin', 'Administrator', $1, 'admin', 'uz', $2, $3)",
    )
    .bind(hash)
    .bind(t)
    .bind(t)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    db.note_write();
    Ok(AdminBootstrap::Created {
        password,
        generated,
    })
}

pub fn validate_password(password: &str) -> Result<(), AppError> {
    let length = password.chars().count();
    if length < limits::PASSWORD_MIN {
        return Err(AppError::invalid("password", InvalidCode::TooShort));
    }
    if length > limits::PASSWORD_MAX {
        return Err(AppError::invalid("password", InvalidCode::TooLong));
    }
    Ok(())
}

/// A staff account as the settings page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct StaffRow {
    pub id: i64,
    pub login: String,
    pub full_name: String,
    pub role: Role,
    pub branch_id: Option<i64>,
    pub branch_name: Option<String>,
    pub active: bool,
    pub telegram_linked: bool,
}

pub async fn list(db: &Db) -> Result<Vec<StaffRow>, AppError> {
    Ok(crate::db_run!(db, |c| sqlx::query_as(
        "SELECT s.id, s.login, s.full_name, s.role, s.branch_id, b.name AS branch_name, s.active, \
         s.telegram_chat_id IS NOT NULL AS telegram_linked \
         FROM staff s LEFT JOIN branches b ON b.id = s.branch_id ORDER BY s.active DESC, s.login",
    )
    .fetch_all(c)
    .await)?)
}

/// Unlinks a staff member's Telegram chat: the bot stops answering it and
/// sending to it at once.
pub async fn unlink_telegram(db: &Db, actor: Option<i64>, id: i64) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let updated = crate::db_run!(tx, |c| {
        sqlx::query(
        "UPDATE staff SET telegram_chat_id = NULL, telegram_link_code = NULL, telegram_link_expires_at = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(c).await.map(|r| r.rows_affected())
    })?;
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        tx.backend(),
        actor,
        "unlink_telegram",
        "staff",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Validated input for a new or edited account.
pub struct StaffInput {
    pub login: String,
    pub full_name: String,
    pub role: Role,
    pub branch_id: Option<i64>,
}

pub fn validate_login(login: &str) -> Result<String, AppError> {
    let login = required_text("login", &login.to_lowercase(), limits::LOGIN_MAX)?;
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    if login.chars().count() < 3 || !login.chars().all(allowed) {
        return Err(AppError::invalid("login", InvalidCode::BadFormat));
    }
    Ok(login)
}

pub fn parse_input(
    login: &str,
    full_name: &str,
    role: &str,
    branch_id: Option<i64>,
) -> Result<StaffInput, AppError> {
    let login = validate_login(login)?;
    let full_name = required_text("full_name", full_name, limits::NAME_MAX)?;
    let role =
        Role::parse(role).ok_or_else(|| AppError::invalid("role", InvalidCode::UnknownValue))?;
    // Reception works at one branch; managers and admins may be network-wide.
    if role == Role::Reception && branch_id.is_none() {
        return Err(AppError::invalid("branch", InvalidCode::Required));
    }
    Ok(StaffInput {
        login,
        full_name,
        role,
        branch_id,
    })
}

async fn check_branch(
    mut conn: crate::infra::db::Conn<'_>,
    branch_id: Option<i64>,
) -> Result<(), AppError> {
    if let Some(id) = branch_id {
        let found: Option<i64> = crate::db_run!(conn, |c| sqlx::query_scalar(
            "SELECT id FROM branches WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(c)
        .await)?;
        if found.is_none() {
            return Err(AppError::invalid("branch", InvalidCode::UnknownValue));
        }
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    actor: i64,
    input: StaffInput,
    password: String,
) -> Result<i64, AppError> {
    validate_password(&password)?;
    let hash = password::hash(password).await?;
    let mut tx = db.begin_write().await?;
    check_branch(tx.backend(), input.branch_id).await?;
    let t = now();
    let id: i64 = crate::db_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO staff (login, full_name, password_hash, role, branch_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&input.login)
    .bind(&input.full_name)
    .bind(hash)
    .bind(input.role.as_str())
    .bind(input.branch_id)
    .bind(t)
    .bind(t)
    .fetch_one(c).await)
    .on_unique("staff.login", ConflictCode::LoginTaken)?;
    audit::record(
        tx.backend(),
        Some(actor),
        "create",
        "staff",
        Some(id),
        Some(&input.login),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Active admins other than `except`.
async fn other_active_admins(
    mut conn: crate::infra::db::Conn<'_>,
    except: i64,
) -> Result<i64, AppError> {
    Ok(crate::db_run!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM staff WHERE role = 'admin' AND active = TRUE AND id <> $1",
    )
    .bind(except)
    .fetch_one(c)
    .await)?)
}

pub async fn update(db: &Db, actor: i64, id: i64, input: StaffInput) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    check_branch(tx.backend(), input.branch_id).await?;
    let current: Option<(String, bool)> = crate::db_run!(tx, |c| sqlx::query_as(
        "SELECT role, active FROM staff WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let (role, active) = current.ok_or(AppError::NotFound)?;
    if role == "admin"
        && active
        && input.role != Role::Admin
        && other_active_admins(tx.backend(), id).await? == 0
    {
        return Err(AppError::Conflict {
            code: ConflictCode::LastAdmin,
        });
    }
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE staff SET login = $1, full_name = $2, role = $3, branch_id = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(&input.login)
    .bind(&input.full_name)
    .bind(input.role.as_str())
    .bind(input.branch_id)
    .bind(now())
    .bind(id)
    .execute(c).await.map(|r| r.rows_affected()))
    .on_unique("staff.login", ConflictCode::LoginTaken)?;
    audit::record(tx.backend(), Some(actor), "update", "staff", Some(id), None).await?;
    tx.commit().await?;
    Ok(())
}

/// Activates or deactivates an account. A deactivated member's face is
/// forgotten with it: returns that photo, to delete once committed.
pub async fn set_active(
    db: &Db,
    actor: i64,
    id: i64,
    active: bool,
) -> Result<Option<String>, AppError> {
    let mut tx = db.begin_write().await?;
    let role: Option<String> = crate::db_run!(tx, |c| sqlx::query_scalar(
        "SELECT role FROM staff WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let role = role.ok_or(AppError::NotFound)?;
    if !active && role == "admin" && other_active_admins(tx.backend(), id).await? == 0 {
        return Err(AppError::Conflict {
            code: ConflictCode::LastAdmin,
        });
    }
    crate::db_run!(tx, |c| sqlx::query(
        "UPDATE staff SET active = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(active)
    .bind(now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let mut face = None;
    if !active {
        super::api_tokens::revoke_all_of(tx.backend(), id, now()).await?;
        face = crate::camera::ssr::staff::forget_in(tx.backend(), id).await?;
    }
    let action = if active { "activate" } else { "deactivate" };
    audit::record(tx.backend(), Some(actor), action, "staff", Some(id), None).await?;
    tx.commit().await?;
    Ok(face)
}

pub async fn reset_password(
    db: &Db,
    actor: i64,
    id: i64,
    new_password: String,
) -> Result<(), AppError> {
    validate_password(&new_password)?;
    let hash = password::hash(new_password).await?;
    let mut tx = db.begin_write().await?;
    let updated = crate::db_run!(tx, |c| sqlx::query(
        "UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(hash)
    .bind(now())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    super::api_tokens::revoke_all_of(tx.backend(), id, now()).await?;
    audit::record(
        tx.backend(),
        Some(actor),
        "reset_password",
        "staff",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn admin_is_created_once_with_the_configured_password() {
        let (_dir, db) = db().await;
        let first = ensure_admin(&db, Some("s3cret-pass".into())).await.unwrap();
        assert_eq!(
            first,
            AdminBootstrap::Created {
                password: "s3cret-pass".into(),
                generated: false
            }
        );
        assert_eq!(
            ensure_admin(&db, None).await.unwrap(),
            AdminBootstrap::Exists
        );
    }

    #[tokio::test]
    async fn a_too_short_admin_password_is_refused() {
        let (_dir, db) = db().await;
        assert_eq!(
            ensure_admin(&db, Some("short".into())).await,
            Err(AppError::invalid("password", InvalidCode::TooShort))
        );
    }

    #[tokio::test]
    async fn the_last_admin_cannot_be_demoted_or_deactivated() {
        let (_dir, db) = db().await;
        ensure_admin(&db, Some("s3cret-pass".into())).await.unwrap();
        let admin_id: i64 = crate::db_run!(db, |c| sqlx::query_scalar(
            "SELECT id FROM staff WHERE login = 'admin'"
        )
        .fetch_one(c)
        .await)
        .unwrap();
        let demote = parse_input("admin", "Administrator", "manager", None).unwrap();
        assert_eq!(
            update(&db, admin_id, admin_id, demote).await,
            Err(AppError::Conflict {
                code: ConflictCode::LastAdmin
            })
        );
        assert_eq!(
            set_active(&db, admin_id, admin_id, false).await,
            Err(AppError::Conflict {
                code: ConflictCode::LastAdmin
            })
        );
        // With a second admin, the first may step down.
        let second = parse_input("boss", "Second Admin", "admin", None).unwrap();
        create(&db, admin_id, second, "another-pass".into())
            .await
            .unwrap();
        set_active(&db, admin_id, admin_id, false).await.unwrap();
    }

    #[test]
    fn logins_are_validated() {
        assert_eq!(validate_login(" Aziz.K ").unwrap(), "aziz.k");
        assert!(validate_login("a b").is_err());
        assert!(validate_login("ab").is_err());
        assert!(validate_login(&"a".repeat(41)).is_err());
        assert!(parse_input("desk1", "Desk", "reception", None).is_err());
        assert!(parse_input("desk1", "Desk", "janitor", Some(1)).is_err());
    }
}
