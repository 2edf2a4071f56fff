//! The API's query-string extractor: a bad query string is a 400 in the
//! API's JSON error shape, like every other refusal.

use app::error::{AppError, InvalidCode};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `Query<T>` whose rejection is `AppError` (field `query`, bad format).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|_| AppError::invalid("query", InvalidCode::BadFormat))
    }
}
