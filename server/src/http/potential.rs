//! `GET /api/potential_buyers_ml` and `POST /api/retrain_model`.

use app::auth::Role;
use app::error::{AppError, InvalidCode};
use app::infra::AppState;
use app::potential::{LeadPage, LeadQuery, ModelReport};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::ApiQuery;
use crate::guard::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/potential_buyers_ml", get(potential_buyers))
        .route("/retrain_model", post(retrain))
}

#[derive(Deserialize, Default)]
struct Lang {
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

/// Clients ranked by purchase probability, each with its reasons. The
/// query is refused only after the role check, so reception gets 403.
async fn potential_buyers(
    State(state): State<AppState>,
    Caller(user): Caller,
    params: Result<ApiQuery<LeadQuery>, AppError>,
    lang: Result<ApiQuery<Lang>, AppError>,
) -> Result<Json<LeadPage>, AppError> {
    manager(&user)?;
    let (ApiQuery(params), ApiQuery(lang)) = (params?, lang?);
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
async fn retrain(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<ModelReport>, AppError> {
    manager(&user)?;
    let stored = app::scoring::ssr::train_and_activate(&state.db, Some(user.id)).await?;
    Ok(Json(app::potential::report(&stored)))
}
