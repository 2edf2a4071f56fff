//! The one error type of the app crate. It crosses the server-function
//! boundary as JSON, so the browser can show a message in the user's language.

use serde::{Deserialize, Serialize};

/// What went wrong, in terms the UI can translate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum AppError {
    #[error("sign-in required")]
    Unauthorized,
    #[error("not allowed for your role")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The server is at its limit for this kind of work (e.g. checking
    /// passwords); nothing was done.
    #[error("busy; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// A field failed validation; `code` names the rule, for translation.
    #[error("invalid {field}: {code:?}")]
    Invalid { field: String, code: InvalidCode },
    #[error("conflict: {code:?}")]
    Conflict { code: ConflictCode },
    /// The purchase model could not be trained; the previous one stays.
    #[error("the model was not retrained: {reason}")]
    TrainingRefused { reason: String },
    #[error("internal error")]
    Internal,
    /// Transport failures reported by the server-function machinery.
    #[error("request failed: {message}")]
    Transport { message: String },
}

/// Why a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidCode {
    Required,
    TooLong,
    TooShort,
    BadFormat,
    OutOfRange,
    UnknownValue,
    /// A password that is not the account's (changing one's own password).
    Wrong,
    /// A repeated entry that differs from the first (a new password typed twice).
    Mismatch,
}

/// Why a change conflicts with what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictCode {
    LoginTaken,
    BranchNameTaken,
    LastAdmin,
    BranchInUse,
    PhoneTaken,
    VisitOpen,
    VisitClosed,
    TrainingRunning,
}

impl AppError {
    pub fn invalid(field: &str, code: InvalidCode) -> Self {
        AppError::Invalid {
            field: field.to_string(),
            code,
        }
    }

    /// Seconds the caller should wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyAttempts { retry_after_secs }
            | AppError::Busy { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The HTTP status the REST API answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthorized | AppError::BadCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::TooManyAttempts { .. } => 429,
            AppError::Busy { .. } => 503,
            AppError::Invalid { .. } => 400,
            AppError::Conflict { .. } | AppError::TrainingRefused { .. } => 409,
            AppError::Internal | AppError::Transport { .. } => 500,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr;
        match value {
            // The request's arguments could not be read: the caller's fault (400).
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::invalid("request", InvalidCode::BadFormat)
            }
            // On the server, a body that does not decode is a bad request too
            // (in the browser the same variant means a garbled response).
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(_) => {
                AppError::invalid("request", InvalidCode::BadFormat)
            }
            other => AppError::Transport {
                message: other.to_string(),
            },
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// An unexpected failure: logs the cause here, because the answer the
    /// caller gets says only "internal error". Never pass anything whose
    /// text holds a password or a token.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        // Text PostgreSQL cannot store (a NUL byte) is the sender's mistake, wherever a
        // field's own check let it through (a login looked up, a search word).
        if let sqlx::Error::Database(database) = &error
            && database.code().as_deref() == Some(NOT_IN_REPERTOIRE)
        {
            return AppError::invalid("request", InvalidCode::BadFormat);
        }
        tracing::error!(%error, "database error");
        AppError::Internal
    }
}

/// PostgreSQL's SQLSTATE for a character its encoding cannot hold.
#[cfg(feature = "ssr")]
const NOT_IN_REPERTOIRE: &str = "22021";

/// Sign-in failures: the backend's own error is already an `AppError` (and
/// was logged where it arose); a session-store failure is logged here.
#[cfg(feature = "ssr")]
impl<B> From<axum_login::Error<B>> for AppError
where
    B: axum_login::AuthnBackend<Error = AppError>,
{
    fn from(error: axum_login::Error<B>) -> Self {
        match error {
            axum_login::Error::Backend(error) => error,
            axum_login::Error::Session(error) => AppError::internal(error),
        }
    }
}

/// Text limits shared by forms and the API.
pub mod limits {
    pub const NAME_MAX: usize = 120;
    pub const LOGIN_MAX: usize = 40;
    pub const PASSWORD_MIN: usize = 8;
    pub const PASSWORD_MAX: usize = 200;
    pub const CITY_MAX: usize = 80;
}

/// Trims a one-line `value` and checks it is present, not longer than `max`
/// characters, and free of control characters and text-direction overrides
/// (which make a name display as something else).
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    checked_text(field, value, max, false)
}

/// Like [`required_text`], for text that may span lines (consent texts).
pub fn required_multiline_text(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    checked_text(field, value, max, true)
}

fn checked_text(field: &str, value: &str, max: usize, lines: bool) -> Result<String, AppError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(AppError::invalid(field, InvalidCode::Required));
    }
    if trimmed.chars().count() > max {
        return Err(AppError::invalid(field, InvalidCode::TooLong));
    }
    let unsafe_char = |c: char| {
        (c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t')))
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if trimmed.chars().any(unsafe_char) {
        return Err(AppError::invalid(field, InvalidCode::BadFormat));
    }
    Ok(trimmed.to_string())
}

/// The REST API answers errors as JSON with the matching status.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.status_code())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = serde_json::to_value(&self).unwrap_or_default();
        if let Some(object) = body.as_object_mut() {
            object.insert(
                "message".into(),
                serde_json::Value::String(self.to_string()),
            );
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_trims_and_limits() {
        assert_eq!(required_text("name", "  Aziz ", 10).unwrap(), "Aziz");
        assert_eq!(
            required_text("name", "   ", 10),
            Err(AppError::invalid("name", InvalidCode::Required))
        );
        assert_eq!(
            required_text("name", &"ж".repeat(11), 10),
            Err(AppError::invalid("name", InvalidCode::TooLong))
        );
        assert!(required_text("name", &"ж".repeat(10), 10).is_ok());
        for bad in ["a\u{0}b", "line\nbreak", "evil \u{202e}txt.exe"] {
            assert_eq!(
                required_text("name", bad, 50),
                Err(AppError::invalid("name", InvalidCode::BadFormat))
            );
        }
        assert!(required_multiline_text("consent", "one\ntwo", 50).is_ok());
    }

    #[test]
    fn errors_round_trip_as_json() {
        let error = AppError::TooManyAttempts {
            retry_after_secs: 30,
        };
        let json = serde_json::to_string(&error).unwrap();
        assert!(json.contains("too_many_attempts"));
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), error);
        // Every variant must survive the trip, or the browser shows the wrong message.
        for error in [
            AppError::Conflict {
                code: ConflictCode::LoginTaken,
            },
            AppError::TrainingRefused {
                reason: "one class".into(),
            },
            AppError::Transport {
                message: "offline".into(),
            },
            AppError::invalid("phone", InvalidCode::BadFormat),
            AppError::Internal,
        ] {
            let json = serde_json::to_string(&error).unwrap();
            assert_eq!(
                serde_json::from_str::<AppError>(&json).unwrap(),
                error,
                "{json}"
            );
        }
    }
}
