//! Staff sign-in for axum-login: who a session belongs to, re-read from the
//! database on every request so a deactivated account stops at once.

use crate::auth::Role;
use crate::error::AppError;
use crate::infra::Db;
use crate::infra::password;
use axum_login::{AuthUser, AuthnBackend, UserId};
use sqlx::FromRow;

#[derive(Clone, FromRow)]
pub struct StaffUser {
    pub id: i64,
    pub login: String,
    pub full_name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub branch_id: Option<i64>,
    pub language: String,
    password_hash: String,
}

impl std::fmt::Debug for StaffUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffUser")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl StaffUser {
    /// A user that exists only in unit tests of the access rules.
    #[cfg(test)]
    pub fn for_tests(id: i64, role: Role, branch_id: Option<i64>) -> StaffUser {
        StaffUser {
            id,
            login: format!("user{id}"),
            full_name: String::new(),
            role,
            branch_id,
            language: "uz".into(),
            password_hash: String::new(),
        }
    }
}

impl AuthUser for StaffUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    /// Sessions die when the password changes.
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

#[derive(Clone)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

/// Staff rows by id, each with the write generation it was read at.
type UserCache = std::collections::HashMap<i64, (u64, Option<StaffUser>)>;

/// Cloned for every request by the sign-in layer: one pointer.
#[derive(Clone, Debug)]
pub struct StaffBackend(std::sync::Arc<Staff>);

#[derive(Debug)]
struct Staff {
    db: Db,
    checks: password::CheckGate,
    /// Every request needs its user; reading the row once per database write
    /// instead of once per request keeps the API fast, and any write (a
    /// deactivation, a password change) still takes effect on the next request.
    users: std::sync::Mutex<UserCache>,
}

impl StaffBackend {
    pub fn new(db: Db, checks: password::CheckGate) -> Self {
        StaffBackend(std::sync::Arc::new(Staff {
            db,
            checks,
            users: Default::default(),
        }))
    }
}

const SELECT_ACTIVE: &str = "SELECT id, login, full_name, role, branch_id, language, password_hash \
     FROM staff WHERE active = TRUE";

impl AuthnBackend for StaffBackend {
    type User = StaffUser;
    type Credentials = Credentials;
    type Error = AppError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<StaffUser>, AppError> {
        let login = creds.login.trim().to_lowercase();
        let user: Option<StaffUser> = crate::db_run!(self.0.db, |c| sqlx::query_as(&format!(
            "{SELECT_ACTIVE} AND login = $1"
        ))
        .bind(&login)
        .fetch_optional(c)
        .await)?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        if self.0.checks.verify(creds.password, stored).await? {
            Ok(user)
        } else {
            Ok(None)
        }
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<StaffUser>, AppError> {
        // The generation is read before the row, so a write that lands in
        // between leaves an entry that is already stale.
        let version = self.0.db.version();
        if let Some((at, user)) = self
            .0
            .users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            && *at == version
        {
            return Ok(user.clone());
        }
        let user: Option<StaffUser> = crate::db_run!(self.0.db, |c| sqlx::query_as(&format!(
            "{SELECT_ACTIVE} AND id = $1"
        ))
        .bind(id)
        .fetch_optional(c)
        .await)?;
        let mut users = self.0.users.lock().unwrap_or_else(|p| p.into_inner());
        if users.len() > 1_000 {
            users.clear();
        }
        users.insert(*id, (version, user.clone()));
        Ok(user)
    }
}

pub type AuthSession = axum_login::AuthSession<StaffBackend>;
