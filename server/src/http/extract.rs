//! The API's query-string extractor: a bad query string is a 400 in the
//! API's JSON error shape, like every other refusal. A parameter given with
//! no value (`?to=`) is refused too: the OpenAPI document types every
//! parameter, and an empty string is none of those types (leave it out).

use app::error::{AppError, InvalidCode};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Parameters that are free text, where an empty string is a value.
const FREE_TEXT: [&str; 1] = ["q"];

/// `Query<T>` whose rejection is `AppError` (field `query`, bad format).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if let Some(query) = parts.uri.query() {
            let empty = url::form_urlencoded::parse(query.as_bytes()).find(|(name, value)| {
                value.trim().is_empty() && !FREE_TEXT.contains(&name.as_ref())
            });
            if let Some((name, _)) = empty {
                let field = if name.len() <= 40
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    name.into_owned()
                } else {
                    "query".to_string()
                };
                return Err(AppError::invalid(&field, InvalidCode::Required));
            }
        }
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|_| AppError::invalid("query", InvalidCode::BadFormat))
    }
}

/// `Path<T>` whose rejection is `AppError` (field `id`, bad format): an id
/// that is not a whole number, or too large for one, is a 400 in JSON.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|_| AppError::invalid("id", InvalidCode::BadFormat))
    }
}
