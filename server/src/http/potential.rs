//! `GET /api/potential_buyers_ml` and `POST /api/retrain_model`.

use app::error::{AppError, InvalidCode};
use app::infra::AppState;
use app::potential::{LeadPage, LeadQuery, ModelReport};
use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;

use super::ApiQuery;
use super::routes::{Access, Admitted, Routes};
use app::auth::ssr::Need;
use axum::http::Method;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Method::GET,
            "/potential_buyers_ml",
            Access::Staff(Need::Manager),
            get(potential_buyers),
        )
        .route(
            Method::POST,
            "/retrain_model",
            Access::Staff(Need::Manager),
            post(retrain),
        )
}

#[derive(Deserialize, Default)]
struct Lang {
    /// Absent means English; present, it must be one of the languages
    /// (`lang=` alone is refused, as the document says).
    lang: Option<String>,
}

/// Clients ranked by purchase probability, each with its reasons.
async fn potential_buyers(
    State(state): State<AppState>,
    Admitted(_): Admitted,
    params: Result<ApiQuery<LeadQuery>, AppError>,
    lang: Result<ApiQuery<Lang>, AppError>,
) -> Result<Json<LeadPage>, AppError> {
    let (ApiQuery(params), ApiQuery(lang)) = (params?, lang?);
    let locale = match lang.lang.as_deref() {
        None => app::i18n::Locale::en,
        Some(l) => l
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
    Admitted(user): Admitted,
) -> Result<Json<ModelReport>, AppError> {
    let stored = app::scoring::ssr::train_and_activate(&state.db, Some(user.id)).await?;
    Ok(Json(app::potential::report(&stored)))
}
