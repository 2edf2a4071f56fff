//! `GET /api/potential_buyers_ml` and `POST /api/retrain_model`.

use app::auth::Role;
use app::error::{AppError, InvalidCode};
use app::infra::AppState;
use app::potential::{LeadPage, LeadQuery, ModelReport};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::guard::Caller;

#[derive(Deserialize, Default)]
pub struct Lang {
    #[serde(default)]
    lang: String,
}

fn manager(user: &app::auth::ssr::StaffUser) -> Result<(), AppError> {
    if matches!(user.role, Role::Admin | Role::Manager) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Clients ranked by purchase probability, each with its reasons.
pub async fn potential_buyers(
    State(state): State<AppState>,
    Caller(user): Caller,
    params: Result<Query<LeadQuery>, QueryRejection>,
    lang: Result<Query<Lang>, QueryRejection>,
) -> Result<Json<LeadPage>, AppError> {
    manager(&user)?;
    let bad = |_| AppError::invalid("query", InvalidCode::BadFormat);
    let Query(params) = params.map_err(bad)?;
    let Query(lang) = lang.map_err(bad)?;
    let locale = match lang.lang.as_str() {
        "" => app::i18n::Locale::en,
        l => l
            .parse()
            .map_err(|_| AppError::invalid("lang", InvalidCode::UnknownValue))?,
    };
    let filter = app::potential::ssr::validate(&params, app::infra::now())?;
    Ok(Json(
        app::potential::ssr::leads(&state.db, &filter, locale).await?,
    ))
}

/// Trains a new model now; 409 with the reason when it cannot.
pub async fn retrain(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<ModelReport>, AppError> {
    manager(&user)?;
    let stored = app::scoring::ssr::train_and_activate(&state.db, Some(user.id)).await?;
    Ok(Json(app::potential::report(&stored)))
}
