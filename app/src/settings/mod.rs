//! Settings for administrators: branches and staff accounts.

#[cfg(feature = "ssr")]
pub mod ssr;

pub mod devices;
mod page;

pub use devices::DeviceRow;

pub use page::SettingsPage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::InvalidCode;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Branch {
    pub id: i64,
    pub name: String,
    pub city: String,
    pub time_zone: String,
    pub opens_at: String,
    pub closes_at: String,
    /// Face recognition at this branch's cameras.
    pub biometrics_enabled: bool,
}

/// A branch as typed into the form; `id` is `None` for a new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchForm {
    pub id: Option<i64>,
    pub name: String,
    pub city: String,
    pub time_zone: String,
    pub opens_at: String,
    pub closes_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: i64,
    pub login: String,
    pub full_name: String,
    pub role: crate::auth::Role,
    pub branch_id: Option<i64>,
    pub branch_name: Option<String>,
    pub active: bool,
    pub telegram_linked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub owner: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
    /// Minutes east of UTC at the owner's branch (the network's for an
    /// owner without one).
    pub offset_minutes: i32,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsData {
    pub branches: Vec<Branch>,
    pub staff: Vec<StaffMember>,
    pub time_zones: Vec<String>,
    pub tokens: Vec<ApiToken>,
    pub bot: crate::notify::BotState,
    pub vision: crate::camera::VisionState,
    /// With built-in HTTPS on its own authority: where tablets get it.
    pub authority: Option<AuthorityLink>,
}

/// The local certificate authority's download link, and as a QR code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorityLink {
    pub link: String,
    pub qr_svg: String,
}

/// An optional id as a form sends it: empty means none.
#[cfg(feature = "ssr")]
fn parse_optional_id(field: &str, value: &str) -> Result<Option<i64>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| AppError::invalid(field, InvalidCode::BadFormat))
}

#[server(prefix = "/rpc")]
pub async fn load_settings() -> Result<SettingsData, AppError> {
    let (_, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let branches = crate::settings::ssr::branches::list(&state.db).await?;
    let staff = crate::settings::ssr::staff::list(&state.db)
        .await?
        .into_iter()
        .map(|s| StaffMember {
            id: s.id,
            login: s.login,
            full_name: s.full_name,
            role: s.role,
            branch_id: s.branch_id,
            branch_name: s.branch_name,
            active: s.active,
            telegram_linked: s.telegram_linked,
        })
        .collect();
    let time_zones = crate::infra::time::ZONES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    let tokens = crate::settings::ssr::api_tokens::list_tokens(&state.db)
        .await?
        .into_iter()
        .map(|t| ApiToken {
            id: t.id,
            name: t.name,
            owner: t.owner,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked: t.revoked_at.is_some(),
            offset_minutes: t.offset_minutes,
            read_only: t.read_only,
        })
        .collect();
    let authority = if state.local_ca {
        let origin = crate::infra::site::origin(&state).await?;
        let link = crate::infra::site::authority_link(&origin, state.plain_port);
        let qr_svg = crate::infra::site::qr_svg(&link, 160)?;
        Some(AuthorityLink { link, qr_svg })
    } else {
        None
    };
    Ok(SettingsData {
        branches,
        staff,
        time_zones,
        tokens,
        bot: state.bot.read().unwrap_or_else(|p| p.into_inner()).clone(),
        vision: state
            .vision
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
        authority,
    })
}

#[server(prefix = "/rpc")]
pub async fn save_branch(
    id: String,
    name: String,
    city: String,
    time_zone: String,
    opens_at: String,
    closes_at: String,
) -> Result<i64, AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let form = BranchForm {
        id: parse_optional_id("id", &id)?,
        name,
        city,
        time_zone,
        opens_at,
        closes_at,
    };
    crate::settings::ssr::branches::save(&state.db, admin.id, &form).await
}

// A fixed endpoint: scripts (the camera passage test) create staff too.
#[server(prefix = "/rpc", endpoint = "create_staff")]
pub async fn create_staff(
    login: String,
    full_name: String,
    role: String,
    branch_id: String,
    password: String,
) -> Result<i64, AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let branch_id = parse_optional_id("branch", &branch_id)?;
    let input = crate::settings::ssr::staff::parse_input(&login, &full_name, &role, branch_id)?;
    crate::settings::ssr::staff::create(&state.db, admin.id, input, password).await
}

#[server(prefix = "/rpc")]
pub async fn update_staff(
    id: i64,
    login: String,
    full_name: String,
    role: String,
    branch_id: String,
) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let branch_id = parse_optional_id("branch", &branch_id)?;
    let input = crate::settings::ssr::staff::parse_input(&login, &full_name, &role, branch_id)?;
    crate::settings::ssr::staff::update(&state.db, admin.id, id, input).await
}

#[server(prefix = "/rpc")]
pub async fn set_staff_active(id: i64, active: bool) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let face = crate::settings::ssr::staff::set_active(&state.db, admin.id, id, active).await?;
    if let Some(photo) = face {
        crate::infra::files::remove(&state.data_dir, &photo);
    }
    Ok(())
}

/// An admin unlinks a staff member's Telegram chat (a lost phone, a leaver).
#[server(prefix = "/rpc")]
pub async fn unlink_staff_telegram(id: i64) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::settings::ssr::staff::unlink_telegram(&state.db, Some(admin.id), id).await
}

/// Switches face recognition on or off at a branch's cameras.
#[server(prefix = "/rpc")]
pub async fn set_branch_biometrics(id: i64, enabled: bool) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::settings::ssr::branches::set_biometrics(&state.db, admin.id, id, enabled).await
}

#[server(prefix = "/rpc")]
pub async fn reset_staff_password(id: i64, password: String) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::settings::ssr::staff::reset_password(&state.db, admin.id, id, password).await
}

/// Creates an API token acting as the admin; the secret is shown once.
#[server(prefix = "/rpc")]
pub async fn create_api_token(
    name: String,
    /// A checkbox: present ("on") for a token that may only read.
    #[server(default)]
    read_only: Option<String>,
) -> Result<String, AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let read_only = match read_only.as_deref() {
        None | Some("") | Some("false") => false,
        Some("on") | Some("true") => true,
        Some(_) => {
            return Err(AppError::invalid(
                "read_only",
                crate::error::InvalidCode::BadFormat,
            ));
        }
    };
    crate::settings::ssr::api_tokens::create_token(&state.db, admin.id, &name, read_only).await
}

#[server(prefix = "/rpc")]
pub async fn revoke_api_token(id: i64) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::settings::ssr::api_tokens::revoke_token(&state.db, admin.id, id).await
}
