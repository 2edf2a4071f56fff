//! The access rule book: who may call what, and which branch's data they see.
//!
//! Every server function, REST handler, the live-update stream and the bot
//! admit their caller here, so the rules are written once:
//! - [`Need`] says what a caller must be (any staff, a manager, an admin);
//! - [`Scope`] says what they see: managers and admins the whole network,
//!   reception its own branch. A reception account without a branch is
//!   refused everywhere, the same way (403).
//! - devices (kiosk tablets, cameras) are admitted by their own token, never
//!   by a staff session.

use crate::auth::Role;
use crate::error::AppError;
use crate::infra::AppState;
use crate::kiosk::KIOSK_COOKIE;
use crate::settings::ssr::devices::{self, Device};

use super::{AuthSession, StaffUser};

/// What a staff caller must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any active staff member (reception included).
    Staff,
    /// A manager or an admin.
    Manager,
    /// An admin.
    Admin,
}

/// Which branches' data a caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Network,
    Branch(i64),
}

impl Scope {
    /// The one branch this scope is limited to, `None` for the whole network.
    pub fn branch(self) -> Option<i64> {
        match self {
            Scope::Network => None,
            Scope::Branch(id) => Some(id),
        }
    }

    pub fn allows(self, branch_id: i64) -> bool {
        match self {
            Scope::Network => true,
            Scope::Branch(own) => own == branch_id,
        }
    }

    /// `Forbidden` unless this scope covers `branch_id`.
    pub fn check(self, branch_id: i64) -> Result<(), AppError> {
        if self.allows(branch_id) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The branch an action happens at: the asked one for the network, the
    /// caller's own otherwise (reception acts at its own branch).
    pub fn acting_branch(self, asked: i64) -> i64 {
        self.branch().unwrap_or(asked)
    }
}

/// A staff member admitted for one [`Need`], with what they may see.
#[derive(Clone, Debug)]
pub struct Staff {
    pub user: StaffUser,
    pub scope: Scope,
}

impl std::ops::Deref for Staff {
    type Target = StaffUser;

    fn deref(&self) -> &StaffUser {
        &self.user
    }
}

impl Staff {
    pub fn is_manager(&self) -> bool {
        self.user.role.is_manager()
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

/// The rule: the role must meet the need, and reception must have a branch.
pub fn admit(user: StaffUser, need: Need) -> Result<Staff, AppError> {
    let role_meets_need = match need {
        Need::Staff => true,
        Need::Manager => user.role.is_manager(),
        Need::Admin => user.role == Role::Admin,
    };
    if !role_meets_need {
        return Err(AppError::Forbidden);
    }
    let scope = if user.role.is_manager() {
        Scope::Network
    } else {
        Scope::Branch(user.branch_id.ok_or(AppError::Forbidden)?)
    };
    Ok(Staff { user, scope })
}

/// The state handed to server functions through Leptos context.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

/// The signed-in staff member of the current server-function request, or
/// `Unauthorized`. Not a permission: callers go through [`require`].
async fn signed_in_user() -> Result<StaffUser, AppError> {
    let auth = leptos_axum::extract::<AuthSession>()
        .await
        .map_err(AppError::internal)?;
    auth.user.ok_or(AppError::Unauthorized)
}

/// Admits the caller of a server function for `need`, with the app state.
pub async fn require(need: Need) -> Result<(Staff, AppState), AppError> {
    let user = signed_in_user().await?;
    Ok((admit(user, need)?, app_state()?))
}

/// Admits the paired kiosk tablet making this server-function request.
pub async fn require_kiosk() -> Result<(Device, AppState), AppError> {
    let state = app_state()?;
    let headers = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .map_err(AppError::internal)?;
    let token = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == KIOSK_COOKIE)
        .map(|(_, value)| value.to_string())
        .ok_or(AppError::Unauthorized)?;
    let device = devices::for_token(&state.db, &token, "kiosk")
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok((device, state))
}

/// Admits a camera by the device token of its `Authorization: Bearer …` header.
pub async fn admit_camera(
    state: &AppState,
    authorization: Option<&str>,
) -> Result<Device, AppError> {
    let token = authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(AppError::Unauthorized)?;
    devices::for_token(&state.db, token, "camera")
        .await?
        .ok_or(AppError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, branch_id: Option<i64>) -> StaffUser {
        StaffUser::for_tests(1, role, branch_id)
    }

    #[test]
    fn managers_see_the_network_and_reception_its_branch() {
        let manager = admit(user(Role::Manager, None), Need::Staff).unwrap();
        assert_eq!(manager.scope, Scope::Network);
        let reception = admit(user(Role::Reception, Some(2)), Need::Staff).unwrap();
        assert_eq!(reception.scope, Scope::Branch(2));
        assert!(reception.scope.check(2).is_ok());
        assert_eq!(reception.scope.check(3), Err(AppError::Forbidden));
        assert_eq!(reception.scope.acting_branch(3), 2);
        assert_eq!(manager.scope.acting_branch(3), 3);
    }

    #[test]
    fn reception_without_a_branch_is_refused_everywhere() {
        for need in [Need::Staff, Need::Manager, Need::Admin] {
            assert_eq!(
                admit(user(Role::Reception, None), need).err(),
                Some(AppError::Forbidden)
            );
        }
    }

    #[test]
    fn roles_meet_needs() {
        assert!(admit(user(Role::Reception, Some(1)), Need::Manager).is_err());
        assert!(admit(user(Role::Manager, Some(1)), Need::Manager).is_ok());
        assert!(admit(user(Role::Manager, Some(1)), Need::Admin).is_err());
        assert!(admit(user(Role::Admin, None), Need::Admin).is_ok());
    }
}
